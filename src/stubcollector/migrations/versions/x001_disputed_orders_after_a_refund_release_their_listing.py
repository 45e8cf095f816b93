"""a dispute after a refund does not take the listing back (uq_stub_orders_holding_listing)

Revision ID: x001
Revises: w002
Create Date: 2026-12-12 09:00:00

A refunded order gives its listing back to the marketplace, where someone else may buy it.
When the first buyer's bank disputes the charge afterwards, the order becomes ``disputed``,
and ``disputed`` counted as holding the listing in the partial unique index "one order
holds a listing": the second buyer's order already held it, so the dispute's update failed
on every retry and the dispute was dropped. Now a disputed order holds its listing only if
it held it when the dispute came (``status_before_dispute`` is not ``refunded`` or
``cancelled``).

The new condition is weaker than the old one (it matches fewer rows), so building the index
cannot fail on existing data. On PostgreSQL it is built ``CONCURRENTLY`` under a temporary
name before the old one is dropped and it takes the name, so there is no moment without
the guard and checkouts keep running; SQLite swaps them in its single writer transaction.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "x001"
down_revision = "w002"
branch_labels = None
depends_on = None

INDEX = "uq_stub_orders_holding_listing"
BUILDING = "uq_stub_orders_holding_listing_x001"
OLD = sa.text(
    "order_status IN ('pending', 'payment_processing', 'payment_completed', 'completed', "
    "'disputed')"
)
NEW = sa.text(
    "order_status IN ('pending', 'payment_processing', 'payment_completed', 'completed') "
    "OR (order_status = 'disputed' AND (status_before_dispute IS NULL "
    "OR status_before_dispute NOT IN ('cancelled', 'refunded')))"
)


def _swap(condition: sa.TextClause) -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                BUILDING,
                "stub_orders",
                ["stub_listing_id"],
                unique=True,
                postgresql_where=condition,
                postgresql_concurrently=True,
            )
            op.drop_index(INDEX, table_name="stub_orders", postgresql_concurrently=True)
            op.execute(f"ALTER INDEX {BUILDING} RENAME TO {INDEX}")
    else:
        op.drop_index(INDEX, table_name="stub_orders")
        op.create_index(
            INDEX, "stub_orders", ["stub_listing_id"], unique=True, sqlite_where=condition
        )


def upgrade():
    _swap(NEW)


def downgrade():
    # Fails if two orders of one listing now hold it under the old rule (a refunded sale
    # resold, then disputed): that state is what this revision makes possible.
    _swap(OLD)
