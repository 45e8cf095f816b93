"""The sandbox's events: building, storing, delivering and reading them, as Stripe does.

An event is built in Stripe's shape (``objects.event_object``) and stored in
``sandbox_events`` in the same commit as the state change that caused it (``record``, called
through ``SandboxUnit.emit`` in ``store.py``). After the commit the job
``sandbox.deliver_event`` delivers it: the exact JSON bytes, signed with the Stripe scheme
(``signing.py``) and the endpoint's configured secret, handed to the same ingestion function
the webhook endpoints use (signature verification included). An event that could not be
delivered stays undelivered and is offered to reconciliation by ``undelivered``.

Reading goes the other way: ``parse`` verifies a signed body and turns it into our
:class:`WebhookEvent`, as the Stripe adapter does with the SDK.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stubcollector.adapters.jobs import JobQueue, job
from stubcollector.adapters.payments import WebhookReceiver
from stubcollector.adapters.payments.ports import (
    InvalidWebhookSignature,
    WebhookEndpoint,
    WebhookEvent,
)
from stubcollector.adapters.payments.sandbox import objects
from stubcollector.adapters.payments.sandbox.models import SandboxEvent
from stubcollector.adapters.payments.sandbox.signing import signature_header, verify_signature
from stubcollector.config import Settings
from stubcollector.extensions import db
from stubcollector.models.base import utcnow

log = logging.getLogger(__name__)

DELIVER_EVENT_JOB = "sandbox.deliver_event"


class SandboxEvents:
    """The sandbox's side of a Stripe webhook endpoint: what it records, sends and accepts."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobQueue,
        receiver: WebhookReceiver | None = None,
        subscribed_events: Collection[str] | None = None,
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._receiver = receiver
        # Like a Stripe webhook endpoint's enabled events: other events are recorded (and
        # listed by the events API) but never sent. None: send every event.
        self._subscribed = None if subscribed_events is None else frozenset(subscribed_events)

    def connect_receiver(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver

    def record(
        self,
        session: Session,
        event_type: str,
        data_object: dict[str, Any],
        *,
        account: str | None,
        idempotency_key: str | None = None,
    ) -> str | None:
        """Add a new event to ``session``; its id if the endpoint is to be sent it, else None."""
        event_id = objects.new_id("evt")
        now = utcnow()
        payload = objects.event_object(
            event_id,
            event_type,
            data_object,
            account=account,
            created=now,
            idempotency_key=idempotency_key,
        )
        session.add(
            SandboxEvent(
                id=event_id, type=event_type, account_id=account, payload=payload, created_at=now
            )
        )
        if self._subscribed is None or event_type in self._subscribed:
            return event_id
        return None

    def enqueue_deliveries(self, event_ids: Iterable[str]) -> None:
        """Queue one delivery per event; called once the events are committed."""
        for event_id in event_ids:
            self._jobs.enqueue(DELIVER_EVENT_JOB, event_id)

    def deliver(self, event_id: str) -> bool:
        """Sign and hand one stored event to the webhook ingestion; record the outcome."""
        with Session(db.engine) as session:
            event = session.get(SandboxEvent, event_id)
            if event is None or event.delivered_at is not None:
                return False
            body = json.dumps(event.payload, separators=(",", ":")).encode()
            endpoint = WebhookEndpoint.CONNECT if event.account_id else WebhookEndpoint.PLATFORM
        # A fresh timestamp per attempt, like Stripe's retries.
        header = signature_header(body, self.secret_for(endpoint))
        error: str | None = None
        try:
            if self._receiver is None:
                raise RuntimeError("no webhook receiver is connected to the sandbox")
            self._receiver(endpoint, body, header)
        except Exception as exc:
            log.exception("sandbox could not deliver %s", event_id)
            error = f"{type(exc).__name__}: {exc}"
        with Session(db.engine) as session, session.begin():
            stored = session.get(SandboxEvent, event_id)
            assert stored is not None
            stored.delivery_attempts += 1
            stored.last_delivery_error = error
            if error is None:
                stored.delivered_at = utcnow()
        return error is None

    def secret_for(self, endpoint: WebhookEndpoint) -> str:
        if endpoint is WebhookEndpoint.CONNECT:
            return self._settings.stripe_connect_webhook_secret
        return self._settings.stripe_webhook_secret

    def parse(
        self, payload: bytes, signature_header: str | None, endpoint: WebhookEndpoint
    ) -> WebhookEvent:
        verify_signature(payload, signature_header, self.secret_for(endpoint))
        return event_from_payload(payload)

    def undelivered(
        self, *, since: datetime, types: Sequence[str], account_id: str | None = None
    ) -> Sequence[WebhookEvent]:
        # As Stripe lists them: a connected account's events only with its Stripe-Account.
        owner = (
            SandboxEvent.account_id.is_(None)
            if account_id is None
            else SandboxEvent.account_id == account_id
        )
        with Session(db.engine) as session:
            rows = session.scalars(
                select(SandboxEvent)
                .where(
                    SandboxEvent.delivered_at.is_(None),
                    SandboxEvent.created_at >= since,
                    SandboxEvent.type.in_(list(types)),
                    owner,
                )
                .order_by(SandboxEvent.created_at)
            ).all()
            return [event_from_mapping(row.payload) for row in rows]


def event_from_payload(payload: bytes) -> WebhookEvent:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidWebhookSignature("payload is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidWebhookSignature("payload is not an event object")
    return event_from_mapping(data)


def event_from_mapping(data: Mapping[str, Any]) -> WebhookEvent:
    """A verified Stripe event object → :class:`WebhookEvent` (shape errors are refused)."""
    try:
        event_id = data["id"]
        event_type = data["type"]
        data_object = data["data"]["object"]
    except (KeyError, TypeError):
        raise InvalidWebhookSignature("payload is not a Stripe event") from None
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise InvalidWebhookSignature("payload is not a Stripe event")
    if not isinstance(data_object, dict):
        raise InvalidWebhookSignature("event data.object is not an object")
    account = data.get("account")
    created = data.get("created")
    api_version = data.get("api_version")
    return WebhookEvent(
        event_id=event_id,
        type=event_type,
        account=account if isinstance(account, str) else None,
        livemode=bool(data.get("livemode", False)),
        created=created if isinstance(created, int) else 0,
        data_object=data_object,
        payload=dict(data),
        api_version=api_version if isinstance(api_version, str) else None,
    )


@job(DELIVER_EVENT_JOB)
def deliver_event(event_id: str) -> None:
    # Imported when the job runs: the running app's gateway (the container builds it, and
    # the gateway module imports this one).
    from stubcollector.adapters.payments.sandbox.gateway import SandboxGateway
    from stubcollector.container import container

    gateway = container().payments
    if isinstance(gateway, SandboxGateway):
        gateway.events.deliver(event_id)
