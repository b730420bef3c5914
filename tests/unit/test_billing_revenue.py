"""Revenue recognition: advance-billed lines spread over their service months by day."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.billing import BillingError, recognition_schedule
from billfold.money import Money


def schedule(amount: str, start: date, end: date, currency: str = "EUR") -> list[tuple[str, str]]:
    return [
        (m, str(p.amount)) for m, p in recognition_schedule(Money.of(amount, currency), start, end)
    ]


def test_a_month_in_one_piece() -> None:
    assert schedule("990.00", date(2026, 3, 1), date(2026, 3, 31)) == [("2026-03", "990.00")]


def test_split_by_days_with_largest_remainder() -> None:
    # Jan 15-31 is 17 days, Feb 1-29 (leap year) 29 days: 590 x 17/46 = 218.043..,
    # 590 x 29/46 = 371.956..; the spare cent goes to the larger remainder
    assert schedule("590.00", date(2024, 1, 15), date(2024, 2, 29)) == [
        ("2024-01", "218.04"),
        ("2024-02", "371.96"),
    ]


def test_an_annual_fee_is_recognised_month_by_month() -> None:
    parts = schedule("365.00", date(2025, 1, 1), date(2025, 12, 31))
    assert parts == [
        (f"2025-{m:02d}", f"{d}.00")
        for m, d in enumerate([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], start=1)
    ]
    leap = schedule("1200.00", date(2024, 3, 1), date(2025, 2, 28))  # 365 days, spans no Feb 29
    assert leap[0] == ("2024-03", "101.92")  # 1200 x 31 / 365 = 101.917..
    assert sum(Decimal(p) for _, p in leap) == Decimal("1200.00")


def test_credits_reverse_the_same_way() -> None:
    assert schedule("-542.90", date(2026, 3, 15), date(2026, 4, 14)) == [
        ("2026-03", "-297.72"),  # 542.90 x 17 / 31 = 297.719..
        ("2026-04", "-245.18"),  # 542.90 x 14 / 31 = 245.180..
    ]


def test_currencies_without_minor_units() -> None:
    assert schedule("100", date(2026, 1, 31), date(2026, 2, 2), "JPY") == [
        ("2026-01", "33"),
        ("2026-02", "67"),
    ]


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(BillingError, match="ends 2026-01-01 before it starts 2026-01-02"):
        recognition_schedule(Money.of("1", "EUR"), date(2026, 1, 2), date(2026, 1, 1))


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=-(10**9), max_value=10**9),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=1200),
)
def test_the_parts_always_sum_to_the_amount(cents: int, start: date, length: int) -> None:
    amount = Money.from_minor(cents, "EUR")
    end = start + timedelta(days=length)
    parts = recognition_schedule(amount, start, end)
    assert sum((p for _, p in parts), Money.zero("EUR")) == amount
    months = [m for m, _ in parts]
    assert months[0] == f"{start:%Y-%m}" and months[-1] == f"{end:%Y-%m}"
    assert (
        len(months)
        == len(set(months))
        == (end.year - start.year) * 12 + end.month - start.month + 1
    )
    assert all((p.amount >= 0) == (cents >= 0) or p.is_zero() for _, p in parts)


def test_a_credit_splits_into_served_months_and_months_to_serve() -> None:
    from billfold.billing.revenue import served_and_unserved

    amount = Money.of("542.90", "EUR")
    # credited in April on March 15 - April 14: March was served, April is still to serve
    served, rest = served_and_unserved(
        amount, date(2026, 3, 15), date(2026, 4, 14), date(2026, 4, 2)
    )
    assert str(served.amount) == "297.72" and [(m, str(p.amount)) for m, p in rest] == [
        ("2026-04", "245.18")
    ]
    # credited before the service starts: nothing served; after it ended: all of it
    served, rest = served_and_unserved(
        amount, date(2026, 3, 15), date(2026, 4, 14), date(2026, 3, 1)
    )
    assert served.is_zero() and sum((p for _, p in rest), Money.zero("EUR")) == amount
    served, rest = served_and_unserved(
        amount, date(2026, 3, 15), date(2026, 4, 14), date(2026, 5, 9)
    )
    assert served == amount and rest == []


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(min_value=1, max_value=10**9),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=800),
    credited=st.dates(min_value=date(2019, 6, 1), max_value=date(2033, 6, 1)),
)
def test_served_and_unserved_always_add_up_to_the_credit(
    cents: int, start: date, days: int, credited: date
) -> None:
    from billfold.billing.revenue import served_and_unserved

    amount = Money.from_minor(cents, "EUR")
    served, rest = served_and_unserved(amount, start, start + timedelta(days=days), credited)
    assert served + sum((p for _, p in rest), Money.zero("EUR")) == amount
    cut = f"{credited.year:04d}-{credited.month:02d}"
    assert all(m >= cut for m, _ in rest)
