"""Receivables reports on both engines, against figures computed by hand.

The history (entity ACME-DE, EUR, 19 % VAT for DE1; FR1 is reverse charge, terms 2/10 NET30):

    2026-09-01  I0  DE1  119.00 (net 100)   due 10-01   written off 11-28 (manual entry)
    2026-09-10  I1  DE1  1190.00            due 10-10   paid 10-08 (P1, 1190.00)
    2026-10-05  I2  DE1  2380.00            due 11-04   1000.00 paid 11-15 (P3); promise 500 12-09
    2026-10-20  I3  FR1  900.00             due 11-19   paid 10-28: 882.00 + 18.00 discount (P2)
    2026-11-03  I4  DE1  3570.00            due 12-03   credit note 11-12: 595.00 (net 500)
    2026-11-10  I6  FR1  450.00             due 12-10   plan: 3 x 150.00 (12-15, 01-15, 02-15)
    2026-11-20  I5  DE1  1190.00            due 12-20   disputed
    2026-11-25  P4  500.00 from an unknown payer, unapplied

AR (GL control): 09-30 1309.00; 10-31 2499.00 (I0 119 + I2 2380); 11-30 5995.00
(I2 1380 past due; I4 2975, I5 1190, I6 450 current: 4615.00).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import insert, select
from typer.testing import CliRunner

from billfold.documents.statement import (
    STATEMENT_LABELS,
    render_statement_pdf,
    statement_csv,
)
from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.money import Money
from billfold.reports import cash_journal, charts, kpis
from billfold.reports.aging import aging_as_of
from billfold.reports.statement import by_currency, statement_data
from billfold.services import cash_apply, ledger
from billfold.services.context import Billfold
from billfold.services.credit_memos import Selection, create_credit_memo
from billfold.store.tables import (
    customers,
    disputes,
    invoices,
    legal_entities,
    payment_plans,
    plan_installments,
    promises,
    receipts,
)

from .helpers import aging_by_item, aging_rows_minor, line, load_customers
from .invoicing_setup import create, invoice, seed_invoicing
from .test_cash import bank_file, book, entry, run_match

pytestmark = pytest.mark.integration
D = Decimal
NOV = kpis.Period.month("2026-11")
OCT = kpis.Period.month("2026-10")


def at(bf: Billfold, day: date) -> None:
    """Let the services believe it is ``day``."""
    bf.clock = lambda: datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def issue(bf: Billfold, *docs: dict[str, object]) -> list[str]:
    """Create and issue invoices; their numbers."""
    return [str(number) for number in create(bf, *docs)]


def net(amount: str) -> dict[str, str]:
    return {"description": "Consulting", "quantity": "1", "unit_price": amount}


@dataclass
class History:
    bf: Billfold
    n: dict[str, str]  # I0..I6, CN -> document numbers


def _ids(bf: Billfold, *numbers: str) -> dict[str, tuple[int, int, int]]:
    with bf.reading() as conn:
        rows = conn.execute(
            select(invoices.c.number, invoices.c.id, invoices.c.customer_id, invoices.c.entity_id)
        ).all()
    return {r.number: (r.id, r.customer_id, r.entity_id) for r in rows if r.number in numbers}


@pytest.fixture
def history(bf: Billfold) -> History:
    at(bf, date(2026, 9, 1))
    seed_invoicing(bf)
    i0, i1 = issue(
        bf,
        invoice("DE1", net("100.00"), day="2026-09-01"),
        invoice("DE1", net("1000.00"), day="2026-09-10"),
    )
    at(bf, date(2026, 10, 5))
    (i2,) = issue(bf, invoice("DE1", net("2000.00"), day="2026-10-05"))
    at(bf, date(2026, 10, 8))
    book(bf, bank_file(entry("1190.00", "P1", text=f"Rechnung {i1}", day=date(2026, 10, 8))), "1")
    assert run_match(bf).applied == 1
    at(bf, date(2026, 10, 20))
    (i3,) = issue(bf, invoice("FR1", {"sku": "SUB-PRO", "quantity": "20"}, day="2026-10-20"))
    at(bf, date(2026, 10, 28))
    p2 = entry("882.00", "P2", text=f"{i3} less 2% skonto", day=date(2026, 10, 28))
    book(bf, bank_file(p2, sid="S2"), "2")
    assert run_match(bf).applied == 1
    at(bf, date(2026, 11, 3))
    (i4,) = issue(bf, invoice("DE1", net("3000.00"), day="2026-11-03"))
    at(bf, date(2026, 11, 10))
    (i6,) = issue(bf, invoice("FR1", {"sku": "SUB-PRO", "quantity": "10"}, day="2026-11-10"))
    at(bf, date(2026, 11, 12))
    with bf.transaction() as tx:
        cn = create_credit_memo(tx, "ACME-DE", i4, "hours", [Selection(1, amount=D("500.00"))])
    at(bf, date(2026, 11, 15))
    book(
        bf,
        bank_file(entry("1000.00", "P3", name="Nordwind", day=date(2026, 11, 15)), sid="S3"),
        "3",
    )
    with bf.reading() as conn:
        p3 = conn.execute(select(receipts.c.id).where(receipts.c.reference == "P3")).scalar_one()
    with bf.transaction() as tx:
        cash_apply.apply_manually(tx, p3, i2, D("1000.00"))
    at(bf, date(2026, 11, 20))
    (i5,) = issue(bf, invoice("DE1", net("1000.00"), day="2026-11-20"))
    at(bf, date(2026, 11, 25))
    book(
        bf, bank_file(entry("500.00", "P4", name="Unknown", day=date(2026, 11, 25)), sid="S4"), "4"
    )
    at(bf, date(2026, 11, 28))
    eur = "EUR"
    ids = _ids(bf, i2, i5, i6)
    with bf.transaction() as tx:
        ledger.post_entry(
            tx,
            EntryDraft(
                "ACME-DE",
                date(2026, 11, 28),
                f"Write-off {i0}",
                (
                    PostingLine("6100", Money.of("119.00", eur), Money.of("119.00", eur)),
                    PostingLine(
                        "1100",
                        Money.of("-119.00", eur),
                        Money.of("-119.00", eur),
                        "DE1",
                        "invoice",
                        i0,
                    ),
                ),
                source_type="write_off",
                source_ref=i0,
            ),
        )
        made = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
        inv5, cust5, ent = ids[i5]
        tx.conn.execute(
            insert(disputes).values(
                entity_id=ent,
                customer_id=cust5,
                invoice_id=inv5,
                reason_code="pricing",
                currency=eur,
                amount_minor=119000,
                owner_team="sales",
                status="open",
                opened_on=date(2026, 11, 26),
                created_at=made,
                actor="tester",
            )
        )
        tx.conn.execute(
            insert(promises).values(
                customer_id=ids[i2][1],
                item_ref=i2,
                currency=eur,
                amount_minor=50000,
                promised_date=date(2026, 12, 9),
                baseline_minor=138000,
                created_at=made,
                actor="tester",
            )
        )
        plan = tx.conn.execute(
            insert(payment_plans)
            .values(
                customer_id=ids[i6][1],
                currency=eur,
                total_minor=45000,
                items=json.dumps([i6]),
                status="active",
                created_at=made,
                actor="tester",
            )
            .returning(payment_plans.c.id)
        ).scalar_one()
        tx.conn.execute(
            insert(plan_installments),
            [
                {"plan_id": plan, "seq": k + 1, "due_date": d, "amount_minor": 15000}
                for k, d in enumerate((date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 15)))
            ],
        )
    numbers = {"I0": i0, "I1": i1, "I2": i2, "I3": i3, "I4": i4, "I5": i5, "I6": i6, "CN": cn}
    return History(bf, numbers)


# --- KPIs ------------------------------------------------------------------------------------


def test_balances_and_credit_sales(history: History) -> None:
    with history.bf.reading() as conn:
        ar = {d: kpis.ar_balance(conn, "ACME-DE", d).amount for d in (OCT.start, OCT.end, NOV.end)}
        assert ar == {date(2026, 10, 1): D("1309.00"), OCT.end: D("2499.00"), NOV.end: D("5995.00")}
        assert kpis.credit_sales(conn, "ACME-DE", NOV.start, NOV.end).amount == D("5210.00")
        assert kpis.credit_sales(conn, "ACME-DE", OCT.start, OCT.end).amount == D("3280.00")
        assert kpis.current_ar(conn, "ACME-DE", NOV.end).amount == D("4615.00")
        # I2 (2380, due 11-04) is current on that very day, past due the day after; I4 3570
        assert kpis.current_ar(conn, "ACME-DE", date(2026, 11, 4)).amount == D("5950.00")
        assert kpis.current_ar(conn, "ACME-DE", date(2026, 11, 5)).amount == D("3570.00")
        aged = aging_as_of(conn, NOV.end, by="entity")
        assert aged.rows[0].buckets[0] == D("4615.00") and aged.reconciled


def test_aging_on_every_day_equals_the_items_aged_one_by_one(history: History) -> None:
    """The aging read off the kept balances (totals per customer, the young items by due date,
    the postings since a past date taken off) against the open items of that day aged in Python:
    every bucket, total and count, for each day from before the first invoice to after the
    last posting, on both bases and two bucket layouts."""
    day = date(2026, 8, 31)
    with history.bf.reading() as conn:
        while day <= date(2026, 12, 31):
            for basis in ("due", "invoice"):
                for buckets in ((0, 30, 60, 90), (0, 1, 13, 40)):
                    report = aging_as_of(conn, day, basis=basis, buckets=buckets)
                    expected = aging_by_item(conn, day, buckets, basis)
                    assert aging_rows_minor(report) == expected, (day, basis, buckets)
                    assert report.reconciled
            day += timedelta(days=3)
    assert expected  # the last day still has open items


def test_november_kpis(history: History) -> None:
    with history.bf.reading() as conn:
        s = kpis.kpi_summary(conn, "ACME-DE", NOV)
        # each function on its own gives the same figures
        assert kpis.dso_standard(conn, "ACME-DE", NOV.start, NOV.end) == s.dso_standard
        assert kpis.dso_countback(conn, "ACME-DE", NOV.end) == s.dso_countback
        assert kpis.best_possible_dso(conn, "ACME-DE", NOV.start, NOV.end) == s.best_possible_dso
        assert kpis.add(conn, "ACME-DE", NOV.start, NOV.end) == s.average_days_delinquent
        assert kpis.cei(conn, "ACME-DE", NOV.start, NOV.end) == s.cei
    assert (s.opening_ar, s.closing_ar, s.current_ar) == (D("2499.00"), D("5995.00"), D("4615.00"))
    assert s.credit_sales == D("5210.00")  # I4 3570 + I6 450 + I5 1190, before the credit note
    assert s.dso_standard == D("34.5")  # 5995 / 5210 x 30 = 34.52
    assert s.dso_countback == D("37.4")  # 30 (Nov) + (5995 - 5210) / 3280 x 31 = 30 + 7.42
    assert s.best_possible_dso == D("26.6")  # 4615 / 5210 x 30 = 26.57
    assert s.average_days_delinquent == D("7.9")  # 34.5 - 26.6
    assert s.cei == D("55.4")  # (2499 + 5210 - 5995) / (2499 + 5210 - 4615) = 1714 / 3094
    assert (s.dispute_rate.count, s.dispute_rate.total, s.dispute_rate.percent) == (1, 3, D("33.3"))
    assert (s.accuracy_rate.count, s.accuracy_rate.percent) == (2, D("66.7"))  # I4 credited


def test_october_kpis_and_trend(history: History) -> None:
    with history.bf.reading() as conn:
        s = kpis.kpi_summary(conn, "ACME-DE", OCT)
        trend = kpis.dso_trend(conn, "ACME-DE", 3, NOV.end)
    assert s.dso_standard == D("23.6")  # 2499 / 3280 x 31 = 23.62
    assert s.dso_countback == D("23.6")  # AR is used up inside October
    assert s.best_possible_dso == D("22.5")  # 2380 / 3280 x 31 = 22.49
    assert s.average_days_delinquent == D("1.1")
    assert s.cei == D("94.6")  # (1309 + 3280 - 2499) / (1309 + 3280 - 2380) = 2090 / 2209
    assert s.dispute_rate.percent == D("0.0") and s.accuracy_rate.percent == D("100.0")
    assert [(p.period, p.dso_standard, p.dso_countback, p.best_possible_dso) for p in trend] == [
        ("2026-09", D("30.0"), D("30.0"), D("30.0")),
        ("2026-10", D("23.6"), D("23.6"), D("22.5")),
        ("2026-11", D("34.5"), D("37.4"), D("26.6")),
    ]


def test_countback_arithmetic() -> None:
    months = [(D("100"), 30), (D("200"), 31), (D("0"), 30), (D("50"), 31)]
    assert kpis.countback_days(D("50"), months) == D("15.0")
    assert kpis.countback_days(D("100"), months) == D("30.0")
    assert kpis.countback_days(D("200"), months) == D("45.5")  # 30 + 100/200 x 31
    assert kpis.countback_days(D("325"), months) == D("106.5")  # 30 + 31 + 30 + 25/50 x 31
    assert kpis.countback_days(D("400"), months) is None  # the history does not explain it
    assert kpis.countback_days(D("-5"), months) == D("0.0")
    assert kpis.days_of_sales(D("10"), D("0"), 30) is None
    assert kpis.collection_effectiveness(D("1"), D("1"), D("2"), D("2")) is None


def test_month_periods_are_checked() -> None:
    assert kpis.Period.month("2026-11", date(2026, 11, 25)) == kpis.Period(
        date(2026, 11, 1), date(2026, 11, 25)
    )
    with pytest.raises(InvalidInput, match="future"):
        kpis.Period.month("2026-12", date(2026, 11, 25))
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        kpis.Period.month("November")


# --- rollforward -----------------------------------------------------------------------------


def test_rollforward_components_and_identity(history: History) -> None:
    with history.bf.reading() as conn:
        nov = kpis.rollforward(conn, "ACME-DE", NOV.start, NOV.end)
        octo = kpis.rollforward(conn, "ACME-DE", OCT.start, OCT.end)
        q4 = kpis.rollforward(conn, "ACME-DE", date(2026, 9, 1), NOV.end)
    assert (nov.opening, nov.invoiced, nov.collected, nov.credited, nov.written_off) == (
        D("2499.00"),
        D("5210.00"),
        D("1000.00"),
        D("595.00"),
        D("119.00"),
    )
    assert nov.other == 0 and nov.closing == D("5995.00") and nov.balanced
    # October: P1 1190 + P2 882 collected; the 18.00 discount counts as credited
    assert (octo.opening, octo.invoiced, octo.collected, octo.credited) == (
        D("1309.00"),
        D("3280.00"),
        D("2072.00"),
        D("18.00"),
    )
    assert octo.closing == D("2499.00") and octo.balanced
    assert (q4.opening, q4.invoiced, q4.collected, q4.credited, q4.written_off) == (
        D("0.00"),
        D("9799.00"),
        D("3072.00"),
        D("613.00"),
        D("119.00"),
    )
    assert q4.computed_closing == q4.closing == D("5995.00")


def test_rollforward_recovery_void_and_unapply(history: History) -> None:
    from billfold.services import invoicing
    from billfold.store.tables import cash_applications

    bf = history.bf
    at(bf, date(2026, 12, 2))
    (i8,) = issue(bf, invoice("DE1", net("10.00"), day="2026-12-02"))
    with bf.reading() as conn:
        p3 = conn.execute(
            select(cash_applications.c.id).where(cash_applications.c.amount_minor == 100000)
        ).scalar_one()
    with bf.transaction() as tx:
        invoicing.void(tx, "ACME-DE", i8, "typo")
        recovery = (line("1100", "19.00", "DE1", history.n["I0"]), line("6100", "-19.00"))
        ledger.post_entry(
            tx, EntryDraft("ACME-DE", date(2026, 12, 2), "Recovery", recovery, "recovery")
        )
        cash_apply.unapply(tx, p3, "wrong invoice")
    with bf.reading() as conn:
        dec = kpis.rollforward(conn, "ACME-DE", date(2026, 12, 1), date(2026, 12, 31))
    assert dec.invoiced == D("0.00")  # issued and voided in the month
    assert dec.written_off == D("-19.00") and dec.recovered == D("19.00")
    assert dec.collected == D("-1000.00")  # the undone payment
    assert dec.opening == D("5995.00") and dec.closing == D("7014.00") and dec.balanced


# --- cash ------------------------------------------------------------------------------------


def test_cash_receipts_journal_and_unapplied_cash(history: History) -> None:
    with history.bf.reading() as conn:
        octo = cash_journal.cash_receipts_journal(conn, OCT.start, OCT.end)
        nov = cash_journal.cash_receipts_journal(conn, NOV.start, NOV.end, "ACME-DE")
        open_nov = cash_journal.unapplied_cash(conn, NOV.end)
        open_mid = cash_journal.unapplied_cash(conn, date(2026, 11, 20))
    assert [(r.bank_reference, r.amount, r.applied, r.unapplied) for r in octo] == [
        ("P1", D("1190.00"), D("1190.00"), D("0.00")),
        ("P2", D("882.00"), D("882.00"), D("0.00")),
    ]
    assert [(r.bank_reference, r.customer, r.applied, r.unapplied) for r in nov] == [
        ("P3", "DE1", D("1000.00"), D("0.00")),
        ("P4", "", D("0.00"), D("500.00")),
    ]
    assert cash_journal.receipt_totals(nov) == {"EUR": (D("1500.00"), D("1000.00"), D("500.00"))}
    assert [(r.bank_reference, r.unapplied, r.days) for r in open_nov] == [("P4", D("500.00"), 5)]
    assert open_mid == []


def test_collections_pipeline(history: History) -> None:
    with history.bf.reading() as conn:
        p = cash_journal.collections_pipeline(conn, "ACME-DE", NOV.end, 8)
    weeks = {w.week: (w.due, w.promised, w.planned) for w in p.weeks}
    zero = D("0.00")
    assert list(weeks) == [
        "2026-W49",
        "2026-W50",
        "2026-W51",
        "2026-W52",
        "2026-W53",
        "2027-W01",
        "2027-W02",
        "2027-W03",
    ]
    # past due I2 (1380 - 500 promised) and I4 (2975, due 12-03) in the first week
    assert weeks["2026-W49"] == (D("3855.00"), zero, zero)
    assert weeks["2026-W50"] == (zero, D("500.00"), zero)  # the promise; I6 (due 12-10) is planned
    assert weeks["2026-W51"] == (D("1190.00"), zero, D("150.00"))  # I5 due 12-20, installment 1
    assert weeks["2027-W02"] == (zero, zero, D("150.00"))
    assert (p.later.due, p.later.planned) == (zero, D("150.00"))
    assert p.total == D("5995.00")
    # once 100.00 of I6 is paid, the first installment shrinks to 50.00
    bf = history.bf
    at(bf, date(2026, 12, 1))
    book(bf, bank_file(entry("100.00", "P5", day=date(2026, 12, 1)), sid="S5"), "5")
    with bf.reading() as conn:
        p5 = conn.execute(select(receipts.c.id).where(receipts.c.reference == "P5")).scalar_one()
    with bf.transaction() as tx:
        cash_apply.apply_manually(tx, p5, history.n["I6"])
    with bf.reading() as conn:
        p = cash_journal.collections_pipeline(conn, "ACME-DE", date(2026, 12, 1), 3)
    assert [(w.week, w.planned) for w in p.weeks] == [
        ("2026-W49", zero),
        ("2026-W50", zero),
        ("2026-W51", D("50.00")),
    ]
    assert p.later.planned == D("300.00")


# --- statements ------------------------------------------------------------------------------


def test_statement_lines_and_balances(history: History) -> None:
    n = history.n
    with history.bf.reading() as conn:
        st = statement_data(conn, "DE1", NOV.start, NOV.end)
        fr = statement_data(conn, "FR1", OCT.start, OCT.end, "ACME-DE")
    eur = by_currency(st)["EUR"]
    assert (st.language, st.entity, eur.opening, eur.closing) == (
        "de",
        "ACME-DE",
        D("2499.00"),
        D("5545.00"),
    )
    assert [
        (ln.day.day, ln.kind, ln.reference, ln.applies_to, ln.amount, ln.balance)
        for ln in eur.lines
    ] == [
        (3, "invoice", n["I4"], None, D("3570.00"), D("6069.00")),
        (12, "credit_note", n["CN"], n["I4"], D("-595.00"), D("5474.00")),
        (15, "payment", "P3", n["I2"], D("-1000.00"), D("4474.00")),
        (20, "invoice", n["I5"], None, D("1190.00"), D("5664.00")),
        (28, "write_off", n["I0"], None, D("-119.00"), D("5545.00")),
    ]
    assert eur.lines[0].due_date == date(2026, 12, 3)
    assert eur.aging_labels == ("current", "1-30", "31-60", "61-90", "91+")
    assert eur.aging == (D("4165.00"), D("1380.00"), D("0.00"), D("0.00"), D("0.00"))
    assert (eur.debits, eur.credits) == (D("4760.00"), D("1714.00"))
    assert eur.payment is not None and eur.payment.iban == "DE89370400440532013000"
    assert eur.payment.reference == "DE1"
    [fr_eur] = fr.sections
    assert [(ln.kind, ln.amount, ln.balance) for ln in fr_eur.lines] == [
        ("invoice", D("900.00"), D("900.00")),
        ("payment", D("-882.00"), D("18.00")),
        ("discount", D("-18.00"), D("0.00")),
    ]
    text = statement_csv(st).decode()
    assert "DE1,ACME-DE,EUR,2026-11-01,opening_balance,,,,,,2499.00" in text
    assert (
        f"DE1,ACME-DE,EUR,2026-11-12,credit_note,{n['CN']},{n['I4']},,0.00,595.00,5474.00" in text
    )
    assert "DE1,ACME-DE,EUR,2026-11-30,closing_balance,,,,,,5545.00" in text
    assert "DE1,ACME-DE,EUR,2026-11-30,aging,1-30,,,,,1380.00" in text
    assert "pay_to,DE89370400440532013000,COBADEFFXXX" in text


def test_statement_pdf_in_the_customers_language(history: History) -> None:
    with history.bf.reading() as conn:
        st = statement_data(conn, "DE1", NOV.start, NOV.end)
    pdf = render_statement_pdf(st)
    assert pdf.startswith(b"%PDF")
    words = re.sub(r"\s+", " ", "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages))
    assert "Kontoauszug" in words
    assert "2.499,00" in words and "5.545,00" in words  # opening and closing, German format
    assert "Anfangssaldo" in words and "Endsaldo" in words
    assert "DE89 3704 0044 0532 0130 00" in words


def test_statement_needs_a_known_customer_and_entity(history: History) -> None:
    with history.bf.reading() as conn, pytest.raises(NotFound, match="no customer"):
        statement_data(conn, "NOPE", NOV.start, NOV.end)
    with history.bf.reading() as conn, pytest.raises(InvalidInput, match="after"):
        statement_data(conn, "DE1", NOV.end, NOV.start)


def test_every_statement_language_has_the_same_words() -> None:
    keys = set(STATEMENT_LABELS["en"])
    assert all(set(words) == keys for words in STATEMENT_LABELS.values())


# --- charts ----------------------------------------------------------------------------------


def test_charts_are_valid_png_and_svg(history: History, tmp_path: Path) -> None:
    with history.bf.reading() as conn:
        aged = aging_as_of(conn, NOV.end)
        trend = kpis.dso_trend(conn, "ACME-DE", 3, NOV.end)
        rf = kpis.rollforward(conn, "ACME-DE", NOV.start, NOV.end)
    written = [
        charts.aging_chart(aged, tmp_path / "aging.png"),
        charts.aging_chart(aged, tmp_path / "aging-cur.svg", functional=False),
        charts.dso_trend_chart(trend, tmp_path / "dso.svg"),
        charts.dso_trend_chart(trend, tmp_path / "dso.png"),
        charts.rollforward_chart(rf, tmp_path / "waterfall.svg"),
        charts.rollforward_chart(rf, tmp_path / "waterfall.png"),
    ]
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n")
        else:
            root = etree.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert b"<dc:date>" not in data
    again = charts.render(charts.rollforward_figure(rf), "svg")
    assert again == (tmp_path / "waterfall.svg").read_bytes()  # deterministic
    with pytest.raises(InvalidInput, match=r"\.png or \.svg"):
        charts.dso_trend_chart(trend, tmp_path / "dso.pdf")


# --- the command line ------------------------------------------------------------------------


def test_cli_reports_and_statement(
    history: History, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from billfold.commands import ar_reports
    from billfold.commands.common import State

    monkeypatch.setattr(State, "url", db_url)
    monkeypatch.setattr(ar_reports, "_today", lambda: date(2026, 11, 30))
    app = typer.Typer()
    app.registered_commands += ar_reports.ar_reports_app.registered_commands
    app.command("statements")(ar_reports.statement_command)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = run(
        "aging", "--as-of", "2026-11-30", "--by", "entity", "--chart", str(tmp_path / "a.svg")
    )
    assert "5,995.00" in out and "ACME-DE" in out and (tmp_path / "a.svg").exists()
    out = run("kpis", "--period", "2026-11", "--entity", "ACME-DE")
    assert "34.5 days" in out and "37.4 days" in out and "55.4 %" in out
    run("kpis", "--period", "2026-11", "--format", "csv", "--out", str(tmp_path / "k.csv"))
    k = (tmp_path / "k.csv").read_text().splitlines()
    assert k[0].startswith("entity,currency,period_start") and "ACME-DE,EUR,2026-11-01" in k[1]
    run("kpis", "--period", "2026-11", "--format", "xlsx", "--out", str(tmp_path / "k.xlsx"))
    assert (tmp_path / "k.xlsx").read_bytes()[:2] == b"PK"
    out = run("rollforward", "--from", "2026-11-01", "--to", "2026-11-30")
    assert "5,995.00" in out and "Difference" in out
    run("dso-trend", "--months", "3", "--to", "2026-11", "--chart", str(tmp_path / "d.svg"))
    out = run("cash-receipts", "--from", "2026-11-01", "--to", "2026-11-30")
    assert "P4" in out and "500.00" in out
    out = run("pipeline", "--weeks", "4", "--as-of", "2026-11-30")
    assert "2026-W49" in out and "3,855.00" in out
    run("unapplied", "--as-of", "2026-11-30", "--format", "csv", "--out", str(tmp_path / "u.csv"))
    assert "P4" in (tmp_path / "u.csv").read_text()
    pdf = tmp_path / "st.pdf"
    out = run("statements", "DE1", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(pdf))
    assert "5,545.00 EUR" in out and pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(InvalidInput, match="future"):
        runner.invoke(app, ["aging", "--as-of", "2026-12-01"], catch_exceptions=False)
    with pytest.raises(InvalidInput, match="start at 0"):
        runner.invoke(
            app, ["aging", "--as-of", "2026-11-30", "--buckets", "0,60,30"], catch_exceptions=False
        )


# --- property: the aging always agrees with the GL, the rollforward always closes -------------

amounts = st.integers(min_value=1, max_value=10**6).map(
    lambda m: str(Money.from_minor(m, "EUR").amount)
)
days = st.integers(min_value=0, max_value=120).map(lambda d: date(2026, 8, 1) + timedelta(days=d))
events = st.lists(
    st.tuples(
        st.sampled_from(["invoice", "usd_invoice", "payment", "credit", "reverse", "write_off"]),
        st.sampled_from(["C1", "C2", "C3"]),
        amounts,
        days,
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=20,
)


def _apply_events(bf: Billfold, evs: list[tuple[str, str, str, date, int]]) -> None:
    items: list[tuple[str, str, str, str]] = []  # customer, ref, currency, amount
    entries: list[int] = []
    for n, (kind, cust, amount, day, pick) in enumerate(evs):
        with bf.transaction() as tx:
            if kind in ("invoice", "usd_invoice"):
                cur = "USD" if kind == "usd_invoice" else "EUR"
                fn = (
                    amount
                    if cur == "EUR"
                    else str(Money.rounded(D(amount) * D("0.9"), "EUR").amount)
                )
                ref = f"R-{n}"
                lines = (
                    line("1100", amount, cust, ref, cur, fn),
                    line("4000", f"-{amount}", None, None, cur, f"-{fn}"),
                )
                entries.append(
                    ledger.post_entry(tx, EntryDraft("ACME-DE", day, ref, lines, "invoice", ref))
                )
                items.append((cust, ref, cur, amount))
            elif items and kind in ("payment", "credit", "write_off"):
                c, ref, cur, full = items[pick % len(items)]
                part = str(Money.rounded(D(full) * (pick % 100 + 1) / 100, cur).amount)
                counter = {"payment": "1010", "credit": "4000", "write_off": "6100"}[kind]
                fn = part if cur == "EUR" else str(Money.rounded(D(part) * D("0.9"), "EUR").amount)
                lines = (
                    line("1100", f"-{part}", c, ref, cur, f"-{fn}"),
                    line(counter, part, None, None, cur, fn),
                )
                source = {"payment": "manual", "credit": "credit_note", "write_off": "write_off"}
                entries.append(
                    ledger.post_entry(
                        tx, EntryDraft("ACME-DE", day, kind, lines, source[kind], ref)
                    )
                )
            elif entries and kind == "reverse":
                with contextlib.suppress(Conflict):  # a reversal, or twice: refused
                    ledger.reverse_entry(tx, entries[pick % len(entries)], day)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(evs=events, probes=st.lists(days, min_size=2, max_size=4))
def test_aging_equals_gl_and_rollforward_closes(
    db_url: str, evs: list[tuple[str, str, str, date, int]], probes: list[date]
) -> None:
    bf = Billfold.open(db_url, actor="prop")
    try:
        with bf.reading() as conn:
            has = conn.execute(select(customers.c.id)).first() is not None
        if not has:
            load_customers(bf)
        _apply_events(bf, evs)
        with bf.reading() as conn:
            code = conn.execute(select(legal_entities.c.code)).scalars().first()
            for as_of in probes:
                report = aging_as_of(conn, as_of)
                assert report.reconciled, report.checks
                for basis in ("invoice",):
                    assert aging_as_of(conn, as_of, basis=basis, buckets=(0, 7, 45)).reconciled
            lo, hi = min(probes), max(probes)
            rf = kpis.rollforward(conn, str(code), lo, hi)
            assert rf.balanced, rf
            parts = rf.invoiced - rf.collected - rf.credited - rf.written_off + rf.other
            assert rf.opening + parts == rf.closing
    finally:
        bf.engine.dispose()
