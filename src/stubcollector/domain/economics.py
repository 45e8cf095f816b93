"""What a sale costs and earns the platform: the kinds of provider fees, who pays them, and
the arithmetic of one sale.

The platform earns its application fee on every succeeded charge and gives it back in
proportion to refunds (``refund_application_fee``). It pays Stripe's fees where the seller
accounts are configured so (``controller.fees.payer=application``, the default
``STRIPE_ACCOUNT_LIABILITY=application``): the card processing fee of every direct charge,
which Stripe keeps when a charge is refunded, and the fees of disputes. What each order
actually cost is recorded from Stripe's own balance transactions (``services.orders.costs``);
the functions here are the arithmetic for forecasts, the docs and the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stubcollector.domain.money import BASIS_POINTS, FeeRate


class CostKind(StrEnum):
    """A fee the payment provider takes."""

    PROCESSING_FEE = "processing_fee"
    """Stripe's card processing fee on a charge (kept by Stripe when the charge is refunded)."""
    DISPUTE_FEE = "dispute_fee"
    """A dispute's fees: the fee for receiving it and, when it is countered, the countered fee
    (which Stripe gives back when the dispute is won: recorded as a negative amount)."""


class FeePayer(StrEnum):
    """Whose balance a provider fee is taken from."""

    PLATFORM = "platform"
    SELLER = "seller"


@dataclass(frozen=True)
class CardPricing:
    """A card pricing: a rate in basis points plus a fixed amount per successful charge."""

    basis_points: int
    fixed_cents: int

    def fee_for(self, amount_cents: int) -> int:
        """The processing fee of one charge, rounded half-up to the cent."""
        return (amount_cents * self.basis_points + BASIS_POINTS // 2) // BASIS_POINTS + (
            self.fixed_cents
        )


# Stripe's standard pricing for US cards (stripe.com/pricing, as quoted by third parties in
# research-16: 2.9 % + 30 ¢). Used by the sandbox and for forecasts, never for the books:
# recorded costs come from Stripe's balance transactions.
STRIPE_US_CARD = CardPricing(basis_points=290, fixed_cents=30)
# The fee for receiving a dispute in the US (support.stripe.com, "dispute fees FAQ": $15).
DISPUTE_RECEIVED_FEE_CENTS = 1500
# The fee for countering one (UNCONFIRMED by Stripe; $15 per third parties), given back on a win.
DISPUTE_COUNTERED_FEE_CENTS = 1500


@dataclass(frozen=True)
class SaleEconomics:
    """One sale from the platform's side, in cents."""

    item_cents: int
    platform_fee_cents: int
    seller_amount_cents: int
    processing_fee_cents: int
    platform_pays_processing: bool

    @property
    def platform_net_cents(self) -> int:
        """The application fee less what the platform pays Stripe for the charge."""
        cost = self.processing_fee_cents if self.platform_pays_processing else 0
        return self.platform_fee_cents - cost


def sale_economics(
    item_cents: int,
    rate: FeeRate,
    *,
    pricing: CardPricing = STRIPE_US_CARD,
    platform_pays_processing: bool = True,
) -> SaleEconomics:
    """A sale at ``item_cents`` under ``rate`` (with its floor) and ``pricing``."""
    fee = rate.fee_for(item_cents)
    return SaleEconomics(
        item_cents=item_cents,
        platform_fee_cents=fee,
        seller_amount_cents=item_cents - fee,
        processing_fee_cents=pricing.fee_for(item_cents),
        platform_pays_processing=platform_pays_processing,
    )
