from decimal import Decimal

import pytest

from stubcollector.domain.errors import ValidationFailed
from stubcollector.domain.money import (
    MAX_PRICE_CENTS,
    FeeRate,
    FeeSplit,
    cents_to_decimal_string,
    format_cents,
    parse_price_cents,
)


class TestParsePrice:
    @pytest.mark.parametrize(
        ("raw", "cents"),
        [
            ("0.50", 50),
            ("0.5", 50),
            (0.5, 50),
            ("12", 1200),
            (12, 1200),
            ("12.30", 1230),
            ("12.340", 1234),
            (" 7.99 ", 799),
            ("100000", MAX_PRICE_CENTS),
        ],
    )
    def test_accepts_valid_prices(self, raw: object, cents: int) -> None:
        assert parse_price_cents(raw) == cents

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (0, "at least"),
            ("0", "at least"),
            ("0.499", "two decimal"),
            (0.499, "two decimal"),
            ("0.49", "at least"),
            (1e9, "at most"),
            ("1e999999999", "at most"),
            ("100000.01", "at most"),
            ("12.345", "two decimal"),
            ("abc", "decimal amount"),
            ("", "decimal amount"),
            ("-5", "at least"),
            ("NaN", "finite"),
            ("Infinity", "finite"),
            (True, "decimal string or number"),
            (None, "decimal string or number"),
            ([1], "decimal string or number"),
        ],
    )
    def test_refuses_invalid_prices_naming_the_field(self, raw: object, reason: str) -> None:
        with pytest.raises(ValidationFailed) as caught:
            parse_price_cents(raw, field="price")
        assert caught.value.field == "price"
        assert reason in caught.value.message


class TestFee:
    @pytest.mark.parametrize(
        ("total", "fee"),
        [(50, 5), (55, 6), (54, 5), (999_999, 100_000), (1, 0), (5, 1), (4, 0), (0, 0)],
    )
    def test_ten_percent_rounds_half_up_to_the_cent(self, total: int, fee: int) -> None:
        assert FeeRate.parse("0.10").fee_for(total) == fee

    @pytest.mark.parametrize("total", [50, 55, 99, 1234, 999_999, MAX_PRICE_CENTS])
    @pytest.mark.parametrize("rate", ["0", "0.0125", "0.10", "0.175", "0.5"])
    def test_split_always_adds_up(self, total: int, rate: str) -> None:
        split = FeeSplit.for_total(total, FeeRate.parse(rate))
        assert split.platform_fee_cents + split.seller_amount_cents == total
        assert 0 <= split.platform_fee_cents < total

    @pytest.mark.parametrize("bad", ["-0.1", "0.51", "1", "0.00001", "NaN"])
    def test_rate_out_of_range_is_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="platform fee"):
            FeeRate.parse(bad)

    def test_rate_is_held_in_basis_points(self) -> None:
        assert FeeRate.parse("0.10").basis_points == 1000
        assert FeeRate.parse("0.10").as_fraction == Decimal("0.1")


def test_display_formats() -> None:
    assert format_cents(123456) == "$1,234.56"
    assert format_cents(5) == "$0.05"
    assert format_cents(-250) == "-$2.50"
    # A face value shows its own currency, never a dollar sign it was not printed with.
    assert format_cents(3645, "EUR") == "€36.45"
    assert format_cents(4750, "GBP") == "£47.50"
    assert format_cents(123456, "CHF") == "CHF 1,234.56"
    assert format_cents(-250, "CAD") == "-CAD 2.50"
    assert format_cents(3645, None) == "36.45"
    assert cents_to_decimal_string(1250) == "12.50"
    assert cents_to_decimal_string(-7) == "-0.07"


class TestFeeFloor:
    """PRODUCT.md "Fee floor": fee = max(rate x item price rounded half-up, minimum)."""

    RATE = FeeRate.parse("0.10", minimum_cents=50)

    @pytest.mark.parametrize(
        ("price", "fee"),
        [
            (100, 50),  # $1.00: 10 ¢ by the rate, the 50 ¢ floor wins
            (499, 50),  # 49.9 ¢ rounds to 50 ¢
            (500, 50),  # $5.00: the rate meets the floor
            (505, 51),  # 50.5 ¢ rounds half-up
            (555, 56),
            (5000, 500),  # $50.00
            (999_999, 100_000),
        ],
    )
    def test_fee_is_the_rate_or_the_floor_whichever_is_more(self, price: int, fee: int) -> None:
        assert self.RATE.fee_for(price) == fee
        split = FeeSplit.for_total(price, self.RATE)
        assert (split.platform_fee_cents, split.seller_amount_cents) == (fee, price - fee)

    def test_the_fee_never_exceeds_the_price(self) -> None:
        assert self.RATE.fee_for(30) == 30
        assert self.RATE.fee_for(0) == 0

    def test_minimum_is_kept_by_parse_and_refused_when_negative(self) -> None:
        assert FeeRate.parse("0.10", minimum_cents=75).minimum_cents == 75
        assert FeeRate.parse("0.10").minimum_cents == 0
        with pytest.raises(ValueError, match="minimum"):
            FeeRate.parse("0.10", minimum_cents=-1)

    def test_percent_text(self) -> None:
        assert FeeRate.parse("0.10").percent_text == "10"
        assert FeeRate.parse("0.125").percent_text == "12.5"
