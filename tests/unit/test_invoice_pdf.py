"""The printed invoice: render documents in five languages and read back what a reader would see.

Each PDF is rendered once per module (WeasyPrint takes a fraction of a second per page) and its
text is extracted with pypdf; the tests then check the words and figures a billing clerk or a
tax auditor would look for. Babel writes no-break spaces inside amounts ("1.654,00\u00a0€",
"4\u202f000,00\u00a0€") and cells wrap; in the extracted text every run of whitespace, line
breaks included, is made one plain space.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billfold.documents.i18n import (
    LABELS,
    NON_VAT_LABELS,
    TAX_CATEGORY_NAMES,
    UNIT_NAMES,
    Localizer,
)
from billfold.documents.pdf import (
    demo_logo,
    format_iban,
    logo_data_uri,
    render_html,
    render_pdf,
)
from billfold.domain.documents import (
    VAT_CATEGORIES,
    DocType,
    DocumentLine,
    InvoiceDocument,
    Party,
    PaymentInstructions,
    TaxSummary,
)
from billfold.errors import InvalidInput
from billfold.money import Money

D = Decimal


def eur(value: str, currency: str = "EUR") -> Money:
    return Money.of(value, currency)


def line(
    no: int,
    description: str,
    quantity: str,
    unit: str,
    price: str,
    rate: str,
    *,
    currency: str = "EUR",
    category: str = "S",
    discount: str | None = None,
    **extra: object,
) -> DocumentLine:
    """A line whose net and tax are computed the way the billing engine does."""
    gross = Money.rounded(D(quantity) * D(price), currency)
    net = gross - eur(discount, currency) if discount else gross
    return DocumentLine(
        line_no=no,
        description=description,
        quantity=D(quantity),
        unit_code=unit,
        unit_price=D(price),
        net=net,
        tax_category=category,
        tax_rate=D(rate),
        tax=net.times(D(rate) / 100),
        discount=eur(discount, currency) if discount else None,
        **extra,  # type: ignore[arg-type]
    )


def document(
    lines: tuple[DocumentLine, ...],
    tax_summary: tuple[TaxSummary, ...],
    *,
    currency: str = "EUR",
    prepaid: Money | None = None,
    **fields: object,
) -> InvoiceDocument:
    """An issued document whose totals add up from its lines."""
    net = sum((x.net for x in lines), Money.zero(currency))
    tax = sum((t.tax for t in tax_summary), Money.zero(currency))
    gross = net + tax
    due = gross - prepaid if prepaid else gross
    defaults: dict[str, object] = {"doc_type": DocType.INVOICE, "issue_date": date(2026, 11, 25)}
    defaults.update(fields)
    return InvoiceDocument(
        currency=currency,
        lines=lines,
        tax_summary=tax_summary,
        net_total=net,
        tax_total=tax,
        gross_total=gross,
        amount_due=due,
        prepaid=prepaid,
        **defaults,  # type: ignore[arg-type]
    )


ACME_DE = Party(
    "Acme Europe GmbH",
    "DE",
    line1="Friedrichstraße 1",
    city="Berlin",
    postal_code="10115",
    vat_id="DE136695976",
    tax_id="27/123/45678",
    legal_id="HRB 123456 B, Amtsgericht Charlottenburg",
    email="billing@acme.example",
)
BEISPIEL_DE = Party(
    "Beispiel Handels AG",
    "DE",
    line1="Hauptstraße 5",
    city="München",
    postal_code="80331",
    vat_id="DE811128135",
    contact_name="Frau Erika Mustermann",
)


def german_invoice() -> InvoiceDocument:
    lines = (
        line(1, "Software-Lizenz Billfold Pro", "12", "MON", "100.00", "19", discount="200.00",
             discount_reason="Treuerabatt", sku="BF-PRO-12",
             period_start=date(2026, 1, 1), period_end=date(2026, 12, 31)),
        line(2, "Einrichtung und Schulung", "2.500", "HUR", "120.00", "19"),
        line(3, "Handbuch Rechnungswesen (Druckausgabe)", "2", "C62", "50.00", "7"),
    )  # fmt: skip
    summary = (
        TaxSummary("S", D("19"), eur("1300.00"), eur("247.00")),
        TaxSummary("S", D("7"), eur("100.00"), eur("7.00")),
    )
    return document(
        lines,
        summary,
        number="RE-2026-000123",
        seller=ACME_DE,
        buyer=BEISPIEL_DE,
        language="de",
        supply_date=date(2026, 11, 20),
        due_date=date(2026, 12, 25),
        payment_terms="Zahlbar innerhalb von 30 Tagen ohne Abzug",
        po_number="PO-4711",
        buyer_reference="Kostenstelle 0815",
        discount_percent=D("2"),
        discount_date=date(2026, 12, 5),
        payment=PaymentInstructions(
            iban="DE89370400440532013000",
            bic="COBADEFFXXX",
            bank_name="Commerzbank",
            account_name="Acme Europe GmbH",
            reference="RE-2026-000123",
        ),
    )


def french_reverse_charge_invoice() -> InvoiceDocument:
    seller = Party(
        "Acme France SAS",
        "FR",
        line1="12 rue de la Paix",
        city="Paris",
        postal_code="75002",
        vat_id="FR40303265045",
        legal_id="303 265 045 00012",
    )
    lines = (
        line(1, "Prestation de conseil en facturation", "5", "DAY", "800.00", "0", category="AE"),
    )
    summary = (
        TaxSummary(
            "AE",
            D("0"),
            eur("4000.00"),
            eur("0.00"),
            exemption_reason="Autoliquidation",
            exemption_code="VATEX-EU-AE",
        ),
    )
    return document(
        lines,
        summary,
        number="FA-2026-0042",
        seller=seller,
        buyer=BEISPIEL_DE,
        language="fr",
        period_start=date(2026, 11, 2),
        period_end=date(2026, 11, 6),
        due_date=date(2026, 12, 25),
        notes=(
            "Autoliquidation : TVA due par le preneur, article 196 de la directive 2006/112/CE.",
        ),
        payment=PaymentInstructions(
            iban="FR7630006000011234567890189", bic="AGRIFRPP", reference="FA-2026-0042"
        ),
    )


def english_credit_note() -> InvoiceDocument:
    seller = Party(
        "Acme UK Ltd",
        "GB",
        line1="1 King Street",
        city="London",
        postal_code="EC2V 8AU",
        vat_id="GB980780684",
    )
    buyer = Party("Example Trading BV", "NL", line1="Damrak 1", city="Amsterdam",
                  postal_code="1012 LG", vat_id="NL004495445B01")  # fmt: skip
    lines = (line(1, "Refund of unused licence months", "2", "MON", "100.00", "20"),)
    summary = (TaxSummary("S", D("20"), eur("200.00"), eur("40.00")),)
    return document(
        lines,
        summary,
        doc_type=DocType.CREDIT_NOTE,
        number="CN-2026-0007",
        seller=seller,
        buyer=buyer,
        language="en",
        preceding_number="INV-2026-0042",
        preceding_date=date(2026, 10, 31),
        tax_currency="GBP",
        tax_total_in_tax_currency=Money.of("34.05", "GBP"),
        fx_rate=D("0.8512"),
    )


def japanese_yen_invoice() -> InvoiceDocument:
    seller = Party("Acme Japan KK", "JP", line1="1-1 Marunouchi", city="Tokyo",
                   postal_code="100-0005", tax_id="T1234567890123")  # fmt: skip
    buyer = Party("Example Foods Co.", "JP", city="Osaka", postal_code="530-0001")
    lines = (
        line(1, "Point-of-sale terminal", "3", "C62", "12000", "10", currency="JPY"),
        line(2, "Coffee beans", "1", "KGM", "5000", "8", currency="JPY"),
    )
    summary = (
        TaxSummary("S", D("10"), Money.of("36000", "JPY"), Money.of("3600", "JPY")),
        TaxSummary("S", D("8"), Money.of("5000", "JPY"), Money.of("400", "JPY")),
    )
    return document(
        lines,
        summary,
        currency="JPY",
        number="JP-2026-0001",
        seller=seller,
        buyer=buyer,
        language="ja",  # no Japanese labels: falls back to English
        due_date=date(2026, 12, 31),
    )


def spanish_invoice() -> InvoiceDocument:
    seller = Party("Acme Iberia S.L.", "ES", line1="Calle de Alcalá 10", city="Madrid",
                   postal_code="28014", vat_id="ESB12345674")  # fmt: skip
    buyer = Party("Cliente Ejemplo S.A.", "ES", line1="Passeig de Gràcia 20",
                  city="Barcelona", postal_code="08007", vat_id="ESA58818501")  # fmt: skip
    lines = (line(1, "Mantenimiento anual del sistema", "1", "ANN", "1500.00", "21"),)
    summary = (TaxSummary("S", D("21"), eur("1500.00"), eur("315.00")),)
    return document(
        lines,
        summary,
        number="F2026-0099",
        seller=seller,
        buyer=buyer,
        language="es",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        due_date=date(2026, 1, 31),
        prepaid=eur("500.00"),
        payment=PaymentInstructions(iban="ES9121000418450200051332", bic="CAIXESBBXXX"),
    )


def dutch_invoice() -> InvoiceDocument:
    """Long enough for two pages: the page counter must say so."""
    seller = Party("Acme Benelux B.V.", "NL", line1="Keizersgracht 100", city="Amsterdam",
                   postal_code="1015 CV", vat_id="NL859048423B01", legal_id="12345678")  # fmt: skip
    buyer = Party("Voorbeeld Groothandel B.V.", "NL", line1="Coolsingel 40",
                  city="Rotterdam", postal_code="3011 AD")  # fmt: skip
    licences = [line(i, f"Licentie werkplek {i}", "1", "MON", "25.00", "21") for i in range(1, 40)]
    lines = (*licences, line(40, "Koffie (zakelijk pakket)", "3", "KGM", "10.00", "9"))
    summary = (
        TaxSummary("S", D("21"), eur("975.00"), eur("204.75")),
        TaxSummary("S", D("9"), eur("30.00"), eur("2.70")),
    )
    return document(
        lines,
        summary,
        number="2026-0500",
        seller=seller,
        buyer=buyer,
        language="nl",
        due_date=date(2026, 12, 9),
        payment=PaymentInstructions(iban="NL91ABNA0417164300", bic="ABNANL2A"),
    )


def german_debit_note() -> InvoiceDocument:
    lines = (line(1, "Nachberechnung Mehrstunden Oktober", "4", "HUR", "120.00", "19"),)
    summary = (TaxSummary("S", D("19"), eur("480.00"), eur("91.20")),)
    return document(
        lines,
        summary,
        doc_type=DocType.DEBIT_NOTE,
        number="NB-2026-0003",
        seller=ACME_DE,
        buyer=BEISPIEL_DE,
        language="de-AT",  # Austrian number format, German words
        preceding_number="RE-2026-000100",
        preceding_date=date(2026, 10, 31),
        due_date=date(2026, 12, 25),
    )


def text_of(pdf: bytes) -> list[str]:
    """The text of each page, with every kind of space made a plain space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    """Every sample rendered once; the German invoice as PDF/A-3b, with the demo logo."""
    return {
        "de": render_pdf(german_invoice(), logo=demo_logo(), pdf_variant="pdf/a-3b"),
        "fr": render_pdf(french_reverse_charge_invoice()),
        "en": render_pdf(english_credit_note()),
        "jp": render_pdf(japanese_yen_invoice()),
        "es": render_pdf(spanish_invoice()),
        "nl": render_pdf(dutch_invoice()),
        "debit": render_pdf(german_debit_note()),
    }


@pytest.fixture(scope="module")
def pages(pdfs: dict[str, bytes]) -> dict[str, list[str]]:
    return {name: text_of(pdf) for name, pdf in pdfs.items()}


def assert_shows(text: str, *expected: str) -> None:
    missing = [item for item in expected if item not in text]
    assert not missing, f"missing {missing} in:\n{text}"


# -- what a reader checks, language by language ------------------------------------------------
def test_german_invoice_shows_totals_tax_breakdown_and_bank_details(
    pages: dict[str, list[str]],
) -> None:
    [text] = pages["de"]
    assert_shows(
        text,
        "Rechnung",
        "Rechnungsnummer RE-2026-000123",
        "Rechnungsdatum 25. November 2026",
        "Leistungsdatum 20. November 2026",
        "Fällig am 25. Dezember 2026",
        "Bestellnummer PO-4711",
        "Ihre Referenz Kostenstelle 0815",
        "USt-IdNr.: DE136695976",
        "USt-IdNr.: DE811128135",
        "Frau Erika Mustermann",
        # lines: unit names, quantities without trailing zeros, the line discount
        "12 Monate",
        "2,5 Stunden",
        "2 Stk.",
        "Rabatt: Treuerabatt",
        "Art.-Nr. BF-PRO-12",
        "Zeitraum: 01.01.2026 – 31.12.2026",
        "200,00 €",
        # tax breakdown: one row per rate
        "19 % 1.300,00 € 247,00 €",
        "7 % 100,00 € 7,00 €",
        # totals
        "Summe netto 1.400,00 €",
        "Umsatzsteuer 254,00 €",
        "Gesamtbetrag 1.654,00 €",
        "Zahlbetrag 1.654,00 €",
        # payment
        "Zahlungsbedingungen: Zahlbar innerhalb von 30 Tagen ohne Abzug",
        "2 % Skonto bei Zahlung bis zum 5. Dezember 2026.",
        "Bitte überweisen Sie 1.654,00 € bis zum 25. Dezember 2026.",
        "IBAN DE89 3704 0044 0532 0130 00",
        "BIC COBADEFFXXX",
        "Verwendungszweck RE-2026-000123",
        "Seite 1 von 1",
    )


def test_german_invoice_is_pdf_a_3b(pdfs: dict[str, bytes]) -> None:
    """The base a Factur-X file needs: PDF/A-3b metadata and an output intent."""
    pdf = pdfs["de"]
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.xmp_metadata is not None
    xmp = reader.xmp_metadata.stream.get_data()
    assert b'pdfaid:part="3"' in xmp
    assert b'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.root_object
    assert reader.metadata is not None
    assert reader.metadata.title == "Rechnung RE-2026-000123"


def test_french_reverse_charge_invoice_says_who_owes_the_vat(
    pages: dict[str, list[str]],
) -> None:
    [text] = pages["fr"]
    assert_shows(
        text,
        "Facture",
        "Numéro de facture FA-2026-0042",
        "Date d'émission 25 novembre 2026",
        "Période de prestation 2 novembre 2026 – 6 novembre 2026",
        "Allemagne",  # the buyer's country, in French
        "N° TVA intracom.: DE811128135",
        "5 jours",
        "800,00 €",
        "Autoliquidation",
        "VATEX-EU-AE",
        "0 % 4 000,00 € 0,00 €",
        "Total HT 4 000,00 €",
        "Total TVA 0,00 €",
        "Net à payer 4 000,00 €",
        "TVA due par le preneur, article 196 de la directive 2006/112/CE",
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "Page 1 sur 1",
    )


def test_english_credit_note_names_the_invoice_it_corrects(pages: dict[str, list[str]]) -> None:
    [text] = pages["en"]
    assert_shows(
        text,
        "Credit note",
        "Credit note number CN-2026-0007",
        "Corrects invoice INV-2026-0042 dated October 31, 2026",
        "2 months",
        "Amount credited €240.00",
        "Total VAT €40.00",
        "20% €200.00 €40.00",
        # a UK seller invoicing in euros shows the VAT in pounds
        "VAT total in GBP £34.05",
        "Exchange rate 1 EUR = 0.8512 GBP",
        "London",
        "EC2V 8AU",
        "Netherlands",
        "Page 1 of 1",
    )
    assert "Please pay" not in text


def test_yen_invoice_has_no_decimals_and_falls_back_to_english(
    pages: dict[str, list[str]],
) -> None:
    [text] = pages["jp"]
    assert_shows(
        text,
        "Invoice",
        "Invoice number JP-2026-0001",
        "3 pcs",
        "1 kg",
        "¥12,000",
        "10% ¥36,000 ¥3,600",
        "8% ¥5,000 ¥400",
        "Total tax ¥4,000",  # no VAT ID: the seller's tax is not called VAT
        "Amount due ¥45,000",
        "Tax ID: T1234567890123",
        "Page 1 of 1",
    )
    assert "¥45,000.00" not in text


def test_spanish_invoice_shows_prepayment_and_amount_due(pages: dict[str, list[str]]) -> None:
    [text] = pages["es"]
    assert_shows(
        text,
        "Factura",
        "Número de factura F2026-0099",
        "Periodo de prestación 1 de enero de 2026 – 31 de diciembre de 2026",
        "1 año",
        "NIF-IVA: ESA58818501",
        "21 % 1.500,00 € 315,00 €",
        "Base imponible 1.500,00 €",
        "Total IVA 315,00 €",
        "Total factura 1.815,00 €",
        "Anticipos 500,00 €",
        "Importe a pagar 1.315,00 €",
        "IBAN ES91 2100 0418 4502 0005 1332",
        "Página 1 de 1",
    )


def test_dutch_invoice_runs_over_two_pages(pages: dict[str, list[str]]) -> None:
    dutch = pages["nl"]
    assert len(dutch) == 2
    first, last = dutch
    assert_shows(first, "Factuur", "Factuurnummer 2026-0500", "Omschrijving", "Pagina 1 van 2")
    assert_shows(first, "Acme Benelux B.V.", "IBAN NL91 ABNA 0417 1643 00")  # the page footer
    assert_shows(
        last,
        "Omschrijving",  # the table header repeats on the next page
        "Licentie werkplek 39",
        "3 kg",
        "21% € 975,00 € 204,75",
        "9% € 30,00 € 2,70",
        "Totaal excl. btw € 1.005,00",
        "Totaal incl. btw € 1.212,45",
        "Te betalen € 1.212,45",
        "Pagina 2 van 2",
    )


def test_debit_note_uses_the_regional_number_format(pages: dict[str, list[str]]) -> None:
    [text] = pages["debit"]
    assert_shows(
        text,
        "Nachberechnung",
        "Nachberechnungsnummer NB-2026-0003",
        "Korrektur zur Rechnung RE-2026-000100 vom 31. Oktober 2026",
        "4 Stunden",
        "Zahlbetrag € 571,20",  # de-AT puts the euro sign first
        "Seite 1 von 1",
    )


# -- HTML and the pieces it is made of (no PDF, fast) ----------------------------------------
def test_html_escapes_document_text_and_embeds_the_logo() -> None:
    doc = german_invoice()
    hostile = replace(doc.lines[0], description='<img src="file:///etc/passwd">')
    html = render_html(replace(doc, lines=(hostile,)), logo=demo_logo())
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert '<html lang="de">' in html


def test_logo_type_is_sniffed_and_garbage_refused() -> None:
    assert logo_data_uri(b"\x89PNG\r\n\x1a\n....").startswith("data:image/png;base64,")
    assert logo_data_uri(b"\xff\xd8\xff\xe0....").startswith("data:image/jpeg;base64,")
    assert logo_data_uri(demo_logo()).startswith("data:image/svg+xml;base64,")
    with pytest.raises(InvalidInput, match="logo"):
        logo_data_uri(b"%PDF-1.7")


def test_iban_is_printed_in_groups_of_four() -> None:
    assert format_iban("de89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    assert format_iban("NL91 ABNA 0417 1643 00") == "NL91 ABNA 0417 1643 00"


@pytest.mark.parametrize(
    ("language", "quantity", "unit", "expected"),
    [
        ("en", "1.000", "HUR", "1 hour"),
        ("en", "7.50", "HUR", "7.5 hours"),
        ("de", "1", "MON", "1 Monat"),
        ("fr", "1.5", "HUR", "1,5 heure"),  # French singular runs up to 2
        ("es", "3", "DAY", "3 días"),
        ("nl", "2", "WEE", "2 weken"),
        ("de", "1234.5", "KGM", "1.234,5 kg"),
        ("en", "4", "XYZ", "4 XYZ"),  # unknown code: shown as is
    ],
)
def test_quantities_have_localized_units_and_no_trailing_zeros(
    language: str, quantity: str, unit: str, expected: str
) -> None:
    text = Localizer.for_language(language).quantity(D(quantity), unit)
    assert text.replace("\u00a0", " ") == expected


@pytest.mark.parametrize(
    ("language", "expected_money", "expected_percent", "expected_date"),
    [
        ("de", "1.190,00 €", "5,5 %", "25. November 2026"),
        ("en", "€1,190.00", "5.5%", "November 25, 2026"),
        ("fr", "1 190,00 €", "5,5 %", "25 novembre 2026"),
        ("es", "1.190,00 €", "5,5 %", "25 de noviembre de 2026"),
        ("nl", "€ 1.190,00", "5,5%", "25 november 2026"),
        ("xx", "€1,190.00", "5.5%", "November 25, 2026"),  # unknown: English
        ("fr-BE", "1 190,00 €", "5,5 %", "25 novembre 2026"),
    ],
)
def test_numbers_and_dates_follow_the_locale(
    language: str, expected_money: str, expected_percent: str, expected_date: str
) -> None:
    loc = Localizer.for_language(language)

    def plain(text: str) -> str:
        return re.sub(r"[\u00a0\u202f]", " ", text)

    assert plain(loc.money(D("1190.00"), "EUR")) == expected_money
    assert plain(loc.percent(D("5.50"))) == expected_percent
    assert plain(loc.date(date(2026, 11, 25))) == expected_date


def test_unit_prices_keep_their_extra_decimals() -> None:
    loc = Localizer.for_language("de")
    assert loc.money(D("0.0125"), "EUR").replace("\u00a0", " ") == "0,0125 €"
    assert loc.money(D("100.000"), "EUR").replace("\u00a0", " ") == "100,00 €"


def test_every_language_has_every_label_category_and_unit() -> None:
    for language in LABELS:
        assert LABELS[language].keys() == LABELS["en"].keys(), language
        assert NON_VAT_LABELS[language].keys() == NON_VAT_LABELS["en"].keys(), language
        assert TAX_CATEGORY_NAMES[language].keys() == VAT_CATEGORIES.keys(), language
        assert UNIT_NAMES[language].keys() == UNIT_NAMES["en"].keys(), language
