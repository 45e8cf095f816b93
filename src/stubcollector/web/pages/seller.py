"""The seller's account: onboarding with the payment provider, status, balance and sales.

What the page shows about the account is re-read from the provider on every visit and
on the return from onboarding: the redirect back proves nothing, so it only triggers a
re-read. Provider links (onboarding, dashboard) are single-use and short-lived, so they
are made when the seller clicks (POST), never rendered into the page.

- ``seller.onboarding`` (``/seller/``): the account as ``services.onboarding.refresh_status``
  re-reads it (what was last stored, with a note, when the provider is unreachable):
  requirement codes as plain items (:data:`REQUIREMENT_LABELS`), the disabled reason as a
  sentence (:data:`DISABLED_REASONS`), balance available and pending, the fee and payout
  hold (and why Stripe's own schedule applies when it refused ours), the last payouts to
  the bank with a failed one flagged (:data:`PAYOUT_FAILURES`), the last paid sales with
  what the seller gets from each and its payout date (none for a refunded or disputed sale;
  ``services.orders.views.my_orders`` with ``paid=True``) — checkouts of their stubs that
  were not paid are only counted, with a link to them on the Orders page — and, once the
  seller disconnected their account from the platform, that they cannot be paid and may
  connect a new account.
- ``seller.start_onboarding`` (POST) creates the account if needed and redirects to a fresh
  onboarding link; ``seller.onboarding_return`` re-reads the account and says whether it is
  ready; ``seller.onboarding_refresh`` (an expired or used link) makes a new link;
  ``seller.dashboard`` (POST) redirects to a fresh login link of the provider's dashboard.
- Reached from Account settings ("Seller account"), the Orders page and the selling pages'
  "Set up payouts"; the main menu stays short.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from stubcollector.adapters.payments.ports import Balance, PaymentError
from stubcollector.container import settings
from stubcollector.domain.errors import Conflict, NotFound, ServiceUnavailable
from stubcollector.services import onboarding, payouts
from stubcollector.services.orders import views
from stubcollector.web.current import require_user
from stubcollector.web.pages.access import login_required
from stubcollector.web.public_url import external_url

bp = Blueprint("seller", __name__, url_prefix="/seller")

RECENT_SALES = 10

# What Stripe's requirement codes mean, in the seller's words; unknown codes are spelled out.
REQUIREMENT_LABELS: dict[str, str] = {
    "external_account": "A bank account for payouts",
    "individual.verification.document": "A photo of your ID document",
    "individual.verification.additional_document": "A second identity document",
    "individual.id_number": "Your tax ID number",
    "individual.ssn_last_4": "The last 4 digits of your SSN",
    "individual.dob.day": "Your date of birth",
    "individual.dob.month": "Your date of birth",
    "individual.dob.year": "Your date of birth",
    "individual.address.line1": "Your home address",
    "individual.address.city": "Your home address",
    "individual.address.postal_code": "Your home address",
    "individual.first_name": "Your legal first name",
    "individual.last_name": "Your legal last name",
    "individual.email": "Your email address",
    "individual.phone": "Your phone number",
    "business_profile.url": "A website or profile link for your sales",
    "business_profile.mcc": "What you sell (business category)",
    "tos_acceptance.date": "Accept Stripe's terms of service",
    "tos_acceptance.ip": "Accept Stripe's terms of service",
}

DISABLED_REASONS: dict[str, str] = {
    "requirements.past_due": "Stripe needs more information before you can take payments.",
    "requirements.pending_verification": "Stripe is checking the information you sent.",
    "rejected.fraud": "Stripe closed this account.",
    "rejected.terms_of_service": "Stripe closed this account.",
    "rejected.other": "Stripe closed this account.",
    "under_review": "Stripe is reviewing the account.",
    "platform_paused": "Payments to this account are paused by Stub Collector.",
}


# Why a payout failed (Stripe's ``failure_code``), in the seller's words; other codes fall
# back to Stripe's own failure_message.
PAYOUT_FAILURES: dict[str, str] = {
    "account_closed": "Your bank account is closed.",
    "account_frozen": "Your bank account is frozen.",
    "bank_account_restricted": "Your bank account does not accept this kind of payment.",
    "bank_ownership_changed": "Your bank account changed hands.",
    "could_not_process": "Your bank could not process the payout.",
    "debit_not_authorized": "Your bank refused the transfer.",
    "insufficient_funds": "Your Stripe balance did not cover the payout.",
    "invalid_account_number": "The bank account number is not valid.",
    "invalid_currency": "Your bank account does not accept US dollars.",
    "no_account": "The bank account does not exist.",
}


def payout_failure_text(payout: payouts.PayoutView) -> str:
    return (
        PAYOUT_FAILURES.get(payout.failure_code or "")
        or payout.failure_message
        or "Your bank sent the payout back."
    )


def requirement_labels(codes: Sequence[str]) -> list[str]:
    labels: list[str] = []
    for code in codes:
        label = (
            REQUIREMENT_LABELS.get(code) or code.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        )
        if label not in labels:
            labels.append(label)
    return labels


def disabled_text(reason: str | None) -> str | None:
    if not reason:
        return None
    return DISABLED_REASONS.get(reason, reason.replace("_", " ").replace(".", ": ").capitalize())


def _urls() -> dict[str, str]:
    return {
        "return_url": external_url(url_for("seller.onboarding_return")),
        "refresh_url": external_url(url_for("seller.onboarding_refresh")),
    }


@bp.get("/", endpoint="onboarding")
@login_required
def account_page() -> ResponseReturnValue:
    user = require_user()
    account = None
    balance: Balance | None = None
    problem = None
    if user.stripe_account_id is not None:
        try:
            account = onboarding.refresh_status(user)
            if account.deauthorized_at is None:  # the provider no longer shows us the rest
                balance = onboarding.balance(user)
        except (PaymentError, ServiceUnavailable) as error:
            # Show what we last knew; the provider is asked again on the next visit.
            account = onboarding.seller_account(user)
            problem = f"We could not reach the payment provider just now ({error.message})."
    sales = views.my_orders(user.id, role="sales", paid=True, per_page=RECENT_SALES)
    recent_payouts = payouts.recent_payouts(user.id)
    # Once disconnected, the card about that says where the money is; no second call to act.
    connected = account is None or account.deauthorized_at is None
    failed_payout = payouts.payout_problem(recent_payouts) if connected else None
    fee = settings().stripe_platform_fee.as_fraction * 100
    return render_template(
        "seller/account.html",
        account=account,
        balance=balance,
        problem=problem,
        requirements=requirement_labels(account.requirements_due) if account else [],
        disabled=disabled_text(account.disabled_reason) if account else None,
        sales=sales,
        recent_payouts=recent_payouts,
        failed_payout=failed_payout,
        failed_payout_text=payout_failure_text(failed_payout) if failed_payout else None,
        payout_failure_text=payout_failure_text,
        unpaid_checkouts=views.order_counts(user.id).unpaid_checkouts,
        seller_pays_stripe_fee=views.seller_pays_stripe_fee(),
        fee_percent=f"{fee.normalize():f}",
        hold_days=settings().stripe_payout_hold_days,
    )


@bp.post("/onboarding", endpoint="start_onboarding")
@login_required
def start() -> ResponseReturnValue:
    try:
        result = onboarding.start_onboarding(require_user(), **_urls())
    except (PaymentError, Conflict, ServiceUnavailable) as error:
        flash(f"Onboarding could not start: {error.message}", "error")
        return redirect(url_for("seller.onboarding"), code=303)
    return redirect(result.url, code=303)


@bp.get("/onboarding/return")
@login_required
def onboarding_return() -> ResponseReturnValue:
    try:
        account = onboarding.refresh_status(require_user())
    except NotFound:
        return redirect(url_for("seller.onboarding"))
    if account.can_accept_payments:
        flash("Your seller account is ready: you can list stubs and take card payments.", "success")
    else:
        flash("Onboarding is not finished yet; see what Stripe still needs below.", "warning")
    return redirect(url_for("seller.onboarding"))


@bp.get("/onboarding/refresh")
@login_required
def onboarding_refresh() -> ResponseReturnValue:
    """The provider sends the seller here when a link expired or was used: make a new one."""
    try:
        result = onboarding.refresh_link(require_user(), **_urls())
    except NotFound:
        return redirect(url_for("seller.onboarding"))
    return redirect(result.url)


@bp.post("/dashboard")
@login_required
def dashboard() -> ResponseReturnValue:
    try:
        url = onboarding.dashboard_link(require_user())
    except (NotFound, PaymentError, ServiceUnavailable) as error:
        flash(f"The dashboard could not be opened: {error.message}", "error")
        return redirect(url_for("seller.onboarding"), code=303)
    return redirect(url, code=303)
