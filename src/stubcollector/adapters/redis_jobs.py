"""The Redis-backed job queue (RQ), used when ``REDIS_URL`` is set.

Web processes enqueue; ``flask jobs worker`` processes run the jobs; ``flask jobs
scheduler`` enqueues the periodic ones. Why RQ rather than Celery: see
docs/JOBS.md.

* Jobs are stored as ``run_job(name, *args)`` with RQ's JSON serializer: the queue holds our
  job names and plain JSON, never pickles, so a payload cannot execute code and a job
  enqueued by one release can be read by the next.
* A failing job is retried ``JOB_MAX_RETRIES`` times, waiting ``base, 2*base, 4*base, ...``
  seconds (``JOB_RETRY_BASE_SECONDS``); after the last attempt it stays in RQ's failed-job
  registry, where ``flask jobs failed`` lists it and ``flask jobs replay`` runs it again.
* The request id of the enqueuing request travels in the job's ``meta`` and is bound to
  every log line the job writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, SimpleWorker, get_current_job
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from stubcollector.adapters.jobs import check_job_call, periodic_jobs, run_registered
from stubcollector.adapters.outage import RestAfterFailure
from stubcollector.domain.errors import NotFound, ServiceUnavailable
from stubcollector.observability import context

log = logging.getLogger(__name__)

RUNNER = "stubcollector.adapters.redis_jobs.run_job"
# Failed jobs stay replayable for 30 days; successful results are not needed after a day.
FAILURE_TTL_SECONDS = 30 * 24 * 3600
RESULT_TTL_SECONDS = 24 * 3600
# enqueue_unless_queued: the mark that a run is queued. The run deletes it when it starts;
# the expiry only matters if a queued run is lost (Redis flushed): then the next caller
# enqueues again after at most this long.
QUEUED_MARK_PREFIX = "stubcollector:queued:"
QUEUED_MARK_SECONDS = 60
QUEUE_UNAVAILABLE = "background queue unavailable; try again shortly"

# The app a worker process runs jobs in; set by run_worker before the first job.
_worker_app: Flask | None = None


def connect(url: str) -> Redis:
    """A client that fails fast while Redis is down (requests must answer, not hang)."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def backoff_intervals(retries: int, base_seconds: int) -> list[int]:
    return [base_seconds * 2**attempt for attempt in range(retries)]


@dataclass(frozen=True)
class FailedJob:
    id: str
    name: str
    args: list[Any]
    failed_at: datetime | None
    error: str
    request_id: str | None


class RedisJobQueue:
    def __init__(
        self,
        connection: Redis,
        *,
        queue_name: str,
        max_retries: int,
        retry_base_seconds: int,
        timeout_seconds: int,
    ) -> None:
        self.connection = connection
        self.queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
        self._retry = (
            Retry(max=max_retries, interval=backoff_intervals(max_retries, retry_base_seconds))
            if max_retries
            else None
        )
        self._timeout = timeout_seconds
        # After a failed call, enqueueing fails at once for a few seconds instead of every
        # request waiting on a dead connection (a webhook delivery is still acknowledged;
        # its event waits in the inbox).
        self._rest = RestAfterFailure()

    @property
    def name(self) -> str:
        return self.queue.name

    def enqueue(self, name: str, *args: Any) -> None:
        check_job_call(name, args)
        with self._queue_available(name):
            queued = self.queue.enqueue_call(RUNNER, **self._job_options(name, args))
        log.debug("enqueued job %s", name, extra={"job": name, "job_id": queued.id})

    def enqueue_many(self, name: str, calls: Sequence[tuple[Any, ...]]) -> None:
        for args in calls:
            check_job_call(name, args)
        with self._queue_available(name):
            self.queue.enqueue_many(
                [Queue.prepare_data(RUNNER, **self._job_options(name, args)) for args in calls]
            )
        log.debug("enqueued %s jobs %s", len(calls), name, extra={"job": name})

    def enqueue_unless_queued(self, name: str) -> None:
        check_job_call(name, ())
        mark = f"{QUEUED_MARK_PREFIX}{self.queue.name}:{name}"
        with self._queue_available(name):
            if not self.connection.set(mark, "1", nx=True, ex=QUEUED_MARK_SECONDS):
                return
            try:
                self.queue.enqueue_call(RUNNER, **self._job_options(name, (), queued_mark=mark))
            except RedisError:
                self.connection.delete(mark)
                raise

    def _job_options(
        self, name: str, args: tuple[Any, ...], *, queued_mark: str | None = None
    ) -> dict[str, Any]:
        meta: dict[str, str] = {}
        request_id = context.current_request_id()
        if request_id:
            meta["request_id"] = request_id
        if queued_mark:
            meta["queued_mark"] = queued_mark
        return {
            "args": (name, *args),
            "description": name,
            "meta": meta or None,
            "retry": self._retry,
            "timeout": self._timeout,
            "result_ttl": RESULT_TTL_SECONDS,
            "failure_ttl": FAILURE_TTL_SECONDS,
        }

    @contextmanager
    def _queue_available(self, name: str) -> Iterator[None]:
        if self._rest.resting():
            raise ServiceUnavailable(QUEUE_UNAVAILABLE)
        try:
            yield
        except RedisError as exc:
            self._rest.failed()
            log.error(
                "could not enqueue job %s: Redis unavailable (%s); enqueueing fails at once "
                "for %.0f s",
                name,
                exc.__class__.__name__,
                self._rest.seconds,
                extra={"job": name},
            )
            raise ServiceUnavailable(QUEUE_UNAVAILABLE) from exc

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except RedisError:
            return False

    def depth(self) -> dict[str, int]:
        return {
            "queued": self.queue.count,
            "scheduled": ScheduledJobRegistry(queue=self.queue).count,  # type: ignore[no-untyped-call]
            "started": StartedJobRegistry(queue=self.queue).count,
            "failed": FailedJobRegistry(queue=self.queue).count,
        }

    def failed_jobs(self, limit: int = 100) -> list[FailedJob]:
        registry = FailedJobRegistry(queue=self.queue)
        ids = registry.get_job_ids(0, limit - 1)
        jobs = Job.fetch_many(ids, connection=self.connection, serializer=JSONSerializer)
        return [_describe(found) for found in jobs if found is not None]

    def replay(self, job_id: str) -> None:
        """Put one failed job back on the queue (it keeps its id, arguments and request id)."""
        registry = FailedJobRegistry(queue=self.queue)
        try:
            registry.requeue(job_id)
        except (NoSuchJobError, InvalidJobOperation):
            raise NotFound(f"no failed job with id {job_id!r}") from None

    def replay_all(self) -> int:
        registry = FailedJobRegistry(queue=self.queue)
        replayed = 0
        for job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (NoSuchJobError, InvalidJobOperation):
                continue  # expired or replayed by someone else meanwhile
            replayed += 1
        return replayed

    def shutdown(self) -> None:
        self.connection.close()


def _describe(found: Job) -> FailedJob:
    args = list(found.args or [])
    name = str(args.pop(0)) if args else found.description or "?"
    result = found.latest_result()
    error = ((result.exc_string if result is not None else None) or "").strip().splitlines()
    return FailedJob(
        id=found.id,
        name=name,
        args=args,
        failed_at=found.ended_at,
        error=error[-1] if error else "",
        request_id=(found.meta or {}).get("request_id"),
    )


def run_job(name: str, *args: Any) -> None:
    """What RQ calls: run job ``name`` inside the worker's app, with its ids in the logs."""
    if _worker_app is None:
        raise RuntimeError("run_job needs a worker started by run_worker()")
    current = get_current_job()
    meta = current.meta if current is not None else {}
    queued_mark = meta.get("queued_mark")
    if queued_mark and current is not None:
        # Started: from now on a caller may have committed after this run reads, so it
        # must be able to queue another run.
        current.connection.delete(queued_mark)
    with _worker_app.app_context(), context.bound(request_id=meta.get("request_id")):
        try:
            run_registered(name, args, job_id=current.id if current else None)
        except Exception:
            retries_left = current.retries_left if current is not None else None
            log.exception(
                "job %s failed",
                name,
                extra={
                    "job": name,
                    "job_id": current.id if current else None,
                    "retries_left": retries_left or 0,
                },
            )
            raise


def run_worker(app: Flask, queue: RedisJobQueue, *, burst: bool = False) -> None:
    """Process jobs until stopped (SIGTERM finishes the current job first)."""
    global _worker_app
    _worker_app = app
    # SimpleWorker runs jobs in this process instead of forking one child per job: a fork
    # per job would copy the app and its database pool for every webhook event, and the
    # worker's supervisor restarts the process if a job ever takes it down.
    worker = SimpleWorker([queue.queue], connection=queue.connection, serializer=JSONSerializer)
    worker.work(
        burst=burst,
        with_scheduler=True,
        logging_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
    )


class RedisPeriodicScheduler:
    """Enqueues each periodic job at most once per interval, however many schedulers run.

    The slot for a job is a Redis key set with NX and an expiry of the interval: the
    scheduler that creates it enqueues, the others see it taken. Running two schedulers
    (for availability) therefore never doubles the work.
    """

    def __init__(self, queue: RedisJobQueue, *, tick_seconds: float = 1.0) -> None:
        self._queue = queue
        self._tick_seconds = tick_seconds
        self._stopped = False

    def _slot_key(self, name: str) -> str:
        return f"stubcollector:periodic:{self._queue.name}:{name}"

    def tick(self) -> list[str]:
        enqueued = []
        for entry in periodic_jobs():
            try:
                taken = self._queue.connection.set(
                    self._slot_key(entry.name), int(time.time()), nx=True, ex=entry.every_seconds
                )
                if not taken:
                    continue
                self._queue.enqueue(entry.name)
            except (RedisError, ServiceUnavailable) as exc:
                log.warning("periodic job %s not enqueued: %s", entry.name, exc)
                continue
            log.info("enqueued periodic job %s", entry.name, extra={"job": entry.name})
            enqueued.append(entry.name)
        return enqueued

    def ticks(self) -> Iterator[list[str]]:
        while not self._stopped:
            yield self.tick()
            time.sleep(self._tick_seconds)

    def stop(self) -> None:
        self._stopped = True
