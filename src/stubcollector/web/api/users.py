"""Public profiles: /api/users/<id>."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from stubcollector.services import accounts
from stubcollector.web.api_endpoint import api_endpoint
from stubcollector.web.envelope import ok
from stubcollector.web.schemas import ResponseModel, SuccessEnvelope

bp = Blueprint("users", __name__, url_prefix="/api/users")


class SellerStats(ResponseModel):
    active_listings: int
    total_listings: int
    completed_sales: int


class PublicUser(ResponseModel):
    id: int
    username: str
    display_name: str
    bio: str | None
    location: str | None
    member_since: str
    is_verified_seller: bool
    stats: SellerStats | None = None


class PublicUserEnvelope(SuccessEnvelope):
    user: PublicUser


@bp.get("/<int:user_id>")
@api_endpoint(
    summary="A user's public seller profile with listing and sale counts",
    tags=["users"],
    responses={200: PublicUserEnvelope},
)
def public_profile(user_id: int) -> ResponseReturnValue:
    return ok(user=accounts.public_profile(user_id))
