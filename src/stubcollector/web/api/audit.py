"""Admin: the audit trail, filtered and paginated (read-only; entries are append-only)."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from flask import Blueprint
from flask.typing import ResponseReturnValue
from pydantic import AwareDatetime, Field, field_validator

from stubcollector.services import audit
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.current import require_admin
from stubcollector.web.envelope import ok
from stubcollector.web.routing import MAX_PATH_INT
from stubcollector.web.schemas import QueryModel, ResponseModel, SuccessEnvelope

bp = Blueprint("admin_audit", __name__, url_prefix="/api/admin/audit-log")


class AuditLogQuery(QueryModel):
    action: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="An action name (`order.refunded`) or an area ending in a dot (`order.`)",
    )
    object_type: str | None = Field(default=None, min_length=1, max_length=40)
    object_id: str | None = Field(default=None, min_length=1, max_length=255)
    actor: int | None = Field(default=None, ge=0, le=MAX_PATH_INT, description="Actor's user id")
    actor_kind: Literal["user", "admin", "system", "webhook"] | None = None
    since: AwareDatetime | None = Field(default=None, description="Entries at or after this time")
    until: AwareDatetime | None = Field(default=None, description="Entries before this time")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=200)

    @field_validator("since", "until", mode="after")
    @classmethod
    def _in_utc(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # e.g. 9999-12-31T23:00-05:00 is past the largest datetime once in UTC.
            raise ValueError("is out of range") from None


class AuditEntry(ResponseModel):
    id: int
    created_at: str
    actor_user_id: int | None
    actor_kind: str
    action: str
    object_type: str
    object_id: str | None
    before_status: str | None
    after_status: str | None
    ip_address: str | None
    details: dict[str, Any]


class AuditLogEnvelope(SuccessEnvelope):
    entries: list[AuditEntry]
    page: int
    per_page: int
    total: int


@bp.get("")
@api_endpoint(
    summary="The audit trail, newest first (admins only)",
    tags=["admin"],
    admin=True,
    query=AuditLogQuery,
    responses={200: AuditLogEnvelope},
)
def audit_log(query: AuditLogQuery) -> ResponseReturnValue:
    require_admin()
    entries, total = audit.search(
        audit.AuditFilter(
            action=query.action,
            object_type=query.object_type,
            object_id=query.object_id,
            actor_user_id=query.actor,
            actor_kind=query.actor_kind,
            since=query.since,
            until=query.until,
        ),
        page=query.page,
        per_page=query.per_page,
    )
    return ok(
        entries=entries,
        page=query.page,
        per_page=query.per_page,
        total=total,
    )
