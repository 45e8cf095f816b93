"""An order's state: who changes it, and the one function that does (:func:`move`).

Every change of an order's status goes through :func:`move`, which checks it against
``ORDER_TRANSITIONS``, swaps it in the database only if nobody changed it meanwhile, stamps
the moment (paid, completed, cancelled, ...) and writes the audit entry with the
:class:`Actor` who caused it. The loading and locking helpers here are shared by every
module of the package, so that they all read and lock an order and its payment the same
way: payment first, then order, as the event handlers do (no deadlock between them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stubcollector.domain.errors import Conflict, NotFound
from stubcollector.domain.statuses import ORDER_TRANSITIONS, OrderStatus, ensure_transition
from stubcollector.models import StubOrder, StubPayment, StubRefund, User, utcnow
from stubcollector.services import audit


@dataclass(frozen=True)
class Actor:
    """Who caused a change, for the audit log."""

    user: User | None = None
    kind: str = "system"  # user, admin, system, webhook
    ip_address: str | None = None

    @classmethod
    def of(cls, user: User, ip_address: str | None = None) -> Actor:
        return cls(user, "admin" if user.is_admin else "user", ip_address)


WEBHOOK = Actor(kind="webhook")
SYSTEM = Actor(kind="system")


class OrderChanged(Conflict):
    """Someone else changed the order between our read and our write; safe to retry."""


class UnknownPayment(LookupError):
    """An event names a payment we do not know (yet): processing fails and is retried."""


# --- reading and locking ---------------------------------------------------------------
def load_order(session: Session, order_id: int, *, lock: bool = False) -> StubOrder:
    """The order, read afresh (``lock``: ``FOR UPDATE``); ``NotFound`` if there is none."""
    order = session.get(StubOrder, order_id, with_for_update=lock, populate_existing=True)
    if order is None:
        raise NotFound("order not found")
    return order


def require_party(order: StubOrder, user: User) -> None:
    """To anyone but its buyer, its seller and admins an order does not exist: the same
    ``NotFound`` as a missing id, so an id reveals nothing. Parties refused an action get
    ``PermissionDenied`` from the action itself."""
    if user.id not in (order.buyer_id, order.seller_id) and not user.is_admin:
        raise NotFound("order not found")


def payment_of(session: Session, order_id: int) -> StubPayment | None:
    """The order's payment (none before checkout stored its PaymentIntent)."""
    return session.scalars(select(StubPayment).where(StubPayment.order_id == order_id)).first()


def lock_payment(session: Session, order_id: int) -> StubPayment | None:
    """:func:`payment_of`, locked for the rest of the transaction."""
    return session.scalars(
        select(StubPayment).where(StubPayment.order_id == order_id).with_for_update()
    ).first()


def find_payment(
    session: Session,
    *,
    payment_intent_id: str | None = None,
    charge_id: str | None = None,
    order_id: int | None = None,
) -> StubPayment | None:
    """The payment a provider fact names (locked), by PaymentIntent, then charge, then the
    order id from our metadata; None when it is not one of ours (or not stored yet)."""
    if payment_intent_id:
        found = session.scalars(
            select(StubPayment)
            .where(StubPayment.payment_intent_id == payment_intent_id)
            .with_for_update()
        ).first()
        if found is not None:
            return found
    if charge_id:
        found = session.scalars(
            select(StubPayment).where(StubPayment.charge_id == charge_id).with_for_update()
        ).first()
        if found is not None:
            return found
    if order_id is not None:
        return payment_of(session, order_id)
    return None


def refunds_of(session: Session, order_id: int) -> list[StubRefund]:
    """The order's refunds, oldest first (our attempts and those the provider reported)."""
    return list(
        session.scalars(
            select(StubRefund).where(StubRefund.order_id == order_id).order_by(StubRefund.id)
        )
    )


# --- the one status change -------------------------------------------------------------
def move(
    session: Session,
    order: StubOrder,
    target: OrderStatus,
    actor: Actor,
    *,
    reason: str | None = None,
    **details: Any,
) -> None:
    """Move ``order`` to ``target`` for ``actor``, within the caller's transaction.

    ``InvalidTransition`` when ``ORDER_TRANSITIONS`` does not allow it; ``OrderChanged``
    when another writer changed the order's status since it was read (safe to retry: the
    handlers are idempotent). ``reason`` becomes the order's ``status_reason`` and, like
    ``details``, goes into the audit entry.
    """
    current = OrderStatus(order.order_status)
    ensure_transition(current, target, ORDER_TRANSITIONS, "order")
    # Compare-and-swap on the status we read: a concurrent writer (another worker handling
    # an event of the same order) makes this match nothing instead of being overwritten.
    # PostgreSQL already serialises us with FOR UPDATE; SQLite has no row locks.
    swapped = session.execute(
        update(StubOrder)
        .where(StubOrder.id == order.id, StubOrder.order_status == current.value)
        .values(order_status=target.value)
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:  # type: ignore[attr-defined]
        raise OrderChanged("the order changed at the same time; try again")
    now = utcnow()
    order.order_status = target.value
    if reason is not None:
        order.status_reason = reason
    stamp = {
        OrderStatus.PAYMENT_COMPLETED: "payment_confirmed_at",
        OrderStatus.COMPLETED: "completed_at",
        OrderStatus.CANCELLED: "cancelled_at",
        OrderStatus.REFUNDED: "refunded_at",
        OrderStatus.DISPUTED: "disputed_at",
    }.get(target)
    if stamp is not None and getattr(order, stamp) is None:
        setattr(order, stamp, now)
    audit.record(
        session,
        action=f"order.{target.value}",
        object_type="order",
        object_id=order.id,
        actor=actor.user,
        actor_kind=actor.kind,
        before=current.value,
        after=target.value,
        ip_address=actor.ip_address,
        reason=reason,
        **details,
    )
