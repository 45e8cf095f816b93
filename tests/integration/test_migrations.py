"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from stubcollector.extensions import db
from stubcollector.models import Base
from stubcollector.models.search import include_object


def _pending_diff(app: Flask) -> list[object]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            # The same hook as migrations/env.py: PostgreSQL-only indexes are not in the models.
            opts={"compare_type": True, "render_as_batch": True, "include_object": include_object},
        )
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_equals_the_models(migrated_app: Flask) -> None:
    assert _pending_diff(migrated_app) == []


def test_migrations_run_down_to_empty_and_up_again(make_app: object) -> None:
    app = make_app()  # type: ignore[operator]
    with app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()
    assert _pending_diff(app) == []


def test_refunds_recorded_before_r001_become_succeeded_first_attempts(make_app: object) -> None:
    from sqlalchemy import select

    from stubcollector.adapters.payments.sandbox.models import (
        SandboxAccount,
        SandboxPaymentIntent,
        SandboxRefund,
    )
    from stubcollector.models import (
        StubPayment,
        StubRefund,
        utcnow,
    )
    from tests.support.factories import OrderFactory

    app = make_app()  # type: ignore[operator]
    with app.app_context():
        # As the code before r001 left a refund: on the payment (and the sandbox's PI). The
        # rows are written at the head revision (the models' columns) with nothing in the
        # tables r001 creates, then the schema goes down to c001 and up again: written at
        # c001 through today's models, they would name columns c001 does not have.
        try:
            order = OrderFactory.create(order_status="refunded")
            refunded_at = utcnow()
            db.session.add_all(
                [
                    StubPayment(
                        order_id=order.id,
                        stripe_account_id="acct_legacy",
                        payment_intent_id="pi_legacy",
                        idempotency_key=f"order:{order.id}:payment_intent",
                        amount_total_cents=2500,
                        platform_fee_cents=250,
                        amount_refunded_cents=2500,
                        payment_status="refunded",
                        refund_id="re_legacy",
                        refunded_at=refunded_at,
                    ),
                    SandboxAccount(id="acct_legacy"),
                ]
            )
            db.session.flush()
            db.session.add(
                SandboxPaymentIntent(
                    id="pi_legacy",
                    account_id="acct_legacy",
                    amount=2500,
                    application_fee_amount=250,
                    status="succeeded",
                    client_secret="pi_legacy_secret",
                    charge_id="ch_legacy",
                    amount_refunded=2500,
                    refund_id="re_legacy",
                    refunded_at=refunded_at,
                )
            )
            db.session.commit()
            order_id = order.id
        finally:
            db.session.remove()
        downgrade(revision="c001")
        upgrade()
        refund = db.session.scalars(select(StubRefund)).one()
        assert (refund.order_id, refund.attempt, refund.idempotency_key) == (
            order_id,
            1,
            f"order:{order_id}:refund",
        )
        assert (refund.refund_id, refund.status, refund.amount_cents) == (
            "re_legacy",
            "succeeded",
            2500,
        )
        assert refund.settled_at is not None
        sandbox_refund = db.session.scalars(select(SandboxRefund)).one()
        assert (sandbox_refund.id, sandbox_refund.payment_intent_id, sandbox_refund.amount) == (
            "re_legacy",
            "pi_legacy",
            2500,
        )
        assert sandbox_refund.status == "succeeded"
        db.session.remove()


def test_z001_gives_each_database_its_own_key_namespace_and_keeps_existing_holds(
    make_app: object, tmp_path: object
) -> None:
    from pathlib import Path

    import sqlalchemy as sa

    from stubcollector.models import AppSetting, User

    def namespace() -> str | None:
        return db.session.scalar(
            sa.select(AppSetting.value).where(AppSetting.name == "idempotency_namespace")
        )

    app = make_app()  # type: ignore[operator]
    with app.app_context():
        downgrade(revision="d001")
        # Two sellers' rows as the code before z001 left them: one with an account (its
        # hold was set before its id was stored), one without.
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (username, email, password_hash, session_token, "
                    "is_admin, is_seller, is_active_account, stripe_account_id, "
                    "stripe_account_status, stripe_onboarding_completed, "
                    "stripe_charges_enabled, stripe_payouts_enabled, stripe_details_submitted, "
                    "stripe_requirements_due, created_at, updated_at) VALUES "
                    "('legacy', 'legacy@example.com', 'x', 'tok1', false, true, true, "
                    "'acct_legacy', 'active', true, true, true, true, '[]', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
                    "('buyer', 'buyer@example.com', 'x', 'tok2', false, false, true, NULL, "
                    "'pending', false, false, false, false, '[]', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        statuses = dict(
            db.session.execute(sa.select(User.username, User.stripe_payout_schedule_status)).all()
        )
        assert statuses == {"legacy": "set", "buyer": None}
        first = namespace()
        assert first is not None
        assert len(first) == 12
        db.session.remove()

    # Another database (a fresh SQLite file) gets a namespace of its own.
    other = make_app(  # type: ignore[operator]
        database_url=f"sqlite:///{Path(str(tmp_path)) / 'other.db'}"
    )
    with other.app_context():
        upgrade()
        assert namespace() not in (None, first)
        db.session.remove()
        db.engine.dispose()
