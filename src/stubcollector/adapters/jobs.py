"""Background work behind one small interface.

Jobs are registered by name with :func:`job`. ``enqueue(name, *args)`` runs them:

* ``InProcessJobQueue`` (the default): on a small thread pool inside the web process, each
  job in its own app context, so requests answer at once. ``eager=True`` runs jobs inline,
  which tests use for determinism.
* ``RedisJobQueue`` (``adapters/redis_jobs.py``, chosen when ``REDIS_URL`` is set): RQ on
  Redis, run by separate worker processes, with retries and a failed-job registry.

Periodic jobs are registered with :func:`periodic`; a scheduler enqueues them every
``every`` seconds (``flask jobs scheduler`` with Redis, a thread in each web process
without, which enqueues a job only after claiming its lease in the database so that one
process per period does: ``adapters/job_leases.py``). Arguments must be JSON values
(numbers, strings, lists, dicts): queues store them.
The request id of the enqueuing request travels with the job into its log lines.

Job names are stored in queues, so renaming a job keeps its old name as a *former name*
(``formerly=...``): an entry still queued under it (enqueued by the previous release, or
waiting for a retry, or replayed from the failed-job registry) runs the renamed job. New
entries are only ever enqueued under the current name. docs/JOBS.md lists the jobs and
their former names, and when a former name can go.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from flask import Flask

from stubcollector.observability import context, metrics

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]
_REGISTRY: dict[str, JobFunction] = {}
# A renamed job's former name -> its current name (only running resolves these).
_FORMER_NAMES: dict[str, str] = {}


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int


_PERIODIC: dict[str, PeriodicJob] = {}


def job(name: str, *, formerly: Sequence[str] = ()) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn`` as the job ``name`` (names are stable; queues store them).

    ``formerly``: the names this job had in earlier releases, so that entries still
    queued under one of them run ``fn`` (see the module docstring).
    """

    def register(fn: JobFunction) -> JobFunction:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not fn:
            raise ValueError(f"job {name!r} is already registered")
        if name in _FORMER_NAMES:
            raise ValueError(f"job {name!r} is the former name of {_FORMER_NAMES[name]!r}")
        for former in formerly:
            if former in _REGISTRY or _FORMER_NAMES.get(former, name) != name:
                raise ValueError(f"job {former!r} is already registered")
        _REGISTRY[name] = fn
        _FORMER_NAMES.update(dict.fromkeys(formerly, name))
        return fn

    return register


def periodic(
    name: str, *, every: int, formerly: Sequence[str] = ()
) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn`` (taking no arguments) as job ``name``, enqueued every ``every`` seconds.

    Periodic jobs must be safe to run twice or late: schedulers guarantee at most one
    enqueue per interval, not an exact time.
    """
    if every < 1:
        raise ValueError("every must be at least one second")

    def register(fn: JobFunction) -> JobFunction:
        job(name, formerly=formerly)(fn)
        _PERIODIC[name] = PeriodicJob(name, every)
        return fn

    return register


def registered_job(name: str) -> JobFunction:
    """The function of the job ``name`` (a current name: former names only run)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None


def job_names() -> list[str]:
    """Every registered job's current name, sorted."""
    return sorted(_REGISTRY)


def former_job_names() -> dict[str, str]:
    """Each former name of a renamed job -> the job's current name."""
    return dict(sorted(_FORMER_NAMES.items()))


def periodic_jobs() -> list[PeriodicJob]:
    return sorted(_PERIODIC.values(), key=lambda entry: entry.name)


def check_job_call(name: str, args: tuple[Any, ...]) -> None:
    """Fail in the caller's stack on a typo or on arguments a queue could not store."""
    registered_job(name)
    try:
        json.dumps(args)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job {name!r}: arguments must be JSON values ({exc})") from None


def run_registered(name: str, args: tuple[Any, ...], *, job_id: str | None = None) -> None:
    """Run one job with its name and id in every log line and its outcome in the metrics.

    An entry queued under a job's former name runs, logs and counts as the current job.
    """
    name = _FORMER_NAMES.get(name, name)
    started = time.perf_counter()
    with context.bound(job=name, job_id=job_id):
        try:
            registered_job(name)(*args)
        except Exception:
            metrics.jobs_finished.labels(job=name, outcome="failed").inc()
            raise
        finally:
            metrics.job_duration.labels(job=name).observe(time.perf_counter() - started)
    metrics.jobs_finished.labels(job=name, outcome="succeeded").inc()


class JobQueue(Protocol):
    def enqueue(self, name: str, *args: Any) -> None:
        """Run job ``name`` with ``args`` (JSON-friendly values only) in the background."""

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        """Run job ``name`` once per argument tuple in ``calls``, enqueued together."""

    def enqueue_unless_queued(self, name: str) -> None:
        """Run the argument-less job ``name`` soon, unless a run of it is already queued.

        A queued run has not started, so it will see everything committed before this
        call: one run serves every caller that asked meanwhile. For jobs that sweep up
        whatever is waiting (the webhook dispatcher), so that a burst of requests costs
        one run and each request one cheap call.
        """

    def shutdown(self) -> None:
        """Finish or drop queued work; called when the app stops."""


@runtime_checkable
class ReportsDepth(Protocol):
    def depth(self) -> dict[str, int]:
        """Jobs per state (queued, scheduled, started, failed) for the queue-depth gauge."""


class InProcessJobQueue:
    def __init__(self, app: Flask, *, eager: bool = False, workers: int = 2) -> None:
        self._app = app
        self._eager = eager
        self._pool = None if eager else ThreadPoolExecutor(workers, thread_name_prefix="job")
        self._pending: set[Future[None]] = set()
        self._queued_once: set[str] = set()
        self._lock = threading.Lock()

    def enqueue(self, name: str, *args: Any) -> None:
        check_job_call(name, args)
        request_id = context.current_request_id()
        if self._pool is None:
            self._run(name, args, request_id)
            return
        self._submit(self._pool, self._run, name, args, request_id)

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        for args in calls:
            self.enqueue(name, *args)

    def enqueue_unless_queued(self, name: str) -> None:
        check_job_call(name, ())
        if self._pool is None:
            self._run(name, (), context.current_request_id())
            return
        with self._lock:
            if name in self._queued_once:
                return
            self._queued_once.add(name)
        self._submit(self._pool, self._run_once, name, context.current_request_id())

    def _submit(self, pool: ThreadPoolExecutor, run: Callable[..., None], *args: Any) -> None:
        future = pool.submit(run, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _run_once(self, name: str, request_id: str | None) -> None:
        # Leave the queued set before starting: a caller arriving from now on may have
        # committed after this run reads, so it must get a run of its own.
        with self._lock:
            self._queued_once.discard(name)
        self._run(name, (), request_id)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _run(self, name: str, args: tuple[Any, ...], request_id: str | None) -> None:
        with self._app.app_context(), context.bound(request_id=request_id):
            try:
                run_registered(name, args)
            except Exception:
                # The job itself records failures its user must see (e.g. a stub's reading
                # status); here we only make sure nothing fails silently.
                log.exception("job %s%r failed", name, args)
                if self._eager and self._app.testing:
                    raise

    def depth(self) -> dict[str, int]:
        with self._lock:
            pending = sum(1 for future in self._pending if not future.running())
            running = len(self._pending) - pending
        return {"queued": pending, "started": running}

    def wait(self, timeout: float = 30) -> None:
        """Block until queued jobs finish (tests and the CLI use this)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class LeaseClaim:
    won: bool
    """True: this scheduler holds the job for the period and must enqueue it."""
    wait_seconds: float
    """How long until the current period ends (when anyone may claim the job again)."""


class PeriodicLease(Protocol):
    def claim(self, name: str, period_seconds: int) -> LeaseClaim:
        """Take periodic job ``name`` for ``period_seconds`` unless another holder has it."""


# After a failed claim (the database is away) a scheduler tries again this soon at most.
LEASE_RETRY_SECONDS = 30.0


class InProcessScheduler:
    """Without Redis: enqueue periodic jobs from a daemon thread of the web process.

    Each web process runs its own. With a ``lease`` (the app passes
    ``job_leases.DatabasePeriodicLease``) a scheduler enqueues a job only after claiming it
    for the period, so several processes on one database enqueue each job once per period;
    a process that loses waits until the holder's period ends before asking again. Without
    one, every scheduler enqueues on its own clock (one process, or tests).
    """

    def __init__(
        self, queue: JobQueue, *, lease: PeriodicLease | None = None, tick_seconds: float = 1.0
    ) -> None:
        self._queue = queue
        self._lease = lease
        self._tick_seconds = tick_seconds
        self._next_run: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def lease(self) -> PeriodicLease | None:
        return self._lease

    def due(self, now: float) -> list[PeriodicJob]:
        ready = []
        for entry in periodic_jobs():
            if now < self._next_run.get(entry.name, 0.0):
                continue
            claim = self._claim(entry)
            self._next_run[entry.name] = now + max(claim.wait_seconds, self._tick_seconds)
            if claim.won:
                ready.append(entry)
        return ready

    def _claim(self, entry: PeriodicJob) -> LeaseClaim:
        if self._lease is None:
            return LeaseClaim(won=True, wait_seconds=entry.every_seconds)
        try:
            return self._lease.claim(entry.name, entry.every_seconds)
        except Exception as exc:
            log.warning("periodic job %s not claimed: %s", entry.name, exc)
            return LeaseClaim(won=False, wait_seconds=min(entry.every_seconds, LEASE_RETRY_SECONDS))

    def tick(self, now: float | None = None) -> list[str]:
        enqueued = []
        for entry in self.due(time.monotonic() if now is None else now):
            try:
                self._queue.enqueue(entry.name)
            except Exception:
                log.exception("could not enqueue periodic job %s", entry.name)
                continue
            enqueued.append(entry.name)
        return enqueued

    def start(self) -> None:
        if self._thread is not None:  # every request calls this; only the first starts it
            return
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="periodic-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
