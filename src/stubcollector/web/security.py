"""Request guards and response headers that apply to the whole app."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import UnsupportedMediaType

from stubcollector.container import settings
from stubcollector.web.csp import API_POLICY, page_policy

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that take requests no browser form can forge and that are verified otherwise:
# webhooks are signed by the payment provider.
_GUARD_EXEMPT_PREFIXES = ("/api/payments/webhook",)


def _is_json_api(path: str) -> bool:
    return path.startswith(("/api/", "/auth/"))


def require_non_form_content(app: Flask) -> None:
    """CSRF defence for the cookie-authenticated JSON API.

    A cross-site HTML form can only send urlencoded, multipart or text/plain bodies and no
    custom headers. Unsafe API requests must therefore be JSON, or carry the
    ``X-Requested-With`` header (which a cross-site page can only add after a CORS preflight
    that we answer for configured origins only). Multipart uploads use the header.
    """

    @app.before_request
    def guard() -> None:
        if request.method not in UNSAFE_METHODS or not _is_json_api(request.path):
            return
        if request.path.startswith(_GUARD_EXEMPT_PREFIXES):
            return
        if request.is_json or request.headers.get("X-Requested-With"):
            return
        raise UnsupportedMediaType(
            "unsafe API requests must send Content-Type: application/json "
            "(or the X-Requested-With header for file uploads)"
        )


def add_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # No page uses the camera, microphone or location APIs; refuse them to any script
        # (photo uploads go through a file input, which this does not affect).
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if response.mimetype == "application/json":
            response.headers.setdefault("Content-Security-Policy", API_POLICY)
        else:
            response.headers.setdefault("Content-Security-Policy", page_policy(settings()))
        return response
