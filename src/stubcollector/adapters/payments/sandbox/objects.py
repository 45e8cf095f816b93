"""Stripe-shaped JSON for the sandbox's objects and events.

Field names and nesting follow Stripe's API objects (see the fixtures in
``stripe/openapi``'s ``fixtures3.json``) for the fields our handlers and a front end read;
Stripe's many other fields are left out. Money is integer cents, times are unix seconds.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from stubcollector.adapters.payments.sandbox.models import (
    SandboxAccount,
    SandboxPaymentIntent,
    SandboxPayout,
    SandboxRefund,
)

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits
# Stripe's US card pricing: 2.9 % + 30 ¢ per successful charge.
CARD_FEE_BASIS_POINTS = 290
CARD_FEE_FIXED_CENTS = 30
DISPUTE_FEE_CENTS = 1500
TERMINAL_DISPUTE_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})
# The platform's Connect application, as an account.application.deauthorized names it.
SANDBOX_APPLICATION_ID = "ca_sandboxStubCollector"
# Capabilities the platform requests for every seller (stripe_gateway.create_seller_account).
CAPABILITIES = ("card_payments", "transfers")


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def card_processing_fee(amount: int) -> int:
    """Stripe's fee for a card charge, rounded half-up to the cent."""
    return (amount * CARD_FEE_BASIS_POINTS + 5000) // 10000 + CARD_FEE_FIXED_CENTS


def capability_status(account: SandboxAccount) -> str:
    return "active" if account.charges_enabled else "inactive"


def capability_object(account: SandboxAccount, name: str) -> dict[str, Any]:
    """A Capability (``capability.updated``), shaped like Stripe's fixture."""
    due = list(account.requirements_due)
    return {
        "account": account.id,
        "future_requirements": _requirements([]),
        "id": name,
        "object": "capability",
        "requested": True,
        "requested_at": unix(account.created_at),
        "requirements": {
            **_requirements(due),
            "disabled_reason": account.disabled_reason,
            "past_due": due if account.disabled_reason else [],
        },
        "status": capability_status(account),
    }


def _requirements(due: list[str]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": due,
        "disabled_reason": None,
        "errors": [],
        "eventually_due": due,
        "past_due": [],
        "pending_verification": [],
    }


def application_object() -> dict[str, Any]:
    """The platform's Application (``account.application.deauthorized``)."""
    return {"id": SANDBOX_APPLICATION_ID, "name": "Stub Collector", "object": "application"}


def payout_object(payout: SandboxPayout) -> dict[str, Any]:
    """A Payout, shaped like Stripe's fixture."""
    return {
        "amount": payout.amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": unix(payout.arrival_date),
        "automatic": True,
        "balance_transaction": payout.balance_transaction_id,
        "created": unix(payout.created_at),
        "currency": payout.currency,
        "description": "STRIPE PAYOUT",
        "destination": "ba_sandboxBankAccount",
        "failure_balance_transaction": payout.failure_balance_transaction_id,
        "failure_code": payout.failure_code,
        "failure_message": payout.failure_message,
        "id": payout.id,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "object": "payout",
        "original_payout": None,
        "reconciliation_status": "completed" if payout.status == "paid" else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": payout.status,
        "type": "bank_account",
    }


def account_object(account: SandboxAccount) -> dict[str, Any]:
    capability = capability_status(account)
    return {
        "id": account.id,
        "object": "account",
        "business_type": "individual" if account.details_submitted else None,
        "capabilities": {"card_payments": capability, "transfers": capability},
        "charges_enabled": account.charges_enabled,
        "controller": {
            "fees": {"payer": account.fees_payer},
            "is_controller": True,
            "losses": {"payments": account.losses_payer},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "express"},
            "type": "application",
        },
        "country": account.country,
        "created": unix(account.created_at),
        "default_currency": "usd",
        "details_submitted": account.details_submitted,
        "email": account.email,
        "livemode": False,
        "metadata": {},
        "payouts_enabled": account.payouts_enabled,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": list(account.requirements_due),
            "disabled_reason": account.disabled_reason,
            "errors": [],
            "eventually_due": list(account.requirements_due),
            "past_due": list(account.requirements_due) if account.disabled_reason else [],
            "pending_verification": [],
        },
        "settings": {
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {
                    "delay_days": account.payout_delay_days,
                    "interval": account.payout_interval,
                },
            }
        },
        "type": "express",
    }


def balance_transaction_object(pi: SandboxPaymentIntent) -> dict[str, Any] | None:
    if pi.balance_transaction_id is None:
        return None
    fee = pi.processing_fee or 0
    return {
        "id": pi.balance_transaction_id,
        "object": "balance_transaction",
        "amount": pi.amount,
        "currency": pi.currency,
        "fee": fee,
        "fee_details": [
            {
                "amount": fee,
                "currency": pi.currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            },
        ],
        "net": pi.amount - fee,
        "source": pi.charge_id,
        "status": "pending",
        "type": "charge",
    }


def charge_object(
    pi: SandboxPaymentIntent, refunds: Sequence[SandboxRefund] = ()
) -> dict[str, Any] | None:
    """The PaymentIntent's charge. ``refunds`` lists the charge's refunds (Stripe stopped
    expanding them by default in 2022-11-15; the sandbox lists them in ``charge.refunded``
    so the dashboard and handlers can read each refund's status)."""
    if pi.charge_id is None:
        return None
    return {
        "id": pi.charge_id,
        "object": "charge",
        "amount": pi.amount,
        "amount_captured": pi.amount,
        "amount_refunded": pi.amount_refunded,
        "application_fee_amount": pi.application_fee_amount or None,
        # Expanded, as with ``expand=["latest_charge.balance_transaction"]``, so the
        # processing fee travels with the event.
        "balance_transaction": balance_transaction_object(pi),
        "captured": True,
        "created": unix(pi.charge_created_at),
        "currency": pi.currency,
        "description": pi.description,
        "disputed": pi.dispute_id is not None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(pi.metadata_),
        "paid": True,
        "payment_intent": pi.id,
        "payment_method_details": {
            "card": {"brand": "visa", "last4": pi.card_last4, "country": "US"},
            "type": "card",
        },
        "refunded": pi.amount_refunded == pi.amount,
        "refunds": {
            "object": "list",
            "data": [refund_object(refund, pi) for refund in refunds],
            "has_more": False,
        },
        "status": "succeeded",
    }


def payment_intent_object(pi: SandboxPaymentIntent) -> dict[str, Any]:
    return {
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": 0,
        "amount_received": pi.amount if pi.status == "succeeded" else 0,
        # A fee of 0 is one the platform did not send (stripe_gateway omits it): null.
        "application_fee_amount": pi.application_fee_amount or None,
        "automatic_payment_methods": {"enabled": True},
        "canceled_at": unix(pi.canceled_at),
        "cancellation_reason": pi.cancellation_reason,
        "capture_method": "automatic",
        "client_secret": pi.client_secret,
        "confirmation_method": "automatic",
        "created": unix(pi.created_at),
        "currency": pi.currency,
        "description": pi.description,
        "last_payment_error": pi.last_payment_error,
        "latest_charge": charge_object(pi),
        "livemode": False,
        "metadata": dict(pi.metadata_),
        "payment_method_types": ["card"],
        "status": pi.status,
    }


def refund_object(refund: SandboxRefund, pi: SandboxPaymentIntent) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "charge": pi.charge_id,
        "created": unix(refund.created_at),
        "currency": pi.currency,
        "failure_reason": refund.failure_reason,
        "metadata": {},
        "payment_intent": pi.id,
        "reason": refund.reason,
        "status": refund.status,
    }


def dispute_object(
    pi: SandboxPaymentIntent, *, withdrawn: bool = False, reinstated: bool = False
) -> dict[str, Any]:
    balance_transactions: list[dict[str, Any]] = []
    if withdrawn or reinstated:
        balance_transactions.append(
            {
                "object": "balance_transaction",
                "amount": -pi.amount,
                "fee": DISPUTE_FEE_CENTS,
                "type": "adjustment",
                "reporting_category": "dispute",
            }
        )
    if reinstated:
        balance_transactions.append(
            {
                "object": "balance_transaction",
                "amount": pi.amount,
                "fee": 0,
                "type": "adjustment",
                "reporting_category": "dispute_reversal",
            }
        )
    created = unix(pi.dispute_created_at)
    # Stripe gives the seller about a week to respond with evidence.
    due = None if created is None else created + 7 * 86400
    return {
        "id": pi.dispute_id,
        "object": "dispute",
        "amount": pi.amount,
        "balance_transactions": balance_transactions,
        "charge": pi.charge_id,
        "created": created,
        "currency": pi.currency,
        "evidence_details": {
            "due_by": due,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": pi.id,
        "reason": pi.dispute_reason,
        "status": pi.dispute_status,
    }


def event_object(
    event_id: str,
    event_type: str,
    data_object: dict[str, Any],
    *,
    account: str | None,
    created: datetime,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": unix(created),
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": idempotency_key},
        "type": event_type,
    }
    if account is not None:
        event["account"] = account
    return event
