"""Audit trail: every money or permission event is recorded inside the same transaction.

Entries are append-only (see ``models.audit``). Actions are dotted names, area first:
``user.registered``, ``user.password_changed``, ``user.promoted_admin``,
``user.status_changed``, ``order.created``, ``order.paid``, ``order.refunded``,
``order.disputed``, ``admin.<what>``, ``webhook.rejected`` — docs/SECURITY.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from stubcollector.domain.errors import PermissionDenied
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, User
from stubcollector.services.transaction import transaction

ACTOR_KINDS = ("user", "admin", "system", "webhook")


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | str | None,
    actor: User | None = None,
    actor_kind: str | None = None,
    actor_user_id: int | None = None,
    before: str | None = None,
    after: str | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> AuditLogEntry:
    """Add an audit entry to ``session``; it commits (or not) with the caller's work.

    ``actor_user_id`` names the acting user when only their id is at hand (with
    ``actor_kind``); ``actor`` wins when both are given.
    """
    kind = actor_kind or ("system" if actor is None else ("admin" if actor.is_admin else "user"))
    entry = AuditLogEntry(
        actor_user_id=actor.id if actor is not None else actor_user_id,
        actor_kind=kind,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before_status=before,
        after_status=after,
        ip_address=ip_address,
        details=details,
    )
    session.add(entry)
    return entry


def record_admin_action(
    session: Session,
    *,
    admin: User,
    action: str,
    object_type: str,
    object_id: int | str | None,
    before: str | None = None,
    after: str | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> AuditLogEntry:
    """An admin changed something (refund, account status, ...); call in the same transaction.

    Refuses a non-admin actor so that a service cannot log an admin action for a caller it
    forgot to authorise.
    """
    if not admin.is_admin:
        raise PermissionDenied("admins only")
    name = action if action.startswith("admin.") else f"admin.{action}"
    return record(
        session,
        action=name,
        object_type=object_type,
        object_id=object_id,
        actor=admin,
        actor_kind="admin",
        before=before,
        after=after,
        ip_address=ip_address,
        **details,
    )


def record_webhook_rejection(
    *,
    provider: str,
    reason: str,
    endpoint: str,
    ip_address: str | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
) -> AuditLogEntry:
    """A webhook was refused (bad signature, stale timestamp, unknown IP, malformed body).

    Owns its transaction: the rejected request has no other work to commit with it. Only
    our own words and the provider's ids are stored, never the untrusted body.
    """
    with transaction() as session:
        return record(
            session,
            action="webhook.rejected",
            object_type="webhook",
            object_id=event_id,
            actor_kind="webhook",
            ip_address=ip_address,
            provider=provider,
            reason=reason,
            endpoint=endpoint,
            event_type=event_type,
        )


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    actor_user_id: int | None = None
    actor_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditEntryView:
    """One audit entry as the audit-log API shows it; fields in the API's order."""

    id: int
    created_at: datetime
    actor_user_id: int | None
    actor_kind: str
    action: str
    object_type: str
    object_id: str | None
    before_status: str | None
    after_status: str | None
    ip_address: str | None
    details: Mapping[str, Any]


def search(
    filters: AuditFilter, *, page: int, per_page: int
) -> tuple[tuple[AuditEntryView, ...], int]:
    """Entries matching every given filter, newest first, and how many match in total."""
    query: Select[tuple[AuditLogEntry]] = select(AuditLogEntry)
    if filters.action is not None:
        # "order." matches every order event; a full name matches just that action.
        if filters.action.endswith("."):
            query = query.where(AuditLogEntry.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditLogEntry.action == filters.action)
    if filters.object_type is not None:
        query = query.where(AuditLogEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditLogEntry.object_id == filters.object_id)
    if filters.actor_user_id is not None:
        query = query.where(AuditLogEntry.actor_user_id == filters.actor_user_id)
    if filters.actor_kind is not None:
        query = query.where(AuditLogEntry.actor_kind == filters.actor_kind)
    if filters.since is not None:
        query = query.where(AuditLogEntry.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditLogEntry.created_at < filters.until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.session.scalars(
        query.order_by(AuditLogEntry.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return tuple(_entry_view(entry) for entry in entries), total


def _entry_view(entry: AuditLogEntry) -> AuditEntryView:
    return AuditEntryView(
        id=entry.id,
        created_at=entry.created_at,
        actor_user_id=entry.actor_user_id,
        actor_kind=entry.actor_kind,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        before_status=entry.before_status,
        after_status=entry.after_status,
        ip_address=entry.ip_address,
        details=dict(entry.details or {}),
    )
