import itertools

import pytest

from stubcollector.domain.errors import InvalidTransition
from stubcollector.domain.statuses import (
    LISTING_TRANSITIONS,
    ORDER_TRANSITIONS,
    ListingStatus,
    OrderStatus,
    RefundStatus,
    ensure_transition,
    order_refund_state,
    refund_status_advances,
)


def test_every_status_has_a_transition_entry() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)
    assert set(LISTING_TRANSITIONS) == set(ListingStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.PENDING, OrderStatus.COMPLETED),
        (OrderStatus.REFUNDED, OrderStatus.REFUNDED),
        (OrderStatus.PAYMENT_FAILED, OrderStatus.REFUNDED),
        (OrderStatus.COMPLETED, OrderStatus.PENDING),
    ],
)
def test_forbidden_order_transitions_raise(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current.value} to {target.value}"):
        ensure_transition(current, target, ORDER_TRANSITIONS, "order")


def test_allowed_transition_passes() -> None:
    ensure_transition(
        OrderStatus.PAYMENT_COMPLETED, OrderStatus.COMPLETED, ORDER_TRANSITIONS, "order"
    )


def test_a_cancelled_listing_is_final() -> None:
    assert LISTING_TRANSITIONS[ListingStatus.CANCELLED] == frozenset()


@pytest.mark.parametrize(
    ("value", "ours"),
    [
        ("pending", RefundStatus.PENDING),
        ("requires_action", RefundStatus.REQUIRES_ACTION),
        ("succeeded", RefundStatus.SUCCEEDED),
        ("failed", RefundStatus.FAILED),
        ("canceled", RefundStatus.CANCELED),
        # Ours, never the provider's; and whatever Stripe adds later: not a success.
        ("requested", RefundStatus.PENDING),
        ("in_transit", RefundStatus.PENDING),
        (None, RefundStatus.PENDING),
    ],
)
def test_the_providers_refund_status_in_our_terms(value: str | None, ours: RefundStatus) -> None:
    assert RefundStatus.from_provider(value) is ours


def test_a_refund_status_only_moves_forward() -> None:
    order = [
        RefundStatus.REQUESTED,
        RefundStatus.REQUIRES_ACTION,
        RefundStatus.PENDING,
        RefundStatus.SUCCEEDED,
        RefundStatus.FAILED,
    ]
    for earlier, later in itertools.combinations(order, 2):
        assert refund_status_advances(earlier, later)
        assert not refund_status_advances(later, earlier)
    for status in RefundStatus:
        assert not refund_status_advances(status, status)
    # Both final: the first one seen stays.
    assert not refund_status_advances(RefundStatus.FAILED, RefundStatus.CANCELED)
    assert not refund_status_advances(RefundStatus.CANCELED, RefundStatus.FAILED)


@pytest.mark.parametrize(
    ("payment", "latest", "state"),
    [
        (None, None, None),
        ("succeeded", None, None),
        ("refund_pending", "requested", "pending"),
        ("refund_pending", "pending", "pending"),
        ("refund_pending", "requires_action", "pending"),
        ("succeeded", "failed", "failed"),
        ("succeeded", "canceled", "failed"),
        ("succeeded", "requested", None),  # an unanswered request the user may repeat
        ("refunded", "succeeded", None),
        ("disputed", "failed", None),
    ],
)
def test_what_an_orders_refunds_mean_for_it(
    payment: str | None, latest: str | None, state: str | None
) -> None:
    assert order_refund_state(payment, latest) == state
