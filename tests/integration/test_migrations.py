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
    import sqlalchemy as sa
    from sqlalchemy import select

    from stubcollector.adapters.payments.sandbox.models import SandboxAccount, SandboxRefund
    from stubcollector.models import (
        StubPayment,
        StubRefund,
        utcnow,
    )
    from tests.support.factories import OrderFactory

    app = make_app()  # type: ignore[operator]
    with app.app_context():
        downgrade(revision="c001")
        try:
            # As the code before r001 left a refund: on the payment (and the sandbox's PI).
            # Written as SQL: the models of today have columns revision c001 did not have.
            order = OrderFactory.create(order_status="refunded")
            refunded_at = utcnow()
            db.session.add(SandboxAccount(id="acct_legacy"))
            db.session.flush()
            legacy = {
                "order_id": order.id,
                "key": f"order:{order.id}:payment_intent",
                "refunded_at": refunded_at,
                "now": utcnow(),
            }
            db.session.execute(
                sa.text(
                    "INSERT INTO stub_payments (order_id, stripe_account_id, payment_intent_id,"
                    " idempotency_key, amount_total_cents, platform_fee_cents,"
                    " amount_refunded_cents, currency, payment_status, liability_shift_status,"
                    " refund_id, refunded_at, created_at, updated_at)"
                    " VALUES (:order_id, 'acct_legacy', 'pi_legacy', :key, 2500, 250, 2500, 'USD',"
                    " 'refunded', 'pending', 're_legacy', :refunded_at, :now, :now)"
                ).bindparams(
                    sa.bindparam("refunded_at", type_=StubPayment.__table__.c.refunded_at.type),
                    sa.bindparam("now", type_=StubPayment.__table__.c.created_at.type),
                ),
                legacy,
            )
            db.session.execute(
                sa.text(
                    "INSERT INTO sandbox_payment_intents (id, account_id, amount,"
                    " application_fee_amount, currency, status, client_secret, metadata,"
                    " created_at, charge_id, amount_refunded, refund_id, refunded_at)"
                    " VALUES ('pi_legacy', 'acct_legacy', 2500, 250, 'usd', 'succeeded',"
                    " 'pi_legacy_secret', '{}', :now, 'ch_legacy', 2500, 're_legacy',"
                    " :refunded_at)"
                ).bindparams(
                    sa.bindparam("refunded_at", type_=StubPayment.__table__.c.refunded_at.type),
                    sa.bindparam("now", type_=StubPayment.__table__.c.created_at.type),
                ),
                {"refunded_at": refunded_at, "now": utcnow()},
            )
            db.session.commit()
            order_id = order.id
        finally:
            db.session.remove()
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
