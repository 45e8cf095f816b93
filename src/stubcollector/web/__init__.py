"""The web layer: thin views over the services, JSON API and HTML pages."""

from __future__ import annotations

from flask import Blueprint, Flask

from stubcollector.adapters.payments.sandbox import pages as sandbox_pages
from stubcollector.container import container
from stubcollector.extensions import csrf
from stubcollector.observability import web as observability
from stubcollector.web import openapi, pages
from stubcollector.web.api import (
    audit,
    auth,
    disputes,
    health,
    marketplace,
    payments,
    stubs,
    users,
)

# JSON API blueprints: protected by the JSON-only guard (web.security) instead of form tokens.
API_BLUEPRINTS: tuple[Blueprint, ...] = (
    health.bp,
    auth.bp,
    users.bp,
    payments.bp,
    marketplace.bp,
    stubs.bp,
    audit.bp,
    disputes.bp,
)
# HTML pages: Flask-WTF CSRF tokens on every form.
PAGE_BLUEPRINTS: tuple[Blueprint, ...] = (*pages.BLUEPRINTS,)


def register_blueprints(app: Flask) -> None:
    for blueprint in API_BLUEPRINTS:
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(observability.bp)
    for blueprint in PAGE_BLUEPRINTS:
        app.register_blueprint(blueprint)
    pages.init_app(app, PAGE_BLUEPRINTS)
    if container(app).settings.payments_backend == "sandbox":
        # The sandbox's hosted pages: their URLs carry the secret (see its pages.py).
        csrf.exempt(sandbox_pages.bp)
        app.register_blueprint(sandbox_pages.bp)
