"""Without Redis, periodic jobs run once per period however many web processes share a database.

Each "process" here is an app instance of its own (its own engine and connection pool) with
its own scheduler, ticking in its own thread; the schedulers race for the same period at
the same moment. Time is simulated (the schedulers' monotonic ``now`` and the leases'
wall clock move together) so that many periods pass in a second.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask

from stubcollector.adapters.job_leases import DatabasePeriodicLease
from stubcollector.adapters.jobs import InProcessScheduler, periodic_jobs
from stubcollector.app import build_in_process_scheduler
from stubcollector.extensions import db
from stubcollector.models import PeriodicJobLease, utcnow
from tests.support.doubles import RecordingQueue

APPS = 2
SCHEDULERS_PER_APP = 3
PERIODS = 4


class Clock:
    def __init__(self) -> None:
        self.start = utcnow()
        self.offset = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)


def _race(tickers: list[Callable[[], None]]) -> None:
    """Run every ticker at once in its own thread; re-raise what any of them raised."""
    barrier = threading.Barrier(len(tickers))
    errors: list[BaseException] = []

    def run(tick: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            tick()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(tick,)) for tick in tickers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_schedulers_of_several_processes_enqueue_each_job_once_per_period(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    clock = Clock()
    queue = RecordingQueue()
    schedulers = [
        InProcessScheduler(queue, lease=DatabasePeriodicLease(instance, clock=clock.now))
        for instance in (make_app() for _ in range(APPS))
        for _ in range(SCHEDULERS_PER_APP)
    ]
    shortest = min(entry.every_seconds for entry in periodic_jobs())
    expected: Counter[str] = Counter()
    for period in range(PERIODS):
        # Slightly past each period of the most frequent job, as real ticks would be.
        clock.offset = period * shortest + 0.25
        _race([lambda s=s: s.tick(now=1000 + clock.offset) for s in schedulers])
        for entry in periodic_jobs():
            if period * shortest % entry.every_seconds == 0:
                expected[entry.name] += 1

    assert Counter(queue.enqueued) == expected
    # Every job ran in the first period, the most frequent one in every period.
    assert expected[min(periodic_jobs(), key=lambda e: e.every_seconds).name] == PERIODS
    assert set(expected) == {entry.name for entry in periodic_jobs()}
    db.session.expire_all()
    leases = {lease.name: lease for lease in db.session.query(PeriodicJobLease)}
    assert set(leases) == set(expected)
    owners = {s.lease.owner for s in schedulers if isinstance(s.lease, DatabasePeriodicLease)}
    assert {lease.owner for lease in leases.values()} <= owners


def test_a_scheduler_that_lost_asks_again_only_when_the_period_ends(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    clock = Clock()
    winner_queue, loser_queue = RecordingQueue(), RecordingQueue()
    claims: list[str] = []

    class CountingLease(DatabasePeriodicLease):
        def claim(self, name: str, period_seconds: int):  # type: ignore[no-untyped-def]
            claims.append(name)
            return super().claim(name, period_seconds)

    winner = InProcessScheduler(winner_queue, lease=DatabasePeriodicLease(app, clock=clock.now))
    loser = InProcessScheduler(loser_queue, lease=CountingLease(make_app(), clock=clock.now))
    entry = min(periodic_jobs(), key=lambda e: e.every_seconds)

    winner.tick(now=1000.0)
    loser.tick(now=1000.0)
    assert entry.name in winner_queue.enqueued
    assert loser_queue.enqueued == []
    asked = len(claims)
    for second in range(1, entry.every_seconds):  # a tick a second, as the thread does
        clock.offset = second
        loser.tick(now=1000.0 + second)
    assert len(claims) == asked, "the loser wrote to the database before the period ended"

    # The winner's process is gone; once its period is over, the other one takes the job.
    clock.offset = entry.every_seconds
    loser.tick(now=1000.0 + entry.every_seconds)
    assert entry.name in loser_queue.enqueued


def test_a_database_outage_delays_periodic_jobs_and_does_not_stop_the_scheduler(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = DatabasePeriodicLease(app)

    def unreachable(name: str, period_seconds: int) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(lease, "claim", unreachable)
    queue = RecordingQueue()
    scheduler = InProcessScheduler(queue, lease=lease)
    assert scheduler.tick(now=1000.0) == []
    monkeypatch.undo()
    assert scheduler.tick(now=1001.0) == []  # waits before asking the database again
    assert scheduler.tick(now=1030.0) != []


def test_the_app_schedules_with_a_database_lease(app: Flask) -> None:
    scheduler = build_in_process_scheduler(app, RecordingQueue())
    assert isinstance(scheduler.lease, DatabasePeriodicLease)
