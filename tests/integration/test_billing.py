"""Billing runs on both engines: exactly once, catch-up, backfill, a real kill, revenue."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billfold.errors import BillfoldError, ClosedPeriod, InvalidInput
from billfold.services import billing_run, contracts, invoicing, ledger, revenue
from billfold.services.context import Billfold
from billfold.services.invoice_queries import build_document
from billfold.store.tables import invoices

from .billing_setup import SUB, billed_per_contract, contract, keys, kill_run, load, make_world
from .helpers import row_counts

pytestmark = pytest.mark.integration


@pytest.fixture
def world(bf: Billfold) -> Billfold:
    return make_world(bf)


def test_rerun_bills_nothing_twice_and_catch_up_bills_each_period_once(world: Billfold) -> None:
    first = billing_run.run_billing(world, date(2026, 2, 1))
    assert first.drafts == 2  # K-1 and K-2 both go to DE1; K-3 to GB1
    again = billing_run.run_billing(world, date(2026, 2, 1))
    assert (again.drafts, again.lines) == (0, 0)
    after_skip = billing_run.run_billing(world, date(2026, 4, 15))  # Feb/Mar runs skipped
    assert keys(world) == [
        "1/sub:2026-01-15:2026-01-31",
        "1/sub:2026-02-01:2026-02-28",
        "1/sub:2026-03-01:2026-03-31",
        "1/sub:2026-04-01:2026-04-30",  # K-1: in advance
        "2/sub:2026-01-15:2026-01-31",
        "2/sub:2026-02-01:2026-02-28",
        "2/sub:2026-03-01:2026-03-31",  # K-2: in arrears, April not over yet
        "3/sub:2026-02-01:2026-02-28",
        "3/sub:2026-03-01:2026-03-31",
        "3/sub:2026-04-01:2026-04-30",
    ]  # K-3 starts in February
    assert after_skip.lines == 6  # two missed periods for each contract, each once
    # K-1 advance monthly from Jan 15: Jan (partial), Feb, Mar, Apr = 4 periods
    assert sorted(billed_per_contract(world).values()) == [3, 3, 4]


def test_consolidated_invoice_names_the_end_customer(world: Billfold) -> None:
    billing_run.run_billing(world, date(2026, 2, 1))
    with world.transaction() as tx:
        numbers = invoicing.issue(tx, invoicing.draft_ids(tx.conn)).numbers
    with world.reading() as conn:
        docs = [build_document(conn, n) for n in numbers]
    de1 = next(d for d in docs if d.buyer.name.startswith("Nordwind"))
    notes = [ln.note or "" for ln in de1.lines]
    assert any("End customer: Boulangerie Martin SARL" in n for n in notes)
    assert any("K-1" in n for n in notes)
    first = de1.lines[0]
    assert (first.period_start, first.period_end) == (date(2026, 1, 15), date(2026, 1, 31))
    assert str(first.net) == "268.71 EUR"  # 490.00 x 17/31


def test_backfill_bills_only_what_is_missing(world: Billfold) -> None:
    billing_run.run_billing(world, date(2026, 3, 1))
    before = keys(world)
    backfill = billing_run.run_billing(world, date(2026, 2, 1))
    assert backfill.lines == 0 and keys(world) == before


def test_closed_period_refuses_the_run(world: Billfold) -> None:
    with world.transaction() as tx:
        ledger.set_period_status(tx, "ACME-DE", "2026-02", "closed")
    before = row_counts(world)
    with pytest.raises(ClosedPeriod):
        billing_run.run_billing(world, date(2026, 2, 1))
    assert row_counts(world) == before


def test_bad_contracts_are_refused(world: Billfold) -> None:
    before = row_counts(world)
    overlap = contract("K-9", "DE1", SUB, {**SUB, "id": "sub2", "start": "2026-03-01"})
    with pytest.raises(BillfoldError, match="sub"):
        load(world, overlap)
    assert row_counts(world) == before
    load(
        world,
        contract("K-8", "DE1", {"id": "m1", "kind": "milestone", "sku": "X", "amount": "500.00"}),
    )
    with world.transaction() as tx:
        contracts.complete_milestone(tx, "K-8", "m1", date(2026, 2, 1))
    with pytest.raises(BillfoldError, match="already"), world.transaction() as tx:
        contracts.complete_milestone(tx, "K-8", "m1", date(2026, 2, 2))
    with pytest.raises(InvalidInput, match="write numbers as strings"):
        load(world, contract("K-7", "DE1", {**SUB, "unit_price": 49.0}))


def test_mid_period_cancellation_credits_the_unused_days(world: Billfold) -> None:
    billing_run.run_billing(world, date(2026, 2, 1))
    with world.transaction() as tx:
        contracts.add_change(tx, "K-1", "sub", date(2026, 2, 15), quantity=Decimal(4))
    run = billing_run.run_billing(world, date(2026, 3, 1))
    with world.transaction() as tx:
        numbers = invoicing.issue(tx, billing_run.run_draft_ids(tx.conn, run.run_id)).numbers
    with world.reading() as conn:
        doc = next(
            d
            for d in (build_document(conn, n) for n in numbers)
            if d.buyer.name.startswith("Nordwind")
        )
    amounts = sorted(str(ln.net) for ln in doc.lines)
    assert "-245.00 EUR" in amounts and "98.00 EUR" in amounts  # 14/28 of 490 and of 196


def test_deferred_revenue_recognised_month_by_month(world: Billfold) -> None:
    billing_run.run_billing(world, date(2026, 2, 1))
    with world.transaction() as tx:
        invoicing.issue(tx, invoicing.draft_ids(tx.conn))
    with world.transaction() as tx:
        assert revenue.recognize(tx, "2026-01") == []  # the invoice is dated February 1
    with world.reading() as conn:
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 2, 1))}
    assert tb["2100"] == (0, Decimal("815.69"))  # 268.71 + 490.00 EUR + 49.00 GBP at 0.86
    with world.transaction() as tx:
        results = revenue.recognize(tx, "2026-02")
    feb = {(a, c): v for r in results for a, c, v, _ in r.lines}
    assert feb == {("4000", "EUR"): Decimal("758.71"), ("4000", "GBP"): Decimal("49.00")}
    with world.reading() as conn:
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 2, 28))}
    assert tb["2100"] == (0, 0)


def test_credit_on_a_deferred_line_takes_back_earned_revenue_at_once(world: Billfold) -> None:
    from billfold.services.credit_memos import create_credit_memo

    licence = {**SUB, "id": "lic", "quantity": "1", "unit_price": "1200.00", "frequency": "annual"}
    load(world, contract("K-9", "DE1", licence, start="2026-01-01"))
    run = billing_run.run_billing(world, date(2026, 1, 1))
    assert (run.drafts, run.lines) == (1, 1)  # K-1..K-3 start later
    with world.transaction() as tx:
        (number,) = invoicing.issue(tx, invoicing.draft_ids(tx.conn)).numbers
    with world.transaction() as tx:
        earned = revenue.recognize(tx, "2026-03")  # January to March
    served = sum(v for r in earned for a, _, v, _ in r.lines if a == "4000")
    assert served == Decimal("295.89")  # 1,200.00 x (31 + 28 + 31) / 365, whole cents

    def balances(day: date) -> dict[str, tuple[Decimal, Decimal]]:
        with world.reading() as conn:
            return {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, day)}

    assert balances(date(2026, 3, 31))["2100"] == (0, Decimal("1200.00") - served)
    with world.transaction() as tx:  # the whole licence, cancelled in April
        create_credit_memo(tx, "ACME-DE", number, "licence cancelled", on=date(2026, 4, 10))
    after = balances(date(2026, 4, 10))
    # the credit took the earned months back from revenue and the rest from deferred revenue:
    # both are at zero now, and deferred revenue never shows a debit balance
    assert after["4000"] == (0, 0)
    assert after["2100"] == (0, 0)
    with world.transaction() as tx:
        rest = revenue.recognize(tx, "2026-12")  # April to December: the licence nets to nil
    assert all(v == 0 for r in rest for a, _, v, _ in r.lines if a == "4000")
    year_end = balances(date(2026, 12, 31))
    assert year_end["4000"] == (0, 0) and year_end["2100"] == (0, 0)


def test_po_limit_holds_the_contract(world: Billfold) -> None:
    load(
        world,
        contract(
            "K-5",
            "GB1",
            {**SUB, "quantity": "1"},
            currency="GBP",
            po_number="PO-5",
            po_amount="60.00",
        ),
    )
    run = billing_run.run_billing(world, date(2026, 3, 1))
    assert any(label == "K-5" for label, _ in run.holds)


def test_review_lists_every_draft_of_the_run_with_its_anomalies(
    world: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lookups by lists of ids go in chunks (a run of a million drafts would not fit in one
    # statement's parameters); with chunks of one, every list here is split
    monkeypatch.setattr("billfold.store.bulk.IN_CHUNK", 1)
    load(
        world,
        contract(
            "K-5",
            "GB1",
            {**SUB, "quantity": "1"},
            currency="GBP",
            start="2026-02-01",
            po_number="PO-5",
            po_amount="52.00",
        ),
    )
    run = billing_run.run_billing(world, date(2026, 2, 1))
    with world.reading() as conn:
        review = billing_run.review_run(conn, run.run_id)
        ids = billing_run.run_draft_ids(conn, run.run_id)
    assert [r.invoice_id for r in review] == ids and len(ids) == run.drafts == 3
    seen = {(r.customer, r.currency, r.lines, r.anomalies) for r in review}
    assert seen == {
        ("DE1", "EUR", 3, ()),  # K-1 (January part and February) and K-2 (billed to DE1)
        ("GB1", "GBP", 1, ()),  # K-3
        ("GB1", "GBP", 1, ("PO PO-5 of K-5 94% used",)),  # its own PO: 49.00 of 52.00
    }


def test_a_killed_run_finishes_with_every_charge_billed_once(
    world: Billfold, db_url: str, tmp_path: Path
) -> None:
    load(
        world,
        *[
            contract(f"K-{n:03d}", c, SUB)
            for n, c in zip(range(100, 130), ["DE1", "FR1", "GB1"] * 10, strict=True)
        ],
    )
    kill_run(db_url, date(2026, 3, 1), 1, batch=10)
    partial = keys(world)
    assert partial
    billing_run.run_billing(world, date(2026, 3, 1))
    done = keys(world)
    assert set(partial) < set(done) and len(done) == len(set(done))
    with world.reading() as conn:
        drafts = conn.execute(select(func.count()).select_from(invoices)).scalar_one()
    assert all(n in (2, 3) for n in billed_per_contract(world).values()) and drafts > 0
