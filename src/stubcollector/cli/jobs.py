"""``flask jobs ...``: run workers and the scheduler, list and replay failed jobs."""

from __future__ import annotations

import json
import os
import signal
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup
from prometheus_client import start_http_server

from stubcollector.adapters import redis_jobs
from stubcollector.adapters.jobs import ReportsDepth, periodic_jobs
from stubcollector.container import container
from stubcollector.domain.errors import NotFound

jobs_cli = AppGroup("jobs", help="Background jobs: workers, scheduler, failed jobs.")


def _redis_queue() -> redis_jobs.RedisJobQueue:
    jobs = container().jobs
    if not isinstance(jobs, redis_jobs.RedisJobQueue):
        raise click.ClickException(
            "REDIS_URL is not set: jobs run inside the web process and failures are only "
            "logged. Set REDIS_URL to use workers, retries and the failed-job registry."
        )
    return jobs


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (for cron or tests).")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    envvar="JOB_METRICS_PORT",
    help="Serve this worker's job metrics for Prometheus on this port (env JOB_METRICS_PORT).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=0,
    envvar="JOB_WORKER_NICE",
    show_default=True,
    help="Lower this worker's CPU priority by N (env JOB_WORKER_NICE): on a host shared "
    "with web processes, background work then yields the CPU to requests.",
)
def worker(burst: bool, metrics_port: int | None, metrics_host: str, niceness: int) -> None:
    """Run jobs from the Redis queue (SIGTERM: finish the current job, then stop)."""
    queue = _redis_queue()
    if niceness:
        os.nice(niceness)
    click.echo(f"worker on queue {queue.name!r} (niceness +{niceness})", err=True)
    if metrics_port is not None:
        # Job counters live in this process; web processes only see the queue in Redis.
        start_http_server(metrics_port, metrics_host)
    redis_jobs.run_worker(current_app._get_current_object(), queue, burst=burst)  # type: ignore[attr-defined]


@jobs_cli.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue what is due once and exit.")
def scheduler(once: bool) -> None:
    """Enqueue periodic jobs on time (several schedulers never enqueue a job twice)."""
    scheduler = redis_jobs.RedisPeriodicScheduler(_redis_queue())
    names = ", ".join(f"{entry.name} every {entry.every_seconds}s" for entry in periodic_jobs())
    click.echo(f"scheduler: {names or 'no periodic jobs registered'}", err=True)
    if once:
        scheduler.tick()
        return

    def stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _enqueued in scheduler.ticks():
        pass


@jobs_cli.command("status")
def status() -> None:
    """Jobs per state (queued, scheduled for retry, started, failed)."""
    jobs = container().jobs
    if not isinstance(jobs, ReportsDepth):
        raise click.ClickException("this job queue does not report its depth")
    for state, count in jobs.depth().items():
        click.echo(f"{state}: {count}")


@jobs_cli.command("failed")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def failed(limit: int, as_json: bool) -> None:
    """List failed jobs, newest last, with the error and the request that enqueued them."""
    found = _redis_queue().failed_jobs(limit)
    if not found:
        click.echo("no failed jobs")
        return
    for entry in found:
        when = entry.failed_at.isoformat() if entry.failed_at else "?"
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": entry.id,
                        "job": entry.name,
                        "args": entry.args,
                        "failed_at": when,
                        "error": entry.error,
                        "request_id": entry.request_id,
                    }
                )
            )
        else:
            args = json.dumps(entry.args)
            click.echo(f"{entry.id}  {when}  {entry.name}{args}  {entry.error}")
            if entry.request_id:
                click.echo(f"    request_id={entry.request_id}")


@jobs_cli.command("replay")
@click.argument("job_id", required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every failed job.")
def replay(job_id: str | None, replay_all: bool) -> None:
    """Put a failed job (or all of them) back on the queue."""
    if bool(job_id) == replay_all:
        raise click.UsageError("give one JOB_ID or --all")
    queue = _redis_queue()
    if replay_all:
        click.echo(f"replayed {queue.replay_all()} failed job(s)")
        return
    assert job_id is not None
    try:
        queue.replay(job_id)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"replayed {job_id}")
