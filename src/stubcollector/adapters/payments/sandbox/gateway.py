"""The sandbox payment backend: Stripe's behaviour and shapes, with no keys and no network.

It keeps its state in its own tables (``models/sandbox.py``) through its own database
session, as a remote provider keeps its own books: a sandbox call commits by itself and
never joins the caller's transaction (services call providers outside their transactions).

Events are stored in ``sandbox_events`` in the same commit as the state change, then
delivered by the job ``sandbox.deliver_event``: the exact JSON bytes, signed with the Stripe
scheme and the endpoint's configured secret, handed to the same ingestion function the
webhook endpoints use (signature verification included). An event that could not be
delivered stays undelivered and is offered to reconciliation by ``undelivered_events``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stubcollector.adapters.jobs import JobQueue, job
from stubcollector.adapters.payments.ports import (
    Balance,
    CardDeclined,
    Checkout,
    CheckoutRequest,
    CheckoutStatus,
    ConnectedAccount,
    InvalidWebhookSignature,
    OnboardingLink,
    PaymentError,
    PaymentState,
    Refund,
    WebhookEndpoint,
    WebhookEvent,
)
from stubcollector.adapters.payments.sandbox import objects
from stubcollector.adapters.payments.sandbox.signing import signature_header, verify_signature
from stubcollector.config import Settings
from stubcollector.domain.errors import NotFound
from stubcollector.domain.statuses import RefundStatus
from stubcollector.extensions import db
from stubcollector.models.base import utcnow
from stubcollector.models.sandbox import (
    SandboxAccount,
    SandboxBalanceTransaction,
    SandboxEvent,
    SandboxIdempotencyKey,
    SandboxLink,
    SandboxPaymentIntent,
    SandboxRefund,
)

log = logging.getLogger(__name__)

WebhookReceiver = Callable[[WebhookEndpoint, bytes, str], object]  # see adapters.payments

# Stripe's test cards (docs.stripe.com/testing) and what the sandbox does with them.
CARD_SUCCESS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT_FUNDS = "4000000000009995"
CARD_DISPUTE = "4000000000000259"
# Refund behaviour is Stripe's for these two cards, except that 7726's refunds wait for a
# decision on the sandbox dashboard (or ``settle_refund``) instead of a timer.
CARD_REFUND_PENDING = "4000000000007726"
CARD_REFUND_FAILS = "4000000000005126"
TEST_CARDS = {
    CARD_SUCCESS: "Succeeds",
    CARD_DECLINED: "Declined (generic_decline)",
    CARD_INSUFFICIENT_FUNDS: "Declined (insufficient_funds)",
    CARD_DISPUTE: "Succeeds, then the buyer's bank opens a fraud dispute",
    CARD_REFUND_PENDING: "Succeeds; its refunds stay pending until you make them succeed or "
    "fail on the sandbox dashboard",
    CARD_REFUND_FAILS: "Succeeds; its refunds succeed, then fail (expired_or_canceled_card)",
}
REFUND_FAILURE_REASON = "lost_or_stolen_card"  # a pending refund failed on the dashboard
_DECLINES = {
    CARD_DECLINED: ("generic_decline", "Your card was declined."),
    CARD_INSUFFICIENT_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
}
ACCOUNT_LINK_LIFETIME = timedelta(seconds=300)
LOGIN_LINK_LIFETIME = timedelta(hours=1)
REQUIREMENTS_DUE = ("external_account", "individual.verification.document")


class SandboxLinkInvalid(PaymentError):
    """The account or login link is unknown, already used or expired."""

    def __init__(self, message: str, *, refresh_url: str | None = None) -> None:
        super().__init__(message)
        self.refresh_url = refresh_url


@dataclass
class _Unit:
    session: Session
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardView:
    account: dict[str, Any]
    balance: Balance
    payments: list[dict[str, Any]]
    link_token: str
    # PaymentIntent id → (dispute id, dispute status)
    disputes: dict[str, tuple[str, str]]
    # PaymentIntent id → its refunds (Stripe-shaped), oldest first
    refunds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class SandboxGateway:
    """:class:`~stubcollector.adapters.payments.ports.PaymentGateway` without Stripe."""

    name = "sandbox"
    publishable_key: str | None = "pk_test_sandbox"
    livemode = False  # a test-mode provider, whatever the configuration

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobQueue,
        receiver: WebhookReceiver | None = None,
        subscribed_events: Collection[str] | None = None,
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._receiver = receiver
        # Like a Stripe webhook endpoint's enabled events: other events are recorded (and
        # listed by the events API) but never sent. None: send every event.
        self._subscribed = None if subscribed_events is None else frozenset(subscribed_events)
        self._base_url = settings.public_base_url.rstrip("/")

    def connect_receiver(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver

    # --- plumbing ---------------------------------------------------------------------
    @contextmanager
    def _unit(self) -> Iterator[_Unit]:
        """A committed unit of sandbox work; its events are delivered after the commit."""
        session = Session(db.engine, expire_on_commit=False)
        unit = _Unit(session)
        try:
            yield unit
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for event_id in unit.events:
            self._jobs.enqueue("sandbox.deliver_event", event_id)

    def _emit(
        self,
        unit: _Unit,
        event_type: str,
        data_object: dict[str, Any],
        *,
        account: str | None,
        idempotency_key: str | None = None,
    ) -> None:
        event_id = objects.new_id("evt")
        now = utcnow()
        payload = objects.event_object(
            event_id,
            event_type,
            data_object,
            account=account,
            created=now,
            idempotency_key=idempotency_key,
        )
        unit.session.add(
            SandboxEvent(
                id=event_id, type=event_type, account_id=account, payload=payload, created_at=now
            )
        )
        if self._subscribed is None or event_type in self._subscribed:
            unit.events.append(event_id)

    def _replay(self, scope: str, key: str, fingerprint: str) -> dict[str, Any] | None:
        with Session(db.engine) as session:
            stored = session.scalars(
                select(SandboxIdempotencyKey).where(
                    SandboxIdempotencyKey.scope == scope, SandboxIdempotencyKey.key == key
                )
            ).first()
            if stored is None:
                return None
            if stored.fingerprint != fingerprint:
                raise PaymentError(
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with (idempotency key {key!r})."
                )
            return dict(stored.response)

    def _idempotent(
        self,
        scope: str,
        key: str,
        operation: str,
        params: Mapping[str, Any],
        perform: Callable[[_Unit], dict[str, Any]],
    ) -> dict[str, Any]:
        """Stripe's rule: same key and parameters → the first response; else an error."""
        fingerprint = hashlib.sha256(
            json.dumps([operation, params], sort_keys=True, default=str).encode()
        ).hexdigest()
        replayed = self._replay(scope, key, fingerprint)
        if replayed is not None:
            return replayed
        try:
            with self._unit() as unit:
                response = perform(unit)
                unit.session.add(
                    SandboxIdempotencyKey(
                        scope=scope, key=key, fingerprint=fingerprint, response=response
                    )
                )
                unit.session.flush()
        except IntegrityError:
            # A concurrent request with the same key won; answer with its response.
            replayed = self._replay(scope, key, fingerprint)
            if replayed is None:
                raise
            return replayed
        return response

    @staticmethod
    def _account(session: Session, account_id: str) -> SandboxAccount:
        account = session.get(SandboxAccount, account_id)
        if account is None:
            raise PaymentError(f"No such account: '{account_id}'")
        return account

    @staticmethod
    def _payment_intent(session: Session, account_id: str, pi_id: str) -> SandboxPaymentIntent:
        pi = session.get(SandboxPaymentIntent, pi_id, with_for_update=True)
        # A PaymentIntent of a direct charge exists only for its own Stripe-Account.
        if pi is None or pi.account_id != account_id:
            raise PaymentError(f"No such payment_intent: '{pi_id}'")
        return pi

    @staticmethod
    def _to_account(account: SandboxAccount) -> ConnectedAccount:
        return ConnectedAccount(
            account_id=account.id,
            charges_enabled=account.charges_enabled,
            payouts_enabled=account.payouts_enabled,
            details_submitted=account.details_submitted,
            requirements_due=tuple(account.requirements_due),
            disabled_reason=account.disabled_reason,
            email=account.email,
        )

    # --- sellers ----------------------------------------------------------------------
    def create_seller_account(self, *, user_id: int, email: str) -> ConnectedAccount:
        liability = self._settings.stripe_account_liability

        def perform(unit: _Unit) -> dict[str, Any]:
            account = SandboxAccount(
                id=objects.new_id("acct", 16),
                email=email,
                fees_payer="application",
                losses_payer="application" if liability == "application" else "stripe",
                requirements_due=[
                    "business_profile.url",
                    "external_account",
                    "tos_acceptance.date",
                ],
            )
            unit.session.add(account)
            unit.session.flush()
            return objects.account_object(account)

        response = self._idempotent(
            "platform",
            f"user:{user_id}:account",
            "accounts.create",
            {"email": email, "liability": liability},
            perform,
        )
        return self.retrieve_account(str(response["id"]))

    def onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        now = utcnow()
        with self._unit() as unit:
            self._account(unit.session, account_id)
            link = SandboxLink(
                token=secrets.token_urlsafe(24),
                account_id=account_id,
                kind="account_onboarding",
                return_url=return_url,
                refresh_url=refresh_url,
                created_at=now,
                expires_at=now + ACCOUNT_LINK_LIFETIME,
            )
            unit.session.add(link)
        return OnboardingLink(
            url=f"{self._base_url}/sandbox/onboarding/{link.token}", expires_at=link.expires_at
        )

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        with Session(db.engine) as session:
            return self._to_account(self._account(session, account_id))

    def dashboard_link(self, account_id: str) -> str:
        now = utcnow()
        with self._unit() as unit:
            account = self._account(unit.session, account_id)
            if not account.details_submitted:
                raise PaymentError("The account has not completed onboarding yet.")
            token = secrets.token_urlsafe(24)
            unit.session.add(
                SandboxLink(
                    token=token,
                    account_id=account_id,
                    kind="login",
                    created_at=now,
                    expires_at=now + LOGIN_LINK_LIFETIME,
                )
            )
        return f"{self._base_url}/sandbox/dashboard/{token}"

    def balance(self, account_id: str) -> Balance:
        with Session(db.engine) as session:
            self._account(session, account_id)
            return self._balance(session, account_id)

    @staticmethod
    def _balance(session: Session, account_id: str) -> Balance:
        now = utcnow()
        rows = session.execute(
            select(SandboxBalanceTransaction.net, SandboxBalanceTransaction.available_on).where(
                SandboxBalanceTransaction.account_id == account_id
            )
        ).all()
        available = sum(net for net, available_on in rows if available_on <= now)
        pending = sum(net for net, available_on in rows if available_on > now)
        return Balance(available_cents=available, pending_cents=pending)

    def set_payout_delay(self, account_id: str, *, days: int) -> None:
        with self._unit() as unit:
            account = self._account(unit.session, account_id)
            account.payout_delay_days = days
            account.payout_interval = "daily"
            self._emit(unit, "account.updated", objects.account_object(account), account=account_id)

    # --- checkout ---------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        params = {
            "amount": request.amount_cents,
            "application_fee_amount": request.application_fee_cents,
            "currency": request.currency,
            "description": request.description,
            "metadata": dict(request.metadata),
        }

        def perform(unit: _Unit) -> dict[str, Any]:
            account = self._account(unit.session, request.account_id)
            if not account.charges_enabled:
                raise PaymentError(
                    "Your destination account needs to have the card_payments capability "
                    "enabled to create charges."
                )
            if request.currency.lower() != "usd" or request.amount_cents < 50:
                raise PaymentError("Amount must be at least $0.50 usd")
            if not 0 <= request.application_fee_cents < request.amount_cents:
                raise PaymentError("application_fee_amount must be less than the amount")
            pi_id = objects.new_id("pi")
            pi = SandboxPaymentIntent(
                id=pi_id,
                account_id=account.id,
                amount=request.amount_cents,
                application_fee_amount=request.application_fee_cents,
                currency=request.currency.lower(),
                status=CheckoutStatus.REQUIRES_PAYMENT_METHOD.value,
                client_secret=f"{pi_id}_secret_{secrets.token_urlsafe(18)}".replace("-", "x"),
                description=request.description,
                metadata_={str(k): str(v) for k, v in request.metadata.items()},
            )
            unit.session.add(pi)
            unit.session.flush()
            response = objects.payment_intent_object(pi)
            self._emit(
                unit,
                "payment_intent.created",
                response,
                account=account.id,
                idempotency_key=request.idempotency_key,
            )
            return response

        response = self._idempotent(
            request.account_id, request.idempotency_key, "payment_intents.create", params, perform
        )
        return Checkout(
            payment_intent_id=str(response["id"]),
            client_secret=str(response["client_secret"]),
            status=CheckoutStatus(response["status"]),
            account_id=request.account_id,
            amount_cents=int(response["amount"]),
            application_fee_cents=int(response["application_fee_amount"]),
            sandbox_checkout_url=(
                f"{self._base_url}/sandbox/checkout/{response['id']}"
                f"?client_secret={response['client_secret']}"
            ),
        )

    def cancel_checkout(
        self, account_id: str, payment_intent_id: str, *, idempotency_key: str
    ) -> None:
        def perform(unit: _Unit) -> dict[str, Any]:
            pi = self._payment_intent(unit.session, account_id, payment_intent_id)
            if pi.status == CheckoutStatus.CANCELED:
                return objects.payment_intent_object(pi)
            if pi.status == CheckoutStatus.SUCCEEDED:
                raise PaymentError(
                    "You cannot cancel this PaymentIntent because it has a status of succeeded."
                )
            pi.status = CheckoutStatus.CANCELED.value
            pi.canceled_at = utcnow()
            pi.cancellation_reason = "abandoned"
            response = objects.payment_intent_object(pi)
            self._emit(unit, "payment_intent.canceled", response, account=account_id)
            return response

        self._idempotent(
            account_id,
            idempotency_key,
            "payment_intents.cancel",
            {"id": payment_intent_id},
            perform,
        )

    def retrieve_payment(self, account_id: str, payment_intent_id: str) -> PaymentState:
        with Session(db.engine) as session:
            pi = session.get(SandboxPaymentIntent, payment_intent_id)
            if pi is None or pi.account_id != account_id:
                raise PaymentError(f"No such payment_intent: '{payment_intent_id}'")
            error = pi.last_payment_error or {}
            return PaymentState(
                payment_intent_id=pi.id,
                status=CheckoutStatus(pi.status),
                charge_id=pi.charge_id,
                amount_received_cents=pi.amount if pi.status == CheckoutStatus.SUCCEEDED else 0,
                amount_refunded_cents=pi.amount_refunded,
                processing_fee_cents=pi.processing_fee,
                failure_code=error.get("decline_code") or error.get("code"),
                failure_message=error.get("message"),
                disputed=pi.dispute_id is not None,
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
        def perform(unit: _Unit) -> dict[str, Any]:
            pi = self._payment_intent(unit.session, account_id, payment_intent_id)
            if pi.status != CheckoutStatus.SUCCEEDED or pi.charge_id is None:
                raise PaymentError(
                    f"This PaymentIntent ({pi.id}) does not have a successful charge to refund."
                )
            if pi.dispute_id is not None and pi.dispute_status not in ("won", "warning_closed"):
                raise PaymentError(
                    f"Charge {pi.charge_id} has been disputed; it cannot be refunded."
                )
            remaining = pi.amount - pi.amount_refunded
            amount = remaining if amount_cents is None else amount_cents
            if amount <= 0 or amount > remaining:
                raise PaymentError(
                    f"Charge {pi.charge_id} has already been refunded."
                    if remaining == 0
                    else f"Refund amount ({amount}) is greater than the unrefunded {remaining}."
                )
            now = utcnow()
            refund = SandboxRefund(
                id=objects.new_id("re"),
                account_id=account_id,
                payment_intent_id=pi.id,
                amount=amount,
                status=RefundStatus.PENDING.value
                if pi.card_last4 == CARD_REFUND_PENDING[-4:]
                else RefundStatus.SUCCEEDED.value,
                reason=reason,
                created_at=now,
                updated_at=now,
            )
            unit.session.add(refund)
            charge_txn = (
                unit.session.get(SandboxBalanceTransaction, pi.balance_transaction_id)
                if pi.balance_transaction_id
                else None
            )
            pi.amount_refunded += amount
            pi.refund_id = refund.id
            pi.refund_reason = reason
            pi.refunded_at = now
            unit.session.add(
                SandboxBalanceTransaction(
                    id=objects.new_id("txn"),
                    account_id=account_id,
                    type="refund",
                    source=refund.id,
                    amount=-amount,
                    net=-(amount - self._fee_back(pi, amount)),
                    created_at=now,
                    # Taken back from the charge's funds: pending ones if not yet available.
                    available_on=max(now, charge_txn.available_on) if charge_txn else now,
                )
            )
            unit.session.flush()
            response = objects.refund_object(refund, pi)
            self._emit(unit, "refund.created", response, account=account_id)
            self._emit(unit, "charge.refunded", self._charge(unit.session, pi), account=account_id)
            if pi.card_last4 == CARD_REFUND_FAILS[-4:]:
                # Stripe's refund_fail card: the refund reads succeeded, then fails.
                self._settle(unit, pi, refund, RefundStatus.FAILED, "expired_or_canceled_card")
            return response

        response = self._idempotent(
            account_id,
            idempotency_key,
            "refunds.create",
            {
                "payment_intent": payment_intent_id,
                "amount": amount_cents,
                "reason": reason,
                "refund_application_fee": True,
            },
            perform,
        )
        return _refund(response)

    def retrieve_refund(self, account_id: str, refund_id: str) -> Refund:
        with Session(db.engine) as session:
            refund = session.get(SandboxRefund, refund_id)
            # A direct charge's refund exists only for its own Stripe-Account.
            if refund is None or refund.account_id != account_id:
                raise PaymentError(f"No such refund: '{refund_id}'")
            pi = session.get(SandboxPaymentIntent, refund.payment_intent_id)
            assert pi is not None
            return _refund(objects.refund_object(refund, pi))

    @staticmethod
    def _fee_back(pi: SandboxPaymentIntent, amount: int) -> int:
        # Stripe keeps its processing fee on refunds; with refund_application_fee the
        # platform's fee comes back in proportion to the refunded amount.
        return pi.application_fee_amount * amount // pi.amount

    @staticmethod
    def _charge(session: Session, pi: SandboxPaymentIntent) -> dict[str, Any]:
        refunds = session.scalars(
            select(SandboxRefund)
            .where(SandboxRefund.payment_intent_id == pi.id)
            .order_by(SandboxRefund.created_at, SandboxRefund.id)
        ).all()
        charge = objects.charge_object(pi, refunds)
        assert charge is not None
        return charge

    def _settle(
        self,
        unit: _Unit,
        pi: SandboxPaymentIntent,
        refund: SandboxRefund,
        status: RefundStatus,
        failure_reason: str | None = None,
    ) -> None:
        """A refund reaches its outcome; a failed one gives the money back to the seller."""
        now = utcnow()
        refund.status = status.value
        refund.failure_reason = failure_reason
        refund.updated_at = now
        if status.is_unsuccessful:
            pi.amount_refunded -= refund.amount
            taken = unit.session.scalars(
                select(SandboxBalanceTransaction).where(
                    SandboxBalanceTransaction.source == refund.id,
                    SandboxBalanceTransaction.type == "refund",
                )
            ).first()
            unit.session.add(
                SandboxBalanceTransaction(
                    id=objects.new_id("txn"),
                    account_id=refund.account_id,
                    type="refund_failure",
                    source=refund.id,
                    amount=refund.amount,
                    net=refund.amount - self._fee_back(pi, refund.amount),
                    created_at=now,
                    # Back where it was taken from (pending funds stay pending).
                    available_on=max(now, taken.available_on) if taken else now,
                )
            )
        unit.session.flush()
        data = objects.refund_object(refund, pi)
        self._emit(unit, "refund.updated", data, account=refund.account_id)
        self._emit(unit, "charge.refund.updated", data, account=refund.account_id)
        if status is RefundStatus.FAILED:
            self._emit(unit, "refund.failed", data, account=refund.account_id)

    def settle_refund(
        self, refund_id: str, *, succeed: bool, failure_reason: str = REFUND_FAILURE_REASON
    ) -> dict[str, Any]:
        """Decide a pending refund (the sandbox dashboard's buttons, and tests)."""
        with self._unit() as unit:
            refund = unit.session.get(SandboxRefund, refund_id, with_for_update=True)
            if refund is None:
                raise NotFound("No such refund")
            if not RefundStatus(refund.status).is_open:
                raise PaymentError(f"This refund is already {refund.status}.")
            pi = unit.session.get(
                SandboxPaymentIntent, refund.payment_intent_id, with_for_update=True
            )
            assert pi is not None
            self._settle(
                unit,
                pi,
                refund,
                RefundStatus.SUCCEEDED if succeed else RefundStatus.FAILED,
                None if succeed else failure_reason,
            )
            return objects.refund_object(refund, pi)

    def refund_account(self, token: str, refund_id: str) -> None:
        """Check that a dashboard link may act on ``refund_id`` (its own account's)."""
        with Session(db.engine) as session:
            link = self._link(session, token, "login")
            refund = session.get(SandboxRefund, refund_id)
            if refund is None or refund.account_id != link.account_id:
                raise NotFound("No such refund")

    # --- events -----------------------------------------------------------------------
    def _secret_for(self, endpoint: WebhookEndpoint) -> str:
        if endpoint is WebhookEndpoint.CONNECT:
            return self._settings.stripe_connect_webhook_secret
        return self._settings.stripe_webhook_secret

    def parse_webhook(
        self, payload: bytes, signature_header: str | None, endpoint: WebhookEndpoint
    ) -> WebhookEvent:
        verify_signature(payload, signature_header, self._secret_for(endpoint))
        return event_from_payload(payload)

    def undelivered_events(
        self, *, since: datetime, types: Sequence[str], account_id: str | None = None
    ) -> Sequence[WebhookEvent]:
        # As Stripe lists them: a connected account's events only with its Stripe-Account.
        owner = (
            SandboxEvent.account_id.is_(None)
            if account_id is None
            else SandboxEvent.account_id == account_id
        )
        with Session(db.engine) as session:
            rows = session.scalars(
                select(SandboxEvent)
                .where(
                    SandboxEvent.delivered_at.is_(None),
                    SandboxEvent.created_at >= since,
                    SandboxEvent.type.in_(list(types)),
                    owner,
                )
                .order_by(SandboxEvent.created_at)
            ).all()
            return [event_from_mapping(row.payload) for row in rows]

    def deliver_event(self, event_id: str) -> bool:
        """Sign and hand one stored event to the webhook ingestion; record the outcome."""
        with Session(db.engine) as session:
            event = session.get(SandboxEvent, event_id)
            if event is None or event.delivered_at is not None:
                return False
            body = json.dumps(event.payload, separators=(",", ":")).encode()
            endpoint = WebhookEndpoint.CONNECT if event.account_id else WebhookEndpoint.PLATFORM
        # A fresh timestamp per attempt, like Stripe's retries.
        header = signature_header(body, self._secret_for(endpoint))
        error: str | None = None
        try:
            if self._receiver is None:
                raise RuntimeError("no webhook receiver is connected to the sandbox")
            self._receiver(endpoint, body, header)
        except Exception as exc:
            log.exception("sandbox could not deliver %s", event_id)
            error = f"{type(exc).__name__}: {exc}"
        with self._unit() as unit:
            stored = unit.session.get(SandboxEvent, event_id)
            assert stored is not None
            stored.delivery_attempts += 1
            stored.last_delivery_error = error
            if error is None:
                stored.delivered_at = utcnow()
        return error is None

    # --- sandbox-only: the pages a real provider would host ----------------------------
    def _link(self, session: Session, token: str, kind: str) -> SandboxLink:
        link = session.get(SandboxLink, token, with_for_update=True)
        if link is None or link.kind != kind:
            raise SandboxLinkInvalid("This link is not valid.")
        if link.used_at is not None or link.expires_at <= utcnow():
            raise SandboxLinkInvalid(
                "This link has expired or was already used.", refresh_url=link.refresh_url
            )
        return link

    def onboarding_page(self, token: str) -> dict[str, Any]:
        with Session(db.engine) as session:
            link = self._link(session, token, "account_onboarding")
            return objects.account_object(self._account(session, link.account_id))

    def complete_onboarding(self, token: str, outcome: str) -> tuple[ConnectedAccount, str]:
        """Finish (``complete``) or leave with ``requirements_due``; returns the return_url."""
        if outcome not in ("complete", "requirements_due"):
            raise PaymentError("outcome must be 'complete' or 'requirements_due'")
        with self._unit() as unit:
            link = self._link(unit.session, token, "account_onboarding")
            link.used_at = utcnow()
            account = self._account(unit.session, link.account_id)
            account.details_submitted = True
            if outcome == "complete":
                account.charges_enabled = account.payouts_enabled = True
                account.requirements_due = []
                account.disabled_reason = None
            else:
                account.charges_enabled = account.payouts_enabled = False
                account.requirements_due = list(REQUIREMENTS_DUE)
                account.disabled_reason = "requirements.past_due"
            self._emit(unit, "account.updated", objects.account_object(account), account=account.id)
            result = self._to_account(account)
            return_url = link.return_url or self._base_url
        return result, return_url

    def checkout_page(self, payment_intent_id: str, client_secret: str) -> dict[str, Any]:
        with Session(db.engine) as session:
            pi = self._by_secret(session, payment_intent_id, client_secret)
            return objects.payment_intent_object(pi)

    @staticmethod
    def _by_secret(session: Session, pi_id: str, client_secret: str) -> SandboxPaymentIntent:
        pi = session.get(SandboxPaymentIntent, pi_id, with_for_update=True)
        # The client secret is what Stripe.js presents to confirm; compare in constant time.
        if pi is None or not secrets.compare_digest(pi.client_secret, client_secret or ""):
            raise NotFound("No such payment_intent")
        return pi

    def confirm_payment(
        self, payment_intent_id: str, client_secret: str, card_number: str
    ) -> dict[str, Any]:
        """Confirm with a test card; raises :class:`CardDeclined` after recording a decline."""
        number = "".join(card_number.split())
        declined: tuple[str, str] | None = None
        with self._unit() as unit:
            pi = self._by_secret(unit.session, payment_intent_id, client_secret)
            if pi.status not in (
                CheckoutStatus.REQUIRES_PAYMENT_METHOD,
                CheckoutStatus.REQUIRES_CONFIRMATION,
            ):
                raise PaymentError(
                    f"You cannot confirm this PaymentIntent because it has a status of {pi.status}."
                )
            if number not in TEST_CARDS:
                raise PaymentError(
                    "Your card number is not a sandbox test card; use one of "
                    + ", ".join(TEST_CARDS)
                )
            account = self._account(unit.session, pi.account_id)
            now = utcnow()
            if number in _DECLINES:
                decline_code, message = _DECLINES[number]
                declined = (decline_code, message)
                pi.last_payment_error = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline_code,
                    "message": message,
                }
                pi.status = CheckoutStatus.REQUIRES_PAYMENT_METHOD.value
                self._emit(
                    unit,
                    "payment_intent.payment_failed",
                    objects.payment_intent_object(pi),
                    account=account.id,
                )
            else:
                self._succeed(unit, account, pi, number, now)
                if number == CARD_DISPUTE:
                    self._open_dispute(unit, account, pi, now)
            result = objects.payment_intent_object(pi)
        if declined is not None:
            raise CardDeclined(declined[1], decline_code=declined[0])
        return result

    def _succeed(
        self,
        unit: _Unit,
        account: SandboxAccount,
        pi: SandboxPaymentIntent,
        number: str,
        now: datetime,
    ) -> None:
        pi.status = CheckoutStatus.SUCCEEDED.value
        pi.last_payment_error = None
        pi.charge_id = objects.new_id("ch")
        pi.charge_created_at = now
        pi.card_last4 = number[-4:]
        pi.processing_fee = objects.card_processing_fee(pi.amount)
        pi.balance_transaction_id = objects.new_id("txn")
        # Direct charge: the seller's balance gets the amount minus the application fee,
        # and minus Stripe's fee when the account (not the platform) pays it.
        seller_fee = pi.processing_fee if account.fees_payer == "account" else 0
        unit.session.add(
            SandboxBalanceTransaction(
                id=pi.balance_transaction_id,
                account_id=account.id,
                type="charge",
                source=pi.charge_id,
                amount=pi.amount,
                fee=pi.application_fee_amount + seller_fee,
                net=pi.amount - pi.application_fee_amount - seller_fee,
                created_at=now,
                available_on=now + timedelta(days=account.payout_delay_days),
            )
        )
        self._emit(
            unit, "payment_intent.succeeded", objects.payment_intent_object(pi), account=account.id
        )

    def _open_dispute(
        self, unit: _Unit, account: SandboxAccount, pi: SandboxPaymentIntent, now: datetime
    ) -> None:
        pi.dispute_id = objects.new_id("dp")
        pi.dispute_status = "needs_response"
        pi.dispute_reason = "fraudulent"
        pi.dispute_created_at = now
        unit.session.add(
            SandboxBalanceTransaction(
                id=objects.new_id("txn"),
                account_id=account.id,
                type="adjustment",
                source=pi.dispute_id,
                amount=-pi.amount,
                fee=objects.DISPUTE_FEE_CENTS,
                net=-pi.amount - objects.DISPUTE_FEE_CENTS,
                created_at=now,
                available_on=now,
            )
        )
        self._emit(unit, "charge.dispute.created", objects.dispute_object(pi), account=account.id)
        self._emit(
            unit,
            "charge.dispute.funds_withdrawn",
            objects.dispute_object(pi, withdrawn=True),
            account=account.id,
        )

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """Decide a dispute, as submitting winning or losing evidence does in test mode."""
        with self._unit() as unit:
            pi = unit.session.scalars(
                select(SandboxPaymentIntent)
                .where(SandboxPaymentIntent.dispute_id == dispute_id)
                .with_for_update()
            ).first()
            if pi is None:
                raise NotFound("No such dispute")
            if pi.dispute_status in objects.TERMINAL_DISPUTE_STATUSES:
                raise PaymentError(f"This dispute is already closed ({pi.dispute_status}).")
            now = utcnow()
            pi.dispute_status = "won" if won else "lost"
            pi.dispute_closed_at = now
            self._emit(
                unit,
                "charge.dispute.closed",
                objects.dispute_object(pi, withdrawn=True, reinstated=won),
                account=pi.account_id,
            )
            if won:
                unit.session.add(
                    SandboxBalanceTransaction(
                        id=objects.new_id("txn"),
                        account_id=pi.account_id,
                        type="adjustment",
                        source=dispute_id,
                        amount=pi.amount,
                        net=pi.amount,
                        created_at=now,
                        available_on=now,
                    )
                )
                self._emit(
                    unit,
                    "charge.dispute.funds_reinstated",
                    objects.dispute_object(pi, withdrawn=True, reinstated=True),
                    account=pi.account_id,
                )
            return objects.dispute_object(pi, withdrawn=True, reinstated=won)

    def dashboard(self, token: str) -> DashboardView:
        with Session(db.engine) as session:
            link = self._link(session, token, "login")
            account = self._account(session, link.account_id)
            payments = session.scalars(
                select(SandboxPaymentIntent)
                .where(SandboxPaymentIntent.account_id == account.id)
                .order_by(SandboxPaymentIntent.created_at.desc())
                .limit(50)
            ).all()
            refunds: dict[str, list[dict[str, Any]]] = {}
            for pi in payments:
                charge = self._charge(session, pi) if pi.charge_id else None
                if charge is not None and charge["refunds"]["data"]:
                    refunds[pi.id] = charge["refunds"]["data"]
            return DashboardView(
                refunds=refunds,
                account=objects.account_object(account),
                balance=self._balance(session, account.id),
                payments=[objects.payment_intent_object(pi) for pi in payments],
                link_token=token,
                disputes={
                    pi.id: (pi.dispute_id, pi.dispute_status or "")
                    for pi in payments
                    if pi.dispute_id is not None
                },
            )

    def dispute_account(self, token: str, dispute_id: str) -> None:
        """Check that a dashboard link may act on ``dispute_id`` (its own account's)."""
        with Session(db.engine) as session:
            link = self._link(session, token, "login")
            owner = session.scalar(
                select(func.count())
                .select_from(SandboxPaymentIntent)
                .where(
                    SandboxPaymentIntent.dispute_id == dispute_id,
                    SandboxPaymentIntent.account_id == link.account_id,
                )
            )
            if not owner:
                raise NotFound("No such dispute")


def _refund(data: Mapping[str, Any]) -> Refund:
    failure = data.get("failure_reason")
    return Refund(
        refund_id=str(data["id"]),
        status=RefundStatus.from_provider(str(data["status"])),
        amount_cents=int(data["amount"]),
        payment_intent_id=str(data["payment_intent"]),
        failure_reason=failure if isinstance(failure, str) else None,
    )


def event_from_payload(payload: bytes) -> WebhookEvent:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidWebhookSignature("payload is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidWebhookSignature("payload is not an event object")
    return event_from_mapping(data)


def event_from_mapping(data: Mapping[str, Any]) -> WebhookEvent:
    """A verified Stripe event object → :class:`WebhookEvent` (shape errors are refused)."""
    try:
        event_id = data["id"]
        event_type = data["type"]
        data_object = data["data"]["object"]
    except (KeyError, TypeError):
        raise InvalidWebhookSignature("payload is not a Stripe event") from None
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise InvalidWebhookSignature("payload is not a Stripe event")
    if not isinstance(data_object, dict):
        raise InvalidWebhookSignature("event data.object is not an object")
    account = data.get("account")
    created = data.get("created")
    return WebhookEvent(
        event_id=event_id,
        type=event_type,
        account=account if isinstance(account, str) else None,
        livemode=bool(data.get("livemode", False)),
        created=created if isinstance(created, int) else 0,
        data_object=data_object,
        payload=dict(data),
    )


@job("sandbox.deliver_event")
def deliver_event(event_id: str) -> None:
    from stubcollector.container import container  # the running app's gateway

    gateway = container().payments
    if isinstance(gateway, SandboxGateway):
        gateway.deliver_event(event_id)
