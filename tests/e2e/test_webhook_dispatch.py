"""Acknowledging a webhook stores it and wakes one dispatcher run; the dispatcher gives each
new event its own processing job. A queue outage never fails an acknowledgement nor loses
an event."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from stubcollector.container import container
from stubcollector.domain.errors import ServiceUnavailable
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent, StubOrder
from stubcollector.observability.context import log_fields
from stubcollector.services import checkout, webhooks
from tests.support.clients import anonymous_client
from tests.support.doubles import DeferredJobQueue
from tests.support.factories import UserFactory
from tests.support.payments import listing_of, sandbox_seller
from tests.support.stripe_events import fixture, payment_intent_payload, signed, stripe_event

CONNECT = "/api/payments/webhook/connect"


class QueueDown(DeferredJobQueue):
    """Redis is away: every enqueue fails as RedisJobQueue reports it."""

    def enqueue(self, name: str, *args: Any) -> None:
        raise ServiceUnavailable("background queue unavailable; try again shortly")

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        raise ServiceUnavailable("background queue unavailable; try again shortly")

    def enqueue_unless_queued(self, name: str) -> None:
        raise ServiceUnavailable("background queue unavailable; try again shortly")


@pytest.fixture
def held_queue(app: Flask) -> Iterator[DeferredJobQueue]:
    """Jobs are recorded, not run, until the test runs them."""
    services = container(app)
    original, services.jobs = services.jobs, DeferredJobQueue(app)
    assert isinstance(services.jobs, DeferredJobQueue)
    yield services.jobs
    services.jobs = original


@pytest.fixture
def queue_goes_down(app: Flask) -> Iterator[Callable[[], None]]:
    """Call it to take the queue away; it is back after the test."""
    services = container(app)
    original = services.jobs

    def go_down() -> None:
        services.jobs = QueueDown(app)

    yield go_down
    services.jobs = original


def _deliver(client: FlaskClient, event_id: str, event: dict[str, Any] | None = None) -> Any:
    event = event or stripe_event(
        "balance.available", fixture("balance"), account="acct_1Dispatch", event_id=event_id
    )
    body, headers = signed(event, container().settings.stripe_connect_webhook_secret)
    return client.post(CONNECT, data=body, headers=headers)


def _rows() -> list[ProviderEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProviderEvent).order_by(ProviderEvent.id)))


def test_a_burst_of_deliveries_queues_one_dispatcher_run_then_one_job_per_event(
    app: Flask, held_queue: DeferredJobQueue
) -> None:
    client = anonymous_client(app)
    for number in range(5):
        assert _deliver(client, f"evt_burst_{number}").status_code == 200
    assert _deliver(client, "evt_burst_2").json["duplicate"] is True

    assert held_queue.queued == [(webhooks.DISPATCH_JOB, ())]
    assert [(row.processing_status, row.dispatched_at) for row in _rows()] == [
        ("received", None)
    ] * 5

    held_queue.run_all()  # the dispatcher
    ids = [row.id for row in _rows()]
    assert held_queue.queued == [(webhooks.PROCESS_JOB, (row_id,)) for row_id in ids]
    assert all(row.dispatched_at is not None for row in _rows())
    assert webhooks.dispatch_new_events() == 0  # nothing is dispatched twice

    held_queue.run_all()  # the processing jobs
    assert {row.processing_status for row in _rows()} == {"ignored"}
    assert held_queue.queued == []


def test_the_dispatcher_claims_in_batches_in_arrival_order(
    app: Flask, held_queue: DeferredJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "DISPATCH_BATCH", 3)
    client = anonymous_client(app)
    for number in range(7):
        _deliver(client, f"evt_batch_{number}")
    held_queue.queued.clear()

    assert webhooks.dispatch_new_events() == 7
    ids = [row.id for row in _rows()]
    assert held_queue.queued == [(webhooks.PROCESS_JOB, (row_id,)) for row_id in ids]
    assert webhooks.dispatch_new_events() == 0


def test_dispatchers_running_together_never_claim_the_same_event(
    app: Flask, held_queue: DeferredJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; on SQLite a second claim is tolerated")
    monkeypatch.setattr(webhooks, "DISPATCH_BATCH", 5)
    client = anonymous_client(app)
    for number in range(120):
        _deliver(client, f"evt_together_{number}")
    held_queue.queued.clear()
    db.session.remove()
    dispatchers = 4
    start = threading.Barrier(dispatchers)
    counts: list[int] = []

    def dispatch() -> None:
        with app.app_context():
            start.wait()
            counts.append(webhooks.dispatch_new_events())
            db.session.remove()

    threads = [threading.Thread(target=dispatch) for _ in range(dispatchers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    enqueued = [args[0] for name, args in held_queue.queued if name == webhooks.PROCESS_JOB]
    assert sum(counts) == len(enqueued) == 120
    assert sorted(enqueued) == [row.id for row in _rows()]  # each event exactly once
    assert all(row.dispatched_at is not None for row in _rows())


def test_a_delivery_after_the_dispatcher_started_gets_a_run_of_its_own(
    app: Flask, held_queue: DeferredJobQueue
) -> None:
    client = anonymous_client(app)
    _deliver(client, "evt_first")
    held_queue.run_all()  # the dispatcher run has started (and finished)
    _deliver(client, "evt_second")
    assert held_queue.queued[-1] == (webhooks.DISPATCH_JOB, ())
    held_queue.run_all()
    held_queue.run_all()
    assert [row.processing_status for row in _rows()] == ["ignored", "ignored"]


def test_a_dispatcher_that_cannot_enqueue_leaves_the_events_waiting(
    app: Flask, held_queue: DeferredJobQueue, queue_goes_down: Callable[[], None]
) -> None:
    client = anonymous_client(app)
    assert _deliver(client, "evt_waits").status_code == 200
    queue_goes_down()
    with pytest.raises(ServiceUnavailable):
        webhooks.dispatch_new_events()
    (row,) = _rows()
    assert (row.processing_status, row.dispatched_at) == ("received", None)

    container(app).jobs = held_queue  # the queue is back
    assert webhooks.dispatch_new_events() == 1
    # The run its delivery queued, and the job the dispatcher (called here) enqueued.
    assert held_queue.queued == [(webhooks.DISPATCH_JOB, ()), (webhooks.PROCESS_JOB, (row.id,))]


def test_a_delivery_is_acknowledged_while_the_queue_is_down_and_processed_later(
    app: Flask, queue_goes_down: Callable[[], None]
) -> None:
    seller = sandbox_seller()
    listing = listing_of(seller)
    sale = checkout.create_payment_intent(UserFactory.create(), listing.id)
    succeeded = stripe_event(
        "payment_intent.succeeded",
        payment_intent_payload(
            pi_id=sale.payment_intent_id,
            amount=sale.total_amount_cents,
            fee=sale.platform_fee_cents,
            order_id=sale.order_id,
            status="succeeded",
            charge_id=None,
        ),
        account=sale.stripe_account_id,
        event_id="evt_while_down",
    )
    queue_goes_down()  # after the checkout, whose sandbox events go through the queue

    response = _deliver(anonymous_client(app), "evt_while_down", succeeded)

    assert response.status_code == 200
    assert response.json["duplicate"] is False
    (row,) = [row for row in _rows() if row.event_id == "evt_while_down"]
    assert row.processing_status == "received"
    order = db.session.get(StubOrder, sale.order_id)
    assert order is not None
    assert order.order_status == "pending"

    # The scheduled sweep (run by the scheduler once Redis is back) processes it.
    assert webhooks.retry_failed() == {"processed": 1}
    db.session.expire_all()
    order = db.session.get(StubOrder, sale.order_id)
    assert order is not None
    assert order.order_status == "payment_completed"


def test_the_default_queue_processes_a_delivery_at_once(app: Flask) -> None:
    # The test app's queue runs jobs inline: acknowledgement, dispatch and processing.
    _deliver(anonymous_client(app), "evt_inline")
    (row,) = _rows()
    assert (row.processing_status, row.attempts) == ("ignored", 1)
    assert row.dispatched_at is not None


class _LinesWithContext(logging.Handler):
    """Each log line with the context fields bound when it was written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.getMessage(), log_fields()))


@pytest.fixture
def log_lines() -> Iterator[_LinesWithContext]:
    handler = _LinesWithContext()
    loggers = [logging.getLogger(name) for name in ("stubcollector.requests", webhooks.__name__)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_delivery_and_the_processing_log_lines_carry_the_event_id(
    app: Flask, held_queue: DeferredJobQueue, log_lines: _LinesWithContext
) -> None:
    _deliver(anonymous_client(app), "evt_traced")
    held_queue.run_all()  # the dispatcher, whose run carries that delivery's request id
    held_queue.run_all()  # the event's processing

    (delivery,) = [fields for name, _m, fields in log_lines.lines if name.endswith("requests")]
    (processing,) = [fields for name, m, fields in log_lines.lines if m.startswith("ignoring")]
    assert delivery["event_id"] == processing["event_id"] == "evt_traced"
    assert delivery["event_type"] == processing["event_type"] == "balance.available"
    assert log_fields().get("event_id") is None  # nothing left bound after the request
