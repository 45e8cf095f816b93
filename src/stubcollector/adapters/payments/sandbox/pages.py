"""Pages of the sandbox payment backend: what Stripe would host (registered in sandbox mode only).

The one module of the sandbox that imports Flask: thin views over ``hosted.py``, rendering
the package's own templates (``templates/sandbox/``, extending the app's ``base.html``).

* ``/sandbox/onboarding/<token>``: the onboarding form behind ``onboarding_url``; scripts
  POST ``{"outcome": "complete" | "requirements_due"}`` to the same URL.
* ``/sandbox/checkout/<pi>?client_secret=...``: the payment form behind
  ``sandbox_checkout_url``; scripts POST ``{"card_number": "4242424242424242"}``.
* ``/sandbox/dashboard/<token>``: the seller's dashboard behind a login link (balance,
  payout schedule, payments and payouts, and buttons for what Stripe's test mode decides:
  disputes, pending refunds, a payout that arrives or fails, a card-payments restriction,
  and the seller disconnecting the platform).

The link token and the client secret in these URLs are the credentials, as with Stripe's
links, so the blueprint is exempt from the form CSRF tokens: a forger would need the secret.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.adapters.payments.ports import CardDeclined, PaymentError
from stubcollector.adapters.payments.sandbox.cards import TEST_CARDS
from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway
from stubcollector.adapters.payments.sandbox.hosted import SandboxHostedPages, SandboxLinkInvalid
from stubcollector.container import container
from stubcollector.domain.errors import NotFound
from stubcollector.domain.money import format_cents

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", template_folder="templates")


def _hosted_pages() -> SandboxHostedPages:
    gateway = container().payments
    if not isinstance(gateway, SandboxGateway):
        raise NotFound("the payment sandbox is not enabled")
    return gateway.hosted_pages


def _input(name: str) -> str:
    if request.is_json:
        data = request.get_json(silent=True)
        value = data.get(name) if isinstance(data, dict) else None
        return value if isinstance(value, str) else ""
    return request.form.get(name, "")


def _json_error(message: str, code: int, **extra: Any) -> ResponseReturnValue:
    return jsonify({"status": "error", "message": message, **extra}), code


def _page_error(message: str, code: int) -> ResponseReturnValue:
    return render_template("error.html", message=message, code=code), code


def _error(message: str, code: int) -> ResponseReturnValue:
    """The error as JSON for API callers, as a page for the browser."""
    return _json_error(message, code) if request.is_json else _page_error(message, code)


@bp.route("/onboarding/<token>", methods=["GET", "POST"])
def onboarding(token: str) -> ResponseReturnValue:
    hosted = _hosted_pages()
    if request.method == "GET":
        try:
            account = hosted.onboarding_page(token)
        except SandboxLinkInvalid as exc:
            if exc.refresh_url:
                # Stripe sends an expired or visited link to the platform's refresh_url.
                return redirect(exc.refresh_url, code=302)
            return _page_error(exc.message, 404)
        return render_template("sandbox/onboarding.html", account=account)
    try:
        account_state, return_url = hosted.complete_onboarding(token, _input("outcome"))
    except SandboxLinkInvalid as exc:
        if request.is_json:
            return _json_error(exc.message, 410, refresh_url=exc.refresh_url)
        if exc.refresh_url:
            return redirect(exc.refresh_url, code=303)
        return _page_error(exc.message, 410)
    except PaymentError as exc:
        if request.is_json:
            return _json_error(exc.message, 422, errors={"outcome": exc.message})
        return _page_error(exc.message, 422)
    if request.is_json:
        return jsonify(
            {
                "status": "success",
                "account": {
                    "id": account_state.account_id,
                    "charges_enabled": account_state.charges_enabled,
                    "payouts_enabled": account_state.payouts_enabled,
                    "details_submitted": account_state.details_submitted,
                    "requirements_due": list(account_state.requirements_due),
                },
                "return_url": return_url,
            }
        )
    return redirect(return_url, code=303)


def _return_path() -> str | None:
    """Where the platform wants the buyer back (Stripe's ``return_url``): a local path only."""
    target = request.args.get("return_url", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/checkout/<payment_intent_id>", methods=["GET", "POST"])
def checkout(payment_intent_id: str) -> ResponseReturnValue:
    hosted = _hosted_pages()
    secret = request.args.get("client_secret", "")
    return_path = _return_path()
    message: str | None = None
    if request.method == "POST":
        try:
            result = hosted.confirm_payment(payment_intent_id, secret, _input("card_number"))
        except NotFound as exc:
            return _error(exc.message, 404)
        except CardDeclined as exc:
            if request.is_json:
                return _json_error(
                    exc.message,
                    402,
                    decline_code=exc.decline_code,
                    payment_intent=hosted.checkout_page(payment_intent_id, secret),
                )
            message = exc.message
        except PaymentError as exc:
            if request.is_json:
                return _json_error(exc.message, 409)
            message = exc.message
        else:
            if request.is_json:
                return jsonify({"status": "success", "payment_intent": result})
            if return_path is not None:
                # As Stripe does after confirmPayment: back to the platform's page.
                return redirect(return_path, code=303)
            message = "Payment succeeded."
    try:
        pi = hosted.checkout_page(payment_intent_id, secret)
    except NotFound as exc:
        return _page_error(exc.message, 404)
    return render_template(
        "sandbox/checkout.html",
        pi=pi,
        amount=format_cents(int(pi["amount"])),
        payee=_order_label(pi),
        cards=TEST_CARDS,
        message=message,
        return_path=return_path,
    )


def _order_label(pi: dict[str, Any]) -> str:
    metadata = pi.get("metadata") or {}
    return f"order {metadata.get('order_id', '?')}"


@bp.get("/dashboard/<token>")
def dashboard(token: str) -> ResponseReturnValue:
    try:
        view = _hosted_pages().dashboard(token)
    except SandboxLinkInvalid as exc:
        return _page_error(exc.message, 404)
    return render_template(
        "sandbox/dashboard.html",
        view=view,
        available=format_cents(view.balance.available_cents),
        pending=format_cents(view.balance.pending_cents),
        disputes={pi: status for pi, (_, status) in view.disputes.items()},
        dispute_ids={pi: dispute_id for pi, (dispute_id, _) in view.disputes.items()},
        money=format_cents,
    )


@bp.post("/dashboard/<token>/disputes/<dispute_id>")
def decide_dispute(token: str, dispute_id: str) -> ResponseReturnValue:
    """Decide a dispute, as winning or losing evidence does in Stripe's test mode."""
    hosted = _hosted_pages()
    outcome = _input("outcome")
    try:
        if outcome not in ("won", "lost"):
            raise PaymentError("outcome must be 'won' or 'lost'")
        hosted.dispute_account(token, dispute_id)
        dispute = hosted.close_dispute(dispute_id, won=outcome == "won")
    except (SandboxLinkInvalid, NotFound) as exc:
        return _error(exc.message, 404)
    except PaymentError as exc:
        return _error(exc.message, 409)
    if request.is_json:
        return jsonify({"status": "success", "dispute": dispute})
    return redirect(url_for("sandbox.dashboard", token=token), code=303)


@bp.post("/dashboard/<token>/refunds/<refund_id>")
def decide_refund(token: str, refund_id: str) -> ResponseReturnValue:
    """Settle a pending refund (card 4000 0000 0000 7726): it succeeds or fails, and the
    sandbox delivers ``refund.updated``/``charge.refund.updated`` (and ``refund.failed``)."""
    hosted = _hosted_pages()
    outcome = _input("outcome")
    try:
        if outcome not in ("succeeded", "failed"):
            raise PaymentError("outcome must be 'succeeded' or 'failed'")
        hosted.refund_account(token, refund_id)
        refund = hosted.settle_refund(refund_id, succeed=outcome == "succeeded")
    except (SandboxLinkInvalid, NotFound) as exc:
        return _error(exc.message, 404)
    except PaymentError as exc:
        return _error(exc.message, 409)
    if request.is_json:
        return jsonify({"status": "success", "refund": refund})
    return redirect(url_for("sandbox.dashboard", token=token), code=303)


def _dashboard_action(token: str, act: Any) -> ResponseReturnValue:
    """Run a dashboard button's operation for the link's own account; JSON or a redirect."""
    hosted = _hosted_pages()
    try:
        account_id = hosted.dashboard_account(token)
        name, data = act(hosted, account_id)
    except (SandboxLinkInvalid, NotFound) as exc:
        return _error(exc.message, 404)
    except PaymentError as exc:
        return _error(exc.message, 409)
    if request.is_json:
        return jsonify({"status": "success", name: data})
    return redirect(url_for("sandbox.dashboard", token=token), code=303)


@bp.post("/dashboard/<token>/payouts")
def pay_out(token: str) -> ResponseReturnValue:
    """Pay the available balance out (``payout.created``; the payout is ``in_transit``)."""
    return _dashboard_action(token, lambda hosted, account: ("payout", hosted.pay_out(account)))


@bp.post("/dashboard/<token>/payouts/<payout_id>")
def decide_payout(token: str, payout_id: str) -> ResponseReturnValue:
    """The bank's answer: ``paid`` (``payout.paid``) or ``failed`` (``payout.failed``, also
    after it read paid)."""
    outcome = _input("outcome")

    def act(hosted: SandboxHostedPages, account: str) -> tuple[str, Any]:
        if outcome not in ("paid", "failed"):
            raise PaymentError("outcome must be 'paid' or 'failed'")
        return "payout", hosted.settle_payout(account, payout_id, paid=outcome == "paid")

    return _dashboard_action(token, act)


@bp.post("/dashboard/<token>/card-payments")
def card_payments(token: str) -> ResponseReturnValue:
    """Stripe restricts or restores card payments (``capability.updated``)."""
    outcome = _input("outcome")

    def act(hosted: SandboxHostedPages, account: str) -> tuple[str, Any]:
        if outcome not in ("restrict", "restore"):
            raise PaymentError("outcome must be 'restrict' or 'restore'")
        return "account", hosted.restrict_card_payments(account, restricted=outcome == "restrict")

    return _dashboard_action(token, act)


@bp.post("/dashboard/<token>/disconnect")
def disconnect(token: str) -> ResponseReturnValue:
    """The seller disconnects the platform (``account.application.deauthorized``)."""
    return _dashboard_action(
        token, lambda hosted, account: ("application", hosted.deauthorize(account))
    )
