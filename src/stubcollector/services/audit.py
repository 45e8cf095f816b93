"""Audit trail: every money or permission event is recorded inside the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stubcollector.models import AuditLogEntry, User


def record(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | str | None,
    actor: User | None = None,
    actor_kind: str | None = None,
    before: str | None = None,
    after: str | None = None,
    ip_address: str | None = None,
    **details: Any,
) -> AuditLogEntry:
    """Add an audit entry to ``session``; it commits (or not) with the caller's work."""
    kind = actor_kind or ("system" if actor is None else ("admin" if actor.is_admin else "user"))
    entry = AuditLogEntry(
        actor_user_id=actor.id if actor is not None else None,
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
