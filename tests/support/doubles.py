"""Stand-ins for the app's own ports, which tests set on the container: a job queue the test
runs by hand."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flask import Flask

from stubcollector.adapters.jobs import registered_job


class DeferredJobQueue:
    """Records jobs instead of running them, so a test sees the state before the reading."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self.queued: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, name: str, *args: Any) -> None:
        registered_job(name)
        # What a Redis queue would do to the arguments: they must survive JSON.
        self.queued.append((name, tuple(json.loads(json.dumps(list(args))))))

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        for args in calls:
            self.enqueue(name, *args)

    def enqueue_unless_queued(self, name: str) -> None:
        if (name, ()) not in self.queued:
            self.enqueue(name)

    def run_all(self) -> None:
        queued, self.queued = self.queued, []
        for name, args in queued:
            with self._app.app_context():
                registered_job(name)(*args)

    def shutdown(self) -> None:
        self.queued.clear()
