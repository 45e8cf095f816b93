"""The Redis queue with a real worker process: request ids, retries, failed jobs, replay.

One ``flask jobs worker`` process (the real command) serves this module, on a queue of its
own in Redis database 14; the keys it leaves are removed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.typing import ResponseReturnValue
from redis import Redis

from stubcollector.adapters.redis_jobs import (
    QUEUED_MARK_PREFIX,
    QUEUED_MARK_SECONDS,
    RUNNER,
    RedisJobQueue,
    RedisPeriodicScheduler,
    connect,
    run_worker,
)
from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.container import container
from stubcollector.domain.errors import ServiceUnavailable
from stubcollector.extensions import csrf
from stubcollector.web.envelope import ok
from tests.integration import sample_jobs  # registers the jobs here too
from tests.support.servers import (
    TEST_REDIS_URL,
    RestClock,
    free_port,
    require_redis,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.redis

REPO_ROOT = Path(__file__).resolve().parents[2]
# This module's tests keep to their own database number and key names.
JOBS_REDIS_DB = 14


def jobs_redis_url() -> str:
    base = TEST_REDIS_URL.rsplit("/", 1)[0] if TEST_REDIS_URL.count("/") >= 3 else TEST_REDIS_URL
    return f"{base}/{JOBS_REDIS_DB}"


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = jobs_redis_url()
    require_redis(url)
    return url


@pytest.fixture(scope="module")
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def queue_name(redis: Redis) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    for key in redis.scan_iter(match=f"*{name}*"):
        redis.delete(key)
    for key in redis.scan_iter(match="rq:job:*"):
        if redis.type(key) == b"hash" and redis.hget(key, "origin") in (
            name.encode(),
            f"{name}-periodic".encode(),
        ):
            redis.delete(key)


def _env(tmp: Path, redis_url: str, queue_name: str, **extra: str) -> dict[str, str]:
    return {
        "APP_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp / 'jobs.db'}",
        "INSTANCE_PATH": str(tmp),
        "RATELIMIT_ENABLED": "false",
        "REDIS_URL": redis_url,
        "JOB_QUEUE_NAME": queue_name,
        **extra,
    }


@pytest.fixture(scope="module")
def worker_metrics_port() -> int:
    return free_port()


WORKER_NICENESS = 5


@pytest.fixture(scope="module")
def worker_log(
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    queue_name: str,
    worker_metrics_port: int,
) -> Iterator[Path]:
    """A real worker process; yields the file its (JSON) logs go to."""
    tmp = tmp_path_factory.mktemp("worker")
    log_path = tmp / "worker.log"
    env = {
        **os.environ,
        **_env(tmp, redis_url, queue_name, LOG_FORMAT="json", LOG_LEVEL="INFO"),
        "JOB_METRICS_PORT": str(worker_metrics_port),
        "JOB_WORKER_NICE": str(WORKER_NICENESS),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]),
    }
    with log_path.open("wb") as log_file:
        command = [sys.executable, "-m", "flask", "--app", "tests.integration.worker_app"]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*command, "jobs", "worker"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield log_path
        finally:
            stop_process(process, timeout=20)


def _log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


@pytest.fixture
def enqueuer(
    tmp_path: Path, redis_url: str, queue_name: str, worker_log: Path
) -> Callable[..., Flask]:
    """An app on the worker's queue, with a route that enqueues what the test asks for."""

    def build(**settings: str) -> Flask:
        app = create_app(Settings.from_env(_env(tmp_path, redis_url, queue_name, **settings)))

        def enqueue() -> ResponseReturnValue:
            body = request.get_json()
            container().jobs.enqueue(body["job"], *body["args"])
            return ok(202)

        csrf.exempt(enqueue)
        app.add_url_rule("/api/test/enqueue", "test_enqueue", enqueue, methods=["POST"])
        return app

    return build


def _enqueue(app: Flask, job_name: str, *args: object, request_id: str | None = None) -> str:
    headers = {"X-Request-ID": request_id} if request_id else {}
    response = app.test_client().post(
        "/api/test/enqueue", json={"job": job_name, "args": list(args)}, headers=headers
    )
    assert response.status_code == 202, response.json
    return str(response.headers["X-Request-ID"])


def _reports(redis: Redis, key: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis.lrange(key, 0, -1)]


def _queue(app: Flask) -> RedisJobQueue:
    jobs = container(app).jobs
    assert isinstance(jobs, RedisJobQueue)
    return jobs


def test_a_job_runs_in_the_worker_with_the_request_id_in_its_logs(
    enqueuer: Callable[..., Flask], redis: Redis, worker_log: Path
) -> None:
    app = enqueuer()
    key = f"report:{uuid.uuid4().hex}"
    request_id = _enqueue(app, "tests.record", key, "hello", request_id="req-from-client-0001")
    assert request_id == "req-from-client-0001"

    wait_until(lambda: redis.llen(key) == 1, what="the worker to run tests.record")
    assert _reports(redis, key)[0]["request_id"] == request_id
    # JOB_WORKER_NICE: the worker runs at a lower CPU priority than whoever started it.
    assert _reports(redis, key)[0]["niceness"] == min(19, os.nice(0) + WORKER_NICENESS)

    def job_logged() -> bool:
        return any(
            line.get("message") == "recording hello"
            and line.get("request_id") == request_id
            and line.get("job") == "tests.record"
            and line.get("job_id")
            for line in _log_lines(worker_log)
        )

    wait_until(job_logged, timeout=10, what="the job's log line with the request id")


def test_a_worker_serves_its_job_metrics(
    enqueuer: Callable[..., Flask], redis: Redis, worker_metrics_port: int
) -> None:
    key = f"report:{uuid.uuid4().hex}"
    _enqueue(enqueuer(), "tests.record", key, "counted")
    wait_until(lambda: redis.llen(key) == 1, what="the worker to run tests.record")
    with urllib.request.urlopen(f"http://127.0.0.1:{worker_metrics_port}/metrics") as response:
        text = response.read().decode()
    assert 'stubcollector_jobs_total{job="tests.record",outcome="succeeded"}' in text
    assert 'stubcollector_job_duration_seconds_count{job="tests.record"}' in text


def test_a_job_queued_under_its_former_name_runs_as_the_renamed_job(
    enqueuer: Callable[..., Flask], redis: Redis, worker_log: Path
) -> None:
    # What a release from before the rename left in Redis (a rolling deploy, or a retry).
    queue = _queue(enqueuer())
    key = f"renamed:{uuid.uuid4().hex}"
    queue.queue.enqueue_call(RUNNER, args=("tests.record_before_rename", key, "queued earlier"))

    wait_until(lambda: redis.llen(key) == 1, what="the worker to run the renamed job")
    assert _reports(redis, key)[0]["value"] == "queued earlier"

    def logged_under_the_new_name() -> bool:
        return any(
            line.get("message") == "recording queued earlier"
            and line.get("job") == "tests.record_renamed"
            for line in _log_lines(worker_log)
        )

    wait_until(logged_under_the_new_name, timeout=10, what="the job's line under its new name")


def test_a_failing_job_is_retried_with_growing_waits_until_it_succeeds(
    enqueuer: Callable[..., Flask], redis: Redis, worker_log: Path
) -> None:
    app = enqueuer(JOB_MAX_RETRIES="2", JOB_RETRY_BASE_SECONDS="2")
    key = f"flaky:{uuid.uuid4().hex}"
    _enqueue(app, "tests.flaky", key, 2)

    wait_until(lambda: redis.llen(key) == 3, timeout=40, what="three attempts of tests.flaky")
    attempts = _reports(redis, key)
    assert [entry["attempt"] for entry in attempts] == [1, 2, 3]
    # Waits of 2 s then 4 s; RQ schedules to the whole second, so allow one second less.
    first_wait = attempts[1]["at"] - attempts[0]["at"]
    second_wait = attempts[2]["at"] - attempts[1]["at"]
    assert first_wait >= 1
    assert second_wait >= 3
    assert _queue(app).failed_jobs() == []
    failures = [
        line
        for line in _log_lines(worker_log)
        if line.get("message") == "job tests.flaky failed" and line.get("job_id")
    ]
    assert len({line["job_id"] for line in failures}) == 1
    assert [line["retries_left"] for line in failures][-2:] == [2, 1]


def test_a_job_failing_every_attempt_is_listed_and_replayed(
    enqueuer: Callable[..., Flask], redis: Redis
) -> None:
    app = enqueuer(JOB_MAX_RETRIES="1", JOB_RETRY_BASE_SECONDS="1")
    key = f"broken:{uuid.uuid4().hex}"
    request_id = _enqueue(app, "tests.broken_until_fixed", key)
    queue = _queue(app)
    wait_until(lambda: len(queue.failed_jobs()) == 1, what="the job to land in failed jobs")
    (failed,) = queue.failed_jobs()

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "failed"])
    assert listing.exit_code == 0, listing.output
    assert failed.id in listing.output
    assert f'tests.broken_until_fixed["{key}"]' in listing.output
    assert "RuntimeError: still broken" in listing.output
    assert f"request_id={request_id}" in listing.output

    unknown = runner.invoke(args=["jobs", "replay", "no-such-job"])
    assert unknown.exit_code != 0
    assert "no failed job" in unknown.output

    redis.set(f"{key}:fixed", 1)
    replayed = runner.invoke(args=["jobs", "replay", failed.id])
    assert replayed.exit_code == 0, replayed.output
    wait_until(lambda: redis.llen(key) == 1, what="the replayed job to run")
    assert _reports(redis, key)[0]["request_id"] == request_id
    assert queue.failed_jobs() == []


def test_replay_all_puts_every_failed_job_back(
    enqueuer: Callable[..., Flask], redis: Redis
) -> None:
    app = enqueuer(JOB_MAX_RETRIES="0")
    keys = [f"broken:{uuid.uuid4().hex}" for _ in range(2)]
    for key in keys:
        _enqueue(app, "tests.broken_until_fixed", key)
    queue = _queue(app)
    wait_until(lambda: len(queue.failed_jobs()) == 2, what="two failed jobs")

    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "replay"]).exit_code != 0  # neither an id nor --all
    for key in keys:
        redis.set(f"{key}:fixed", 1)
    result = runner.invoke(args=["jobs", "replay", "--all"])
    assert result.exit_code == 0, result.output
    assert "replayed 2" in result.output
    wait_until(lambda: all(redis.llen(key) == 1 for key in keys), what="both replays to run")
    assert queue.failed_jobs() == []


def test_periodic_jobs_are_enqueued_once_per_interval_whatever_the_number_of_schedulers(
    enqueuer: Callable[..., Flask], queue_name: str
) -> None:
    # A queue no worker reads, so the test sees exactly what the schedulers enqueued.
    app = enqueuer(JOB_QUEUE_NAME=f"{queue_name}-periodic")
    queue = _queue(app)

    result = app.test_cli_runner().invoke(args=["jobs", "scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "tests.periodic_tick every 3600s" in result.output

    second_scheduler = RedisPeriodicScheduler(queue)
    assert "tests.periodic_tick" not in second_scheduler.tick()
    queued = [job.args[0] for job in queue.queue.get_jobs() if job.args]
    assert queued.count("tests.periodic_tick") == 1


def test_enqueue_unless_queued_keeps_one_run_queued_until_a_worker_starts_it(
    enqueuer: Callable[..., Flask], queue_name: str, redis: Redis
) -> None:
    # A queue no worker process reads; the test runs RQ's worker itself, in burst mode.
    app = enqueuer(JOB_QUEUE_NAME=f"{queue_name}-once")
    queue = _queue(app)
    redis.delete(sample_jobs.COUNTED_RUNS_KEY)
    mark = f"{QUEUED_MARK_PREFIX}{queue.name}:tests.count_runs"

    for _ in range(3):
        queue.enqueue_unless_queued("tests.count_runs")
    assert queue.queue.count == 1
    assert 0 < int(redis.ttl(mark)) <= QUEUED_MARK_SECONDS

    run_worker(app, queue, burst=True)
    assert redis.llen(sample_jobs.COUNTED_RUNS_KEY) == 1
    assert not redis.exists(mark)  # the run removed it when it started

    queue.enqueue_unless_queued("tests.count_runs")
    assert queue.queue.count == 1
    run_worker(app, queue, burst=True)
    assert redis.llen(sample_jobs.COUNTED_RUNS_KEY) == 2
    redis.delete(sample_jobs.COUNTED_RUNS_KEY)


def test_enqueue_many_queues_one_job_per_call_in_one_go(
    enqueuer: Callable[..., Flask], queue_name: str, redis: Redis
) -> None:
    app = enqueuer(JOB_QUEUE_NAME=f"{queue_name}-many")
    queue = _queue(app)
    key = f"{queue_name}:many"

    queue.enqueue_many("tests.record", [(key, "a"), (key, "b"), (key, "c")])
    assert queue.queue.count == 3
    run_worker(app, queue, burst=True)

    assert sorted(entry["value"] for entry in _reports(redis, key)) == ["a", "b", "c"]
    assert queue.failed_jobs() == []


def test_after_a_failure_enqueueing_fails_at_once_for_a_while_then_tries_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A request must not wait on a dead Redis (up to the connect timeout when its host is
    # unreachable) for every enqueue: after one failure the queue answers "unavailable"
    # without a round trip until the rest is over.
    clock = RestClock(monkeypatch)
    queue = RedisJobQueue(
        connect(f"redis://127.0.0.1:{free_port()}/0"),
        queue_name="nobody-listens",
        max_retries=0,
        retry_base_seconds=1,
        timeout_seconds=10,
    )
    with pytest.raises(ServiceUnavailable, match="queue unavailable"):
        queue.enqueue("tests.record", "key", "a")
    assert len([r for r in caplog.records if "could not enqueue" in r.getMessage()]) == 1

    tried: list[str] = []

    def recorder(call: str) -> Callable[..., object]:
        def record(*_args: object, **_kwargs: object) -> object:
            tried.append(call)
            return types.SimpleNamespace(id="job-id")

        return record

    monkeypatch.setattr(queue.queue, "enqueue_call", recorder("enqueue"))
    monkeypatch.setattr(queue.connection, "set", recorder("set"))
    for _ in range(3):
        with pytest.raises(ServiceUnavailable, match="queue unavailable"):
            queue.enqueue("tests.record", "key", "b")
        with pytest.raises(ServiceUnavailable):
            queue.enqueue_unless_queued("tests.count_runs")
    assert tried == []

    clock.skip_the_rest()
    queue.enqueue("tests.record", "key", "c")
    assert tried == ["enqueue"]
