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
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text

from bench import seed
from bench.load import Outcome, Request
from stubcollector.extensions import db
from stubcollector.models import (
    AuditLogEntry,
    ProviderEvent,
    StubListing,
    StubOrder,
    StubPayment,
    User,
)

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
    webhook_rate: float = 200.0
    checkout_rate: float = 50.0
    write_rate: float = 10.0
    warmup: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)
    # Starts the job workers when they were held back during the load (--defer-workers).
    start_deferred_workers: Callable[[], None] | None = None

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
                # Fresh statistics, as autovacuum would gather a minute later: without them
                # the planner takes the 100,000 new rows for an empty table and a search
                # runs for minutes (a nested loop over a bitmap of every on-sale listing).
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            return list(
                db.session.scalars(
                    select(User.id).where(User.username.like("bench_seller_%")).order_by(User.id)
                )
            )


@dataclass
class Plan:
    make_request: Callable[[int], Request]
    mode: str = "closed"  # or "rate", or "inprocess" (``measure`` times work in this process)
    rate: float = 0.0
    verify: Callable[[Outcome], dict[str, Any]] | None = None
    measure: Callable[[], dict[str, Any]] | None = None
    # Runs in a thread beside the load until the event is set; its summary is reported.
    background: Callable[[threading.Event], dict[str, Any]] | None = None


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


@scenario("healthz", "GET /healthz: the baseline (routing, middleware, one SELECT 1, JSON)")
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


# The listing page's real parameters (web/api/marketplace.py ``BrowseQuery``): ``browse``
# is what most visitors see (no filter: a sort, the next page by page number or
# ``next_cursor``), ``search`` the filters (text, venue, price, seller, dates).
BROWSE_QUERIES = (
    "",
    "sort=price_asc",
    "sort=price_desc",
    "page=2",
    "page=5&sort=price_asc",
    "per_page=12",
    "cursor={cursor}",
)
SEARCH_QUERIES = (
    "q=radiohead",
    "q=pearl%20jam&sort=price_asc",
    "min_price=10.00&max_price=50.00",
    "venue=red%20rocks",
    "seller=bench_seller_7",
    "date_from=1990-01-01&date_to=1999-12-31",
    "date_from=1990-01-01&date_to=1999-12-31&sort=event_date",
)


def _listing_pages(ctx: Context, queries: tuple[str, ...]) -> Plan:
    ctx.require("GET", "/api/marketplace/listings")
    ctx.ensure_listings()
    status, body, _response = ctx.call(Request("GET", "/api/marketplace/listings"))
    cursor = json.loads(body).get("next_cursor") if status == 200 else None
    if not cursor:
        raise Pending(f"the first page gave no next_cursor ({status})")
    filled = [query.replace("{cursor}", cursor) for query in queries]

    def make(n: int) -> Request:
        query = filled[n % len(filled)]
        return Request("GET", "/api/marketplace/listings" + (f"?{query}" if query else ""))

    return Plan(make)


@scenario(
    "browse",
    "GET /api/marketplace/listings without filters: first pages of each sort, page 2 and 5, "
    "the next page by cursor",
)
def browse(ctx: Context) -> Plan:
    return _listing_pages(ctx, BROWSE_QUERIES)


@scenario(
    "search",
    "GET /api/marketplace/listings with filters: words, venue, price range, seller, "
    "event dates (and the event-date sort)",
)
def search(ctx: Context) -> Plan:
    return _listing_pages(ctx, SEARCH_QUERIES)


@scenario(
    "browse_writes",
    "browse (as above) while sellers change prices through the API at a fixed rate "
    "(--write-rate, default 10/s): every change makes the page cache read the pages again",
)
def browse_writes(ctx: Context) -> Plan:
    plan = _listing_pages(ctx, BROWSE_QUERIES)
    plan.background = lambda stop: _change_prices(ctx, stop)
    return plan


def _change_prices(ctx: Context, stop: threading.Event) -> dict[str, Any]:
    """PATCH one seeded listing's price as its seller, ``ctx.write_rate`` times a second."""
    with ctx.app.app_context():
        owned = db.session.execute(
            select(StubListing.id, User.session_token)
            .join(User, User.id == StubListing.seller_id)
            .where(StubListing.status == "active", User.username.like("bench_seller_%"))
            .order_by(StubListing.id)
            .limit(50)
        ).all()
        db.session.remove()
    cookies = [(listing_id, session_cookie(ctx, str(token))) for listing_id, token in owned]
    connection = http.client.HTTPConnection(ctx.host, ctx.port, timeout=30)
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    sent = 0
    while not stop.is_set():
        listing_id, cookie = cookies[sent % len(cookies)]
        price = f"{10 + sent % 90}.00"
        connection.request(
            "PATCH",
            f"/api/marketplace/listings/{listing_id}",
            json.dumps({"asking_price": price}),
            {"Content-Type": "application/json", "Cookie": cookie},
        )
        response = connection.getresponse()
        response.read()
        statuses[response.status] = statuses.get(response.status, 0) + 1
        sent += 1
        pause = started + sent / ctx.write_rate - time.perf_counter()
        if pause > 0:
            stop.wait(pause)
    connection.close()
    elapsed = time.perf_counter() - started
    return {
        "price_changes": sent,
        "per_second": round(sent / elapsed, 1) if elapsed else 0,
        "statuses": dict(sorted(statuses.items())),
    }


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send (t=...,v1=HMAC-SHA256)."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


WEBHOOK_RATE = 200.0
DUPLICATE_EVERY = 10  # every 10th delivery repeats an earlier event
ACCOUNT_EVENT_EVERY = 4  # every 4th event is account.updated, the rest payments succeeding


def session_cookie(ctx: Context, session_token: str) -> str:
    """The login cookie of a user, signed with the server's SECRET_KEY (no password hashing
    per buyer: logging in 2,000 buyers would take minutes of scrypt)."""
    serializer = ctx.app.session_interface.get_signing_serializer(ctx.app)  # type: ignore[attr-defined]
    assert serializer is not None
    value = serializer.dumps({"_user_id": session_token, "_fresh": False})
    return f"{ctx.app.config['SESSION_COOKIE_NAME']}={value}"


@scenario(
    "webhooks",
    "POST /api/payments/webhook/connect: signed events at a fixed rate "
    f"(--webhook-rate, default {WEBHOOK_RATE:.0f}/s) "
    f"(payment_intent.succeeded for seeded orders, account.updated for seeded sellers), "
    f"1 in {DUPLICATE_EVERY} a duplicate; counts checked after the run",
)
def webhooks(ctx: Context) -> Plan:
    ctx.require("POST", "/api/payments/webhook/connect")
    sellers = ctx.ensure_listings()
    run = f"bench{int(time.time())}"
    deliveries = int(ctx.webhook_rate * ctx.duration)
    with ctx.app.app_context():
        (buyer_token,) = seed.seed_buyers(1, prefix=f"{run}_buyer")
        buyer_id = db.session.scalar(select(User.id).where(User.session_token == buyer_token))
        accounts = list(
            db.session.scalars(
                select(User.stripe_account_id).where(User.id.in_(sellers)).order_by(User.id)
            )
        )
        # The oldest listings (checkout takes the newest), still on sale.
        listing_ids = list(
            db.session.scalars(
                select(StubListing.id)
                .where(StubListing.status == "active")
                .order_by(StubListing.id)
                .limit(deliveries)
            )
        )
        order_ids = seed.seed_pending_orders(listing_ids, int(buyer_id or 0), run=run)
        db.session.remove()

    def event_number(n: int) -> int:
        # Delivery n carries event n, except every 10th which repeats the one 5 before it.
        return n - 5 if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 and n >= 5 else n

    def is_payment(number: int) -> bool:
        return number % ACCOUNT_EVENT_EVERY != ACCOUNT_EVENT_EVERY - 1

    def event(number: int) -> dict[str, Any]:
        if is_payment(number):
            account = accounts[order_seller[number]]  # direct charges: the seller's account
            data_object: dict[str, Any] = {
                "id": f"pi_{run}_{number}",
                "object": "payment_intent",
                "status": "succeeded",
                "amount_received": 0,
                "currency": "usd",
                "latest_charge": f"ch_{run}_{number}",
                "metadata": {"order_id": str(order_ids[number])},
            }
            event_type = "payment_intent.succeeded"
        else:
            account = accounts[number % len(accounts)]
            data_object = {"id": account, "object": "account", "charges_enabled": True}
            event_type = "account.updated"
        return {
            "id": f"evt_{run}_{number}",
            "object": "event",
            "type": event_type,
            "account": account,
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2026-10-28.endive",
            "data": {"object": data_object},
        }

    with ctx.app.app_context():
        seller_of = dict(
            db.session.execute(
                select(StubOrder.id, StubOrder.seller_id).where(StubOrder.id.in_(order_ids))
            )
            .tuples()
            .all()
        )
        db.session.remove()
    seller_index = {seller_id: index for index, seller_id in enumerate(sellers)}
    order_seller = [seller_index[seller_of[order_id]] for order_id in order_ids]

    def make(n: int) -> Request:
        body = json.dumps(event(event_number(n))).encode()
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
        sent = {event_number(n) for n in range(outcome.including_warmup().count)}
        paid = sorted(order_ids[number] for number in sent if is_payment(number))
        prefix = f"evt_{run}_%"
        # Processing runs behind the acknowledgements (a queue absorbs the burst): wait for
        # the backlog to drain and report how long that took.
        waited_from = time.monotonic()
        deadline = waited_from + 300
        if ctx.start_deferred_workers is not None:
            ctx.start_deferred_workers()
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
                time.sleep(0.5)
            drained_after = round(time.monotonic() - waited_from, 1)
            rows = db.session.execute(
                select(
                    ProviderEvent.processing_status,
                    func.count(),
                    func.max(ProviderEvent.attempts),
                )
                .where(ProviderEvent.event_id.like(prefix))
                .group_by(ProviderEvent.processing_status)
            ).all()
            orders_paid = db.session.scalar(
                select(func.count())
                .select_from(StubOrder)
                .where(StubOrder.id.in_(order_ids), StubOrder.order_status == "payment_completed")
            )
            transitions = db.session.scalar(
                select(func.count())
                .select_from(AuditLogEntry)
                .where(
                    AuditLogEntry.action == "order.payment_completed",
                    AuditLogEntry.object_id.in_([str(order_id) for order_id in order_ids]),
                )
            )
            listings_sold = db.session.scalar(
                select(func.count())
                .select_from(StubListing)
                .where(StubListing.id.in_(listing_ids), StubListing.status == "sold")
            )
            db.session.remove()
        stored = sum(count for _status, count, _attempts in rows)
        return {
            "deliveries": outcome.including_warmup().count,
            "distinct_events_sent": len(sent),
            "events_stored": stored,
            "payment_events_sent": len(paid),
            "orders_paid": orders_paid,
            "payment_completed_transitions": transitions,
            "listings_sold": listings_sold,
            "nothing_lost_or_doubled": stored == len(sent)
            and orders_paid == transitions == listings_sold == len(paid),
            "by_status": {status: count for status, count, _a in rows},
            "max_attempts": max((attempts or 0 for _s, _c, attempts in rows), default=0),
            "still_unprocessed_after_wait": waiting or 0,
            "backlog_drained_s_after_last_delivery": drained_after,
        }

    return Plan(make, mode="rate", rate=ctx.webhook_rate, verify=verify)


CHECKOUT_BUYERS = 2000
CLOSED_LOOP_CHECKOUTS_PER_SECOND = 500


def _checkout_requests(
    ctx: Context, count: int, *, skip: int, label: str
) -> tuple[Callable[[int], Request], list[int], list[int]]:
    """``count`` new buyers, each with their own listing on sale (the newest ones after
    the first ``skip``: the webhook scenario reserves the oldest). Request n: buyer n
    reserves listing n; past ``count`` a buyer repeats its call (the same order answers)."""
    ctx.require("POST", "/api/payments/create-payment-intent")
    ctx.ensure_listings()
    run = f"bench{int(time.time())}{label}"
    with ctx.app.app_context():
        tokens = seed.seed_buyers(count, prefix=f"{run}_buyer")
        buyer_ids = list(db.session.scalars(select(User.id).where(User.session_token.in_(tokens))))
        listing_ids = list(
            db.session.scalars(
                select(StubListing.id)
                .where(StubListing.status == "active")
                .order_by(StubListing.id.desc())
                .offset(skip)
                .limit(count)
            )
        )
        db.session.remove()
    cookies = [session_cookie(ctx, token) for token in tokens]

    def make(n: int) -> Request:
        index = n % count
        body = json.dumps({"listing_id": listing_ids[index]}).encode()
        return Request(
            "POST",
            "/api/payments/create-payment-intent",
            body,
            {"Content-Type": "application/json", "Cookie": cookies[index]},
        )

    return make, buyer_ids, listing_ids


@scenario(
    "checkout",
    "POST /api/payments/create-payment-intent in sandbox mode, as fast as the server "
    "answers (closed loop): every request a new buyer reserving a different listing (at "
    f"least {CHECKOUT_BUYERS}, or {CLOSED_LOOP_CHECKOUTS_PER_SECOND} per second of the run); "
    "orders, payments and reservations counted after the run",
)
def checkout(ctx: Context) -> Plan:
    # Enough buyers that every request is a new checkout up to this many a second (a
    # repeat only answers the buyer's existing order, far cheaper).
    count = max(CHECKOUT_BUYERS, int(ctx.duration * CLOSED_LOOP_CHECKOUTS_PER_SECOND))
    make, buyer_ids, listing_ids = _checkout_requests(ctx, count, skip=count, label="c")

    def verify(_outcome: Outcome) -> dict[str, Any]:
        # wrk stops counting at the end of each slice with requests still in flight on the
        # server; count once they have all finished (two counts a second apart agree).
        made = _checkouts_made(ctx, buyer_ids, listing_ids)
        for _ in range(30):
            time.sleep(1)
            again = _checkouts_made(ctx, buyer_ids, listing_ids)
            if again == made:
                break
            made = again
        return {
            "buyers": count,
            **made,
            "one_order_and_payment_per_listing": _one_of_each(made, made["orders"]),
        }

    return Plan(make, verify=verify)


CHECKOUT_RATE = 50.0


@scenario(
    "checkout_rate",
    "POST /api/payments/create-payment-intent in sandbox mode at a fixed rate "
    f"(--checkout-rate, default {CHECKOUT_RATE:.0f}/s), each buyer reserving a different "
    "listing; orders, payments and reservations counted after the run",
)
def checkout_rate(ctx: Context) -> Plan:
    count = max(1, int(ctx.checkout_rate * ctx.duration))
    make, buyer_ids, listing_ids = _checkout_requests(ctx, count, skip=0, label="r")

    def verify(outcome: Outcome) -> dict[str, Any]:
        whole = outcome.including_warmup()
        answered = whole.summary()["ok_2xx"]
        made = _checkouts_made(ctx, buyer_ids, listing_ids)
        return {
            "requests_2xx": answered,
            **made,
            # Every request answered 2xx, and each made exactly one order, one payment
            # and one reservation (repeats past ``count`` answer the same order).
            "one_order_and_payment_per_listing": answered == whole.count > 0
            and _one_of_each(made, min(answered, count)),
        }

    return Plan(make, mode="rate", rate=ctx.checkout_rate, verify=verify)


def _one_of_each(made: dict[str, int], expected: int) -> bool:
    """``expected`` orders, each for its own listing, with one payment and one
    reservation each."""
    return (
        made["orders"]
        == made["listings_with_orders"]
        == made["payments"]
        == made["listings_reserved"]
        == expected
    )


def _checkouts_made(ctx: Context, buyer_ids: list[int], listing_ids: list[int]) -> dict[str, int]:
    """Orders of these buyers, their payments, and the listings they hold reserved."""
    with ctx.app.app_context():
        orders = db.session.execute(
            select(StubOrder.id, StubOrder.stub_listing_id, StubOrder.order_status).where(
                StubOrder.buyer_id.in_(buyer_ids)
            )
        ).all()
        order_ids = [order_id for order_id, _listing, _status in orders]
        payments = db.session.scalar(
            select(func.count()).select_from(StubPayment).where(StubPayment.order_id.in_(order_ids))
        )
        reserved = db.session.scalar(
            select(func.count())
            .select_from(StubListing)
            .where(
                StubListing.id.in_(listing_ids),
                StubListing.status == "payment_pending",
                StubListing.reserved_by_user_id.in_(buyer_ids),
            )
        )
        db.session.remove()
    return {
        "orders": len(orders),
        "orders_pending": sum(1 for *_rest, status in orders if status == "pending"),
        "listings_with_orders": len({listing for _id, listing, _status in orders}),
        "payments": payments or 0,
        "listings_reserved": reserved or 0,
    }


READING_IMAGES = 8


@scenario(
    "reading",
    f"Stub reading (offline OCR engine) in this process: the first {READING_IMAGES} "
    "images of bench/stubs after one warm-up, through the upload path",
)
def reading(_ctx: Context) -> Plan:
    return Plan(lambda _n: Request("GET", "/healthz"), mode="inprocess", measure=time_reader)


def time_reader() -> dict[str, Any]:
    """Wall-clock and CPU seconds per image; bench/evaluate_reader.py scores accuracy too."""
    from stubcollector.adapters.images import prepare_upload
    from stubcollector.adapters.ocr.rapid import RapidOcrReader

    folder = Path(__file__).resolve().parent / "stubs"
    names = sorted(json.loads((folder / "labels.json").read_text(encoding="utf-8")))
    images = [
        prepare_upload((folder / name).read_bytes(), max_bytes=50_000_000, max_pixels=100_000_000)
        for name in names[: READING_IMAGES + 1]
    ]
    reader = RapidOcrReader()
    load_started = time.perf_counter()
    reader.read(images[0].data, images[0].content_type)
    first = time.perf_counter() - load_started
    wall: list[float] = []
    cpu: list[float] = []
    for image in images[1:]:
        started, cpu_started = time.perf_counter(), time.process_time()
        reader.read(image.data, image.content_type)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    ordered = sorted(wall)
    return {
        "images": len(wall),
        "first_read_with_engine_load_s": round(first, 2),
        "mean_s": round(statistics.fmean(wall), 2),
        "median_s": round(statistics.median(wall), 2),
        "max_s": round(ordered[-1], 2),
        "cpu_mean_s": round(statistics.fmean(cpu), 2),
    }
