"""stub_payments.provider_checked_at: when reconciliation last re-read the PaymentIntent

Revision ID: c001
Revises: j001
Create Date: 2026-11-22 03:10:00

The periodic reconciliation re-reads a bounded batch of stuck payments per run, least
recently checked first; this column is how it takes turns instead of re-reading every
stuck payment every five minutes.
"""

import sqlalchemy as sa
from alembic import op

revision = "c001"
down_revision = "j001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "stub_payments", sa.Column("provider_checked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade():
    with op.batch_alter_table("stub_payments") as batch:
        batch.drop_column("provider_checked_at")
