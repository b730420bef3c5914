from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.errors import CurrencyError
from billfold.money import Currency, Money, Rounding, allocate


@pytest.mark.parametrize(("code", "exponent"), [("EUR", 2), ("JPY", 0), ("KWD", 3), ("usd", 2)])
def test_currency_exponent_comes_from_iso_4217(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent


def test_unknown_currency_code_is_refused() -> None:
    with pytest.raises(CurrencyError, match="unknown currency code 'EUX'"):
        Money.of("1.00", "EUX")


@pytest.mark.parametrize(
    ("value", "currency"), [("1.001", "EUR"), ("5.5", "JPY"), ("0.0001", "KWD")]
)
def test_more_decimals_than_the_currency_allows_is_an_error(value: str, currency: str) -> None:
    with pytest.raises(CurrencyError, match=f"more decimals than {currency} allows"):
        Money.of(value, currency)


def test_trailing_zeros_are_fine_and_amounts_are_quantized() -> None:
    assert str(Money.of("10.50", "EUR")) == "10.50 EUR"
    assert str(Money.of("7", "KWD")) == "7.000 KWD"
    assert Money.of("1.10", "JPY".replace("JPY", "EUR")).minor == 110
    assert Money.of("1200", "JPY").minor == 1200


def test_floats_are_refused() -> None:
    with pytest.raises(CurrencyError, match="floats are not accepted"):
        Money.of(0.1, "EUR")


def test_mixing_currencies_raises() -> None:
    with pytest.raises(CurrencyError, match="cannot mix currencies: EUR and USD"):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(CurrencyError):
        _ = Money.of("1", "EUR") < Money.of("1", "USD")


def test_rounding_modes() -> None:
    assert Money.rounded("2.345", "EUR", Rounding.HALF_UP).amount == Decimal("2.35")
    assert Money.rounded("2.345", "EUR", Rounding.HALF_EVEN).amount == Decimal("2.34")
    assert Money.rounded("-2.345", "EUR", Rounding.HALF_UP).amount == Decimal("-2.35")
    assert Money.of("10.00", "EUR").times("0.19").amount == Decimal("1.90")
    assert Money.of("0.05", "EUR").times("0.5", Rounding.HALF_EVEN).amount == Decimal("0.02")


def test_allocate_gives_leftover_cents_to_largest_remainders() -> None:
    parts = allocate(Money.of("100.00", "EUR"), [1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    parts = allocate(Money.of("-0.05", "EUR"), [1, 1])
    assert [p.amount for p in parts] == [Decimal("-0.03"), Decimal("-0.02")]


def test_allocate_rejects_bad_weights() -> None:
    with pytest.raises(ValueError, match="all be zero"):
        allocate(Money.of("1", "EUR"), [0, 0])
    with pytest.raises(ValueError, match="negative"):
        allocate(Money.of("1", "EUR"), [1, -1])


currencies = st.sampled_from(["EUR", "JPY", "KWD", "USD", "CLF"])
weights = st.lists(st.decimals(min_value=0, max_value=10**6, places=4), min_size=1, max_size=30)


@given(st.integers(min_value=-(10**15), max_value=10**15), currencies, weights)
def test_allocation_parts_always_sum_to_the_total(
    minor: int, currency: str, ws: list[Decimal]
) -> None:
    if sum(ws) == 0:
        ws = [*ws, Decimal(1)]
    total = Money.from_minor(minor, currency)
    parts = allocate(total, ws)
    assert len(parts) == len(ws)
    assert sum(p.minor for p in parts) == total.minor
    assert all(p.currency == currency for p in parts)
    # no part strays more than one minor unit from its exact share
    for w, p in zip(ws, parts, strict=True):
        exact = Decimal(minor) * w / sum(ws)
        assert abs(Decimal(p.minor) - exact) < 1


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-(10**12), max_value=10**12),
    currencies,
)
def test_addition_is_exact_in_minor_units(a: int, b: int, currency: str) -> None:
    x, y = Money.from_minor(a, currency), Money.from_minor(b, currency)
    assert (x + y).minor == a + b
    assert (x - y).minor == a - b
    assert (-x).minor == -a


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=6),
    currencies,
    st.sampled_from(list(Rounding)),
)
def test_rounding_never_moves_more_than_half_a_unit(
    value: Decimal, currency: str, mode: Rounding
) -> None:
    m = Money.rounded(value, currency, mode)
    half = Currency.of(currency).quantum / 2
    assert abs(m.amount - value) <= half
    assert Money.of(m.amount, currency) == m
