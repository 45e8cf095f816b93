"""Admin pages: dashboard with platform totals, every order (refundable), disputes, audit log.

Admins only (``admin_required`` answers 403 to everyone else). The views read through
``services.admin`` and change orders through ``services.orders`` like any other caller.

- ``admin.index`` (``?days=14|30|90&period=day|week``): platform totals from
  ``services.admin.platform_totals`` (per UTC day or ISO week, every period listed, empty
  ones as zeros: a sale counts on its payment day, a fee on its charge's day, a refund on
  its refund day, a Stripe fee on the day Stripe took it, a dispute on its opening day;
  "fees earned" is net of fees refunded, "net revenue" also net of what Stripe took from
  the platform: processing and dispute fees) drawn as inline SVG bar charts
  (:mod:`.charts`, ``macros/charts.html``: no chart library, no script), the sums of the
  range (``totals_over``), orders by status (``services.orders.views.orders_by_status``)
  and the open disputes.
- ``admin.orders`` (``?status=&refund=pending|failed&page=``): every order
  (``services.admin.list_orders``), each refundable; ``admin.refund`` (POST; also retries a
  failed refund) calls ``services.orders.refunds.request_refund`` and returns to ``back``
  (an ``/admin/`` or ``/orders/`` path) or the order list.
- ``admin.disputes`` (``?open=1``): ``services.admin.list_disputes``.
- ``admin.audit`` (``?action=&object_type=&object_id=&actor=&since=&until=&page=``):
  ``services.admin.audit_log`` with ``AuditFilters``; the action choices come from
  ``audit_actions``, and a filter the service refuses is shown above the (empty) list.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.adapters.payments.ports import PaymentError
from stubcollector.container import settings
from stubcollector.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)
from stubcollector.domain.statuses import OrderStatus
from stubcollector.models import utcnow
from stubcollector.services import admin
from stubcollector.services.orders import refunds, views
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.pages.access import admin_required
from stubcollector.web.pages.charts import bar_chart
from stubcollector.web.pages.orders import refund_outcome

bp = Blueprint("admin", __name__, url_prefix="/admin")

ORDER_STATUSES = tuple(status.value for status in OrderStatus)
RANGES = {"14": 14, "30": 30, "90": 90}
PER_PAGE = 25


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    days = RANGES.get(request.args.get("days", "30"), 30)
    period = "week" if request.args.get("period") == "week" else "day"
    until = utcnow().date()
    since = until - timedelta(days=days - 1)
    totals = admin.platform_totals(since, until, period=period)
    charts = {
        "sales": bar_chart([(t.start, t.sales_cents) for t in totals], money=True, label="Sales"),
        "fees": bar_chart(
            [(t.start, t.net_fees_cents) for t in totals], money=True, label="Fees earned"
        ),
        "costs": bar_chart(
            [(t.start, t.stripe_costs_cents) for t in totals], money=True, label="Stripe costs"
        ),
        "refunds": bar_chart(
            [(t.start, t.refunds_cents) for t in totals], money=True, label="Refunds"
        ),
        "disputes": bar_chart(
            [(t.start, t.disputes_count) for t in totals], money=False, label="Disputes"
        ),
    }
    summary = admin.totals_over(totals)
    return render_template(
        "admin/index.html",
        totals=totals,
        charts=charts,
        summary=summary,
        days=days,
        period=period,
        ranges=RANGES,
        by_status=views.orders_by_status(),
        open_disputes=admin.list_disputes(open_only=True, per_page=5),
        platform_pays_stripe=settings().stripe_account_liability == "application",
    )


@bp.get("/orders", endpoint="orders")
@admin_required
def orders_list() -> ResponseReturnValue:
    status = request.args.get("status") or None
    if status not in ORDER_STATUSES:
        status = None
    refund = request.args.get("refund") or None
    if refund not in admin.REFUND_STATES:
        refund = None
    found = admin.list_orders(status=status, refund=refund, page=_page_number(), per_page=PER_PAGE)
    return render_template(
        "admin/orders.html",
        found=found,
        status=status,
        statuses=ORDER_STATUSES,
        refund=refund,
        refund_states=admin.REFUND_STATES,
    )


@bp.post("/orders/<int:order_id>/refund")
@admin_required
def refund(order_id: int) -> ResponseReturnValue:
    try:
        order = refunds.request_refund(
            require_user(), order_id, reason="refunded by an admin", ip_address=client_ip()
        )
    except (PermissionDenied, Conflict, NotFound, PaymentError, ServiceUnavailable) as error:
        flash(f"Order {order_id} was not refunded: {error.message}", "error")
    else:
        message, category = refund_outcome(order)
        flash(f"Order {order_id}: {message}" if category != "success" else message, category)
    back = request.form.get("back", "")
    if back.startswith("/admin/") or back.startswith("/orders/"):
        return redirect(back, code=303)
    return redirect(url_for("admin.orders"), code=303)


@bp.get("/disputes")
@admin_required
def disputes() -> ResponseReturnValue:
    open_only = request.args.get("open") == "1"
    found = admin.list_disputes(open_only=open_only, page=_page_number(), per_page=PER_PAGE)
    return render_template("admin/disputes.html", found=found, open_only=open_only)


@bp.get("/audit")
@admin_required
def audit() -> ResponseReturnValue:
    filters = admin.AuditFilters(
        action=request.args.get("action") or None,
        object_type=request.args.get("object_type") or None,
        object_id=(request.args.get("object_id") or "").strip() or None,
        actor=(request.args.get("actor") or "").strip() or None,
        since=_date_arg("since"),
        until=_date_arg("until"),
    )
    problem = None
    try:
        found = admin.audit_log(filters, page=_page_number(), per_page=50)
    except ValidationFailed as error:
        problem = error.message[:1].upper() + error.message[1:]
        found = admin.Page((), 1, 50, 0)
    return render_template(
        "admin/audit.html",
        found=found,
        filters=filters,
        problem=problem,
        actions=admin.audit_actions(),
        object_types=("order", "listing", "user", "dispute", "stub", "payment"),
    )
