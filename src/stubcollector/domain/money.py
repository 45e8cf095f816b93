"""Money rules: integer cents everywhere, one rounding rule for the platform fee.

Prices arrive as decimal strings or JSON numbers and leave as integer cents; no float ever
takes part in arithmetic. The platform fee is a rate held in basis points (1/100 of a
percent) and rounded half-up to the cent, so that fee + seller amount == total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from stubcollector.domain.errors import ValidationFailed

CURRENCY = "USD"
# Stripe's minimum charge for USD is $0.50.
MIN_PRICE_CENTS = 50
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
    """The platform's cut as basis points (``0.10`` → 1000 bp)."""

    basis_points: int

    @classmethod
    def parse(cls, text: str) -> FeeRate:
        """Parse a fraction such as ``"0.10"``; refuses anything outside ``[0, 0.5]``."""
        rate = Decimal(text.strip())
        if not rate.is_finite() or rate < 0 or rate > Decimal("0.5"):
            raise ValueError("the platform fee must be a fraction between 0 and 0.5, e.g. 0.10")
        bp = rate * BASIS_POINTS
        if bp != bp.to_integral_value():
            raise ValueError("the platform fee must be a whole number of basis points (0.0001)")
        return cls(int(bp))

    @property
    def as_fraction(self) -> Decimal:
        return Decimal(self.basis_points) / BASIS_POINTS

    def fee_for(self, total_cents: int) -> int:
        """Platform fee for a charge of ``total_cents``, rounded half-up to the cent.

        Integer arithmetic only: ``(total * bp + 5000) // 10000``. For 10 %: $0.55 → 6 ¢
        (5.5 rounds up), $0.50 → 5 ¢, $9,999.99 → $1,000.00 (99,999.9 rounds up).
        """
        if total_cents < 0:
            raise ValueError("amount must not be negative")
        return (total_cents * self.basis_points + BASIS_POINTS // 2) // BASIS_POINTS


@dataclass(frozen=True)
class FeeSplit:
    """How one charge divides between the platform and the seller."""

    total_cents: int
    platform_fee_cents: int
    seller_amount_cents: int

    @classmethod
    def for_total(cls, total_cents: int, rate: FeeRate) -> FeeSplit:
        fee = rate.fee_for(total_cents)
        return cls(total_cents, fee, total_cents - fee)


def quantize_cents(amount: Decimal) -> int:
    """Round a decimal amount of dollars to integer cents, half-up (used for face values)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
