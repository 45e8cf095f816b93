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
