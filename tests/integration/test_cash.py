"""Cash application end to end on both engines: receipts, matching, postings, clerk actions."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import Conflict, FileRejected, ImmutableRecord, InvalidInput
from billfold.money import Money
from billfold.reports import cash as cash_reports
from billfold.services import cash_apply, ledger
from billfold.services.cash_import import import_parsed
from billfold.services.context import Billfold
from billfold.services.invoice_queries import list_invoices
from billfold.store.tables import receipts

from .helpers import row_counts
from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration
IBAN = "DE89370400440532013000"


def entry(
    amount: str,
    ref: str,
    *,
    text: str = "",
    name: str | None = None,
    account: str | None = None,
    currency: str = "EUR",
    day: date = date(2026, 11, 20),
    **kw: object,
) -> BankEntry:
    return BankEntry(
        Decimal(amount),
        currency,
        day,
        ref,
        payer_name=name,
        payer_account=account,
        text=(text,) if text else (),
        **kw,
    )  # type: ignore[arg-type]


def bank_file(
    *entries: BankEntry, sid: str = "STMT-1", account: str = IBAN, currency: str = "EUR"
) -> BankFile:
    return BankFile("camt.053", (Statement(sid, account, currency, tuple(entries)),), "MSG-1")


def book(bf: Billfold, f: BankFile, name: str = "stmt.xml") -> object:
    with bf.transaction() as tx:
        return import_parsed(tx, f, name, name)


def run_match(bf: Billfold) -> cash_apply.MatchRun:
    with bf.transaction() as tx:
        return cash_apply.match_receipts(tx)


@pytest.fixture
def world(bf: Billfold) -> tuple[Billfold, list[str]]:
    seed_invoicing(bf)
    numbers = create(
        bf,
        invoice("DE1", {"sku": "SUB-PRO", "quantity": "2"}),  # 116.62
        invoice("DE1", {"sku": "BOOK"}),  # 21.29
        invoice("FR1", {"sku": "SUB-PRO", "quantity": "2"}),  # 90.00 AE, 2/10
        invoice("GB1", {"sku": "SUB-PRO"}),
    )  # 42.00 GBP
    return bf, numbers  # type: ignore[return-value]


def test_receipts_are_booked_to_unapplied_cash(world: tuple) -> None:  # type: ignore[type-arg]
    bf, _ = world
    book(
        bf,
        bank_file(
            entry("100.00", "REF-1", name="Someone"),
            entry("-20.00", "DEBIT-1"),
            entry("49.50", "REF-2", charges=Decimal("0.50")),
        ),
    )
    with bf.reading() as conn:
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 12, 1))}
        rows = conn.execute(select(receipts.c.amount_minor, receipts.c.charges_minor)).all()
    assert sorted(rows) == [(5000, 50), (10000, 0)]
    assert tb["1010"] == (Decimal("149.50"), 0) and tb["6200"] == (Decimal("0.50"), 0)
    assert tb["2150"] == (0, Decimal("150.00"))


def test_same_statement_or_entry_twice_changes_nothing(world: tuple) -> None:  # type: ignore[type-arg]
    bf, _ = world
    book(bf, bank_file(entry("100.00", "REF-1")))
    before = row_counts(bf)
    again = book(bf, bank_file(entry("100.00", "REF-1")), "other-name.xml")
    assert again.statements_known == 1 and again.receipts == 0  # type: ignore[attr-defined]
    after = row_counts(bf)
    assert {k: v for k, v in after.items() if k not in ("bank_files", "audit_log")} == {
        k: v for k, v in before.items() if k not in ("bank_files", "audit_log")
    }
    dup = book(bf, bank_file(entry("100.00", "REF-1"), sid="STMT-2"), "c053.xml")
    assert dup.duplicates == 1 and dup.receipts == 0  # type: ignore[attr-defined]


def test_unknown_account_or_wrong_currency_is_refused(world: tuple) -> None:  # type: ignore[type-arg]
    bf, _ = world
    before = row_counts(bf)
    with pytest.raises(FileRejected, match="not a bank account of any legal entity"):
        book(bf, bank_file(entry("1.00", "X"), account="GB33BUKB20201555555555"))
    with bf.transaction() as tx:
        tx.conn.execute(text("UPDATE entity_bank_accounts SET currency = 'EUR'"))
    before = row_counts(bf)
    with pytest.raises(FileRejected, match="kept in EUR"):
        book(bf, bank_file(entry("1.00", "X", currency="USD"), currency="USD"))
    assert row_counts(bf) == before


def test_automatic_matching_posts_and_explains(world: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = world
    inv1, inv2, inv3, _ = numbers
    book(
        bf,
        bank_file(
            entry("116.62", "R1", text=f"Rechnung {inv1.replace('-', '')}", name="Nordwind"),
            entry(
                "88.20",
                "R2",
                text=f"{inv3} less 2% skonto",
                day=date(2026, 11, 10),
                account="FR7630006000011234567890189",
            ),
            entry("21.29", "R3", lines=(RemittanceLine(inv2, amount=Decimal("21.29")),)),
            entry("500.00", "R4", name="Nobody we know"),
        ),
    )
    run = run_match(bf)
    assert (run.applied, run.unmatched) == (3, 1)
    with bf.reading() as conn:
        status = {s.number: s.status for s in list_invoices(conn)}
        apps = cash_reports.applications(conn)
        unapplied = cash_reports.unapplied(conn)
        day = date(2026, 12, 31)
        assert ledger.ar_subledger_balance(conn, day) == ledger.gl_control_balance(conn, day)
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, day)}
    assert status[inv1] == status[inv2] == status[inv3] == "paid"
    discount = [a for a in apps if a.kind == "discount"]
    assert discount[0].invoice == inv3 and discount[0].amount == Decimal("1.80")
    assert tb["4900"] == (Decimal("1.80"), 0)
    assert all(a.mode == "automatic" and a.reason for a in apps)
    assert [u.reference for u in unapplied] == ["R4"]
    assert tb["2150"] == (0, Decimal("500.00"))


def test_clerk_actions_and_the_database_guard(world: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = world
    inv1 = numbers[0]
    book(bf, bank_file(entry("150.00", "R9", name="Mystery")))
    with bf.reading() as conn:
        rid = conn.execute(select(receipts.c.id)).scalar_one()
    with bf.transaction() as tx:
        cash_apply.apply_manually(tx, rid, inv1)
        cash_apply.put_on_account(tx, rid, "DE1")
    with bf.reading() as conn:
        apps = cash_reports.applications(conn)
        [summary] = [s for s in list_invoices(conn) if s.number == inv1]
    assert [(a.kind, a.amount) for a in apps] == [
        ("invoice", Decimal("116.62")),
        ("on_account", Decimal("33.38")),
    ]
    assert summary.status == "paid"
    with bf.transaction() as tx:
        total = cash_apply.refund(tx, rid, Decimal("33.38"), "customer asked")
    assert total == Money.of("33.38", "EUR")
    with bf.transaction() as tx:
        cash_apply.unapply(tx, apps[0].application, "wrong invoice")  # type: ignore[arg-type]
    with bf.reading() as conn:
        [summary] = [s for s in list_invoices(conn) if s.number == inv1]
        left = conn.execute(select(receipts.c.amount_minor - receipts.c.applied_minor)).scalar_one()
    assert summary.status == "issued" and left == 11662
    with pytest.raises(Conflict, match="undone already"), bf.transaction() as tx:
        cash_apply.unapply(tx, apps[0].application, "again")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at most"), bf.transaction() as tx:
        cash_apply.apply_manually(tx, rid, inv1, Decimal("200.00"))
    # the database itself refuses applications beyond the receipt and edits of applications
    with pytest.raises(Conflict), bf.transaction() as tx:
        tx.conn.execute(text(f"UPDATE receipts SET applied_minor = 15001 WHERE id = {rid}"))
    with pytest.raises(ImmutableRecord), bf.transaction() as tx:
        tx.conn.execute(text("UPDATE cash_applications SET amount_minor = 1"))


def test_foreign_currency_receipt_posts_realized_fx(world: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = world
    gb = numbers[3]
    with bf.transaction() as tx:
        from billfold.services import entities, fx

        entities.add_bank_account(tx, "ACME-DE", "GB33 BUKB 2020 1555 5555 55", currency="GBP")
        fx.import_rates(tx, b"date,base,quote,rate\n2026-11-20,EUR,GBP,0.8500\n", "r.csv")
    book(
        bf,
        bank_file(
            entry("42.00", "G1", text=gb, currency="GBP"),
            account="GB33BUKB20201555555555",
            currency="GBP",
        ),
    )
    assert run_match(bf).applied == 1
    with bf.reading() as conn:
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 12, 31))}
        day = date(2026, 12, 31)
        assert ledger.ar_subledger_balance(conn, day) == ledger.gl_control_balance(conn, day)
    # invoiced at 1/0.87 -> 48.28 EUR, paid at 1/0.85 -> 49.41 EUR: a gain of 1.13 EUR
    assert tb["7100"] == (0, Decimal("1.13"))


def test_returned_payment_reopens_the_invoice(world: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = world
    inv1 = numbers[0]
    book(bf, bank_file(entry("116.62", "ACH-1", text=inv1, account="021000021/12345")))
    assert run_match(bf).applied == 1
    returned = bank_file(
        entry(
            "-116.62",
            "ACH-1-R",
            account="021000021/12345",
            is_return=True,
            return_reason="R01 insufficient funds",
            day=date(2026, 11, 22),
        ),
        sid="STMT-R",
    )
    result = book(bf, returned, "returns.ach")
    assert result.returned_receipts and result.unmatched_returns == 0  # type: ignore[attr-defined]
    with bf.reading() as conn:
        [summary] = [s for s in list_invoices(conn) if s.number == inv1]
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 12, 31))}
        status = conn.execute(select(receipts.c.status)).scalar_one()
    assert summary.status == "issued" and status == "returned"
    assert "1010" not in tb or tb["1010"] == (0, 0)


def _three_receipts(numbers: list[str]) -> BankFile:
    inv1, inv2, inv3, _ = numbers
    payer = "DE02120300000000202051"
    return bank_file(
        entry("116.62", "R1", text=f"Rechnung {inv1}", account=payer),
        entry("21.29", "R2", text=f"Invoice {inv2}", account=payer),
        entry("90.00", "R3", text=f"{inv3}", day=date(2026, 12, 30)),
    )


def test_batches_of_one_post_the_same_and_teach_the_payer(
    world: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bf, numbers = world
    monkeypatch.setattr(cash_apply, "BATCH", 1)  # every receipt is its own batch
    book(bf, _three_receipts(numbers))
    run = run_match(bf)
    assert run.applied == 3
    with bf.reading() as conn:
        status = {s.number: s.status for s in list_invoices(conn)}
        learned = conn.execute(
            text("SELECT account, confirmed, last_seen FROM payer_accounts")
        ).all()
        day = date(2026, 12, 31)
        assert ledger.ar_subledger_balance(conn, day) == ledger.gl_control_balance(conn, day)
    assert [status[n] for n in numbers[:3]] == ["paid", "paid", "paid"]
    # two matches in two batches: one account, confirmed twice, seen last on the later day
    assert [(a, n, str(d)) for a, n, d in learned] == [("DE02120300000000202051", 2, "2026-11-20")]


def test_a_batch_that_fails_rolls_the_whole_run_back(
    world: tuple,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bf, numbers = world
    book(bf, _three_receipts(numbers))
    before = row_counts(bf)
    posted = cash_apply.post_applications
    calls: list[int] = []

    def second_fails(tx, batch, facts, *, automatic):  # type: ignore[no-untyped-def]
        calls.append(len(batch))
        if len(calls) == 2:
            raise Conflict("refused by the test")
        return posted(tx, batch, facts, automatic=automatic)

    monkeypatch.setattr(cash_apply, "BATCH", 1)
    monkeypatch.setattr(cash_apply, "post_applications", second_fails)
    with pytest.raises(Conflict, match="refused by the test"):
        run_match(bf)
    assert row_counts(bf) == before  # the first batch's postings went with the rest
    assert calls == [1, 1]  # the run stopped at the failing batch
