"""provider_events.dispatched_at: when an event was handed to its processing job

Revision ID: d001
Revises: r001
Create Date: 2026-12-05 02:30:00

Acknowledging a webhook no longer enqueues its processing job: the request stores the
event and wakes one dispatcher job, which claims the stored events not yet dispatched and
enqueues their jobs in one round trip (``services.webhooks.dispatch_new_events``). The
partial index holds only the events waiting for the dispatcher, so it stays a few rows
deep however large the inbox grows.

Events already processed, ignored or failed count as dispatched (at their receipt); those
still ``received`` are left to the dispatcher, which runs at the next delivery or sweep.
Adding a nullable column does not rewrite the table; the index is small and built from
the few undispatched rows.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d001"
down_revision = "r001"
branch_labels = None
depends_on = None

WAITING = sa.text("dispatched_at IS NULL AND processing_status = 'received'")


def upgrade():
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE provider_events SET dispatched_at = received_at "
        "WHERE processing_status <> 'received'"
    )
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_events_waiting_dispatch",
            ["id"],
            unique=False,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )


def downgrade():
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_events_waiting_dispatch")
        batch_op.drop_column("dispatched_at")
