"""The in-process queue (no Redis): a coalesced job is queued at most once at a time."""

from __future__ import annotations

import threading

from flask import Flask

from stubcollector.adapters.jobs import InProcessJobQueue, job

_runs: list[int] = []
_started = threading.Event()
_release = threading.Event()


@job("tests.in_process_sweep")
def _sweep() -> None:
    _runs.append(len(_runs) + 1)
    _started.set()
    _release.wait(10)


def test_a_coalesced_job_is_queued_once_until_it_starts() -> None:
    queue = InProcessJobQueue(Flask(__name__), workers=1)
    try:
        queue.enqueue_unless_queued("tests.in_process_sweep")
        assert _started.wait(10)  # the first run holds the only worker thread
        for _ in range(3):
            queue.enqueue_unless_queued("tests.in_process_sweep")  # one run queued behind it
        assert queue.depth() == {"queued": 1, "started": 1}
        _release.set()
        queue.wait()
        assert _runs == [1, 2]
    finally:
        _release.set()
        queue.shutdown()


_seen: list[str] = []


@job("tests.in_process_collect")
def _collect(value: str) -> None:
    _seen.append(value)


def test_enqueue_many_runs_each_call() -> None:
    queue = InProcessJobQueue(Flask(__name__), eager=True)
    queue.enqueue_many("tests.in_process_collect", [("a",), ("b",)])
    assert _seen == ["a", "b"]
