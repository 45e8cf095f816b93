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
    SandboxApplicationFee,
    SandboxBalanceTransaction,
    SandboxFile,
    SandboxPaymentIntent,
    SandboxPayout,
    SandboxRefund,
)
from stubcollector.domain.economics import (
    DISPUTE_COUNTERED_FEE_CENTS,
    DISPUTE_RECEIVED_FEE_CENTS,
    STRIPE_US_CARD,
)
from stubcollector.models.base import utcnow

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits
# Stripe's US card pricing: 2.9 % + 30 ¢ per successful charge.
CARD_FEE_BASIS_POINTS = STRIPE_US_CARD.basis_points
CARD_FEE_FIXED_CENTS = STRIPE_US_CARD.fixed_cents
DISPUTE_FEE_CENTS = DISPUTE_RECEIVED_FEE_CENTS
COUNTERED_FEE_CENTS = DISPUTE_COUNTERED_FEE_CENTS
TERMINAL_DISPUTE_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})
# The platform's Connect application, as fee_details and account.application.deauthorized
# name it.
SANDBOX_APPLICATION_ID = "ca_sandboxStubCollector"
# Capabilities the platform requests for every seller (stripe_gateway.create_seller_account).
CAPABILITIES = ("card_payments", "transfers")
# Dispute.evidence (stripe-python 16.1.0, DisputeUpdateParamsEvidence): text fields, and the
# fields that take the id of a file uploaded with purpose dispute_evidence.
EVIDENCE_TEXT_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
EVIDENCE_FILE_FIELDS = (
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
)
# "The combined character count of all fields is limited to 150,000."
EVIDENCE_MAX_CHARACTERS = 150_000
_REPORTING_CATEGORIES = {
    "charge": "charge",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "dispute",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "stripe_fee": "fee",
}


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def card_processing_fee(amount: int) -> int:
    """Stripe's fee for a card charge, rounded half-up to the cent."""
    return STRIPE_US_CARD.fee_for(amount)


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


def balance_transaction_object(txn: SandboxBalanceTransaction) -> dict[str, Any]:
    """A balance transaction as Stripe shows it: ``fee`` is everything taken besides the
    amount, broken down in ``fee_details`` (our application fee, Stripe's own fee)."""
    details: list[dict[str, Any]] = []
    if txn.application_fee:
        details.append(
            {
                "amount": txn.application_fee,
                "application": SANDBOX_APPLICATION_ID,
                "currency": "usd",
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    if txn.fee - txn.application_fee:
        details.append(
            {
                "amount": txn.fee - txn.application_fee,
                "application": None,
                "currency": "usd",
                "description": txn.description or "Stripe processing fees",
                "type": "stripe_fee",
            }
        )
    return {
        "id": txn.id,
        "object": "balance_transaction",
        "amount": txn.amount,
        "available_on": unix(txn.available_on),
        "balance_type": "payments",
        "created": unix(txn.created_at),
        "currency": "usd",
        "description": txn.description,
        "exchange_rate": None,
        "fee": txn.fee,
        "fee_details": details,
        "net": txn.net,
        "reporting_category": _REPORTING_CATEGORIES.get(txn.type, "other_adjustment"),
        "source": txn.source,
        "status": "available" if txn.available_on <= utcnow() else "pending",
        "type": txn.type,
    }


def application_fee_object(fee: SandboxApplicationFee) -> dict[str, Any]:
    return {
        "id": fee.id,
        "object": "application_fee",
        "account": fee.account_id,
        "amount": fee.amount,
        "amount_refunded": fee.amount_refunded,
        "application": SANDBOX_APPLICATION_ID,
        "balance_transaction": fee.balance_transaction_id,
        "charge": fee.charge_id,
        "created": unix(fee.created_at),
        "currency": "usd",
        "fee_source": {"charge": fee.charge_id, "type": "charge"},
        "livemode": False,
        "originating_transaction": None,
        "refunded": fee.amount_refunded == fee.amount,
        "refunds": {"object": "list", "data": [], "has_more": False},
    }


def file_object(file: SandboxFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "object": "file",
        "created": unix(file.created_at),
        "expires_at": None,
        "filename": file.filename,
        "links": {"object": "list", "data": [], "has_more": False},
        "purpose": file.purpose,
        "size": file.size,
        "title": None,
        "type": file.type,
        "url": None,
    }


def charge_object(
    pi: SandboxPaymentIntent,
    refunds: Sequence[SandboxRefund] = (),
    *,
    balance_transaction: dict[str, Any] | None = None,
    application_fee_id: str | None = None,
) -> dict[str, Any] | None:
    """The PaymentIntent's charge. ``refunds`` lists the charge's refunds (Stripe stopped
    expanding them by default in 2022-11-15; the sandbox lists them in ``charge.refunded``
    so the dashboard and handlers can read each refund's status). Its balance transaction
    is an id, as in Stripe's events, unless given expanded (``expand[]``)."""
    if pi.charge_id is None:
        return None
    return {
        "id": pi.charge_id,
        "object": "charge",
        "amount": pi.amount,
        "amount_captured": pi.amount,
        "amount_refunded": pi.amount_refunded,
        "application_fee": application_fee_id,
        # A fee of 0 is one the platform did not send (stripe_gateway omits it): null.
        "application_fee_amount": pi.application_fee_amount or None,
        "balance_transaction": (
            balance_transaction if balance_transaction is not None else pi.balance_transaction_id
        ),
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


def payment_intent_object(
    pi: SandboxPaymentIntent, *, latest_charge: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A PaymentIntent; its ``latest_charge`` is the charge's id, as Stripe sends it in events
    and answers it unless asked to expand it (then pass the charge)."""
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
        "latest_charge": latest_charge if latest_charge is not None else pi.charge_id,
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
    pi: SandboxPaymentIntent, transactions: Sequence[SandboxBalanceTransaction] = ()
) -> dict[str, Any]:
    """The PaymentIntent's dispute; ``transactions`` are its balance transactions on the
    seller's account (funds withdrawn, reinstated), oldest first."""
    created = unix(pi.dispute_created_at)
    # Stripe gives the seller about a week to respond with evidence.
    due = None if created is None else created + 7 * 86400
    staged = dict(pi.dispute_evidence or {})
    evidence: dict[str, Any] = dict.fromkeys((*EVIDENCE_TEXT_FIELDS, *EVIDENCE_FILE_FIELDS))
    evidence.update(staged)
    evidence["enhanced_evidence"] = {}
    return {
        "id": pi.dispute_id,
        "object": "dispute",
        "amount": pi.amount,
        "balance_transactions": [balance_transaction_object(t) for t in transactions],
        "charge": pi.charge_id,
        "created": created,
        "currency": pi.currency,
        "evidence": evidence,
        "evidence_details": {
            "due_by": due,
            "enhanced_eligibility": {},
            "has_evidence": bool(staged),
            "past_due": due is not None and due < int(utcnow().timestamp()),
            "submission_count": pi.dispute_submission_count,
            "submission_method": "manual" if pi.dispute_submission_count else "not_submitted",
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
