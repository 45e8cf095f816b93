"""The audit trail: append-only in the application and the database; admins can filter it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from stubcollector.domain.errors import PermissionDenied
from stubcollector.extensions import db
from stubcollector.models import AuditLogEntry, User
from stubcollector.models.audit import AuditLogIsAppendOnly
from stubcollector.services import audit
from stubcollector.services.transaction import transaction
from tests.support.clients import AuthActions
from tests.support.factories import AdminFactory, UserFactory


def _entry(action: str = "order.paid", **changes: object) -> AuditLogEntry:
    with transaction() as session:
        entry = audit.record(
            session,
            action=action,
            object_type=str(changes.pop("object_type", "order")),
            object_id=changes.pop("object_id", 7),  # type: ignore[arg-type]
            before=str(changes.pop("before", "payment_pending")),
            after=str(changes.pop("after", "payment_completed")),
            **changes,
        )
    return entry


class TestAppendOnly:
    def test_changing_an_entry_is_refused(self, app: Flask) -> None:
        entry = _entry()
        entry.after_status = "refunded"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditLogEntry, entry.id).after_status == "payment_completed"

    def test_deleting_an_entry_is_refused(self, app: Flask) -> None:
        entry = _entry()
        db.session.delete(entry)
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditLogEntry, entry.id) is not None

    @pytest.mark.parametrize(
        "statement",
        [
            sa.update(AuditLogEntry).values(after_status="refunded"),
            sa.delete(AuditLogEntry),
            sa.update(AuditLogEntry.__table__).values(after_status="refunded"),
            sa.delete(AuditLogEntry.__table__),
        ],
        ids=["orm-update", "orm-delete", "table-update", "table-delete"],
    )
    def test_bulk_statements_through_the_session_are_refused(
        self, app: Flask, statement: sa.Executable
    ) -> None:
        _entry()
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.execute(statement)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(AuditLogEntry.id))) == 1

    def test_the_database_refuses_raw_sql_on_postgresql(self, app: Flask) -> None:
        entry = _entry()
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigger exists on PostgreSQL only (SQLite: application guard)")
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET after_status = 'refunded'"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
        assert db.session.get(AuditLogEntry, entry.id).after_status == "payment_completed"

    def test_erasing_the_actor_keeps_the_entry(self, app: Flask) -> None:
        user = UserFactory.create()
        with transaction() as session:
            audit.record(
                session,
                action="user.registered",
                object_type="user",
                object_id=1,
                actor=session.merge(user),
            )
        with db.engine.begin() as connection:
            connection.execute(sa.delete(User.__table__).where(User.__table__.c.id == user.id))
        db.session.expire_all()
        entry = db.session.scalars(sa.select(AuditLogEntry)).one()
        assert entry.actor_user_id is None
        assert entry.action == "user.registered"


class TestHooks:
    def test_webhook_rejection_is_recorded_without_the_body(self, app: Flask) -> None:
        entry = audit.record_webhook_rejection(
            provider="stripe",
            reason="bad signature",
            endpoint="/api/payments/webhook",
            ip_address="203.0.113.9",
            event_id="evt_123",
        )
        stored = db.session.get(AuditLogEntry, entry.id)
        assert (stored.action, stored.actor_kind, stored.object_id) == (
            "webhook.rejected",
            "webhook",
            "evt_123",
        )
        assert stored.details["reason"] == "bad signature"

    def test_admin_action_needs_an_admin(self, app: Flask) -> None:
        admin, user = AdminFactory.create(), UserFactory.create()
        with transaction() as session:
            entry = audit.record_admin_action(
                session,
                admin=admin,
                action="user.suspended",
                object_type="user",
                object_id=user.id,
                before="active",
                after="suspended",
            )
        assert entry.action == "admin.user.suspended"
        assert entry.actor_kind == "admin"
        with pytest.raises(PermissionDenied), transaction() as session:
            audit.record_admin_action(
                session, admin=user, action="user.suspended", object_type="user", object_id=1
            )
        assert db.session.scalar(sa.select(sa.func.count(AuditLogEntry.id))) == 1

    def test_registration_is_audited_with_the_ip(self, client: FlaskClient) -> None:
        client.post(
            "/auth/register",
            json={"username": "newbie", "email": "n@example.com", "password": "long enough 42"},
        )
        entry = db.session.scalars(sa.select(AuditLogEntry)).one()
        assert (entry.action, entry.ip_address) == ("user.registered", "127.0.0.1")


@pytest.fixture
def admin_client(app: Flask, client: FlaskClient, auth: AuthActions) -> FlaskClient:
    admin = AdminFactory.create()
    assert auth.login(admin.username).status_code == 200
    return client


class TestAdminApi:
    def test_only_admins_read_it(self, client: FlaskClient, auth: AuthActions) -> None:
        assert client.get("/api/admin/audit-log").status_code == 401
        user = UserFactory.create()
        auth.login(user.username)
        response = client.get("/api/admin/audit-log")
        assert response.status_code == 403
        assert response.json["status"] == "error"

    def test_filters_and_pagination(self, admin_client: FlaskClient) -> None:
        for order_id in (1, 2, 3):
            _entry("order.paid", object_id=order_id)
        _entry("order.refunded", object_id=2, before="payment_completed", after="refunded")
        _entry("user.status_changed", object_type="user", object_id=2)

        def get(**params: object) -> dict:
            response = admin_client.get("/api/admin/audit-log", query_string=params)
            assert response.status_code == 200, response.json
            return response.json

        everything = get()
        assert everything["total"] == 5
        assert [e["id"] for e in everything["entries"]] == sorted(
            (e["id"] for e in everything["entries"]), reverse=True
        )
        assert get(action="order.paid")["total"] == 3
        assert get(action="order.")["total"] == 4
        only = get(object_type="order", object_id="2", action="order.refunded")
        assert only["total"] == 1
        assert only["entries"][0]["before_status"] == "payment_completed"
        assert only["entries"][0]["after_status"] == "refunded"
        assert get(object_type="user")["total"] == 1
        page = get(per_page=2, page=3)
        assert (page["page"], page["per_page"], page["total"], len(page["entries"])) == (3, 2, 5, 1)

    def test_actor_and_time_filters(self, admin_client: FlaskClient) -> None:
        actor = UserFactory.create()
        with transaction() as session:
            audit.record(
                session,
                action="order.created",
                object_type="order",
                object_id=9,
                actor=session.merge(actor),
            )
        _entry()
        assert (
            admin_client.get("/api/admin/audit-log", query_string={"actor": actor.id}).json["total"]
            == 1
        )
        assert (
            admin_client.get("/api/admin/audit-log", query_string={"actor_kind": "system"}).json[
                "total"
            ]
            == 1
        )
        now = datetime.now(UTC)
        window = {
            "since": (now - timedelta(minutes=5)).isoformat(),
            "until": (now + timedelta(minutes=5)).isoformat(),
        }
        assert admin_client.get("/api/admin/audit-log", query_string=window).json["total"] == 2
        later = {"since": (now + timedelta(minutes=5)).isoformat()}
        assert admin_client.get("/api/admin/audit-log", query_string=later).json["total"] == 0

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"since": "2026-01-01T00:00:00"}, "since"),  # no time zone: ambiguous
            ({"until": "9999-12-31T23:59:59-23:59"}, "until"),  # past datetime.max in UTC
            ({"actor": "someone"}, "actor"),
            ({"per_page": "1000"}, "per_page"),
            ({"actor_kind": "robot"}, "actor_kind"),
            ({"action": "x\x00"}, "action"),
        ],
    )
    def test_bad_filters_are_422_naming_the_field(
        self, admin_client: FlaskClient, params: dict[str, str], field: str
    ) -> None:
        response = admin_client.get("/api/admin/audit-log", query_string=params)
        assert response.status_code == 422
        assert field in response.json["errors"]
