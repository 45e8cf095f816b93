"""The start page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from stubcollector.web.pages.feeds import recent_listings

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("home.html", listings=recent_listings(limit=8))
