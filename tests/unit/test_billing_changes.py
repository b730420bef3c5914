"""Mid-period changes: prorated credits and charges, arrears pieces, cancellations, renewals."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.billing import (
    Alignment,
    BillableLine,
    ChargeChange,
    Contract,
    Frequency,
    RecurringCharge,
    RetroactiveChange,
    Terms,
    Timing,
    billing_periods,
    change_lines,
    due_lines,
    effective_changes,
    validate_change,
)

FAR = date(2030, 1, 1)
K = Contract("K-1", "CUST-1", "ACME-DE", "EUR", date(2026, 1, 1), number="C-2026-001")


def seats(**kw: object) -> RecurringCharge:
    args: dict[str, object] = {"quantity": Decimal(10), "unit_price": Decimal("99.00")}
    args.update(kw)
    return RecurringCharge("seats", "SEAT", "Seats", **args)  # type: ignore[arg-type]


def run(
    charge: RecurringCharge,
    changes: list[ChargeChange],
    up_to: date,
    contract: Contract = K,
) -> list[BillableLine]:
    return due_lines(contract, [charge], changes, {}, [], [], up_to, set())


def show(lines: list[BillableLine]) -> list[tuple[str, str, str]]:
    return [(ln.key, str(ln.amount.amount), ln.bill_date.isoformat()) for ln in lines]


def test_mid_period_cancellation_in_advance_credits_the_unused_days() -> None:
    cancel = ChargeChange("seats", date(2026, 3, 15), cancel=True)
    lines = run(seats(), [cancel], FAR)
    assert show(lines) == [
        ("seats:2026-01-01:2026-01-31", "990.00", "2026-01-01"),
        ("seats:2026-02-01:2026-02-28", "990.00", "2026-02-01"),
        ("seats:2026-03-01:2026-03-31", "990.00", "2026-03-01"),
        # 17 unused days of 31: 990 x 17 / 31 = 542.903...
        ("seats:2026-03-15:2026-03-31:credit", "-542.90", "2026-03-15"),
    ]
    credit = lines[-1]
    assert (credit.service_start, credit.service_end) == (date(2026, 3, 15), date(2026, 3, 31))
    assert credit.quantity == -10 and credit.unit_price == Decimal("99.00")
    assert credit.billed_in_advance
    assert "cancelled from 2026-03-15" in credit.description
    # before the cancellation day, the credit is not due yet
    assert [ln.key for ln in run(seats(), [cancel], date(2026, 3, 14))][-1].endswith("03-31")


def test_mid_period_cancellation_in_arrears_bills_up_to_the_day_before() -> None:
    cancel = ChargeChange("seats", date(2026, 3, 15), cancel=True)
    lines = run(seats(timing=Timing.ARREARS), [cancel], FAR)
    assert show(lines) == [
        ("seats:2026-01-01:2026-01-31", "990.00", "2026-02-01"),
        ("seats:2026-02-01:2026-02-28", "990.00", "2026-03-01"),
        ("seats:2026-03-01:2026-03-14", "447.10", "2026-03-15"),  # 990 x 14 / 31
    ]


def test_leap_february_cancellation_counts_29_days() -> None:
    k = Contract("K-2", "CUST-1", "ACME-DE", "EUR", date(2024, 1, 1))
    cancel = ChargeChange("seats", date(2024, 2, 15), cancel=True)
    lines = run(seats(quantity=Decimal(1), unit_price=Decimal("290.00")), [cancel], FAR, k)
    assert show(lines)[-1] == ("seats:2024-02-15:2024-02-29:credit", "-150.00", "2024-02-15")


def test_cancellation_on_a_31st_anchor() -> None:
    k = Contract("K-3", "CUST-1", "ACME-DE", "EUR", date(2025, 1, 31))
    charge = seats(
        quantity=Decimal(1), unit_price=Decimal("100.00"), alignment=Alignment.ANNIVERSARY
    )
    cancel = ChargeChange("seats", date(2025, 2, 14), cancel=True)
    lines = run(charge, [cancel], FAR, k)
    # the period Jan 31 - Feb 27 has 28 days; Feb 14 - Feb 27 is half of it
    assert show(lines) == [
        ("seats:2025-01-31:2025-02-27", "100.00", "2025-01-31"),
        ("seats:2025-02-14:2025-02-27:credit", "-50.00", "2025-02-14"),
    ]


def test_upgrade_in_advance_credits_old_terms_and_charges_new() -> None:
    upgrade = ChargeChange("seats", date(2026, 3, 15), quantity=Decimal(12))
    lines = run(seats(), [upgrade], date(2026, 4, 1))
    assert show(lines)[2:] == [
        ("seats:2026-03-01:2026-03-31", "990.00", "2026-03-01"),
        ("seats:2026-03-15:2026-03-31:credit", "-542.90", "2026-03-15"),
        ("seats:2026-03-15:2026-03-31", "651.48", "2026-03-15"),  # 1188 x 17 / 31
        ("seats:2026-04-01:2026-04-30", "1188.00", "2026-04-01"),
    ]
    charge = lines[4]
    assert (charge.quantity, charge.service_start, charge.service_end) == (
        Decimal(12),
        date(2026, 3, 15),
        date(2026, 3, 31),
    )
    assert charge.description == "Seats: 12 x 99.00, 2026-03-15 to 2026-03-31, 17/31 days"


def test_price_change_in_arrears_splits_the_period() -> None:
    change = ChargeChange("seats", date(2026, 3, 15), unit_price=Decimal("118.80"))
    lines = run(seats(timing=Timing.ARREARS), [change], date(2026, 4, 1))
    assert show(lines)[2:] == [
        ("seats:2026-03-01:2026-03-14", "447.10", "2026-04-01"),  # 990 x 14 / 31
        ("seats:2026-03-15:2026-03-31", "651.48", "2026-04-01"),  # 1188 x 17 / 31
    ]


def test_a_change_on_the_first_day_of_a_period_just_changes_that_period() -> None:
    change = ChargeChange("seats", date(2026, 3, 1), quantity=Decimal(5))
    lines = run(seats(), [change], date(2026, 3, 1))
    assert show(lines)[-1] == ("seats:2026-03-01:2026-03-31", "495.00", "2026-03-01")
    assert not any(ln.key.endswith("credit") for ln in lines)


def test_two_changes_in_one_advance_period_chain() -> None:
    changes = [
        ChargeChange("seats", date(2026, 3, 11), quantity=Decimal(12)),
        ChargeChange("seats", date(2026, 3, 21), quantity=Decimal(15)),
    ]
    lines = [ln for ln in run(seats(), changes, date(2026, 3, 31)) if ln.service_end.month == 3]
    keys = [ln.key for ln in lines]
    assert keys == [
        "seats:2026-03-01:2026-03-31",
        "seats:2026-03-11:2026-03-31:credit",
        "seats:2026-03-11:2026-03-31",
        "seats:2026-03-21:2026-03-31:credit",
        "seats:2026-03-21:2026-03-31",
    ]
    assert lines[3].quantity == -12  # the second credit takes back the first change's terms
    # net: 10 seats for 10 days, 12 for 10 days, 15 for 11 days, at 99/31 a seat-day
    net = sum((ln.amount.amount for ln in lines), Decimal(0))
    exact = Decimal(99) * (10 * 10 + 12 * 10 + 15 * 11) / 31
    assert abs(net - exact) <= Decimal("0.02")


def test_change_lines_for_a_single_change() -> None:
    period = billing_periods(seats(), K, date(2026, 3, 1))[-1]
    change = ChargeChange("seats", date(2026, 3, 15), quantity=Decimal(12))
    credit, charge = change_lines(seats(), period, change, contract=K)
    assert (str(credit.amount), str(charge.amount)) == ("-542.90 EUR", "651.48 EUR")
    arrears = seats(timing=Timing.ARREARS)
    period = billing_periods(arrears, K, date(2026, 4, 1))[-1]
    before, after = change_lines(arrears, period, change, contract=K)
    assert (before.service_end, after.service_start) == (date(2026, 3, 14), date(2026, 3, 15))
    cancel = ChargeChange("seats", date(2026, 3, 15), cancel=True)
    (only,) = change_lines(arrears, period, cancel, contract=K)
    assert (only.service_end, only.bill_date) == (date(2026, 3, 14), date(2026, 3, 15))
    old = Terms(Decimal(20), Decimal("99.00"))
    credit, _ = change_lines(
        seats(), billing_periods(seats(), K, date(2026, 3, 1))[-1], change, contract=K, before=old
    )
    assert str(credit.amount) == "-1085.81 EUR"  # 1980 x 17 / 31 = 1085.806...
    outside = ChargeChange("seats", date(2026, 4, 2), quantity=Decimal(12))
    assert change_lines(seats(), period, outside, contract=K) == []


def test_renewal_uplift_is_a_price_change_on_the_renewal_day() -> None:
    k = Contract(
        "K-4",
        "CUST-1",
        "ACME-DE",
        "EUR",
        date(2025, 1, 1),
        date(2025, 12, 31),
        auto_renew=True,
        uplift_percent=Decimal(5),
    )
    annual = seats(quantity=Decimal(1), unit_price=Decimal("1200.00"), frequency=Frequency.ANNUAL)
    lines = run(annual, [], date(2027, 1, 1), k)
    assert show(lines) == [
        ("seats:2025-01-01:2025-12-31", "1200.00", "2025-01-01"),
        ("seats:2026-01-01:2026-12-31", "1260.00", "2026-01-01"),
        ("seats:2027-01-01:2027-12-31", "1323.00", "2027-01-01"),  # compounded
    ]
    uplifts = effective_changes(annual, k, [], date(2027, 1, 1))
    assert [(c.effective, c.unit_price, c.reason) for c in uplifts] == [
        (date(2026, 1, 1), Decimal("1260.00"), "renewal uplift 5 %"),
        (date(2027, 1, 1), Decimal("1323.00"), "renewal uplift 5 %"),
    ]


def test_renewal_inside_a_period_is_prorated_like_any_change() -> None:
    k = Contract(
        "K-5",
        "CUST-1",
        "ACME-DE",
        "EUR",
        date(2025, 2, 1),
        date(2026, 1, 31),
        auto_renew=True,
        uplift_percent=Decimal("3.5"),
    )
    quarterly = seats(
        quantity=Decimal(1), unit_price=Decimal("99.99"), frequency=Frequency.QUARTERLY
    )
    lines = [ln for ln in run(quarterly, [], date(2026, 4, 1), k) if ln.service_start.year == 2026]
    assert show(lines) == [
        ("seats:2026-01-01:2026-03-31", "99.99", "2026-01-01"),
        # 99.99 x 1.035 = 103.48965 -> 103.49 from Feb 1; 59 of the quarter's 90 days
        ("seats:2026-02-01:2026-03-31:credit", "-65.55", "2026-02-01"),
        ("seats:2026-02-01:2026-03-31", "67.84", "2026-02-01"),
        ("seats:2026-04-01:2026-06-30", "103.49", "2026-04-01"),
    ]


def test_a_negotiated_renewal_price_replaces_the_uplift() -> None:
    k = Contract(
        "K-6",
        "CUST-1",
        "ACME-DE",
        "EUR",
        date(2025, 1, 1),
        date(2025, 12, 31),
        auto_renew=True,
        uplift_percent=Decimal(10),
    )
    annual = seats(quantity=Decimal(1), unit_price=Decimal("1000.00"), frequency=Frequency.ANNUAL)
    deal = ChargeChange("seats", date(2026, 1, 1), unit_price=Decimal("1020.00"))
    assert show(run(annual, [deal], date(2026, 1, 1), k))[-1][1] == "1020.00"
    more = ChargeChange("seats", date(2026, 1, 1), quantity=Decimal(2))
    assert show(run(annual, [more], date(2026, 1, 1), k))[-1][1] == "2200.00"


def test_changes_may_not_reach_back_into_billed_service() -> None:
    billed = {ln.key for ln in run(seats(), [], date(2026, 4, 1))}  # Jan - Apr in advance
    inside_april = ChargeChange("seats", date(2026, 4, 10), quantity=Decimal(12))
    validate_change(seats(), inside_april, billed)  # credited and re-charged: fine
    with pytest.raises(RetroactiveChange, match=r"2026-04-01 to 2026-04-30"):
        validate_change(seats(), ChargeChange("seats", date(2026, 3, 20), cancel=True), billed)
    arrears = seats(timing=Timing.ARREARS)
    billed = {ln.key for ln in run(arrears, [], date(2026, 4, 1))}  # Jan - Mar in arrears
    validate_change(arrears, inside_april, billed)
    with pytest.raises(RetroactiveChange, match="credit memo"):
        validate_change(arrears, ChargeChange("seats", date(2026, 3, 20), cancel=True), billed)


def test_charges_without_proration_ignore_mid_period_changes() -> None:
    upgrade = ChargeChange("seats", date(2026, 3, 15), quantity=Decimal(12))
    lines = run(seats(prorate=False), [upgrade], date(2026, 4, 1))
    assert [str(ln.amount.amount) for ln in lines] == ["990.00", "990.00", "990.00", "1188.00"]


@settings(max_examples=200, deadline=None)
@given(
    offset=st.integers(min_value=1, max_value=89),
    old=st.integers(min_value=1, max_value=40),
    new=st.integers(min_value=1, max_value=40),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2),
    cancel=st.booleans(),
)
def test_advance_and_arrears_agree_on_what_a_changed_period_costs(
    offset: int, old: int, new: int, price: Decimal, cancel: bool
) -> None:
    """Credit-and-recharge (advance) and split pieces (arrears) bill the same, give or take the
    rounding of each line."""
    effective = date(2026, 4, 1) + timedelta(days=offset)  # inside Q2 (91 days)
    change = (
        ChargeChange("seats", effective, cancel=True)
        if cancel
        else ChargeChange("seats", effective, quantity=Decimal(new))
    )
    totals = []
    for timing in Timing:
        charge = seats(
            quantity=Decimal(old), unit_price=price, frequency=Frequency.QUARTERLY, timing=timing
        )
        q2 = [date(2026, 4, 1), date(2026, 6, 30)]
        lines = [ln for ln in run(charge, [change], FAR) if q2[0] <= ln.service_start <= q2[1]]
        totals.append(sum((ln.amount.amount for ln in lines), Decimal(0)))
    served_old = offset
    served_new = 0 if cancel else 91 - offset
    exact = price * (old * served_old + new * served_new) / 91
    for amount in totals:
        assert abs(amount - exact) <= Decimal("0.02")
    assert abs(totals[0] - totals[1]) <= Decimal("0.03")
