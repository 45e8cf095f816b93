"""Creating the two Stripe webhook endpoints the app needs (``flask payments
create-webhook-endpoints``).

Each endpoint is created through the API pinned to the gateway's API version and
subscribed to exactly the event types the app handles on it
(``services.webhooks.subscribed_event_types``): an endpoint made in the Dashboard follows
the account's default API version, which changes the shape of every event the day someone
upgrades the account, and is easily subscribed to too much or too little.

Run again, it changes nothing that is right: an endpoint already at the URL keeps its
secret and only has its event list brought up to date; one pinned to another API version
cannot be changed (Stripe fixes an endpoint's version at creation) and is reported for an
operator to delete before running the command again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from stubcollector.adapters.payments.ports import (
    PaymentGateway,
    WebhookEndpoint,
    WebhookEndpointSetup,
)
from stubcollector.services.webhooks import subscribed_event_types

# Where the app receives each endpoint's events (web/api/payments.py; a test holds the two
# to the app's URL map).
WEBHOOK_PATHS: dict[WebhookEndpoint, str] = {
    WebhookEndpoint.PLATFORM: "/api/payments/webhook",
    WebhookEndpoint.CONNECT: "/api/payments/webhook/connect",
}
SECRET_SETTINGS: dict[WebhookEndpoint, str] = {
    WebhookEndpoint.PLATFORM: "STRIPE_WEBHOOK_SECRET",
    WebhookEndpoint.CONNECT: "STRIPE_CONNECT_WEBHOOK_SECRET",
}
DESCRIPTIONS: dict[WebhookEndpoint, str] = {
    WebhookEndpoint.PLATFORM: "Stub Collector: events of the platform account",
    WebhookEndpoint.CONNECT: "Stub Collector: events of connected (seller) accounts",
}


class SetupOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    WRONG_API_VERSION = "wrong_api_version"
    NO_EVENTS = "no_events"


@dataclass(frozen=True)
class EndpointResult:
    endpoint: WebhookEndpoint
    url: str
    outcome: SetupOutcome
    events: tuple[str, ...]
    endpoint_id: str | None = None
    api_version: str | None = None
    # Only when created: the signing secret, which the provider never shows again.
    secret: str | None = None

    @property
    def secret_setting(self) -> str:
        return SECRET_SETTINGS[self.endpoint]


@dataclass
class WebhookSetupReport:
    results: list[EndpointResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def ensure_webhook_endpoints(gateway: PaymentGateway, base_url: str) -> WebhookSetupReport:
    """Make both endpoints exist at ``base_url``, on the pinned API version, subscribed to
    exactly the handled event types."""
    report = WebhookSetupReport()
    existing = gateway.webhook_endpoints()
    for endpoint, path in WEBHOOK_PATHS.items():
        url = base_url.rstrip("/") + path
        events = subscribed_event_types(endpoint)
        result = _ensure(gateway, endpoint, url, events, existing)
        report.results.append(result)
        if result.outcome is SetupOutcome.WRONG_API_VERSION:
            report.errors.append(
                f"the {endpoint} endpoint {result.endpoint_id} at {url} renders events in API "
                f"version {result.api_version or 'of the account default'}, not "
                f"{gateway.api_version}; Stripe cannot change it: delete it in the Dashboard "
                "(Developers → Webhooks) and run this command again"
            )
    return report


def _ensure(
    gateway: PaymentGateway,
    endpoint: WebhookEndpoint,
    url: str,
    events: tuple[str, ...],
    existing: Sequence[WebhookEndpointSetup],
) -> EndpointResult:
    found = next((e for e in existing if e.url == url), None)
    if found is None:
        if not events:
            return EndpointResult(endpoint, url, SetupOutcome.NO_EVENTS, events)
        created = gateway.create_webhook_endpoint(
            url=url,
            events=events,
            connect=endpoint is WebhookEndpoint.CONNECT,
            description=DESCRIPTIONS[endpoint],
        )
        return EndpointResult(
            endpoint,
            url,
            SetupOutcome.CREATED,
            events,
            endpoint_id=created.endpoint_id,
            api_version=created.api_version,
            secret=created.secret,
        )
    if found.api_version != gateway.api_version:
        return EndpointResult(
            endpoint,
            url,
            SetupOutcome.WRONG_API_VERSION,
            events,
            endpoint_id=found.endpoint_id,
            api_version=found.api_version,
        )
    if sorted(found.enabled_events) == sorted(events) or not events:
        return EndpointResult(
            endpoint,
            url,
            SetupOutcome.UNCHANGED,
            tuple(found.enabled_events),
            endpoint_id=found.endpoint_id,
            api_version=found.api_version,
        )
    updated = gateway.update_webhook_endpoint(found.endpoint_id, events=events)
    return EndpointResult(
        endpoint,
        url,
        SetupOutcome.UPDATED,
        events,
        endpoint_id=updated.endpoint_id,
        api_version=updated.api_version,
    )
