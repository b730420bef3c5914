"""Invoices end to end on both engines: tax, numbering, postings, FX, credits, voids, bad input."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billfold.errors import (
    BillfoldError,
    ClosedPeriod,
    Conflict,
    ImmutableRecord,
    InvalidInput,
    NotFound,
)
from billfold.money import Money
from billfold.services import invoicing, ledger
from billfold.services.context import Billfold
from billfold.services.credit_memos import Selection, create_credit_memo
from billfold.services.invoice_queries import build_document, invoice_detail, list_invoices

from .helpers import row_counts
from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration


@pytest.fixture
def world(bf: Billfold) -> Billfold:
    seed_invoicing(bf)
    return bf


def entry_lines(bf: Billfold, number: str) -> dict[str, str]:
    with bf.reading() as conn:
        detail = invoice_detail(conn, number)
        entry = ledger.load_entry(conn, detail["entry_id"])
    return {ln.account: f"{ln.amount.amount} {ln.functional.amount}" for ln in entry.lines}


def test_domestic_invoice_with_two_rates_posts_revenue_and_tax(world: Billfold) -> None:
    [number] = create(
        world,
        invoice(
            "DE1",
            {"sku": "SUB-PRO", "quantity": "3"},
            {"sku": "BOOK", "quantity": "2", "discount": {"percent": "10"}},
            po_number="PO-4711",
        ),
    )
    assert number == "INV-2026-000001"
    assert entry_lines(world, number) == {
        "1100": "213.26 213.26",
        "4000": "-147.00 -147.00",
        "4300": "-35.82 -35.82",
        "2200-DE-19": "-27.93 -27.93",
        "2200-DE-7": "-2.51 -2.51",
    }
    with world.reading() as conn:
        doc = build_document(conn, number)
    assert [(t.category, t.rate, str(t.taxable), str(t.tax)) for t in doc.tax_summary] == [
        ("S", Decimal(19), "147.00 EUR", "27.93 EUR"),
        ("S", Decimal(7), "35.82 EUR", "2.51 EUR"),
    ]
    assert doc.due_date == date(2026, 12, 2) and doc.po_number == "PO-4711"


def test_eu_b2b_services_are_reverse_charged_and_goods_are_intra_community(world: Billfold) -> None:
    [services, goods] = create(
        world,
        invoice("FR1", {"sku": "SUB-PRO"}),
        invoice("FR1", {"sku": "WIDGET", "quantity": "10"}),
    )
    with world.reading() as conn:
        s, g = build_document(conn, services), build_document(conn, goods)
    assert s.tax_summary[0].category == "AE" and s.tax_total.is_zero()
    assert any("Reverse charge" in n for n in s.notes)
    assert s.lines[0].unit_price == Decimal("45.00")  # the customer's own price
    assert g.tax_summary[0].category == "K" and any("Intra-Community" in n for n in g.notes)
    assert str(g.net_total) == "123.46 EUR"  # 10 x 12.3456 rounded once per line


def test_eu_consumer_pays_seller_rate_or_buyer_rate_under_oss(world: Billfold) -> None:
    from billfold.services.entities import configure_entity

    [before] = create(world, invoice("FR2", {"sku": "SUB-PRO"}))
    with world.transaction() as tx:
        configure_entity(tx, "ACME-DE", oss_registered=True)
    [after] = create(world, invoice("FR2", {"sku": "SUB-PRO"}, day="2026-11-03"))
    with world.reading() as conn:
        assert build_document(conn, before).tax_summary[0].rate == Decimal(19)
        assert build_document(conn, after).tax_summary[0].rate == Decimal(20)


def test_export_outside_the_eu_and_foreign_currency(world: Billfold) -> None:
    [number] = create(world, invoice("GB1", {"sku": "SUB-PRO", "quantity": "2"}))
    with world.reading() as conn:
        doc = build_document(conn, number)
    assert doc.tax_summary[0].category == "G" and doc.currency == "GBP"
    assert doc.fx_rate == Decimal("1.14942528736")  # 1 / 0.8700 (ECB quotes GBP per EUR)
    assert entry_lines(world, number) == {"1100": "84.00 96.55", "4000": "-84.00 -96.55"}


def test_us_sales_tax_by_jurisdiction(world: Billfold) -> None:
    [number] = create(
        world,
        invoice(
            "US1",
            {"description": "Consulting", "quantity": "10", "unit_price": "150.00", "unit": "HUR"},
            entity="ACME-US",
        ),
    )
    assert number == "INV-2026-000001"  # each entity has its own sequence
    lines = entry_lines(world, number)
    assert lines["2200-US-WA-STATE-6.5"] == "-97.50 -97.50"
    assert lines["2200-US-WA-SEATTLE-2.45"] == "-36.75 -36.75"
    assert lines["2200-US-WA-RTA-1.4"] == "-21.00 -21.00"
    assert lines["1100"] == "1655.25 1655.25"


def test_zero_decimal_currency(world: Billfold) -> None:
    [number] = create(world, invoice("JP1", {"sku": "SUB-PRO", "quantity": "3"}))
    with world.reading() as conn:
        doc = build_document(conn, number)
    assert str(doc.gross_total) == "22500 JPY"
    assert entry_lines(world, number)["1100"] == "22500 138.79"


def test_numbers_are_gapless_and_drafts_are_idempotent(world: Billfold) -> None:
    docs = [invoice("DE1", {"sku": "SUB-PRO"}, ref=f"order-{n}") for n in range(5)]
    ids = create(world, *docs, issue=False)
    again = create(world, *docs, issue=False)
    assert len(ids) == 5 and again == []
    with world.transaction() as tx:
        numbers = invoicing.issue(tx, invoicing.draft_ids(tx.conn)).numbers
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 6)]


def test_issued_invoices_are_immutable_in_the_database(world: Billfold) -> None:
    [number] = create(world, invoice("DE1", {"sku": "SUB-PRO"}))
    for sql in (
        f"UPDATE invoices SET total_minor = 1 WHERE number = '{number}'",
        "UPDATE invoice_lines SET net_minor = 1",
        f"DELETE FROM invoices WHERE number = '{number}'",
    ):
        with pytest.raises(ImmutableRecord, match="immutable"), world.transaction() as tx:
            tx.conn.execute(text(sql))


def test_the_parties_frozen_on_an_issued_invoice_cannot_be_changed(world: Billfold) -> None:
    [number] = create(world, invoice("DE1", {"sku": "SUB-PRO"}))
    with world.reading() as conn:
        before = build_document(conn, number)
    for sql in (
        "UPDATE invoice_parties SET buyer_json = '{}'",
        "DELETE FROM invoice_parties",
    ):
        with pytest.raises(ImmutableRecord, match="append-only"), world.transaction() as tx:
            tx.conn.execute(text(sql))
    with world.reading() as conn:
        assert build_document(conn, number) == before


def test_frozen_document_ignores_later_master_data_changes(world: Billfold) -> None:
    from billfold.services.entities import configure_entity

    [number] = create(world, invoice("DE1", {"sku": "SUB-PRO"}))
    with world.reading() as conn:
        before = build_document(conn, number)
    with world.transaction() as tx:
        tx.conn.execute(text("UPDATE customers SET name = 'Renamed AG', currency = 'USD'"))
        configure_entity(tx, "ACME-DE", tax_rounding="total", email="new@acme.example")
        tx.conn.execute(
            text(
                "INSERT INTO vat_rate_overrides (country, region, tax_type, "
                "rate_name, category, rate, valid_from) VALUES "
                "('DE', '', 'VAT', 'standard', 'S', '21', '2020-01-01')"
            )
        )
    with world.reading() as conn:
        assert build_document(conn, number) == before


def test_full_credit_nets_the_invoice_to_zero(world: Billfold) -> None:
    [number] = create(
        world, invoice("DE1", {"sku": "SUB-PRO", "quantity": "3"}, {"sku": "BOOK", "quantity": "3"})
    )
    with world.transaction() as tx:
        first = create_credit_memo(tx, "ACME-DE", number, "damaged", [Selection(2, Decimal("10"))])
        second = create_credit_memo(tx, "ACME-DE", number, "cancelled")
    assert (first, second) == ("CN-2026-000001", "CN-2026-000002")
    with world.reading() as conn:
        assert ledger.ar_open_items(conn, date(2026, 12, 31)) == []
        tb = {r.code: r for r in ledger.trial_balance(conn, date(2026, 12, 31))}
        assert all(r.debit == r.credit == 0 for r in tb.values())
        [summary] = [s for s in list_invoices(conn) if s.number == number]
        assert summary.status == "credited" and summary.open == Money.zero("EUR")
    with pytest.raises(Conflict, match="already fully credited"), world.transaction() as tx:
        create_credit_memo(tx, "ACME-DE", number, "again")


def test_crediting_more_than_invoiced_is_refused(world: Billfold) -> None:
    [number] = create(world, invoice("DE1", {"sku": "SUB-PRO"}))
    before = row_counts(world)
    with (
        pytest.raises(InvalidInput, match="more than the 49.00 EUR not yet credited"),
        world.transaction() as tx,
    ):
        create_credit_memo(tx, "ACME-DE", number, "too much", [Selection(1, Decimal("49.01"))])
    assert row_counts(world) == before


def test_void_policy(world: Billfold) -> None:
    [a, b, c] = create(world, *[invoice("DE1", {"sku": "SUB-PRO"}) for _ in range(3)])
    with world.transaction() as tx:
        invoicing.void(tx, "ACME-DE", a, "duplicate")
        invoicing.mark_delivered(tx, "ACME-DE", b, "email")
        create_credit_memo(tx, "ACME-DE", c, "goodwill", [Selection(1, Decimal("5"))])
    with pytest.raises(Conflict, match="delivered"), world.transaction() as tx:
        invoicing.void(tx, "ACME-DE", b, "x")
    with pytest.raises(Conflict, match="credits applied"), world.transaction() as tx:
        invoicing.void(tx, "ACME-DE", c, "x")
    with world.reading() as conn:
        status = {s.number: s.status for s in list_invoices(conn)}
        open_refs = {i.item_ref for i in ledger.ar_open_items(conn, date(2026, 12, 31))}
    assert status[a] == "voided" and a not in open_refs and b in open_refs


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (invoice("DE1", {"sku": "NOPE"}), "unknown SKU"),
        (invoice("XX9", {"sku": "SUB-PRO"}), "unknown customer"),
        (invoice("DE1", {"sku": "SUB-PRO"}, currency="EUX"), "unknown currency code 'EUX'"),
        (invoice("DE1", {"sku": "SUB-PRO", "quantity": "1.00001"}), "more than 4 decimals"),
        (invoice("DE1", {"description": "x", "unit_price": "1.0000001"}), "more than 6 decimals"),
        (invoice("DE1", {"description": "Refund", "unit_price": "-10.00"}), "is negative"),
        (invoice("FR2", {"sku": "SUB-PRO", "tax_category": "AE"}), "needs the buyer's VAT ID"),
        (
            invoice(
                "DE1", {"description": "x", "unit_price": "5"}, currency="CHF", day="2026-12-24"
            ),
            "no CHF/EUR exchange rate on 2026-12-24",
        ),
        (invoice("DE1", {"sku": "SUB-PRO", "quantity": 1.5}), "write numbers as strings"),
    ],
)
def test_bad_invoice_input_is_refused_and_changes_nothing(
    world: Billfold,
    doc: dict,  # type: ignore[type-arg]
    message: str,
) -> None:
    before = row_counts(world)
    with pytest.raises(BillfoldError, match=message):
        create(world, doc)
    assert row_counts(world) == before


def test_issuing_into_a_closed_period_is_refused(world: Billfold) -> None:
    ids = create(world, invoice("DE1", {"sku": "SUB-PRO"}, day="2026-10-30"), issue=False)
    with world.transaction() as tx:
        ledger.set_period_status(tx, "ACME-DE", "2026-10", "closed")
    before = row_counts(world)
    with (
        pytest.raises(ClosedPeriod, match="2026-10 of ACME-DE is closed"),
        world.transaction() as tx,
    ):
        invoicing.issue(tx, ids)  # type: ignore[arg-type]
    assert row_counts(world) == before


def test_issuing_never_posts_to_an_inactive_account(world: Billfold) -> None:
    ids = create(world, invoice("DE1", {"sku": "SUB-PRO"}, day="2026-10-30"), issue=False)
    with world.transaction() as tx:  # AR control retired (as a migration of the chart might)
        tx.conn.execute(text("UPDATE accounts SET active = false WHERE role = 'ar_control'"))
    before = row_counts(world)
    with pytest.raises(NotFound, match=r"inactive account\(s\) 1100"), world.transaction() as tx:
        invoicing.issue(tx, ids)  # type: ignore[arg-type]
    assert row_counts(world) == before


def test_unknown_invoice(world: Billfold) -> None:
    with pytest.raises(NotFound), world.reading() as conn:
        build_document(conn, "INV-1999-000001")


def test_ar_subledger_still_equals_gl(world: Billfold) -> None:
    create(
        world,
        invoice("DE1", {"sku": "SUB-PRO"}),
        invoice("GB1", {"sku": "SUB-PRO"}),
        invoice("JP1", {"sku": "SUB-PRO"}),
        invoice("FR2", {"sku": "BOOK"}),
    )
    with world.reading() as conn:
        day = date(2026, 12, 31)
        assert ledger.ar_subledger_balance(conn, day) == ledger.gl_control_balance(conn, day)
