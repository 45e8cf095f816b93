"""provider_events.dispatched_at: when an event was handed to its processing job

Revision ID: d001
Revises: r001
Create Date: 2026-12-05 02:30:00

Acknowledging a webhook no longer enqueues its processing job: the request stores the
event and wakes one dispatcher job, which claims the stored events not yet dispatched and
enqueues their jobs in one round trip (``services.webhooks.dispatch_new_events``). The
partial index holds only the events waiting for the dispatcher, so it stays a few rows
deep however large the inbox grows.

Rows stored before this revision keep ``dispatched_at`` empty: the index only holds
rows still ``received``, and those are exactly the ones the dispatcher should take (the
jobs enqueued for them by the old code find them processed and stop). Adding a nullable
column does not rewrite the table; on PostgreSQL the index is built ``CONCURRENTLY``, so
deliveries keep being stored while it is built (docs/DEPLOYMENT.md, zero downtime).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d001"
down_revision = "r001"
branch_labels = None
depends_on = None

INDEX = "ix_provider_events_waiting_dispatch"
WAITING = sa.text("dispatched_at IS NULL AND processing_status = 'received'")


def upgrade():
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                INDEX,
                "provider_events",
                ["id"],
                postgresql_where=WAITING,
                postgresql_concurrently=True,
            )
    else:
        op.create_index(INDEX, "provider_events", ["id"], sqlite_where=WAITING)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(INDEX, table_name="provider_events", postgresql_concurrently=True)
    else:
        op.drop_index(INDEX, table_name="provider_events")
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.drop_column("dispatched_at")
