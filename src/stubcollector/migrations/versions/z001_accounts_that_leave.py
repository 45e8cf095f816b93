"""seller accounts that leave: payout hold step, deauthorization, payouts; key namespace

Revision ID: z001
Revises: d001
Create Date: 2026-12-05 15:20:00

- ``users``: the account's payout delay as the provider reports it, our step of setting the
  payout hold (``pending`` / ``set`` / ``skipped``, with a note), and when the seller
  disconnected the account from the platform. Accounts stored before this revision had
  their hold set before their id was stored (the old onboarding order), so they are ``set``.
- ``seller_payouts``: payouts reported by ``payout.*`` events.
- ``app_settings`` with this database's idempotency key namespace: a random token, new for
  every database (a reset test database gets a new one too). Keys already stored on
  payments and refunds keep their old, unprefixed form, and every retry of those
  operations reads the stored key (services/idempotency.py).
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "z001"
down_revision = "d001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "app_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_settings")),
    )
    op.execute(
        sa.text(
            "INSERT INTO app_settings (name, value, created_at) "
            "VALUES ('idempotency_namespace', :value, CURRENT_TIMESTAMP)"
        ).bindparams(value=secrets.token_hex(6))
    )
    op.create_table(
        "seller_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("payout_id", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("arrival_date", sa.Date(), nullable=True),
        sa.Column("failure_code", sa.String(length=100), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("provider_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in_transit', 'paid', 'failed', 'canceled')",
            name=op.f("ck_seller_payouts_status"),
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_seller_payouts_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["users.id"],
            name=op.f("fk_seller_payouts_seller_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_payouts")),
        sa.UniqueConstraint("payout_id", name=op.f("uq_seller_payouts_payout_id")),
    )
    with op.batch_alter_table("seller_payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seller_payouts_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_seller_payouts_seller_created", ["seller_id", "provider_created_at"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripe_payout_delay_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("stripe_payout_schedule_status", sa.String(length=20), nullable=True)
        )
        batch_op.add_column(sa.Column("stripe_payout_schedule_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("stripe_account_deauthorized_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_users_stripe_payout_schedule_status"),
            "stripe_payout_schedule_status IS NULL OR stripe_payout_schedule_status IN "
            "('pending', 'set', 'skipped')",
        )
    op.execute(
        "UPDATE users SET stripe_payout_schedule_status = 'set' WHERE stripe_account_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_stripe_payout_schedule_status"), type_="check")
        batch_op.drop_column("stripe_account_deauthorized_at")
        batch_op.drop_column("stripe_payout_schedule_note")
        batch_op.drop_column("stripe_payout_schedule_status")
        batch_op.drop_column("stripe_payout_delay_days")

    with op.batch_alter_table("seller_payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_seller_payouts_seller_created")
        batch_op.drop_index(batch_op.f("ix_seller_payouts_created_at"))
    op.drop_table("seller_payouts")
    op.drop_table("app_settings")
