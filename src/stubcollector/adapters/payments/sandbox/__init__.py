"""The sandbox payment backend (the default without Stripe keys); see ``gateway.py``."""

from stubcollector.adapters.payments.sandbox.gateway import (
    CARD_DECLINED,
    CARD_DISPUTE,
    CARD_INSUFFICIENT_FUNDS,
    CARD_REFUND_FAILS,
    CARD_REFUND_PENDING,
    CARD_SUCCESS,
    TEST_CARDS,
    SandboxGateway,
    SandboxLinkInvalid,
)

__all__ = [
    "CARD_DECLINED",
    "CARD_DISPUTE",
    "CARD_INSUFFICIENT_FUNDS",
    "CARD_REFUND_FAILS",
    "CARD_REFUND_PENDING",
    "CARD_SUCCESS",
    "TEST_CARDS",
    "SandboxGateway",
    "SandboxLinkInvalid",
]
