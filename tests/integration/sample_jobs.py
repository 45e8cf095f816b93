"""Jobs the worker tests enqueue; imported by the test process and by the worker process.

They report to Redis (the worker's own connection), so the test can see what ran where.
"""

from __future__ import annotations

import json
import logging
import os
import time

from stubcollector.adapters.jobs import job, periodic
from stubcollector.container import container
from stubcollector.observability.context import current_request_id

log = logging.getLogger("tests.sample_jobs")


def _redis():  # type: ignore[no-untyped-def]
    redis = container().redis
    assert redis is not None
    return redis


def report(key: str, **values: object) -> None:
    _redis().rpush(key, json.dumps({"at": time.time(), **values}))


@job("tests.record")
def record(key: str, value: str) -> None:
    log.info("recording %s", value)
    report(key, value=value, request_id=current_request_id(), niceness=os.nice(0))


@job("tests.record_renamed", formerly=("tests.record_before_rename",))
def record_renamed(key: str, value: str) -> None:
    """A renamed job: the previous release enqueued it as ``tests.record_before_rename``."""
    log.info("recording %s", value)
    report(key, value=value)


@job("tests.flaky")
def flaky(key: str, failures: int) -> None:
    """Fails the first ``failures`` attempts, then succeeds."""
    attempt = int(_redis().incr(f"{key}:attempts"))
    report(key, attempt=attempt)
    if attempt <= failures:
        raise RuntimeError(f"flaky failure {attempt}")


@job("tests.broken_until_fixed")
def broken_until_fixed(key: str) -> None:
    """Fails until the test sets ``<key>:fixed`` (what an operator's fix would do)."""
    if not _redis().exists(f"{key}:fixed"):
        raise RuntimeError("still broken")
    report(key, value="fixed", request_id=current_request_id())


@periodic("tests.periodic_tick", every=3600)
def periodic_tick() -> None:
    log.info("tick")


COUNTED_RUNS_KEY = "tests:counted_runs"


@job("tests.count_runs")
def count_runs() -> None:
    """Argument-less, as jobs enqueued with ``enqueue_unless_queued`` are."""
    _redis().rpush(COUNTED_RUNS_KEY, time.time())
