"""What the admin pages read: every order, disputes, the audit log and platform totals.

Reads only; changes (refunds) go through ``services.orders`` like everyone else's. Lists
are offset-paginated (admins page through hundreds, not millions) and newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.domain.disputes import needs_response
from stubcollector.domain.economics import CostKind, FeePayer
from stubcollector.domain.errors import ValidationFailed
from stubcollector.domain.statuses import (
    OrderStatus,
    PaymentStatus,
    RefundStatus,
    order_refund_state,
)
from stubcollector.models import (
    AuditLogEntry,
    Stub,
    StubDispute,
    StubListing,
    StubOrder,
    StubOrderCost,
    StubPayment,
    StubRefund,
    User,
    utcnow,
)
from stubcollector.services.transaction import transaction

MAX_PER_PAGE = 100
MAX_TOTALS_DAYS = 366
PERIODS = ("day", "week")

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: tuple[Item, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise ValidationFailed("page", "must be 1 or more")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed("per_page", f"must be between 1 and {MAX_PER_PAGE}")


def _paged(
    session: Session, statement: Select[Any], page: int, per_page: int
) -> tuple[Sequence[Any], int]:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, int(total or 0)


# --- orders ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderRow:
    id: int
    status: str
    total_cents: int
    platform_fee_cents: int
    seller_amount_cents: int
    currency: str
    created_at: datetime
    payment_confirmed_at: datetime | None
    event_name: str | None
    buyer: str
    seller: str
    payment_status: str | None = None
    latest_refund_status: str | None = None

    @property
    def refund_state(self) -> str | None:
        """``pending`` or ``failed`` (an admin may retry), as on the order page."""
        return order_refund_state(self.payment_status, self.latest_refund_status)


REFUND_STATES = ("pending", "failed")


def list_orders(
    *,
    status: str | None = None,
    refund: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page[OrderRow]:
    """Every order, newest first, optionally of one status and/or refund state (``pending``:
    a refund on its way; ``failed``: the last refund failed and may be retried)."""
    _check_paging(page, per_page)
    if status is not None and status not in {s.value for s in OrderStatus}:
        raise ValidationFailed("status", f"unknown order status {status!r}")
    if refund is not None and refund not in REFUND_STATES:
        raise ValidationFailed("refund", f"must be one of {', '.join(REFUND_STATES)}")
    buyer = aliased(User, name="buyer")
    seller = aliased(User, name="seller")
    latest_refund = (
        select(StubRefund.status)
        .where(StubRefund.order_id == StubOrder.id)
        .order_by(StubRefund.id.desc())
        .limit(1)
        .correlate(StubOrder)
        .scalar_subquery()
    )
    statement = (
        select(
            StubOrder.id,
            StubOrder.order_status,
            StubOrder.total_amount_cents,
            StubOrder.platform_fee_cents,
            StubOrder.seller_amount_cents,
            StubOrder.currency,
            StubOrder.created_at,
            StubOrder.payment_confirmed_at,
            Stub.event_name,
            buyer.username,
            seller.username,
            StubPayment.payment_status,
            latest_refund,
        )
        .join(StubListing, StubListing.id == StubOrder.stub_listing_id)
        .join(Stub, Stub.id == StubListing.stub_id)
        .join(buyer, buyer.id == StubOrder.buyer_id)
        .join(seller, seller.id == StubOrder.seller_id)
        .outerjoin(StubPayment, StubPayment.order_id == StubOrder.id)
        .order_by(StubOrder.created_at.desc(), StubOrder.id.desc())
    )
    if status is not None:
        statement = statement.where(StubOrder.order_status == status)
    if refund == "pending":
        statement = statement.where(
            StubPayment.payment_status == PaymentStatus.REFUND_PENDING.value
        )
    elif refund == "failed":
        statement = statement.where(
            StubPayment.payment_status == PaymentStatus.SUCCEEDED.value,
            latest_refund.in_([RefundStatus.FAILED.value, RefundStatus.CANCELED.value]),
        )
    with transaction() as session:
        rows, total = _paged(session, statement, page, per_page)
        return Page(tuple(OrderRow(*row) for row in rows), page, per_page, total)


# --- disputes --------------------------------------------------------------------------
@dataclass(frozen=True)
class DisputeRow:
    dispute_id: str
    order_id: int
    status: str
    reason: str | None
    amount_cents: int
    evidence_due_by: datetime | None
    created_at: datetime
    closed_at: datetime | None
    order_status: str
    has_evidence: bool = False
    submission_count: int = 0

    @property
    def needs_response(self) -> bool:
        """Waiting for evidence that can still be given (see domain.disputes)."""
        return needs_response(self.status, self.evidence_due_by, utcnow())


def list_disputes(
    *, open_only: bool = False, page: int = 1, per_page: int = 25
) -> Page[DisputeRow]:
    """Disputes, newest first; ``open_only`` leaves out the decided ones."""
    _check_paging(page, per_page)
    statement = (
        select(
            StubDispute.dispute_id,
            StubDispute.order_id,
            StubDispute.status,
            StubDispute.reason,
            StubDispute.amount_cents,
            StubDispute.evidence_due_by,
            StubDispute.created_at,
            StubDispute.closed_at,
            StubOrder.order_status,
            StubDispute.has_evidence,
            StubDispute.submission_count,
        )
        .join(StubOrder, StubOrder.id == StubDispute.order_id)
        .order_by(StubDispute.created_at.desc(), StubDispute.id.desc())
    )
    if open_only:
        statement = statement.where(StubDispute.closed_at.is_(None))
    with transaction() as session:
        rows, total = _paged(session, statement, page, per_page)
        return Page(tuple(DisputeRow(*row) for row in rows), page, per_page, total)


# --- audit log -------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    # A username, or a user id written as digits.
    actor: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor_kind: str
    actor_user_id: int | None
    actor_username: str | None
    action: str
    object_type: str
    object_id: str | None
    before_status: str | None
    after_status: str | None
    ip_address: str | None
    details: dict[str, Any] = field(default_factory=dict)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_log(
    filters: AuditFilters = AuditFilters(), *, page: int = 1, per_page: int = 50
) -> Page[AuditRow]:
    """Audit entries matching every given filter, newest first (dates are UTC days, inclusive)."""
    _check_paging(page, per_page)
    if filters.since and filters.until and filters.since > filters.until:
        raise ValidationFailed("since", "the start date is after the end date")
    actor = aliased(User, name="actor")
    statement = (
        select(
            AuditLogEntry.id,
            AuditLogEntry.created_at,
            AuditLogEntry.actor_kind,
            AuditLogEntry.actor_user_id,
            actor.username,
            AuditLogEntry.action,
            AuditLogEntry.object_type,
            AuditLogEntry.object_id,
            AuditLogEntry.before_status,
            AuditLogEntry.after_status,
            AuditLogEntry.ip_address,
            AuditLogEntry.details,
        )
        .outerjoin(actor, actor.id == AuditLogEntry.actor_user_id)
        .order_by(AuditLogEntry.created_at.desc(), AuditLogEntry.id.desc())
    )
    conditions: list[ColumnElement[bool]] = []
    if filters.action:
        conditions.append(AuditLogEntry.action == filters.action)
    if filters.object_type:
        conditions.append(AuditLogEntry.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(AuditLogEntry.object_id == filters.object_id)
    if filters.actor:
        name = filters.actor.strip()
        if name.isdigit():
            conditions.append(AuditLogEntry.actor_user_id == int(name))
        else:
            conditions.append(func.lower(actor.username) == name.lower())
    if filters.since:
        conditions.append(AuditLogEntry.created_at >= _day_start(filters.since))
    if filters.until:
        conditions.append(AuditLogEntry.created_at < _day_start(filters.until + timedelta(days=1)))
    if conditions:
        statement = statement.where(*conditions)
    with transaction() as session:
        rows, total = _paged(session, statement, page, per_page)
        return Page(tuple(_audit_row(row) for row in rows), page, per_page, total)


def _audit_row(row: Any) -> AuditRow:
    (entry_id, created_at, kind, user_id, username, action, object_type, object_id) = row[:8]
    before, after, ip_address, details = row[8:]
    return AuditRow(
        id=entry_id,
        created_at=created_at,
        actor_kind=kind,
        actor_user_id=user_id,
        actor_username=username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before_status=before,
        after_status=after,
        ip_address=ip_address,
        details=dict(details or {}),
    )


def audit_actions() -> list[str]:
    """The actions that occur in the log, for the filter's choices."""
    with transaction() as session:
        return list(
            session.scalars(select(AuditLogEntry.action).distinct().order_by(AuditLogEntry.action))
        )


# --- platform totals -------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """One period's figures; money in integer cents.

    The platform's side of the books: the application fees of every succeeded charge (a
    lost reservation's late payment too: its fee was taken, then given back with its
    automatic refund), the fees given back with refunds, and what Stripe took from the
    platform (processing fees where the platform pays them, dispute fees), as recorded
    from Stripe's balance transactions (``services.orders.costs``).
    """

    start: date
    sales_count: int = 0
    sales_cents: int = 0
    # Application fees of the charges that succeeded (the day of the charge).
    charges_count: int = 0
    fees_cents: int = 0
    refunds_count: int = 0
    refunds_cents: int = 0
    # Platform fees handed back with full refunds (the fee is refunded too), automatic
    # refunds of cancelled orders included.
    fees_refunded_cents: int = 0
    disputes_count: int = 0
    # What Stripe took from the platform's balance: processing fees (Stripe keeps them when
    # a charge is refunded) and dispute fees (a won dispute's countered fee comes back).
    stripe_fees_cents: int = 0
    dispute_fees_cents: int = 0
    # Charges of the period whose processing fee is not recorded yet (Stripe may take up to
    # an hour to attach it, or may not itemise what it bills the platform; docs/STRIPE.md).
    costs_unknown_count: int = 0
    # Disputes decided for the buyer: the amount comes out of the seller's balance first;
    # the platform carries only what that balance cannot cover (not known here).
    disputes_lost_count: int = 0
    disputes_lost_cents: int = 0

    @property
    def net_fees_cents(self) -> int:
        return self.fees_cents - self.fees_refunded_cents

    @property
    def stripe_costs_cents(self) -> int:
        return self.stripe_fees_cents + self.dispute_fees_cents

    @property
    def net_revenue_cents(self) -> int:
        """Fees kept, less what Stripe took from the platform."""
        return self.net_fees_cents - self.stripe_costs_cents


def _utc_day(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        # date() of a timestamptz follows the session's time zone; the report is in UTC.
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _period_start(day: date, period: str) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day


def platform_totals(since: date, until: date, *, period: str = "day") -> tuple[Totals, ...]:
    """Sales, fees, refunds, Stripe's costs and disputes per UTC day (or ISO week), oldest
    first.

    A sale counts on the day its payment was confirmed, a fee on the day its charge
    succeeded, a refund on the day the order was refunded, a Stripe fee on the day Stripe
    took it, a dispute on the day it was opened and a lost one on the day it closed; every
    period in the range is listed, empty ones with zeros, so a chart has no gaps.
    """
    if period not in PERIODS:
        raise ValidationFailed("period", f"must be one of {', '.join(PERIODS)}")
    if since > until:
        raise ValidationFailed("since", "the start date is after the end date")
    if (until - since).days >= MAX_TOTALS_DAYS:
        raise ValidationFailed("since", f"at most {MAX_TOTALS_DAYS} days at once")
    start, end = _day_start(since), _day_start(until + timedelta(days=1))
    figures: dict[date, dict[str, int]] = {}
    day = since
    while day <= until:
        figures.setdefault(_period_start(day, period), {})
        day += timedelta(days=1)

    def add(raw_day: Any, **values: Any) -> None:
        bucket = figures[_period_start(_as_date(raw_day), period)]
        for name, value in values.items():
            bucket[name] = bucket.get(name, 0) + int(value or 0)

    with transaction() as session:
        paid_day = _utc_day(session, StubOrder.payment_confirmed_at)
        for raw_day, count, cents in session.execute(
            select(
                paid_day,
                func.count(StubOrder.id),
                func.coalesce(func.sum(StubOrder.total_amount_cents), 0),
            )
            .where(StubOrder.payment_confirmed_at >= start, StubOrder.payment_confirmed_at < end)
            .group_by(paid_day)
        ):
            add(raw_day, sales_count=count, sales_cents=cents)
        charged_day = _utc_day(session, StubPayment.processed_at)
        for raw_day, count, fees, unknown in session.execute(
            select(
                charged_day,
                func.count(StubPayment.id),
                func.coalesce(func.sum(StubOrder.platform_fee_cents), 0),
                func.count(StubPayment.id).filter(StubPayment.costs_recorded_at.is_(None)),
            )
            .join(StubOrder, StubOrder.id == StubPayment.order_id)
            .where(StubPayment.processed_at >= start, StubPayment.processed_at < end)
            .group_by(charged_day)
        ):
            add(raw_day, charges_count=count, fees_cents=fees, costs_unknown_count=unknown)
        refunded_day = _utc_day(session, StubOrder.refunded_at)
        for raw_day, count, cents, fees in session.execute(
            select(
                refunded_day,
                func.count(StubOrder.id),
                func.coalesce(func.sum(StubPayment.amount_refunded_cents), 0),
                func.coalesce(func.sum(StubOrder.platform_fee_cents), 0),
            )
            .join(StubPayment, StubPayment.order_id == StubOrder.id)
            .where(StubOrder.refunded_at >= start, StubOrder.refunded_at < end)
            .group_by(refunded_day)
        ):
            add(raw_day, refunds_count=count, refunds_cents=cents, fees_refunded_cents=fees)
        cost_day = _utc_day(session, StubOrderCost.occurred_at)
        for raw_day, kind, cents in session.execute(
            select(
                cost_day,
                StubOrderCost.kind,
                func.coalesce(func.sum(StubOrderCost.amount_cents), 0),
            )
            .where(
                StubOrderCost.payer == FeePayer.PLATFORM.value,
                StubOrderCost.occurred_at >= start,
                StubOrderCost.occurred_at < end,
            )
            .group_by(cost_day, StubOrderCost.kind)
        ):
            name = "stripe_fees_cents" if kind == CostKind.PROCESSING_FEE else "dispute_fees_cents"
            add(raw_day, **{name: cents})
        opened_day = _utc_day(session, StubDispute.created_at)
        for raw_day, count in session.execute(
            select(opened_day, func.count(StubDispute.id))
            .where(StubDispute.created_at >= start, StubDispute.created_at < end)
            .group_by(opened_day)
        ):
            add(raw_day, disputes_count=count)
        closed_day = _utc_day(session, StubDispute.closed_at)
        for raw_day, count, cents in session.execute(
            select(
                closed_day,
                func.count(StubDispute.id),
                func.coalesce(func.sum(StubDispute.amount_cents), 0),
            )
            .where(
                StubDispute.status == "lost",
                StubDispute.closed_at >= start,
                StubDispute.closed_at < end,
            )
            .group_by(closed_day)
        ):
            add(raw_day, disputes_lost_count=count, disputes_lost_cents=cents)
    return tuple(Totals(start=key, **figures[key]) for key in sorted(figures))


def totals_over(periods: Sequence[Totals]) -> Totals:
    """``periods`` (at least one) added up: one period from the first's start (headline figures)."""
    summed = {
        f.name: sum(getattr(t, f.name) for t in periods)
        for f in fields(Totals)
        if f.name != "start"
    }
    return Totals(start=periods[0].start, **summed)
