"""The collector's pages: upload a stub, review and correct what was read, the collection.

- ``collection.index`` (``/collection``): the owner's stubs as a thumbnail grid, 24 a page,
  with search (``q``), ``year``, ``venue`` and ``sort`` over ``services.stubs.list_stubs``;
  invalid filters answer 422 with the errors next to them; the empty state links to upload.
- ``collection.upload``: a PNG/JPEG file with an instant preview (``static/stubs.js``, a
  ``blob:`` URL) and optional known fields, kept as the owner's corrections; then the stub
  page.
- ``collection.stub`` / ``collection.update`` (``/collection/stubs/<id>``): photo and
  thumbnail (the API's image routes), each field with where its value came from and the
  correction form. A field read with low confidence (the stub's ``unsure_fields``, below
  ``domain.stub_fields.SURE_CONFIDENCE``) is a suggestion, marked as one and listed in a
  notice, with a "Looks right" button that marks it as right without retyping it (a
  submit button of the same form: ``confirm=<field>``, or ``confirm_all`` for every
  suggestion; ``static/stubs.js`` sends the same through ``PATCH /api/stubs/<id>`` without
  reloading when the field is unedited). Only fields that changed become corrections; a
  field missing from the post is unchanged. The same page shows whether the stub is on
  sale, what the owner still needs to sell, and the "sell this stub" form (posting to
  ``selling.create``).
- ``collection.read_again`` and ``collection.delete`` (POST): a refusal (a reading still
  running; a listed or sold stub, or one with listing history) is flashed with the
  service's reason.

The stub page shows a progress indicator while the reading runs: ``static/stubs.js``
polls ``GET /api/stubs/<id>`` and reloads the page when the reading ends; without
JavaScript the page refreshes itself (``<noscript>`` meta refresh) until it does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from stubcollector.domain.errors import Conflict, DomainError, ValidationFailed
from stubcollector.domain.statuses import ReadingStatus
from stubcollector.extensions import limiter
from stubcollector.ratelimits import READINGS, UPLOADS
from stubcollector.services import onboarding, stubs
from stubcollector.services.marketplace import selling
from stubcollector.web.current import require_user
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.forms import show_errors
from stubcollector.web.pages.market_forms import (
    COLLECTION_SORT_COLUMNS,
    STUB_FIELD_LABELS,
    CollectionFilterForm,
    ListingForm,
    StubFieldsForm,
    UploadForm,
)
from stubcollector.web.pages.pagination import Pagination

bp = Blueprint("collection", __name__, url_prefix="/collection")

PER_PAGE = 24
BUSY = (ReadingStatus.PENDING.value, ReadingStatus.READING.value)


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    user = require_user()
    form = CollectionFilterForm(formdata=request.args)
    query: dict[str, Any] = {}
    if form.validate():
        sort, descending = COLLECTION_SORT_COLUMNS.get(
            form.sort.data or "newest", COLLECTION_SORT_COLUMNS["newest"]
        )
        query = {
            "text": (form.q.data or "").strip() or None,
            "year": form.year.data,
            "venue": (form.venue.data or "").strip() or None,
            "sort": sort,
            "descending": descending,
        }
    page_number = request.args.get("page", 1, type=int) or 1
    page_number = min(max(page_number, 1), 10_000)
    found = stubs.list_stubs(user, stubs.StubQuery(**query, page=page_number, per_page=PER_PAGE))
    filtering = bool(query.get("text") or query.get("year") or query.get("venue"))
    return render_template(
        "collection/index.html",
        form=form,
        stubs=found.stubs,
        filtering=filtering,
        pagination=Pagination(found.page, found.per_page, found.total),
    ), (200 if not form.errors else 422)


@bp.route("/upload", methods=["GET", "POST"])
@limiter.per_user_budget(UPLOADS, methods=["POST"])
@login_required
def upload() -> ResponseReturnValue:
    form = UploadForm()
    if form.validate_on_submit():
        try:
            stub = stubs.upload_stub(require_user(), form.image.data.read(), form.known())
        except ValidationFailed as error:
            show_errors(form, error, fields={"image": "image"})
        except DomainError as error:
            # Unreadable, too large or not an image: the message belongs to the photo.
            form.image.errors = [*form.image.errors, _sentence(error.message)]
        else:
            flash("Photo uploaded. We are reading it now.", "success")
            return redirect(url_for("collection.stub", stub_id=stub.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("collection/upload.html", form=form), status


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _form_data(stub: stubs.StubView) -> dict[str, str]:
    data: dict[str, str] = {}
    for name in STUB_FIELD_LABELS:
        if name == "event_date":
            data[name] = stub.event_date.isoformat() if stub.event_date else ""
        else:
            data[name] = getattr(stub, name) or ""
    return data


def render_stub_page(
    stub: stubs.StubView,
    *,
    form: StubFieldsForm | None = None,
    listing_form: ListingForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The stub page: progress or fields with confidence, corrections, and the sell form."""
    user = require_user()
    form = form or StubFieldsForm(formdata=None, data=_form_data(stub))
    listing_form = listing_form or ListingForm(formdata=None)
    page = render_template(
        "collection/stub.html",
        stub=stub,
        form=form,
        listing_form=listing_form,
        field_names=list(STUB_FIELD_LABELS),
        labels=STUB_FIELD_LABELS,
        confidence=stub.field_confidence,
        corrected=set(stub.corrected_fields),
        confirmed=set(stub.confirmed_fields),
        unsure=stub.unsure_fields,
        reading=stub.reading_status in BUSY,
        listing=selling.stub_listing(user.id, stub.id),
        selling=onboarding.payment_compatibility(user),
        terms=selling.selling_terms(),
    )
    return page, status


@bp.get("/stubs/<int:stub_id>")
@login_required
def stub(stub_id: int) -> ResponseReturnValue:
    return render_stub_page(stubs.get_stub(require_user(), stub_id))


@bp.post("/stubs/<int:stub_id>")
@login_required
def update(stub_id: int) -> ResponseReturnValue:
    user = require_user()
    current = stubs.get_stub(user, stub_id)
    form = StubFieldsForm()
    if form.validate_on_submit():
        before = _form_data(current)
        # Only what the owner changed becomes a correction: an unchanged field read with low
        # confidence stays the reader's (and a later reading may still improve it). A field
        # missing from the post is unchanged, not cleared.
        changes = {
            name: value
            for name, value in form.changes().items()
            if name in request.form and value != before.get(name)
        }
        # "Looks right" on one suggestion, or on all of them: the same form, so edits made
        # meanwhile are saved too.
        confirm = (
            list(current.unsure_fields)
            if request.form.get("confirm_all")
            else request.form.getlist("confirm")
        )
        try:
            stubs.update_stub(user, stub_id, changes, confirm=confirm)
        except ValidationFailed as error:
            show_errors(form, error)
        except Conflict as error:
            flash(_sentence(error.message) + ".", "warning")
            return redirect(url_for("collection.stub", stub_id=stub_id))
        else:
            # A field the owner changed is their correction, whatever button they pressed.
            confirmed = [name for name in confirm if name not in changes]
            flash(_saved_message(changes, confirmed), "success")
            anchor = f"field-{confirmed[0]}" if len(confirmed) == 1 and not changes else None
            return redirect(url_for("collection.stub", stub_id=stub_id, _anchor=anchor))
    return render_stub_page(current, form=form, status=422)


def _saved_message(changes: dict[str, str], confirmed: list[str]) -> str:
    names = ", ".join(STUB_FIELD_LABELS.get(name, name) for name in confirmed)
    if changes and confirmed:
        return f"Your corrections are saved, and marked as right: {names}."
    if confirmed:
        return f"Marked as right: {names}."
    return "Your corrections are saved." if changes else "Nothing changed."


@bp.post("/stubs/<int:stub_id>/read")
@limiter.per_user_budget(READINGS)
@login_required
def read_again(stub_id: int) -> ResponseReturnValue:
    try:
        stubs.start_reading_again(require_user(), stub_id)
    except Conflict as error:
        flash(_sentence(error.message) + ".", "warning")
    else:
        flash("Reading the photo again. Fields you corrected or marked as right are kept.", "info")
    return redirect(url_for("collection.stub", stub_id=stub_id))


@bp.post("/stubs/<int:stub_id>/delete")
@login_required
def delete(stub_id: int) -> ResponseReturnValue:
    try:
        stubs.delete_stub(require_user(), stub_id)
    except Conflict as error:
        flash(f"This stub cannot be deleted: {error.message}.", "error")
        return redirect(url_for("collection.stub", stub_id=stub_id))
    flash("The stub is deleted.", "success")
    return redirect(url_for("collection.index"))
