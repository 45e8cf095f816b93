"""Text search over stubs: the expressions the browse query filters on, and their indexes.

On PostgreSQL, trigram GIN indexes (``pg_trgm``) on exactly these expressions serve
``LIKE '%term%'`` without scanning the table; the migration creates them only there. SQLite
has no trigram indexes, so the same ``LIKE`` runs as a scan (fine at the sizes SQLite
serves). The expressions are literal SQL, not bound parameters, so that the planner can
match them against the index definitions.
"""

from __future__ import annotations

from typing import Any

# Case-insensitive haystack for free-text search (event, performer, venue, city).
SEARCH_TEXT_SQL = (
    "lower(coalesce(stubs.event_name, '') || ' ' || coalesce(stubs.performer, '') || ' ' || "
    "coalesce(stubs.venue, '') || ' ' || coalesce(stubs.city, ''))"
)
VENUE_TEXT_SQL = "lower(coalesce(stubs.venue, ''))"

# Exist only on PostgreSQL (created by migration m001 with a dialect check). They are not in
# the models' metadata, so autogenerate must not propose to drop them.
POSTGRES_ONLY_INDEXES = frozenset({"ix_stubs_search_trgm", "ix_stubs_venue_trgm"})


def include_object(
    obj: Any,  # noqa: ARG001 - Alembic's hook signature
    name: str | None,
    type_: str,
    reflected: bool,  # noqa: ARG001
    compare_to: Any,  # noqa: ARG001
) -> bool:
    """Alembic hook shared by ``migrations/env.py`` and the no-diff migration test."""
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)
