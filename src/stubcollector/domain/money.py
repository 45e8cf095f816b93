"""Money rules: integer cents everywhere, one rounding rule for the platform fee.

Prices arrive as decimal strings or JSON numbers and leave as integer cents; no float ever
takes part in arithmetic. The platform fee is a rate held in basis points (1/100 of a
percent) and rounded half-up to the cent, with a floor: fee = max(rate x item price,
minimum). Fee + seller amount == item price exactly.

Why a floor (PRODUCT.md, "Fee floor"): with the Express controller settings the platform
pays Stripe's processing fee on every direct charge (2.9 % + 30 ¢ on a US card), so 10 % of
a $1 sale (10 ¢) would not even cover Stripe's fixed 30 ¢. ``PLATFORM_FEE_MINIMUM_CENTS``
(default 50 ¢) and the minimum item price ``LISTING_MIN_PRICE_CENTS`` (default $1.00) keep a
sale from costing the platform money; ``docs/STRIPE.md`` ("What a sale earns") has the
figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from stubcollector.domain.errors import ValidationFailed

CURRENCY = "USD"
# Stripe's minimum charge for USD is $0.50: the floor no price and no setting goes below (the
# database refuses a listing under it). The marketplace's own minimum is a setting above it.
MIN_PRICE_CENTS = 50
# Defaults of LISTING_MIN_PRICE_CENTS and PLATFORM_FEE_MINIMUM_CENTS.
DEFAULT_LISTING_MIN_PRICE_CENTS = 100
DEFAULT_PLATFORM_FEE_MINIMUM_CENTS = 50
# A ticket stub is a collectible, not a house: $100,000 guards against typos and abuse.
MAX_PRICE_CENTS = 10_000_000
BASIS_POINTS = 10_000


def parse_price_cents(
    value: object,
    *,
    field: str = "price",
    minimum: int = MIN_PRICE_CENTS,
    maximum: int = MAX_PRICE_CENTS,
) -> int:
    """Turn a user-supplied price (``"12.50"``, ``12.5``, ``12``) into integer cents.

    At most two decimals are accepted; ``"12.345"`` is refused rather than rounded, because a
    silently changed price is worse than an error. Booleans are not numbers here.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(field, 'must be a decimal string or number such as "12.50"')
    text = value.strip() if isinstance(value, str) else repr(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(field, 'must be a decimal amount such as "12.50"') from None
    if not amount.is_finite():
        raise ValidationFailed(field, "must be a finite amount")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(field, "must have at most two decimal places")
    # Compare as decimals before converting: int(Decimal("1e999999999")) would exhaust memory.
    if amount < Decimal(minimum) / 100:
        raise ValidationFailed(field, f"must be at least {format_cents(minimum)}")
    if amount > Decimal(maximum) / 100:
        raise ValidationFailed(field, f"must be at most {format_cents(maximum)}")
    return int(amount * 100)


# Currencies shown with their sign; any other shows its ISO 4217 code ("CHF 36.45"). "$"
# is the US dollar's alone: a Canadian or Australian dollar shows its code.
CURRENCY_SIGNS: Final = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_cents(cents: int, currency: str | None = CURRENCY) -> str:
    """Display form: ``$1,234.50``, ``€36.45``, ``£47.50``, ``CHF 36.45``; no currency at all
    when it is not known (``None``: a face value whose currency nobody read or typed,
    ``36.45``), rather than a guessed one."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    amount = f"{whole:,}.{part:02d}"
    if currency is None:
        return f"{sign}{amount}"
    if currency in CURRENCY_SIGNS:
        return f"{sign}{CURRENCY_SIGNS[currency]}{amount}"
    return f"{sign}{currency} {amount}"


def cents_to_decimal_string(cents: int) -> str:
    """``1250`` → ``"12.50"`` (the API's machine-readable decimal form)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


@dataclass(frozen=True)
class FeeRate:
    """The platform's cut: a rate in basis points (``0.10`` → 1000 bp) with a floor in cents."""

    basis_points: int
    minimum_cents: int = 0

    @classmethod
    def parse(cls, text: str, *, minimum_cents: int = 0) -> FeeRate:
        """Parse a fraction such as ``"0.10"``; refuses anything outside ``[0, 0.5]``."""
        rate = Decimal(text.strip())
        if not rate.is_finite() or rate < 0 or rate > Decimal("0.5"):
            raise ValueError("the platform fee must be a fraction between 0 and 0.5, e.g. 0.10")
        bp = rate * BASIS_POINTS
        if bp != bp.to_integral_value():
            raise ValueError("the platform fee must be a whole number of basis points (0.0001)")
        if minimum_cents < 0:
            raise ValueError("the minimum platform fee must not be negative")
        return cls(int(bp), minimum_cents)

    @property
    def as_fraction(self) -> Decimal:
        return Decimal(self.basis_points) / BASIS_POINTS

    @property
    def percent_text(self) -> str:
        """``"10"`` for 10 %, ``"12.5"`` for 12.5 % (pages write the rate this way)."""
        return f"{(self.as_fraction * 100).normalize():f}"

    def proportional_fee(self, item_cents: int) -> int:
        """The rate's share alone, rounded half-up: ``(item * bp + 5000) // 10000``."""
        if item_cents < 0:
            raise ValueError("amount must not be negative")
        return (item_cents * self.basis_points + BASIS_POINTS // 2) // BASIS_POINTS

    def fee_for(self, item_cents: int) -> int:
        """Platform fee on an item price: max(rate x price rounded half-up, minimum).

        Integer arithmetic only. For 10 % with a 50 ¢ floor: $1.00 → 50 ¢ (the floor),
        $5.55 → 56 ¢ (55.5 rounds up), $50.00 → $5.00, $9,999.99 → $1,000.00. Never more
        than the price itself, so the seller's share is never negative; prices at or below
        the floor are refused before a fee is ever taken on them (``LISTING_MIN_PRICE_CENTS``
        is above ``PLATFORM_FEE_MINIMUM_CENTS``, and Stripe wants the fee below the charge).
        """
        return min(item_cents, max(self.proportional_fee(item_cents), self.minimum_cents))


@dataclass(frozen=True)
class FeeSplit:
    """How one charge divides between the platform and the seller."""

    total_cents: int
    platform_fee_cents: int
    seller_amount_cents: int

    @classmethod
    def for_total(cls, total_cents: int, rate: FeeRate) -> FeeSplit:
        """The split of an item price (the fee is on the item price; shipping, once it
        exists, passes through to the seller)."""
        fee = rate.fee_for(total_cents)
        return cls(total_cents, fee, total_cents - fee)


def quantize_cents(amount: Decimal) -> int:
    """Round a decimal amount of dollars to integer cents, half-up (used for face values)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
