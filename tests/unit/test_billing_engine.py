"""The billing engine: exactly once, catch-up, backfill, usage, timesheets, milestones, PO limit."""

import ast
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.billing import (
    Alignment,
    BillableLine,
    BillingError,
    Charge,
    ChargeChange,
    Contract,
    Frequency,
    GraduatedTiers,
    InvalidContract,
    Milestone,
    MilestoneCompletedTwice,
    OneTimeCharge,
    OverlappingCharges,
    PerUnit,
    PurchaseOrderExceeded,
    RecurringCharge,
    Tier,
    TimeAndMaterials,
    TimesheetEntry,
    Timing,
    UsageCharge,
    complete_milestone,
    due_lines,
    usage_requests,
    validate_contract,
)
from billfold.billing.engine import UsageKey
from billfold.domain.invoice_calc import compute_invoice
from billfold.domain.tax import TaxComponent
from billfold.money import Money, Rounding

K = Contract(
    "K-1",
    "CUST-1",
    "ACME-DE",
    "EUR",
    date(2026, 1, 1),
    number="C-2026-001",
    bill_to="PARENT-1",
    grouping_key="emea",
    payment_terms="NET30",
)
SEATS = RecurringCharge("seats", "SEAT", "Seats", Decimal(10), Decimal("99.00"))
SETUP = OneTimeCharge("setup", "SETUP", "Onboarding", date(2026, 1, 15), Money.of("500", "EUR"))
API = UsageCharge(
    "api",
    "API",
    "API calls",
    "api.calls",
    GraduatedTiers((Tier(Decimal(1000), Decimal("0.01")), Tier(None, Decimal("0.005")))),
    included=Decimal(100),
    minimum=Money.of("20.00", "EUR"),
)
TM = TimeAndMaterials(
    "tm", "PS", "Professional services", {"engineer": Decimal(120), "architect": Decimal(180)}
)


def run(
    up_to: date,
    billed: set[str] | None = None,
    *,
    charges: list[Charge] | None = None,
    changes: list[ChargeChange] | None = None,
    usage: Mapping[UsageKey, Decimal] | None = None,
    entries: list[TimesheetEntry] | None = None,
    milestones: list[Milestone] | None = None,
    contract: Contract = K,
    po_billed: Money | None = None,
) -> list[BillableLine]:
    return due_lines(
        contract,
        charges if charges is not None else [SEATS],
        changes or [],
        usage or {},
        entries or [],
        milestones or [],
        up_to,
        billed or set(),
        po_billed=po_billed,
    )


def keys(lines: list[BillableLine]) -> set[str]:
    return {k for ln in lines for k in ln.covers}


def test_rerunning_the_same_date_bills_nothing_twice() -> None:
    first = run(date(2026, 2, 1))
    assert [ln.key for ln in first] == [
        "seats:2026-01-01:2026-01-31",
        "seats:2026-02-01:2026-02-28",
    ]
    assert run(date(2026, 2, 1), keys(first)) == []


def test_a_run_after_skipped_dates_catches_up_every_missed_period_once() -> None:
    january = run(date(2026, 1, 1))
    later = run(date(2026, 4, 10), keys(january))
    assert [ln.service_start.month for ln in later] == [2, 3, 4]
    assert run(date(2026, 4, 10), keys(january) | keys(later)) == []


def test_a_backfill_bills_only_what_is_missing() -> None:
    billed = {"seats:2026-01-01:2026-01-31", "seats:2026-03-01:2026-03-31"}
    assert [ln.key for ln in run(date(2026, 3, 31), billed)] == ["seats:2026-02-01:2026-02-28"]


def test_lines_carry_what_invoicing_and_revenue_need() -> None:
    (line,) = run(date(2026, 1, 1))
    assert line.contract_id == "K-1" and line.charge_id == "seats" and line.source == "charge"
    assert (line.quantity, line.unit_price, str(line.amount)) == (
        Decimal(10),
        Decimal("99.00"),
        "990.00 EUR",
    )
    assert line.billed_in_advance
    assert (line.group.bill_to, line.group.entity, line.group.currency) == (
        "PARENT-1",
        "ACME-DE",
        "EUR",
    )
    assert (line.group.grouping_key, line.group.payment_terms) == ("emea", "NET30")
    vat = (TaxComponent("DE", "S", Decimal(19)),)
    mid = Contract("K-2", "CUST-1", "ACME-DE", "EUR", date(2026, 1, 10))
    lines = run(date(2026, 1, 10), contract=mid)  # 22/31 of a month
    invoice = compute_invoice([ln.to_line_input(vat) for ln in [*lines, line]], "EUR")
    assert [str(c.net.amount) for c in invoice.lines] == ["702.58", "990.00"]  # 990 x 22 / 31
    assert invoice.lines[0].input.note == "10 x 99.00 x 22/31"
    assert invoice.lines[0].input.period_start == date(2026, 1, 10)
    cancel = ChargeChange("seats", date(2026, 1, 25), cancel=True)
    credit = run(date(2026, 1, 25), contract=mid, changes=[cancel])[-1]
    credit_input = credit.to_line_input(vat)
    assert (credit_input.quantity, credit_input.unit_price) == (Decimal(-1), Decimal("223.55"))
    assert str(compute_invoice([credit_input], "EUR").net_total) == "-223.55 EUR"  # 990 x 7/31


def test_one_time_fee_and_its_cancellation() -> None:
    lines = run(date(2026, 1, 31), charges=[SEATS, SETUP])
    setup = [ln for ln in lines if ln.charge_id == "setup"]
    assert [(ln.key, str(ln.amount), ln.bill_date) for ln in setup] == [
        ("setup:2026-01-15:2026-01-15", "500.00 EUR", date(2026, 1, 15))
    ]
    assert not setup[0].billed_in_advance
    cancel = ChargeChange("setup", date(2026, 1, 10), cancel=True)
    assert not any(
        ln.charge_id == "setup" for ln in run(date(2026, 1, 31), charges=[SETUP], changes=[cancel])
    )


def test_usage_periods_need_their_totals() -> None:
    requests = usage_requests(K, [API], [], date(2026, 3, 15), set())
    assert [r.usage_key for r in requests] == [
        ("api.calls", date(2026, 1, 1), date(2026, 1, 31)),
        ("api.calls", date(2026, 2, 1), date(2026, 2, 28)),
    ]
    usage = {requests[0].usage_key: Decimal(2600)}  # February's total is not in yet
    lines = run(date(2026, 3, 15), charges=[API], usage=usage)
    jan = "API calls, 2026-01-01 to 2026-01-31, 2600 used, 100 included"
    assert [(ln.description, str(ln.amount.amount)) for ln in lines] == [
        (f"{jan}: units 1-1000 at 0.01", "10.00"),
        (f"{jan}: units 1001-2500 at 0.005", "7.50"),
        (f"{jan}: minimum commitment top-up to 20.00 EUR", "2.50"),
    ]
    assert {ln.source for ln in lines} == {"usage:api.calls"}
    assert all(ln.bill_date == date(2026, 2, 1) and not ln.billed_in_advance for ln in lines)
    assert usage_requests(K, [API], [], date(2026, 3, 15), keys(lines))[0].start == date(2026, 2, 1)
    (nothing,) = run(
        date(2026, 3, 15), keys(lines), charges=[API], usage={requests[1].usage_key: Decimal(0)}
    )
    assert str(nothing.amount) == "20.00 EUR"  # the minimum still applies


def test_usage_minimum_is_prorated_for_a_partial_period() -> None:
    api = UsageCharge(
        "api",
        "API",
        "API calls",
        "api.calls",
        PerUnit(Decimal("0.01")),
        minimum=Money.of("31.00", "EUR"),
        start=date(2026, 1, 21),
    )
    usage = {("api.calls", date(2026, 1, 21), date(2026, 1, 31)): Decimal(0)}
    (line,) = run(date(2026, 2, 1), charges=[api], usage=usage)
    assert str(line.amount) == "11.00 EUR"  # 31.00 x 11 / 31
    api_free = UsageCharge("api", "API", "API calls", "api.calls", PerUnit(Decimal("0.01")))
    (zero,) = run(
        date(2026, 2, 1),
        charges=[api_free],
        usage={("api.calls", date(2026, 1, 1), date(2026, 1, 31)): Decimal(0)},
    )
    assert zero.amount.is_zero() and zero.description.endswith("0 used: nothing billable")


def test_time_and_materials_bill_approved_hours_once() -> None:
    entries = [
        TimesheetEntry("t1", "tm", "engineer", date(2026, 1, 5), Decimal("7.5")),
        TimesheetEntry("t2", "tm", "engineer", date(2026, 1, 6), Decimal(8)),
        TimesheetEntry("t3", "tm", "architect", date(2026, 1, 6), Decimal(2)),
        TimesheetEntry("t4", "tm", "engineer", date(2026, 1, 7), Decimal(4), approved=False),
    ]
    assert run(date(2026, 1, 31), charges=[TM], entries=entries) == []  # arrears: Feb 1
    lines = run(date(2026, 2, 1), charges=[TM], entries=entries)
    assert [(ln.quantity, ln.unit_price, str(ln.amount.amount), ln.unit_code) for ln in lines] == [
        (Decimal(2), Decimal(180), "360.00", "HUR"),
        (Decimal("15.5"), Decimal(120), "1860.00", "HUR"),
    ]
    assert (
        lines[1].description
        == "Professional services: engineer, 15.5 h at 120, 2026-01-01 to 2026-01-31"
    )
    assert set(lines[1].covers) >= {"tm:timesheet:t1", "tm:timesheet:t2"}
    # t4 approved after January was invoiced: billed on the next run, once
    entries[3] = TimesheetEntry("t4", "tm", "engineer", date(2026, 1, 7), Decimal(4))
    late = run(date(2026, 2, 10), keys(lines), charges=[TM], entries=entries)
    assert [(ln.key, str(ln.amount.amount)) for ln in late] == [
        ("tm:2026-01-01:2026-01-31:engineer:t4", "480.00")
    ]
    assert run(date(2026, 2, 10), keys(lines) | keys(late), charges=[TM], entries=entries) == []


def test_timesheet_entries_are_checked() -> None:
    bad_role = [TimesheetEntry("t1", "tm", "designer", date(2026, 1, 5), Decimal(1))]
    with pytest.raises(
        BillingError, match=r"role 'designer' is not on the rate card \(architect, engineer\)"
    ):
        run(date(2026, 2, 1), charges=[TM], entries=bad_role)
    unknown = [TimesheetEntry("t1", "nope", "engineer", date(2026, 1, 5), Decimal(1))]
    with pytest.raises(BillingError, match="no time-and-materials charge 'nope'"):
        run(date(2026, 2, 1), charges=[TM], entries=unknown)


def test_milestones_bill_once_when_complete() -> None:
    valued = Contract(
        "K-3", "CUST-1", "ACME-DE", "EUR", date(2026, 1, 1), value=Money.of("10000", "EUR")
    )
    design = Milestone("m1", "MS", "Design sign-off", percent=Decimal(25))
    assert run(date(2026, 12, 31), charges=[], milestones=[design], contract=valued) == []
    done = complete_milestone(valued, design, date(2026, 3, 3))
    (line,) = run(date(2026, 12, 31), charges=[], milestones=[done], contract=valued)
    assert (line.key, str(line.amount), line.bill_date, line.source) == (
        "m1:milestone",
        "2500.00 EUR",
        date(2026, 3, 3),
        "milestone",
    )
    # the key does not depend on the date: a corrected date does not bill it again
    moved = complete_milestone(valued, design, date(2026, 3, 4))
    assert (
        run(date(2026, 12, 31), {"m1:milestone"}, charges=[], milestones=[moved], contract=valued)
        == []
    )
    with pytest.raises(MilestoneCompletedTwice, match="'m1' was already completed on 2026-03-03"):
        complete_milestone(valued, done, date(2026, 4, 1))
    with pytest.raises(MilestoneCompletedTwice, match="contract K-3: milestone 'm1'"):
        run(date(2026, 12, 31), charges=[], milestones=[done, moved], contract=valued)
    with pytest.raises(InvalidContract, match="needs the contract's value"):
        run(date(2026, 12, 31), charges=[], milestones=[done])


def test_overlapping_charges_for_one_product_are_refused() -> None:
    other = RecurringCharge(
        "seats-2", "SEAT", "More seats", Decimal(5), Decimal(99), start=date(2026, 6, 1)
    )
    with pytest.raises(OverlappingCharges) as caught:
        validate_contract(K, [SEATS, other])
    assert str(caught.value) == (
        "contract C-2026-001: charges 'seats' (2026-01-01 to open-ended) and 'seats-2' "
        "(2026-06-01 to open-ended) bill the same product 'SEAT' over overlapping dates; "
        "end one before the other starts"
    )
    # a downgrade as cancel-and-replace: the old charge ends the day before the new one starts
    cancel = ChargeChange("seats", date(2026, 6, 1), cancel=True)
    validate_contract(K, [SEATS, other], [cancel])
    lines = run(date(2026, 6, 1), charges=[SEATS, other], changes=[cancel])
    assert lines[-1].key == "seats-2:2026-06-01:2026-06-30"


def on(day: int, **kw: object) -> ChargeChange:
    return ChargeChange("seats", date(2026, 2, day), **kw)  # type: ignore[arg-type]


EARLY = RecurringCharge("x", "X", "X", Decimal(1), Decimal(1), start=date(2025, 12, 1))


@pytest.mark.parametrize(
    ("charges", "changes", "message"),
    [
        ([SEATS, SEATS], [], "charge id\\(s\\) used twice: seats"),
        ([EARLY], [], "starts 2025-12-01, before the contract"),
        ([SEATS], [ChargeChange("nope", date(2026, 2, 1), cancel=True)], "no such charge"),
        ([SEATS], [on(1, cancel=True), on(2, quantity=Decimal(2))], "is cancelled from"),
        ([SEATS], [on(1, quantity=Decimal(2)), on(1, unit_price=Decimal(2))], "already has a"),
        ([API], [ChargeChange("api", date(2026, 2, 1), quantity=Decimal(2))], "only recurring"),
    ],
)
def test_inconsistent_contracts_are_refused(
    charges: list[Charge], changes: list[ChargeChange], message: str
) -> None:
    with pytest.raises(InvalidContract, match=message):
        validate_contract(K, charges, changes)


def test_purchase_order_amount_is_a_hold() -> None:
    limit = Money.of("2500.00", "EUR")
    po = Contract(
        "K-4", "CUST-1", "ACME", "EUR", date(2026, 1, 1), po_number="PO-77", po_amount=limit
    )
    first = run(date(2026, 2, 1), contract=po, po_billed=Money.of("0", "EUR"))
    assert len(first) == 2  # 1,980.00 of 2,500.00
    with pytest.raises(PurchaseOrderExceeded) as caught:
        run(date(2026, 3, 1), keys(first), contract=po, po_billed=Money.of("1980.00", "EUR"))
    assert str(caught.value) == (
        "contract K-4: billing 990.00 EUR now would bring PO PO-77 to 2970.00 EUR, over its "
        "limit of 2500.00 EUR (1980.00 EUR billed before); raise the PO amount or bill less"
    )
    with pytest.raises(BillingError, match="pass po_billed"):
        run(date(2026, 3, 1), contract=po)


def test_billing_imports_no_storage_services_or_entry_points() -> None:
    forbidden = (
        "billfold.store",
        "billfold.services",
        "billfold.cli",
        "billfold.api",
        "sqlalchemy",
    )
    root = Path(__file__).resolve().parents[2] / "src" / "billfold" / "billing"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


# -- exactly once, as a property ---------------------------------------------------------------


class SyntheticUsage(Mapping[UsageKey, Decimal]):
    """A usage total for every (meter, start, end), derived from the dates."""

    def __getitem__(self, key: UsageKey) -> Decimal:
        return Decimal((key[1].toordinal() * 7 + key[2].toordinal()) % 3000)

    def __iter__(self) -> Iterator[UsageKey]:
        return iter(())

    def __len__(self) -> int:
        return 0


START = date(2024, 1, 1)
day_offsets = st.integers(min_value=0, max_value=1100)


@st.composite
def recurring(draw: st.DrawFn, n: int) -> tuple[RecurringCharge, list[ChargeChange]]:
    start = START + timedelta(days=draw(st.integers(0, 400)))
    end = draw(st.one_of(st.none(), st.integers(0, 600).map(lambda d: start + timedelta(days=d))))
    charge = RecurringCharge(
        f"r{n}",
        f"SKU-{n}",
        f"Fee {n}",
        Decimal(draw(st.integers(1, 20))),
        draw(st.decimals(Decimal("0.01"), Decimal(999), places=2)),
        frequency=draw(st.sampled_from(list(Frequency))),
        timing=draw(st.sampled_from(list(Timing))),
        alignment=draw(st.sampled_from(list(Alignment))),
        start=start,
        end=end,
    )
    span = 700 if end is None else (end - start).days
    days = sorted(set(draw(st.lists(st.integers(1, max(span, 1)), max_size=3))))
    changes = []
    for i, d in enumerate(days):
        effective = start + timedelta(days=d)
        if end is not None and effective > end:
            break
        if i == len(days) - 1 and draw(st.booleans()):
            changes.append(ChargeChange(charge.id, effective, cancel=True))
        else:
            changes.append(
                ChargeChange(charge.id, effective, quantity=Decimal(draw(st.integers(1, 30))))
            )
    return charge, changes


@settings(max_examples=150, deadline=None)
@given(
    fees=st.lists(st.integers(0, 10**6), min_size=1, max_size=3).flatmap(
        lambda seeds: st.tuples(*(recurring(n) for n in range(len(seeds))))
    ),
    renew=st.booleans(),
    d1=day_offsets,
    d2=day_offsets,
)
def test_two_runs_bill_what_one_run_bills(
    fees: tuple[tuple[RecurringCharge, list[ChargeChange]], ...], renew: bool, d1: int, d2: int
) -> None:
    """run(d1) + run(d2, given what run(d1) billed) == run(d2), for any d1 <= d2."""
    first_day, second_day = sorted((START + timedelta(days=d1), START + timedelta(days=d2)))
    contract = Contract(
        "K-P",
        "CUST-1",
        "ACME-DE",
        "EUR",
        START,
        date(2025, 6, 30) if renew else None,
        auto_renew=renew,
        uplift_percent=Decimal(4),
    )
    charges: list[Charge] = [c for c, _ in fees]
    changes = [ch for _, chs in fees for ch in chs]
    tiers = GraduatedTiers((Tier(Decimal(500), Decimal("0.1")), Tier(None, Decimal("0.05"))))
    minimum = Money.of("10", "EUR")
    charges += [
        UsageCharge("u", "USAGE", "Usage", "m", tiers, included=Decimal(50), minimum=minimum),
        OneTimeCharge("o", "ONCE", "Setup", START + timedelta(days=200), unit_price=Decimal(12)),
        TimeAndMaterials("tm", "TM", "Services", {"dev": Decimal(100)}, Frequency.QUARTERLY),
    ]
    entries = [
        TimesheetEntry(f"e{i}", "tm", "dev", START + timedelta(days=i * 37), Decimal(i % 7 + 1))
        for i in range(30)
    ]
    milestones = [
        Milestone("ms", "MS", "Go-live", Money.of("1000", "EUR"), completed_on=date(2024, 9, 9))
    ]

    def billing(up_to: date, billed: set[str]) -> list[BillableLine]:
        return due_lines(
            contract, charges, changes, SyntheticUsage(), entries, milestones, up_to, billed
        )

    first = billing(first_day, set())
    second = billing(second_day, keys(first))
    both = billing(second_day, set())
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == set(both)
    assert len(first) + len(second) == len(both)
    assert len({ln.key for ln in both}) == len(both)  # every line key is unique
    assert billing(second_day, keys(both)) == []
    assert all(ln.bill_date <= second_day for ln in both)


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=3),
    price=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4),
    days=st.integers(min_value=1, max_value=366),
    full=st.integers(min_value=1, max_value=366),
    currency=st.sampled_from(["EUR", "JPY", "BHD"]),
    rounding=st.sampled_from(list(Rounding)),
)
def test_prorated_rounds_the_exact_amount_once(
    quantity: Decimal, price: Decimal, days: int, full: int, currency: str, rounding: Rounding
) -> None:
    """The integer fast path gives what rounding the exact rational amount gives."""
    from fractions import Fraction

    from billfold.billing.model import Terms, prorated
    from billfold.money import Currency

    exact = Fraction(quantity) * Fraction(price) * Fraction(days, full)
    scaled = exact * 10 ** Currency.of(currency).exponent  # reference: Decimal rounding
    with localcontext() as ctx:
        ctx.prec = 200
        mode = ROUND_HALF_UP if rounding is Rounding.HALF_UP else ROUND_HALF_EVEN
        expected = (Decimal(scaled.numerator) / Decimal(scaled.denominator)).quantize(
            Decimal(1), rounding=mode
        )
    got = prorated(Terms(quantity, price), Fraction(days, full), currency, rounding)
    assert got.minor == int(expected) and got.currency == currency
