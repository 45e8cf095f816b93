"""The event types the app subscribes its two Stripe endpoints to are exactly the ones it
handles, each on the endpoint Stripe sends it to, valid Stripe event names, and the same
lists the operators' documentation gives (docs/DEPLOYMENT.md, docs/STRIPE.md)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from stubcollector.adapters.payments import stripe_gateway
from stubcollector.adapters.payments.ports import WebhookEndpoint
from stubcollector.services import webhooks

ROOT = Path(__file__).resolve().parents[2]
EVENT_NAME = re.compile(r"`([a-z_]+(?:\.[a-z_]+)+)`")


def _table_row(document: str, first_cell: str) -> str:
    text = (ROOT / document).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.strip().startswith(f"| {first_cell} |")]
    assert len(rows) == 1, f"{document}: one table row starting with {first_cell!r}"
    return rows[0]


def test_the_subscribed_types_are_the_handled_ones_split_by_endpoint() -> None:
    platform = webhooks.subscribed_event_types(WebhookEndpoint.PLATFORM)
    connect = webhooks.subscribed_event_types(WebhookEndpoint.CONNECT)
    assert set(platform) | set(connect) == set(webhooks.HANDLERS) == webhooks.SUBSCRIBED_EVENT_TYPES
    assert not set(platform) & set(connect)
    for new in ("account.application.deauthorized", "capability.updated", "payout.failed"):
        assert new in connect


def test_every_handled_type_is_an_event_stripe_can_send() -> None:
    # The SDK's own list of what an endpoint may enable (stripe 16.1.0, our pinned version).
    params = stripe_gateway.stripe.params.WebhookEndpointCreateParams
    (item,) = typing.get_args(params.__annotations__["enabled_events"])
    known = set(typing.get_args(item))
    assert "payout.paid" in known
    assert set(webhooks.HANDLERS) <= known


def test_deployment_lists_exactly_the_subscribed_types_for_each_endpoint() -> None:
    for endpoint, row in (
        (WebhookEndpoint.PLATFORM, "account"),
        (WebhookEndpoint.CONNECT, "Connect"),
    ):
        documented = set(EVENT_NAME.findall(_table_row("docs/DEPLOYMENT.md", row)))
        documented -= {"api.payments.webhook"}
        assert documented == set(webhooks.subscribed_event_types(endpoint)), row


def test_stripe_doc_describes_every_handled_type() -> None:
    text = (ROOT / "docs/STRIPE.md").read_text(encoding="utf-8")
    section = text.split("### Events we act on", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in EVENT_NAME.findall(row.split("|")[1])}
    # `charge.dispute.created`, `.updated`, ... are written once with their common stem.
    expanded = set()
    for row in rows:
        names = re.findall(r"`(\.?[a-z_.]+)`", row.split("|")[1])
        stem = names[0].rsplit(".", 1)[0] if names else ""
        expanded |= {stem + name if name.startswith(".") else name for name in names}
    assert documented <= expanded
    assert expanded == set(webhooks.HANDLERS)
