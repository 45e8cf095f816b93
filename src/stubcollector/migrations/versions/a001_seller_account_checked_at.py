"""users.stripe_account_checked_at: when the provider was last asked about the account

Revision ID: a001
Revises: s001
Create Date: 2026-11-23 09:00:00

The stale-account sweep (``services.onboarding.refresh_stale_accounts``) re-reads connected
accounts oldest-checked first, a small batch per run. Existing rows start from their last
sync, so the accounts nobody has heard of for longest are read first.
"""

import sqlalchemy as sa
from alembic import op

revision = "a001"
down_revision = "s001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stripe_account_checked_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_users_stripe_account_checked_at"),
            ["stripe_account_checked_at"],
            unique=False,
        )
    op.execute(
        "UPDATE users SET stripe_account_checked_at = stripe_account_synced_at "
        "WHERE stripe_account_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_stripe_account_checked_at"))
        batch_op.drop_column("stripe_account_checked_at")
