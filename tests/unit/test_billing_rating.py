"""Usage rating: tier boundaries, graduated vs volume, packages, included units, minimums."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.billing import (
    BillingError,
    GraduatedTiers,
    Package,
    PerUnit,
    Tier,
    VolumeTiers,
    rate_usage,
)
from billfold.billing.rating import Pricing, RatedLine
from billfold.money import Money, Rounding

TIERS = (
    Tier(Decimal(100), Decimal("0.10")),
    Tier(Decimal(1000), Decimal("0.08")),
    Tier(None, Decimal("0.05")),
)
GRADUATED = GraduatedTiers(TIERS)
VOLUME = VolumeTiers(TIERS)


def rate(
    pricing: Pricing, qty: str, included: str = "0", minimum: str | None = None
) -> list[RatedLine]:
    floor = Money.of(minimum, "EUR") if minimum is not None else None
    return rate_usage(pricing, Decimal(qty), Decimal(included), floor, currency="EUR")


def total(lines: list[RatedLine]) -> str:
    return str(sum((ln.amount.amount for ln in lines), Decimal(0)))


def test_graduated_at_the_tier_boundary() -> None:
    at_100 = rate(GRADUATED, "100")
    assert [ln.description for ln in at_100] == ["units 1-100 at 0.10"]
    assert total(at_100) == "10.00"
    at_101 = rate(GRADUATED, "101")
    assert [ln.description for ln in at_101] == ["units 1-100 at 0.10", "unit 101 at 0.08"]
    assert total(at_101) == "10.08"
    at_1500 = rate(GRADUATED, "1500")
    assert [ln.description for ln in at_1500] == [
        "units 1-100 at 0.10",
        "units 101-1000 at 0.08",
        "units 1001-1500 at 0.05",
    ]
    assert [ln.quantity for ln in at_1500] == [100, 900, 500]
    assert total(at_1500) == "107.00"  # 10 + 72 + 25


def test_volume_at_the_tier_boundary() -> None:
    at_100 = rate(VOLUME, "100")
    assert [ln.description for ln in at_100] == ["units 1-100 at 0.10 (volume tier units 1-100)"]
    assert total(at_100) == "10.00"
    at_101 = rate(VOLUME, "101")  # every unit at the second tier's price
    assert [ln.description for ln in at_101] == ["units 1-101 at 0.08 (volume tier units 101-1000)"]
    assert total(at_101) == "8.08"
    assert total(rate(VOLUME, "1000")) == "80.00"
    at_1001 = rate(VOLUME, "1001")
    assert at_1001[0].description == "units 1-1001 at 0.05 (volume tier units above 1000)"
    assert total(at_1001) == "50.05"


def test_package_pricing_rounds_packages_up() -> None:
    packs = Package(Decimal(100), Decimal("5.00"))
    assert rate(packs, "0") == []
    assert [(ln.quantity, total([ln])) for ln in rate(packs, "1")] == [(Decimal(1), "5.00")]
    assert total(rate(packs, "100")) == "5.00"
    (line,) = rate(packs, "101")
    assert (line.quantity, line.unit_price, str(line.amount)) == (
        Decimal(2),
        Decimal("5.00"),
        "10.00 EUR",
    )
    assert line.description == "2 package(s) of 100 units at 5.00 for 101 units"
    assert total(rate(packs, "250")) == "15.00"


def test_per_unit_and_included_quantity() -> None:
    per_unit = PerUnit(Decimal("0.02"))
    (line,) = rate(per_unit, "1150", included="1000")
    assert (line.quantity, str(line.amount), line.description) == (
        Decimal(150),
        "3.00 EUR",
        "units 1-150 at 0.02",
    )
    assert rate(per_unit, "999", included="1000") == []
    # included units come off before the tiers: 150 billable units start in the first tier
    assert total(rate(GRADUATED, "1150", included="1000")) == "14.00"  # 100 x 0.10 + 50 x 0.08


def test_minimum_commitment_top_up() -> None:
    per_unit = PerUnit(Decimal("0.10"))
    lines = rate(per_unit, "300", minimum="50.00")
    assert [(ln.description, str(ln.amount)) for ln in lines] == [
        ("units 1-300 at 0.10", "30.00 EUR"),
        ("minimum commitment top-up to 50.00 EUR", "20.00 EUR"),
    ]
    assert total(lines) == "50.00"
    assert len(rate(per_unit, "600", minimum="50.00")) == 1  # 60.00 is above the minimum
    (only,) = rate(per_unit, "0", minimum="50.00")
    assert str(only.amount) == "50.00 EUR"
    assert total(rate(per_unit, "500", minimum="50.00")) == "50.00"  # exactly the minimum


def test_amounts_are_exact_until_rounded_once() -> None:
    (line,) = rate(PerUnit(Decimal("0.0015")), "1234")
    assert line.exact == Decimal("1.8510")
    assert str(line.amount) == "1.85 EUR"
    (yen,) = rate_usage(PerUnit(Decimal("0.5")), Decimal(3), currency="JPY")
    assert str(yen.amount) == "2 JPY"  # 1.5 rounded half-up
    (even,) = rate_usage(
        PerUnit(Decimal("0.5")), Decimal(3), currency="JPY", rounding=Rounding.HALF_EVEN
    )
    assert str(even.amount) == "2 JPY"


def test_fractional_quantities_describe_their_range() -> None:
    lines = rate(GRADUATED, "100.5")
    assert [ln.description for ln in lines] == [
        "units 1-100 at 0.10",
        "units over 100 to 100.5 at 0.08",
    ]
    assert total(lines) == "10.04"  # 10 + 0.5 x 0.08 = 10.04


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((), "at least one tier"),
        ((Tier(Decimal(100), Decimal(1)),), "last tier must have no upper bound"),
        ((Tier(None, Decimal(1)), Tier(None, Decimal(1))), "only the last tier"),
        (
            (
                Tier(Decimal(100), Decimal(1)),
                Tier(Decimal(100), Decimal(1)),
                Tier(None, Decimal(1)),
            ),
            "greater than the previous 100",
        ),
    ],
)
def test_bad_tiers_are_refused(tiers: tuple[Tier, ...], message: str) -> None:
    with pytest.raises(BillingError, match=message):
        GraduatedTiers(tiers)


def test_bad_quantities_are_refused() -> None:
    with pytest.raises(BillingError, match="must not be negative"):
        rate(GRADUATED, "-1")
    with pytest.raises(BillingError, match="package size must be positive"):
        Package(Decimal(0), Decimal(1))
    with pytest.raises(BillingError, match="is not in EUR"):
        rate_usage(GRADUATED, Decimal(1), minimum=Money.of("1", "USD"), currency="EUR")


quantities = st.decimals(min_value=Decimal(0), max_value=Decimal(100000), places=2)


@settings(max_examples=300, deadline=None)
@given(q=quantities, more=quantities)
def test_graduated_properties(q: Decimal, more: Decimal) -> None:
    lines = rate_usage(GRADUATED, q, currency="EUR")
    assert sum((ln.quantity for ln in lines), Decimal(0)) == q
    exact = sum((ln.exact for ln in lines), Decimal(0))
    bigger = sum((ln.exact for ln in rate_usage(GRADUATED, q + more, currency="EUR")), Decimal(0))
    assert bigger >= exact  # more usage never costs less under graduated pricing
    volume = rate_usage(VOLUME, q, currency="EUR")
    if q:
        (line,) = volume
        assert line.quantity == q
        assert line.exact <= exact  # volume pricing is never dearer than graduated here


@settings(max_examples=200, deadline=None)
@given(q=quantities, minimum=st.decimals(min_value=0, max_value=1000, places=2))
def test_a_minimum_is_always_met_exactly_or_exceeded(q: Decimal, minimum: Decimal) -> None:
    lines = rate_usage(
        PerUnit(Decimal("0.013")), q, minimum=Money.of(minimum, "EUR"), currency="EUR"
    )
    billed = sum((ln.amount.amount for ln in lines), Decimal(0))
    assert billed >= minimum
    if any(ln.description.startswith("minimum") for ln in lines):
        assert billed == minimum
