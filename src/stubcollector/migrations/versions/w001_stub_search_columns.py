"""stubs.search_text and stubs.search_venue: accent- and case-folded search columns

Revision ID: w001
Revises: z002
Create Date: 2026-12-06 15:30:00

Search forgives accents and case ("munchen" finds München, "cardinals" finds CÁRDINALS)
and finds a year ("1997"): searches compare folded words with these columns, which hold the
same folding (``stubcollector.domain.search_text``) of the event, performer, venue, city
and the event's year, and of the venue alone. The app writes them with every stub
(``models/stub.py``); this revision fills them for the stubs already stored and moves the
PostgreSQL trigram indexes from the old ``lower(...)`` expressions onto them.

How it runs, with the old code still serving (docs/DEPLOYMENT.md):

1. the two columns are added nullable: no table rewrite on either database, and the old
   code, which does not know them, keeps working;
2. the transaction is committed and the columns are filled in batches of 1,000 stubs in id
   order, each batch one ``UPDATE … FROM (VALUES …)`` committed on its own
   (``models.search.refill_search_columns``): no lock on more than 1,000 rows at a time,
   browsing and uploads go on, and an interrupted run resumes where it stopped (only rows
   still without search text are read);
3. PostgreSQL: the trigram indexes are built on the new columns ``CONCURRENTLY`` (writes go
   on), the old expression indexes are dropped, and ``VACUUM ANALYZE stubs`` clears the old
   row versions the backfill left behind and gives the planner statistics for the new
   columns.

At 100,000 listings (100,000 stubs, the bench data of ``bench/browse.py``) on the 2-core
machine of docs/PERFORMANCE.md, with other work running (load average 6-7): PostgreSQL 15
31 s in all (backfill 26 s, that is about 0.26 s per batch of 1,000, each holding its rows
that long; both trigram indexes 4.4 s; vacuum 0.6 s), SQLite 8.3 s (each batch holds
SQLite's write lock for about 80 ms). Adding the columns took 0.04 s. Searches keep
working throughout on the old indexes; a stub written by the old code after its batch passed keeps
no search text (or stale text) until it is saved again, so run
``flask stubs refresh-search`` once the new code serves (and ``--all`` to rewrite every
row, e.g. after a change to the folding).
"""

import sqlalchemy as sa
from alembic import op

from stubcollector.models.search import refill_search_columns

# revision identifiers, used by Alembic.
revision = "w001"
down_revision = "z002"
branch_labels = None
depends_on = None

OLD_SEARCH_TEXT = (
    "lower(coalesce(event_name, '') || ' ' || coalesce(performer, '') || ' ' || "
    "coalesce(venue, '') || ' ' || coalesce(city, ''))"
)
OLD_VENUE_TEXT = "lower(coalesce(venue, ''))"


def upgrade():
    op.add_column("stubs", sa.Column("search_text", sa.Text(), nullable=True))
    op.add_column("stubs", sa.Column("search_venue", sa.Text(), nullable=True))
    with op.get_context().autocommit_block():
        refill_search_columns(op.get_bind(), only_missing=True)
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                "CREATE INDEX CONCURRENTLY ix_stubs_search_text_trgm "
                "ON stubs USING gin (search_text gin_trgm_ops)"
            )
            op.execute(
                "CREATE INDEX CONCURRENTLY ix_stubs_search_venue_trgm "
                "ON stubs USING gin (search_venue gin_trgm_ops)"
            )
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_stubs_search_trgm")
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_stubs_venue_trgm")
            op.execute("VACUUM ANALYZE stubs")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_stubs_search_trgm "
                f"ON stubs USING gin (({OLD_SEARCH_TEXT}) gin_trgm_ops)"
            )
            op.execute(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_stubs_venue_trgm "
                f"ON stubs USING gin (({OLD_VENUE_TEXT}) gin_trgm_ops)"
            )
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_stubs_search_venue_trgm")
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_stubs_search_text_trgm")
    # ALTER TABLE DROP COLUMN on both databases (SQLite 3.35+): no copy of the whole table,
    # which a batch operation makes on SQLite.
    op.drop_column("stubs", "search_venue")
    op.drop_column("stubs", "search_text")
