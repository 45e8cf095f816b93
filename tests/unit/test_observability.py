"""Log formatting, request-id rules, job registry rules and retry backoff."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from prometheus_client import REGISTRY

from stubcollector.adapters.jobs import (
    InProcessScheduler,
    check_job_call,
    former_job_names,
    job,
    periodic,
    periodic_jobs,
    registered_job,
    run_registered,
)
from stubcollector.adapters.redis_jobs import backoff_intervals
from stubcollector.observability import context, metrics
from stubcollector.observability.logs import ContextFilter, JsonFormatter, TextFormatter
from tests.support.doubles import RecordingQueue


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("stubcollector.test", logging.ERROR, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_the_bound_ids_and_the_callers_extras() -> None:
    with context.bound(request_id="req-12345678", job="payments.process_event", job_id="j1"):
        record = _record("payment failed", order_id=42, payment_intent="pi_123")
        ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "payment failed"
    assert line["level"] == "ERROR"
    assert line["request_id"] == "req-12345678"
    assert line["job"] == "payments.process_event"
    assert line["order_id"] == 42
    assert line["payment_intent"] == "pi_123"
    assert line["time"].endswith("+00:00")


def test_exceptions_stay_inside_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("job failed")
        record.exc_info = sys.exc_info()
    output = JsonFormatter().format(record)
    assert "\n" not in output
    assert "ValueError: boom" in json.loads(output)["exception"]


def test_text_lines_show_the_ids_too() -> None:
    with context.bound(request_id="req-abcdefgh"):
        record = _record("hello")
        ContextFilter().filter(record)
    assert "request_id=req-abcdefgh" in TextFormatter().format(record)


def test_bound_context_ends_with_its_block() -> None:
    with context.bound(request_id="req-outer-01"):
        with context.bound(job="x"):
            assert context.log_fields() == {"request_id": "req-outer-01", "job": "x"}
        assert context.log_fields() == {"request_id": "req-outer-01"}
    assert context.current_request_id() is None


@pytest.mark.parametrize(
    ("supplied", "kept"),
    [
        ("abcdef12", True),
        ("edge:7f3a-9c21_x.y", True),
        ("short", False),
        ("with space 123", False),
        ("x" * 129, False),
        ("", False),
        (None, False),
    ],
)
def test_request_ids_from_callers_are_kept_only_when_sensible(
    supplied: str | None, kept: bool
) -> None:
    assert (context.accept_request_id(supplied) == supplied) is kept


def test_retry_waits_double_each_time() -> None:
    assert backoff_intervals(4, 15) == [15, 30, 60, 120]
    assert backoff_intervals(0, 15) == []


@job("tests.unit_job")
def _unit_job(value: int) -> None:
    pass


def test_enqueue_refuses_unknown_jobs_and_arguments_a_queue_cannot_store() -> None:
    check_job_call("tests.unit_job", (1,))
    with pytest.raises(LookupError):
        check_job_call("tests.no_such_job", ())
    with pytest.raises(TypeError, match="JSON"):
        check_job_call("tests.unit_job", (object(),))


def test_a_job_name_belongs_to_one_function() -> None:
    with pytest.raises(ValueError, match="already registered"):
        job("tests.unit_job")(lambda _value: None)


_renamed_runs: list[int] = []


@job("tests.unit_renamed", formerly=("tests.unit_before_rename",))
def _unit_renamed(value: int) -> None:
    _renamed_runs.append(value)


def test_an_entry_queued_under_a_former_name_runs_and_counts_as_the_renamed_job() -> None:
    assert former_job_names()["tests.unit_before_rename"] == "tests.unit_renamed"
    run_registered("tests.unit_before_rename", (7,))
    assert _renamed_runs == [7]
    counted = {"job": "tests.unit_renamed", "outcome": "succeeded"}
    assert REGISTRY.get_sample_value("stubcollector_jobs_total", counted) == 1
    with pytest.raises(LookupError):  # new entries are enqueued under the current name
        check_job_call("tests.unit_before_rename", (7,))


def test_a_former_name_belongs_to_one_job_and_is_never_a_current_name() -> None:
    with pytest.raises(ValueError, match="former name"):
        job("tests.unit_before_rename")(lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        job("tests.unit_other", formerly=("tests.unit_before_rename",))(lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        job("tests.unit_other", formerly=("tests.unit_job",))(lambda: None)


@periodic("tests.unit_periodic", every=60)
def _unit_periodic() -> None:
    pass


def test_periodic_jobs_are_jobs_with_an_interval() -> None:
    assert registered_job("tests.unit_periodic") is _unit_periodic
    entry = next(e for e in periodic_jobs() if e.name == "tests.unit_periodic")
    assert entry.every_seconds == 60
    with pytest.raises(ValueError, match="at least one second"):
        periodic("tests.too_often", every=0)


def test_in_process_scheduler_enqueues_each_periodic_job_once_per_interval() -> None:
    queue = RecordingQueue()
    scheduler = InProcessScheduler(queue)
    scheduler.tick(now=1000.0)
    assert "tests.unit_periodic" in queue.enqueued
    queue.enqueued.clear()
    scheduler.tick(now=1059.0)
    assert "tests.unit_periodic" not in queue.enqueued
    scheduler.tick(now=1060.0)
    assert "tests.unit_periodic" in queue.enqueued


def test_webhook_outcomes_are_a_closed_list() -> None:
    with pytest.raises(ValueError, match="unknown webhook outcome"):
        metrics.record_webhook_event("charge.refunded", "maybe")
