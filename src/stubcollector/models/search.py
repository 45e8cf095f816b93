"""Text search over stubs: the columns the browse query filters on, and their indexes.

Searches compare folded words (accents and case removed, ``domain/search_text.py``) with
``stubs.search_text`` and ``stubs.search_venue``, which hold the same folding of the stub's
fields (written by the model, ``models/stub.py``). On PostgreSQL, trigram GIN indexes
(``pg_trgm``) on these columns serve ``LIKE '%word%'`` without scanning the table; migration
``w001`` creates them only there. SQLite has no trigram indexes, so the same ``LIKE`` runs
as a scan (fine at the sizes SQLite serves). The columns are written as literal SQL so the
statements prebuilt per filter shape stay plain text the planner matches to the indexes.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stubcollector.domain.search_text import stub_search_text, venue_search_text

# Folded haystack for free-text search (event, performer, venue, city, the event's year).
SEARCH_TEXT_SQL = "stubs.search_text"
# Folded venue, for the venue filter.
VENUE_TEXT_SQL = "stubs.search_venue"

# Exist only on PostgreSQL (created by migrations with a dialect check). They are not in the
# models' metadata, so autogenerate must not propose to drop them. The first two replaced
# the last two (expression indexes on lower(...)) in w001; downgrading brings those back.
POSTGRES_ONLY_INDEXES = frozenset(
    {
        "ix_stubs_search_text_trgm",
        "ix_stubs_search_venue_trgm",
        "ix_stubs_search_trgm",
        "ix_stubs_venue_trgm",
    }
)


def include_object(
    obj: Any,  # noqa: ARG001 - Alembic's hook signature
    name: str | None,
    type_: str,
    reflected: bool,  # noqa: ARG001
    compare_to: Any,  # noqa: ARG001
) -> bool:
    """Alembic hook shared by ``migrations/env.py`` and the no-diff migration test."""
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)


# The columns the refill reads and writes, by name: migrations run it too, so it must not
# depend on the ORM model of the day.
_STUBS: Final = sa.table(
    "stubs",
    sa.column("id", sa.Integer),
    sa.column("event_name", sa.String),
    sa.column("performer", sa.String),
    sa.column("venue", sa.String),
    sa.column("city", sa.String),
    sa.column("event_date", sa.Date),
    sa.column("search_text", sa.Text),
    sa.column("search_venue", sa.Text),
)
REFILL_BATCH: Final = 1000


def refill_search_columns(
    connection: Connection, *, only_missing: bool = True, batch_size: int = REFILL_BATCH
) -> tuple[int, int]:
    """Write ``search_text`` and ``search_venue`` of stored stubs; (rows read, rows written).

    Walks the table in id order, ``batch_size`` rows at a time, and writes each batch's
    changed rows with one ``UPDATE … FROM (VALUES …)``. On a connection in autocommit mode
    (migration w001, ``flask stubs refresh-search``) every batch is its own short
    transaction: no lock is held on more than one batch, and browsing goes on meanwhile.
    ``only_missing`` reads only rows without search text (written by a release before
    w001); otherwise every row is read and the ones whose text differs are written.
    """
    after = 0
    read = written = 0
    while True:
        query = sa.select(_STUBS).where(_STUBS.c.id > after).order_by(_STUBS.c.id).limit(batch_size)
        if only_missing:
            query = query.where(_STUBS.c.search_text.is_(None))
        rows = connection.execute(query).all()
        if not rows:
            return read, written
        read += len(rows)
        after = rows[-1].id
        changed = []
        for row in rows:
            text = stub_search_text(
                event_name=row.event_name,
                performer=row.performer,
                venue=row.venue,
                city=row.city,
                event_date=row.event_date,
            )
            venue = venue_search_text(row.venue)
            if (text, venue) != (row.search_text, row.search_venue):
                changed.append((row.id, text, venue))
        if changed:
            connection.execute(*_update_from_values(changed))
            written += len(changed)


def _update_from_values(
    changed: list[tuple[int, str, str]],
) -> tuple[sa.TextClause, dict[str, Any]]:
    # A VALUES list's columns are column1, column2, ... on both databases; the first row is
    # cast so PostgreSQL knows the columns' types. Only placeholders are formatted into the
    # text; every value is a bound parameter.
    rows = []
    params: dict[str, Any] = {}
    for number, (stub_id, text, venue) in enumerate(changed):
        if number == 0:
            rows.append("(CAST(:i0 AS INTEGER), CAST(:t0 AS TEXT), CAST(:v0 AS TEXT))")
        else:
            rows.append(f"(:i{number}, :t{number}, :v{number})")
        params.update({f"i{number}": stub_id, f"t{number}": text, f"v{number}": venue})
    statement = sa.text(
        "UPDATE stubs SET search_text = v.column2, search_venue = v.column3 "  # noqa: S608
        f"FROM (VALUES {', '.join(rows)}) AS v WHERE stubs.id = v.column1"
    )
    return statement, params
