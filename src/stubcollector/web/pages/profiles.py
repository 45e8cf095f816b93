"""Public collector profiles."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from stubcollector.services import accounts
from stubcollector.web.pages.feeds import seller_listings

bp = Blueprint("profiles", __name__)


@bp.get("/users/<int:user_id>")
def profile(user_id: int) -> ResponseReturnValue:
    person = accounts.public_profile(user_id)
    return render_template(
        "users/profile.html", person=person, listings=seller_listings(user_id, limit=12)
    )
