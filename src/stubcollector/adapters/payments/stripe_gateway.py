"""Stripe behind :class:`~stubcollector.adapters.payments.ports.PaymentGateway`.

The only module that imports ``stripe`` (ruff's banned-api rule enforces it). Model:

* sellers are Express-dashboard connected accounts created with controller properties
  (never the deprecated ``type="express"``); who carries losses and pays Stripe's fees is
  ``settings.stripe_account_liability`` (docs/STRIPE.md, "Seller accounts");
* a checkout is a **direct charge**: a PaymentIntent created on the seller's account
  (``Stripe-Account`` header) with ``application_fee_amount``. ``on_behalf_of``,
  ``transfer_data`` and ``transfer_group`` belong to destination charges / separate charges
  and transfers and are never sent; every later call on that PaymentIntent, its Charge or
  its Refund names the same account;
* refunds run on the seller's account with ``refund_application_fee`` (never
  ``reverse_transfer``, which reverses a transfer a direct charge does not have);
* every POST that creates or moves something carries an idempotency key derived from our
  own ids, so a retry (the SDK's own or the caller's) cannot do it twice.

Stripe's exceptions never leave this module: they become ``CardDeclined``,
``PaymentError`` or ``PaymentProviderUnavailable`` with a message safe to show, and the
details (Stripe's message, request id) go to the log.

References: "§n" is a section of the shared research notes ``research/STRIPE-FACTS.md``
(summarised in docs/STRIPE.md); Stripe's docs are named at each call.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, Literal

import stripe

from stubcollector.adapters.payments import stripe_objects
from stubcollector.adapters.payments.ports import (
    Balance,
    CardDeclined,
    ChargeCosts,
    Checkout,
    CheckoutRequest,
    CheckoutStatus,
    ConnectedAccount,
    DisputeCosts,
    DisputeFacts,
    EvidenceFile,
    InvalidWebhookSignature,
    OnboardingLink,
    PaymentError,
    PaymentGateway,
    PaymentProviderUnavailable,
    PaymentState,
    Refund,
    RequestInProgress,
    WebhookEndpoint,
    WebhookEndpointSetup,
    WebhookEvent,
)
from stubcollector.config import Settings
from stubcollector.domain.statuses import RefundStatus

log = logging.getLogger(__name__)

API_VERSION: Final = "2026-10-28.endive"
"""The version stripe==16.1.0 is generated for (``stripe/_api_version.py``). Sent on every
request, so the shapes we parse do not change when the account's default version does."""

MAX_NETWORK_RETRIES: Final = 2
"""``StripeClient`` retries nothing by default (STRIPE-FACTS §8). Two retries, reusing the
request's idempotency key, ride out a dropped connection or a 5xx/409."""

WEBHOOK_TOLERANCE_SECONDS: Final = 300
"""Stripe's own default: a signed timestamp older (or, our addition, newer) than this is a
replay or a badly skewed clock."""

UNDELIVERED_EVENTS_LIMIT: Final = 1000
"""Upper bound on events one reconciliation run reads (Stripe lists newest first, so a
larger backlog loses its oldest events; the log says so)."""

_TYPES_PER_EVENTS_REQUEST: Final = 20  # the List Events API accepts up to 20 `types`
_STRIPE_REFUND_REASONS: Final[
    Mapping[str, Literal["duplicate", "fraudulent", "requested_by_customer"]]
] = {
    "duplicate": "duplicate",
    "fraudulent": "fraudulent",
    "requested_by_customer": "requested_by_customer",
}
_CHECKOUT_STATUSES: Final = {status.value: status for status in CheckoutStatus}


def controller_for(liability: str) -> stripe.params.AccountCreateParamsController:
    """Controller properties of a new seller account (STRIPE-FACTS §4, §5).

    ``application``: the platform pays Stripe's fees and carries losses the seller cannot
    cover; Stripe lets a platform set ``delay_days`` only on accounts where it owns that
    liability. ``stripe``: Stripe carries the losses and the seller pays Stripe's fees (the
    Express combination Stripe recommends for direct charges; ``delay_days`` may then be
    refused). The seller uses the Express dashboard either way, and Stripe collects the
    onboarding requirements.
    """
    if liability == "application":
        return {
            "stripe_dashboard": {"type": "express"},
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
        }
    if liability == "stripe":
        return {
            "stripe_dashboard": {"type": "express"},
            "fees": {"payer": "account"},
            "losses": {"payments": "stripe"},
            "requirement_collection": "stripe",
        }
    raise ValueError(f"stripe_account_liability must be application or stripe, not {liability!r}")


class StripeGateway:
    """The production :class:`PaymentGateway` (structurally; see ``ports.py``)."""

    name = "stripe"
    api_version: str = API_VERSION

    def __init__(
        self,
        *,
        secret_key: str,
        publishable_key: str | None,
        platform_webhook_secret: str,
        connect_webhook_secret: str,
        account_liability: str = "application",
        api_base: str = "",
        max_network_retries: int = MAX_NETWORK_RETRIES,
        timeout_seconds: float = 20.0,
        webhook_tolerance_seconds: int = WEBHOOK_TOLERANCE_SECONDS,
        undelivered_events_limit: int = UNDELIVERED_EVENTS_LIMIT,
    ) -> None:
        if not secret_key:
            raise ValueError("StripeGateway needs a secret key (STRIPE_SECRET_KEY)")
        self.publishable_key = publishable_key or None
        # Live keys only see live objects; Connect endpoints on a live URL also receive
        # connected accounts' *test* events, so handlers compare `event.livemode` to this.
        self.livemode = secret_key.startswith(("sk_live_", "rk_live_"))
        self._controller = controller_for(account_liability)
        self._webhook_secrets = {
            WebhookEndpoint.PLATFORM: platform_webhook_secret,
            WebhookEndpoint.CONNECT: connect_webhook_secret,
        }
        self._webhook_tolerance = webhook_tolerance_seconds
        self._undelivered_events_limit = undelivered_events_limit
        # The SDK's default timeout is 80 s, longer than a web worker should wait; with the
        # retries above a request still fails within about a minute.
        self._http_client = stripe.RequestsClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=API_VERSION,
            # A Stripe-compatible server (stripe-mock, a test fake) answers every API family.
            base_addresses=(
                {"api": api_base, "connect": api_base, "files": api_base} if api_base else None
            ),
            max_network_retries=max_network_retries,
            http_client=self._http_client,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeGateway:
        return cls(
            secret_key=settings.stripe_secret_key,
            publishable_key=settings.stripe_public_key,
            platform_webhook_secret=settings.stripe_webhook_secret,
            connect_webhook_secret=settings.stripe_connect_webhook_secret,
            account_liability=settings.stripe_account_liability,
            api_base=settings.stripe_api_base,
        )

    def close(self) -> None:
        """Close this thread's pooled HTTP connection (tests, shutdown)."""
        self._http_client.close()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated

    # --- sellers ----------------------------------------------------------------------

    def create_seller_account(
        self, *, user_id: int, email: str, idempotency_key: str | None = None
    ) -> ConnectedAccount:
        # Controller properties replace `type`, which v16 marks deprecated (STRIPE-FACTS §5).
        params: stripe.params.AccountCreateParams = {
            "country": "US",
            "email": email,
            "controller": self._controller,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"user_id": str(user_id)},
        }
        with _translate_errors("create the seller account"):
            account = self._client.v1.accounts.create(
                params=params,
                options={"idempotency_key": idempotency_key or f"user:{user_id}:account"},
            )
        return _connected_account(account)

    def onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        # Account links are single-use and short-lived, so a deterministic idempotency key
        # would hand back an already-used link for 24 hours; the SDK's generated key still
        # makes its own retries safe (STRIPE-FACTS §5, §8).
        params: stripe.params.AccountLinkCreateParams = {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": refresh_url,
            "return_url": return_url,
        }
        with _translate_errors("start onboarding"):
            link = self._client.v1.account_links.create(params=params)
        return OnboardingLink(url=link.url, expires_at=datetime.fromtimestamp(link.expires_at, UTC))

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        with _translate_errors("read the seller account"):
            account = self._client.v1.accounts.retrieve(account_id)
        return _connected_account(account)

    def dashboard_link(self, account_id: str) -> str:
        # Login links are single-use too: created on click, never reused (no fixed key).
        with _translate_errors("open the seller dashboard"):
            link = self._client.v1.accounts.login_links.create(account_id)
        return link.url

    def balance(self, account_id: str) -> Balance:
        with _translate_errors("read the seller balance"):
            balance = self._client.v1.balance.retrieve(options={"stripe_account": account_id})
        return Balance(
            available_cents=sum(f.amount for f in balance.available if f.currency == "usd"),
            pending_cents=sum(f.amount for f in balance.pending if f.currency == "usd"),
        )

    def set_payout_delay(
        self, account_id: str, *, days: int, idempotency_key: str | None = None
    ) -> None:
        # https://docs.stripe.com/connect/manage-payout-schedule: only accounts whose losses
        # the platform carries accept a custom delay_days (STRIPE-FACTS §6). Stripe's error
        # code for the refusal is not documented, so any refusal is reported with Stripe's
        # own message (``provider_message``) for the seller page.
        params: stripe.params.AccountUpdateParams = {
            "settings": {"payouts": {"schedule": {"interval": "daily", "delay_days": days}}}
        }
        key = idempotency_key or f"account:{account_id}:payout_schedule:{days}"
        with _translate_errors("set the payout schedule"):
            self._client.v1.accounts.update(
                account_id, params=params, options={"idempotency_key": key}
            )

    # --- checkout ---------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        # https://docs.stripe.com/connect/direct-charges (STRIPE-FACTS §1).
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": request.amount_cents,
            "currency": request.currency,
            "automatic_payment_methods": {"enabled": True},
            "description": request.description,
            "metadata": {**request.metadata, "order_id": str(request.order_id)},
        }
        if request.application_fee_cents:
            # A zero fee is left out, not sent: Stripe documents the value as "positive"
            # (docs.stripe.com/connect/saas/tasks/app-fees) and a charge without one makes
            # no ApplicationFee object of $0.
            params["application_fee_amount"] = request.application_fee_cents
        with _translate_errors("create the payment"):
            intent = self._client.v1.payment_intents.create(
                params=params,
                options={
                    "stripe_account": request.account_id,
                    "idempotency_key": request.idempotency_key,
                },
            )
        if not intent.client_secret:
            raise PaymentError("The payment provider returned a payment without a client secret.")
        fee = intent.application_fee_amount
        return Checkout(
            payment_intent_id=intent.id,
            client_secret=intent.client_secret,
            status=_checkout_status(intent.status),
            account_id=request.account_id,
            amount_cents=intent.amount,
            application_fee_cents=request.application_fee_cents if fee is None else fee,
        )

    def cancel_checkout(
        self, account_id: str, payment_intent_id: str, *, idempotency_key: str
    ) -> None:
        try:
            with _translate_errors("cancel the payment", quiet_codes={_UNEXPECTED_STATE}):
                self._client.v1.payment_intents.cancel(
                    payment_intent_id,
                    options={"stripe_account": account_id, "idempotency_key": idempotency_key},
                )
        except _UnexpectedState:
            # Stripe refuses to cancel a PaymentIntent that is already canceled (or has
            # succeeded, or is processing); only the first is the no-op the port promises.
            state = self.retrieve_payment(account_id, payment_intent_id)
            if state.status is not CheckoutStatus.CANCELED:
                raise PaymentError(
                    f"The payment cannot be cancelled: it is {state.status.value}."
                ) from None

    def retrieve_payment(self, account_id: str, payment_intent_id: str) -> PaymentState:
        # The balance transaction carries the fees actually taken (Stripe's and ours).
        params: stripe.params.PaymentIntentRetrieveParams = {
            "expand": ["latest_charge.balance_transaction"]
        }
        with _translate_errors("read the payment"):
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent_id, params=params, options={"stripe_account": account_id}
            )
        charge = intent.latest_charge if isinstance(intent.latest_charge, stripe.Charge) else None
        error = intent.last_payment_error
        return PaymentState(
            payment_intent_id=intent.id,
            status=_checkout_status(intent.status),
            charge_id=charge.id if charge else _expandable_id(intent.latest_charge),
            amount_received_cents=intent.amount_received,
            amount_refunded_cents=charge.amount_refunded if charge else 0,
            # The seller's side only; what the platform paid is charge_costs' business.
            processing_fee_cents=stripe_objects.payment_facts(
                intent.to_dict()
            ).processing_fee_cents,
            failure_code=(error.decline_code or error.code) if error else None,
            failure_message=error.message if error else None,
            disputed=bool(charge and charge.disputed),
        )

    def refund(
        self,
        account_id: str,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        amount_cents: int | None = None,
        reason: str | None = None,
    ) -> Refund:
        # https://docs.stripe.com/connect/direct-charges (STRIPE-FACTS §2):
        # the refund comes out of the seller's balance and our fee goes back with it.
        params: stripe.params.RefundCreateParams = {
            "payment_intent": payment_intent_id,
            "refund_application_fee": True,
        }
        if amount_cents is not None:
            params["amount"] = amount_cents
        if reason is not None:
            # Stripe knows three reasons (`fraudulent` also feeds Radar's block lists); our
            # own wording travels in metadata.
            params["metadata"] = {"reason": reason}
            if reason in _STRIPE_REFUND_REASONS:
                params["reason"] = _STRIPE_REFUND_REASONS[reason]
        with _translate_errors("refund the payment"):
            refund = self._client.v1.refunds.create(
                params=params,
                options={"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        # The answer may be pending or requires_action (even failed): the caller records the
        # status and learns the outcome from refund.* events or retrieve_refund.
        return _refund(refund)

    def retrieve_refund(self, account_id: str, refund_id: str) -> Refund:
        # https://docs.stripe.com/api/refunds/retrieve: the refund of a direct charge lives
        # on the connected account, like its charge.
        with _translate_errors("read the refund"):
            refund = self._client.v1.refunds.retrieve(
                refund_id, options={"stripe_account": account_id}
            )
        return _refund(refund)

    # --- what the platform paid ------------------------------------------------------

    def charge_costs(self, account_id: str, payment_intent_id: str) -> ChargeCosts:
        # Events carry `latest_charge` as an id, so the fee reader re-reads the PaymentIntent
        # with the charge's balance transaction expanded, on the seller's account
        # (docs.stripe.com/expand/use-cases). With asynchronous capture the balance
        # transaction may not exist yet: then nothing more is read (settled=False).
        params: stripe.params.PaymentIntentRetrieveParams = {
            "expand": ["latest_charge.balance_transaction"]
        }
        with _translate_errors("read the payment's fees"):
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent_id, params=params, options={"stripe_account": account_id}
            )
        document = intent.to_dict()
        costs = stripe_objects.charge_costs(document)
        if not costs.settled:
            return costs
        # What the platform paid for this charge is on the platform's own balance: Stripe
        # debits it there when the platform pays the fees (controller.fees.payer=application;
        # which transactions, and whether they name the charge, is UNCONFIRMED: docs/STRIPE.md,
        # "What each cost is read from"). Look at both the charge's and our fee's.
        platform = self._platform_transactions(costs.charge_id, costs.application_fee_id)
        return stripe_objects.charge_costs(document, platform)

    def dispute_costs(self, account_id: str, dispute_id: str) -> DisputeCosts:
        with _translate_errors("read the dispute"):
            dispute = self._client.v1.disputes.retrieve(
                dispute_id, options={"stripe_account": account_id}
            )
        return stripe_objects.dispute_costs(
            dispute.to_dict(), self._platform_transactions(dispute_id)
        )

    def _platform_transactions(self, *sources: str | None) -> list[dict[str, Any]]:
        """The platform's balance transactions whose ``source`` is one of ``sources``."""
        found: list[dict[str, Any]] = []
        for source in dict.fromkeys(s for s in sources if s):
            params: stripe.params.BalanceTransactionListParams = {"source": source, "limit": 100}
            with _translate_errors("read the platform's balance transactions"):
                page = self._client.v1.balance_transactions.list(params=params)
                found += [item.to_dict() for item in page.auto_paging_iter()]
        return found

    # --- answering disputes -----------------------------------------------------------

    def upload_dispute_evidence(
        self, account_id: str, *, filename: str, content: bytes, idempotency_key: str
    ) -> EvidenceFile:
        # docs.stripe.com/api/files/create: multipart to files.stripe.com, purpose
        # dispute_evidence, on the connected account where the dispute lives (whether a
        # platform file would be accepted there is UNCONFIRMED; research-16 §4).
        upload = io.BytesIO(content)
        upload.name = filename
        params: stripe.params.FileCreateParams = {"purpose": "dispute_evidence", "file": upload}
        with _translate_errors("upload the evidence file"):
            created = self._client.v1.files.create(
                params=params,
                options={"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        return EvidenceFile(
            file_id=created.id,
            filename=created.filename or filename,
            size=created.size,
            type=created.type,
        )

    def submit_dispute_evidence(
        self,
        account_id: str,
        dispute_id: str,
        *,
        evidence: Mapping[str, str],
        submit: bool,
        idempotency_key: str,
    ) -> DisputeFacts:
        # docs.stripe.com/api/disputes/update: "Updating any field in the hash will submit
        # all fields in the hash", so the whole set goes every time; `submit` defaults to
        # true at Stripe, so it is always sent explicitly.
        params: dict[str, Any] = {"evidence": dict(evidence), "submit": submit}
        with _translate_errors("send the dispute evidence"):
            dispute = self._client.v1.disputes.update(
                dispute_id,
                params=params,  # type: ignore[arg-type]  # evidence keys are checked by us
                options={"stripe_account": account_id, "idempotency_key": idempotency_key},
            )
        return stripe_objects.dispute_facts(dispute.to_dict())

    # --- events -----------------------------------------------------------------------

    def parse_webhook(
        self, payload: bytes, signature_header: str | None, endpoint: WebhookEndpoint
    ) -> WebhookEvent:
        """Verify ``Stripe-Signature`` with ``endpoint``'s secret, then parse the event.

        Beyond the SDK's check (header present, a ``v1`` signature matching the secret,
        timestamp not older than the tolerance) this refuses timestamps more than the
        tolerance in the future, bodies that are not Stripe v1 events, and events on the
        wrong endpoint: the Connect endpoint only receives events of connected accounts
        (``account`` set), the platform endpoint only the platform's own. A mismatch means
        the two signing secrets are swapped or shared, which should fail loudly.
        """
        secret = self._webhook_secrets[endpoint]
        if not secret:
            raise InvalidWebhookSignature(
                f"No signing secret is configured for the {endpoint} webhook endpoint."
            )
        if not signature_header:
            raise InvalidWebhookSignature("Missing Stripe-Signature header.")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature_header, secret, self._webhook_tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhookSignature(f"Invalid Stripe-Signature: {exc.user_message}") from None
        except ValueError:  # the body is not UTF-8, so it cannot have been signed by Stripe
            raise InvalidWebhookSignature(
                "Invalid Stripe-Signature: the body is not UTF-8."
            ) from None
        signed_at = _signature_timestamp(signature_header)
        if signed_at > time.time() + self._webhook_tolerance:
            raise InvalidWebhookSignature(
                f"Invalid Stripe-Signature: timestamp {signed_at} is in the future."
            )
        try:
            document = json.loads(payload)
        except ValueError:
            raise InvalidWebhookSignature("The signed body is not JSON.") from None
        event = _webhook_event(document)
        if endpoint is WebhookEndpoint.CONNECT and event.account is None:
            raise InvalidWebhookSignature(
                f"Event {event.event_id} names no connected account but was signed for the "
                "Connect endpoint; check STRIPE_CONNECT_WEBHOOK_SECRET."
            )
        if endpoint is WebhookEndpoint.PLATFORM and event.account is not None:
            raise InvalidWebhookSignature(
                f"Event {event.event_id} comes from connected account {event.account} but was "
                "signed for the platform endpoint; check STRIPE_WEBHOOK_SECRET."
            )
        return event

    def undelivered_events(
        self, *, since: datetime, types: Sequence[str], account_id: str | None = None
    ) -> Sequence[WebhookEvent]:
        """Events created since ``since`` that did not reach every endpoint, oldest first.

        Events of direct charges live on the seller's account: pass ``account_id`` to read
        them there (``Stripe-Account``); without it the platform's own events are listed.
        Stripe keeps 30 days of events (docs.stripe.com/webhooks/process-undelivered-events).
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # our timestamps are UTC (models.base.UTCDateTime)
        options: stripe.RequestOptions = {}
        if account_id is not None:
            options["stripe_account"] = account_id
        wanted = list(dict.fromkeys(types))
        batches = [
            wanted[i : i + _TYPES_PER_EVENTS_REQUEST]
            for i in range(0, len(wanted), _TYPES_PER_EVENTS_REQUEST)
        ] or [[]]
        found: dict[str, WebhookEvent] = {}
        for batch in batches:
            if len(found) >= self._undelivered_events_limit:
                break
            params: stripe.params.EventListParams = {
                "delivery_success": False,
                "created": {"gte": int(since.timestamp())},
                "limit": 100,
            }
            if batch:
                params["types"] = batch
            with _translate_errors("list undelivered events"):
                page = self._client.v1.events.list(params=params, options=options)
                for item in page.auto_paging_iter():
                    if len(found) >= self._undelivered_events_limit:
                        # Stripe lists newest first, so what is left out is the oldest.
                        log.warning(
                            "undelivered events: stopped after the newest %d; older ones "
                            "were not read",
                            self._undelivered_events_limit,
                        )
                        break
                    try:
                        event = _webhook_event(item.to_dict(for_json=True))
                    except InvalidWebhookSignature:
                        log.warning("undelivered events: skipped malformed event %s", item.id)
                        continue
                    found.setdefault(event.event_id, event)
        return sorted(found.values(), key=lambda e: (e.created, e.event_id))

    # --- webhook endpoints ------------------------------------------------------------

    def webhook_endpoints(self) -> Sequence[WebhookEndpointSetup]:
        with _translate_errors("list the webhook endpoints"):
            page = self._client.v1.webhook_endpoints.list(params={"limit": 100})
            return [_webhook_endpoint(item) for item in page.auto_paging_iter()]

    def create_webhook_endpoint(
        self, *, url: str, events: Sequence[str], connect: bool, description: str
    ) -> WebhookEndpointSetup:
        """Create an endpoint pinned to :data:`API_VERSION` (docs.stripe.com/api/webhook_endpoints
        /create): without ``api_version`` an endpoint renders events in the account's default
        version, which changes when someone upgrades the account in the Dashboard."""
        params: stripe.params.WebhookEndpointCreateParams = {
            "url": url,
            "enabled_events": _event_types(events),
            "connect": connect,
            "api_version": API_VERSION,
            "description": description,
        }
        with _translate_errors("create the webhook endpoint"):
            endpoint = self._client.v1.webhook_endpoints.create(params=params)
        return _webhook_endpoint(endpoint, connect=connect)

    def update_webhook_endpoint(
        self, endpoint_id: str, *, events: Sequence[str]
    ) -> WebhookEndpointSetup:
        params: stripe.params.WebhookEndpointUpdateParams = {
            "enabled_events": _event_types(events),
        }
        with _translate_errors("update the webhook endpoint"):
            endpoint = self._client.v1.webhook_endpoints.update(endpoint_id, params=params)
        return _webhook_endpoint(endpoint)


def _event_types(events: Sequence[str]) -> Any:
    # The SDK types ``enabled_events`` as a list of its Literal event names; ours are
    # plain strings (services.webhooks.HANDLERS), checked against Stripe's list by a test.
    return list(events)


def build_stripe_gateway(settings: Settings) -> PaymentGateway:
    """The composition root's entry for ``PAYMENTS_BACKEND=stripe``.

    Typed as the port so mypy proves that :class:`StripeGateway` satisfies it.
    """
    return StripeGateway.from_settings(settings)


# --- translation helpers -----------------------------------------------------------------

_UNEXPECTED_STATE: Final = "payment_intent_unexpected_state"


class _UnexpectedState(Exception):
    """Stripe refused an operation because of the PaymentIntent's current status."""


@contextmanager
def _translate_errors(
    action: str, *, quiet_codes: frozenset[str] | set[str] = frozenset()
) -> Iterator[None]:
    """Turn the SDK's exceptions into the port's errors; log what only operators should see.

    ``quiet_codes`` are Stripe error codes the caller handles itself (raised as
    :class:`_UnexpectedState`).
    """
    try:
        yield
    except stripe.StripeError as exc:
        raise _translated(action, exc, quiet_codes) from exc


def _translated(
    action: str, exc: stripe.StripeError, quiet_codes: frozenset[str] | set[str]
) -> Exception:
    """The port's error for one of the SDK's (see :func:`_translate_errors`)."""
    if _idempotency_key_in_use(exc):
        # Another request with this key is still running at Stripe (a concurrent retry);
        # the SDK has already retried the 409. Nothing was refused, so the caller keeps
        # the key and asks again later (docs.stripe.com/error-codes; research-16 §6).
        _log_failure(logging.INFO, action, exc)
        return RequestInProgress(_IN_PROGRESS)
    if isinstance(exc, stripe.CardError):
        error = exc.error
        decline_code = (error.decline_code if error else None) or exc.code
        log.info("stripe: card declined while trying to %s (%s)", action, decline_code)
        message = (error.message if error else None) or "Your card was declined."
        return CardDeclined(message, decline_code=decline_code)
    if isinstance(
        exc, stripe.InvalidRequestError | stripe.PermissionError | stripe.IdempotencyError
    ):
        if exc.code in quiet_codes:
            return _UnexpectedState(exc.code)
        _log_failure(logging.WARNING, action, exc)
        detail = f" ({exc.code})" if exc.code else ""
        return PaymentError(
            f"The payment provider refused to {action}{detail}.",
            code=exc.code,
            provider_message=(exc.error.message if exc.error else None) or None,
        )
    if isinstance(exc, stripe.AuthenticationError):
        # A wrong or revoked key: every request will fail until an operator fixes it.
        _log_failure(logging.ERROR, action, exc)
        return PaymentProviderUnavailable(_UNAVAILABLE)
    # APIConnectionError, APIError, RateLimitError and anything newer: retrying later with
    # the same idempotency key is safe.
    _log_failure(logging.WARNING, action, exc)
    return PaymentProviderUnavailable(_UNAVAILABLE)


def _idempotency_key_in_use(exc: stripe.StripeError) -> bool:
    """Stripe's HTTP 409 ``idempotency_key_in_use``. stripe-python raises it as ``APIError``
    with the code only on ``exc.error`` (``exc.code`` stays None); checked whatever the
    class, so that no status carrying this code is ever read as a refusal."""
    error = exc.error
    return (exc.code or (error.code if error else None)) == "idempotency_key_in_use"


_UNAVAILABLE: Final = "The payment provider is unavailable right now; please try again shortly."
_IN_PROGRESS: Final = (
    "The payment provider is still working on this request; it will be asked again shortly."
)


def _log_failure(level: int, action: str, exc: stripe.StripeError) -> None:
    log.log(
        level,
        "stripe: failed to %s: %s (http %s, code %s, request %s): %s",
        action,
        type(exc).__name__,
        exc.http_status,
        exc.code,
        exc.request_id,
        exc.user_message,
    )


def _checkout_status(value: str) -> CheckoutStatus:
    try:
        return _CHECKOUT_STATUSES[value]
    except KeyError:
        # e.g. requires_capture, which manual capture would produce; we never request it.
        raise PaymentError(f"The payment is in an unexpected state ({value}).") from None


def _refund(refund: stripe.Refund) -> Refund:
    return Refund(
        refund_id=refund.id,
        status=RefundStatus.from_provider(refund.status),
        amount_cents=refund.amount,
        payment_intent_id=_expandable_id(refund.payment_intent),
        failure_reason=getattr(refund, "failure_reason", None),
    )


def _expandable_id(value: str | stripe.StripeObject | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def _connected_account(account: stripe.Account) -> ConnectedAccount:
    requirements = account.requirements
    payouts = account.settings.payouts if account.settings else None
    delay = payouts.schedule.delay_days if payouts and payouts.schedule else None
    return ConnectedAccount(
        account_id=account.id,
        charges_enabled=bool(account.charges_enabled),
        payouts_enabled=bool(account.payouts_enabled),
        details_submitted=bool(account.details_submitted),
        requirements_due=tuple(requirements.currently_due or ()) if requirements else (),
        disabled_reason=requirements.disabled_reason if requirements else None,
        email=account.email,
        payout_delay_days=delay if isinstance(delay, int) else None,
    )


def _webhook_endpoint(
    endpoint: stripe.WebhookEndpoint, *, connect: bool | None = None
) -> WebhookEndpointSetup:
    # ``connect`` is not a field of the WebhookEndpoint object; Stripe's list shows
    # ``application`` set for Connect endpoints, and the create call knows what it asked.
    found = getattr(endpoint, "application", None)
    return WebhookEndpointSetup(
        endpoint_id=endpoint.id,
        url=endpoint.url,
        connect=connect if connect is not None else bool(found),
        enabled_events=tuple(endpoint.enabled_events),
        api_version=endpoint.api_version,
        status=endpoint.status,
        secret=getattr(endpoint, "secret", None),
    )


def _signature_timestamp(header: str) -> int:
    # The same reading as the SDK's (the first `t=` item), which has just accepted it.
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise InvalidWebhookSignature("Invalid Stripe-Signature: no timestamp.")


def _webhook_event(document: Any) -> WebhookEvent:
    """A v1 snapshot event as our value object; anything else is refused."""
    if not isinstance(document, dict) or document.get("object") != "event":
        raise InvalidWebhookSignature("The signed body is not a Stripe event.")
    event_id = document.get("id")
    event_type = document.get("type")
    created = document.get("created")
    livemode = document.get("livemode")
    account = document.get("account")
    data = document.get("data")
    data_object = data.get("object") if isinstance(data, dict) else None
    api_version = document.get("api_version")
    if (
        not isinstance(event_id, str)
        or not event_id
        or not isinstance(event_type, str)
        or not event_type
        or not isinstance(created, int)
        or isinstance(created, bool)
        or not isinstance(livemode, bool)
        or not (account is None or isinstance(account, str))
        or not isinstance(data_object, dict)
    ):
        raise InvalidWebhookSignature("The signed body is not a well-formed Stripe event.")
    return WebhookEvent(
        event_id=event_id,
        type=event_type,
        account=account or None,
        livemode=livemode,
        created=created,
        data_object=data_object,
        payload=document,
        api_version=api_version if isinstance(api_version, str) else None,
    )
