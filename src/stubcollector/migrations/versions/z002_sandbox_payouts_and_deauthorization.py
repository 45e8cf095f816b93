"""sandbox: payouts and deauthorized accounts

Revision ID: z002
Revises: z001
Create Date: 2026-12-05 15:30:00

The sandbox payment backend pays out a seller's available balance from its dashboard
(``sandbox_payouts``; a payout may arrive or fail, even after reading paid, as Stripe's
do) and lets a seller disconnect the platform (``sandbox_accounts.deauthorized_at``).
"""

import sqlalchemy as sa
from alembic import op

revision = "z002"
down_revision = "z001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_payouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("arrival_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failure_code", sa.String(length=60), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("balance_transaction_id", sa.String(length=40), nullable=False),
        sa.Column("failure_balance_transaction_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_sandbox_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sandbox_accounts.id"],
            name=op.f("fk_sandbox_payouts_account_id_sandbox_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_payouts")),
    )
    with op.batch_alter_table("sandbox_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_payouts_account_id"), ["account_id"], unique=False
        )
    with op.batch_alter_table("sandbox_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deauthorized_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("sandbox_accounts", schema=None) as batch_op:
        batch_op.drop_column("deauthorized_at")
    with op.batch_alter_table("sandbox_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_payouts_account_id"))
    op.drop_table("sandbox_payouts")
