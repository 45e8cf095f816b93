"""Answering disputes: the seller (or an admin) sees a dispute with its deadline and sends
evidence from the app (issue 16 point 4).

A chargeback that gets no answer by its deadline is lost, and with direct charges the
disputed amount comes out of the seller's balance (and, with ``losses.payments=
application``, out of the platform's when the seller's cannot cover it). So the seller of
the order and admins can:

* list their disputes, the ones needing a response first (:func:`seller_disputes`,
  :func:`needs_response_summary` for the banner every page shows);
* read one with what the app knows that helps (:func:`get_dispute`);
* upload files (PDF, JPEG, PNG, 5 MB at most) to the provider, on the seller's account
  (:func:`upload_evidence_file`);
* stage the evidence (text fields and the files) or submit it to the bank, once
  (:func:`send_evidence`). Stripe's evidence update "submits all fields in the hash", so
  the whole set is sent every time; its idempotency key is derived from the dispute and
  the content, so a retry of the same answer can never be a second one.

Provider calls are made outside transactions; what the provider answers is applied through
``disputes.apply_dispute`` like any event, so the dispute's status (``under_review``) and
its audit entries come from one place. Nobody else sees a dispute: to a buyer or another
user it does not exist (404).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from stubcollector.container import payment_gateway
from stubcollector.domain import disputes as rules
from stubcollector.domain.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from stubcollector.models import (
    Stub,
    StubDispute,
    StubDisputeFile,
    StubListing,
    StubOrder,
    StubPayment,
    User,
    utcnow,
)
from stubcollector.services import audit, idempotency
from stubcollector.services.orders import costs, disputes
from stubcollector.services.orders.state import Actor
from stubcollector.services.transaction import transaction

MAX_FILENAME = 100
MAX_PER_PAGE = 100
DISPUTE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


@dataclass(frozen=True)
class EvidenceFileView:
    field: str
    file_id: str
    filename: str
    size: int
    file_type: str
    uploaded_at: datetime


@dataclass(frozen=True)
class DisputeSummary:
    """One dispute in a list (the seller's disputes page, ``GET /api/disputes``)."""

    dispute_id: str
    order_id: int
    status: str
    reason: str | None
    amount_cents: int
    evidence_due_by: datetime | None
    needs_response: bool
    has_evidence: bool
    submission_count: int
    created_at: datetime
    closed_at: datetime | None
    stub_title: str


@dataclass(frozen=True)
class DisputeDetail:
    """A dispute as its seller and admins see it, with its evidence so far and what the
    form suggests (``GET /api/disputes/<id>``, the dispute page)."""

    dispute_id: str
    order_id: int
    order_status: str
    status: str
    reason: str | None
    amount_cents: int
    funds_withdrawn_cents: int
    funds_reinstated_cents: int
    evidence_due_by: datetime | None
    needs_response: bool
    can_answer: bool
    # Why the evidence can no longer be changed (submitted, decided, deadline passed).
    closed_reason: str | None
    has_evidence: bool
    submission_count: int
    evidence_submitted_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    stub_title: str
    # The text evidence as last sent; before anything was sent, what the app suggests.
    evidence: dict[str, str]
    files: tuple[EvidenceFileView, ...]


@dataclass(frozen=True)
class DisputePage:
    disputes: tuple[DisputeSummary, ...]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class PendingDisputes:
    """What the banner says: how many disputes wait for this user's answer, the nearest
    deadline, and where to answer them."""

    count: int
    earliest_due: datetime | None
    for_admin: bool


# --- reading -----------------------------------------------------------------------------
def _title(event_name: str | None, performer: str | None) -> str:
    return event_name or performer or "Ticket stub"


def _visible_to(statement: Select[Any], user: User) -> Select[Any]:
    """Disputes on the user's own sales; every dispute for an admin."""
    return statement if user.is_admin else statement.where(StubOrder.seller_id == user.id)


def _answerable() -> Any:
    return StubDispute.status.in_(sorted(rules.ANSWERABLE_STATUSES))


def seller_disputes(
    user: User, *, open_only: bool = False, page: int = 1, per_page: int = 25, mine: bool = False
) -> DisputePage:
    """The disputes a user answers: those on their sales (``mine``, or any non-admin), or
    every dispute for an admin; those needing a response first, by deadline, then newest."""
    if page < 1:
        raise ValidationFailed("page", "must be 1 or more")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed("per_page", f"must be between 1 and {MAX_PER_PAGE}")
    now = utcnow()
    statement = (
        select(StubDispute, Stub.event_name, Stub.performer)
        .join(StubOrder, StubOrder.id == StubDispute.order_id)
        .join(StubListing, StubListing.id == StubOrder.stub_listing_id)
        .join(Stub, Stub.id == StubListing.stub_id)
    )
    statement = (
        statement.where(StubOrder.seller_id == user.id) if mine else _visible_to(statement, user)
    )
    if open_only:
        statement = statement.where(StubDispute.closed_at.is_(None))
    waiting = _answerable() & (
        StubDispute.evidence_due_by.is_(None) | (StubDispute.evidence_due_by > now)
    )
    ordered = statement.order_by(
        waiting.desc(),
        StubDispute.evidence_due_by.asc().nulls_last(),
        StubDispute.created_at.desc(),
        StubDispute.id.desc(),
    )
    with transaction() as session:
        total = int(
            session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
            or 0
        )
        rows = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
        return DisputePage(
            tuple(_summary(dispute, event, performer, now) for dispute, event, performer in rows),
            page,
            per_page,
            total,
        )


def _summary(
    dispute: StubDispute, event_name: str | None, performer: str | None, now: datetime
) -> DisputeSummary:
    return DisputeSummary(
        dispute_id=dispute.dispute_id,
        order_id=dispute.order_id,
        status=dispute.status,
        reason=dispute.reason,
        amount_cents=dispute.amount_cents,
        evidence_due_by=dispute.evidence_due_by,
        needs_response=rules.needs_response(dispute.status, dispute.evidence_due_by, now),
        has_evidence=dispute.has_evidence,
        submission_count=dispute.submission_count,
        created_at=dispute.created_at,
        closed_at=dispute.closed_at,
        stub_title=_title(event_name, performer),
    )


def needs_response_summary(user: User) -> PendingDisputes:
    """Disputes waiting for ``user``'s answer (their sales'; every one for an admin)."""
    now = utcnow()
    statement = (
        select(func.count(StubDispute.id), func.min(StubDispute.evidence_due_by))
        .join(StubOrder, StubOrder.id == StubDispute.order_id)
        .where(
            _answerable(),
            StubDispute.evidence_due_by.is_(None) | (StubDispute.evidence_due_by > now),
        )
    )
    with transaction() as session:
        count, earliest = session.execute(_visible_to(statement, user)).one()
    return PendingDisputes(int(count or 0), earliest, for_admin=user.is_admin)


def _load(session: Session, user: User, dispute_id: str, *, lock: bool = False) -> StubDispute:
    """The dispute if ``user`` is the order's seller or an admin; else it does not exist."""
    if not DISPUTE_ID.fullmatch(dispute_id):
        # Not an id the provider gives (dp_..., du_...): nothing to look up.
        raise NotFound("dispute not found")
    statement = select(StubDispute).where(StubDispute.dispute_id == dispute_id)
    if lock:
        statement = statement.with_for_update()
    dispute = session.scalars(statement).first()
    if dispute is None:
        raise NotFound("dispute not found")
    seller_id = session.scalar(select(StubOrder.seller_id).where(StubOrder.id == dispute.order_id))
    if not (user.is_admin or seller_id == user.id):
        raise NotFound("dispute not found")
    return dispute


def _closed_reason(dispute: StubDispute, now: datetime) -> str | None:
    if dispute.status in rules.CLOSED_STATUSES:
        return f"This dispute is closed ({dispute.status.replace('_', ' ')})."
    if dispute.status not in rules.ANSWERABLE_STATUSES:
        if dispute.submission_count:
            return "The evidence was sent to the buyer's bank; it is under review."
        return (
            f"The dispute is {dispute.status.replace('_', ' ')}: its evidence can no longer "
            "be changed."
        )
    if dispute.evidence_due_by is not None and dispute.evidence_due_by <= now:
        return "The deadline to respond has passed."
    return None


def _current_files(session: Session, dispute: StubDispute) -> tuple[EvidenceFileView, ...]:
    """The latest file of each evidence field (an upload replaces the one before it)."""
    rows = session.scalars(
        select(StubDisputeFile)
        .where(StubDisputeFile.dispute_row_id == dispute.id)
        .order_by(StubDisputeFile.updated_at, StubDisputeFile.id)
    ).all()
    latest = {row.field: row for row in rows}
    return tuple(
        EvidenceFileView(
            field=row.field,
            file_id=row.file_id,
            filename=row.filename,
            size=row.size,
            file_type=row.file_type,
            uploaded_at=row.created_at,
        )
        for name in rules.FILE_FIELDS
        if (row := latest.get(name)) is not None
    )


def _suggested_evidence(session: Session, order: StubOrder) -> dict[str, str]:
    """What the app knows that answers a dispute, as a first draft: the stub and how it was
    listed, the buyer's name. Shipping (carrier, tracking number, date, address) is added
    here once orders are shipped through the app (the shipping issue)."""
    found = session.execute(
        select(Stub, StubListing.description, User.display_name, User.username)
        .join(StubListing, StubListing.stub_id == Stub.id)
        .join(User, User.id == order.buyer_id)
        .where(StubListing.id == order.stub_listing_id)
    ).first()
    if found is None:
        return {}
    stub, description, display_name, username = found
    parts = [
        "A collectible paper ticket stub sold on Stub Collector, a marketplace for used stubs:",
        ", ".join(
            str(value)
            for value in (
                stub.event_name,
                stub.performer,
                stub.venue,
                stub.city,
                stub.event_date,
                " ".join(
                    f"{label} {value}"
                    for label, value in (
                        ("section", stub.section),
                        ("row", stub.row),
                        ("seat", stub.seat),
                    )
                    if value
                ),
            )
            if value
        )
        + ".",
    ]
    if description:
        parts.append(f"The listing said: {description}")
    paid = order.payment_confirmed_at
    if paid is not None:
        parts.append(f"Paid on {paid:%Y-%m-%d} (order {order.id}).")
    return {
        "product_description": " ".join(parts),
        "customer_name": display_name or username,
    }


def _detail(session: Session, dispute: StubDispute, now: datetime) -> DisputeDetail:
    order = session.get(StubOrder, dispute.order_id)
    assert order is not None
    title = session.execute(
        select(Stub.event_name, Stub.performer)
        .join(StubListing, StubListing.stub_id == Stub.id)
        .where(StubListing.id == order.stub_listing_id)
    ).first()
    closed_reason = _closed_reason(dispute, now)
    sent = {k: v for k, v in (dispute.evidence or {}).items() if k in rules.TEXT_FIELDS}
    return DisputeDetail(
        dispute_id=dispute.dispute_id,
        order_id=order.id,
        order_status=order.order_status,
        status=dispute.status,
        reason=dispute.reason,
        amount_cents=dispute.amount_cents,
        funds_withdrawn_cents=dispute.funds_withdrawn_cents,
        funds_reinstated_cents=dispute.funds_reinstated_cents,
        evidence_due_by=dispute.evidence_due_by,
        needs_response=rules.needs_response(dispute.status, dispute.evidence_due_by, now),
        can_answer=closed_reason is None,
        closed_reason=closed_reason,
        has_evidence=dispute.has_evidence,
        submission_count=dispute.submission_count,
        evidence_submitted_at=dispute.evidence_submitted_at,
        created_at=dispute.created_at,
        closed_at=dispute.closed_at,
        stub_title=_title(*(title or (None, None))),
        # What was sent; before that, a first draft of what the app knows (if it may still
        # be sent).
        evidence=(
            sent
            if dispute.evidence
            else (_suggested_evidence(session, order) if closed_reason is None else {})
        ),
        files=_current_files(session, dispute),
    )


def get_dispute(user: User, dispute_id: str) -> DisputeDetail:
    with transaction() as session:
        return _detail(session, _load(session, user, dispute_id), utcnow())


# --- answering ---------------------------------------------------------------------------
def _require_answerable(dispute: StubDispute, now: datetime) -> None:
    reason = _closed_reason(dispute, now)
    if reason is not None:
        raise Conflict(reason)


def _account_of(session: Session, dispute: StubDispute) -> str:
    account = session.scalar(
        select(StubPayment.stripe_account_id).where(StubPayment.order_id == dispute.order_id)
    )
    if account is None:
        raise Conflict("this dispute's payment is not known")
    return str(account)


def _record_admin_action(
    session: Session, user: User, dispute: StubDispute, action: str, ip_address: str | None
) -> None:
    seller_id = session.scalar(select(StubOrder.seller_id).where(StubOrder.id == dispute.order_id))
    if user.is_admin and seller_id != user.id:
        audit.record_admin_action(
            session,
            admin=user,
            action=action,
            object_type="dispute",
            object_id=dispute.dispute_id,
            ip_address=ip_address,
            order_id=dispute.order_id,
        )


def upload_evidence_file(
    user: User,
    dispute_id: str,
    *,
    field: str,
    filename: str,
    content: bytes,
    ip_address: str | None = None,
) -> EvidenceFileView:
    """Upload one file to the provider as evidence for ``field`` (the latest one per field
    is what the evidence sends). Checked by content: PDF, JPEG or PNG, 5 MB at most."""
    if field not in rules.FILE_FIELDS:
        raise ValidationFailed("field", f"must be one of {', '.join(rules.FILE_FIELDS)}")
    if not content:
        raise ValidationFailed("file", "the file is empty")
    if len(content) > rules.FILE_MAX_BYTES:
        raise PayloadTooLarge("evidence files must be at most 5 MB")
    kind = rules.file_type(content)
    if kind is None:
        raise UnsupportedMedia("evidence must be a PDF, JPEG or PNG file")
    name = _safe_filename(filename, kind)
    digest = hashlib.sha256(content).hexdigest()[:32]
    with transaction() as session:
        dispute = _load(session, user, dispute_id)
        _require_answerable(dispute, utcnow())
        account_id = _account_of(session, dispute)
    uploaded = payment_gateway().upload_dispute_evidence(
        account_id,
        filename=name,
        content=content,
        # The same file for the same field is one upload, however often it is sent.
        idempotency_key=idempotency.key("dispute", dispute_id, "file", field, digest),
    )
    with transaction() as session:
        dispute = _load(session, user, dispute_id, lock=True)
        row = session.scalars(
            select(StubDisputeFile).where(StubDisputeFile.file_id == uploaded.file_id)
        ).first()
        if row is None:
            row = StubDisputeFile(
                dispute_row_id=dispute.id,
                field=field,
                file_id=uploaded.file_id,
                filename=name,
                size=uploaded.size or len(content),
                file_type=kind,
                uploaded_by_id=user.id,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                action="dispute.evidence_file_uploaded",
                object_type="dispute",
                object_id=dispute_id,
                actor=user,
                ip_address=ip_address,
                field=field,
                file_id=uploaded.file_id,
                size=row.size,
            )
            _record_admin_action(session, user, dispute, "dispute_file_uploaded", ip_address)
        else:
            # The same file again (its key replays the same upload): it is the field's
            # current one once more.
            row.updated_at = utcnow()
        return EvidenceFileView(
            field=row.field,
            file_id=row.file_id,
            filename=row.filename,
            size=row.size,
            file_type=row.file_type,
            uploaded_at=row.created_at,
        )


def _safe_filename(filename: str, kind: str) -> str:
    base = os.path.basename(filename.replace("\\", "/")).strip()
    cleaned = "".join(c for c in base if c.isalnum() or c in "._- ")[:MAX_FILENAME].strip(". ")
    stem = cleaned.rsplit(".", 1)[0] if "." in cleaned else cleaned
    return f"{stem or 'evidence'}.{kind}"


def send_evidence(
    user: User,
    dispute_id: str,
    fields: Mapping[str, object],
    *,
    submit: bool,
    ip_address: str | None = None,
) -> DisputeDetail:
    """Stage (``submit=False``) or submit the evidence: the text ``fields`` and the files
    uploaded for the dispute, as one set. Submitting sends it to the bank; it can be done
    once, before the deadline."""
    text = rules.clean_evidence(fields)
    now = utcnow()
    with transaction() as session:
        dispute = _load(session, user, dispute_id)
        _require_answerable(dispute, now)
        account_id = _account_of(session, dispute)
        evidence: dict[str, str] = dict(text)
        for file in _current_files(session, dispute):
            evidence[file.field] = file.file_id
        if not evidence:
            raise ValidationFailed("evidence", "write something or add a file first")
        email = _buyer_email(session, dispute)
        if email:
            evidence["customer_email_address"] = email
        previous = dict(dispute.evidence or {})
    # The key names this answer given the one before it: a retry of an unanswered request is
    # the same request at the provider, while going back to an earlier draft after another
    # one is a new request (the earlier key would only replay its old answer).
    content = json.dumps([previous, evidence, submit], sort_keys=True).encode()
    digest = hashlib.sha256(content).hexdigest()[:32]
    answered = payment_gateway().submit_dispute_evidence(
        account_id,
        dispute_id,
        evidence=evidence,
        submit=submit,
        idempotency_key=idempotency.key("dispute", dispute_id, "evidence", digest),
    )
    actor = Actor.of(user, ip_address)
    disputes.apply_dispute(answered, actor)
    # Countering a chargeback costs a fee of its own (its event records it too).
    costs.record_dispute_costs_quietly(dispute_id, actor)
    with transaction() as session:
        dispute = _load(session, user, dispute_id, lock=True)
        dispute.evidence = evidence
        dispute.has_evidence = answered.has_evidence or bool(evidence)
        dispute.submission_count = max(dispute.submission_count, answered.submission_count)
        if submit and dispute.evidence_submitted_at is None:
            dispute.evidence_submitted_at = utcnow()
            dispute.evidence_submitted_by_id = user.id
        audit.record(
            session,
            action="dispute.evidence_submitted" if submit else "dispute.evidence_staged",
            object_type="dispute",
            object_id=dispute_id,
            actor=user,
            after=dispute.status,
            ip_address=ip_address,
            fields=sorted(evidence),
        )
        _record_admin_action(
            session,
            user,
            dispute,
            "dispute_evidence_submitted" if submit else "dispute_evidence_staged",
            ip_address,
        )
        return _detail(session, dispute, utcnow())


def _buyer_email(session: Session, dispute: StubDispute) -> str:
    """The buyer's account email goes to the bank as evidence; the seller never sees it."""
    buyer = aliased(User)
    email = session.scalar(
        select(buyer.email)
        .join(StubOrder, StubOrder.buyer_id == buyer.id)
        .where(StubOrder.id == dispute.order_id)
    )
    return str(email or "")


def evidence_field_names() -> Sequence[str]:
    """The text fields the form offers, in order."""
    return tuple(rules.TEXT_FIELDS)
