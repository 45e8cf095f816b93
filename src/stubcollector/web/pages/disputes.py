"""Disputes a seller (or an admin) answers: the list with deadlines, one dispute with its
evidence form, file uploads (issue 16 point 4).

- ``disputes.index`` (``/disputes``, ``?open=1``): the disputes on the user's sales, those
  needing a response first with their deadline (``services.orders.evidence.seller_disputes``).
  Admins see every dispute in Admin → Disputes, which links each to its page here.
- ``disputes.detail`` (``/disputes/<dispute_id>``): the dispute (status, reason, amount,
  deadline, funds withdrawn), the evidence form (text fields prefilled with what the app
  knows until something was sent; the files uploaded so far) and, once it can no longer
  be changed, why. To anyone but the order's seller and admins it is the 404 page.
- ``disputes.evidence`` (POST): ``action=save`` stages the evidence at the provider,
  ``action=submit`` sends it to the bank (once; the button asks first); errors go next to
  their fields, a refusal of the dispute's state or the provider's is flashed.
- ``disputes.upload`` (POST, multipart ``file`` and ``field``): a PDF, JPEG or PNG of at
  most 5 MB, uploaded to the provider for one evidence field.

Every page shows a banner while disputes wait for the user's evidence (``base.html``,
``templating.pending_disputes``): the in-app notice until notifications exist.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from stubcollector.adapters.payments.ports import PaymentError
from stubcollector.domain import disputes as rules
from stubcollector.domain.errors import (
    Conflict,
    DomainError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMedia,
    ValidationFailed,
)
from stubcollector.extensions import limiter
from stubcollector.ratelimits import DISPUTE_EVIDENCE, EVIDENCE_FILES
from stubcollector.services.orders import evidence
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.pages.access import login_required
from stubcollector.web.pages.forms import show_errors

bp = Blueprint("disputes", __name__, url_prefix="/disputes")

PER_PAGE = 20


class EvidenceForm(FlaskForm):  # type: ignore[misc]
    """The text evidence; one field per ``domain.disputes.TEXT_FIELDS`` (added below)."""


for _name, _spec in rules.TEXT_FIELDS.items():
    setattr(
        EvidenceForm,
        _name,
        (TextAreaField if _spec.multiline else StringField)(
            _spec.label,
            validators=[Optional(), Length(max=_spec.max_length)],
            description=_spec.hint,
            render_kw={"rows": 4} if _spec.multiline else {},
        ),
    )


class EvidenceFileForm(FlaskForm):  # type: ignore[misc]
    field = SelectField(
        "What the file shows",
        choices=[SelectChoice(name, label) for name, label in rules.FILE_FIELDS.items()],
    )
    file = FileField(
        "File",
        validators=[FileRequired("Choose a file")],
        description="PDF, JPEG or PNG, 5 MB at most.",
        render_kw={"accept": "application/pdf,image/png,image/jpeg"},
    )


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(max(1, int(raw)), 10_000) if raw.isdigit() else 1


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    open_only = request.args.get("open") == "1"
    found = evidence.seller_disputes(
        require_user(), open_only=open_only, page=_page_number(), per_page=PER_PAGE, mine=True
    )
    return render_template(
        "disputes/index.html",
        found=found,
        open_only=open_only,
    )


def _detail_page(
    dispute: evidence.DisputeDetail,
    form: EvidenceForm | None = None,
    file_form: EvidenceFileForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    form = form or EvidenceForm(formdata=None, data=dispute.evidence)
    return (
        render_template(
            "disputes/detail.html",
            dispute=dispute,
            form=form,
            file_form=file_form or EvidenceFileForm(formdata=None),
            text_fields=rules.TEXT_FIELDS,
            file_fields=rules.FILE_FIELDS,
        ),
        status,
    )


@bp.get("/<dispute_id>")
@login_required
def detail(dispute_id: str) -> ResponseReturnValue:
    return _detail_page(evidence.get_dispute(require_user(), dispute_id))


@bp.post("/<dispute_id>/evidence")
@limiter.per_user_budget(DISPUTE_EVIDENCE)
@login_required
def send(dispute_id: str) -> ResponseReturnValue:
    user = require_user()
    dispute = evidence.get_dispute(user, dispute_id)
    form = EvidenceForm()
    submit = request.form.get("action") == "submit"
    if not form.validate_on_submit():
        return _detail_page(dispute, form, status=422)
    fields = {name: form._fields[name].data or "" for name in rules.TEXT_FIELDS}
    try:
        evidence.send_evidence(user, dispute_id, fields, submit=submit, ip_address=client_ip())
    except ValidationFailed as error:
        show_errors(form, error)
        return _detail_page(dispute, form, status=422)
    except (Conflict, PaymentError, ServiceUnavailable) as error:
        flash(f"The evidence was not sent: {error.message}", "error")
        return _detail_page(evidence.get_dispute(user, dispute_id), form, status=409)
    if submit:
        flash("Your evidence was sent to the buyer's bank. Its decision comes by email "
              "from the bank to Stripe, usually within 60 to 75 days.", "success")  # fmt: skip
    else:
        flash("Saved. The evidence is staged at Stripe; submit it before the deadline.", "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)


@bp.post("/<dispute_id>/files")
@limiter.per_user_budget(EVIDENCE_FILES)
@login_required
def upload(dispute_id: str) -> ResponseReturnValue:
    user = require_user()
    dispute = evidence.get_dispute(user, dispute_id)
    file_form = EvidenceFileForm()
    if not file_form.validate_on_submit():
        return _detail_page(dispute, file_form=file_form, status=422)
    upload = file_form.file.data
    try:
        added = evidence.upload_evidence_file(
            user,
            dispute_id,
            field=file_form.field.data,
            filename=upload.filename or "evidence",
            content=upload.stream.read(rules.FILE_MAX_BYTES + 1),
            ip_address=client_ip(),
        )
    except (ValidationFailed, UnsupportedMedia, PayloadTooLarge) as error:
        file_form.file.errors = [
            *file_form.file.errors,
            error.message[:1].upper() + error.message[1:],
        ]
        return _detail_page(dispute, file_form=file_form, status=422)
    except (DomainError, PaymentError) as error:
        flash(f"The file was not uploaded: {error.message}", "error")
        return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)
    flash(f"{added.filename} was added as “{rules.FILE_FIELDS[added.field]}”.", "success")
    return redirect(url_for("disputes.detail", dispute_id=dispute_id), code=303)
