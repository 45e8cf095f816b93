"""Disputes that must be answered: which need a response, and what evidence the app sends.

A chargeback the seller does not answer by its deadline is lost. The app lets the seller (or
an admin) answer it: text fields and uploaded files, sent to Stripe as the dispute's
``evidence`` (docs.stripe.com/api/disputes/update). These are the fields a ticket-stub sale
can speak to; Stripe has more (its full list is in the sandbox, ``sandbox/objects.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from stubcollector.domain.errors import ValidationFailed

# Stripe's Dispute.status values in which evidence can still be given (an inquiry is a
# "warning_"), and those that are decided.
ANSWERABLE_STATUSES: Final = frozenset({"needs_response", "warning_needs_response"})
CLOSED_STATUSES: Final = frozenset({"won", "lost", "warning_closed", "prevented"})
# Per field, Stripe's limit ("Has a maximum character count of 20,000") and for all fields
# together ("The combined character count of all fields is limited to 150,000").
FIELD_MAX_CHARACTERS: Final = 20_000
TOTAL_MAX_CHARACTERS: Final = 150_000
# docs.stripe.com/file-upload: dispute evidence is PDF, JPEG or PNG, 5 MB at most.
FILE_MAX_BYTES: Final = 5 * 1024 * 1024
FILE_TYPES: Final = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class EvidenceField:
    label: str
    hint: str
    multiline: bool = False
    max_length: int = FIELD_MAX_CHARACTERS


# Text evidence, in the order the form shows it. Names are Stripe's evidence keys. The
# buyer's email address is sent too (``customer_email_address``), by the app itself: the
# seller does not get to see it.
TEXT_FIELDS: Final[Mapping[str, EvidenceField]] = {
    "product_description": EvidenceField(
        "What was sold",
        "The stub: event, date, venue, seat, condition, and how the listing described it.",
        multiline=True,
    ),
    "customer_name": EvidenceField("Buyer's name", "As the buyer gave it.", max_length=5000),
    "shipping_carrier": EvidenceField(
        "Shipping carrier", "USPS, UPS, FedEx, ...; several separated by commas.", max_length=5000
    ),
    "shipping_tracking_number": EvidenceField(
        "Tracking number", "Several separated by commas.", max_length=5000
    ),
    "shipping_date": EvidenceField(
        "Shipping date", "When the stub was sent, e.g. 2026-11-03.", max_length=5000
    ),
    "shipping_address": EvidenceField(
        "Shipping address", "Where the stub was sent.", multiline=True, max_length=5000
    ),
    "refund_refusal_explanation": EvidenceField(
        "Why no refund was given",
        "If the buyer asked for a refund: why it was not given.",
        multiline=True,
    ),
    "uncategorized_text": EvidenceField(
        "Anything else",
        "Messages with the buyer, proof the stub arrived, anything that shows the sale was "
        "genuine and as described.",
        multiline=True,
    ),
}

# File evidence (the id of a file uploaded with purpose dispute_evidence), with its label.
FILE_FIELDS: Final[Mapping[str, str]] = {
    "receipt": "Receipt or order confirmation",
    "shipping_documentation": "Proof of shipping or delivery",
    "customer_communication": "Messages with the buyer",
    "uncategorized_file": "Other document",
}


def needs_response(status: str, due_by: datetime | None, now: datetime) -> bool:
    """Whether a dispute waits for evidence that can still be given."""
    return status in ANSWERABLE_STATUSES and (due_by is None or due_by > now)


def clean_evidence(fields: Mapping[str, object]) -> dict[str, str]:
    """The text evidence as Stripe takes it: known fields only, trimmed, within the limits.

    Empty fields are left out. Raises :class:`ValidationFailed` naming the first field that
    is not text, unknown or too long.
    """
    cleaned: dict[str, str] = {}
    for name, value in fields.items():
        if name not in TEXT_FIELDS:
            raise ValidationFailed(name, "is not evidence this app sends")
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValidationFailed(name, "must be text")
        text = value.strip()
        if len(text) > TEXT_FIELDS[name].max_length:
            raise ValidationFailed(
                name, f"must be at most {TEXT_FIELDS[name].max_length:,} characters"
            )
        if text:
            cleaned[name] = text
    if sum(len(text) for text in cleaned.values()) > TOTAL_MAX_CHARACTERS:
        raise ValidationFailed("evidence", f"must be at most {TOTAL_MAX_CHARACTERS:,} characters")
    return cleaned


def file_type(content: bytes) -> str | None:
    """``pdf``, ``png`` or ``jpg`` judged by the content itself, else None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None
