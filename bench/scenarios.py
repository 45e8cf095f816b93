"""The load scenarios. Adding one is a few lines::

    @scenario("name", "what it measures")
    def name(ctx: Context) -> Plan:
        ctx.require("GET", "/api/some/path")          # Pending until the endpoint exists
        return Plan(lambda n: Request("GET", f"/api/some/path?page={n % 50 + 1}"))

``Plan(mode="rate", rate=200)`` sends at a fixed rate instead of as fast as possible, and
``verify`` checks the database after the run (counts, nothing lost or doubled).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench import seed
from bench.load import Outcome, Request
from stubcollector.extensions import db
from stubcollector.models import ProviderEvent, StubListing, User

SANDBOX_CONNECT_SECRET = "whsec_sandbox_connect"  # noqa: S105 - the sandbox default secret


class Pending(Exception):
    """The scenario cannot run yet (its endpoint or adapter is not in this build)."""


@dataclass
class Context:
    app: Flask
    host: str
    port: int
    listings: int
    concurrency: int
    duration: float
    use_wrk: bool = False
    work_dir: Path = field(default_factory=Path.cwd)
    state: dict[str, Any] = field(default_factory=dict)

    def call(self, request: Request) -> tuple[int, bytes, http.client.HTTPResponse]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(request.method, request.path, request.body, request.headers)
            response = connection.getresponse()
            return response.status, response.read(), response
        finally:
            connection.close()

    def require(self, method: str, path: str) -> None:
        """Pending unless the app has a route for ``method path``."""
        adapter = self.app.url_map.bind("localhost")
        try:
            adapter.match(path, method=method)
        except Exception as exc:
            raise Pending(f"{method} {path} is not in this build") from exc

    def ensure_listings(self) -> list[int]:
        with self.app.app_context():
            have = seed.listing_count()
            if have < self.listings:
                seed.seed_marketplace(self.listings - have)
            return list(
                db.session.scalars(
                    select(User.id).where(User.username.like("bench_seller_%")).order_by(User.id)
                )
            )


@dataclass
class Plan:
    make_request: Callable[[int], Request]
    mode: str = "closed"  # or "rate"
    rate: float = 0.0
    verify: Callable[[Outcome], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    plan: Callable[[Context], Plan]


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str) -> Callable[[Callable[[Context], Plan]], Any]:
    def register(plan: Callable[[Context], Plan]) -> Callable[[Context], Plan]:
        SCENARIOS[name] = Scenario(name, description, plan)
        return plan

    return register


@scenario("healthz", "GET /healthz: the baseline (routing, middleware, JSON; no database)")
def healthz(_ctx: Context) -> Plan:
    return Plan(lambda _n: Request("GET", "/healthz"))


@scenario("readyz", "GET /readyz: one database round trip (and Redis PING when configured)")
def readyz(_ctx: Context) -> Plan:
    return Plan(lambda _n: Request("GET", "/readyz"))


@scenario(
    "profile",
    "GET /api/users/<id>: a public seller profile with listing and sale counts, "
    "over the seeded marketplace",
)
def profile(ctx: Context) -> Plan:
    sellers = ctx.ensure_listings()
    return Plan(lambda n: Request("GET", f"/api/users/{sellers[n % len(sellers)]}"))


BROWSE_QUERIES = (
    "",
    "&sort=price_asc",
    "&sort=newest",
    "&q=Radiohead",
    "&min_price=1000&max_price=5000",
    "&venue=Red%20Rocks",
)


@scenario("browse", "GET /api/marketplace/listings: search and pages over the seeded listings")
def browse(ctx: Context) -> Plan:
    ctx.require("GET", "/api/marketplace/listings")
    ctx.ensure_listings()

    def make(n: int) -> Request:
        page = n % 20 + 1
        return Request(
            "GET", f"/api/marketplace/listings?page={page}{BROWSE_QUERIES[n % len(BROWSE_QUERIES)]}"
        )

    return Plan(make)


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send (t=...,v1=HMAC-SHA256)."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


WEBHOOK_RATE = 200.0
DUPLICATE_EVERY = 10  # every 10th delivery repeats an earlier event


@scenario(
    "webhooks",
    f"POST /api/payments/webhook/connect: signed events at {WEBHOOK_RATE:.0f}/s, "
    f"1 in {DUPLICATE_EVERY} a duplicate; counts checked after the run",
)
def webhooks(ctx: Context) -> Plan:
    ctx.require("POST", "/api/payments/webhook/connect")
    run = f"{int(time.time())}"

    def event_number(n: int) -> int:
        # Delivery n carries event n, except every 10th which repeats the one 5 before it.
        return n - 5 if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 and n >= 5 else n

    def make(n: int) -> Request:
        number = event_number(n)
        body = json.dumps(
            {
                "id": f"evt_bench{run}_{number}",
                "object": "event",
                "type": "account.updated",
                "account": f"acct_bench{number % 1000:08d}",
                "livemode": False,
                "created": int(time.time()),
                "data": {"object": {"id": f"acct_bench{number % 1000:08d}", "object": "account"}},
            }
        ).encode()
        return Request(
            "POST",
            "/api/payments/webhook/connect",
            body,
            {
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(
                    body, SANDBOX_CONNECT_SECRET, int(time.time())
                ),
            },
        )

    def verify(outcome: Outcome) -> dict[str, Any]:
        sent = {event_number(n) for n in range(outcome.count)}
        prefix = f"evt_bench{run}_%"
        deadline = time.monotonic() + 120
        with ctx.app.app_context():
            while True:
                waiting = db.session.scalar(
                    select(func.count())
                    .select_from(ProviderEvent)
                    .where(ProviderEvent.event_id.like(prefix))
                    .where(ProviderEvent.processing_status == "received")
                )
                db.session.remove()
                if not waiting or time.monotonic() > deadline:
                    break
                time.sleep(1)
            rows = db.session.execute(
                select(
                    ProviderEvent.processing_status,
                    func.count(),
                    func.max(ProviderEvent.attempts),
                )
                .where(ProviderEvent.event_id.like(prefix))
                .group_by(ProviderEvent.processing_status)
            ).all()
            db.session.remove()
        stored = sum(count for _status, count, _attempts in rows)
        return {
            "distinct_events_sent": len(sent),
            "events_stored": stored,
            "nothing_lost_or_doubled": stored == len(sent),
            "by_status": {status: count for status, count, _a in rows},
            "max_attempts": max((attempts or 0 for _s, _c, attempts in rows), default=0),
            "still_unprocessed_after_wait": waiting or 0,
        }

    return Plan(make, mode="rate", rate=WEBHOOK_RATE, verify=verify)


@scenario(
    "checkout",
    "POST /api/payments/create-payment-intent in sandbox mode, one listing per request",
)
def checkout(ctx: Context) -> Plan:
    ctx.require("POST", "/api/payments/create-payment-intent")
    ctx.ensure_listings()
    status, _body, response = ctx.call(
        Request(
            "POST",
            "/auth/register",
            json.dumps(
                {
                    "username": f"bench_buyer_{int(time.time())}",
                    "email": f"bench_buyer_{int(time.time())}@example.com",
                    "password": seed.BENCH_PASSWORD,
                }
            ).encode(),
            {"Content-Type": "application/json"},
        )
    )
    if status != 201:
        raise Pending(f"could not register the bench buyer ({status})")
    cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
    with ctx.app.app_context():
        listing_ids = list(
            db.session.scalars(
                select(StubListing.id)
                .where(StubListing.status == "active")
                .order_by(StubListing.id)
                .limit(20_000)
            )
        )
        db.session.remove()

    def make(n: int) -> Request:
        body = json.dumps({"listing_id": listing_ids[n % len(listing_ids)]}).encode()
        return Request(
            "POST",
            "/api/payments/create-payment-intent",
            body,
            {"Content-Type": "application/json", "Cookie": cookie},
        )

    return Plan(make)


@scenario("reading", "Stub reading (OCR) time per image, run in this process")
def reading(_ctx: Context) -> Plan:
    # Stub reading arrives with issue 3; time its adapter on tests' real images here, e.g.
    # ``for image in images: started = perf_counter(); reader.read(image); ...``.
    raise Pending("the stub-reading adapter (issue 3) is not in this build")
