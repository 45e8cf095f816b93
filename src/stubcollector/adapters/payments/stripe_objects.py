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

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from stubcollector.adapters.payments.ports import (
    CapabilityFacts,
    ChargeCosts,
    DisputeCosts,
    DisputeFacts,
    PaymentFacts,
    PayoutFacts,
    ProviderFee,
    RefundFacts,
    RefundUpdate,
    WebhookEvent,
)
from stubcollector.domain.economics import CostKind, FeePayer
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
    """Stripe's fee from the charge's balance transaction, when the object carries it
    expanded (events never do: ``latest_charge`` is an id; the fee reader re-reads it)."""
    if not isinstance(charge, Mapping):
        return None
    transaction_ = charge.get("balance_transaction")
    if isinstance(transaction_, Mapping):
        return _providers_share(transaction_, charge.get("application_fee_amount"))
    return None


# --- fees, from balance transactions -----------------------------------------------------
# A balance transaction's ``fee`` is everything taken from it, and on a direct charge that
# includes our application fee (docs.stripe.com/connect/saas/tasks/app-fees): only the
# ``fee_details`` that are not ``application_fee`` are the provider's (stripe_fee, tax,
# payment_method_passthrough_fee, ...).
def _providers_share(transaction_: Mapping[str, Any], application_fee: object = None) -> int:
    details = transaction_.get("fee_details")
    if isinstance(details, list) and details:
        return sum(
            _int(d, "amount")
            for d in details
            if isinstance(d, Mapping) and d.get("type") != "application_fee"
        )
    # No breakdown: all of ``fee`` but the application fee the charge says it carried.
    return _int(transaction_, "fee") - (application_fee if isinstance(application_fee, int) else 0)


def _application_share(transaction_: Mapping[str, Any]) -> int | None:
    details = transaction_.get("fee_details")
    if not isinstance(details, list):
        return None
    found = [
        _int(d, "amount")
        for d in details
        if isinstance(d, Mapping) and d.get("type") == "application_fee"
    ]
    return sum(found) if found else None


def _created(data: Mapping[str, Any]) -> datetime | None:
    created = _int(data, "created")
    return datetime.fromtimestamp(created, UTC) if created else None


def _fee(
    transaction_: Mapping[str, Any], kind: CostKind, payer: FeePayer, amount: int
) -> ProviderFee | None:
    transaction_id = _str(transaction_, "id")
    if transaction_id is None or amount == 0:
        return None
    return ProviderFee(
        kind=kind,
        payer=payer,
        amount_cents=amount,
        balance_transaction_id=transaction_id,
        created=_created(transaction_),
        description=_str(transaction_, "description"),
    )


def platform_fees(transactions: Sequence[Mapping[str, Any]], kind: CostKind) -> list[ProviderFee]:
    """The platform's own balance transactions of a charge or dispute (listed with
    ``source``): a ``stripe_fee`` transaction is Stripe billing us (its negative amount is
    the fee, a positive one a fee given back); any other carries its fee in ``fee_details``.
    """
    found: list[ProviderFee] = []
    for transaction_ in transactions:
        if transaction_.get("type") == "stripe_fee":
            amount = -_int(transaction_, "amount")
        else:
            amount = _providers_share(transaction_)
        fee = _fee(transaction_, kind, FeePayer.PLATFORM, amount)
        if fee is not None:
            found.append(fee)
    return found


def charge_costs(
    payment_intent: Mapping[str, Any], platform_transactions: Sequence[Mapping[str, Any]] = ()
) -> ChargeCosts:
    """A PaymentIntent read with ``expand=["latest_charge.balance_transaction"]`` (on the
    seller's account) and the platform's balance transactions of its charge and of its
    application fee, as the fees the charge cost and whom.

    The charge's balance transaction is the seller's: what it lists besides our
    application fee came out of the seller's balance. What the platform paid is on the
    platform's own transactions. Unsettled (balance transaction not there yet) until the
    charge has it.
    """
    charge = payment_intent.get("latest_charge")
    pi_id = str(payment_intent["id"])
    if not isinstance(charge, Mapping):
        return ChargeCosts(pi_id, charge if isinstance(charge, str) else None, settled=False)
    charge_id = _str(charge, "id")
    transaction_ = charge.get("balance_transaction")
    if not isinstance(transaction_, Mapping):
        return ChargeCosts(pi_id, charge_id, settled=False)
    fees: list[ProviderFee] = []
    seller_fee = _fee(
        transaction_,
        CostKind.PROCESSING_FEE,
        FeePayer.SELLER,
        _providers_share(transaction_, charge.get("application_fee_amount")),
    )
    if seller_fee is not None:
        fees.append(seller_fee)
    fees += platform_fees(platform_transactions, CostKind.PROCESSING_FEE)
    return ChargeCosts(
        payment_intent_id=pi_id,
        charge_id=charge_id,
        settled=True,
        application_fee_id=_str(charge, "application_fee"),
        application_fee_cents=_application_share(transaction_),
        fees=tuple(fees),
    )


def dispute_costs(
    dispute: Mapping[str, Any], platform_transactions: Sequence[Mapping[str, Any]] = ()
) -> DisputeCosts:
    """A Dispute (its ``balance_transactions`` are the seller's: withdrawal, reinstatement)
    and the platform's balance transactions of it, as the dispute's fees and whom."""
    fees: list[ProviderFee] = []
    transactions = dispute.get("balance_transactions")
    for transaction_ in transactions if isinstance(transactions, list) else []:
        if isinstance(transaction_, Mapping):
            fee = _fee(
                transaction_, CostKind.DISPUTE_FEE, FeePayer.SELLER, _providers_share(transaction_)
            )
            if fee is not None:
                fees.append(fee)
    fees += platform_fees(platform_transactions, CostKind.DISPUTE_FEE)
    return DisputeCosts(dispute_id=str(dispute["id"]), fees=tuple(fees))


def object_id(data: Mapping[str, Any]) -> str | None:
    """The object's own id (``acct_…`` of an ``account.updated``, for instance)."""
    return _str(data, "id")


def charge_payment_intent(charge: Mapping[str, Any]) -> str | None:
    """A Charge's PaymentIntent id (``charge.updated``)."""
    return _str(charge, "payment_intent")


def application_fee_charge(fee: Mapping[str, Any]) -> str | None:
    """An ApplicationFee's charge id (``application_fee.created``)."""
    return _str(fee, "charge")


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
    details = details if isinstance(details, Mapping) else {}
    due = _int(details, "due_by")
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
        has_evidence=details.get("has_evidence") is True,
        submission_count=_int(details, "submission_count"),
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
