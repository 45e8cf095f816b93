"""periodic_job_leases: one row per periodic job, claimed by one process per period

Revision ID: j001
Revises: a001
Create Date: 2026-11-23 09:10:00

Without Redis every web process runs its own scheduler thread; a process enqueues a
periodic job only after claiming the job's row with a conditional UPDATE
(``adapters/job_leases.py``), so one process runs each periodic job per period.
"""

import sqlalchemy as sa
from alembic import op

revision = "j001"
down_revision = "a001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "periodic_job_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_job_leases")),
    )


def downgrade():
    op.drop_table("periodic_job_leases")
