import pytest

from stubcollector.domain.errors import InvalidTransition
from stubcollector.domain.statuses import (
    LISTING_TRANSITIONS,
    ORDER_TRANSITIONS,
    ListingStatus,
    OrderStatus,
    ensure_transition,
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
