"""What the sandbox does behind the pages a real provider would host.

Stripe hosts the seller's onboarding, the buyer's payment form and the seller's dashboard;
the sandbox serves look-alikes (``pages.py``) and this module is what they do: read and
complete an onboarding link, show and confirm a checkout with a test card (``cards.py``),
show the dashboard behind a login link, and decide the disputes and pending refunds listed
there, as Stripe's test mode lets one do. Tests call these operations directly to move a
payment along.

A link token or a client secret is the credential here, as in Stripe's URLs. Every change
is one unit of sandbox work (``store.py``) that emits the events Stripe would send.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import (
    Balance,
    CardDeclined,
    CheckoutStatus,
    ConnectedAccount,
    PaymentError,
)
from stubcollector.adapters.payments.sandbox import objects
from stubcollector.adapters.payments.sandbox.cards import CARD_DISPUTE, DECLINES, TEST_CARDS
from stubcollector.adapters.payments.sandbox.models import (
    SandboxAccount,
    SandboxApplicationFee,
    SandboxLink,
    SandboxPaymentIntent,
    SandboxPayout,
    SandboxRefund,
)
from stubcollector.adapters.payments.sandbox.store import (
    SandboxStore,
    SandboxUnit,
    add_transaction,
    balance_of,
    book_dispute_fee,
    charge_with_refunds,
    connected_account,
    dispute_fee_payer_is_platform,
    dispute_with_transactions,
    get_account,
    settle_refund,
)
from stubcollector.domain.errors import NotFound
from stubcollector.domain.statuses import RefundStatus
from stubcollector.models.base import utcnow

REFUND_FAILURE_REASON = "lost_or_stolen_card"  # a pending refund failed on the dashboard
# What an account leaves onboarding with when the seller stops before the end.
REQUIREMENTS_DUE = ("external_account", "individual.verification.document")
# A payout the bank sends back (Stripe's failure_code and its message for it).
PAYOUT_FAILURE = ("account_closed", "The bank account has been closed.")
# A standard US payout reaches the bank about two business days after it is made.
PAYOUT_TRANSIT = timedelta(days=2)
# What Stripe asks for when it restricts card payments on an account (a test of its own).
RESTRICTION_DUE = ("individual.verification.document",)


class SandboxLinkInvalid(PaymentError):
    """The account or login link is unknown, already used or expired."""

    def __init__(self, message: str, *, refresh_url: str | None = None) -> None:
        super().__init__(message)
        self.refresh_url = refresh_url


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
    # PaymentIntent id → its charge (Stripe-shaped)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    # PaymentIntent id → its dispute (Stripe-shaped, with its evidence)
    dispute_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The account's payouts (Stripe-shaped), newest first
    payouts: list[dict[str, Any]] = field(default_factory=list)
    deauthorized: bool = False


class SandboxHostedPages:
    """The operations of the sandbox's hosted pages, over the gateway's own store."""

    def __init__(self, store: SandboxStore, *, base_url: Callable[[], str]) -> None:
        self._store = store
        self._base_url = base_url

    # --- onboarding -------------------------------------------------------------------
    def onboarding_page(self, token: str) -> dict[str, Any]:
        with self._store.reading() as session:
            link = _usable_link(session, token, "account_onboarding")
            return objects.account_object(get_account(session, link.account_id))

    def complete_onboarding(self, token: str, outcome: str) -> tuple[ConnectedAccount, str]:
        """Finish (``complete``) or leave with ``requirements_due``; returns the return_url."""
        if outcome not in ("complete", "requirements_due"):
            raise PaymentError("outcome must be 'complete' or 'requirements_due'")
        with self._store.unit() as unit:
            link = _usable_link(unit.session, token, "account_onboarding")
            link.used_at = utcnow()
            account = get_account(unit.session, link.account_id)
            capability_before = objects.capability_status(account)
            account.details_submitted = True
            if outcome == "complete":
                account.charges_enabled = account.payouts_enabled = True
                account.requirements_due = []
                account.disabled_reason = None
            else:
                account.charges_enabled = account.payouts_enabled = False
                account.requirements_due = list(REQUIREMENTS_DUE)
                account.disabled_reason = "requirements.past_due"
            unit.emit("account.updated", objects.account_object(account), account=account.id)
            _emit_capabilities(unit, account, capability_before)
            result = connected_account(account)
            return_url = link.return_url or self._base_url()
        return result, return_url

    # --- checkout ---------------------------------------------------------------------
    def checkout_page(self, payment_intent_id: str, client_secret: str) -> dict[str, Any]:
        with self._store.reading() as session:
            pi = _by_client_secret(session, payment_intent_id, client_secret)
            return objects.payment_intent_object(pi)

    def confirm_payment(
        self, payment_intent_id: str, client_secret: str, card_number: str
    ) -> dict[str, Any]:
        """Confirm with a test card; raises :class:`CardDeclined` after recording a decline."""
        number = "".join(card_number.split())
        declined: tuple[str, str] | None = None
        with self._store.unit() as unit:
            pi = _by_client_secret(unit.session, payment_intent_id, client_secret)
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
            account = get_account(unit.session, pi.account_id)
            now = utcnow()
            if number in DECLINES:
                decline_code, message = DECLINES[number]
                declined = (decline_code, message)
                pi.last_payment_error = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline_code,
                    "message": message,
                }
                pi.status = CheckoutStatus.REQUIRES_PAYMENT_METHOD.value
                unit.emit(
                    "payment_intent.payment_failed",
                    objects.payment_intent_object(pi),
                    account=account.id,
                )
            else:
                _charge_card(unit, account, pi, number, now)
                if number == CARD_DISPUTE:
                    _open_dispute(unit, account, pi, now)
            result = objects.payment_intent_object(pi)
        if declined is not None:
            raise CardDeclined(declined[1], decline_code=declined[0])
        return result

    # --- dashboard --------------------------------------------------------------------
    def dashboard(self, token: str) -> DashboardView:
        with self._store.reading() as session:
            link = _usable_link(session, token, "login")
            # The seller's own dashboard still opens after they disconnected the platform.
            account = get_account(session, link.account_id, as_platform=False)
            payouts = session.scalars(
                select(SandboxPayout)
                .where(SandboxPayout.account_id == account.id)
                .order_by(SandboxPayout.created_at.desc(), SandboxPayout.id)
                .limit(20)
            ).all()
            payments = session.scalars(
                select(SandboxPaymentIntent)
                .where(SandboxPaymentIntent.account_id == account.id)
                .order_by(SandboxPaymentIntent.created_at.desc())
                .limit(50)
            ).all()
            refunds: dict[str, list[dict[str, Any]]] = {}
            charges: dict[str, dict[str, Any]] = {}
            for pi in payments:
                charge = charge_with_refunds(session, pi) if pi.charge_id else None
                if charge is not None:
                    charges[pi.id] = charge
                    if charge["refunds"]["data"]:
                        refunds[pi.id] = charge["refunds"]["data"]
            return DashboardView(
                payouts=[objects.payout_object(payout) for payout in payouts],
                deauthorized=account.deauthorized_at is not None,
                refunds=refunds,
                charges=charges,
                dispute_objects={
                    pi.id: dispute_with_transactions(session, pi)
                    for pi in payments
                    if pi.dispute_id is not None
                },
                account=objects.account_object(account),
                balance=balance_of(session, account.id),
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
        with self._store.reading() as session:
            link = _usable_link(session, token, "login")
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

    def dashboard_dispute_id(self, account_id: str, payment_intent_id: str) -> str | None:
        """The dispute of a PaymentIntent, as the dashboard lists it (tests look it up)."""
        with self._store.reading() as session:
            pi = session.get(SandboxPaymentIntent, payment_intent_id)
            if pi is None or pi.account_id != account_id:
                raise NotFound("No such payment_intent")
            return pi.dispute_id

    def close_dispute(self, dispute_id: str, *, won: bool) -> dict[str, Any]:
        """Decide a dispute, as the bank does after the evidence (or without it): in Stripe's
        test mode the evidence text decides; here the dashboard's buttons (and tests) do.

        Won: the disputed amount goes back to the seller, and a countered dispute's
        countered fee back to whoever paid it (the received fee is never returned).
        """
        with self._store.unit() as unit:
            pi = unit.session.scalars(
                select(SandboxPaymentIntent)
                .where(SandboxPaymentIntent.dispute_id == dispute_id)
                .with_for_update()
            ).first()
            if pi is None:
                raise NotFound("No such dispute")
            if pi.dispute_status in objects.TERMINAL_DISPUTE_STATUSES:
                raise PaymentError(f"This dispute is already closed ({pi.dispute_status}).")
            account = get_account(unit.session, pi.account_id)
            now = utcnow()
            pi.dispute_status = "won" if won else "lost"
            pi.dispute_closed_at = now
            if won:
                add_transaction(
                    unit.session,
                    account_id=pi.account_id,
                    type="adjustment",
                    source=dispute_id,
                    amount=pi.amount,
                    description="Chargeback reversal",
                )
                if pi.dispute_submission_count:
                    book_dispute_fee(
                        unit.session,
                        account,
                        pi,
                        -objects.COUNTERED_FEE_CENTS,
                        "Dispute countered fee returned",
                    )
            unit.session.flush()
            closed = dispute_with_transactions(unit.session, pi)
            unit.emit("charge.dispute.closed", closed, account=pi.account_id)
            if won:
                unit.emit("charge.dispute.funds_reinstated", closed, account=pi.account_id)
            return closed

    def refund_account(self, token: str, refund_id: str) -> None:
        """Check that a dashboard link may act on ``refund_id`` (its own account's)."""
        with self._store.reading() as session:
            link = _usable_link(session, token, "login")
            refund = session.get(SandboxRefund, refund_id)
            if refund is None or refund.account_id != link.account_id:
                raise NotFound("No such refund")

    def settle_refund(
        self, refund_id: str, *, succeed: bool, failure_reason: str = REFUND_FAILURE_REASON
    ) -> dict[str, Any]:
        """Decide a pending refund (the sandbox dashboard's buttons, and tests)."""
        with self._store.unit() as unit:
            refund = unit.session.get(SandboxRefund, refund_id, with_for_update=True)
            if refund is None:
                raise NotFound("No such refund")
            if not RefundStatus(refund.status).is_open:
                raise PaymentError(f"This refund is already {refund.status}.")
            pi = unit.session.get(
                SandboxPaymentIntent, refund.payment_intent_id, with_for_update=True
            )
            assert pi is not None
            settle_refund(
                unit,
                pi,
                refund,
                RefundStatus.SUCCEEDED if succeed else RefundStatus.FAILED,
                None if succeed else failure_reason,
            )
            return objects.refund_object(refund, pi)

    # --- the seller's account: payouts, restrictions, leaving the platform -------------
    def dashboard_account(self, token: str) -> str:
        """The account a dashboard link belongs to (its own seller acts on it)."""
        with self._store.reading() as session:
            return _usable_link(session, token, "login").account_id

    def pay_out(self, account_id: str) -> dict[str, Any]:
        """Pay the account's available balance out to its bank, as Stripe's daily
        automatic payout does: a payout ``in_transit`` (``payout.created``)."""
        with self._store.unit() as unit:
            account = get_account(unit.session, account_id, as_platform=False)
            if not account.payouts_enabled:
                raise PaymentError("Payouts are not enabled on this account.")
            available = balance_of(unit.session, account.id).available_cents
            if available <= 0:
                raise PaymentError("There is no available balance to pay out.")
            now = utcnow()
            payout_id = objects.new_id("po")
            transaction = add_transaction(
                unit.session, account_id=account.id, type="payout", source=payout_id,
                amount=-available, available_on=now,
            )  # fmt: skip
            payout = SandboxPayout(
                id=payout_id,
                account_id=account.id,
                amount=available,
                status="in_transit",
                arrival_date=now + PAYOUT_TRANSIT,
                balance_transaction_id=transaction.id,
                created_at=now,
            )
            unit.session.add(payout)
            unit.session.flush()
            data = objects.payout_object(payout)
            unit.emit("payout.created", data, account=account.id)
            return data

    def settle_payout(self, account_id: str, payout_id: str, *, paid: bool) -> dict[str, Any]:
        """The bank's answer: an ``in_transit`` payout arrives (``payout.paid``) or fails;
        a ``paid`` one can still fail later, as Stripe warns (``payout.failed``). A failed
        payout's money returns to the available balance."""
        with self._store.unit() as unit:
            payout = unit.session.get(SandboxPayout, payout_id, with_for_update=True)
            if payout is None or payout.account_id != account_id:
                raise NotFound("No such payout")
            allowed = ("in_transit",) if paid else ("in_transit", "paid")
            if payout.status not in allowed:
                raise PaymentError(f"This payout is already {payout.status}.")
            if paid:
                payout.status = "paid"
            else:
                payout.status = "failed"
                payout.failure_code, payout.failure_message = PAYOUT_FAILURE
                payout.failure_balance_transaction_id = add_transaction(
                    unit.session, account_id=account_id, type="payout_failure",
                    source=payout.id, amount=payout.amount,
                ).id  # fmt: skip
            unit.session.flush()
            data = objects.payout_object(payout)
            unit.emit(f"payout.{payout.status}", data, account=account_id)
            return data

    def restrict_card_payments(self, account_id: str, *, restricted: bool) -> dict[str, Any]:
        """Stripe restricts (or restores) the account's ``card_payments``: it sends
        ``account.updated`` and ``capability.updated`` for each capability that changed."""
        with self._store.unit() as unit:
            account = get_account(unit.session, account_id, as_platform=False)
            before = objects.capability_status(account)
            account.charges_enabled = not restricted
            account.requirements_due = list(RESTRICTION_DUE) if restricted else []
            account.disabled_reason = "requirements.past_due" if restricted else None
            unit.emit("account.updated", objects.account_object(account), account=account.id)
            _emit_capabilities(unit, account, before)
            return objects.account_object(account)

    def deauthorize(self, account_id: str) -> dict[str, Any]:
        """The seller disconnects the platform from their account: the platform's key no
        longer reaches it, and Stripe sends ``account.application.deauthorized`` (whose
        object is the platform's Application; the account is the event's ``account``)."""
        with self._store.unit() as unit:
            account = get_account(unit.session, account_id, as_platform=False)
            if account.deauthorized_at is not None:
                raise PaymentError("Stub Collector is already disconnected from this account.")
            account.deauthorized_at = utcnow()
            data = objects.application_object()
            unit.emit("account.application.deauthorized", data, account=account.id)
            return data


def _emit_capabilities(unit: SandboxUnit, account: SandboxAccount, before: str) -> None:
    if objects.capability_status(account) != before:
        for name in objects.CAPABILITIES:
            unit.emit(
                "capability.updated", objects.capability_object(account, name), account=account.id
            )


def _usable_link(session: Session, token: str, kind: str) -> SandboxLink:
    link = session.get(SandboxLink, token, with_for_update=True)
    if link is None or link.kind != kind:
        raise SandboxLinkInvalid("This link is not valid.")
    if link.used_at is not None or link.expires_at <= utcnow():
        raise SandboxLinkInvalid(
            "This link has expired or was already used.", refresh_url=link.refresh_url
        )
    return link


def _by_client_secret(session: Session, pi_id: str, client_secret: str) -> SandboxPaymentIntent:
    pi = session.get(SandboxPaymentIntent, pi_id, with_for_update=True)
    # The client secret is what Stripe.js presents to confirm; compare in constant time.
    if pi is None or not secrets.compare_digest(pi.client_secret, client_secret or ""):
        raise NotFound("No such payment_intent")
    return pi


def _charge_card(
    unit: SandboxUnit,
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
    # Direct charge: the seller's balance gets the amount minus the application fee, and
    # minus Stripe's fee when the account pays it (controller.fees.payer=account). When the
    # platform pays (fees.payer=application), Stripe debits the platform's balance instead
    # ("Stripe fees are automatically debited from your Stripe balance"); that it does so
    # with a balance transaction per charge whose source is the charge is the sandbox's
    # reading of research-16 §1.3 (UNCONFIRMED; docs/STRIPE.md).
    seller_pays = account.fees_payer == "account"
    seller_fee = pi.processing_fee if seller_pays else 0
    charge_txn = add_transaction(
        unit.session,
        account_id=account.id,
        type="charge",
        source=pi.charge_id,
        amount=pi.amount,
        fee=pi.application_fee_amount + seller_fee,
        application_fee=pi.application_fee_amount,
        description=pi.description,
        available_on=now + timedelta(days=account.payout_delay_days),
    )
    pi.balance_transaction_id = charge_txn.id
    if not seller_pays:
        add_transaction(
            unit.session,
            account_id=None,
            type="stripe_fee",
            source=pi.charge_id,
            amount=-pi.processing_fee,
            description="Stripe processing fees (direct charge)",
        )
    application_fee: SandboxApplicationFee | None = None
    if pi.application_fee_amount:
        fee_id = objects.new_id("fee")
        fee_txn = add_transaction(
            unit.session,
            account_id=None,
            type="application_fee",
            source=fee_id,
            amount=pi.application_fee_amount,
            description="Application fee",
        )
        application_fee = SandboxApplicationFee(
            id=fee_id,
            account_id=account.id,
            charge_id=pi.charge_id,
            payment_intent_id=pi.id,
            amount=pi.application_fee_amount,
            balance_transaction_id=fee_txn.id,
            created_at=now,
        )
        unit.session.add(application_fee)
    unit.session.flush()
    # As in Stripe's events: latest_charge is the charge's id.
    unit.emit("payment_intent.succeeded", objects.payment_intent_object(pi), account=account.id)
    if application_fee is not None:
        # Created in the platform's account, so it goes to the platform endpoint.
        unit.emit(
            "application_fee.created", objects.application_fee_object(application_fee), account=None
        )


def _open_dispute(
    unit: SandboxUnit, account: SandboxAccount, pi: SandboxPaymentIntent, now: datetime
) -> None:
    pi.dispute_id = objects.new_id("dp")
    pi.dispute_status = "needs_response"
    pi.dispute_reason = "fraudulent"
    pi.dispute_created_at = now
    unit.emit("charge.dispute.created", objects.dispute_object(pi), account=account.id)
    # The disputed amount always comes out of the seller's balance; the received fee out of
    # whoever carries the account's losses (store.dispute_fee_payer_is_platform): on the
    # withdrawal itself when it is the seller (as Stripe shows it), else on the platform's.
    platform_pays = dispute_fee_payer_is_platform(account)
    add_transaction(
        unit.session,
        account_id=account.id,
        type="adjustment",
        source=pi.dispute_id,
        amount=-pi.amount,
        fee=0 if platform_pays else objects.DISPUTE_FEE_CENTS,
        description="Chargeback withdrawal" if platform_pays else "Dispute fee",
    )
    if platform_pays:
        book_dispute_fee(unit.session, account, pi, objects.DISPUTE_FEE_CENTS, "Dispute fee")
    unit.session.flush()
    unit.emit(
        "charge.dispute.funds_withdrawn",
        dispute_with_transactions(unit.session, pi),
        account=account.id,
    )
