from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from stubcollector.models.base import Base, utcnow


class AuditLogEntry(Base):
    """Append-only record of money and permission events: who did what to which object.

    The application cannot change or delete an entry (the ORM events below raise); on
    PostgreSQL a trigger (migration s001) refuses it for any client of the database too.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None for the system (webhooks, sweeps); the user otherwise.
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_kind: Mapped[str] = mapped_column(String(20))  # user, admin, system, webhook
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(255))
    before_status: Mapped[str | None] = mapped_column(String(40))
    after_status: Mapped[str | None] = mapped_column(String(40))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    """Code tried to change or delete an audit entry. A programming error, never user input."""


@event.listens_for(AuditLogEntry, "before_update")
def _refuse_update(_mapper: Mapper[Any], _connection: Connection, target: AuditLogEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be changed")


@event.listens_for(AuditLogEntry, "before_delete")
def _refuse_delete(_mapper: Mapper[Any], _connection: Connection, target: AuditLogEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    # Bulk UPDATE/DELETE statements skip the per-object events above; catch them here,
    # whether written against the model or its table.
    if not (state.is_update or state.is_delete):
        return
    # ORM statements carry an annotated copy of the table, so compare by name.
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == AuditLogEntry.__tablename__:
        raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")
