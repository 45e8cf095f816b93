"""Stripe's own fixture objects (``tests/fixtures/stripe/fixtures3-subset.json``) with our ids,
wrapped in webhook events and signed as Stripe signs them."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from stubcollector.adapters.payments.sandbox.signing import signature_header

FIXTURES = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "stripe" / "fixtures3-subset.json").read_text()
)["resources"]


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(FIXTURES[name])


def stripe_event(
    event_type: str, data_object: dict[str, Any], *, account: str | None, event_id: str
) -> dict[str, Any]:
    event = fixture("event")
    event.update(
        id=event_id,
        type=event_type,
        created=int(time.time()),
        data={"object": data_object},
        api_version="2026-10-28.endive",
    )
    if account is not None:
        event["account"] = account
    return event


def payment_intent_payload(
    *, pi_id: str, amount: int, fee: int, order_id: int, status: str, charge_id: str | None
) -> dict[str, Any]:
    pi = fixture("payment_intent")
    pi.update(
        id=pi_id,
        amount=amount,
        amount_received=amount if status == "succeeded" else 0,
        application_fee_amount=fee,
        status=status,
        latest_charge=charge_id,
        metadata={"order_id": str(order_id)},
        transfer_data=None,
        last_payment_error=None,
        canceled_at=None,
    )
    return pi


def charge_payload(
    *,
    charge_id: str,
    pi_id: str,
    amount: int,
    refunded: int,
    refund_id: str | None = None,
    refund_status: str = "succeeded",
) -> dict[str, Any]:
    """A charge; with ``refund_id`` it lists that refund (as an expanded ``refunds``), else it
    has no refund list, as Stripe sends charges since API version 2022-11-15."""
    charge = fixture("charge")
    charge.update(
        id=charge_id,
        payment_intent=pi_id,
        amount=amount,
        amount_captured=amount,
        amount_refunded=refunded,
        refunded=refunded == amount,
        captured=True,
        paid=True,
    )
    charge.pop("refunds", None)
    if refund_id is not None:
        refund = refund_payload(
            refund_id=refund_id, pi_id=pi_id, charge_id=charge_id, amount=refunded,
            status=refund_status,
        )  # fmt: skip
        charge["refunds"] = {"object": "list", "data": [refund], "has_more": False}
    return charge


def refund_payload(
    *,
    refund_id: str,
    pi_id: str | None,
    charge_id: str | None,
    amount: int,
    status: str,
    failure_reason: str | None = None,
) -> dict[str, Any]:
    """Stripe's refund fixture with our ids, status and (for failed ones) failure_reason."""
    refund = fixture("refund")
    refund.update(
        id=refund_id, charge=charge_id, payment_intent=pi_id, amount=amount, status=status
    )
    if failure_reason is not None:
        refund["failure_reason"] = failure_reason
    return refund


def dispute_payload(
    *, dispute_id: str, charge_id: str, pi_id: str, amount: int, status: str
) -> dict[str, Any]:
    dispute = fixture("dispute")
    dispute.update(
        id=dispute_id, charge=charge_id, payment_intent=pi_id, amount=amount, status=status
    )
    return dispute


def signed(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {
        "Stripe-Signature": signature_header(body, secret, timestamp),
        "Content-Type": "application/json",
    }
