"""Collection: /api/stubs/upload, /api/stubs, /api/stubs/<id> and the stub's images."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from pydantic import Field

from stubcollector.domain.errors import UnsupportedMedia, ValidationFailed
from stubcollector.domain.stub_fields import EDITABLE_FIELDS
from stubcollector.extensions import limiter
from stubcollector.ratelimits import READINGS, UPLOADS
from stubcollector.services import stubs
from stubcollector.web.api_endpoint import api_endpoint, read_json_object
from stubcollector.web.current import optional_user, require_user
from stubcollector.web.envelope import ok
from stubcollector.web.schemas import (
    FileResponse,
    QueryModel,
    RequestModel,
    ResponseModel,
    SuccessEnvelope,
)

bp = Blueprint("stubs", __name__, url_prefix="/api/stubs")

_FIELD_DESCRIPTION = "Leave out to keep; empty string or null clears."


class StubFieldsRequest(RequestModel):
    """The fields an owner may set; validated per field by the collection service."""

    event_name: str | None = Field(default=None, description=_FIELD_DESCRIPTION)
    performer: str | None = None
    venue: str | None = None
    city: str | None = None
    event_date: str | None = Field(default=None, examples=["2009-04-19"])
    event_time: str | None = Field(default=None, examples=["20:00"])
    section: str | None = None
    row: str | None = None
    seat: str | None = None
    face_value: str | None = Field(default=None, examples=["45.00"])
    currency: str | None = Field(default=None, examples=["USD"])
    notes: str | None = None


class StubOut(ResponseModel):
    id: int
    event_name: str | None
    performer: str | None
    venue: str | None
    city: str | None
    event_date: str | None
    event_time: str | None
    section: str | None
    row: str | None
    seat: str | None
    face_value: str | None
    currency: str | None
    notes: str | None
    field_confidence: dict[str, float]
    corrected_fields: list[str]
    reading_status: Literal["pending", "reading", "done", "failed"]
    reading_error: str | None
    extraction_engine: str | None
    extraction_notes: str | None
    raw_text: str | None
    image_url: str | None
    thumbnail_url: str | None
    image_width: int | None
    image_height: int | None
    created_at: str
    updated_at: str


class StubEnvelope(SuccessEnvelope):
    stub: StubOut


class StubListEnvelope(SuccessEnvelope):
    stubs: list[StubOut]
    page: int
    per_page: int
    total: int


class StubListQuery(QueryModel):
    q: str | None = Field(default=None, max_length=200, description="Words to find in any field")
    year: int | None = Field(default=None, ge=1900, le=2099)
    venue: str | None = Field(default=None, max_length=200)
    reading_status: Literal["pending", "reading", "done", "failed"] | None = None
    sort: Literal["created_at", "event_date", "event_name", "performer", "venue", "face_value"] = (
        "created_at"
    )
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {
            "type": "string",
            "format": "binary",
            "description": "PNG or JPEG; checked by decoding, size and pixel limits apply",
        },
        **{name: {"type": "string"} for name in EDITABLE_FIELDS},
    },
}


@bp.post("/upload")
@limiter.per_user_budget(UPLOADS)
@api_endpoint(
    summary="Upload a stub photo; reading starts in the background",
    description=(
        "Multipart form with the file in `image` and optionally any fields already known "
        "(they are kept as corrections). Send `X-Requested-With`. The answer comes at once "
        "with `reading_status`; poll `GET /api/stubs/{id}` until it is `done` or `failed`."
    ),
    tags=["collection"],
    auth=True,
    multipart=UPLOAD_SCHEMA,
    responses={201: StubEnvelope},
)
def upload() -> ResponseReturnValue:
    user = require_user()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMedia("upload the image as multipart/form-data in the field 'image'")
    files = request.files.getlist("image")
    if len(files) != 1:
        raise ValidationFailed("image", "send exactly one file in the field 'image'")
    known: dict[str, str] = {}
    for name in request.form:
        if name not in EDITABLE_FIELDS:
            raise ValidationFailed(name, "is not a known field")
        known[name] = request.form[name]
    # The original file name is never used: storage picks a random one.
    data = files[0].stream.read()
    stub = stubs.upload_stub(user, data, known)
    return ok(201, message="stub uploaded", stub=stub)


@bp.get("")
@api_endpoint(
    summary="The logged-in user's stubs: search, filter, sort, pages",
    tags=["collection"],
    auth=True,
    query=StubListQuery,
    responses={200: StubListEnvelope},
)
def list_stubs(query: StubListQuery) -> ResponseReturnValue:
    user = require_user()
    page = stubs.list_stubs(
        user,
        stubs.StubQuery(
            text=query.q,
            year=query.year,
            venue=query.venue,
            reading_status=query.reading_status,
            sort=query.sort,
            descending=query.order == "desc",
            page=query.page,
            per_page=query.per_page,
        ),
    )
    return ok(
        stubs=page.stubs,
        page=page.page,
        per_page=page.per_page,
        total=page.total,
    )


@bp.get("/<int:stub_id>")
@api_endpoint(
    summary="One of the user's stubs (poll here while it is being read)",
    tags=["collection"],
    auth=True,
    responses={200: StubEnvelope},
)
def get_stub(stub_id: int) -> ResponseReturnValue:
    return ok(stub=stubs.get_stub(require_user(), stub_id))


@bp.patch("/<int:stub_id>")
@api_endpoint(
    summary="Correct a stub's fields (corrected fields are never overwritten by a reading)",
    tags=["collection"],
    auth=True,
    body=StubFieldsRequest,
    responses={200: StubEnvelope},
)
def update_stub(stub_id: int, body: StubFieldsRequest) -> ResponseReturnValue:
    user = require_user()
    # Only the fields actually sent: null clears a field, leaving it out keeps it.
    sent = read_json_object()
    changes = {name: getattr(body, name) for name in body.model_fields_set if name in sent}
    stub = stubs.update_stub(user, stub_id, changes)
    return ok(message="stub updated", stub=stub)


@bp.delete("/<int:stub_id>")
@api_endpoint(
    summary="Delete a stub and its images (not while listed or sold)",
    tags=["collection"],
    auth=True,
    responses={200: SuccessEnvelope},
)
def delete_stub(stub_id: int) -> ResponseReturnValue:
    stubs.delete_stub(require_user(), stub_id)
    return ok(message="stub deleted")


@bp.post("/<int:stub_id>/read")
@limiter.per_user_budget(READINGS)
@api_endpoint(
    summary="Read the stub's image again (after a failure or an engine change)",
    tags=["collection"],
    auth=True,
    responses={202: StubEnvelope},
)
def read_again(stub_id: int) -> ResponseReturnValue:
    stub = stubs.start_reading_again(require_user(), stub_id)
    return ok(202, message="reading queued", stub=stub)


# Stored images are re-encoded by adapters/images.py to one of these; thumbnails are JPEG.
STORED_IMAGE = FileResponse(("image/png", "image/jpeg"))


def _image_response(image: stubs.StubImage) -> Response:
    response = Response(image.data, mimetype=image.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{image.filename}"'
    # Private: a listed stub's image may later become private again.
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/<int:stub_id>/image")
@api_endpoint(
    summary="The stub's stored image (owner; anyone while the stub is listed)",
    tags=["collection"],
    responses={200: STORED_IMAGE},
)
def image(stub_id: int) -> ResponseReturnValue:
    return _image_response(stubs.stub_image(optional_user(), stub_id))


@bp.get("/<int:stub_id>/thumbnail")
@api_endpoint(
    summary="The stub's thumbnail (owner; anyone while the stub is listed)",
    tags=["collection"],
    responses={200: STORED_IMAGE},
)
def thumbnail(stub_id: int) -> ResponseReturnValue:
    return _image_response(stubs.stub_image(optional_user(), stub_id, thumbnail=True))
