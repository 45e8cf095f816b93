"""Request ids, /metrics and the jobs CLI without Redis, through the test client."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from stubcollector.adapters.jobs import job
from stubcollector.container import container
from stubcollector.extensions import db
from stubcollector.models import StubListing, StubOrder
from stubcollector.observability import metrics
from stubcollector.observability.context import current_request_id
from tests.support.factories import StubFactory, UserFactory

METRICS_TOKEN = "scrape-token-0123456789"
# No sweeping thread in tests: they start apps in production mode only to check its rules.
PRODUCTION = {
    "environment": "production",
    "secret_key": "p" * 40,
    "public_base_url": "https://stubs.example.com",
    "periodic_jobs_in_process": False,
}
seen_request_ids: list[str | None] = []


@job("tests.capture_request_id")
def _capture_request_id() -> None:
    seen_request_ids.append(current_request_id())


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != generated


def test_a_sensible_caller_request_id_is_kept_and_a_strange_one_replaced(
    client: FlaskClient,
) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a9c21"})
    assert kept.headers["X-Request-ID"] == "edge-7f3a9c21"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id with <script>"})
    assert replaced.headers["X-Request-ID"] != "bad id with <script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_jobs_enqueued_by_a_request_carry_its_request_id(app: Flask) -> None:
    seen_request_ids.clear()
    with app.test_request_context(headers={"X-Request-ID": "request-for-job-1"}):
        app.preprocess_request()
        container().jobs.enqueue("tests.capture_request_id")
    assert seen_request_ids == ["request-for-job-1"]


def _order(status: str) -> None:
    seller, buyer = UserFactory.create(), UserFactory.create()
    stub = StubFactory.create(owner=seller)
    listing = StubListing(
        stub_id=stub.id, seller_id=seller.id, asking_price_cents=1000, status="sold"
    )
    db.session.add(listing)
    db.session.flush()
    db.session.add(
        StubOrder(
            buyer_id=buyer.id,
            seller_id=seller.id,
            stub_listing_id=listing.id,
            order_status=status,
            total_amount_cents=1000,
            platform_fee_cents=100,
            seller_amount_cents=900,
        )
    )
    db.session.commit()


def test_metrics_report_latency_by_url_rule_orders_by_status_and_queue_depth(
    client: FlaskClient,
) -> None:
    _order("payment_completed")
    _order("payment_completed")
    _order("refunded")
    client.get("/api/users/999999")
    metrics.record_webhook_event("payment_intent.succeeded", "applied")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert (
        'stubcollector_http_request_duration_seconds_count{endpoint="/api/users/<int:user_id>",'
        'method="GET"}' in text
    )
    assert "/api/users/999999" not in text
    assert 'stubcollector_orders_by_status{status="payment_completed"} 2.0' in text
    assert 'stubcollector_orders_by_status{status="refunded"} 1.0' in text
    assert 'stubcollector_queue_depth{state="queued"} 0.0' in text
    assert (
        'stubcollector_webhook_events_total{outcome="applied",type="payment_intent.succeeded"}'
        in text
    )


def test_metrics_are_off_in_production_without_a_token(make_app: Callable[..., Flask]) -> None:
    app = make_app(**PRODUCTION)
    response = app.test_client().get("/metrics")
    assert response.status_code == 404
    assert response.json["status"] == "error"


def test_metrics_need_the_bearer_token_when_one_is_set(make_app: Callable[..., Flask]) -> None:
    app = make_app(**PRODUCTION, metrics_token=METRICS_TOKEN)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0000000"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200
    assert b"stubcollector_http_requests_total" in right.data


def test_failed_jobs_cli_explains_that_it_needs_redis(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "failed"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
    status = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert status.exit_code == 0
    assert "queued: 0" in status.output
