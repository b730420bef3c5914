"""Usage rating: turn a period's metered quantity into priced lines.

Four pricing models, each a frozen dataclass:

``PerUnit(unit_price)``
    every billable unit at one price.
``GraduatedTiers(tiers)``
    each unit is priced in the tier it falls in: with tiers "up to 100 at 0.10, up to 1000 at
    0.08, above at 0.05", 150 units cost 100 x 0.10 + 50 x 0.08 and show as two lines.
``VolumeTiers(tiers)``
    all units are priced at the tier the *total* falls in: 150 units cost 150 x 0.08.
``Package(size, price)``
    units are sold in packages of ``size``; a started package is a whole package
    (``ceil(quantity / size)`` packages).

Tier boundaries: a tier's ``up_to`` is **inclusive** and counts billable units. The first tier
covers units 1 to ``up_to`` (more exactly the quantity range ``(0, up_to]``), the next one
``(previous up_to, up_to]``, and the last tier has ``up_to=None`` (no upper bound). So with
``up_to=100`` the 100th unit is still in the first tier and the 101st is the first unit of the
second; under volume pricing a total of exactly 100 is priced at the first tier's price and a
total of 101 at the second's. Fractional quantities (GB, hours) follow the same ranges.

Included quantity is free and is taken off *before* the tiers: with 1,000 units included and
1,150 used, tier pricing sees 150 units. A minimum commitment is compared with the rated amount
of the period; when the rated amount is lower, a "minimum commitment top-up" line brings the
period to exactly the minimum.

Arithmetic is exact ``Decimal``; each line is rounded once, to the currency's minor unit, when
its ``Money`` amount is built (so a line's amount is ``round(quantity x unit_price)``, just as
the invoice will compute it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billfold.billing.errors import BillingError
from billfold.money import Money, Rounding

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Tier:
    """One price tier: units up to ``up_to`` (inclusive; ``None`` = no upper bound)."""

    up_to: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class PerUnit:
    """Every billable unit at ``unit_price``."""

    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class GraduatedTiers:
    """Each unit priced in the tier it falls in (see the module docstring for boundaries)."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)


@dataclass(frozen=True, slots=True)
class VolumeTiers:
    """All units priced at the tier the period's total falls in."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)


@dataclass(frozen=True, slots=True)
class Package:
    """Units sold in packages of ``size``; each started package costs ``price``."""

    size: Decimal
    price: Decimal

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise BillingError(f"package size must be positive, got {self.size}")


Pricing = PerUnit | GraduatedTiers | VolumeTiers | Package


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One priced line of a usage period.

    Fields: ``description`` ("units 101-1000 at 0.08"), ``quantity`` (units, or packages for
    package pricing, 1 for a top-up), ``unit_price``, ``exact`` (``quantity x unit_price``
    unrounded) and ``amount`` (``exact`` rounded to the currency).
    """

    description: str
    quantity: Decimal
    unit_price: Decimal
    exact: Decimal
    amount: Money


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise BillingError("tiered pricing needs at least one tier")
    previous = ZERO
    for n, tier in enumerate(tiers, start=1):
        last = n == len(tiers)
        if tier.up_to is None:
            if not last:
                raise BillingError(f"tier {n}: only the last tier may have no upper bound")
            continue
        if last:
            raise BillingError(f"tier {n}: the last tier must have no upper bound (up_to=None)")
        if tier.up_to <= previous:
            raise BillingError(
                f"tier {n}: up_to {tier.up_to} must be greater than the previous {previous}"
            )
        previous = tier.up_to


def _price(value: Decimal) -> str:
    """A price as given: 0.10 stays 0.10."""
    return f"{value:f}"


def _num(value: Decimal) -> str:
    """A quantity or price as written by a person: 100, 0.08, 12.5 (no exponent)."""
    return f"{value.normalize():f}"


def _units(low: Decimal, high: Decimal) -> str:
    """Describe the quantity range ``(low, high]``: "units 1-100", "unit 7", "units over 2 to
    2.5"."""
    if low == low.to_integral_value() and high == high.to_integral_value():
        first = low + 1
        return f"unit {_num(high)}" if first == high else f"units {_num(first)}-{_num(high)}"
    return f"units over {_num(low)} to {_num(high)}"


def _line(description: str, qty: Decimal, price: Decimal, currency: str, r: Rounding) -> RatedLine:
    exact = qty * price
    return RatedLine(description, qty, price, exact, Money.rounded(exact, currency, r))


def rate_usage(
    pricing: Pricing,
    quantity: Decimal,
    included: Decimal = ZERO,
    minimum: Money | None = None,
    *,
    currency: str,
    rounding: Rounding = Rounding.HALF_UP,
) -> list[RatedLine]:
    """Price ``quantity`` units used in one period; the lines sum to the period's amount.

    ``included`` units are free and come off first; ``minimum`` (in ``currency``) is the
    period's minimum commitment. No usage and no minimum gives no lines.
    """
    if quantity < 0:
        raise BillingError(f"usage quantity must not be negative, got {quantity}")
    if included < 0:
        raise BillingError(f"included quantity must not be negative, got {included}")
    if minimum is not None and minimum.currency != Money.zero(currency).currency:
        raise BillingError(f"minimum commitment {minimum} is not in {currency}")
    billable = max(quantity - included, ZERO)
    lines = _rate(pricing, billable, currency, rounding) if billable > 0 else []
    if minimum is not None:
        billed = sum((ln.amount.amount for ln in lines), ZERO)
        if billed < minimum.amount:
            top_up = minimum.amount - billed
            lines.append(
                RatedLine(
                    f"minimum commitment top-up to {minimum}",
                    Decimal(1),
                    top_up,
                    top_up,
                    Money.rounded(top_up, currency, rounding),
                )
            )
    return lines


def _rate(pricing: Pricing, billable: Decimal, currency: str, r: Rounding) -> list[RatedLine]:
    match pricing:
        case PerUnit(unit_price=price):
            desc = f"{_units(ZERO, billable)} at {_price(price)}"
            return [_line(desc, billable, price, currency, r)]
        case GraduatedTiers(tiers=tiers):
            lines = []
            low = ZERO
            for tier in tiers:
                high = billable if tier.up_to is None else min(billable, tier.up_to)
                if high > low:
                    desc = f"{_units(low, high)} at {_price(tier.unit_price)}"
                    lines.append(_line(desc, high - low, tier.unit_price, currency, r))
                if tier.up_to is None or billable <= tier.up_to:
                    break
                low = tier.up_to
            return lines
        case VolumeTiers(tiers=tiers):
            low = ZERO
            for tier in tiers:
                if tier.up_to is None or billable <= tier.up_to:
                    band = (
                        f"units above {_num(low)}"
                        if tier.up_to is None
                        else _units(low, tier.up_to)
                    )
                    shown = _price(tier.unit_price)
                    desc = f"{_units(ZERO, billable)} at {shown} (volume tier {band})"
                    return [_line(desc, billable, tier.unit_price, currency, r)]
                low = tier.up_to
            raise AssertionError("the last tier is unbounded")  # pragma: no cover
        case Package(size=size, price=price):
            whole, part = divmod(billable, size)
            packages = whole + (1 if part else 0)
            desc = (
                f"{_num(packages)} package(s) of {_num(size)} units at {_price(price)} "
                f"for {_num(billable)} units"
            )
            return [_line(desc, packages, price, currency, r)]
