"""Benchmark the marketplace browse page against /healthz, served the same way, in one run.

Seeds N listings (default 10,000) into the configured database (``DATABASE_URL``, else a
throw-away SQLite file), serves the app with gunicorn (2 sync workers by default) on
127.0.0.1 and a free port, and drives bounded load at a few concurrency levels with ``wrk``
(or a Python keep-alive client when wrk is not installed). Prints requests/s, p50 and p99
for each path and the ratio to /healthz.

    .venv/bin/python bench/browse.py                       # SQLite, 10,000 listings
    DATABASE_URL=postgresql://postgres@127.0.0.1/stubcollector_bench \\
        .venv/bin/python bench/browse.py --explain          # PostgreSQL, with query plans

The database should be one made for the benchmark: the script adds users, stubs and
listings to it (once; a second run reuses them).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, insert, select, text

from stubcollector.app import create_app
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.models import Stub, StubListing, User
from stubcollector.services.marketplace import browsing

HEALTH = "/healthz"
BROWSE = "/api/marketplace/listings"
SCENARIOS = (
    ("healthz", HEALTH),
    ("browse", BROWSE),
    ("search", BROWSE + "?q=pearl"),
    ("price page 10", BROWSE + "?sort=price_asc&page=10"),
)
SELLER_PREFIX = "bench_seller_"
PERFORMERS = (
    "Pearl Jam",
    "Radiohead",
    "Die Toten Hosen",
    "Chicago Cubs",
    "Nirvana",
    "Fleetwood Mac",
    "The Rolling Stones",
    "Beyoncé",
    "New York Yankees",
    "Metallica",
    "Taylor Swift",
    "Los Angeles Lakers",
    "Grateful Dead",
    "Björk",
    "Bruce Springsteen",
    "Green Bay Packers",
)
TOURS = ("Ten", "OK Computer", "Rumours", "Summer", "Farewell", "World", "Reunion", "Home")
VENUES = (
    ("Paramount Theatre", "Seattle"),
    ("Roseland Ballroom", "New York"),
    ("ESPRIT arena", "Düsseldorf"),
    ("Wrigley Field", "Chicago"),
    ("Madison Square Garden", "New York"),
    ("Red Rocks Amphitheatre", "Morrison"),
    ("Royal Albert Hall", "London"),
    ("Fillmore West", "San Francisco"),
    ("Lambeau Field", "Green Bay"),
    ("The Forum", "Inglewood"),
)


def database_url(workdir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"


def settings_for(url: str, workdir: Path) -> Settings:
    return Settings.from_env(
        {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "LOG_LEVEL": "WARNING"}
    )


def seed(settings: Settings, listings: int, sellers: int = 200) -> None:
    """Migrate, then add bench sellers, stubs and listings until ``listings`` exist."""
    app = create_app(settings)
    with app.app_context():
        upgrade()
        have = (
            db.session.scalar(
                select(func.count(StubListing.id))
                .join(User, User.id == StubListing.seller_id)
                .where(User.username.like(f"{SELLER_PREFIX}%"))
            )
            or 0
        )
        if have >= listings:
            print(f"seed: {have} bench listings already present")
            return
        rng = random.Random(4242)
        now = datetime.now(UTC)
        existing = set(
            db.session.scalars(select(User.username).where(User.username.like(f"{SELLER_PREFIX}%")))
        )
        new_sellers = [
            {
                "username": f"{SELLER_PREFIX}{n}",
                "email": f"{SELLER_PREFIX}{n}@bench.example",
                "password_hash": "bench-no-login",
                "session_token": secrets.token_urlsafe(24),
                "display_name": f"Bench Seller {n}",
                "seller_bio": "Collector since 1990. Stubs ship in a rigid sleeve.",
                "location": rng.choice(VENUES)[1],
                "is_seller": True,
                "stripe_account_id": f"acct_bench{n:010d}",
                "stripe_account_status": "active",
                "stripe_charges_enabled": True,
                "stripe_payouts_enabled": True,
                "stripe_details_submitted": True,
                "stripe_onboarding_completed": True,
                "stripe_requirements_due": [],
                "created_at": now,
                "updated_at": now,
            }
            for n in range(sellers)
            if f"{SELLER_PREFIX}{n}" not in existing
        ]
        if new_sellers:
            db.session.execute(insert(User), new_sellers)
        seller_ids = list(
            db.session.scalars(select(User.id).where(User.username.like(f"{SELLER_PREFIX}%")))
        )
        missing = listings - have
        print(f"seed: adding {missing} stubs and listings")
        started = time.perf_counter()
        chunk = 5000
        for start in range(0, missing, chunk):
            count = min(chunk, missing - start)
            owners = [rng.choice(seller_ids) for _ in range(count)]
            stubs = []
            for owner in owners:
                performer = rng.choice(PERFORMERS)
                venue, city = rng.choice(VENUES)
                stubs.append(
                    {
                        "owner_id": owner,
                        "performer": performer,
                        "event_name": f"{performer} - {rng.choice(TOURS)} Tour",
                        "venue": venue,
                        "city": city,
                        "event_date": date(1970, 1, 1) + timedelta(days=rng.randrange(20000)),
                        "event_time": "20:00",
                        "section": str(rng.randrange(1, 300)),
                        "row": str(rng.randrange(1, 40)),
                        "seat": str(rng.randrange(1, 30)),
                        "face_value_cents": rng.randrange(500, 20000),
                        "currency": "USD",
                        "reading_status": "done",
                        "extraction_engine": "manual",
                        "field_confidence": {},
                        "corrected_fields": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            stub_ids = db.session.scalars(insert(Stub).returning(Stub.id), stubs).all()
            db.session.execute(
                insert(StubListing),
                [
                    {
                        "stub_id": stub_id,
                        "seller_id": owner,
                        "asking_price_cents": rng.randrange(50, 50_000),
                        "currency": "USD",
                        "description": "Good condition, no creases.",
                        "status": "active",
                        "listed_at": now - timedelta(seconds=rng.randrange(90 * 86400)),
                        "updated_at": now,
                    }
                    for stub_id, owner in zip(stub_ids, owners, strict=True)
                ],
            )
            db.session.commit()
        print(f"seed: done in {time.perf_counter() - started:.1f}s")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()


def explain(settings: Settings) -> None:
    """Print the plans of the browse and search queries (for docs/PERFORMANCE.md)."""
    app = create_app(settings)
    with app.app_context():
        connection = db.session.connection()
        analyze = "EXPLAIN (ANALYZE, COSTS OFF)" if db.engine.dialect.name == "postgresql" else ""
        for label, filters in (
            ("browse newest", browsing.listing_filters()),
            ("search 'pearl jam' (1 in 16)", browsing.listing_filters(q="pearl jam")),
            ("search 'björk rumours' (1 in 128)", browsing.listing_filters(q="björk rumours")),
            ("search 'no such band'", browsing.listing_filters(q="no such band")),
            ("venue 'wrigley'", browsing.listing_filters(venue="wrigley")),
        ):
            statement = browsing.browse_statement(filters, page=1, per_page=24)
            compiled = statement.compile(dialect=db.engine.dialect)
            print(f"--- {label}")
            if analyze:
                rows = connection.exec_driver_sql(f"{analyze} {compiled}", compiled.params)
            else:
                literal = statement.compile(
                    dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
                )
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {literal}")
            for row in rows:
                print("   ", row[-1])
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(url: str, workdir: Path, workers: int) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "INSTANCE_PATH": str(workdir),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "stubcollector.wsgi:app",
        ],
        env=env,
        cwd=workdir,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = request_once(port, HEALTH)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not come up")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def cursor_to_page(port: int, page: int) -> str:
    """The URL of page ``page`` of the price sort reached by following next_cursor."""
    path = BROWSE + "?sort=price_asc"
    for _ in range(page - 1):
        status, body = request_once(port, path)
        assert status == 200, body[:300]
        cursor = json.loads(body)["next_cursor"]
        path = f"{BROWSE}?sort=price_asc&cursor={cursor}"
    return path


def request_once(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(port: int, path: str, concurrency: int, seconds: int) -> Result:
    output = subprocess.run(
        [
            "wrk",
            "--latency",
            f"-t{min(concurrency, 2)}",
            f"-c{concurrency}",
            f"-d{seconds}s",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match, output
        return float(match.group(1)) * _UNITS[match.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rate, output
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", output
    )
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return Result(float(rate.group(1)), latency("50"), latency("99"), errors)


def run_python_client(port: int, path: str, concurrency: int, seconds: int) -> Result:
    """Threads with keep-alive connections (reconnecting when the server closes)."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop_at = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while (started := time.perf_counter()) < stop_at:
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[slot] += 1
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                connection.close()
                continue
            latencies[slot].append((time.perf_counter() - started) * 1000)
        connection.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = sorted(value for chunk in latencies for value in chunk)
    if not merged:
        return Result(0.0, 0.0, 0.0, sum(errors))
    cuts = statistics.quantiles(merged, n=100, method="inclusive")
    return Result(len(merged) / elapsed, cuts[49], cuts[98], sum(errors))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    parser.add_argument("--seconds", type=int, default=2, help="per path, level and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per level")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--explain", action="store_true", help="print query plans first")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    load = run_wrk if client == "wrk" else run_python_client

    workdir = Path(tempfile.mkdtemp(prefix="stubcollector-bench-"))
    url = database_url(workdir)
    settings = settings_for(url, workdir)
    print(f"database: {settings.database_url.split('@')[-1]}  listings: {args.listings}")
    seed(settings, args.listings)
    if args.explain:
        explain(settings)
    if args.seed_only:
        return

    print(
        f"server: gunicorn, {args.workers} sync workers; client: {client}; "
        f"{args.rounds} rounds of {args.seconds}s per path and level (medians); "
        f"CPUs: {os.cpu_count()}"
    )
    with serve(url, workdir, args.workers) as port:
        status, body = request_once(port, BROWSE)
        assert status == 200, body[:300]
        scenarios = [*SCENARIOS, ("price p10 cursor", cursor_to_page(port, 10))]
        for _, path in scenarios:  # warm both workers' caches and connections
            load(port, path, 2, 1)
        header = f"{'path':<17}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x healthz':>11}"
        print(header)
        print("-" * len(header))
        for concurrency in levels:
            # Short interleaved rounds, medians reported: other load on the machine comes
            # and goes, and it should hit /healthz and the page alike.
            runs: dict[str, list[Result]] = {label: [] for label, _ in scenarios}
            for _ in range(args.rounds):
                for label, path in scenarios:
                    runs[label].append(load(port, path, concurrency, args.seconds))
            health = runs["healthz"]
            for label, _ in scenarios:
                results = runs[label]
                ratio = statistics.median(
                    r.requests_per_second / h.requests_per_second
                    for r, h in zip(results, health, strict=True)
                )
                errors = sum(r.errors for r in results)
                note = f"  ({errors} errors)" if errors else ""
                print(
                    f"{label:<17}{concurrency:>5}"
                    f"{statistics.median(r.requests_per_second for r in results):>10.0f}"
                    f"{statistics.median(r.p50_ms for r in results):>9.2f}"
                    f"{statistics.median(r.p99_ms for r in results):>9.2f}"
                    f"{ratio:>11.2f}{note}"
                )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
