"""Reading Stripe-shaped objects into the payment port's facts.

Both backends deliver events in Stripe's shape (the sandbox mirrors it), so one set of
pure functions reads them: each takes the object of an event (``event.data_object``: a
PaymentIntent, Charge, Refund, Dispute, Payout, Capability or Account) and returns the port's own
value (``PaymentFacts``, ``RefundUpdate``, ...). They read objects rather than whole events
because the same object shapes also arrive nested (a charge lists its refunds), and
because an event's envelope is already ours (``WebhookEvent``). Missing or oddly typed
fields read as absent, never as an error: a handler decides what an absent field means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from stubcollector.adapters.payments.ports import (
    CapabilityFacts,
    DisputeFacts,
    PaymentFacts,
    PayoutFacts,
    RefundFacts,
    RefundUpdate,
    WebhookEvent,
)
from stubcollector.domain.statuses import RefundStatus


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])  # an expanded object
    return None


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _order_id(metadata: object) -> int | None:
    if isinstance(metadata, Mapping):
        raw = metadata.get("order_id")
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
    return None


def _processing_fee(charge: object) -> int | None:
    """Stripe's fee from the charge's balance transaction, when the event carries it."""
    if not isinstance(charge, Mapping):
        return None
    transaction_ = charge.get("balance_transaction")
    if isinstance(transaction_, Mapping):
        fee = transaction_.get("fee")
        if isinstance(fee, int):
            return fee
    return None


def object_id(data: Mapping[str, Any]) -> str | None:
    """The object's own id (``acct_…`` of an ``account.updated``, for instance)."""
    return _str(data, "id")


def payment_facts(pi: Mapping[str, Any]) -> PaymentFacts:
    """A PaymentIntent (``payment_intent.*``); the order id comes from our metadata."""
    error = pi.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    charge = pi.get("latest_charge")
    return PaymentFacts(
        payment_intent_id=str(pi["id"]),
        order_id=_order_id(pi.get("metadata")),
        charge_id=_str(pi, "latest_charge"),
        processing_fee_cents=_processing_fee(charge),
        failure_code=_str(error, "decline_code") or _str(error, "code"),
        failure_message=_str(error, "message"),
    )


def refund_update(refund: Mapping[str, Any]) -> RefundUpdate:
    """A Stripe Refund (``refund.*``, ``charge.refund.updated``, a charge's refunds list)."""
    return RefundUpdate(
        refund_id=str(refund["id"]),
        status=RefundStatus.from_provider(_str(refund, "status")),
        amount_cents=_int(refund, "amount"),
        payment_intent_id=_str(refund, "payment_intent"),
        charge_id=_str(refund, "charge"),
        failure_reason=_str(refund, "failure_reason"),
    )


def refund_facts(charge: Mapping[str, Any]) -> RefundFacts:
    """``charge.refunded``. Since API version 2022-11-15 the charge lists its refunds only
    when expanded; when it does, each refund's own status is used."""
    payment_intent_id, charge_id = _str(charge, "payment_intent"), _str(charge, "id")
    listed = charge.get("refunds")
    data = listed.get("data") if isinstance(listed, Mapping) else None
    refunds = tuple(
        replace(
            refund_update(item),
            payment_intent_id=_str(item, "payment_intent") or payment_intent_id,
            charge_id=_str(item, "charge") or charge_id,
        )
        for item in (data if isinstance(data, list) else [])
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    )
    return RefundFacts(
        payment_intent_id=payment_intent_id,
        charge_id=charge_id,
        amount_refunded_cents=_int(charge, "amount_refunded"),
        refunds=refunds,
    )


def dispute_facts(dispute: Mapping[str, Any]) -> DisputeFacts:
    """A Dispute (``charge.dispute.*``); the funds moved are summed from its balance
    transactions (negative: withdrawn from the seller, positive: reinstated)."""
    withdrawn = reinstated = 0
    transactions = dispute.get("balance_transactions")
    for entry in transactions if isinstance(transactions, list) else []:
        if isinstance(entry, Mapping):
            amount = _int(entry, "amount")
            if amount < 0:
                withdrawn += -amount
            else:
                reinstated += amount
    details = dispute.get("evidence_details")
    due = _int(details, "due_by") if isinstance(details, Mapping) else 0
    return DisputeFacts(
        dispute_id=str(dispute["id"]),
        charge_id=_str(dispute, "charge"),
        payment_intent_id=_str(dispute, "payment_intent"),
        status=_str(dispute, "status") or "needs_response",
        reason=_str(dispute, "reason"),
        amount_cents=_int(dispute, "amount"),
        funds_withdrawn_cents=withdrawn,
        funds_reinstated_cents=reinstated,
        evidence_due_by=datetime.fromtimestamp(due, UTC) if due else None,
    )


def payout_facts(payout: Mapping[str, Any]) -> PayoutFacts:
    """A Payout (``payout.paid``, ``payout.failed``)."""
    return PayoutFacts(
        payout_id=_str(payout, "id"),
        status=_str(payout, "status"),
        amount_cents=_int(payout, "amount"),
        arrival_date=_int(payout, "arrival_date"),
        failure_code=_str(payout, "failure_code"),
        failure_message=_str(payout, "failure_message"),
        currency=(_str(payout, "currency") or "usd").lower(),
        created=_int(payout, "created"),
    )


def capability_facts(capability: Mapping[str, Any]) -> CapabilityFacts:
    """A Capability (``capability.updated``): its ``id`` is the capability's name
    (``card_payments``), ``account`` the connected account it belongs to."""
    return CapabilityFacts(
        account_id=_str(capability, "account"),
        capability=_str(capability, "id"),
        status=_str(capability, "status"),
    )


def deauthorized_account(event: WebhookEvent) -> str | None:
    """The connected account of an ``account.application.deauthorized`` event.

    Its object is the *Application* that lost access (our own ``ca_…``), not the account:
    the account is the event's ``account`` (older OAuth-era events named it ``user_id``).
    """
    if event.account:
        return event.account
    legacy = event.payload.get("user_id")
    return legacy if isinstance(legacy, str) and legacy.startswith("acct_") else None


def stored_event(
    *,
    event_id: str,
    event_type: str,
    account: str | None,
    livemode: bool,
    payload: Mapping[str, Any],
) -> WebhookEvent:
    """An event kept in our inbox (its verified payload and the columns stored beside it)
    as the handlers take it; a payload without an object gives an empty one."""
    data = payload.get("data")
    data_object = data.get("object") if isinstance(data, Mapping) else None
    created = payload.get("created")
    api_version = payload.get("api_version")
    return WebhookEvent(
        event_id=event_id,
        type=event_type,
        account=account,
        livemode=livemode,
        created=created if isinstance(created, int) else 0,
        data_object=data_object if isinstance(data_object, Mapping) else {},
        payload=payload,
        api_version=api_version if isinstance(api_version, str) else None,
    )
