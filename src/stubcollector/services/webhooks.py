"""Webhook inbox: verify, store once by event id, acknowledge, then process.

:func:`receive` is the one ingestion function for both endpoints (and for the sandbox's
own deliveries): it verifies the ``Stripe-Signature`` with the endpoint's secret, inserts
the event relying on the unique (provider, event_id) constraint — a duplicate is
acknowledged and ignored — and wakes the dispatcher job ``payments.dispatch_events``,
which gives each new event its own job ``payments.process_event``. That job reads the
event's object into the payment port's facts (``adapters.payments.stripe_objects``),
dispatches by type to the handlers in ``services.orders`` (``payments``, ``refunds``,
``disputes``) and ``onboarding``, and records the outcome on the stored row (processed,
ignored, or failed with attempts and the error), so nothing is silently dropped and a
failed event can be processed again.

Why a dispatcher rather than one enqueue per request: enqueuing an RQ job costs more CPU
than the rest of the acknowledgement's own work, and a Redis hiccup would fail a delivery
whose event is already safe in the database. The request now makes one cheap call that a
whole burst shares, and the dispatcher enqueues the burst's jobs in one round trip.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    TextualSelect,
    bindparam,
    false,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from stubcollector.adapters.jobs import job
from stubcollector.adapters.payments import stripe_objects
from stubcollector.adapters.payments.ports import (
    InvalidWebhookSignature,
    WebhookEndpoint,
    WebhookEvent,
)
from stubcollector.container import container, payment_gateway, settings
from stubcollector.domain.errors import PermissionDenied, ServiceUnavailable
from stubcollector.domain.statuses import EventStatus
from stubcollector.models import ProviderEvent, utcnow
from stubcollector.observability import context, metrics
from stubcollector.services import audit, onboarding, payouts
from stubcollector.services.orders import costs, disputes, payments, refunds
from stubcollector.services.orders.state import OrderChanged, UnknownPayment
from stubcollector.services.transaction import autocommit, transaction

log = logging.getLogger(__name__)

PROCESS_JOB = "payments.process_event"
DISPATCH_JOB = "payments.dispatch_events"
DISPATCH_BATCH = 500
# Immediate re-runs of a handler that collided with a concurrent one.
HANDLER_TRIES = 3
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Receipt:
    event_id: str
    event_type: str
    duplicate: bool
    ignored: bool = False


def receive(
    endpoint: WebhookEndpoint,
    payload: bytes,
    signature_header: str | None,
    *,
    ip_address: str | None = None,
    check_source: bool = False,
) -> Receipt:
    """Verify and store one delivery; processing happens in the job (answer 2xx fast).

    A refused delivery (source address outside ``WEBHOOK_IP_ALLOWLIST``, missing or wrong
    signature, stale timestamp, not an event) is recorded in the audit log before the
    error reaches the caller, so forgery attempts leave a trace.

    An event of the other mode than our key (a live Connect endpoint also receives the
    *test* events of connected accounts) is acknowledged, so that Stripe stops retrying it,
    and otherwise ignored: test payments must never move live orders, nor the reverse.
    """
    gateway = payment_gateway()
    if check_source and not source_allowed(ip_address):
        audit.record_webhook_rejection(
            provider=gateway.name,
            reason="source address not in WEBHOOK_IP_ALLOWLIST",
            endpoint=endpoint.value,
            ip_address=ip_address,
        )
        raise PermissionDenied("webhook source address not allowed")
    try:
        event = gateway.parse_webhook(payload, signature_header, endpoint)
    except InvalidWebhookSignature as exc:
        audit.record_webhook_rejection(
            provider=gateway.name,
            reason=exc.message,
            endpoint=endpoint.value,
            ip_address=ip_address,
        )
        raise
    if event.livemode != gateway.livemode:
        log.info(
            "ignoring %s event %s (%s) from %s: our key is in %s mode",
            "live" if event.livemode else "test",
            event.event_id,
            event.type,
            event.account or "the platform",
            "live" if gateway.livemode else "test",
        )
        return Receipt(event.event_id, event.type, duplicate=False, ignored=True)
    return store(event)


def _check_api_version(event: WebhookEvent, pinned: str) -> None:
    """Log and count an event rendered with another API version than the one we pin.

    Its ``data`` may lack fields or name them differently from what our readers expect,
    and neither Stripe nor its SDK checks (``construct_event`` ignores ``api_version``).
    It happens when an endpoint was created without a pinned version (it follows the
    account's default, which a Dashboard upgrade changes) or pinned to an old one: the fix
    is an endpoint on our version (``flask payments create-webhook-endpoints``). The
    event is still stored and handled; the readers treat a missing field as absent.
    """
    if event.api_version is None or event.api_version == pinned:
        return
    log.warning(
        "event %s (%s) was rendered with API version %s, not our pinned %s; check the "
        "webhook endpoint's API version",
        event.event_id,
        event.type,
        event.api_version,
        pinned,
        extra={
            "event_id": event.event_id,
            "event_type": event.type,
            "api_version": event.api_version,
            "pinned_api_version": pinned,
        },
    )
    metrics.webhook_api_version_mismatches.labels(api_version=event.api_version).inc()


def source_allowed(ip_address: str | None) -> bool:
    """Optional second layer behind the signature: the provider's published webhook IPs.

    ``ip_address`` is the peer, or — with TRUSTED_PROXY_COUNT set — the address ProxyFix
    took from X-Forwarded-For as written by our own proxies; never the raw header.
    """
    allowlist = settings().webhook_ip_allowlist
    if not allowlist:
        return True
    try:
        address = ipaddress.ip_address(ip_address or "")
    except ValueError:
        return False
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def store(event: WebhookEvent) -> Receipt:
    """Store ``event`` once and return; its processing is the dispatcher's business.

    The insert is one autocommitted ``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the
    event is durable before the 2xx, in a single round trip to the database, and a
    duplicate takes no error path. It commits on its own connection, so call it outside
    any unit of work. A new event then wakes the dispatcher — a cheap call shared by every
    delivery of a burst. If the queue is down the event waits in the inbox for the next
    wake-up or the scheduled sweep and the delivery is still acknowledged: the event is
    safe, and the provider has nothing more to send.
    """
    gateway = payment_gateway()
    row_id = _insert_once(gateway.name, event)
    if row_id is None:
        log.info("duplicate delivery of %s acknowledged and ignored", event.event_id)
        _retry_if_failed(gateway.name, event.event_id)
        return Receipt(event.event_id, event.type, duplicate=True)
    _check_api_version(event, gateway.api_version)  # once per event, not per delivery
    try:
        container().jobs.enqueue_unless_queued(DISPATCH_JOB)
    except ServiceUnavailable:
        log.warning(
            "event %s stored; its processing waits for the job queue",
            event.event_id,
            extra={"event_id": event.event_id, "event_type": event.type},
        )
    return Receipt(event.event_id, event.type, duplicate=False)


def _insert_once(provider: str, event: WebhookEvent) -> int | None:
    """The new row's id, or None when (provider, event id) is already stored."""
    values = {
        "provider": provider,
        "event_id": event.event_id,
        "event_type": event.type,
        "account": event.account,
        "livemode": event.livemode,
        "payload": dict(event.payload),
        "received_at": utcnow(),
        "processing_status": EventStatus.RECEIVED.value,
        "attempts": 0,
    }
    with autocommit() as connection:
        row_id = connection.scalar(_INSERT_ONCE, values)
    return None if row_id is None else int(row_id)


def _insert_once_statement() -> TextualSelect:
    # Written out because SQLAlchemy cannot cache its PostgreSQL and SQLite ``insert()``
    # constructs (they carry ON CONFLICT) and would compile one for every delivery; the
    # text is the same on both databases, and the parameters take the columns' own types.
    columns = ProviderEvent.__table__.c
    statement = text(
        "INSERT INTO provider_events (provider, event_id, event_type, account, livemode,"
        " payload, received_at, processing_status, attempts)"
        " VALUES (:provider, :event_id, :event_type, :account, :livemode,"
        " :payload, :received_at, :processing_status, :attempts)"
        " ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"
    )
    parameters: tuple[str, ...] = ("provider", "event_id", "event_type", "account")
    parameters += ("livemode", "payload", "received_at", "processing_status", "attempts")
    typed = (bindparam(name, type_=columns[name].type) for name in parameters)
    return statement.bindparams(*typed).columns(id=Integer)


_INSERT_ONCE = _insert_once_statement()


def _retry_if_failed(provider: str, event_id: str) -> None:
    # A redelivery of an event we failed to process is a good moment to try again.
    with transaction() as session:
        row_id = session.scalar(
            select(ProviderEvent.id).where(
                ProviderEvent.provider == provider,
                ProviderEvent.event_id == event_id,
                ProviderEvent.processing_status == EventStatus.FAILED.value,
            )
        )
    if row_id is not None:
        container().jobs.enqueue(PROCESS_JOB, row_id)


@job(DISPATCH_JOB)
def dispatch_new_events() -> int:
    """Give each stored event not yet dispatched its own processing job; returns how many.

    Claims the waiting rows in batches and enqueues their jobs together. On PostgreSQL
    ``SKIP LOCKED`` keeps two dispatchers from claiming the same row; on SQLite two runs
    at once may enqueue a row twice, which ``process_event`` tolerates (it skips an event
    already processed). If enqueuing fails the claim is undone, so the rows wait for the
    next run; the scheduled sweep (``retry_failed``) processes any event still
    unprocessed after ``UNPROCESSED_GRACE`` in any case.
    """
    dispatched = 0
    while True:
        ids = _claim_waiting_events()
        if not ids:
            return dispatched
        try:
            container().jobs.enqueue_many(PROCESS_JOB, [(row_id,) for row_id in ids])
        except Exception:
            with autocommit() as connection:
                connection.execute(
                    update(ProviderEvent)
                    .where(ProviderEvent.id.in_(ids))
                    .values(dispatched_at=None)
                )
            raise
        dispatched += len(ids)
        if len(ids) < DISPATCH_BATCH:
            return dispatched


def _claim_waiting_events() -> list[int]:
    """Marks up to ``DISPATCH_BATCH`` waiting events dispatched; returns their ids.

    One autocommitted statement: a duplicate delivery of an event being claimed waits
    for the claim to commit (its ``INSERT … ON CONFLICT`` meets the row's new version),
    so the claim must not stay open across round trips — least of all from a worker
    running at low CPU priority, which may wait for a core between its ``UPDATE`` and its
    ``COMMIT``.
    """
    waiting = (
        select(ProviderEvent.id)
        .where(
            ProviderEvent.dispatched_at.is_(None),
            ProviderEvent.processing_status == EventStatus.RECEIVED.value,
        )
        .order_by(ProviderEvent.id)
        .limit(DISPATCH_BATCH)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(ProviderEvent)
        .where(ProviderEvent.id.in_(waiting.scalar_subquery()))
        .values(dispatched_at=utcnow())
        .returning(ProviderEvent.id)
    )
    with autocommit() as connection:
        return sorted(connection.scalars(claim))


# --- handlers --------------------------------------------------------------------------
def _on_account_updated(event: WebhookEvent) -> bool:
    account_id = stripe_objects.object_id(event.data_object)
    if account_id is None or not onboarding.is_our_account(account_id):
        return False
    # Events can arrive out of order: apply the account as it is now, not as it was.
    account = payment_gateway().retrieve_account(account_id)
    return onboarding.sync_account(account) is not None


def _on_succeeded(event: WebhookEvent) -> bool:
    order_id = payments.apply_payment_succeeded(stripe_objects.payment_facts(event.data_object))
    if order_id is None:
        return False
    # The event's latest_charge is an id: re-read the charge's fees (often not there yet
    # with asynchronous capture; charge.updated and reconciliation read them again).
    costs.record_charge_costs_quietly(order_id)
    return True


def _on_charge_updated(event: WebhookEvent) -> bool:
    """``charge.updated``: the one Stripe promises (within an hour) when a charge's balance
    transaction is there; read the charge's fees then."""
    charge = event.data_object
    if charge.get("balance_transaction") is None:
        return False
    order_id = costs.order_of_charge(
        stripe_objects.object_id(charge), stripe_objects.charge_payment_intent(charge)
    )
    if order_id is None:
        return False
    costs.record_charge_costs(order_id)
    return True


def _on_application_fee_created(event: WebhookEvent) -> bool:
    """``application_fee.created`` (platform endpoint): our fee of a direct charge exists,
    created asynchronously after the charge; read the charge's fees."""
    order_id = costs.order_of_charge(stripe_objects.application_fee_charge(event.data_object))
    if order_id is None:
        # Our fee on a charge we have not recorded yet: fail now, retried (and
        # reconciliation reads the charge's fees anyway once the payment is applied).
        raise UnknownPayment(f"no payment for the charge of {event.data_object.get('id')}")
    costs.record_charge_costs(order_id)
    return True


def _on_failed(event: WebhookEvent) -> bool:
    return (
        payments.apply_payment_failed(stripe_objects.payment_facts(event.data_object)) is not None
    )


def _on_processing(event: WebhookEvent) -> bool:
    return (
        payments.apply_payment_processing(stripe_objects.payment_facts(event.data_object))
        is not None
    )


def _on_canceled(event: WebhookEvent) -> bool:
    return (
        payments.apply_payment_canceled(stripe_objects.payment_facts(event.data_object)) is not None
    )


def _on_refunded(event: WebhookEvent) -> bool:
    refunds.apply_refund(stripe_objects.refund_facts(event.data_object))
    return True


def _on_refund_changed(event: WebhookEvent) -> bool:
    return refunds.apply_refund_update(stripe_objects.refund_update(event.data_object)) is not None


def _on_dispute(event: WebhookEvent) -> bool:
    facts = stripe_objects.dispute_facts(event.data_object)
    disputes.apply_dispute(facts)
    costs.record_dispute_costs_quietly(facts.dispute_id)
    return True


def _on_payout(event: WebhookEvent) -> bool:
    # The payout as it is now; a later status wins whatever order events arrive in.
    return (
        payouts.apply_payout(event.account, stripe_objects.payout_facts(event.data_object))
        is not None
    )


def _on_capability_updated(event: WebhookEvent) -> bool:
    # A capability (card_payments, transfers) changed on a seller's account: charges_enabled
    # and payouts_enabled follow from it. As for account.updated, re-read the account.
    capability = stripe_objects.capability_facts(event.data_object)
    account_id = capability.account_id or event.account
    if account_id is None or not onboarding.is_our_account(account_id):
        return False
    account = payment_gateway().retrieve_account(account_id)
    return onboarding.sync_account(account) is not None


def _on_deauthorized(event: WebhookEvent) -> bool:
    # The object is our Application, not the account: the seller is the event's account.
    account_id = stripe_objects.deauthorized_account(event)
    if account_id is None:
        return False
    return onboarding.apply_deauthorization(account_id) is not None


HANDLERS: dict[str, Callable[[WebhookEvent], bool]] = {
    "payment_intent.succeeded": _on_succeeded,
    "payment_intent.payment_failed": _on_failed,
    "payment_intent.processing": _on_processing,
    "payment_intent.canceled": _on_canceled,
    "account.updated": _on_account_updated,
    "account.application.deauthorized": _on_deauthorized,
    "capability.updated": _on_capability_updated,
    "charge.refunded": _on_refunded,
    # A refund's own status: Stripe sends refund.* for every refund since 2024-10-28 and
    # charge.refund.updated for some payment methods; on direct charges both come from the
    # connected account (Connect endpoint). Each says the same thing; handling is idempotent.
    "charge.refund.updated": _on_refund_changed,
    "refund.created": _on_refund_changed,
    "refund.updated": _on_refund_changed,
    "refund.failed": _on_refund_changed,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
    "charge.dispute.funds_withdrawn": _on_dispute,
    "charge.dispute.funds_reinstated": _on_dispute,
    "payout.paid": _on_payout,
    "payout.failed": _on_payout,
    # What a charge cost (services.orders.costs): the balance transaction arrives with
    # charge.updated (Connect endpoint); our fee with application_fee.created (platform).
    "charge.updated": _on_charge_updated,
    "application_fee.created": _on_application_fee_created,
}


def endpoint_for(event_type: str) -> WebhookEndpoint:
    """Which of the two endpoints receives ``event_type``.

    On direct charges every payment, refund and dispute, and every account, capability and
    payout event happens on the seller's connected account (Connect endpoint). Application
    fees are objects of the platform's own account (account endpoint).
    """
    if event_type.startswith("application_fee."):
        return WebhookEndpoint.PLATFORM
    return WebhookEndpoint.CONNECT


# The event types each Stripe endpoint is subscribed to: exactly the handled ones, so
# nothing is sent that the app would only store and ignore.
# ``flask payments create-webhook-endpoints`` enables these lists, docs/DEPLOYMENT.md lists
# them for the Dashboard (a test holds the two to HANDLERS), and the sandbox sends only
# these: a `payment_intent.created` after every checkout would cost an inbox write and a
# job for nothing.
SUBSCRIBED_EVENT_TYPES: frozenset[str] = frozenset(HANDLERS)


def subscribed_event_types(endpoint: WebhookEndpoint) -> tuple[str, ...]:
    """The handled event types ``endpoint`` receives, sorted."""
    return tuple(sorted(t for t in SUBSCRIBED_EVENT_TYPES if endpoint_for(t) is endpoint))


def _as_event(row: ProviderEvent) -> WebhookEvent:
    return stripe_objects.stored_event(
        event_id=row.event_id,
        event_type=row.event_type,
        account=row.account,
        livemode=row.livemode,
        payload=row.payload,
    )


@job(PROCESS_JOB)
def process_event(row_id: int) -> str:
    """Process one stored event; returns the status it ends in. Never raises for a handler."""
    with transaction() as session:
        row = session.get(ProviderEvent, row_id)
        if row is None:
            return "missing"
        if row.processing_status in (EventStatus.PROCESSED, EventStatus.IGNORED):
            return str(row.processing_status)
        event = _as_event(row)
    # The job carries the request id of the delivery that woke the dispatcher, not
    # necessarily this event's own: the event id ties its lines to its delivery's.
    with context.bound(event_id=event.event_id, event_type=event.type):
        return _apply(row_id, event)


def _apply(row_id: int, event: WebhookEvent) -> str:
    handler = HANDLERS.get(event.type)
    error: str | None = None
    outcome = EventStatus.IGNORED
    if handler is None:
        log.info("ignoring event %s of unhandled type %s", event.event_id, event.type)
    else:
        for attempt in range(1, HANDLER_TRIES + 1):
            try:
                acted = handler(event)
                outcome = EventStatus.PROCESSED if acted else EventStatus.IGNORED
                error = None
                break
            except UnknownPayment as exc:
                error = f"UnknownPayment: {exc}"
                break
            except (OrderChanged, IntegrityError, OperationalError) as exc:
                # Another worker handled an event of the same order at the same moment
                # (lost compare-and-swap, duplicate insert, deadlock): the handlers are
                # idempotent, so run again on the state it left.
                error = f"{type(exc).__name__}: {exc}"
                log.info("event %s collided (try %s): %s", event.event_id, attempt, error)
            except Exception as exc:
                log.exception("processing event %s (%s) failed", event.event_id, event.type)
                error = f"{type(exc).__name__}: {exc}"
                break
    values: dict[str, Any] = {
        "attempts": ProviderEvent.attempts + 1,
        "last_error": None if error is None else error[:MAX_ERROR_LENGTH],
        "processing_status": (EventStatus.FAILED if error else outcome).value,
    }
    if error is None:
        values["processed_at"] = utcnow()
    # Autocommitted like the claim: a duplicate delivery of this event arriving now must
    # not wait for a worker's COMMIT.
    with autocommit() as connection:
        connection.execute(update(ProviderEvent).where(ProviderEvent.id == row_id).values(**values))
    if error is not None:
        log.warning("event %s left failed for a retry: %s", event.event_id, error)
        return EventStatus.FAILED.value
    return outcome.value


MAX_ATTEMPTS = 10
RETRY_BASE_DELAY = timedelta(minutes=5)
# An event never processed at all is normally in a job queue right now; the scheduled run
# leaves it that long before processing it itself.
UNPROCESSED_GRACE = timedelta(minutes=2)


def retry_delay(attempts: int) -> timedelta:
    """How long after its receipt an event that failed ``attempts`` times is retried by the
    scheduled run: 5, 15, 35, 75 minutes, ... (the wait doubles after each failure)."""
    if attempts <= 0:
        return UNPROCESSED_GRACE
    return RETRY_BASE_DELAY * ((1 << attempts) - 1)


def _due_for_retry(now: datetime) -> ColumnElement[bool]:
    # received_at + retry_delay(attempts) <= now, written per attempt count so that it is a
    # plain comparison on both databases.
    return or_(
        false(),
        *(
            (ProviderEvent.attempts == attempts) & (ProviderEvent.received_at <= now - delay)
            for attempts, delay in ((n, retry_delay(n)) for n in range(MAX_ATTEMPTS))
        ),
    )


def retry_failed(
    *, older_than: timedelta = timedelta(0), limit: int = 500, backoff: bool = False
) -> dict[str, int]:
    """Process again events that failed, or were stored but never processed.

    ``backoff`` (the scheduled run): only events whose :func:`retry_delay` has passed, so a
    handler that keeps failing is not hammered every few minutes. After ``MAX_ATTEMPTS`` an
    event stays ``failed`` (visible, with its error) for a person to look at;
    ``process_event`` can still be run on it by hand.
    """
    now = utcnow()
    cutoff = now - older_than
    with transaction() as session:
        ids = session.scalars(
            select(ProviderEvent.id)
            .where(
                ProviderEvent.processing_status.in_(
                    [EventStatus.FAILED.value, EventStatus.RECEIVED.value]
                ),
                ProviderEvent.received_at <= cutoff,
                ProviderEvent.attempts < MAX_ATTEMPTS,
                _due_for_retry(now) if backoff else true(),
            )
            .order_by(ProviderEvent.received_at)
            .limit(limit)
        ).all()
    outcomes: dict[str, int] = {}
    for row_id in ids:
        status = process_event(row_id)
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes
