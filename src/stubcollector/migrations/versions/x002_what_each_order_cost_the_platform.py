"""what each order cost: stub_order_costs, the charge's application fee, sandbox fee books

Revision ID: x002
Revises: x001
Create Date: 2026-12-12 10:00:00

``stub_order_costs`` keeps every fee the payment provider took for an order (Stripe's
processing fee on the charge, a dispute's fees) with whose balance paid it and the balance
transaction it was read from, once per (kind, transaction). ``stub_payments`` gains the
charge's ApplicationFee id and when its costs were recorded (until then reconciliation reads
them again). Orders paid before this revision have no recorded costs: their
``stripe_fee_cents`` stays what it was, and the admin totals count their Stripe costs as
unknown.

The sandbox books fees as Stripe does: platform balance transactions (``account_id`` NULL)
for the application fees earned and for the fees Stripe bills the platform; a balance
transaction's application-fee part (its ``fee_details``); ApplicationFee objects. Its
charges of before keep their transactions, with the application-fee part filled in from
their PaymentIntents.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "x002"
down_revision = "x001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stub_order_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payer", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('processing_fee', 'dispute_fee')", name=op.f("ck_stub_order_costs_kind")
        ),
        sa.CheckConstraint(
            "payer IN ('platform', 'seller')", name=op.f("ck_stub_order_costs_payer")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["stub_orders.id"],
            name=op.f("fk_stub_order_costs_order_id_stub_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stub_order_costs")),
        sa.UniqueConstraint(
            "kind", "balance_transaction_id", name="uq_stub_order_costs_transaction"
        ),
    )
    with op.batch_alter_table("stub_order_costs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stub_order_costs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stub_order_costs_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stub_order_costs_order_id"), ["order_id"], unique=False
        )

    with op.batch_alter_table("stub_payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_fee_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("costs_recorded_at", sa.DateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "sandbox_application_fees",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("charge_id", sa.String(length=40), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("amount_refunded", sa.Integer(), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sandbox_accounts.id"],
            name=op.f("fk_sandbox_application_fees_account_id_sandbox_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_application_fees")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_sandbox_application_fees_charge_id")),
    )
    with op.batch_alter_table("sandbox_balance_transactions", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.String(length=40), nullable=True)
        batch_op.add_column(
            sa.Column("application_fee", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("description", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_sandbox_balance_transactions_source", ["source"], unique=False)
    op.execute(
        """
        UPDATE sandbox_balance_transactions
        SET application_fee = (
            SELECT pi.application_fee_amount FROM sandbox_payment_intents pi
            WHERE pi.balance_transaction_id = sandbox_balance_transactions.id
        )
        WHERE type = 'charge' AND EXISTS (
            SELECT 1 FROM sandbox_payment_intents pi
            WHERE pi.balance_transaction_id = sandbox_balance_transactions.id
        )
        """
    )


def downgrade():
    op.execute("DELETE FROM sandbox_balance_transactions WHERE account_id IS NULL")
    with op.batch_alter_table("sandbox_balance_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_balance_transactions_source")
        batch_op.drop_column("description")
        batch_op.drop_column("application_fee")
        batch_op.alter_column("account_id", existing_type=sa.String(length=40), nullable=False)
    op.drop_table("sandbox_application_fees")
    with op.batch_alter_table("stub_payments", schema=None) as batch_op:
        batch_op.drop_column("costs_recorded_at")
        batch_op.drop_column("application_fee_id")
    with op.batch_alter_table("stub_order_costs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stub_order_costs_order_id"))
        batch_op.drop_index(batch_op.f("ix_stub_order_costs_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_stub_order_costs_created_at"))
    op.drop_table("stub_order_costs")
