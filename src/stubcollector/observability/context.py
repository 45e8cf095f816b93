"""The ids that tie log lines together: the request id, and the job that carries it on.

A request id comes from the caller's ``X-Request-ID`` (when it looks like an id) or is made
up; it is stored in a context variable so that every log line written while serving the
request carries it, and the job queues copy it into the jobs they enqueue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Ids are echoed into logs and headers: accept only short, printable, unambiguous ones.
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_log_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(supplied: str | None) -> str:
    """The caller's id when it is a sensible one, else a fresh one."""
    if supplied and _ACCEPTABLE_REQUEST_ID.match(supplied):
        return supplied
    return new_request_id()


def log_fields() -> dict[str, Any]:
    """The fields every log line written now should carry."""
    return dict(_log_context.get() or {})


def current_request_id() -> str | None:
    value = (_log_context.get() or {}).get("request_id")
    return value if isinstance(value, str) else None


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block (None values are dropped)."""
    merged = {**(_log_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _log_context.set(merged)
    try:
        yield
    finally:
        _log_context.reset(token)


def bind(**fields: Any) -> object:
    """Like :func:`bound` for code that cannot use a ``with`` block; undo with :func:`unbind`."""
    merged = {**(_log_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    return _log_context.set(merged)


def unbind(token: object) -> None:
    _log_context.reset(token)  # type: ignore[arg-type]
