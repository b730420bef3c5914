"""Billing periods: month-end anchors, leap years, calendar and anniversary alignment, proration."""

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.billing import (
    Alignment,
    Contract,
    Frequency,
    RecurringCharge,
    Timing,
    add_months,
    billing_periods,
)
from billfold.billing.model import Terms, money_of, prorated
from billfold.billing.schedule import renewal_dates
from billfold.money import Money, Rounding

FAR = date(2100, 1, 1)


def contract(start: date, end: date | None = None, **kw: object) -> Contract:
    return Contract("K-1", "CUST-1", "ACME-DE", "EUR", start, end, **kw)  # type: ignore[arg-type]


def fee(**kw: object) -> RecurringCharge:
    args: dict[str, object] = {"quantity": Decimal(1), "unit_price": Decimal("100.00")}
    args.update(kw)
    return RecurringCharge("fee", "SKU-FEE", "Platform fee", **args)  # type: ignore[arg-type]


def spans(periods: list) -> list[tuple[date, date]]:  # type: ignore[type-arg]
    return [(p.start, p.end) for p in periods]


def test_add_months_clamps_to_month_end_without_drifting() -> None:
    jan31 = date(2025, 1, 31)
    assert [add_months(jan31, n) for n in range(4)] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


def test_jan_31_monthly_anniversary_across_february() -> None:
    k = contract(date(2025, 1, 31))
    periods = billing_periods(fee(alignment=Alignment.ANNIVERSARY), k, date(2025, 5, 31))
    assert spans(periods) == [
        (date(2025, 1, 31), date(2025, 2, 27)),
        (date(2025, 2, 28), date(2025, 3, 30)),
        (date(2025, 3, 31), date(2025, 4, 29)),
        (date(2025, 4, 30), date(2025, 5, 30)),
        (date(2025, 5, 31), date(2025, 6, 29)),
    ]
    assert [p.full_period_days for p in periods] == [28, 31, 30, 31, 30]
    assert all(p.factor == 1 for p in periods)
    # twelve months on, the periods still start on the 31st (or the month's last day)
    year = billing_periods(fee(alignment=Alignment.ANNIVERSARY), k, date(2026, 1, 31))
    assert [p.start.day for p in year] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]


def test_jan_31_anchor_in_a_leap_year() -> None:
    k = contract(date(2024, 1, 31))
    periods = billing_periods(fee(alignment=Alignment.ANNIVERSARY), k, date(2024, 3, 31))
    assert spans(periods) == [
        (date(2024, 1, 31), date(2024, 2, 28)),
        (date(2024, 2, 29), date(2024, 3, 30)),
        (date(2024, 3, 31), date(2024, 4, 29)),
    ]
    assert [p.full_period_days for p in periods] == [29, 31, 30]


def test_feb_29_annual_anniversary() -> None:
    k = contract(date(2024, 2, 29))
    charge = fee(frequency=Frequency.ANNUAL, alignment=Alignment.ANNIVERSARY)
    periods = billing_periods(charge, k, date(2028, 2, 29))
    assert [p.start for p in periods] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    assert [p.days for p in periods[:4]] == [365, 365, 365, 366]  # the last one spans Feb 29
    assert periods[3].end == date(2028, 2, 28)
    assert all(p.factor == 1 for p in periods)


def test_quarterly_calendar_first_partial_period() -> None:
    k = contract(date(2026, 1, 1))
    charge = fee(
        frequency=Frequency.QUARTERLY, unit_price=Decimal("300.00"), start=date(2026, 2, 15)
    )
    first, second = billing_periods(charge, k, date(2026, 4, 1))
    assert (first.start, first.end, first.bill_date) == (
        date(2026, 2, 15),
        date(2026, 3, 31),
        date(2026, 2, 15),
    )
    assert (first.days, first.full_period_days, first.factor) == (45, 90, Fraction(1, 2))
    assert prorated(charge.terms, first.factor, "EUR", Rounding.HALF_UP) == Money.of("150", "EUR")
    assert (second.start, second.end, second.factor) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
        Fraction(1),
    )
    # in a leap year the first quarter has 91 days
    leap_charge = replace(charge, start=date(2024, 2, 15))
    leap = billing_periods(leap_charge, contract(date(2024, 1, 1)), date(2024, 2, 15))
    assert (leap[0].days, leap[0].full_period_days) == (46, 91)


def test_annual_calendar_in_advance() -> None:
    k = contract(date(2026, 3, 1))
    charge = fee(frequency=Frequency.ANNUAL, unit_price=Decimal("1200.00"))
    first, second = billing_periods(charge, k, date(2027, 1, 1))
    assert (first.start, first.end, first.bill_date) == (
        date(2026, 3, 1),
        date(2026, 12, 31),
        date(2026, 3, 1),
    )
    assert first.factor == Fraction(306, 365)
    # 1200 x 306 / 365 = 1006.027...
    assert prorated(charge.terms, first.factor, "EUR", Rounding.HALF_UP) == Money.of(
        "1006.03", "EUR"
    )
    assert (second.start, second.end, second.factor) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
        Fraction(1),
    )
    leap = billing_periods(charge, contract(date(2024, 3, 1)), date(2024, 3, 1))
    assert leap[0].factor == Fraction(306, 366)


def test_annual_anniversary_in_advance_bills_once_a_year() -> None:
    k = contract(date(2026, 3, 1))
    charge = fee(frequency=Frequency.ANNUAL, alignment=Alignment.ANNIVERSARY)
    periods = billing_periods(charge, k, date(2027, 2, 28))
    assert len(periods) == 1
    assert (periods[0].start, periods[0].end) == (date(2026, 3, 1), date(2027, 2, 28))


def test_arrears_bill_the_day_after_the_period_and_only_up_to_the_date() -> None:
    k = contract(date(2026, 1, 10))
    charge = fee(timing=Timing.ARREARS)
    assert billing_periods(charge, k, date(2026, 1, 31)) == []
    (jan,) = billing_periods(charge, k, date(2026, 2, 1))
    assert (jan.start, jan.end, jan.bill_date, jan.factor) == (
        date(2026, 1, 10),
        date(2026, 1, 31),
        date(2026, 2, 1),
        Fraction(22, 31),
    )
    advance = billing_periods(fee(), k, date(2026, 2, 1))
    assert [p.bill_date for p in advance] == [date(2026, 1, 10), date(2026, 2, 1)]


def test_last_partial_period_is_prorated_by_day() -> None:
    k = contract(date(2026, 1, 1), date(2026, 12, 31))
    periods = billing_periods(fee(end=date(2026, 3, 10)), k, FAR)
    assert spans(periods)[-1] == (date(2026, 3, 1), date(2026, 3, 10))
    assert periods[-1].factor == Fraction(10, 31)
    # a February end in a leap year counts 29 days
    periods = billing_periods(fee(end=date(2024, 2, 10)), contract(date(2024, 1, 1)), FAR)
    assert periods[-1].factor == Fraction(10, 29)


def test_charges_without_proration_bill_partial_periods_in_full() -> None:
    k = contract(date(2026, 1, 10))
    (jan,) = billing_periods(fee(prorate=False), k, date(2026, 1, 31))
    assert (jan.days, jan.factor) == (22, Fraction(1))


def test_period_keys_are_stable_and_hashable() -> None:
    k = contract(date(2026, 1, 1))
    periods = billing_periods(fee(), k, date(2026, 2, 1))
    assert [p.key for p in periods] == ["fee:2026-01-01:2026-01-31", "fee:2026-02-01:2026-02-28"]
    assert periods == billing_periods(fee(), k, date(2026, 2, 1))
    assert len(set(periods) | set(billing_periods(fee(), k, date(2026, 2, 1)))) == 2


def test_renewal_dates_do_not_drift() -> None:
    k = contract(date(2024, 1, 1), date(2024, 12, 31), auto_renew=True)
    assert renewal_dates(k, date(2026, 6, 1)) == [date(2025, 1, 1), date(2026, 1, 1)]
    monthly = contract(date(2024, 1, 1), date(2024, 1, 30), auto_renew=True, renewal_term_months=1)
    assert renewal_dates(monthly, date(2024, 4, 30)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert renewal_dates(contract(date(2024, 1, 1), date(2024, 12, 31)), FAR) == []


def test_auto_renewal_keeps_an_open_charge_running() -> None:
    k = contract(date(2025, 1, 1), date(2025, 12, 31), auto_renew=True)
    periods = billing_periods(fee(frequency=Frequency.ANNUAL), k, date(2027, 1, 1))
    assert [p.start for p in periods] == [date(2025, 1, 1), date(2026, 1, 1), date(2027, 1, 1)]
    fixed = contract(date(2025, 1, 1), date(2025, 12, 31))
    assert len(billing_periods(fee(frequency=Frequency.ANNUAL), fixed, date(2027, 1, 1))) == 1


# -- properties --------------------------------------------------------------------------------

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=300, deadline=None)
@given(
    start=days,
    length=st.integers(min_value=0, max_value=900),
    frequency=st.sampled_from(list(Frequency)),
    alignment=st.sampled_from(list(Alignment)),
    timing=st.sampled_from(list(Timing)),
    anchor_back=st.integers(min_value=0, max_value=400),
)
def test_periods_tile_the_active_interval(
    start: date,
    length: int,
    frequency: Frequency,
    alignment: Alignment,
    timing: Timing,
    anchor_back: int,
) -> None:
    end = start + timedelta(days=length)
    anchor = start - timedelta(days=anchor_back)
    k = contract(anchor)
    charge = fee(
        frequency=frequency, alignment=alignment, timing=timing, start=start, end=end, anchor=anchor
    )
    periods = billing_periods(charge, k, FAR)
    assert periods[0].start == start
    assert periods[-1].end == end
    for before, after in zip(periods, periods[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)  # no gap, no overlap
        assert after.bill_date > before.bill_date
    for p in periods:
        assert 0 < p.factor <= 1
        assert p.factor == Fraction(p.days, p.full_period_days)
        assert p.bill_date == (p.start if timing is Timing.ADVANCE else p.end + timedelta(days=1))
        assert p.full_period_days <= {1: 31, 3: 92, 12: 366}[frequency.months]
    assert sum(p.days for p in periods) == length + 1
    # only the first and the last period may be partial
    assert all(not p.is_partial for p in periods[1:-1])


@settings(max_examples=200, deadline=None)
@given(
    year=st.integers(min_value=2020, max_value=2030),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=31),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    quantity=st.integers(min_value=1, max_value=50),
    alignment=st.sampled_from(list(Alignment)),
)
def test_a_year_of_monthly_periods_bills_twelve_times_the_price(
    year: int, month: int, day: int, price: Decimal, quantity: int, alignment: Alignment
) -> None:
    if alignment is Alignment.CALENDAR:
        day = 1  # calendar-aligned start
    start = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    end = add_months(start, 12) - timedelta(days=1)
    k = contract(start, end)
    charge = fee(quantity=Decimal(quantity), unit_price=price, alignment=alignment)
    periods = billing_periods(charge, k, FAR)
    assert len(periods) == 12
    total = sum(
        (
            prorated(Terms(Decimal(quantity), price), p.factor, "EUR", Rounding.HALF_UP).amount
            for p in periods
        ),
        Decimal(0),
    )
    assert total == 12 * quantity * price


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=Decimal(-(10**6)), max_value=Decimal(10**6), places=4),
    rounding=st.sampled_from(list(Rounding)),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
)
def test_exact_rounding_matches_decimal_rounding(
    value: Decimal, rounding: Rounding, currency: str
) -> None:
    assert money_of(Fraction(value), currency, rounding) == Money.rounded(value, currency, rounding)


def test_a_third_of_a_cent_is_decided_exactly() -> None:
    third = Terms(Decimal(1), Decimal("0.01"))
    assert prorated(third, Fraction(1, 3), "EUR", Rounding.HALF_UP) == Money.of("0.00", "EUR")
    half = Terms(Decimal(1), Decimal("0.01"))
    assert prorated(half, Fraction(1, 2), "EUR", Rounding.HALF_UP) == Money.of("0.01", "EUR")
    assert prorated(half, Fraction(1, 2), "EUR", Rounding.HALF_EVEN) == Money.of("0.00", "EUR")
    minus = Terms(Decimal(-1), Decimal("0.01"))
    assert prorated(minus, Fraction(1, 2), "EUR", Rounding.HALF_UP) == Money.of("-0.01", "EUR")
