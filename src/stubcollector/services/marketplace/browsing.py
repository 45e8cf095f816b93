"""Browsing and searching the listings on sale, and reading one listing.

Browsing is the busiest page, so it is built for speed (docs/PERFORMANCE.md): one prebuilt
``SELECT`` per filter shape (:func:`_statements`) joins the listing, its stub and its seller
and returns plain columns (``views.listing_select``); the total of a search is not counted
on every request (:data:`totals`); the rows of a page are reused until a listing, stub or
seller changes (:data:`pages`); the newest and price sorts continue with a keyset
:class:`Cursor` instead of ``OFFSET``. What depends on the viewer is worked out per request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final, Generic, NamedTuple, TypeVar

from sqlalchemy import (
    Integer,
    Row,
    Select,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.elements import ColumnElement

from stubcollector.container import container, settings
from stubcollector.domain.errors import NotFound, ValidationFailed
from stubcollector.domain.money import parse_price_cents
from stubcollector.domain.search_text import fold, search_words
from stubcollector.extensions import db
from stubcollector.models import utcnow
from stubcollector.models.listing import ON_SALE_SQL
from stubcollector.models.search import SEARCH_TEXT_SQL, VENUE_TEXT_SQL
from stubcollector.services.marketplace.listing_status import ACTIVE
from stubcollector.services.marketplace.views import (
    LISTINGS,
    STUBS,
    USERS,
    ListingPage,
    ListingView,
    listing_select,
    listing_view,
)

V = TypeVar("V")

DEFAULT_PER_PAGE: Final = 24
MAX_PER_PAGE: Final = 100
MAX_SEARCH_TERMS: Final = 8

SORTS: Final[dict[str, tuple[Any, ...]]] = {
    "newest": (LISTINGS.c.listed_at.desc(), LISTINGS.c.id.desc()),
    "price_asc": (LISTINGS.c.asking_price_cents.asc(), LISTINGS.c.id.asc()),
    "price_desc": (LISTINGS.c.asking_price_cents.desc(), LISTINGS.c.id.desc()),
    "event_date": (STUBS.c.event_date.asc().nulls_last(), LISTINGS.c.id.asc()),
    "event_date_desc": (STUBS.c.event_date.desc().nulls_last(), LISTINGS.c.id.desc()),
}

# The same text as the partial indexes' predicate, so both databases can use them.
_ON_SALE: ColumnElement[bool] = literal_column(
    ON_SALE_SQL.replace("status", "stub_listings.status", 1)
)
_SEARCH_TEXT: ColumnElement[str] = literal_column(SEARCH_TEXT_SQL)
_VENUE_TEXT: ColumnElement[str] = literal_column(VENUE_TEXT_SQL)


@dataclass(frozen=True)
class ListingFilters:
    """A validated browse request (hashable: it keys the total cache).

    ``terms`` and ``venue`` are folded (``domain.search_text.fold``: no accents, case
    folded), as the stubs' search columns are: "munchen" finds München, "1997" the events
    of 1997.
    """

    terms: tuple[str, ...] = ()
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    venue: str | None = None
    seller_id: int | None = None
    seller_username: str | None = None
    sort: str = "newest"


def listing_filters(
    *,
    q: str | None = None,
    min_price: str | None = None,
    max_price: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    venue: str | None = None,
    seller_id: int | None = None,
    seller: str | None = None,
    sort: str = "newest",
) -> ListingFilters:
    """Check browse parameters against the domain rules; errors name the parameter."""
    errors: dict[str, str] = {}
    terms = search_words(q or "")
    if len(terms) > MAX_SEARCH_TERMS:
        errors["q"] = f"use at most {MAX_SEARCH_TERMS} words"
    low = high = None
    for name, raw in (("min_price", min_price), ("max_price", max_price)):
        if raw is None:
            continue
        try:
            cents = parse_price_cents(raw, field=name, minimum=0)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            continue
        if name == "min_price":
            low = cents
        else:
            high = cents
    if low is not None and high is not None and low > high:
        errors["max_price"] = "must not be below min_price"
    if date_from is not None and date_to is not None and date_from > date_to:
        errors["date_to"] = "must not be before date_from"
    if sort not in SORTS:
        errors["sort"] = f"must be one of {', '.join(SORTS)}"
    if errors:
        raise ValidationFailed.many(errors)
    return ListingFilters(
        terms=terms,
        min_price_cents=low,
        max_price_cents=high,
        date_from=date_from,
        date_to=date_to,
        venue=fold(venue or "") or None,
        seller_id=seller_id,
        seller_username=(seller or "").lower() or None,
        sort=sort,
    )


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _on_sale() -> list[ColumnElement[bool]]:
    return [
        _ON_SALE,
        or_(LISTINGS.c.status == ACTIVE, LISTINGS.c.reserved_until <= bindparam("now")),
    ]


# Which filters a request uses: requests of one shape share one prebuilt statement.
Shape = tuple[str, int, bool, bool, bool, bool, bool, bool, bool]


def _shape(filters: ListingFilters) -> Shape:
    return (
        filters.sort,
        len(filters.terms),
        filters.venue is not None,
        filters.min_price_cents is not None,
        filters.max_price_cents is not None,
        filters.date_from is not None,
        filters.date_to is not None,
        filters.seller_id is not None,
        filters.seller_username is not None,
    )


def _params(filters: ListingFilters, now: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {"now": now}
    for number, term in enumerate(filters.terms):
        params[f"term_{number}"] = _like_pattern(term)
    if filters.venue is not None:
        params["venue"] = _like_pattern(filters.venue)
    optional = {
        "min_price": filters.min_price_cents,
        "max_price": filters.max_price_cents,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "seller_id": filters.seller_id,
        "seller": filters.seller_username,
    }
    params.update({name: value for name, value in optional.items() if value is not None})
    return params


# Sorts whose order a cursor can continue: (key column, descending). Event-date sorts order
# by a nullable column of the joined table and keep page numbers only.
KEYSET_SORTS: Final[dict[str, tuple[Any, bool]]] = {
    "newest": (LISTINGS.c.listed_at, True),
    "price_asc": (LISTINGS.c.asking_price_cents, False),
    "price_desc": (LISTINGS.c.asking_price_cents, True),
}


@lru_cache(maxsize=256)
def _statements(shape: Shape, keyset: bool = False) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements for one filter shape, with parameters left open."""
    sort, terms, venue, low, high, since, until, seller_id, seller = shape
    conditions = _on_sale()
    conditions += [
        _SEARCH_TEXT.like(bindparam(f"term_{number}"), escape="\\") for number in range(terms)
    ]
    if venue:
        conditions.append(_VENUE_TEXT.like(bindparam("venue"), escape="\\"))
    if low:
        conditions.append(LISTINGS.c.asking_price_cents >= bindparam("min_price"))
    if high:
        conditions.append(LISTINGS.c.asking_price_cents <= bindparam("max_price"))
    if since:
        conditions.append(STUBS.c.event_date >= bindparam("date_from"))
    if until:
        conditions.append(STUBS.c.event_date <= bindparam("date_to"))
    if seller_id:
        conditions.append(LISTINGS.c.seller_id == bindparam("seller_id"))
    if seller:
        conditions.append(USERS.c.username == bindparam("seller"))
    page_conditions = list(conditions)
    if keyset:
        # Continue after the last row shown: (key, id) beyond the cursor's, which the
        # database answers by seeking in the same index the sort reads.
        key_column, descending = KEYSET_SORTS[sort]
        position = tuple_(key_column, LISTINGS.c.id)
        after = tuple_(
            bindparam("after_key", type_=key_column.type),
            bindparam("after_id", type_=Integer),
        )
        page_conditions.append(position < after if descending else position > after)
    page = (
        listing_select()
        .where(*page_conditions)
        .order_by(*SORTS[sort])
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    counted: Any = LISTINGS
    if terms or venue or since or until:
        counted = counted.join(STUBS, STUBS.c.id == LISTINGS.c.stub_id)
    if seller:
        counted = counted.join(USERS, USERS.c.id == LISTINGS.c.seller_id)
    count = select(func.count()).select_from(counted).where(*conditions)
    return page, count


class RecentValues(Generic[V]):
    """Per-process memory of recent values: each kept for at most a given age, the least
    recently used dropped first when full."""

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable, ttl: float) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, value = found
            if time.monotonic() - stored_at > ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class PageRows(NamedTuple):
    """What one browse query found; the same for every viewer."""

    rows: list[Row[Any]]
    # Each row's listing as an anonymous visitor saw it when the rows were read: what most
    # viewers see too, so a cached page is not built again per request (see browse).
    anonymous: tuple[ListingView, ...]
    page: int
    total: int
    has_next: bool
    next_cursor: str | None


# Counting every matching row on every page is what makes naive browse pages slow, and the
# number is only a hint for page links: a total is reused for a few seconds
# (MARKETPLACE_TOTAL_CACHE_SECONDS) and writes made by this process clear them.
totals: RecentValues[int] = RecentValues()
# The rows of recently read pages, keyed by the listing change counter (see browse).
pages: RecentValues[PageRows] = RecentValues(max_entries=256)
# Every table a listing row reads from: a committed write to any of them advances the
# listing change counter (stubcollector.database.after_writes_to, wired in app.py).
PAGE_SOURCE_TABLES: Final = ("stub_listings", "stubs", "users")


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after (key, id) of the last row shown, as page ``page``."""

    sort: str
    key: int | str
    last_id: int
    page: int

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.key, self.last_id, self.page], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        invalid = ValidationFailed("cursor", "is not a cursor from this search; start again")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            cursor_sort, key, last_id, page = json.loads(raw)
        except (ValueError, TypeError):
            raise invalid from None
        if cursor_sort != sort or sort not in KEYSET_SORTS:
            raise invalid
        key_type = str if sort == "newest" else int
        if not (
            isinstance(key, key_type)
            and not isinstance(key, bool)
            and isinstance(last_id, int)
            and isinstance(page, int)
            and 1 < page <= 1_000_000
        ):
            raise invalid
        if isinstance(key, str):
            try:
                if datetime.fromisoformat(key).tzinfo is None:
                    raise invalid
            except ValueError:
                raise invalid from None
        return cls(cursor_sort, key, last_id, page)

    def key_value(self) -> int | datetime:
        return datetime.fromisoformat(self.key) if isinstance(self.key, str) else self.key


def browse(
    filters: ListingFilters,
    *,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    viewer_id: int | None = None,
    cursor: str | None = None,
) -> ListingPage:
    """One page of listings on sale: one query, plus a count only when it is needed.

    The rows of a page are the same for every viewer, so they are kept for a few seconds
    (``MARKETPLACE_PAGE_CACHE_SECONDS``) under the listing change counter: any committed
    write to a listing, stub or user advances the counter, so a page is never reused after
    a change (in every process when the counter is in Redis, in the writing process
    otherwise). The age limit covers what happens without a write: a reservation that
    runs out puts its listing back on sale.

    What depends on the viewer (``can_purchase``, ``reserved_by_you``) is worked out per
    request: each listing is the one built for an anonymous visitor when the rows were
    read, unless this viewer sees it differently (:func:`_seen_as_cached`: their own
    listing); only those are built again from their row.
    """
    now = utcnow()
    after = Cursor.decode(cursor, filters.sort) if cursor else None
    ttl = settings().marketplace_page_cache_seconds
    changes = container().listing_changes.current() if ttl else None
    key = None if changes is None else (changes, filters, page, per_page, cursor)
    found = pages.get(key, ttl) if key is not None else None
    if found is None:
        found = _read_page(filters, page, per_page, after, now)
        if key is not None:
            pages.put(key, found)
    return ListingPage(
        listings=tuple(
            view if _seen_as_cached(view, viewer_id) else listing_view(row, viewer_id, now)
            for row, view in zip(found.rows, found.anonymous, strict=True)
        ),
        page=found.page,
        per_page=per_page,
        total=found.total,
        has_next=found.has_next,
        next_cursor=found.next_cursor,
    )


def _seen_as_cached(view: ListingView, viewer_id: int | None) -> bool:
    """Whether ``viewer_id`` sees a listing as ``view``, built for an anonymous visitor when
    the page was read, shows it.

    Of a listing on sale, only its seller sees something else (their own listing). A
    listing shown with a live hold (browse lists none) depends on who holds it and on the
    time, so it is always built again.
    """
    return view.reserved_until is None and viewer_id != view.seller_id


def _read_page(
    filters: ListingFilters, page: int, per_page: int, after: Cursor | None, now: datetime
) -> PageRows:
    """The page's rows, read with one extra row to learn whether another page follows.

    When the page is not full the total is known exactly without counting; otherwise it
    comes from :data:`totals` or one ``COUNT`` whose result is kept for a few seconds. For
    the newest and price sorts the page carries ``next_cursor``: following it seeks
    straight to the next page instead of skipping ``OFFSET`` rows.
    """
    page_statement, count_statement = _statements(_shape(filters), after is not None)
    params = _params(filters, now)
    if after is not None:
        page = after.page
        offset = 0
        extra = {"after_key": after.key_value(), "after_id": after.last_id}
    else:
        offset = (page - 1) * per_page
        extra = {}
    connection = db.session.connection()
    rows = list(
        connection.execute(
            page_statement, {**params, **extra, "limit": per_page + 1, "offset": offset}
        )
    )
    has_next = len(rows) > per_page
    del rows[per_page:]
    # Rows before this page, as far as page numbers tell.
    offset = (page - 1) * per_page
    # The count does not depend on the order: all sorts of one filter share a total.
    key = (db.engine.url, replace(filters, sort=""))
    # Listings this page proves exist (an empty page past the end proves nothing).
    seen = offset + len(rows) if rows else 0
    if not has_next and (rows or page == 1):
        total = seen
        totals.put(key, total)
    else:
        ttl = settings().marketplace_total_cache_seconds
        cached = totals.get(key, ttl) if ttl else None
        if cached is None:
            cached = int(connection.execute(count_statement, params).scalar_one())
            if ttl:
                totals.put(key, cached)
        # A cached total may predate listings this page already shows.
        total = max(cached, seen + (1 if has_next else 0))
    next_cursor = None
    if has_next and filters.sort in KEYSET_SORTS:
        last = rows[-1]
        key_value = last.listed_at if filters.sort == "newest" else last.asking_price_cents
        next_cursor = Cursor(filters.sort, key_value, last.id, page + 1).encode()
    anonymous = tuple(listing_view(row, None, now) for row in rows)
    return PageRows(rows, anonymous, page, total, has_next, next_cursor)


def browse_statement(
    filters: ListingFilters,
    *,
    page: int,
    per_page: int,
    now: datetime | None = None,
    after: Cursor | None = None,
) -> Select[Any]:
    """The page query with its parameters bound (for query plans in tests and the bench)."""
    page_statement, _ = _statements(_shape(filters), after is not None)
    extra: dict[str, Any] = {}
    if after is not None:
        extra = {"after_key": after.key_value(), "after_id": after.last_id}
    return page_statement.params(
        **_params(filters, now or utcnow()),
        **extra,
        limit=per_page + 1,
        offset=0 if after is not None else (page - 1) * per_page,
    )


def get_listing(listing_id: int, *, viewer_id: int | None = None) -> ListingView:
    """One listing in any status (cancelled and sold ones stay readable as history)."""
    row = db.session.execute(listing_select().where(LISTINGS.c.id == listing_id)).first()
    if row is None:
        raise NotFound("listing not found")
    return listing_view(row, viewer_id, utcnow())
