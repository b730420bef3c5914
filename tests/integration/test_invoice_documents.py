"""Issued documents render to PDF and to e-invoices that pass EN 16931 and Peppol BIS 3."""

import io
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from billfold.documents.facturx import embedded_xml
from billfold.documents.render import render_document
from billfold.documents.validation import validate_einvoice
from billfold.services.context import Billfold
from billfold.services.credit_memos import Selection, create_credit_memo
from billfold.services.invoice_queries import build_document

from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration
UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


@pytest.fixture
def issued(bf: Billfold) -> tuple[Billfold, dict[str, str]]:
    seed_invoicing(bf)
    numbers = create(
        bf,
        invoice(
            "DE1",
            {
                "sku": "SUB-PRO",
                "quantity": "3",
                "service_period": {"start": "2026-11-01", "end": "2026-11-30"},
            },
            {"sku": "BOOK", "quantity": "2", "discount": {"percent": "10"}},
            po_number="PO-4711",
        ),
        invoice("FR1", {"sku": "SUB-PRO"}),
        invoice("FR1", {"sku": "WIDGET", "quantity": "10"}, supply_date="2026-11-02"),
        invoice("GB1", {"sku": "SUB-PRO", "quantity": "2"}),
        invoice("JP1", {"sku": "SUB-PRO", "quantity": "3"}),
        invoice("DE1", {"sku": "TRAIN", "quantity": "8"}),
    )
    with bf.transaction() as tx:
        credit = create_credit_memo(
            tx, "ACME-DE", numbers[0], "damaged", [Selection(2, Decimal("10.00"))]
        )
    names = ["domestic", "reverse_charge", "intra_community", "export", "yen", "exempt"]
    return bf, {**dict(zip(names, numbers, strict=True)), "credit": credit}


def test_every_issued_document_passes_the_official_rules(issued: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = issued
    with bf.reading() as conn:
        docs = {k: build_document(conn, n) for k, n in numbers.items()}
    for kind, doc in docs.items():
        for fmt in ("ubl", "cii"):
            data, _ = render_document(doc, fmt)
            report = validate_einvoice(data, peppol=fmt == "ubl")
            assert report.ok, (kind, fmt, report.errors)
    credit_ubl, _ = render_document(docs["credit"], "ubl")
    root = etree.fromstring(credit_ubl)
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=UBL) == "381"
    assert root.findtext(".//cbc:PayableAmount", namespaces=UBL) == "10.70"
    yen, _ = render_document(docs["yen"], "ubl")
    assert etree.fromstring(yen).findtext(".//cbc:PayableAmount", namespaces=UBL) == "22500"


def test_pdf_and_facturx(issued: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = issued
    with bf.reading() as conn:
        doc = build_document(conn, numbers["domestic"])
    pdf, _ = render_document(doc, "pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Rechnung" in text and numbers["domestic"] in text
    assert "213,26" in text and "DE89 3704 0044 0532 0130 00" in text
    facturx, _ = render_document(doc, "facturx")
    xml = embedded_xml(facturx)
    assert validate_einvoice(xml, peppol=False).ok
    assert b"213.26" in xml


def test_re_rendering_gives_the_same_e_invoice(issued: tuple) -> None:  # type: ignore[type-arg]
    bf, numbers = issued
    with bf.reading() as conn:
        first = render_document(build_document(conn, numbers["export"]), "ubl")[0]
        second = render_document(build_document(conn, numbers["export"]), "ubl")[0]
    assert first == second


def test_register(issued: tuple) -> None:  # type: ignore[type-arg]
    from openpyxl import load_workbook

    from billfold.reports import register

    bf, numbers = issued
    with bf.reading() as conn:
        rows = register.invoice_register(conn, date(2026, 11, 1), date(2026, 11, 30))
    assert len(rows) == 7
    totals = register.totals_by_currency(rows)
    assert totals["EUR"][2] == Decimal("213.26") + Decimal("45.00") + Decimal("123.46") + Decimal(
        "960.00"
    ) - Decimal("10.70")
    csv_text = register.to_csv(rows).decode()
    assert csv_text.splitlines()[0].startswith("entity,number,type,issue_date")
    assert f"{numbers['credit']},credit_note" in csv_text and ",-10.70," in csv_text
    wb = load_workbook(io.BytesIO(register.to_xlsx(rows, "Register")))
    ws = wb.active
    assert ws is not None and ws["B3"].value == rows[0].number
