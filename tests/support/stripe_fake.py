"""A small stateful Stripe API on 127.0.0.1 for adapter tests.

It speaks Stripe's wire format (form-encoded bodies with ``a[b][c]`` keys, JSON answers,
``Stripe-Account`` scoping, ``Idempotency-Key`` replay, Stripe's error bodies), records
every request, and answers with copies of Stripe's own example objects
(``tests/fixtures/stripe/objects.json``). It covers the endpoints the gateway uses and
behaves like Stripe where our code depends on it:

* objects created under a ``Stripe-Account`` exist only on that account (reading a direct
  charge without the header is a 404, as on Stripe);
* a POST repeated with the same idempotency key replays the first answer; different
  parameters under the same key are an ``idempotency_error``;
* ``application_fee_amount`` without ``Stripe-Account`` or ``transfer_data`` is refused
  with Stripe's message; cancelling a canceled or succeeded PaymentIntent is a
  ``payment_intent_unexpected_state`` error;
* refunds are created with ``refund_status`` (``succeeded`` unless a test says
  ``pending``, ...), read back with ``GET /v1/refunds/{id}`` on their account, and settled
  later by ``settle_refund`` (a failed one gives its amount back to the charge);
* a paid charge's fees follow the fee payer (``pay(fee_payer=...)``): the seller's balance
  transaction lists our application fee and, when the account pays Stripe, Stripe's fee; when
  the platform pays, Stripe's fee is a ``stripe_fee`` balance transaction on the platform
  whose source is the charge (the reading of research-16 §1.3 the app is built on:
  UNCONFIRMED, docs/STRIPE.md). ``pay(settled=False)`` leaves the charge without its balance
  transaction, as asynchronous capture does, until ``settle_charge``;
* disputes (``open_dispute``) carry their balance transactions; ``POST /v1/disputes/{id}``
  stages or submits evidence (``submit`` defaults to true, as at Stripe) and ``POST
  /v1/files`` takes multipart uploads on the connected account;
* webhook endpoints are created, listed and updated; the create answer alone carries the
  endpoint's ``secret`` (``whsec_…``), as on Stripe;
* an account that ``deauthorize`` disconnected answers every request about it with the
  403 ``permission_error`` Stripe gives a platform whose access was revoked;
* ``delay_days`` is refused on an account whose losses Stripe carries
  (``controller.losses.payments=stripe``): Stripe documents that only a platform owning
  the liability may edit it; the wording and code of the refusal are our assumption.

Faults (``fail_next``) are injected before idempotency handling, like a load balancer or
network failure, so they are never replayed.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe" / "objects.json"


def load_fixtures() -> dict[str, dict[str, Any]]:
    return json.loads(FIXTURES.read_text())


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Nest Stripe's ``a[b][0]=x`` form keys back into dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    form: dict[str, str]  # the raw (flat) form or query parameters
    params: dict[str, Any]  # the same, nested
    # Multipart uploads: field name → (filename, content).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def account(self) -> str | None:
        return self.headers.get("stripe-account")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Fault:
    status: int
    body: dict[str, Any] | None
    drop: bool
    matches: Callable[[str, str], bool]
    headers: dict[str, str] = field(default_factory=dict)
    # The request is carried out first and only its answer is lost (a timeout after Stripe
    # did the work), so a retry with the same key is replayed.
    answer_lost: bool = False


class StripeApiError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


def _invalid(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> StripeApiError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    return StripeApiError(status, error)


def _not_found(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    return _invalid(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404
    )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class FakeStripe:
    def __init__(self) -> None:
        self.fixtures = load_fixtures()
        self.requests: list[RecordedRequest] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        # Objects that live on a connected account, keyed by (account, id).
        self.payment_intents: dict[tuple[str, str], dict[str, Any]] = {}
        self.charges: dict[tuple[str, str], dict[str, Any]] = {}
        self.balance_transactions: dict[tuple[str, str], dict[str, Any]] = {}
        self.refunds: dict[tuple[str, str], dict[str, Any]] = {}
        self.disputes: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[tuple[str, str], dict[str, Any]] = {}
        # The platform's own objects live under the account "".
        self.application_fees: dict[str, dict[str, Any]] = {}
        # A charge's balance transaction held back until settle_charge (async capture).
        self._unsettled: dict[tuple[str, str], str] = {}
        # The status new refunds are created with (Stripe: succeeded for most cards,
        # pending when the balance does not cover them, requires_action for some methods).
        self.refund_status = "succeeded"
        self.balances: dict[str, dict[str, Any]] = {}
        self.webhook_endpoints: dict[str, dict[str, Any]] = {}
        # Accounts that disconnected the platform (account.application.deauthorized).
        self.deauthorized: set[str] = set()
        # Events by account ("" = the platform), with whether every endpoint got them.
        self.events: list[tuple[str, dict[str, Any], bool]] = []
        self._faults: list[Fault] = []
        self._idempotent: dict[tuple[str, str], tuple[tuple[str, str, str], int, bytes]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll keeps shutdown (once per test) from costing half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- test controls ----------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        error: dict[str, Any] | None = None,
        drop: bool = False,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        path_prefix: str | None = None,
        answer_lost: bool = False,
    ) -> None:
        """Answer the next ``count`` matching requests with an error (or drop them);
        ``answer_lost``: carry each out first, then answer with the error."""

        def matches(req_method: str, req_path: str) -> bool:
            return (
                (method is None or method == req_method)
                and (path is None or path == req_path)
                and (path_prefix is None or req_path.startswith(path_prefix))
            )

        body = {"error": error or {"type": "api_error", "message": "Something went wrong."}}
        with self._lock:
            for _ in range(count):
                self._faults.append(
                    Fault(status, body, drop, matches, headers or {}, answer_lost=answer_lost)
                )

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def only_request(self, method: str, path: str) -> RecordedRequest:
        found = self.requests_to(method, path)
        assert len(found) == 1, f"expected one {method} {path}, got {len(found)}: {self.requests}"
        return found[0]

    def complete_onboarding(self, account_id: str) -> None:
        account = self.accounts[account_id]
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {"card_payments": "active", "transfers": "active"}
        account["requirements"].update(
            currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
        )

    def pay(
        self,
        account_id: str,
        payment_intent_id: str,
        *,
        stripe_fee: int = 0,
        fee_payer: str = "account",
        settled: bool = True,
    ) -> dict[str, Any]:
        """What Stripe.js confirming a test card does: a succeeded charge on the account.

        ``fee_payer`` is the account's ``controller.fees.payer``: ``account`` puts Stripe's
        fee on the seller's balance transaction, ``application`` on a platform ``stripe_fee``
        transaction. ``settled=False``: the charge has no balance transaction yet. Returns
        the charge.
        """
        intent = self.payment_intents[(account_id, payment_intent_id)]
        amount, app_fee = intent["amount"], intent["application_fee_amount"] or 0
        seller_fee = stripe_fee if fee_payer == "account" else 0
        transaction = copy.deepcopy(self.fixtures["balance_transaction"])
        charge = copy.deepcopy(self.fixtures["charge"])
        details = [
            {"amount": app_fee, "application": "ca_platform", "currency": "usd",
             "description": "Application fee", "type": "application_fee"},
        ]  # fmt: skip
        if seller_fee:
            details.insert(
                0,
                {"amount": seller_fee, "application": None, "currency": "usd",
                 "description": "Stripe processing fees", "type": "stripe_fee"},
            )  # fmt: skip
        charge_id = _new_id("ch")
        transaction.update(
            id=_new_id("txn"),
            amount=amount,
            fee=seller_fee + app_fee,
            net=amount - seller_fee - app_fee,
            source=charge_id,
            status="pending",
            created=int(time.time()),
            fee_details=details,
        )
        fee_id = _new_id("fee") if app_fee else None
        charge.update(
            id=charge_id,
            amount=amount,
            amount_captured=amount,
            captured=True,
            application_fee=fee_id,
            application_fee_amount=app_fee,
            balance_transaction=transaction["id"] if settled else None,
            payment_intent=payment_intent_id,
            transfer_data=None,
            description=intent["description"],
            metadata=dict(intent["metadata"]),
        )
        self.balance_transactions[(account_id, transaction["id"])] = transaction
        if not settled:
            self._unsettled[(account_id, charge_id)] = transaction["id"]
        self.charges[(account_id, charge_id)] = charge
        if fee_id is not None:
            fee = copy.deepcopy(self.fixtures["application_fee"])
            fee_txn = self._platform_transaction(
                "application_fee", fee_id, app_fee, "Application fee"
            )
            fee.update(
                id=fee_id, account=account_id, amount=app_fee, charge=charge_id,
                balance_transaction=fee_txn["id"], created=int(time.time()),
                fee_source={"charge": charge_id, "type": "charge"},
            )  # fmt: skip
            self.application_fees[fee_id] = fee
        if fee_payer == "application" and stripe_fee:
            self._platform_transaction(
                "stripe_fee", charge_id, -stripe_fee, "Stripe processing fees (direct charge)"
            )
        intent.update(status="succeeded", amount_received=amount, latest_charge=charge_id)
        return copy.deepcopy(charge)

    def settle_charge(self, account_id: str, charge_id: str) -> dict[str, Any]:
        """The charge's balance transaction arrives (what ``charge.updated`` reports)."""
        charge = self.charges[(account_id, charge_id)]
        charge["balance_transaction"] = self._unsettled.pop((account_id, charge_id))
        return copy.deepcopy(charge)

    def _platform_transaction(
        self, type_: str, source: str, amount: int, description: str
    ) -> dict[str, Any]:
        transaction = copy.deepcopy(self.fixtures["balance_transaction"])
        transaction.update(
            id=_new_id("txn"), amount=amount, fee=0, fee_details=[], net=amount, source=source,
            type=type_, description=description, created=int(time.time()),
            reporting_category="fee" if type_ == "stripe_fee" else "platform_earning",
        )  # fmt: skip
        self.balance_transactions[("", transaction["id"])] = transaction
        return transaction

    def open_dispute(
        self, account_id: str, payment_intent_id: str, *, fee_payer: str = "application",
        dispute_fee: int = 1500, status: str = "needs_response",
    ) -> dict[str, Any]:  # fmt: skip
        """The buyer's bank disputes the charge: the amount comes out of the seller's
        balance; the dispute fee too when the account carries its losses, else out of the
        platform's (``fee_payer`` is whoever carries them, research-16 §2.1)."""
        intent = self.payment_intents[(account_id, payment_intent_id)]
        charge = self.charges[(account_id, intent["latest_charge"])]
        charge["disputed"] = True
        dispute_id = _new_id("dp")
        withdrawal = copy.deepcopy(self.fixtures["balance_transaction"])
        seller_fee = dispute_fee if fee_payer == "account" else 0
        withdrawal.update(
            id=_new_id("txn"), amount=-charge["amount"], fee=seller_fee,
            net=-charge["amount"] - seller_fee, source=dispute_id, type="adjustment",
            reporting_category="dispute", description="Chargeback withdrawal",
            created=int(time.time()),
            fee_details=[
                {"amount": seller_fee, "application": None, "currency": "usd",
                 "description": "Dispute fee", "type": "stripe_fee"}
            ] if seller_fee else [],
        )  # fmt: skip
        if fee_payer == "application":
            self._platform_transaction("stripe_fee", dispute_id, -dispute_fee, "Dispute fee")
        dispute = copy.deepcopy(self.fixtures["dispute"])
        dispute.update(
            id=dispute_id, amount=charge["amount"], charge=charge["id"],
            payment_intent=payment_intent_id, status=status, reason="fraudulent",
            balance_transactions=[withdrawal], created=int(time.time()),
            is_charge_refundable=False,
        )  # fmt: skip
        dispute["evidence_details"].update(
            due_by=int(time.time()) + 7 * 86400, has_evidence=False, submission_count=0
        )
        self.disputes[(account_id, dispute_id)] = dispute
        return copy.deepcopy(dispute)

    def settle_refund(
        self, account_id: str, refund_id: str, status: str, *, failure_reason: str | None = None
    ) -> dict[str, Any]:
        """What Stripe does later to a refund: it succeeds, fails or is canceled. A failed or
        canceled refund gives its amount back to the charge (``amount_refunded``)."""
        refund = self.refunds[(account_id, refund_id)]
        if status in ("failed", "canceled") and refund["status"] not in ("failed", "canceled"):
            charge = self.charges[(account_id, refund["charge"])]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
        refund["status"] = status
        refund["failure_reason"] = failure_reason
        return copy.deepcopy(refund)

    def deauthorize(self, account_id: str) -> None:
        """The seller disconnects the platform: our key no longer reaches the account."""
        self.deauthorized.add(account_id)

    def dispute(self, account_id: str, payment_intent_id: str) -> None:
        intent = self.payment_intents[(account_id, payment_intent_id)]
        self.charges[(account_id, intent["latest_charge"])]["disputed"] = True

    def fail_payment(
        self, account_id: str, payment_intent_id: str, *, code: str, decline_code: str, message: str
    ) -> None:
        intent = self.payment_intents[(account_id, payment_intent_id)]
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
        }

    def add_event(
        self, event_type: str, data_object: dict[str, Any], *, account: str | None = None,
        created: int | None = None, delivered: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        event = copy.deepcopy(self.fixtures["event"])
        event.update(
            id=_new_id("evt"),
            type=event_type,
            created=created if created is not None else int(time.time()),
            data={"object": data_object},
            api_version="2026-10-28.endive",
        )
        if account is not None:
            event["account"] = account
        self.events.append((account or "", event, delivered))
        return event

    # --- HTTP -------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def do_DELETE(self) -> None:
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test output stays readable; requests are recorded instead

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type") or ""
        uploads: dict[str, tuple[str, bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            pairs, uploads = _multipart(content_type, raw)
        else:
            body = raw.decode()
            pairs = parse_qsl(
                body if handler.command == "POST" else url.query, keep_blank_values=True
            )
        request = RecordedRequest(
            method=handler.command,
            path=url.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            form=dict(pairs),
            params=decode_form(pairs),
            files=uploads,
        )
        with self._lock:
            self.requests.append(request)
            fault = next((f for f in self._faults if f.matches(request.method, request.path)), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None and fault.answer_lost:
            with self._lock:
                self._answer(request)
        if fault is not None:
            if fault.drop:
                handler.close_connection = True
                return  # no answer at all: the client sees the connection closed
            self._send(handler, fault.status, fault.body, fault.headers)
            return
        with self._lock:
            status, answer, replayed = self._answer(request)
        self._send(handler, status, answer, {"Idempotent-Replayed": "true"} if replayed else {})

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        answer: dict[str, Any] | bytes | None,
        headers: dict[str, str],
    ) -> None:
        raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.send_header("Request-Id", _new_id("req"))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, Any] | bytes, bool]:
        key = request.idempotency_key
        scope = (request.account or "", key or "")
        fingerprint = (request.method, request.path, json.dumps(request.form, sort_keys=True))
        if request.method == "POST" and key and scope in self._idempotent:
            stored_fingerprint, status, raw = self._idempotent[scope]
            if stored_fingerprint != fingerprint:
                return (
                    400,
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with "
                            "the same parameters they were first used with.",
                        }
                    },
                    False,
                )
            return status, raw, True
        try:
            status, answer = 200, self._route(request)
        except StripeApiError as exc:
            status, answer = exc.status, {"error": exc.error}
        raw = json.dumps(answer).encode()
        if request.method == "POST" and key:
            self._idempotent[scope] = (fingerprint, status, raw)
        return status, raw, False

    # --- the API ----------------------------------------------------------------------

    def _route(self, request: RecordedRequest) -> dict[str, Any]:
        parts = request.path.strip("/").split("/")
        method, params, account = request.method, request.params, request.account
        if parts[0] != "v1":
            raise StripeApiError(
                404, {"type": "invalid_request_error", "message": "Unrecognized request URL"}
            )
        route = parts[1:]
        revoked = account if account in self.deauthorized else None
        if len(route) >= 2 and route[0] == "accounts" and route[1] in self.deauthorized:
            revoked = route[1]
        if revoked is not None:
            raise StripeApiError(
                403,
                {
                    "type": "invalid_request_error",
                    "code": "account_invalid",
                    "message": f"The provided key 'sk_test_****' does not have access to "
                    f"account '{revoked}' (or that account does not exist). Application "
                    "access may have been revoked.",
                },
            )
        if route == ["webhook_endpoints"]:
            if method == "POST":
                return self._create_webhook_endpoint(params)
            return self._list_webhook_endpoints()
        if len(route) == 2 and route[0] == "webhook_endpoints" and method == "POST":
            return self._update_webhook_endpoint(route[1], params)
        if route == ["accounts"] and method == "POST":
            return self._create_account(params)
        if len(route) == 2 and route[0] == "accounts":
            if method == "GET":
                return self._account(route[1])
            if method == "POST":
                return self._update_account(route[1], params)
        if route == ["account_links"] and method == "POST":
            return self._account_link(params)
        if len(route) == 3 and route[0] == "accounts" and route[2] == "login_links":
            return self._login_link(route[1])
        if route == ["balance"] and method == "GET":
            return self._balance(account)
        if route == ["payment_intents"] and method == "POST":
            return self._create_payment_intent(account, params)
        if len(route) == 2 and route[0] == "payment_intents" and method == "GET":
            return self._payment_intent(account, route[1], params.get("expand", []))
        if len(route) == 3 and route[0] == "payment_intents" and route[2] == "cancel":
            return self._cancel_payment_intent(account, route[1], params)
        if route == ["refunds"] and method == "POST":
            return self._create_refund(account, params)
        if len(route) == 2 and route[0] == "refunds" and method == "GET":
            return self._refund(account, route[1])
        if route == ["events"] and method == "GET":
            return self._list_events(account, params)
        if route == ["balance_transactions"] and method == "GET":
            return self._list_balance_transactions(account, params)
        if len(route) == 2 and route[0] == "disputes":
            if method == "GET":
                return self._dispute(account, route[1])
            if method == "POST":
                return self._update_dispute(account, route[1], params)
        if route == ["files"] and method == "POST":
            return self._create_file(account, params, request.files)
        raise _invalid(f"Unrecognized request URL ({method}: {request.path})", status=404)

    def _create_account(self, params: dict[str, Any]) -> dict[str, Any]:
        account = copy.deepcopy(self.fixtures["account"])
        requested = params.get("capabilities", {})
        account.update(
            id=_new_id("acct"),
            email=params.get("email"),
            country=params.get("country", "US"),
            created=int(time.time()),
            metadata=params.get("metadata", {}),
            capabilities=dict.fromkeys(requested, "inactive"),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            type="express" if "controller" in params else params.get("type", "standard"),
            controller={
                "type": "application",
                "is_controller": True,
                **params.get("controller", {}),
            },
        )
        account["external_accounts"]["url"] = f"/v1/accounts/{account['id']}/external_accounts"
        self.accounts[account["id"]] = account
        return account

    def _account(self, account_id: str) -> dict[str, Any]:
        if account_id not in self.accounts:
            raise _not_found("account", account_id, "account")
        return self.accounts[account_id]

    def _update_account(self, account_id: str, params: dict[str, Any]) -> dict[str, Any]:
        account = self._account(account_id)
        schedule = params.get("settings", {}).get("payouts", {}).get("schedule", {})
        if "delay_days" in schedule:
            if account["controller"].get("losses", {}).get("payments") == "stripe":
                raise _invalid(
                    "You cannot set delay_days on an account whose negative balances Stripe "
                    "is liable for.",
                    code="invalid_request",
                    param="settings[payouts][schedule][delay_days]",
                )
            schedule["delay_days"] = int(schedule["delay_days"])
        account["settings"]["payouts"]["schedule"].update(schedule)
        return account

    def _account_link(self, params: dict[str, Any]) -> dict[str, Any]:
        account_id = params.get("account", "")
        self._account(account_id)
        link = copy.deepcopy(self.fixtures["account_link"])
        now = int(time.time())
        link.update(
            created=now,
            expires_at=now + 300,
            url=f"https://connect.stripe.test/setup/s/{account_id}/{secrets.token_urlsafe(9)}",
        )
        return link

    def _login_link(self, account_id: str) -> dict[str, Any]:
        account = self._account(account_id)
        if account["controller"].get("stripe_dashboard", {}).get("type") != "express":
            raise _invalid("Login links exist only for accounts with the Express dashboard.")
        link = copy.deepcopy(self.fixtures["login_link"])
        link.update(
            created=int(time.time()),
            url=f"https://connect.stripe.test/express/{account_id}/{secrets.token_urlsafe(9)}",
        )
        return link

    def _balance(self, account: str | None) -> dict[str, Any]:
        if account is not None:
            self._account(account)
        return self.balances.get(account or "", copy.deepcopy(self.fixtures["balance"]))

    def _create_payment_intent(self, account: str | None, params: dict[str, Any]) -> dict[str, Any]:
        if "application_fee_amount" in params and account is None and "transfer_data" not in params:
            raise StripeApiError(
                400,
                {
                    "type": "invalid_request_error",
                    "param": "application_fee_amount",
                    "message": "Can only apply an application_fee_amount when the PaymentIntent "
                    "is attempting a direct payment (using an OAuth key or Stripe-Account header) "
                    "or destination payment (using `transfer_data[destination]`).",
                },
            )
        if account is not None and not self._account(account)["charges_enabled"]:
            # A direct charge needs the connected account's card_payments capability.
            raise StripeApiError(
                400,
                {
                    "type": "invalid_request_error",
                    "message": "Your destination account needs to have the card_payments "
                    "capability enabled to create charges on its behalf.",
                },
            )
        intent = copy.deepcopy(self.fixtures["payment_intent"])
        intent_id = _new_id("pi")
        automatic = params.get("automatic_payment_methods", {})
        intent.update(
            id=intent_id,
            amount=int(params["amount"]),
            currency=params["currency"],
            application_fee_amount=int(params["application_fee_amount"])
            if "application_fee_amount" in params
            else None,
            automatic_payment_methods={"enabled": automatic.get("enabled") == "true"},
            client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            created=int(time.time()),
            description=params.get("description"),
            metadata=params.get("metadata", {}),
            status="requires_payment_method",
            amount_received=0,
            canceled_at=None,
            last_payment_error=None,
            latest_charge=None,
            next_action=None,
            transfer_data=None,
            on_behalf_of=None,
            transfer_group=None,
        )  # fmt: skip
        self.payment_intents[(account or "", intent_id)] = intent
        return intent

    def _find_intent(self, account: str | None, intent_id: str) -> dict[str, Any]:
        intent = self.payment_intents.get((account or "", intent_id))
        if intent is None:
            raise _not_found("payment_intent", intent_id, "intent")
        return intent

    def _payment_intent(
        self, account: str | None, intent_id: str, expand: list[str]
    ) -> dict[str, Any]:
        intent = copy.deepcopy(self._find_intent(account, intent_id))
        wants_charge = any(e.startswith("latest_charge") for e in expand)
        if wants_charge and intent["latest_charge"]:
            charge = copy.deepcopy(self.charges[(account or "", intent["latest_charge"])])
            if "latest_charge.balance_transaction" in expand and charge["balance_transaction"]:
                charge["balance_transaction"] = copy.deepcopy(
                    self.balance_transactions[(account or "", charge["balance_transaction"])]
                )
            intent["latest_charge"] = charge
        return intent

    def _cancel_payment_intent(
        self, account: str | None, intent_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        intent = self._find_intent(account, intent_id)
        cancelable = {
            "requires_payment_method",
            "requires_capture",
            "requires_confirmation",
            "requires_action",
            "processing",
        }
        if intent["status"] not in cancelable - {"processing"}:
            raise StripeApiError(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": f"You cannot cancel this PaymentIntent because it has a status of "
                    f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                    f"may be canceled: {', '.join(sorted(cancelable))}.",
                },
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
        )
        return intent

    def _create_refund(self, account: str | None, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._find_intent(account, params.get("payment_intent", ""))
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise _invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        charge = self.charges[(account or "", intent["latest_charge"])]
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", remaining))
        if amount <= 0 or amount > remaining:
            raise _invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="charge_already_refunded" if remaining == 0 else "amount_too_large",
                param="amount",
            )
        refund = copy.deepcopy(self.fixtures["refund"])
        refund.update(
            id=_new_id("re"),
            amount=amount,
            charge=charge["id"],
            payment_intent=intent["id"],
            created=int(time.time()),
            reason=params.get("reason"),
            metadata=params.get("metadata", {}),
            status=self.refund_status,
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.refunds[(account or "", refund["id"])] = refund
        return refund

    def _refund(self, account: str | None, refund_id: str) -> dict[str, Any]:
        # A direct charge's refund exists only on its connected account (Stripe-Account).
        refund = self.refunds.get((account or "", refund_id))
        if refund is None:
            raise _not_found("refund", refund_id)
        return refund

    def _list_balance_transactions(
        self, account: str | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        source = params.get("source")
        selected = [
            transaction
            for (owner, _id), transaction in self.balance_transactions.items()
            if owner == (account or "") and (source is None or transaction["source"] == source)
        ]
        selected.sort(key=lambda t: (t["created"], t["id"]), reverse=True)  # newest first
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "url": "/v1/balance_transactions",
            "has_more": len(selected) > limit,
            "data": selected[:limit],
        }

    def _find_dispute(self, account: str | None, dispute_id: str) -> dict[str, Any]:
        dispute = self.disputes.get((account or "", dispute_id))
        if dispute is None:
            raise _not_found("dispute", dispute_id, "dispute")
        return dispute

    def _dispute(self, account: str | None, dispute_id: str) -> dict[str, Any]:
        return self._find_dispute(account, dispute_id)

    def _update_dispute(
        self, account: str | None, dispute_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        dispute = self._find_dispute(account, dispute_id)
        if dispute["status"] not in ("needs_response", "warning_needs_response"):
            raise _invalid(
                f"This dispute is already {dispute['status']}.", code="dispute_already_closed"
            )
        evidence = params.get("evidence", {})
        for name, value in evidence.items():
            if name not in dispute["evidence"]:
                raise _invalid(
                    f"Received unknown parameter: evidence[{name}]", param=f"evidence[{name}]"
                )
            dispute["evidence"][name] = value or None
        details = dispute["evidence_details"]
        details["has_evidence"] = True
        # `submit` defaults to true (docs.stripe.com/api/disputes/update).
        if params.get("submit", "true") == "true":
            details["submission_count"] += 1
            dispute["status"] = {
                "needs_response": "under_review",
                "warning_needs_response": "warning_under_review",
            }[dispute["status"]]
        return dispute

    def _create_file(
        self, account: str | None, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        if "file" not in files:
            raise _invalid("Missing required param: file.", param="file")
        filename, content = files["file"]
        file = copy.deepcopy(self.fixtures.get("file") or {"object": "file"})
        file.update(
            id=_new_id("file"), filename=filename, size=len(content), created=int(time.time()),
            purpose=params.get("purpose"), type=filename.rsplit(".", 1)[-1].lower(),
            links={"object": "list", "data": [], "has_more": False}, url=None, expires_at=None,
            title=None,
        )  # fmt: skip
        self.files[(account or "", file["id"])] = {**file, "content": content}
        return file

    def _create_webhook_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("url") or not params.get("enabled_events"):
            raise _invalid("Missing required param: url or enabled_events.")
        endpoint = copy.deepcopy(self.fixtures["webhook_endpoint"])
        connect = params.get("connect") == "true"
        endpoint.update(
            id=_new_id("we"),
            url=params["url"],
            enabled_events=list(params["enabled_events"]),
            api_version=params.get("api_version"),
            # A Connect endpoint belongs to the platform's Connect application.
            application="ca_platform" if connect else None,
            description=params.get("description"),
            created=int(time.time()),
        )
        self.webhook_endpoints[endpoint["id"]] = endpoint
        # The signing secret is in the create answer only; Stripe never shows it again.
        return {**endpoint, "secret": f"whsec_{secrets.token_hex(16)}"}

    def _list_webhook_endpoints(self) -> dict[str, Any]:
        return {
            "object": "list",
            "url": "/v1/webhook_endpoints",
            "has_more": False,
            "data": list(self.webhook_endpoints.values()),
        }

    def _update_webhook_endpoint(self, endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
        endpoint = self.webhook_endpoints.get(endpoint_id)
        if endpoint is None:
            raise _not_found("webhook_endpoint", endpoint_id)
        if "api_version" in params:
            raise _invalid("Received unknown parameter: api_version", param="api_version")
        if "enabled_events" in params:
            endpoint["enabled_events"] = list(params["enabled_events"])
        return endpoint

    def _list_events(self, account: str | None, params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("types")
        gte = int(params.get("created", {}).get("gte", 0))
        delivery = params.get("delivery_success")
        selected = [
            event
            for owner, event, delivered in self.events
            if owner == (account or "")
            and event["created"] >= gte
            and (types is None or event["type"] in types)
            and (delivery is None or delivered == (delivery == "true"))
        ]
        selected.sort(key=lambda e: (e["created"], e["id"]), reverse=True)  # newest first
        if "starting_after" in params:
            ids = [e["id"] for e in selected]
            selected = selected[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "url": "/v1/events",
            "has_more": len(selected) > limit,
            "data": selected[:limit],
        }


def sign_webhook(
    payload: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    also_signed_with: tuple[str, ...] = (),
) -> str:
    """A ``Stripe-Signature`` header as Stripe builds it (independently of the SDK).

    ``also_signed_with`` adds a ``v1`` for each extra secret, as Stripe does while a rolled
    secret overlaps with the old one.
    """
    signed_at = int(time.time()) if timestamp is None else timestamp
    signed = f"{signed_at}.".encode() + payload
    parts = [f"t={signed_at}"]
    for key in (*also_signed_with, secret):
        parts.append("v1=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


def _multipart(content_type: str, raw: bytes) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """A multipart/form-data body (``POST /v1/files``) as form pairs and uploaded files."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    pairs: list[tuple[str, str]] = []
    uploads: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        content = part.get_payload(decode=True) or b""
        if filename is not None:
            uploads[str(name)] = (filename, content)
        else:
            pairs.append((str(name), content.decode()))
    return pairs, uploads
