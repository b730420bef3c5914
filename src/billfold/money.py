"""Money: a Decimal amount in one ISO 4217 currency, exact to the currency's minor unit.

Rules this module enforces:

* amounts are ``Decimal``; floats are refused outright;
* a currency's exponent comes from Babel's ISO 4217 data (JPY 0, EUR 2, KWD 3);
* an amount given with more decimals than its currency allows is an error, not a silent rounding;
  rounding happens only where the caller asks for it, with an explicit mode;
* arithmetic mixes no currencies: ``EUR + USD`` raises;
* ``allocate`` splits an amount by weights with the largest-remainder method, so the parts always
  add up exactly to the whole.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from billfold.errors import CurrencyError


class Rounding(StrEnum):
    """Rounding modes a legal entity may choose."""

    HALF_UP = "half-up"
    HALF_EVEN = "half-even"

    @property
    def decimal_mode(self) -> str:
        return decimal.ROUND_HALF_UP if self is Rounding.HALF_UP else decimal.ROUND_HALF_EVEN


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency and the number of decimals of its minor unit."""

    code: str
    exponent: int
    quantum: Decimal  # the minor unit: Decimal("0.01") for EUR

    @staticmethod
    @cache
    def of(code: str) -> Currency:
        normalized = code.strip().upper() if isinstance(code, str) else code
        if not isinstance(normalized, str) or normalized not in _known_currencies():
            raise CurrencyError(f"unknown currency code {code!r} (expected ISO 4217, e.g. EUR)")
        exponent = int(get_currency_precision(normalized))
        return Currency(normalized, exponent, Decimal(1).scaleb(-exponent))


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """Turn user input (str, int, Decimal) into a Decimal; floats and garbage are refused."""
    if isinstance(value, bool | float):
        raise CurrencyError(f"{what} {value!r}: floats are not accepted for money, pass a string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace("_", ""))
        except decimal.InvalidOperation:
            raise CurrencyError(f"{what} {value!r} is not a number") from None
    else:
        raise CurrencyError(f"{what} {value!r} is not a number")
    if not result.is_finite():
        raise CurrencyError(f"{what} {value!r} is not a finite number")
    return result


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount of one currency. Build it with ``Money.of`` or ``Money.from_minor``."""

    amount: Decimal
    currency: str

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def of(cls, value: object, currency: str) -> Money:
        """Strict constructor: refuses more decimals than the currency's minor unit allows."""
        cur = Currency.of(currency)
        amount = to_decimal(value)
        quantized = amount.quantize(cur.quantum, rounding=decimal.ROUND_HALF_UP)
        if quantized != amount:
            raise CurrencyError(
                f"amount {value} has more decimals than {cur.code} allows ({cur.exponent})"
            )
        return cls(quantized, cur.code)

    @classmethod
    def rounded(cls, value: object, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """Round ``value`` to the currency's minor unit with an explicit mode."""
        cur = Currency.of(currency)
        exact = value if type(value) is Decimal and value.is_finite() else to_decimal(value)
        mode = rounding.decimal_mode
        return cls(exact.quantize(cur.quantum, rounding=mode), cur.code)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        cur = Currency.of(currency)
        # scaleb gives exactly the currency's exponent: 12345 -> 123.45, 100 -> 1.00
        return cls(
            Decimal(minor if type(minor) is int else int(minor)).scaleb(-cur.exponent), cur.code
        )

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.from_minor(0, currency)

    # -- views --------------------------------------------------------------------------------
    @property
    def minor(self) -> int:
        """The amount in integer minor units (cents), as stored in the database."""
        return int(self.amount.scaleb(Currency.of(self.currency).exponent))

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # -- arithmetic ---------------------------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyError(f"cannot mix currencies: {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def times(self, factor: object, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """Multiply by a Decimal factor (a quantity, a rate) and round to the minor unit."""
        return Money.rounded(self.amount * to_decimal(factor, "factor"), self.currency, rounding)

    def allocate(self, weights: Sequence[object]) -> list[Money]:
        return allocate(self, weights)


def allocate(total: Money, weights: Sequence[object]) -> list[Money]:
    """Split ``total`` in proportion to ``weights`` (largest-remainder method).

    Each part is a whole number of minor units; the parts always sum exactly to ``total``.
    Units left after flooring go to the parts with the largest remainders, earlier parts first
    on ties, so the result is deterministic.
    """
    ws = [to_decimal(w, "weight") for w in weights]
    if not ws:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in ws):
        raise ValueError("allocation weights must not be negative")
    weight_sum = sum(ws, Decimal(0))
    if weight_sum == 0:
        raise ValueError("allocation weights must not all be zero")
    sign = -1 if total.minor < 0 else 1
    units = abs(total.minor)
    exact = [Decimal(units) * w / weight_sum for w in ws]
    floors = [int(x) for x in exact]  # x >= 0, so int() floors
    left = units - sum(floors)
    by_remainder = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [Money.from_minor(sign * part, total.currency) for part in floors]


def sum_money(items: Sequence[Money], currency: str) -> Money:
    """Sum Money values of one currency (an empty sum is zero in ``currency``)."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
