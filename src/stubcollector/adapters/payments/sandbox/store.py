"""The sandbox's books: its own database sessions, and the rules both of its faces share.

The sandbox keeps its state in its own tables (``models.py``) through its own sessions, as
a remote provider keeps its own books: a unit of sandbox work commits by itself and never
joins the caller's transaction (services call providers outside their transactions). The
events a unit emits are stored in its commit and queued for delivery after it
(``events.py``).

Shared here by the port (``gateway.py``) and the hosted pages (``hosted.py``): the unit of
work, Stripe's idempotency rule, the lookups that answer with Stripe's "No such ..." errors,
an account's balance, a charge with its refunds, and the settling of a refund.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stubcollector.adapters.payments.ports import Balance, ConnectedAccount, PaymentError
from stubcollector.adapters.payments.sandbox import objects
from stubcollector.adapters.payments.sandbox.events import SandboxEvents
from stubcollector.adapters.payments.sandbox.models import (
    SandboxAccount,
    SandboxApplicationFee,
    SandboxBalanceTransaction,
    SandboxIdempotencyKey,
    SandboxPaymentIntent,
    SandboxRefund,
)
from stubcollector.domain.statuses import RefundStatus
from stubcollector.extensions import db
from stubcollector.models.base import utcnow


@dataclass
class SandboxUnit:
    """One piece of sandbox work: its session, and the events to deliver once it commits."""

    session: Session
    events: SandboxEvents
    to_deliver: list[str] = field(default_factory=list)

    def emit(
        self,
        event_type: str,
        data_object: dict[str, Any],
        *,
        account: str | None,
        idempotency_key: str | None = None,
    ) -> None:
        event_id = self.events.record(
            self.session,
            event_type,
            data_object,
            account=account,
            idempotency_key=idempotency_key,
        )
        if event_id is not None:
            self.to_deliver.append(event_id)


class SandboxStore:
    """Opens the sandbox's units of work and reads; one per gateway, shared by both faces."""

    def __init__(self, events: SandboxEvents) -> None:
        self._events = events

    @contextmanager
    def unit(self) -> Iterator[SandboxUnit]:
        """A committed unit of sandbox work; its events are delivered after the commit."""
        session = Session(db.engine, expire_on_commit=False)
        unit = SandboxUnit(session, self._events)
        try:
            yield unit
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        self._events.enqueue_deliveries(unit.to_deliver)

    @staticmethod
    def reading() -> Session:
        """A session for reads only (use it as a context manager; nothing is committed)."""
        return Session(db.engine)

    def idempotent(
        self,
        scope: str,
        key: str,
        operation: str,
        params: Mapping[str, Any],
        perform: Callable[[SandboxUnit], dict[str, Any]],
    ) -> dict[str, Any]:
        """Stripe's rule: same key and parameters → the first response, a refusal
        included; other parameters under the same key → an error.

        A refusal (``PaymentError`` from ``perform``) is stored like an answer and raised
        again for every repeat, as Stripe replays the saved status and body of a request
        that started executing: a new attempt needs a new key.
        """
        fingerprint = hashlib.sha256(
            json.dumps([operation, params], sort_keys=True, default=str).encode()
        ).hexdigest()
        replayed = self._replay(scope, key, fingerprint)
        if replayed is not None:
            return replayed
        try:
            with self.unit() as unit:
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
        except PaymentError as exc:
            self._remember_refusal(scope, key, fingerprint, exc)
            raise
        return response

    def _remember_refusal(self, scope: str, key: str, fingerprint: str, exc: PaymentError) -> None:
        error = {"message": exc.message, "code": exc.code}
        try:
            with self.unit() as unit:
                unit.session.add(
                    SandboxIdempotencyKey(
                        scope=scope, key=key, fingerprint=fingerprint, response={"error": error}
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key answered first

    def _replay(self, scope: str, key: str, fingerprint: str) -> dict[str, Any] | None:
        with self.reading() as session:
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
                    f"they were first used with (idempotency key {key!r}).",
                    code="idempotency_error",
                )
            response = dict(stored.response)
        error = response.get("error")
        if isinstance(error, dict) and set(response) == {"error"}:
            raise PaymentError(
                str(error.get("message")),
                code=error.get("code"),
                provider_message=str(error.get("message")),
            )
        return response


def get_account(session: Session, account_id: str, *, as_platform: bool = True) -> SandboxAccount:
    """The account; ``as_platform`` (the platform's own calls) refuses one that has
    disconnected the platform, with Stripe's words for a revoked application."""
    account = session.get(SandboxAccount, account_id)
    if account is None:
        raise PaymentError(f"No such account: '{account_id}'", code="resource_missing")
    if as_platform and account.deauthorized_at is not None:
        raise PaymentError(
            f"The provided key 'sk_test_sandbox' does not have access to account "
            f"'{account_id}' (or that account does not exist). Application access may have "
            "been revoked.",
            code="account_invalid",
        )
    return account


def locked_payment_intent(session: Session, account_id: str, pi_id: str) -> SandboxPaymentIntent:
    get_account(session, account_id)
    pi = session.get(SandboxPaymentIntent, pi_id, with_for_update=True)
    # A PaymentIntent of a direct charge exists only for its own Stripe-Account.
    if pi is None or pi.account_id != account_id:
        raise PaymentError(f"No such payment_intent: '{pi_id}'", code="resource_missing")
    return pi


def connected_account(account: SandboxAccount) -> ConnectedAccount:
    return ConnectedAccount(
        account_id=account.id,
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        requirements_due=tuple(account.requirements_due),
        disabled_reason=account.disabled_reason,
        email=account.email,
        payout_delay_days=account.payout_delay_days,
    )


def balance_of(session: Session, account_id: str) -> Balance:
    now = utcnow()
    rows = session.execute(
        select(SandboxBalanceTransaction.net, SandboxBalanceTransaction.available_on).where(
            SandboxBalanceTransaction.account_id == account_id
        )
    ).all()
    available = sum(net for net, available_on in rows if available_on <= now)
    pending = sum(net for net, available_on in rows if available_on > now)
    return Balance(available_cents=available, pending_cents=pending)


def application_fee_of(session: Session, pi: SandboxPaymentIntent) -> SandboxApplicationFee | None:
    if pi.charge_id is None:
        return None
    return session.scalars(
        select(SandboxApplicationFee).where(SandboxApplicationFee.charge_id == pi.charge_id)
    ).first()


def charge_with_refunds(
    session: Session, pi: SandboxPaymentIntent, *, expand_balance_transaction: bool = False
) -> dict[str, Any]:
    """The Stripe-shaped charge of a paid PaymentIntent, listing its refunds oldest first
    (its balance transaction expanded if asked, as ``expand[]`` does)."""
    refunds = session.scalars(
        select(SandboxRefund)
        .where(SandboxRefund.payment_intent_id == pi.id)
        .order_by(SandboxRefund.created_at, SandboxRefund.id)
    ).all()
    transaction_ = (
        session.get(SandboxBalanceTransaction, pi.balance_transaction_id)
        if expand_balance_transaction and pi.balance_transaction_id
        else None
    )
    fee = application_fee_of(session, pi)
    charge = objects.charge_object(
        pi,
        refunds,
        balance_transaction=(
            None if transaction_ is None else objects.balance_transaction_object(transaction_)
        ),
        application_fee_id=None if fee is None else fee.id,
    )
    assert charge is not None
    return charge


def dispute_with_transactions(session: Session, pi: SandboxPaymentIntent) -> dict[str, Any]:
    """The Stripe-shaped dispute of a PaymentIntent with its balance transactions on the
    seller's account (withdrawal, fees, reinstatement), oldest first."""
    transactions = session.scalars(
        select(SandboxBalanceTransaction)
        .where(
            SandboxBalanceTransaction.source == pi.dispute_id,
            SandboxBalanceTransaction.account_id == pi.account_id,
        )
        .order_by(SandboxBalanceTransaction.created_at, SandboxBalanceTransaction.id)
    ).all()
    return objects.dispute_object(pi, transactions)


def platform_transactions(session: Session, sources: Sequence[str | None]) -> list[dict[str, Any]]:
    """The platform's own balance transactions whose source is one of ``sources`` (as
    ``GET /v1/balance_transactions?source=...`` without a Stripe-Account lists them)."""
    wanted = [source for source in sources if source]
    if not wanted:
        return []
    rows = session.scalars(
        select(SandboxBalanceTransaction)
        .where(
            SandboxBalanceTransaction.account_id.is_(None),
            SandboxBalanceTransaction.source.in_(wanted),
        )
        .order_by(SandboxBalanceTransaction.created_at, SandboxBalanceTransaction.id)
    ).all()
    return [objects.balance_transaction_object(row) for row in rows]


def add_transaction(
    session: Session,
    *,
    account_id: str | None,
    type: str,
    source: str,
    amount: int,
    fee: int = 0,
    application_fee: int = 0,
    description: str | None = None,
    available_on: datetime | None = None,
) -> SandboxBalanceTransaction:
    """Book a balance transaction (``account_id`` None: the platform's own balance)."""
    now = utcnow()
    transaction_ = SandboxBalanceTransaction(
        id=objects.new_id("txn"),
        account_id=account_id,
        type=type,
        source=source,
        amount=amount,
        fee=fee,
        application_fee=application_fee,
        net=amount - fee,
        description=description,
        created_at=now,
        available_on=available_on or now,
    )
    session.add(transaction_)
    return transaction_


def dispute_fee_payer_is_platform(account: SandboxAccount) -> bool:
    """Who pays a dispute's fees on a direct charge: the platform when it carries the
    account's losses (``controller.losses.payments=application``), else the account
    (docs.stripe.com/connect/disputes; research-16 §2.1)."""
    return account.losses_payer == "application"


def book_dispute_fee(
    session: Session,
    account: SandboxAccount,
    pi: SandboxPaymentIntent,
    amount: int,
    description: str,
) -> None:
    """A dispute fee taken (``amount`` > 0) or given back (< 0), from whoever pays it."""
    assert pi.dispute_id is not None
    if dispute_fee_payer_is_platform(account):
        add_transaction(
            session,
            account_id=None,
            type="stripe_fee",
            source=pi.dispute_id,
            amount=-amount,
            description=description,
        )
    else:
        add_transaction(
            session,
            account_id=account.id,
            type="adjustment",
            source=pi.dispute_id,
            amount=0,
            fee=amount,
            description=description,
        )


def application_fee_back(pi: SandboxPaymentIntent, amount: int) -> int:
    # Stripe keeps its processing fee on refunds; with refund_application_fee the
    # platform's fee comes back in proportion to the refunded amount.
    return pi.application_fee_amount * amount // pi.amount


def move_application_fee(session: Session, pi: SandboxPaymentIntent, back: int) -> None:
    """Give ``back`` cents of the application fee back to the seller (< 0: take them again,
    when the refund that returned them failed)."""
    fee = application_fee_of(session, pi)
    if fee is None or back == 0:
        return
    fee.amount_refunded += back
    add_transaction(
        session,
        account_id=None,
        type="application_fee_refund",
        source=fee.id,
        amount=-back,
        description="Application fee refund",
    )


def settle_refund(
    unit: SandboxUnit,
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
        move_application_fee(unit.session, pi, -application_fee_back(pi, refund.amount))
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
                net=refund.amount - application_fee_back(pi, refund.amount),
                created_at=now,
                # Back where it was taken from (pending funds stay pending).
                available_on=max(now, taken.available_on) if taken else now,
            )
        )
    unit.session.flush()
    data = objects.refund_object(refund, pi)
    unit.emit("refund.updated", data, account=refund.account_id)
    unit.emit("charge.refund.updated", data, account=refund.account_id)
    if status is RefundStatus.FAILED:
        unit.emit("refund.failed", data, account=refund.account_id)
