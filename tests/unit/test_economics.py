"""The closing figures of issue 16 point 1: what the platform nets on a $1, $5 and $50 sale
at the default settings (10 %, 50 ¢ floor), with Stripe's US card pricing (2.9 % + 30 ¢)
paid by the platform. The same table is in docs/STRIPE.md ("What a sale earns")."""

from __future__ import annotations

import pytest

from stubcollector.config import Settings
from stubcollector.domain.economics import STRIPE_US_CARD, sale_economics
from stubcollector.domain.money import FeeRate


@pytest.mark.parametrize(
    ("price", "fee", "seller", "stripe", "net", "net_without_floor"),
    [
        (100, 50, 50, 33, 17, -23),
        (500, 50, 450, 45, 5, 5),
        (5000, 500, 4500, 175, 325, 325),
    ],
)
def test_the_platforms_net_per_sale_at_the_default_settings(
    price: int, fee: int, seller: int, stripe: int, net: int, net_without_floor: int
) -> None:
    defaults = Settings.from_env({})
    sale = sale_economics(price, defaults.stripe_platform_fee)
    assert (sale.platform_fee_cents, sale.seller_amount_cents) == (fee, seller)
    assert sale.processing_fee_cents == stripe
    assert sale.platform_net_cents == net
    no_floor = FeeRate(defaults.stripe_platform_fee.basis_points)
    assert sale_economics(price, no_floor).platform_net_cents == net_without_floor


def test_when_the_seller_pays_stripe_the_platform_keeps_its_whole_fee() -> None:
    sale = sale_economics(
        100, Settings.from_env({}).stripe_platform_fee, platform_pays_processing=False
    )
    assert sale.platform_net_cents == 50


def test_stripe_us_card_pricing_rounds_half_up() -> None:
    assert STRIPE_US_CARD.fee_for(500) == 45  # 14.5 ¢ rounds to 15, plus 30
    assert STRIPE_US_CARD.fee_for(2500) == 103
