"""Background work behind one small interface.

Jobs are registered by name with :func:`job`. ``enqueue(name, *args)`` runs them:

* ``InProcessJobQueue`` (the default): on a small thread pool inside the web process, each
  job in its own app context, so requests answer at once. ``eager=True`` runs jobs inline,
  which tests use for determinism.
* A Redis-backed queue with separate workers plugs in behind the same interface when
  ``REDIS_URL`` is configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from flask import Flask

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]
_REGISTRY: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn`` as the job ``name`` (names are stable; queues store them)."""

    def register(fn: JobFunction) -> JobFunction:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"job {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return register


def registered_job(name: str) -> JobFunction:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None


class JobQueue(Protocol):
    def enqueue(self, name: str, *args: Any) -> None:
        """Run job ``name`` with ``args`` (JSON-friendly values only) in the background."""

    def shutdown(self) -> None:
        """Finish or drop queued work; called when the app stops."""


class InProcessJobQueue:
    def __init__(self, app: Flask, *, eager: bool = False, workers: int = 2) -> None:
        self._app = app
        self._eager = eager
        self._pool = None if eager else ThreadPoolExecutor(workers, thread_name_prefix="job")
        self._pending: set[Future[None]] = set()

    def enqueue(self, name: str, *args: Any) -> None:
        registered_job(name)  # fail fast on a typo, in the caller's stack
        if self._pool is None:
            self._run(name, args)
            return
        future = self._pool.submit(self._run, name, args)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _run(self, name: str, args: tuple[Any, ...]) -> None:
        with self._app.app_context():
            try:
                registered_job(name)(*args)
            except Exception:
                # The job itself records failures its user must see (e.g. a stub's reading
                # status); here we only make sure nothing fails silently.
                log.exception("job %s%r failed", name, args)
                if self._eager and self._app.testing:
                    raise

    def wait(self, timeout: float = 30) -> None:
        """Block until queued jobs finish (tests and the CLI use this)."""
        for future in list(self._pending):
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
