"""marketplace browse and search indexes

Revision ID: m001
Revises: p001
Create Date: 2026-11-22 00:06:49.034331

Partial indexes serve the browse page in order (newest, price) on both databases. On
PostgreSQL, trigram GIN indexes (pg_trgm) serve the text search and the venue filter
(``LIKE '%term%'``); SQLite has no equivalent and scans. The trigram indexes are not in the
models' metadata: ``stubcollector.models.search.include_object`` keeps autogenerate from
proposing to drop them. Their expressions must stay identical to SEARCH_TEXT_SQL and
VENUE_TEXT_SQL there (without the table prefix), or the planner will not use them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "m001"
down_revision = "p001"
branch_labels = None
depends_on = None

ON_SALE = sa.text("status NOT IN ('sold', 'cancelled')")
SEARCH_TEXT = (
    "lower(coalesce(event_name, '') || ' ' || coalesce(performer, '') || ' ' || "
    "coalesce(venue, '') || ' ' || coalesce(city, ''))"
)
VENUE_TEXT = "lower(coalesce(venue, ''))"


def upgrade():
    with op.batch_alter_table("stub_listings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stub_listings_on_sale_listed",
            ["listed_at", "id"],
            unique=False,
            sqlite_where=ON_SALE,
            postgresql_where=ON_SALE,
        )
        batch_op.create_index(
            "ix_stub_listings_on_sale_price",
            ["asking_price_cents", "id"],
            unique=False,
            sqlite_where=ON_SALE,
            postgresql_where=ON_SALE,
        )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX ix_stubs_search_trgm ON stubs USING gin (({SEARCH_TEXT}) gin_trgm_ops)"
        )
        op.execute(
            f"CREATE INDEX ix_stubs_venue_trgm ON stubs USING gin (({VENUE_TEXT}) gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_stubs_venue_trgm")
        op.execute("DROP INDEX IF EXISTS ix_stubs_search_trgm")
        # The extension stays: other objects may use it, and it holds no data.
    with op.batch_alter_table("stub_listings", schema=None) as batch_op:
        batch_op.drop_index("ix_stub_listings_on_sale_price")
        batch_op.drop_index("ix_stub_listings_on_sale_listed")
