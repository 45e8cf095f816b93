"""The one place where errors become HTTP responses.

Domain errors carry no status codes; this table decides them. API paths get the JSON
envelope; pages get a rendered error page. Nothing ever shows a stack trace.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from stubcollector.domain import errors as domain
from stubcollector.extensions import db
from stubcollector.web.envelope import fail

log = logging.getLogger(__name__)

STATUS_FOR: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.ValidationFailed, 422),
    (domain.NotFound, 404),
    (domain.AuthenticationRequired, 401),
    (domain.AuthenticationFailed, 401),
    (domain.PermissionDenied, 403),
    (domain.Conflict, 409),
    (domain.UnsupportedMedia, 415),
    (domain.PayloadTooLarge, 413),
    (domain.ServiceUnavailable, 503),
)


def status_for(error: domain.DomainError) -> int:
    for error_type, code in STATUS_FOR:
        if isinstance(error, error_type):
            return code
    return 400


def wants_json() -> bool:
    """API clients get JSON; browsers on HTML pages get a page."""
    path = request.path
    if path.startswith(("/api/", "/auth/")) or path in (
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/metrics",
    ):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_page(
    error: domain.DomainError,
    *,
    title: str | None = None,
    back_url: str | None = None,
    back_label: str | None = None,
) -> ResponseReturnValue:
    """The error page for a refusal a page view caught itself, so that it can say what was
    refused (``title``) and lead back to where the user was (``back_url``)."""
    code = status_for(error)
    page = render_template(
        "error.html",
        message=error.message,
        code=code,
        title=title,
        back_url=back_url,
        back_label=back_label,
    )
    return page, code


def _respond(message: str, code: int, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    if wants_json():
        return fail(message, code, errors=errors)
    return render_template("error.html", message=message, code=code), code


def _unavailable(message: str) -> ResponseReturnValue:
    response = _respond(message, 503)
    if isinstance(response, tuple) and isinstance(response[0], Response):
        response[0].headers["Retry-After"] = "5"
    return response


def _no_route_for_any_method(error: MethodNotAllowed) -> bool:
    """True when the path names nothing for any method, so 405 would be a lie.

    werkzeug matches the path first and converts its values last: an id past the router's
    bound (``web/routing.py``) fails conversion only on the rule of the request's method,
    while the rules of other methods on the same path have already been counted as "the
    path exists, the method does not" (fuzzing: ``PATCH /api/stubs/<huge id>`` was a 405).
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in error.valid_methods or ():
        try:
            adapter.match(method=method)
        except HTTPException:
            continue
        return False
    return True


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(domain.DomainError)
    def handle_domain_error(error: domain.DomainError) -> ResponseReturnValue:
        errors = getattr(error, "errors", None)
        field = getattr(error, "field", None)
        if errors is None and field:
            errors = {field: error.message}
        return _respond(error.message, status_for(error), errors)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> ResponseReturnValue:
        if isinstance(error, MethodNotAllowed) and _no_route_for_any_method(error):
            error = NotFound()
        code = error.code or 500
        message = error.description or error.name
        if code == 413:
            message = "request body is too large"
        elif code == 429:
            # Flask-Limiter's description is the limit ("5 per 15 minute"); Retry-After says when.
            message = f"too many requests (limit: {error.description}); retry later"
        response = _respond(message, code)
        if code == 405 and isinstance(response, tuple):
            allowed = error.get_headers()
            body = response[0]
            if isinstance(body, Response):
                for name, value in allowed:
                    if name.lower() == "allow":
                        body.headers["Allow"] = value
        return response

    # A dependency that stopped answering is an outage, not a bug: 503 with the envelope and
    # Retry-After. Nothing needs restarting: the pool replaces dead connections (see
    # stubcollector.database) and the Redis client reconnects on its next command.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def handle_database_outage(error: Exception) -> ResponseReturnValue:
        db.session.rollback()
        log.error(
            "database unavailable on %s %s: %s",
            request.method,
            request.path,
            error.__class__.__name__,
        )
        return _unavailable("database unavailable; try again shortly")

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def handle_redis_outage(error: Exception) -> ResponseReturnValue:
        log.error(
            "Redis unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__
        )
        return _unavailable("Redis unavailable; try again shortly")

    @app.errorhandler(Exception)
    def handle_unexpected(_error: Exception) -> ResponseReturnValue:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond("internal error; it has been logged", 500)
