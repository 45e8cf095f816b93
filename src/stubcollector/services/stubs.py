"""Collection: upload a stub photo, read it in the background, correct, browse, delete.

The upload answers at once: the image is checked, re-encoded and stored, the stub row is
created with ``reading_status = pending`` and the job ``stubs.read`` is queued. The job
reads the image with the configured engine and fills every field the owner has not set
by hand. A failed reading is a status with a message on the stub, never a lost upload.

The owner's stubs leave this module as :class:`StubView` (real dates, cents for the pages);
the API writes the same object as its JSON.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from stubcollector.adapters.images import prepare_upload
from stubcollector.adapters.jobs import job
from stubcollector.adapters.ocr.base import (
    READ_FIELDS,
    KnownNames,
    StubReading,
    StubReadingError,
)
from stubcollector.adapters.storage import StoredImageMissing
from stubcollector.container import container
from stubcollector.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from stubcollector.domain.money import cents_to_decimal_string
from stubcollector.domain.statuses import LIVE_LISTING_STATUSES, ReadingStatus
from stubcollector.domain.stub_fields import validate_stub_fields
from stubcollector.models import Stub, StubListing, User, utcnow
from stubcollector.services import audit
from stubcollector.services.results import PAGE_ONLY
from stubcollector.services.transaction import transaction

log = logging.getLogger(__name__)

READ_JOB = "stubs.read"
# A reading still "pending"/"reading" after this long was lost (worker restart); it may be
# started again.
STALE_READING = timedelta(minutes=10)
_LIVE = [status.value for status in LIVE_LISTING_STATUSES]


# --- upload and reading -----------------------------------------------------------------------


def upload_stub(owner: User, data: bytes, known: dict[str, Any] | None = None) -> StubView:
    """Store a new stub from image bytes plus any fields the owner already knows."""
    values = validate_stub_fields(known or {})
    settings = container().settings
    prepared = prepare_upload(
        data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels
    )
    storage = container().storage
    try:
        image_key = storage.save(prepared.data, suffix=prepared.suffix)
        try:
            thumbnail_key = storage.save(prepared.thumbnail, suffix=".jpg")
        except BaseException:
            storage.delete(image_key)
            raise
    except OSError:
        log.exception("image storage failed")
        raise ServiceUnavailable("the image could not be stored; try again later") from None
    corrected = sorted(_field_names(values))
    try:
        with transaction() as session:
            stub = Stub(
                owner_id=owner.id,
                image_key=image_key,
                thumbnail_key=thumbnail_key,
                image_content_type=prepared.content_type,
                image_width=prepared.width,
                image_height=prepared.height,
                reading_status=ReadingStatus.PENDING.value,
                field_confidence=dict.fromkeys(corrected, 1.0),
                corrected_fields=corrected,
                **values,
            )
            session.add(stub)
            session.flush()
            stub_id = stub.id
    except BaseException:
        storage.delete(image_key)
        storage.delete(thumbnail_key)
        raise
    _queue_reading(stub_id)
    return _reload(stub_id)


def _field_names(values: dict[str, Any]) -> set[str]:
    """Column names back to field names (``face_value_cents`` is the field ``face_value``)."""
    names = {"face_value" if column == "face_value_cents" else column for column in values}
    return names - {"notes"}


def _queue_reading(stub_id: int) -> None:
    try:
        container().jobs.enqueue(READ_JOB, stub_id)
    except Exception:
        # The upload is safe in storage; the owner can start the reading again.
        log.exception("could not queue the reading of stub %s", stub_id)
        _record_failure(stub_id, "the reading could not be started; try again later")


def _reload(stub_id: int) -> StubView:
    with transaction() as session:
        stub = session.get(Stub, stub_id, populate_existing=True)
        if stub is None:
            raise NotFound("stub not found")
        return _view(stub)


@job(READ_JOB)
def read_stub(stub_id: int) -> None:
    """The background job: read the stub's image and fill the fields the owner did not set."""
    with transaction() as session:
        stub = session.get(Stub, stub_id)
        if stub is None:
            return  # deleted before its turn came
        stub.reading_status = ReadingStatus.READING.value
        stub.reading_error = None
        image_key, content_type = stub.image_key, stub.image_content_type or "image/jpeg"
    if image_key is None:
        _record_failure(stub_id, "the stub has no image to read")
        return
    try:
        image = container().storage.load(image_key)
        reading = container().reader.read(image, content_type, known=known_names())
    except StoredImageMissing:
        _record_failure(stub_id, "the stored image is missing")
        return
    except StubReadingError as exc:
        _record_failure(stub_id, str(exc))
        return
    except Exception:
        log.exception("reading stub %s failed", stub_id)
        _record_failure(
            stub_id, "the stub could not be read; fill in the fields yourself or try again"
        )
        return
    with transaction() as session:
        stub = session.get(Stub, stub_id, with_for_update=True, populate_existing=True)
        if stub is None:
            return
        apply_reading(stub, reading)


# --- names the reader may recognise ------------------------------------------------------------

# Until the shared event catalogue exists, the names owners typed or corrected on their stubs
# are the reader's gazetteer: the reader gets better as collectors correct stubs.
KNOWN_NAMES_TTL_SECONDS = 600.0
MAX_KNOWN_NAMES = 5000
_KNOWN_NAMES_KEY = "stubcollector.known_names"


class KnownNamesCache:
    """The distinct confirmed performers and venues, fetched at most once per TTL per app."""

    def __init__(
        self, ttl_seconds: float = KNOWN_NAMES_TTL_SECONDS, clock: Callable[[], float] = monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: KnownNames | None = None
        self._fetched_at = 0.0

    def get(self) -> KnownNames:
        with self._lock:
            now = self._clock()
            if self._value is None or now - self._fetched_at >= self._ttl:
                self._value = confirmed_names()
                self._fetched_at = now
            return self._value


def known_names() -> KnownNames:
    """The names the reader should know, cached for this app (see :class:`KnownNamesCache`)."""
    cache = current_app.extensions.setdefault(_KNOWN_NAMES_KEY, KnownNamesCache())
    assert isinstance(cache, KnownNamesCache)
    try:
        return cache.get()
    except Exception:
        # A reading must not fail because its hints could not be fetched.
        log.exception("could not load the known performers and venues")
        return KnownNames()


def confirmed_names(limit: int = MAX_KNOWN_NAMES) -> KnownNames:
    """Performers and venues that owners typed or corrected on a stub, most used first."""
    with transaction() as session:
        return KnownNames(
            performers=_confirmed(session, Stub.performer, "performer", limit),
            venues=_confirmed(session, Stub.venue, "venue", limit),
        )


def _confirmed(session: Session, column: Any, field_name: str, limit: int) -> tuple[str, ...]:
    # corrected_fields is a JSON list; its text form names the field in quotes on SQLite
    # and PostgreSQL alike.
    corrected = cast(Stub.corrected_fields, String).contains(f'"{field_name}"')
    uses = func.count(Stub.id)
    rows = session.execute(
        select(column)
        .where(column.is_not(None), corrected)
        .group_by(column)
        .order_by(uses.desc(), column)
        .limit(limit)
    )
    return tuple(str(value) for (value,) in rows if str(value).strip())


def _record_failure(stub_id: int, message: str) -> None:
    with transaction() as session:
        stub = session.get(Stub, stub_id, with_for_update=True, populate_existing=True)
        if stub is None:
            return
        stub.reading_status = ReadingStatus.FAILED.value
        stub.reading_error = message


def apply_reading(stub: Stub, reading: StubReading) -> None:
    """Copy what was read onto ``stub``, never over a field its owner set by hand.

    Each value passes the same validation as an owner's input; one the engine got wrong
    in form (an impossible date, a 300-character seat) is dropped, not stored.
    """
    corrected = set(stub.corrected_fields or [])
    confidence = dict.fromkeys(corrected, 1.0)
    for name in READ_FIELDS:
        if name in corrected:
            continue
        found = reading.fields.get(name)
        column = "face_value_cents" if name == "face_value" else name
        value: Any = None
        if found is not None:
            try:
                value = validate_stub_fields({name: found.value})[column]
            except DomainError:
                log.info("stub %s: dropped unusable %s %r", stub.id, name, found.value)
                found = None
        setattr(stub, column, value)
        if found is not None and value is not None:
            confidence[name] = found.confidence
    stub.field_confidence = confidence
    stub.raw_text = reading.raw_text[:20_000] or None
    stub.extraction_engine = reading.engine
    stub.extraction_notes = reading.notes
    stub.reading_status = ReadingStatus.DONE.value
    stub.reading_error = None


def start_reading_again(owner: User, stub_id: int) -> StubView:
    """Queue a new reading (after a failure, or with a better engine configured)."""
    with transaction() as session:
        stub = _owned(session, owner, stub_id, lock=True)
        busy = stub.reading_status in (ReadingStatus.PENDING, ReadingStatus.READING)
        if busy and utcnow() - stub.updated_at < STALE_READING:
            raise Conflict("the stub is being read already")
        stub.reading_status = ReadingStatus.PENDING.value
        stub.reading_error = None
    _queue_reading(stub_id)
    return _reload(stub_id)


# --- the owner's collection -------------------------------------------------------------------


def _owned(session: Session, owner: User, stub_id: int, *, lock: bool = False) -> Stub:
    stub = session.get(Stub, stub_id, with_for_update=lock)
    if stub is None:
        raise NotFound("stub not found")
    if stub.owner_id != owner.id:
        # A stub on the marketplace is public knowledge, so saying "not yours" leaks
        # nothing; a private one is "not found" to everyone but its owner.
        if _has_live_listing(session, stub_id):
            raise PermissionDenied("only the stub's owner may do this")
        raise NotFound("stub not found")
    return stub


def _has_live_listing(session: Session, stub_id: int) -> bool:
    found = session.scalar(
        select(StubListing.id)
        .where(StubListing.stub_id == stub_id, StubListing.status.in_(_LIVE))
        .limit(1)
    )
    return found is not None


def get_stub(owner: User, stub_id: int) -> StubView:
    with transaction() as session:
        return _view(_owned(session, owner, stub_id))


def update_stub(owner: User, stub_id: int, changes: dict[str, Any]) -> StubView:
    """Correct fields; each corrected field is the owner's from then on (confidence 1)."""
    if not changes:
        return get_stub(owner, stub_id)
    values = validate_stub_fields(changes)
    with transaction() as session:
        stub = _owned(session, owner, stub_id, lock=True)
        for column, value in values.items():
            setattr(stub, column, value)
        touched = _field_names(values)
        stub.corrected_fields = sorted(set(stub.corrected_fields or []) | touched)
        confidence = dict(stub.field_confidence or {})
        confidence.update(dict.fromkeys(touched, 1.0))
        stub.field_confidence = confidence
    return _reload(stub_id)


def delete_stub(owner: User, stub_id: int) -> None:
    """Delete a stub and its images; a stub with listing history stays (orders refer to it)."""
    with transaction() as session:
        stub = _owned(session, owner, stub_id, lock=True)
        if _has_live_listing(session, stub_id):
            raise Conflict("the stub is listed or sold; cancel the listing first")
        if session.scalar(select(StubListing.id).where(StubListing.stub_id == stub_id).limit(1)):
            raise Conflict("the stub has been listed before; its history is kept")
        keys = [key for key in (stub.image_key, stub.thumbnail_key) if key]
        session.delete(stub)
        audit.record(
            session, action="stub.deleted", object_type="stub", object_id=stub_id, actor=owner
        )
    storage = container().storage
    for key in keys:
        try:
            storage.delete(key)
        except OSError:
            # The row is gone; an orphaned file is harmless and is logged for clean-up.
            log.exception("could not delete image %s of stub %s", key, stub_id)


SORT_COLUMNS: dict[str, Any] = {
    "created_at": Stub.created_at,
    "event_date": Stub.event_date,
    "event_name": Stub.event_name,
    "performer": Stub.performer,
    "venue": Stub.venue,
    "face_value": Stub.face_value_cents,
}


@dataclass(frozen=True)
class StubQuery:
    text: str | None = None
    year: int | None = None
    venue: str | None = None
    reading_status: str | None = None
    # Only stubs that can be listed now: none of their listings is live (on sale, reserved
    # or sold); a cancelled listing does not count.
    listable: bool = False
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class StubPage:
    stubs: tuple[StubView, ...]
    page: int
    per_page: int
    total: int


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    # autoescape: a "%" or "_" typed by the user is a character, not a wildcard.
    return func.lower(column).contains(text.lower(), autoescape=True)


def list_stubs(owner: User, query: StubQuery) -> StubPage:
    """The owner's stubs, searched, filtered, sorted and paged."""
    conditions: list[ColumnElement[bool]] = [Stub.owner_id == owner.id]
    if query.text:
        words = query.text.split()[:8]
        searchable = (
            Stub.event_name,
            Stub.performer,
            Stub.venue,
            Stub.city,
            Stub.section,
            Stub.notes,
        )
        # Every word must match some field: "pearl garden" finds Pearl Jam at the Garden.
        conditions.extend(or_(*(_contains(col, word) for col in searchable)) for word in words)
    if query.year is not None:
        conditions.append(
            and_(
                Stub.event_date >= date(query.year, 1, 1),
                Stub.event_date <= date(query.year, 12, 31),
            )
        )
    if query.venue:
        conditions.append(_contains(Stub.venue, query.venue))
    if query.reading_status:
        conditions.append(Stub.reading_status == query.reading_status)
    if query.listable:
        live = select(StubListing.id).where(
            StubListing.stub_id == Stub.id, StubListing.status.in_(_LIVE)
        )
        conditions.append(~live.exists())
    column = SORT_COLUMNS[query.sort]
    ordering = column.desc() if query.descending else column.asc()
    statement: Select[tuple[Stub]] = (
        select(Stub)
        .where(*conditions)
        # Stubs without the sorted value go last either way; the id keeps pages stable.
        .order_by(column.is_(None), ordering, Stub.id.desc() if query.descending else Stub.id)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    )
    with transaction() as session:
        total = session.scalar(select(func.count(Stub.id)).where(*conditions)) or 0
        stubs = tuple(_view(stub) for stub in session.scalars(statement))
    return StubPage(stubs=stubs, page=query.page, per_page=query.per_page, total=total)


# --- images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StubImage:
    data: bytes
    content_type: str
    filename: str


def stub_image(viewer: User | None, stub_id: int, *, thumbnail: bool = False) -> StubImage:
    """The image for whoever may see it: the owner, or anyone while the stub is listed."""
    with transaction() as session:
        stub = session.get(Stub, stub_id)
        if stub is None:
            raise NotFound("stub not found")
        is_owner = viewer is not None and viewer.id == stub.owner_id
        if not is_owner and not _has_live_listing(session, stub_id):
            raise NotFound("stub not found")
        key = stub.thumbnail_key if thumbnail else stub.image_key
        content_type = "image/jpeg" if thumbnail else (stub.image_content_type or "image/jpeg")
    if key is None:
        raise NotFound("the stub has no image")
    try:
        data = container().storage.load(key)
    except StoredImageMissing:
        raise NotFound("the stub's image is missing") from None
    suffix = ".png" if content_type == "image/png" else ".jpg"
    name = f"stub-{stub_id}{'-thumbnail' if thumbnail else ''}{suffix}"
    return StubImage(data=data, content_type=content_type, filename=name)


# --- what the owner sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class StubView:
    """One stub as its owner sees it; fields in the order of the API's JSON."""

    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    city: str | None
    event_date: date | None
    event_time: str | None  # "HH:MM"
    section: str | None
    row: str | None
    seat: str | None
    face_value: str | None  # the API's decimal string, "45.00"
    face_value_cents: int | None = field(metadata=PAGE_ONLY)
    currency: str | None
    notes: str | None
    field_confidence: Mapping[str, float]
    corrected_fields: tuple[str, ...]
    reading_status: str
    reading_error: str | None
    extraction_engine: str | None
    extraction_notes: str | None
    raw_text: str | None
    image_url: str | None
    thumbnail_url: str | None
    image_width: int | None
    image_height: int | None
    created_at: datetime
    updated_at: datetime


def _view(stub: Stub) -> StubView:
    face = stub.face_value_cents
    return StubView(
        id=stub.id,
        event_name=stub.event_name,
        performer=stub.performer,
        venue=stub.venue,
        city=stub.city,
        event_date=stub.event_date,
        event_time=stub.event_time,
        section=stub.section,
        row=stub.row,
        seat=stub.seat,
        face_value=cents_to_decimal_string(face) if face is not None else None,
        face_value_cents=face,
        currency=stub.currency,
        notes=stub.notes,
        field_confidence=dict(stub.field_confidence or {}),
        corrected_fields=tuple(stub.corrected_fields or ()),
        reading_status=stub.reading_status,
        reading_error=stub.reading_error,
        extraction_engine=stub.extraction_engine,
        extraction_notes=stub.extraction_notes,
        raw_text=stub.raw_text,
        image_url=f"/api/stubs/{stub.id}/image" if stub.image_key else None,
        thumbnail_url=f"/api/stubs/{stub.id}/thumbnail" if stub.thumbnail_key else None,
        image_width=stub.image_width,
        image_height=stub.image_height,
        created_at=stub.created_at,
        updated_at=stub.updated_at,
    )
