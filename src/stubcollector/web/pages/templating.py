"""Jinja filters and globals every page template can use.

- ``{{ cents|money }}`` → ``$1,234.50`` (integer cents in, never floats);
- ``{{ cents|face_value(currency) }}`` → ``€36.45``: a stub's printed price in its own
  currency (``36.45`` when the currency is unknown);
- ``{{ when|date }}`` → ``Nov 22, 2026`` (a date, datetime or ISO string);
- ``status_label(status)`` / ``status_tone(status)`` behind the ``status_badge`` macro;
- ``nav_items()`` and ``optional_url(endpoint)`` (see ``navigation``);
- ``stripe_mode`` and ``stripe_public_key`` for the checkout page;
- ``pending_disputes()``: disputes waiting for the user's evidence, for ``base.html``'s banner.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from stubcollector.container import settings
from stubcollector.domain.money import format_cents
from stubcollector.services.orders import evidence
from stubcollector.web.current import optional_user
from stubcollector.web.pages.navigation import nav_items, optional_url

MISSING = "—"

# How a status reads on a badge, where the raw value would read badly.
STATUS_LABELS: dict[str, str] = {
    "active": "On sale",
    "payment_pending": "Reserved",
    "sold": "Sold",
    "cancelled": "Cancelled",
    "pending": "Pending",
    "payment_processing": "Processing",
    "payment_completed": "Paid",
    "payment_failed": "Payment failed",
    "completed": "Completed",
    "refunded": "Refunded",
    "refund_pending": "Refund pending",
    "refund_failed": "Refund failed",
    "requires_action": "Needs action",
    "requested": "Requested",
    "disputed": "Disputed",
    "requires_payment_method": "Awaiting payment",
    "processing": "Processing",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "canceled": "Cancelled",
    "restricted": "Action needed",
    "disabled": "Disabled",
    "reading": "Reading…",
    "done": "Read",
    # Stripe's dispute statuses.
    "needs_response": "Needs response",
    "warning_needs_response": "Inquiry: needs response",
    "under_review": "Under review",
    "warning_under_review": "Inquiry under review",
    "warning_closed": "Inquiry closed",
    "won": "Won",
    "lost": "Lost",
}

# Badge colour families: success (green), info (blue), warning (amber), danger (red),
# neutral (grey). Unknown statuses fall back to neutral.
STATUS_TONES: dict[str, str] = {
    "needs_response": "danger",
    "warning_needs_response": "warning",
    "under_review": "info",
    "warning_under_review": "info",
    "won": "success",
    "lost": "danger",
    "active": "success",
    "payment_completed": "success",
    "completed": "success",
    "succeeded": "success",
    "done": "success",
    "paid": "success",  # a payout that reached the bank
    "in_transit": "info",
    "sold": "info",
    "payment_processing": "info",
    "processing": "info",
    "reading": "info",
    "payment_pending": "warning",
    "pending": "warning",
    "requires_payment_method": "warning",
    "refund_pending": "warning",
    "requires_action": "warning",
    "requested": "info",
    "restricted": "warning",
    "payment_failed": "danger",
    "refund_failed": "danger",
    "failed": "danger",
    "disputed": "danger",
    "disabled": "danger",
    "refunded": "neutral",
    "cancelled": "neutral",
    "canceled": "neutral",
}


def money(cents: int | None) -> str:
    if cents is None:
        return MISSING
    return format_cents(int(cents))


def face_value(cents: int | None, currency: str | None) -> str:
    """A stub's printed price in its own currency (``€36.45``); no sign when unknown."""
    if cents is None:
        return MISSING
    return format_cents(int(cents), currency or None)


def format_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return MISSING
    when: date
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    return f"{when:%b} {when.day}, {when.year}"


def status_label(status: object) -> str:
    key = str(status)
    return STATUS_LABELS.get(key, key.replace("_", " ").capitalize())


# Stripe's Refund.failure_reason values, in words.
REFUND_FAILURES: dict[str, str] = {
    "charge_for_pending_refund_disputed": "the buyer disputed the payment meanwhile",
    "declined": "the card issuer declined it",
    "expired_or_canceled_card": "the card has expired or was cancelled",
    "insufficient_funds": "the seller's balance could not cover it",
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "merchant_request": "it was cancelled",
    "unknown": "the payment provider gave no reason",
}


def refund_failure(reason: object) -> str:
    """A refund's failure reason (Stripe's code, or the provider's refusal) in words."""
    if not reason:
        return REFUND_FAILURES["unknown"]
    return REFUND_FAILURES.get(str(reason), str(reason))


def status_tone(status: object) -> str:
    return STATUS_TONES.get(str(status), "neutral")


def _template_context() -> dict[str, Any]:
    current = settings()
    return {
        "stripe_mode": current.payments_backend == "stripe",
        "stripe_public_key": current.stripe_public_key,
    }


def pending_disputes() -> evidence.PendingDisputes | None:
    """For the banner on every page: disputes waiting for the logged-in user's evidence
    (their sales'; every one for an admin). The in-app seam until notifications exist."""
    user = optional_user()
    if user is None:
        return None
    try:
        found = evidence.needs_response_summary(user)
    except SQLAlchemyError:
        # The error page of a database outage must still render without it.
        return None
    return found if found.count else None


def register(app: Flask) -> None:
    # {% do %} lets macros build attribute dicts (macros/forms.html).
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(money, "money")
    app.add_template_filter(face_value, "face_value")
    app.add_template_filter(format_date, "date")
    app.add_template_global(status_label)
    app.add_template_global(status_tone)
    app.add_template_global(refund_failure)
    app.add_template_global(nav_items)
    app.add_template_global(optional_url)
    app.add_template_global(pending_disputes)
    app.context_processor(_template_context)
