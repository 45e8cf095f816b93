"""Disputes API: the disputes a seller (or an admin) answers, and their evidence.

``/api/disputes`` (the caller's sales' disputes; an admin's: every dispute), one dispute,
its evidence (staged or submitted: ``submit``) and evidence files (multipart). The same
services as the dispute pages (``services.orders.evidence``); to anyone but the order's
seller and admins a dispute does not exist (404).
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from pydantic import Field

from stubcollector.domain import disputes as rules
from stubcollector.domain.errors import UnsupportedMedia, ValidationFailed
from stubcollector.extensions import limiter
from stubcollector.ratelimits import DISPUTE_EVIDENCE, EVIDENCE_FILES
from stubcollector.services.orders import evidence
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.current import client_ip, require_user
from stubcollector.web.envelope import ok
from stubcollector.web.json import to_json
from stubcollector.web.schemas import QueryModel, RequestModel, ResponseModel, SuccessEnvelope

bp = Blueprint("disputes_api", __name__, url_prefix="/api/disputes")


class DisputeListQuery(QueryModel):
    open: bool = Field(default=False, description="Only disputes not decided yet")
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=25, ge=1, le=evidence.MAX_PER_PAGE)


class EvidenceRequest(RequestModel):
    """Text evidence (Stripe's field names; each at most 20,000 characters, all together at
    most 150,000). The files uploaded for the dispute are sent with it."""

    product_description: str | None = Field(default=None, max_length=20_000)
    customer_name: str | None = Field(default=None, max_length=5_000)
    shipping_carrier: str | None = Field(default=None, max_length=5_000)
    shipping_tracking_number: str | None = Field(default=None, max_length=5_000)
    shipping_date: str | None = Field(default=None, max_length=5_000)
    shipping_address: str | None = Field(default=None, max_length=5_000)
    refund_refusal_explanation: str | None = Field(default=None, max_length=20_000)
    uncategorized_text: str | None = Field(default=None, max_length=20_000)
    submit: bool = Field(
        default=False,
        description="false: stage the evidence at the provider; true: send it to the bank "
        "(once, before the deadline)",
    )


class DisputeSummaryOut(ResponseModel):
    dispute_id: str
    order_id: int
    status: str
    reason: str | None
    amount_cents: int
    evidence_due_by: str | None
    needs_response: bool = Field(description="Waiting for evidence that can still be sent")
    has_evidence: bool
    submission_count: int
    created_at: str
    closed_at: str | None
    stub_title: str


class EvidenceFileOut(ResponseModel):
    field: str
    file_id: str
    filename: str
    size: int
    file_type: str
    uploaded_at: str


class DisputeDetailOut(ResponseModel):
    dispute_id: str
    order_id: int
    order_status: str
    status: str
    reason: str | None
    amount_cents: int
    funds_withdrawn_cents: int
    funds_reinstated_cents: int
    evidence_due_by: str | None
    needs_response: bool
    can_answer: bool
    closed_reason: str | None
    has_evidence: bool
    submission_count: int
    evidence_submitted_at: str | None
    created_at: str
    closed_at: str | None
    stub_title: str
    evidence: dict[str, str] = Field(
        description="The text evidence as last sent; before anything was sent, a draft of "
        "what the app knows"
    )
    files: list[EvidenceFileOut]


class DisputeListEnvelope(SuccessEnvelope):
    disputes: list[DisputeSummaryOut]
    page: int
    per_page: int
    total: int


class DisputeEnvelope(SuccessEnvelope):
    dispute: DisputeDetailOut


class EvidenceFileEnvelope(SuccessEnvelope):
    file: EvidenceFileOut
    dispute: DisputeDetailOut


FILE_SCHEMA = {
    "type": "object",
    "required": ["file", "field"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "PDF, JPEG or PNG (judged by content), at most 5 MB",
        },
        "field": {"type": "string", "enum": list(rules.FILE_FIELDS)},
    },
}


@bp.get("")
@api_endpoint(
    summary="Disputes on your sales (an admin: every dispute), those needing a response first",
    tags=["disputes"],
    auth=True,
    query=DisputeListQuery,
    responses={200: DisputeListEnvelope},
)
def list_disputes(query: DisputeListQuery) -> ResponseReturnValue:
    found = evidence.seller_disputes(
        require_user(), open_only=query.open, page=query.page, per_page=query.per_page
    )
    return ok(**to_json(found))


@bp.get("/<dispute_id>")
@api_endpoint(
    summary="One dispute with its deadline and evidence (its seller and admins)",
    tags=["disputes"],
    auth=True,
    responses={200: DisputeEnvelope},
    errors=(404,),
)
def get_dispute(dispute_id: str) -> ResponseReturnValue:
    return ok(dispute=evidence.get_dispute(require_user(), dispute_id))


@bp.post("/<dispute_id>/evidence")
@limiter.per_user_budget(DISPUTE_EVIDENCE)
@api_endpoint(
    summary="Stage or submit a dispute's evidence (text, and the files uploaded for it)",
    description=(
        "The whole evidence set goes to the provider every time, with the files uploaded for "
        "the dispute and the buyer's account email. `submit: true` sends it to the bank: once, "
        "before `evidence_due_by`; after that the dispute answers 409."
    ),
    tags=["disputes"],
    auth=True,
    body=EvidenceRequest,
    responses={200: DisputeEnvelope},
    errors=(404, 409),
)
def send_evidence(dispute_id: str, body: EvidenceRequest) -> ResponseReturnValue:
    fields = body.model_dump(exclude={"submit"}, exclude_none=True)
    detail = evidence.send_evidence(
        require_user(), dispute_id, fields, submit=body.submit, ip_address=client_ip()
    )
    message = "evidence submitted" if body.submit else "evidence staged"
    return ok(message=message, dispute=detail)


@bp.post("/<dispute_id>/files")
@limiter.per_user_budget(EVIDENCE_FILES)
@api_endpoint(
    summary="Upload an evidence file for a dispute (to the provider, on the seller's account)",
    description=(
        "Multipart form: the file in `file`, what it shows in `field`. The latest file of a "
        "field is the one the evidence sends. Send `X-Requested-With`."
    ),
    tags=["disputes"],
    auth=True,
    multipart=FILE_SCHEMA,
    responses={201: EvidenceFileEnvelope},
    errors=(404, 409, 413, 415),
)
def upload_file(dispute_id: str) -> ResponseReturnValue:
    user = require_user()
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMedia("upload the file as multipart/form-data in the field 'file'")
    files = request.files.getlist("file")
    if len(files) != 1:
        raise ValidationFailed("file", "send exactly one file in the field 'file'")
    for name in request.form:
        if name != "field":
            raise ValidationFailed(name, "is not a known field")
    added = evidence.upload_evidence_file(
        user,
        dispute_id,
        field=request.form.get("field", ""),
        filename=files[0].filename or "evidence",
        content=files[0].stream.read(rules.FILE_MAX_BYTES + 1),
        ip_address=client_ip(),
    )
    return ok(
        201,
        message="file uploaded",
        file=added,
        dispute=evidence.get_dispute(user, dispute_id),
    )
