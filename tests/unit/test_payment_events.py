"""Stripe's signature scheme (sandbox implementation) and reading facts from Stripe objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stubcollector.adapters.payments.ports import ConnectedAccount, InvalidWebhookSignature
from stubcollector.adapters.payments.sandbox.objects import card_processing_fee
from stubcollector.adapters.payments.sandbox.signing import (
    compute_signature,
    signature_header,
    verify_signature,
)
from stubcollector.adapters.payments.stripe_objects import (
    dispute_facts,
    payment_facts,
    refund_facts,
    refund_update,
)
from stubcollector.domain.statuses import RefundStatus, StripeAccountStatus
from stubcollector.services.onboarding import status_for
from stubcollector.services.webhooks import HANDLERS

SECRET = "whsec_unit"
FIXTURES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "stripe" / "fixtures3-subset.json").read_text()
)["resources"]


class TestSignature:
    payload = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'

    def test_matches_stripes_published_construction(self) -> None:
        # HMAC-SHA256 over "{t}.{body}", hex encoded (stripe/_webhook.py).
        assert compute_signature(b"body", "secret", 1) == (
            "842b24d9575dee4b6ec460b7e3af7d683501d84fe6279102340787c79d2e2bab"
        )
        assert signature_header(b"body", "secret", 1) == (
            f"t=1,v1={compute_signature(b'body', 'secret', 1)}"
        )

    def test_valid_header_is_accepted(self) -> None:
        header = signature_header(self.payload, SECRET, 1_000)
        assert verify_signature(self.payload, header, SECRET, now=1_100) == 1_000

    def test_any_matching_v1_is_enough(self) -> None:
        header = signature_header(self.payload, SECRET, 1_000) + ",v1=deadbeef,v0=abc"
        verify_signature(self.payload, "v1=deadbeef," + header, SECRET, now=1_000)

    @pytest.mark.parametrize(
        ("header", "now", "reason"),
        [
            (None, 1_000, "missing"),
            ("", 1_000, "missing"),
            ("t=1000", 1_000, "no timestamp or v1"),
            ("v1=abc", 1_000, "no timestamp or v1"),
            ("t=soon,v1=abc", 1_000, "malformed"),
            ("t=1000,v1=" + "0" * 64, 1_000, "no signature matches"),
        ],
    )
    def test_bad_headers_are_refused(self, header: str | None, now: int, reason: str) -> None:
        with pytest.raises(InvalidWebhookSignature, match=reason):
            verify_signature(self.payload, header, SECRET, now=now)

    def test_stale_timestamp_is_refused_at_the_tolerance(self) -> None:
        header = signature_header(self.payload, SECRET, 1_000)
        verify_signature(self.payload, header, SECRET, now=1_300)
        with pytest.raises(InvalidWebhookSignature, match="tolerance"):
            verify_signature(self.payload, header, SECRET, now=1_301)

    def test_other_secret_or_changed_body_is_refused(self) -> None:
        header = signature_header(self.payload, SECRET, 1_000)
        with pytest.raises(InvalidWebhookSignature):
            verify_signature(self.payload, header, "whsec_other", now=1_000)
        with pytest.raises(InvalidWebhookSignature):
            verify_signature(self.payload + b" ", header, SECRET, now=1_000)

    def test_empty_secret_never_verifies(self) -> None:
        header = signature_header(self.payload, "", 1_000)
        with pytest.raises(InvalidWebhookSignature, match="not configured"):
            verify_signature(self.payload, header, "", now=1_000)


def test_payment_facts_from_stripes_payment_intent_fixture() -> None:
    pi = dict(FIXTURES["payment_intent"])
    pi.update(
        metadata={"order_id": "42"},
        latest_charge={"id": "ch_1", "balance_transaction": {"id": "txn_1", "fee": 103}},
        last_payment_error={
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    )
    facts = payment_facts(pi)
    assert facts.payment_intent_id == FIXTURES["payment_intent"]["id"]
    assert (facts.order_id, facts.charge_id, facts.processing_fee_cents) == (42, "ch_1", 103)
    assert facts.failure_code == "insufficient_funds"
    pi.update(metadata={"order_id": "not-a-number"}, latest_charge="ch_2")
    assert (payment_facts(pi).order_id, payment_facts(pi).processing_fee_cents) == (None, None)


def test_refund_and_dispute_facts_from_stripe_fixtures() -> None:
    charge = dict(FIXTURES["charge"])
    charge.update(payment_intent="pi_1", amount_refunded=100)
    facts = refund_facts(charge)
    assert (facts.payment_intent_id, facts.charge_id, facts.amount_refunded_cents) == (
        "pi_1",
        FIXTURES["charge"]["id"],
        100,
    )
    assert facts.refunds == ()  # the fixture lists none: the total alone proves nothing
    dispute = dict(FIXTURES["dispute"])
    dispute["balance_transactions"] = [{"amount": -1000, "fee": 1500}, {"amount": 1000}]
    d = dispute_facts(dispute)
    assert (d.dispute_id, d.status, d.amount_cents) == (
        FIXTURES["dispute"]["id"],
        "warning_needs_response",
        1000,
    )
    assert (d.funds_withdrawn_cents, d.funds_reinstated_cents) == (1000, 1000)
    assert d.evidence_due_by is not None


@pytest.mark.parametrize(
    ("charges", "payouts", "submitted", "due", "reason", "status"),
    [
        (True, True, True, (), None, StripeAccountStatus.ACTIVE),
        (False, False, False, ("external_account",), None, StripeAccountStatus.PENDING),
        (False, False, True, ("external_account",), None, StripeAccountStatus.RESTRICTED),
        (False, False, False, (), "requirements.past_due", StripeAccountStatus.RESTRICTED),
        (False, False, True, (), "rejected.fraud", StripeAccountStatus.DISABLED),
    ],
)
def test_account_status_follows_the_provider(
    charges: bool,
    payouts: bool,
    submitted: bool,
    due: tuple[str, ...],
    reason: str | None,
    status: StripeAccountStatus,
) -> None:
    account = ConnectedAccount("acct_1", charges, payouts, submitted, due, reason)
    assert status_for(account) is status


@pytest.mark.parametrize(("amount", "fee"), [(50, 31), (2500, 103), (999_999, 29_030)])
def test_sandbox_card_fee_is_stripes_us_pricing(amount: int, fee: int) -> None:
    assert card_processing_fee(amount) == fee


def test_refund_update_from_stripes_refund_fixture() -> None:
    refund = dict(FIXTURES["refund"])
    update = refund_update(refund)
    assert (update.refund_id, update.status, update.amount_cents) == (
        FIXTURES["refund"]["id"],
        RefundStatus.SUCCEEDED,
        FIXTURES["refund"]["amount"],
    )
    assert (update.charge_id, update.payment_intent_id, update.failure_reason) == (
        FIXTURES["refund"]["charge"],
        None,
        None,
    )
    refund.update(status="failed", failure_reason="lost_or_stolen_card", payment_intent="pi_1")
    failed = refund_update(refund)
    assert (failed.status, failed.failure_reason, failed.payment_intent_id) == (
        RefundStatus.FAILED,
        "lost_or_stolen_card",
        "pi_1",
    )
    refund["status"] = "some_future_status"
    assert refund_update(refund).status is RefundStatus.PENDING


def test_a_charges_listed_refunds_carry_their_own_status() -> None:
    charge = dict(FIXTURES["charge"])
    listed = dict(FIXTURES["refund"], status="pending")
    charge.update(
        payment_intent="pi_1",
        amount_refunded=100,
        refunds={"object": "list", "data": [listed, {"no": "id"}], "has_more": False},
    )
    facts = refund_facts(charge)
    assert [(r.refund_id, r.status, r.payment_intent_id) for r in facts.refunds] == [
        (FIXTURES["refund"]["id"], RefundStatus.PENDING, "pi_1")
    ]


def test_every_refund_event_stripe_sends_is_handled() -> None:
    # docs.stripe.com/api/refunds: refund.created/updated/failed for every refund since
    # 2024-10-28, charge.refund.updated for some payment methods, charge.refunded.
    for event_type in (
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
    ):
        assert event_type in HANDLERS
