"""The payment interface, in the marketplace's own terms.

Two implementations sit behind :class:`PaymentGateway`: the Stripe adapter
(``stripe_gateway.py``, the only module that imports ``stripe``) and the sandbox
(``sandbox/``), which mirrors Stripe's behaviour and shapes with no keys. Services talk only
to this Protocol, receive the frozen value objects below, and catch the errors below.

Model: sellers have a *connected account*; a buyer pays through a *checkout* (a
direct-charge PaymentIntent created on the seller's account with an application fee);
every call that touches a checkout names that account. Every call that moves money or
creates an object takes an idempotency key derived from our own ids.

Webhook events keep Stripe's event shape (``id``, ``type``, ``account``, ``data.object``)
in both backends: the sandbox produces it too. ``stripe_objects`` reads an event's object
into the *facts* below (``PaymentFacts``, ``RefundUpdate``, ...), so the services that
apply events never read a Stripe key themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from stubcollector.domain.economics import CostKind, FeePayer
from stubcollector.domain.errors import DomainError, ServiceUnavailable
from stubcollector.domain.statuses import RefundStatus


class WebhookEndpoint(StrEnum):
    PLATFORM = "platform"
    """Events about the platform account itself (``application_fee.*``, ...)."""
    CONNECT = "connect"
    """Events from connected accounts (direct charges, ``account.updated``, payouts)."""


@dataclass(frozen=True)
class ConnectedAccount:
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str | None = None
    email: str | None = None
    # settings.payouts.schedule.delay_days as the provider reports it (None: not reported).
    payout_delay_days: int | None = None


@dataclass(frozen=True)
class OnboardingLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Balance:
    available_cents: int
    pending_cents: int
    currency: str = "usd"


@dataclass(frozen=True)
class CheckoutRequest:
    """A direct charge on ``account_id`` for ``amount_cents`` keeping ``application_fee_cents``."""

    order_id: int
    account_id: str
    amount_cents: int
    application_fee_cents: int
    idempotency_key: str
    description: str
    currency: str = "usd"
    metadata: Mapping[str, str] = field(default_factory=dict)


class CheckoutStatus(StrEnum):
    """PaymentIntent statuses we act on."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Checkout:
    payment_intent_id: str
    client_secret: str
    status: CheckoutStatus
    account_id: str
    amount_cents: int
    application_fee_cents: int
    # Sandbox only: the local page (and JSON endpoint) where the buyer "pays".
    sandbox_checkout_url: str | None = None


@dataclass(frozen=True)
class PaymentState:
    """What the provider currently says about a checkout (used by reconciliation)."""

    payment_intent_id: str
    status: CheckoutStatus
    charge_id: str | None = None
    amount_received_cents: int = 0
    amount_refunded_cents: int = 0
    processing_fee_cents: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    disputed: bool = False


@dataclass(frozen=True)
class Refund:
    """A refund as the provider holds it now (from creating or re-reading it)."""

    refund_id: str
    # pending, requires_action, succeeded, failed or canceled (never ``requested``, which is
    # ours). pending: e.g. the seller's available balance does not cover it yet;
    # requires_action: the buyer must act (refunds to payment methods without a card);
    # failed (with ``failure_reason``) can follow succeeded: a card refund may bounce.
    status: RefundStatus
    amount_cents: int
    payment_intent_id: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified, parsed provider event."""

    event_id: str
    type: str
    account: str | None
    livemode: bool
    created: int
    data_object: Mapping[str, Any]
    payload: Mapping[str, Any]
    # The API version the provider rendered ``data`` with (None: the event names none).
    api_version: str | None = None


# --- provider facts --------------------------------------------------------------------
# What the provider says about our payments, read from its events (``stripe_objects``) or
# re-read through the gateway: the only form in which provider state reaches the order
# services, which apply it idempotently.
@dataclass(frozen=True)
class PaymentFacts:
    """What the provider says about a PaymentIntent (from an event or a re-read)."""

    payment_intent_id: str
    order_id: int | None = None
    charge_id: str | None = None
    processing_fee_cents: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class RefundUpdate:
    """What the provider says about one refund: a ``refund.*`` or ``charge.refund.updated``
    event, a re-read, or the answer to our create call."""

    refund_id: str
    status: RefundStatus
    amount_cents: int
    payment_intent_id: str | None = None
    charge_id: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class RefundFacts:
    """``charge.refunded``: the charge's refunded total and, when the event lists them, its
    refunds with their statuses. The total counts pending refunds too, so it never proves
    that a refund succeeded by itself."""

    payment_intent_id: str | None
    charge_id: str | None
    amount_refunded_cents: int
    refunds: tuple[RefundUpdate, ...] = ()


@dataclass(frozen=True)
class DisputeFacts:
    """Any ``charge.dispute.*`` event: the dispute as the provider holds it now."""

    dispute_id: str
    charge_id: str | None
    payment_intent_id: str | None
    status: str
    reason: str | None
    amount_cents: int
    funds_withdrawn_cents: int = 0
    funds_reinstated_cents: int = 0
    evidence_due_by: datetime | None = None
    # evidence_details: staged evidence, and how many times it was sent to the bank.
    has_evidence: bool = False
    submission_count: int = 0


@dataclass(frozen=True)
class ProviderFee:
    """One fee the provider took, read from the balance transaction that carries it.

    Whose balance carries the transaction is who paid: the seller's (the charge's or the
    dispute's own balance transactions, on the connected account) or the platform's (its
    own balance transactions). docs/STRIPE.md, "What each cost is read from".
    """

    kind: CostKind
    payer: FeePayer
    # Positive: taken; negative: given back (a won dispute's countered fee).
    amount_cents: int
    # The txn_... it was read from; a fee is recorded once per (kind, transaction).
    balance_transaction_id: str
    created: datetime | None = None
    description: str | None = None


@dataclass(frozen=True)
class ChargeCosts:
    """What a payment's charge cost, from the provider's own objects (the fee reader).

    ``settled`` is False until the charge has its balance transaction: with asynchronous
    capture (Stripe's default) it is often missing when ``payment_intent.succeeded`` is
    sent, and Stripe promises the ``charge.updated`` that brings it within an hour. Read
    again then (or by reconciliation); nothing is recorded from an unsettled charge.
    """

    payment_intent_id: str
    charge_id: str | None
    settled: bool
    # The platform's ApplicationFee (fee_...) and the application fee the charge's balance
    # transaction lists (its fee_details of type application_fee: ours, not Stripe's).
    application_fee_id: str | None = None
    application_fee_cents: int | None = None
    fees: tuple[ProviderFee, ...] = ()


@dataclass(frozen=True)
class DisputeCosts:
    """A dispute's fees, from its balance transactions and the platform's."""

    dispute_id: str
    fees: tuple[ProviderFee, ...] = ()


@dataclass(frozen=True)
class EvidenceFile:
    """A file uploaded to the provider as dispute evidence (``purpose=dispute_evidence``)."""

    file_id: str
    filename: str
    size: int
    type: str | None = None


@dataclass(frozen=True)
class PayoutFacts:
    """``payout.paid``/``payout.failed`` on a connected account: the payout as it is now."""

    payout_id: str | None
    status: str | None
    amount_cents: int
    # Unix time, as the provider sends it.
    arrival_date: int
    failure_code: str | None = None
    failure_message: str | None = None
    currency: str = "usd"
    # When the provider created the payout (unix time; 0 when the object does not say).
    created: int = 0


@dataclass(frozen=True)
class CapabilityFacts:
    """``capability.updated``: one capability of a connected account and its status
    (``active``, ``inactive``, ``pending``, ``unrequested``)."""

    account_id: str | None
    capability: str | None
    status: str | None


@dataclass(frozen=True)
class WebhookEndpointSetup:
    """A webhook endpoint at the provider. ``secret`` (the signing secret) is only ever
    known in the answer that created the endpoint."""

    endpoint_id: str
    url: str
    connect: bool
    enabled_events: tuple[str, ...]
    api_version: str | None
    status: str
    secret: str | None = None


class PaymentError(DomainError):
    """The provider refused the request (bad parameters, account not ready, ...).

    ``message`` is ours and safe to show; ``code`` and ``provider_message`` are the
    provider's own, when it gave them (for operators, and for refusals the user should
    read in the provider's words, such as a refused payout schedule).
    """

    def __init__(
        self, message: str, *, code: str | None = None, provider_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.provider_message = provider_message


class CardDeclined(PaymentError):
    def __init__(self, message: str, *, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.decline_code = decline_code


class PaymentProviderUnavailable(ServiceUnavailable):
    """The provider could not be reached or failed; safe to retry with the same key."""


class RequestInProgress(PaymentProviderUnavailable):
    """The provider is still executing an earlier request with the same idempotency key
    (Stripe: HTTP 409 ``idempotency_key_in_use``). Nothing was refused and nothing is
    known yet: repeat later with the same key, which then answers with that request's
    outcome."""


class InvalidWebhookSignature(DomainError):
    """Missing or wrong signature, or a timestamp outside the tolerance."""


@runtime_checkable
class PaymentGateway(Protocol):
    """What the marketplace needs from a payment provider."""

    name: str
    publishable_key: str | None
    livemode: bool
    """Whether our key is a live key; events of the other mode are acknowledged, not applied."""
    api_version: str
    """The provider API version our requests and webhook endpoints are pinned to; an event
    rendered with another version may not have the shapes we read."""

    # --- sellers ----------------------------------------------------------------------
    def create_seller_account(
        self, *, user_id: int, email: str, idempotency_key: str | None = None
    ) -> ConnectedAccount:
        """Create the seller's connected account (idempotent per user: ``idempotency_key``,
        by default ``user:{user_id}:account``)."""
        ...

    def onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        """A single-use link to the provider's onboarding for ``account_id``."""
        ...

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        """Re-read the account (never trust a redirect)."""
        ...

    def dashboard_link(self, account_id: str) -> str:
        """A fresh login link to the seller's Express dashboard."""
        ...

    def balance(self, account_id: str) -> Balance: ...

    def set_payout_delay(
        self, account_id: str, *, days: int, idempotency_key: str | None = None
    ) -> None:
        """Hold the seller's payouts for ``days`` (daily schedule, ``delay_days``).

        ``PaymentError`` when the provider refuses it (with its own words in
        ``provider_message``): Stripe lets a platform set ``delay_days`` only on accounts
        whose losses it carries.
        """
        ...

    # --- checkout ---------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> Checkout: ...

    def cancel_checkout(
        self, account_id: str, payment_intent_id: str, *, idempotency_key: str
    ) -> None:
        """Cancel an unpaid PaymentIntent; a no-op if it is already canceled."""
        ...

    def retrieve_payment(self, account_id: str, payment_intent_id: str) -> PaymentState: ...

    def refund(
        self,
        account_id: str,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        amount_cents: int | None = None,
        reason: str | None = None,
    ) -> Refund:
        """Refund on the connected account, returning the platform fee too.

        The same ``idempotency_key`` always answers with the first refund made with it
        (even a failed one): a new attempt needs a new key.
        """
        ...

    def retrieve_refund(self, account_id: str, refund_id: str) -> Refund:
        """Re-read a refund on the connected account (reconciliation of pending refunds)."""
        ...

    # --- what the platform paid ------------------------------------------------------
    def charge_costs(self, account_id: str, payment_intent_id: str) -> ChargeCosts:
        """The fee reader: re-read the PaymentIntent with its charge's balance transaction
        (events carry ``latest_charge`` as an id) and the platform's balance transactions
        of that charge; which fees were taken, from whom. ``settled=False``: not yet."""
        ...

    def dispute_costs(self, account_id: str, dispute_id: str) -> DisputeCosts:
        """The fees of a dispute: its own balance transactions (the seller's) and the
        platform's balance transactions of it."""
        ...

    # --- answering disputes -----------------------------------------------------------
    def upload_dispute_evidence(
        self, account_id: str, *, filename: str, content: bytes, idempotency_key: str
    ) -> EvidenceFile:
        """Upload a file (PDF, JPEG or PNG) as dispute evidence on the seller's account."""
        ...

    def submit_dispute_evidence(
        self,
        account_id: str,
        dispute_id: str,
        *,
        evidence: Mapping[str, str],
        submit: bool,
        idempotency_key: str,
    ) -> DisputeFacts:
        """Send the whole evidence set (text, and file ids for the file fields) for a dispute
        on the seller's account; ``submit=False`` stages it, ``True`` sends it to the bank
        (once). Returns the dispute as the provider then holds it."""
        ...

    # --- events -----------------------------------------------------------------------
    def parse_webhook(
        self, payload: bytes, signature_header: str | None, endpoint: WebhookEndpoint
    ) -> WebhookEvent:
        """Verify the signature (with the endpoint's secret and tolerance) and parse."""
        ...

    def undelivered_events(
        self, *, since: datetime, types: Sequence[str], account_id: str | None = None
    ) -> Sequence[WebhookEvent]:
        """Events the provider failed to deliver (reconciliation); empty if unsupported.

        Without ``account_id`` the platform's own events; with it, those of that connected
        account (where direct charges and their refunds and disputes happen).
        """
        ...

    # --- webhook endpoints (operators' setup) -----------------------------------------
    def webhook_endpoints(self) -> Sequence[WebhookEndpointSetup]:
        """The webhook endpoints configured at the provider (without their secrets)."""
        ...

    def create_webhook_endpoint(
        self, *, url: str, events: Sequence[str], connect: bool, description: str
    ) -> WebhookEndpointSetup:
        """A new endpoint pinned to :attr:`api_version`, sent exactly ``events``; the
        answer carries its signing secret, which the provider never shows again."""
        ...

    def update_webhook_endpoint(
        self, endpoint_id: str, *, events: Sequence[str]
    ) -> WebhookEndpointSetup:
        """Change which events an existing endpoint is sent (its secret stays)."""
        ...
