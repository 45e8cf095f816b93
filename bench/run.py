"""Load figures for docs/PERFORMANCE.md: ``make bench`` or ``python -m bench.run``.

What it does, all on 127.0.0.1 and bounded in time and requests:

1. makes a fresh PostgreSQL database (``stubcollector_loadbench``, ``--database-name``;
   ``--keep-database`` reuses it with its seeded rows), applies the migrations;
2. starts gunicorn with ``gunicorn.conf.py`` in production mode (sandbox payments, JSON
   logs to a file, rate limits off so they do not cap the figures);
3. runs each scenario (``bench/scenarios.py``), alternating short slices of it with slices of
   ``/healthz`` so both meet the same machine, and prints throughput, p50/p99 and the ratio
   to the paired ``/healthz`` figures;
4. writes everything, with a description of the machine, to ``test-output/bench-*.json``.

Scenarios whose endpoint is not in the build are reported as pending, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import wrk
from bench.load import Outcome, Request, closed_loop, fixed_rate
from bench.scenarios import SCENARIOS, Context, Pending
from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        default="healthz,readyz,profile,browse,search,browse_writes,webhooks,checkout,checkout_rate,reading",
        help="comma-separated, from: " + ", ".join(SCENARIOS),
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (closed loop)")
    parser.add_argument(
        "--slices", type=int, default=5, help="alternations with /healthz per scenario"
    )
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument(
        "--webhook-rate", type=float, default=200.0, help="events per second (webhooks)"
    )
    parser.add_argument(
        "--checkout-rate",
        type=float,
        default=50.0,
        help="checkouts per second (checkout_rate)",
    )
    parser.add_argument(
        "--write-rate", type=float, default=10.0, help="price changes per second (browse_writes)"
    )
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL used to create the bench database",
    )
    parser.add_argument(
        "--database-name",
        default=os.environ.get("BENCH_DATABASE", "stubcollector_loadbench"),
        help="database to create (and drop first, if this harness made it)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="fixed-rate scenarios: seconds at the start whose requests are sent but reported "
        "apart (fresh server processes connect and fill caches then)",
    )
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="GUNICORN_REUSE_PORT=true: each gunicorn worker listens on its own socket and the "
        "kernel spreads connections over them (see gunicorn.conf.py)",
    )
    parser.add_argument("--redis-url", default="", help="run jobs on RQ with --rq-workers")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument(
        "--defer-workers",
        action="store_true",
        help="with --redis-url: start the RQ workers only once the load of a fixed-rate "
        "scenario is over (the web tier measured alone, as with workers on other hosts)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="CPU niceness of the RQ workers (they share the cores with the web processes)",
    )
    parser.add_argument(
        "--page-cache-seconds",
        type=int,
        default=None,
        help="MARKETPLACE_PAGE_CACHE_SECONDS for the server (0: every browse request "
        "queries PostgreSQL); the app's default when not given",
    )
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop client: wrk when installed (auto), or the Python one",
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.duration > 120 or args.concurrency > 256:
        parser.error("keep runs bounded: --duration <= 120, --concurrency <= 256")
    return args


BENCH_MARK = "created by stubcollector bench/run.py"


def prepare_database(admin_url: str, name: str, keep: bool) -> str:
    """Create the bench database; drop an earlier one only if this harness made it."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if exists:
            mark = connection.scalar(
                sa.text(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = :name"
                ),
                {"name": name},
            )
            if mark != BENCH_MARK:
                raise SystemExit(
                    f"database {name!r} exists and was not made by this harness; "
                    "choose another with --database-name"
                )
        if exists and not keep:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            connection.execute(sa.text(f"COMMENT ON DATABASE \"{name}\" IS '{BENCH_MARK}'"))
    admin.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(False)


def describe_machine(database_url: str) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        postgres = connection.scalar(sa.text("SELECT version()"))
    engine.dispose()
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": str(postgres).split(",")[0],
        "load_average_at_start": [round(value, 2) for value in load],
    }


def server_env(args: argparse.Namespace, database_url: str, log_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(log_dir / "instance"),
        "PAYMENTS_BACKEND": "sandbox",
        "RATELIMIT_ENABLED": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "WEB_CONCURRENCY": str(args.web_workers),
        "GUNICORN_THREADS": str(args.threads),
        "PROMETHEUS_MULTIPROC_DIR": str(log_dir / "metrics"),
        "GUNICORN_CONTROL_SOCKET": str(log_dir / "gunicorn.ctl"),
        "REDIS_URL": args.redis_url,
        "GUNICORN_REUSE_PORT": "true" if args.reuse_port else "false",
    }
    if args.page_cache_seconds is not None:
        env["MARKETPLACE_PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    env.pop("STRIPE_SECRET_KEY", None)
    return env


def wait_for_server(port: int, process: subprocess.Popen[bytes]) -> None:
    import http.client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start; see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_dir = ROOT / "test-output" / f"bench-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = prepare_database(args.admin_url, args.database_name, args.keep_database)
    env = server_env(args, database_url, out_dir)

    settings = Settings.from_env(
        {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        | {"APP_ENV": "development", "PERIODIC_JOBS_IN_PROCESS": "false", "REDIS_URL": ""}
    )
    app = create_app(settings)
    with app.app_context():
        upgrade()
        db.session.remove()

    use_wrk = args.client == "wrk" or (args.client == "auto" and wrk.available())
    report: dict[str, Any] = {
        "started": stamp,
        "machine": describe_machine(database_url),
        "server": {
            "gunicorn_workers": args.web_workers,
            "threads_per_worker": args.threads,
            "worker_class": "gthread",
            "reuse_port": args.reuse_port,
            "jobs": (
                f"RQ, {args.rq_workers} workers at niceness +{args.worker_nice}"
                + (", started after the load" if args.defer_workers else "")
                if args.redis_url
                else "in-process"
            ),
            "page_cache_seconds": (
                "app default" if args.page_cache_seconds is None else args.page_cache_seconds
            ),
        },
        "client": {
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "slices_alternated_with_healthz": args.slices,
            "kind": "wrk" if use_wrk else "python threads",
        },
        "scenarios": {},
    }
    context = Context(
        app,
        "127.0.0.1",
        args.port,
        args.listings,
        args.concurrency,
        args.duration,
        use_wrk=use_wrk,
        work_dir=out_dir,
        webhook_rate=args.webhook_rate,
        checkout_rate=args.checkout_rate,
        write_rate=args.write_rate,
        warmup=args.warmup,
    )
    log_file = (out_dir / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "stubcollector.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        wait_for_server(args.port, server)
        if args.redis_url:
            flask = [sys.executable, "-m", "flask", "--app", "stubcollector.wsgi"]

            def start_workers() -> None:
                if workers:
                    return
                workers.extend(
                    subprocess.Popen(
                        [*flask, "jobs", "worker", "--nice", str(args.worker_nice)],
                        cwd=ROOT,
                        env=env,
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                    )
                    for _ in range(args.rq_workers)
                )

            if args.defer_workers:
                context.start_deferred_workers = start_workers
            else:
                start_workers()
        for name in args.scenarios.split(","):
            report["scenarios"][name] = run_scenario(context, name, args.slices)
            print(json.dumps({name: report["scenarios"][name]}), flush=True)
    finally:
        for process in [*workers, server]:
            stop(process)
        log_file.close()

    report["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    output = args.output or out_dir / "report.json"
    output.write_text(json.dumps(report, indent=2))
    print(render_table(report))
    print(f"\nfull report: {output}")
    return 0


def run_scenario(context: Context, name: str, slices: int) -> dict[str, Any]:
    found = SCENARIOS[name]
    try:
        plan = found.plan(context)
    except Pending as pending:
        return {"description": found.description, "pending": str(pending)}
    result: dict[str, Any] = {"description": found.description}
    if plan.mode == "inprocess":
        assert plan.measure is not None
        result |= plan.measure()
        return result
    if plan.mode == "rate":
        outcome = fixed_rate(
            context.host,
            context.port,
            plan.make_request,
            rate=plan.rate,
            duration=context.duration,
            warmup=context.warmup,
        )
        result |= outcome.summary()
        if plan.verify is not None:
            result["checks"] = plan.verify(outcome)
        return result
    if name == "healthz":
        result |= _closed(context, plan.make_request, context.duration, 1)
        return result
    # Alternate short slices of /healthz and the scenario, so that both meet the same
    # machine (other load on the host drifts during a run); the ratio compares the pairs.
    baseline_plan = SCENARIOS["healthz"].plan(context)
    stop = threading.Event()
    background: dict[str, Any] = {}
    writer = None
    if plan.background is not None:
        run_background = plan.background
        writer = threading.Thread(target=lambda: background.update(run_background(stop)))
        writer.start()
    try:
        paired = _closed(
            context, baseline_plan.make_request, context.duration, slices, plan.make_request
        )
    finally:
        stop.set()
        if writer is not None:
            writer.join()
    if background:
        result["background"] = background
    result |= paired["scenario"]
    result["paired_healthz"] = {
        key: paired["baseline"][key]
        for key in ("requests_per_second", "p50_ms", "p99_ms", "slice_rates")
        if key in paired["baseline"]
    }
    if paired["baseline"]["requests_per_second"]:
        result["ratio_to_healthz"] = round(
            result["requests_per_second"] / paired["baseline"]["requests_per_second"], 3
        )
    rates = paired["scenario"].get("slice_rates"), paired["baseline"].get("slice_rates")
    if rates[0] and rates[1] and statistics.median(rates[1]):
        # Less sensitive than the ratio of sums to a few slices whose connections all
        # landed on one server process.
        result["ratio_of_median_slices"] = round(
            statistics.median(rates[0]) / statistics.median(rates[1]), 3
        )
    if plan.verify is not None:
        result["checks"] = plan.verify(Outcome())
    return result


def _closed(
    context: Context,
    make_request: Callable[[int], Request],
    duration: float,
    slices: int,
    paired_with: Callable[[int], Request] | None = None,
) -> dict[str, Any]:
    """Closed-loop load, with wrk when installed; with ``paired_with``, alternate slices of
    ``make_request`` (the baseline) and ``paired_with`` and return both summaries."""
    plans = [make_request] if paired_with is None else [make_request, paired_with]
    slice_seconds = duration / slices
    # Each slice goes on from the request number where the last one stopped: a scenario
    # whose requests change state (a checkout reserves its listing) must not send the
    # first slice's requests again.
    sent = [0 for _ in plans]

    def continuing(index: int) -> Callable[[int], Request]:
        factory, start = plans[index], sent[index]
        return lambda number: factory(start + number)

    if context.use_wrk:
        wrk_results: list[list[wrk.WrkResult]] = [[] for _ in plans]
        for _ in range(slices):
            for index in range(len(plans)):
                done = wrk.run(
                    context.host,
                    context.port,
                    continuing(index),
                    concurrency=context.concurrency,
                    duration=slice_seconds,
                    script=context.work_dir / f"wrk-{index}.lua",
                )
                wrk_results[index].append(done)
                # wrk leaves up to one request per connection in flight, uncounted.
                sent[index] += done.requests + context.concurrency
        summaries = [wrk.summarize(results) for results in wrk_results]
    else:
        outcomes = [Outcome() for _ in plans]
        for _ in range(slices):
            for index in range(len(plans)):
                piece = closed_loop(
                    context.host,
                    context.port,
                    continuing(index),
                    concurrency=context.concurrency,
                    duration=slice_seconds,
                )
                sent[index] += piece.count
                outcomes[index].merge(piece)
                outcomes[index].elapsed += piece.elapsed
        summaries = [{"client": "python", **outcome.summary()} for outcome in outcomes]
    if paired_with is None:
        return summaries[0]
    return {"baseline": summaries[0], "scenario": summaries[1]}


def render_table(report: dict[str, Any]) -> str:
    lines = [
        "| scenario | req/s | ratio to /healthz | median-slice ratio | p50 ms | p99 ms "
        "| 2xx / all | paired /healthz req/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report["scenarios"].items():
        if "pending" in result:
            lines.append(f"| {name} | pending: {result['pending']} | | | | | | |")
            continue
        if "requests_per_second" not in result:
            figures = ", ".join(f"{k}={v}" for k, v in result.items() if k != "description")
            lines.append(f"| {name} | {figures} | | | | | | |")
            continue
        paired = result.get("paired_healthz", {})
        lines.append(
            f"| {name} | {result['requests_per_second']} | {result.get('ratio_to_healthz', '')} "
            f"| {result.get('ratio_of_median_slices', '')} "
            f"| {result['p50_ms']} | {result['p99_ms']} | {result['ok_2xx']} / "
            f"{result['requests']} | {paired.get('requests_per_second', '')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
