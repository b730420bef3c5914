"""Disputes, promises, payment plans, write-offs and the worklist, on both engines."""

from datetime import date
from decimal import Decimal

import pytest

from billfold.errors import Conflict, InvalidInput
from billfold.money import Money
from billfold.services import collections as svc
from billfold.services import ledger
from billfold.services.context import Billfold
from billfold.services.invoice_queries import list_invoices

from .helpers import row_counts
from .invoicing_setup import create, invoice, seed_invoicing
from .test_cash import bank_file, book, entry

pytestmark = pytest.mark.integration


@pytest.fixture
def world(bf: Billfold) -> tuple[Billfold, list[str]]:
    seed_invoicing(bf)
    numbers = create(
        bf,
        invoice("DE1", {"sku": "SUB-PRO", "quantity": "2"}, day="2026-09-01"),
        invoice("DE1", {"sku": "BOOK", "quantity": "3"}, day="2026-10-01"),
        invoice("FR1", {"sku": "SUB-PRO", "quantity": "4"}, day="2026-10-15"),
    )
    return bf, numbers  # type: ignore[return-value]


def status(bf: Billfold, number: str) -> str:
    with bf.reading() as conn:
        return next(s.status for s in list_invoices(conn) if s.number == number)


def test_dispute_resolved_by_credit_memo(world: tuple) -> None:  # type: ignore[type-arg]
    bf, (_, inv2, _) = world
    with bf.transaction() as tx:
        did = svc.open_dispute(
            tx,
            "ACME-DE",
            inv2,
            "damaged",
            "operations",
            Decimal("21.29"),
            line_no=1,
            note="one copy torn",
        )
        svc.set_dispute_status(tx, did, "in_review")
    with pytest.raises(InvalidInput, match="at most"), bf.transaction() as tx:
        svc.open_dispute(tx, "ACME-DE", inv2, "pricing", "sales", Decimal("50.00"))
    with bf.transaction() as tx:
        ref = svc.resolve_dispute(tx, did, "credit_memo", "packaging")
    assert ref == "CN-2026-000001"
    with bf.reading() as conn:
        [row] = svc.list_disputes(conn, date(2026, 11, 25))
        open_items = {i.item_ref: i.amount for i in ledger.ar_open_items(conn, date(2026, 12, 1))}
    assert (row.status, row.resolution, row.root_cause) == ("resolved", "credit_memo", "packaging")
    assert open_items[inv2] == Money.of("42.59", "EUR")  # 63.88 - 21.29
    with pytest.raises(Conflict, match="already resolved"), bf.transaction() as tx:
        svc.resolve_dispute(tx, did, "rejected", "x")


def test_dispute_rebill_and_rejection_and_paid_invoice(world: tuple) -> None:  # type: ignore[type-arg]
    bf, (inv1, _, inv3) = world
    with bf.transaction() as tx:
        a = svc.open_dispute(tx, "ACME-DE", inv1, "pricing", "sales")
        b = svc.open_dispute(tx, "ACME-DE", inv3, "not_received", "customer_success")
        svc.resolve_dispute(tx, a, "rebill", "wrong price list")
        svc.resolve_dispute(tx, b, "rejected", "proof of delivery sent")
    assert status(bf, inv1) == "credited" and status(bf, inv3) == "issued"
    before = row_counts(bf)
    with pytest.raises(Conflict, match="paid"), bf.transaction() as tx:
        svc.open_dispute(tx, "ACME-DE", inv1, "pricing", "sales")
    with pytest.raises(InvalidInput, match="reason code"), bf.transaction() as tx:
        svc.open_dispute(tx, "ACME-DE", inv3, "because", "sales")
    assert row_counts(bf) == before


def test_promises_kept_and_broken(world: tuple) -> None:  # type: ignore[type-arg]
    bf, (inv1, inv2, _) = world
    with pytest.raises(InvalidInput, match="in the past"), bf.transaction() as tx:
        svc.add_promise(tx, "DE1", Decimal("10"), date(2026, 11, 1))
    with bf.transaction() as tx:
        svc.add_promise(tx, "DE1", Decimal("116.62"), date(2026, 11, 30), inv1)
        svc.add_promise(tx, "DE1", Decimal("63.88"), date(2026, 11, 27), inv2)
    book(bf, bank_file(entry("116.62", "P1", text=inv1)))
    from billfold.services.cash_apply import match_receipts

    with bf.transaction() as tx:
        match_receipts(tx)
    with bf.reading() as conn:
        rows = {p.item_ref: p.status for p in svc.promise_status(conn, date(2026, 11, 28))}
    assert rows == {inv1: "kept", inv2: "broken"}


def test_payment_plan_installments(world: tuple) -> None:  # type: ignore[type-arg]
    bf, (inv1, _, _) = world
    with bf.transaction() as tx:
        plan = svc.create_plan(tx, "DE1", 3, date(2026, 12, 15))
    with bf.reading() as conn:
        rows = svc.plan_status(conn, plan, date(2026, 12, 1))
    assert [str(r.amount) for r in rows] == ["60.17 EUR", "60.17 EUR", "60.16 EUR"]
    assert sum(r.amount.minor for r in rows) == 11662 + 6388
    assert [r.due_date for r in rows] == [date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 15)]
    book(bf, bank_file(entry("70.00", "PP1", text=inv1)))
    from billfold.services.cash_apply import apply_manually

    with bf.reading() as conn:
        rid = conn.exec_driver_sql("SELECT id FROM receipts").scalar_one()
    with bf.transaction() as tx:
        apply_manually(tx, rid, inv1)
    with bf.reading() as conn:
        rows = svc.plan_status(conn, plan, date(2027, 1, 20))
    assert [(r.status, str(r.paid)) for r in rows] == [
        ("paid", "60.17 EUR"),
        ("overdue", "9.83 EUR"),
        ("due", "0.00 EUR"),
    ]


def test_write_off_and_recovery_post_to_bad_debt(world: tuple) -> None:  # type: ignore[type-arg]
    bf, (inv1, _, _) = world
    with bf.transaction() as tx:
        svc.write_off(tx, "ACME-DE", "DE1", inv1, "insolvency", on=date(2026, 11, 20))
    with pytest.raises(Conflict, match="nothing open"), bf.transaction() as tx:
        svc.write_off(tx, "ACME-DE", "DE1", inv1, "again")
    with bf.transaction() as tx:
        svc.recover(tx, "ACME-DE", "DE1", inv1, Decimal("50.00"), "administrator paid a dividend")
    with bf.reading() as conn:
        day = date(2026, 12, 31)
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, day)}
        opens = {i.item_ref: i.amount for i in ledger.ar_open_items(conn, day)}
        assert ledger.ar_subledger_balance(conn, day) == ledger.gl_control_balance(conn, day)
    assert tb["6100"] == (Decimal("66.62"), 0)
    assert opens[inv1] == Money.of("50.00", "EUR")
    with pytest.raises(InvalidInput, match="at most"), bf.transaction() as tx:
        svc.recover(tx, "ACME-DE", "DE1", inv1, Decimal("70.00"), "too much")


def test_worklist_ranks_old_large_debts_first(
    world: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("billfold.store.bulk.IN_CHUNK", 1)  # customers looked up in chunks
    bf, _ = world
    with bf.reading() as conn:
        rows = svc.worklist(conn, date(2026, 12, 20))
    assert [r.customer for r in rows] == ["DE1", "FR1"]
    assert rows[0].past_due == Decimal("180.50") and rows[0].oldest_days == 80
