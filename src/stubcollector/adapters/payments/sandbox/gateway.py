"""The sandbox's :class:`PaymentGateway`: Stripe's behaviour and shapes, no keys, no network.

This is the class the app uses (``adapters.payments.build_payment_gateway`` builds it): the
port's methods for sellers' accounts, checkouts and refunds, and for reading webhooks. The
package around it plays the provider's other parts:

* ``store.py``: the sandbox's own books (it commits in its own sessions, never in the
  caller's transaction) and the rules the port and the hosted pages share;
* ``events.py``: the events each change emits, their signed delivery to our webhook
  ingestion by the job ``sandbox.deliver_event``, and their parsing;
* ``hosted.py`` and ``pages.py``: the pages Stripe would host (onboarding, checkout,
  dashboard) — the gateway only hands out their URLs;
* ``models.py``, ``objects.py``, ``cards.py``, ``signing.py``: the tables, their
  Stripe-shaped JSON, the test cards and Stripe's signature scheme.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stubcollector.adapters.jobs import JobQueue
from stubcollector.adapters.payments import WebhookReceiver, stripe_objects
from stubcollector.adapters.payments.ports import (
    Balance,
    ChargeCosts,
    Checkout,
    CheckoutRequest,
    CheckoutStatus,
    ConnectedAccount,
    DisputeCosts,
    DisputeFacts,
    EvidenceFile,
    OnboardingLink,
    PaymentError,
    PaymentState,
    Refund,
    WebhookEndpoint,
    WebhookEndpointSetup,
    WebhookEvent,
)
from stubcollector.adapters.payments.sandbox import objects
from stubcollector.adapters.payments.sandbox.cards import CARD_REFUND_FAILS, CARD_REFUND_PENDING
from stubcollector.adapters.payments.sandbox.events import SandboxEvents
from stubcollector.adapters.payments.sandbox.hosted import SandboxHostedPages
from stubcollector.adapters.payments.sandbox.models import (
    SandboxAccount,
    SandboxBalanceTransaction,
    SandboxFile,
    SandboxLink,
    SandboxPaymentIntent,
    SandboxRefund,
)
from stubcollector.adapters.payments.sandbox.store import (
    SandboxStore,
    SandboxUnit,
    application_fee_back,
    application_fee_of,
    balance_of,
    book_dispute_fee,
    charge_with_refunds,
    connected_account,
    dispute_with_transactions,
    get_account,
    locked_payment_intent,
    move_application_fee,
    platform_transactions,
    settle_refund,
)
from stubcollector.config import PAYOUT_HOLD_MIN_DAYS, Settings
from stubcollector.domain.statuses import RefundStatus
from stubcollector.models.base import utcnow

ACCOUNT_LINK_LIFETIME = timedelta(seconds=300)
LOGIN_LINK_LIFETIME = timedelta(hours=1)
# docs.stripe.com/file-upload: dispute evidence is a PDF, JPEG or PNG of at most 5 MB.
EVIDENCE_FILE_MAX_BYTES = 5 * 1024 * 1024
_FILE_SIGNATURES = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))
# Dispute statuses in which evidence may still be given.
ANSWERABLE_DISPUTE_STATUSES = frozenset({"needs_response", "warning_needs_response"})
UNDER_REVIEW = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}


class SandboxGateway:
    """:class:`~stubcollector.adapters.payments.ports.PaymentGateway` without Stripe.

    ``events`` is its webhook side and ``hosted_pages`` the operations of its hosted pages;
    both share the gateway's store.
    """

    name = "sandbox"
    publishable_key: str | None = "pk_test_sandbox"
    livemode = False  # a test-mode provider, whatever the configuration
    api_version: str = objects.API_VERSION

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobQueue,
        receiver: WebhookReceiver | None = None,
        subscribed_events: Collection[str] | None = None,
        base_url: Callable[[], str] | None = None,
    ) -> None:
        self._settings = settings
        # Asked at each link, since without PUBLIC_BASE_URL the address follows the request
        # (the app passes web.public_url.public_base_url).
        self._base_url = base_url or (lambda: settings.public_base_url or settings.local_base_url)
        self.events = SandboxEvents(
            settings, jobs=jobs, receiver=receiver, subscribed_events=subscribed_events
        )
        self._store = SandboxStore(self.events)
        self.hosted_pages = SandboxHostedPages(self._store, base_url=self._base_url)

    def connect_receiver(self, receiver: WebhookReceiver) -> None:
        self.events.connect_receiver(receiver)

    # --- sellers ----------------------------------------------------------------------
    def create_seller_account(
        self, *, user_id: int, email: str, idempotency_key: str | None = None
    ) -> ConnectedAccount:
        liability = self._settings.stripe_account_liability

        def perform(unit: SandboxUnit) -> dict[str, Any]:
            account = SandboxAccount(
                id=objects.new_id("acct", 16),
                email=email,
                # Stripe's controller, as controller_for sends it (stripe_gateway.py): the seller
                # pays Stripe's fee under Stripe liability.
                fees_payer="account" if liability == "stripe" else "application",
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

        response = self._store.idempotent(
            "platform",
            idempotency_key or f"user:{user_id}:account",
            "accounts.create",
            {"email": email, "liability": liability},
            perform,
        )
        return self.retrieve_account(str(response["id"]))

    def onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        now = utcnow()
        with self._store.unit() as unit:
            get_account(unit.session, account_id)
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
            url=f"{self._base_url()}/sandbox/onboarding/{link.token}", expires_at=link.expires_at
        )

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        with self._store.reading() as session:
            return connected_account(get_account(session, account_id))

    def dashboard_link(self, account_id: str) -> str:
        now = utcnow()
        with self._store.unit() as unit:
            account = get_account(unit.session, account_id)
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
        return f"{self._base_url()}/sandbox/dashboard/{token}"

    def balance(self, account_id: str) -> Balance:
        with self._store.reading() as session:
            get_account(session, account_id)
            return balance_of(session, account_id)

    def set_payout_delay(
        self, account_id: str, *, days: int, idempotency_key: str | None = None
    ) -> None:
        """As Stripe: ``delay_days`` only on accounts whose losses the platform carries
        (docs.stripe.com/connect/manage-payout-schedule: "You can edit this property on
        accounts where you own fraud and dispute liability"), and never below the
        country's minimum. The wording of both refusals is the sandbox's own: Stripe's
        is not documented."""

        def perform(unit: SandboxUnit) -> dict[str, Any]:
            account = get_account(unit.session, account_id)
            if account.losses_payer != "application":
                raise PaymentError(
                    "You cannot set settings[payouts][schedule][delay_days] on this account: "
                    "Stripe is liable for its losses and manages its payout schedule.",
                    code="sandbox_delay_days_not_editable",
                    provider_message="Stripe manages the payout schedule of accounts it "
                    "carries the losses of, so the platform cannot set delay_days.",
                )
            if days < PAYOUT_HOLD_MIN_DAYS:
                raise PaymentError(
                    f"delay_days cannot be less than the account's minimum of "
                    f"{PAYOUT_HOLD_MIN_DAYS} days.",
                    code="sandbox_delay_days_below_minimum",
                )
            account.payout_delay_days = days
            account.payout_interval = "daily"
            response = objects.account_object(account)
            unit.emit("account.updated", response, account=account_id)
            return response

        self._store.idempotent(
            "platform",
            idempotency_key or f"account:{account_id}:payout_schedule:{days}",
            "accounts.update",
            {"account": account_id, "delay_days": days, "interval": "daily"},
            perform,
        )

    # --- checkout ---------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        params = {
            "amount": request.amount_cents,
            "application_fee_amount": request.application_fee_cents,
            "currency": request.currency,
            "description": request.description,
            "metadata": dict(request.metadata),
        }

        def perform(unit: SandboxUnit) -> dict[str, Any]:
            account = get_account(unit.session, request.account_id)
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
            unit.emit(
                "payment_intent.created",
                response,
                account=account.id,
                idempotency_key=request.idempotency_key,
            )
            return response

        response = self._store.idempotent(
            request.account_id, request.idempotency_key, "payment_intents.create", params, perform
        )
        return Checkout(
            payment_intent_id=str(response["id"]),
            client_secret=str(response["client_secret"]),
            status=CheckoutStatus(response["status"]),
            account_id=request.account_id,
            amount_cents=int(response["amount"]),
            application_fee_cents=int(response["application_fee_amount"] or 0),
            sandbox_checkout_url=(
                f"{self._base_url()}/sandbox/checkout/{response['id']}"
                f"?client_secret={response['client_secret']}"
            ),
        )

    def cancel_checkout(
        self, account_id: str, payment_intent_id: str, *, idempotency_key: str
    ) -> None:
        def perform(unit: SandboxUnit) -> dict[str, Any]:
            pi = locked_payment_intent(unit.session, account_id, payment_intent_id)
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
            unit.emit("payment_intent.canceled", response, account=account_id)
            return response

        self._store.idempotent(
            account_id,
            idempotency_key,
            "payment_intents.cancel",
            {"id": payment_intent_id},
            perform,
        )

    def retrieve_payment(self, account_id: str, payment_intent_id: str) -> PaymentState:
        with self._store.reading() as session:
            get_account(session, account_id)
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
                # As the Stripe gateway reads it: the seller's side of the charge's fees.
                processing_fee_cents=stripe_objects.payment_facts(
                    objects.payment_intent_object(
                        pi,
                        latest_charge=charge_with_refunds(
                            session, pi, expand_balance_transaction=True
                        )
                        if pi.charge_id
                        else None,
                    )
                ).processing_fee_cents,
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
        def perform(unit: SandboxUnit) -> dict[str, Any]:
            pi = locked_payment_intent(unit.session, account_id, payment_intent_id)
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
            move_application_fee(unit.session, pi, application_fee_back(pi, amount))
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
                    net=-(amount - application_fee_back(pi, amount)),
                    created_at=now,
                    # Taken back from the charge's funds: pending ones if not yet available.
                    available_on=max(now, charge_txn.available_on) if charge_txn else now,
                )
            )
            unit.session.flush()
            response = objects.refund_object(refund, pi)
            unit.emit("refund.created", response, account=account_id)
            unit.emit("charge.refunded", charge_with_refunds(unit.session, pi), account=account_id)
            if pi.card_last4 == CARD_REFUND_FAILS[-4:]:
                # Stripe's refund_fail card: the refund reads succeeded, then fails.
                settle_refund(unit, pi, refund, RefundStatus.FAILED, "expired_or_canceled_card")
            return response

        response = self._store.idempotent(
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
        return _refund_from_object(response)

    def retrieve_refund(self, account_id: str, refund_id: str) -> Refund:
        with self._store.reading() as session:
            get_account(session, account_id)
            refund = session.get(SandboxRefund, refund_id)
            # A direct charge's refund exists only for its own Stripe-Account.
            if refund is None or refund.account_id != account_id:
                raise PaymentError(f"No such refund: '{refund_id}'")
            pi = session.get(SandboxPaymentIntent, refund.payment_intent_id)
            assert pi is not None
            return _refund_from_object(objects.refund_object(refund, pi))

    # --- what the platform paid ------------------------------------------------------
    def charge_costs(self, account_id: str, payment_intent_id: str) -> ChargeCosts:
        # What the Stripe gateway reads, built from the sandbox's books and read by the same
        # function: the PaymentIntent with its charge's balance transaction expanded, and
        # the platform's balance transactions of the charge and of our application fee.
        with self._store.reading() as session:
            pi = session.get(SandboxPaymentIntent, payment_intent_id)
            if pi is None or pi.account_id != account_id:
                raise PaymentError(f"No such payment_intent: '{payment_intent_id}'")
            charge = (
                charge_with_refunds(session, pi, expand_balance_transaction=True)
                if pi.charge_id
                else None
            )
            fee = application_fee_of(session, pi)
            platform = platform_transactions(
                session, [pi.charge_id, None if fee is None else fee.id]
            )
            document = objects.payment_intent_object(pi, latest_charge=charge)
        return stripe_objects.charge_costs(document, platform)

    def dispute_costs(self, account_id: str, dispute_id: str) -> DisputeCosts:
        with self._store.reading() as session:
            pi = _disputed_payment(session, account_id, dispute_id)
            document = dispute_with_transactions(session, pi)
            platform = platform_transactions(session, [dispute_id])
        return stripe_objects.dispute_costs(document, platform)

    # --- answering disputes -----------------------------------------------------------
    def upload_dispute_evidence(
        self, account_id: str, *, filename: str, content: bytes, idempotency_key: str
    ) -> EvidenceFile:
        kind = next((k for magic, k in _FILE_SIGNATURES if content.startswith(magic)), None)

        def perform(unit: SandboxUnit) -> dict[str, Any]:
            get_account(unit.session, account_id)
            # Stripe's own wording for these refusals is not known; the rules are its.
            if kind is None:
                raise PaymentError("Dispute evidence must be a PDF, JPEG or PNG file.")
            if len(content) > EVIDENCE_FILE_MAX_BYTES:
                raise PaymentError("Dispute evidence files must be at most 5 MB.")
            file = SandboxFile(
                id=objects.new_id("file"),
                account_id=account_id,
                purpose="dispute_evidence",
                filename=filename,
                size=len(content),
                type=kind,
            )
            unit.session.add(file)
            unit.session.flush()
            return objects.file_object(file)

        response = self._store.idempotent(
            account_id,
            idempotency_key,
            "files.create",
            {
                "purpose": "dispute_evidence",
                "filename": filename,
                "sha256": hashlib.sha256(content).hexdigest(),
            },
            perform,
        )
        return EvidenceFile(
            file_id=str(response["id"]),
            filename=str(response["filename"]),
            size=int(response["size"]),
            type=str(response["type"]),
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
        def perform(unit: SandboxUnit) -> dict[str, Any]:
            pi = _disputed_payment(unit.session, account_id, dispute_id, lock=True)
            account = get_account(unit.session, account_id)
            if pi.dispute_status not in ANSWERABLE_DISPUTE_STATUSES:
                raise PaymentError(
                    f"This dispute is {pi.dispute_status}: its evidence can no longer be "
                    "changed or submitted."
                )
            known = set(objects.EVIDENCE_TEXT_FIELDS) | set(objects.EVIDENCE_FILE_FIELDS)
            for name in evidence:
                if name not in known:
                    raise PaymentError(f"Received unknown parameter: evidence[{name}]")
            for name in objects.EVIDENCE_FILE_FIELDS:
                file_id = evidence.get(name)
                if file_id:
                    file = unit.session.get(SandboxFile, file_id)
                    if file is None or file.account_id != account_id:
                        raise PaymentError(f"No such file upload: '{file_id}'")
                    if file.purpose != "dispute_evidence":
                        raise PaymentError(
                            f"The file {file_id} was not uploaded as dispute evidence."
                        )
            merged = {**(pi.dispute_evidence or {}), **evidence}
            merged = {name: value for name, value in merged.items() if value}
            if sum(len(value) for value in merged.values()) > objects.EVIDENCE_MAX_CHARACTERS:
                raise PaymentError(
                    "The combined character count of all evidence fields is limited to 150,000."
                )
            pi.dispute_evidence = merged
            if submit:
                pi.dispute_submission_count += 1
                pi.dispute_status = UNDER_REVIEW[str(pi.dispute_status)]
                if pi.dispute_status == "under_review":
                    # Countering a chargeback costs a second fee, given back if it is won.
                    book_dispute_fee(
                        unit.session,
                        account,
                        pi,
                        objects.COUNTERED_FEE_CENTS,
                        "Dispute countered fee",
                    )
            unit.session.flush()
            dispute = dispute_with_transactions(unit.session, pi)
            unit.emit("charge.dispute.updated", dispute, account=account_id)
            return dispute

        response = self._store.idempotent(
            account_id,
            idempotency_key,
            "disputes.update",
            {"dispute": dispute_id, "evidence": dict(evidence), "submit": submit},
            perform,
        )
        return stripe_objects.dispute_facts(response)

    # --- webhooks ---------------------------------------------------------------------
    def parse_webhook(
        self, payload: bytes, signature_header: str | None, endpoint: WebhookEndpoint
    ) -> WebhookEvent:
        return self.events.parse(payload, signature_header, endpoint)

    def undelivered_events(
        self, *, since: datetime, types: Sequence[str], account_id: str | None = None
    ) -> Sequence[WebhookEvent]:
        return self.events.undelivered(since=since, types=types, account_id=account_id)

    # --- webhook endpoints --------------------------------------------------------------
    # The sandbox delivers its events itself, signed with the configured secrets: there is
    # no endpoint to create, and pretending to would print secrets nobody signs with.
    def webhook_endpoints(self) -> Sequence[WebhookEndpointSetup]:
        raise PaymentError(_NO_ENDPOINTS)

    def create_webhook_endpoint(
        self,
        *,
        url: str,  # noqa: ARG002 - the port's signature
        events: Sequence[str],  # noqa: ARG002
        connect: bool,  # noqa: ARG002
        description: str,  # noqa: ARG002
    ) -> WebhookEndpointSetup:
        raise PaymentError(_NO_ENDPOINTS)

    def update_webhook_endpoint(
        self,
        endpoint_id: str,  # noqa: ARG002 - the port's signature
        *,
        events: Sequence[str],  # noqa: ARG002
    ) -> WebhookEndpointSetup:
        raise PaymentError(_NO_ENDPOINTS)


_NO_ENDPOINTS = (
    "The payment sandbox has no webhook endpoints: it delivers its events itself. Set "
    "PAYMENTS_BACKEND=stripe and STRIPE_SECRET_KEY to create Stripe's."
)


def _refund_from_object(data: Mapping[str, Any]) -> Refund:
    failure = data.get("failure_reason")
    return Refund(
        refund_id=str(data["id"]),
        status=RefundStatus.from_provider(str(data["status"])),
        amount_cents=int(data["amount"]),
        payment_intent_id=str(data["payment_intent"]),
        failure_reason=failure if isinstance(failure, str) else None,
    )


def _disputed_payment(
    session: Session, account_id: str, dispute_id: str, *, lock: bool = False
) -> SandboxPaymentIntent:
    statement = select(SandboxPaymentIntent).where(SandboxPaymentIntent.dispute_id == dispute_id)
    if lock:
        statement = statement.with_for_update()
    pi = session.scalars(statement).first()
    # A direct charge's dispute exists only for its own Stripe-Account.
    if pi is None or pi.account_id != account_id:
        raise PaymentError(f"No such dispute: '{dispute_id}'")
    return pi
