"""The response envelope kept from the original plan.

Success: ``{"status": "success", <name>: {...}}``; failure: ``{"status": "error",
"message": "...", "errors": {field: message}}`` with a matching HTTP status code.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def ok(status_code: int = 200, **payload: Any) -> tuple[Response, int]:
    return jsonify({"status": "success", **payload}), status_code


def fail(
    message: str, status_code: int, *, errors: dict[str, str] | None = None, **extra: Any
) -> tuple[Response, int]:
    body: dict[str, Any] = {"status": "error", "message": message, **extra}
    if errors:
        body["errors"] = errors
    return jsonify(body), status_code
