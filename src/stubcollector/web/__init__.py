"""The web layer: thin views over the services, JSON API and HTML pages."""

from __future__ import annotations

from flask import Blueprint, Flask

from stubcollector.extensions import csrf
from stubcollector.web import openapi, pages
from stubcollector.web.api import auth, health, stubs, users

# JSON API blueprints: protected by the JSON-only guard (web.security) instead of form tokens.
API_BLUEPRINTS: tuple[Blueprint, ...] = (
    health.bp,
    auth.bp,
    users.bp,
    stubs.bp,
)
# HTML pages: Flask-WTF CSRF tokens on every form.
PAGE_BLUEPRINTS: tuple[Blueprint, ...] = (pages.bp,)


def register_blueprints(app: Flask) -> None:
    for blueprint in API_BLUEPRINTS:
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(openapi.bp)
    for blueprint in PAGE_BLUEPRINTS:
        app.register_blueprint(blueprint)
