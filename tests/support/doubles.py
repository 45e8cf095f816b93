"""Stand-ins for the app's own ports, which tests set on the container or hand to a
scheduler: a job queue the test runs by hand (``DeferredJobQueue``), one that only records
the names of the jobs enqueued (``RecordingQueue``), and a stub reader that answers what
the test scripted (``ScriptedReader``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from flask import Flask

from stubcollector.adapters.jobs import registered_job
from stubcollector.adapters.ocr.base import KnownNames, StubReading


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


class RecordingQueue:
    """Records the names of the jobs enqueued and runs none; safe from several threads."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self._lock = threading.Lock()

    def enqueue(self, name: str, *args: object) -> None:
        with self._lock:
            self.enqueued.append(name)

    def shutdown(self) -> None:
        pass


class ScriptedReader:
    """Stands in for an engine where the test is about the job, not about OCR."""

    name = "scripted"

    def __init__(self, reading: StubReading | Exception) -> None:
        self._reading = reading
        # The known names each reading was given (the reader's gazetteer seam).
        self.known: list[KnownNames | None] = []

    def read(self, image: bytes, content_type: str, known: KnownNames | None = None) -> StubReading:
        del image, content_type
        self.known.append(known)
        if isinstance(self._reading, Exception):
            raise self._reading
        return self._reading
