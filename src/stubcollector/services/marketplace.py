"""The marketplace: listing stubs for sale, browsing and searching, the overview pages.

Reads are shaped for speed because browsing is the busiest page: one ``SELECT`` joins the
listing, its stub and its seller and returns plain columns (no ORM objects), and rows become
dicts directly. The total of a search is not counted on every request (see
:data:`totals` and docs/PERFORMANCE.md), and the rows of a page are reused until
a listing, stub or seller changes (:data:`pages`). Writes own their transaction; the one-live-
listing-per-stub rule and the "cannot change a listing under a buyer" rule are decided by
the database (a unique index and a conditional ``UPDATE``), not by a check-then-write.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
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
    type_coerce,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from stubcollector.adapters.jobs import periodic
from stubcollector.container import container, settings
from stubcollector.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from stubcollector.domain.money import cents_to_decimal_string, format_cents, parse_price_cents
from stubcollector.domain.statuses import ListingStatus
from stubcollector.extensions import db
from stubcollector.models import (
    Stub,
    StubListing,
    User,
    utcnow,
)
from stubcollector.models.listing import ON_SALE_SQL
from stubcollector.models.search import SEARCH_TEXT_SQL, VENUE_TEXT_SQL
from stubcollector.services import audit, checkout, reservations
from stubcollector.services.accounts import build_public_profile
from stubcollector.services.reservations import ExpiredReservation
from stubcollector.services.transaction import transaction

V = TypeVar("V")

DEFAULT_PER_PAGE: Final = 24
MAX_PER_PAGE: Final = 100
MAX_SEARCH_TERMS: Final = 8

ACTIVE = ListingStatus.ACTIVE.value
PENDING = ListingStatus.PAYMENT_PENDING.value
SOLD = ListingStatus.SOLD.value
CANCELLED = ListingStatus.CANCELLED.value

REASON_SOLD = "this listing has been sold"
REASON_CANCELLED = "this listing was withdrawn by the seller"
REASON_RESERVED = "another buyer is paying for this listing; try again later"
REASON_OWN = "this is your listing"
REASON_SELLER_NOT_READY = "seller is not set up to receive payments"


class IsoTimestamp(UserDefinedType[str]):
    """Read a UTC timestamp column straight to ISO-8601 text (the API's form).

    Skips building a datetime only to format it again: SQLite stores these columns as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (see ``models.base.UTCDateTime``); PostgreSQL's
    driver returns an aware datetime.
    """

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "TIMESTAMP"

    def result_processor(
        self,
        dialect: Dialect,
        coltype: object,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> Callable[[Any], str | None]:
        if dialect.name == "sqlite":
            return lambda value: None if value is None else f"{value[:10]}T{value[11:]}+00:00"
        return lambda value: None if value is None else value.astimezone(UTC).isoformat()


class IsoDate(UserDefinedType[str]):
    """Read a DATE column straight to ``YYYY-MM-DD`` (SQLite already stores that text)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "DATE"

    def result_processor(
        self,
        dialect: Dialect,
        coltype: object,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> Callable[[Any], str | None]:
        if dialect.name == "sqlite":
            return lambda value: value
        return lambda value: None if value is None else value.isoformat()


# Core tables, not ORM entities: the browse page runs one prebuilt statement per filter
# shape and reads plain rows (ORM statement building and compiling cost more than the query).
_LISTINGS = StubListing.__table__
_STUBS = Stub.__table__
_USERS = User.__table__

SORTS: Final[dict[str, tuple[Any, ...]]] = {
    "newest": (_LISTINGS.c.listed_at.desc(), _LISTINGS.c.id.desc()),
    "price_asc": (_LISTINGS.c.asking_price_cents.asc(), _LISTINGS.c.id.asc()),
    "price_desc": (_LISTINGS.c.asking_price_cents.desc(), _LISTINGS.c.id.desc()),
    "event_date": (_STUBS.c.event_date.asc().nulls_last(), _LISTINGS.c.id.asc()),
    "event_date_desc": (_STUBS.c.event_date.desc().nulls_last(), _LISTINGS.c.id.desc()),
}

# The same text as the partial indexes' predicate, so both databases can use them.
_ON_SALE: ColumnElement[bool] = literal_column(
    ON_SALE_SQL.replace("status", "stub_listings.status", 1)
)
_SEARCH_TEXT: ColumnElement[str] = literal_column(SEARCH_TEXT_SQL)
_VENUE_TEXT: ColumnElement[str] = literal_column(VENUE_TEXT_SQL)

# Every column a listing response needs, in the order _listing_payload unpacks them.
_LISTING_COLUMNS = (
    _LISTINGS.c.id,
    _LISTINGS.c.stub_id,
    _LISTINGS.c.seller_id,
    _LISTINGS.c.asking_price_cents,
    _LISTINGS.c.currency,
    _LISTINGS.c.description,
    _LISTINGS.c.status,
    _LISTINGS.c.reserved_by_user_id,
    _LISTINGS.c.reserved_until,
    type_coerce(_LISTINGS.c.listed_at, IsoTimestamp()).label("listed_at"),
    type_coerce(_LISTINGS.c.updated_at, IsoTimestamp()).label("updated_at"),
    type_coerce(_LISTINGS.c.sold_at, IsoTimestamp()).label("sold_at"),
    type_coerce(_LISTINGS.c.cancelled_at, IsoTimestamp()).label("cancelled_at"),
    _STUBS.c.event_name,
    _STUBS.c.performer,
    _STUBS.c.venue,
    _STUBS.c.city,
    type_coerce(_STUBS.c.event_date, IsoDate()).label("event_date"),
    _STUBS.c.event_time,
    _STUBS.c.section,
    _STUBS.c.row,
    _STUBS.c.seat,
    _STUBS.c.face_value_cents,
    _STUBS.c.currency.label("stub_currency"),
    _USERS.c.username,
    _USERS.c.display_name,
    _USERS.c.seller_bio,
    _USERS.c.location,
    _USERS.c.created_at.label("seller_since"),
    _USERS.c.stripe_account_id,
    _USERS.c.stripe_charges_enabled,
)
_LISTING_JOINS = _LISTINGS.join(_STUBS, _STUBS.c.id == _LISTINGS.c.stub_id).join(
    _USERS, _USERS.c.id == _LISTINGS.c.seller_id
)


def _listing_select() -> Select[Any]:
    return select(*_LISTING_COLUMNS).select_from(_LISTING_JOINS)


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def purchase_status(
    *,
    status: str,
    seller_id: int,
    seller_can_take_payments: bool,
    holder_id: int | None,
    viewer_id: int | None,
) -> tuple[bool, str | None]:
    """Whether ``viewer_id`` can buy a listing in effective ``status`` now, and why not.

    Anonymous viewers see what a logged-in buyer would see; checkout asks them to log in.
    """
    if status == SOLD:
        return False, REASON_SOLD
    if status == CANCELLED:
        return False, REASON_CANCELLED
    if viewer_id is not None and viewer_id == seller_id:
        return False, REASON_OWN
    if status == PENDING and (viewer_id is None or holder_id != viewer_id):
        return False, REASON_RESERVED
    if not seller_can_take_payments:
        return False, REASON_SELLER_NOT_READY
    return True, None


def _listing_payload(row: Row[Any], viewer_id: int | None, now: datetime) -> dict[str, Any]:
    (
        listing_id,
        stub_id,
        seller_id,
        price,
        currency,
        description,
        status,
        holder_id,
        reserved_until,
        listed_at,
        updated_at,
        sold_at,
        cancelled_at,
        event_name,
        performer,
        venue,
        city,
        event_date,
        event_time,
        section,
        row_name,
        seat,
        face_value,
        stub_currency,
        username,
        display_name,
        bio,
        location,
        seller_since,
        account_id,
        charges_enabled,
    ) = row
    if status == PENDING and reserved_until is not None and reserved_until <= now:
        # An expired hold reads as active before any sweep runs.
        status, holder_id, reserved_until = ACTIVE, None, None
    seller_ready = bool(account_id and charges_enabled)
    can_purchase, reason = purchase_status(
        status=status,
        seller_id=seller_id,
        seller_can_take_payments=seller_ready,
        holder_id=holder_id,
        viewer_id=viewer_id,
    )
    return {
        "id": listing_id,
        "stub_id": stub_id,
        "seller_id": seller_id,
        "seller_name": username,
        "status": status,
        "asking_price": cents_to_decimal_string(price),
        "asking_price_cents": price,
        "price_display": format_cents(price, currency),
        "currency": currency,
        "description": description,
        "listed_at": listed_at,
        "updated_at": updated_at,
        "sold_at": sold_at,
        "cancelled_at": cancelled_at,
        "reserved_until": _iso(reserved_until),
        "reserved_by_you": viewer_id is not None and holder_id == viewer_id,
        "can_purchase": can_purchase,
        "purchase_status_reason": reason,
        "stub": {
            "id": stub_id,
            "event_name": event_name,
            "performer": performer,
            "venue": venue,
            "city": city,
            "event_date": event_date,
            "event_time": event_time,
            "section": section,
            "row": row_name,
            "seat": seat,
            "face_value_cents": face_value,
            "face_value_display": (
                None if face_value is None else format_cents(face_value, stub_currency or "USD")
            ),
            "currency": stub_currency,
        },
        "seller": build_public_profile(
            user_id=seller_id,
            username=username,
            display_name=display_name,
            bio=bio,
            location=location,
            member_since=seller_since,
            can_sell=seller_ready,
        ),
    }


# --- reading listings ---------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFilters:
    """A validated browse request (hashable: it keys the total cache)."""

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
    terms = tuple(dict.fromkeys((q or "").lower().split()))
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
        venue=(venue or "").lower() or None,
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
        or_(_LISTINGS.c.status == ACTIVE, _LISTINGS.c.reserved_until <= bindparam("now")),
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
    "newest": (_LISTINGS.c.listed_at, True),
    "price_asc": (_LISTINGS.c.asking_price_cents, False),
    "price_desc": (_LISTINGS.c.asking_price_cents, True),
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
        conditions.append(_LISTINGS.c.asking_price_cents >= bindparam("min_price"))
    if high:
        conditions.append(_LISTINGS.c.asking_price_cents <= bindparam("max_price"))
    if since:
        conditions.append(_STUBS.c.event_date >= bindparam("date_from"))
    if until:
        conditions.append(_STUBS.c.event_date <= bindparam("date_to"))
    if seller_id:
        conditions.append(_LISTINGS.c.seller_id == bindparam("seller_id"))
    if seller:
        conditions.append(_USERS.c.username == bindparam("seller"))
    page_conditions = list(conditions)
    if keyset:
        # Continue after the last row shown: (key, id) beyond the cursor's, which the
        # database answers by seeking in the same index the sort reads.
        key_column, descending = KEYSET_SORTS[sort]
        position = tuple_(key_column, _LISTINGS.c.id)
        after = tuple_(
            bindparam("after_key", type_=key_column.type),
            bindparam("after_id", type_=Integer),
        )
        page_conditions.append(position < after if descending else position > after)
    page = (
        _listing_select()
        .where(*page_conditions)
        .order_by(*SORTS[sort])
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    counted: Any = _LISTINGS
    if terms or venue or since or until:
        counted = counted.join(_STUBS, _STUBS.c.id == _LISTINGS.c.stub_id)
    if seller:
        counted = counted.join(_USERS, _USERS.c.id == _LISTINGS.c.seller_id)
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
class ListingPage:
    listings: list[dict[str, Any]]
    page: int
    per_page: int
    total: int
    has_next: bool
    next_cursor: str | None = None


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
    runs out puts its listing back on sale. What depends on the viewer (``can_purchase``,
    ``reserved_by_you``) is worked out per request from the rows.
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
        listings=[_listing_payload(row, viewer_id, now) for row in found.rows],
        page=found.page,
        per_page=per_page,
        total=found.total,
        has_next=found.has_next,
        next_cursor=found.next_cursor,
    )


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
    return PageRows(rows, page, total, has_next, next_cursor)


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


def get_listing(listing_id: int, *, viewer_id: int | None = None) -> dict[str, Any]:
    """One listing in any status (cancelled and sold ones stay readable as history)."""
    row = db.session.execute(_listing_select().where(_LISTINGS.c.id == listing_id)).first()
    if row is None:
        raise NotFound("listing not found")
    return _listing_payload(row, viewer_id, utcnow())


MY_LISTING_STATUSES = (ACTIVE, PENDING, SOLD, CANCELLED)


def seller_listings(
    seller_id: int, *, status: str | None = None, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> ListingPage:
    """A seller's own listings in every state (newest first), optionally one state."""
    now = utcnow()
    conditions: list[ColumnElement[bool]] = [_LISTINGS.c.seller_id == seller_id]
    if status == ACTIVE:
        conditions.append(reservations.live_listing_filter())
    elif status == PENDING:
        conditions += [StubListing.status == PENDING, StubListing.reserved_until > now]
    elif status is not None:
        conditions.append(StubListing.status == status)
    offset = (page - 1) * per_page
    rows = list(
        db.session.execute(
            _listing_select()
            .where(*conditions)
            .order_by(_LISTINGS.c.listed_at.desc(), _LISTINGS.c.id.desc())
            .limit(per_page + 1)
            .offset(offset)
        )
    )
    has_next = len(rows) > per_page
    del rows[per_page:]
    if not has_next and (rows or page == 1):
        total = offset + len(rows)
    else:
        # Private and per seller: an exact count over the seller's index is cheap.
        total = int(
            db.session.scalar(select(func.count()).select_from(StubListing).where(*conditions)) or 0
        )
    return ListingPage(
        listings=[_listing_payload(row, seller_id, now) for row in rows],
        page=page,
        per_page=per_page,
        total=total,
        has_next=has_next,
    )


# --- changing listings --------------------------------------------------------------------


def seller_readiness_problems(user: User) -> list[str]:
    """What stands between ``user`` and taking card payments, in words for the user."""
    missing: list[str] = []
    if not user.stripe_account_id:
        return ["connect a Stripe account (start seller onboarding)"]
    if not user.stripe_details_submitted:
        missing.append("finish Stripe onboarding")
    missing += [f"Stripe needs: {item}" for item in user.stripe_requirements_due or []]
    if user.stripe_disabled_reason:
        missing.append(f"Stripe disabled the account: {user.stripe_disabled_reason}")
    if not user.stripe_charges_enabled and not missing:
        missing.append("wait until Stripe enables card payments on your account")
    return missing


def create_listing(
    seller: User, *, stub_id: int, asking_price: object, description: str | None = None
) -> dict[str, Any]:
    """List a stub from ``seller``'s collection. One live listing per stub.

    A seller whose connected account cannot take charges is refused with ``Conflict``
    (409) naming what is missing: a buyer could not pay for the listing anyway.
    """
    price = parse_price_cents(asking_price, field="asking_price")
    with transaction() as session:
        stub = session.get(Stub, stub_id)
        if stub is None:
            raise NotFound("stub not found")
        if stub.owner_id != seller.id:
            # A private stub does not exist for anyone but its owner (as in the collection
            # API); only one that is on the market anyway may be called "not yours".
            on_market = session.scalar(
                select(StubListing.id)
                .where(StubListing.stub_id == stub_id, StubListing.status.in_([ACTIVE, PENDING]))
                .limit(1)
            )
            if on_market is None:
                raise NotFound("stub not found")
            raise PermissionDenied("you can only list stubs from your own collection")
        if not seller.can_accept_payments:
            problems = "; ".join(seller_readiness_problems(seller))
            raise Conflict(
                f"your account cannot take card payments yet: {problems}", field="seller"
            )
        existing = session.scalar(
            select(StubListing.id).where(
                StubListing.stub_id == stub_id,
                StubListing.status.in_([ACTIVE, PENDING, SOLD]),
            )
        )
        if existing is not None:
            raise _already_listed(existing)
        listing = StubListing(
            stub_id=stub_id,
            seller_id=seller.id,
            asking_price_cents=price,
            description=(description or "").strip() or None,
        )
        session.add(listing)
        try:
            session.flush()
        except IntegrityError:
            # Two requests listing the same stub at once: the partial unique index decided.
            raise _already_listed(None) from None
        audit.record(
            session,
            action="listing.created",
            object_type="listing",
            object_id=listing.id,
            actor=seller,
            after=ACTIVE,
            price_cents=price,
            stub_id=stub_id,
        )
        listing_id = listing.id
    totals.clear()
    return get_listing(listing_id, viewer_id=seller.id)


def _already_listed(listing_id: int | None) -> Conflict:
    which = f" (listing {listing_id})" if listing_id is not None else ""
    return Conflict(f"this stub is already listed{which}", field="stub_id")


_UNCHANGED: Final = object()


def update_listing(
    user: User,
    listing_id: int,
    *,
    asking_price: object = _UNCHANGED,
    description: object = _UNCHANGED,
) -> dict[str, Any]:
    """Change price or description; only the seller, and only while nobody is buying it."""
    values: dict[str, Any] = {}
    if asking_price is not _UNCHANGED:
        values["asking_price_cents"] = parse_price_cents(asking_price, field="asking_price")
    if description is not _UNCHANGED:
        values["description"] = (
            description.strip() or None if isinstance(description, str) else None
        )
    if not values:
        raise ValidationFailed("body", "change at least one of asking_price, description")
    listing = _listing_for_change(user, listing_id, admin_may=False)
    before_price = listing.asking_price_cents
    _ensure_changeable(listing, "edited")
    with transaction() as session:
        _swap_if_active(session, listing_id, values)
        audit.record(
            session,
            action="listing.updated",
            object_type="listing",
            object_id=listing_id,
            actor=user,
            before=ACTIVE,
            after=ACTIVE,
            price_before_cents=before_price,
            price_after_cents=values.get("asking_price_cents", before_price),
        )
    totals.clear()
    return get_listing(listing_id, viewer_id=user.id)


def cancel_listing(user: User, listing_id: int) -> dict[str, Any]:
    """Withdraw a listing (a status; the row stays). Cancelling twice is harmless."""
    listing = _listing_for_change(user, listing_id, admin_may=True)
    if listing.status == CANCELLED:
        return get_listing(listing_id, viewer_id=user.id)
    _ensure_changeable(listing, "cancelled")
    now = utcnow()
    with transaction() as session:
        _swap_if_active(session, listing_id, {"status": CANCELLED, "cancelled_at": now})
        audit.record(
            session,
            action="listing.cancelled",
            object_type="listing",
            object_id=listing_id,
            actor=user,
            before=ACTIVE,
            after=CANCELLED,
        )
        if user.id != listing.seller_id:
            # Moderation: an admin withdrew someone else's listing.
            audit.record_admin_action(
                session,
                admin=user,
                action="listing_cancelled",
                object_type="listing",
                object_id=listing_id,
                before=ACTIVE,
                after=CANCELLED,
                seller_id=listing.seller_id,
            )
    totals.clear()
    return get_listing(listing_id, viewer_id=user.id)


def _listing_for_change(user: User, listing_id: int, *, admin_may: bool) -> StubListing:
    listing = db.session.get(StubListing, listing_id, populate_existing=True)
    if listing is None:
        raise NotFound("listing not found")
    if listing.seller_id != user.id and not (admin_may and user.is_admin):
        raise PermissionDenied("only the seller can change this listing")
    if reservations.is_reservation_expired(listing):
        # Release the lapsed hold (and cancel its unpaid order) the way the sweep does, so
        # that whatever the sweep does for such orders happens here too.
        release_expired()
        db.session.refresh(listing)
    return listing


def _ensure_changeable(listing: StubListing, verb: str) -> None:
    status = reservations.effective_status(listing)
    if status is ListingStatus.PAYMENT_PENDING:
        raise Conflict(
            f"a buyer is paying for this listing; it cannot be {verb} until the reservation ends"
        )
    if status is ListingStatus.SOLD:
        raise Conflict(f"this listing has been sold and cannot be {verb}")
    if status is ListingStatus.CANCELLED:
        raise Conflict(f"this listing was cancelled and cannot be {verb}; list the stub again")


def _swap_if_active(session: Any, listing_id: int, values: dict[str, Any]) -> None:
    """Apply ``values`` only if the listing is still active: a buyer may have just reserved."""
    result = session.execute(
        update(StubListing)
        .where(StubListing.id == listing_id, StubListing.status == ACTIVE)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("a buyer reserved this listing a moment ago; it cannot be changed now")


@periodic("marketplace.release_expired", every=60)
def release_expired() -> list[ExpiredReservation]:
    """The expiry sweep: release lapsed holds, cancel their orders and PaymentIntents.

    Run by ``flask marketplace release-expired`` and by the scheduler every minute.
    Readers never wait for it: an expired hold already reads as active.
    """
    released = checkout.expire_reservations()
    if released:
        totals.clear()
    return released


def payment_compatibility(user: User) -> dict[str, Any]:
    """Whether ``user`` can buy and sell now, and what is missing to sell."""
    can_buy = user.is_active_account
    can_sell = can_buy and user.can_accept_payments
    missing = [] if can_sell else seller_readiness_problems(user)
    if not user.is_active_account:
        missing.insert(0, "your account is deactivated; contact support")
    return {
        "can_buy": can_buy,
        "can_sell": can_sell,
        "missing": missing,
        "stripe_account_id": user.stripe_account_id,
        "stripe_account_status": user.stripe_account_status,
        "charges_enabled": user.stripe_charges_enabled,
        "payouts_enabled": user.stripe_payouts_enabled,
        "details_submitted": user.stripe_details_submitted,
        "requirements_due": list(user.stripe_requirements_due or []),
        "disabled_reason": user.stripe_disabled_reason,
    }


def stub_listing(seller_id: int, stub_id: int) -> dict[str, Any] | None:
    """The stub's live listing (on sale, reserved or sold), for its owner's stub page.

    ``None`` when the stub is not on the marketplace (never listed, or cancelled since).
    """
    row = db.session.execute(
        _listing_select()
        .where(
            _LISTINGS.c.stub_id == stub_id,
            _LISTINGS.c.seller_id == seller_id,
            _LISTINGS.c.status.in_([ACTIVE, PENDING, SOLD]),
        )
        .order_by(_LISTINGS.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _listing_payload(row, seller_id, utcnow())
