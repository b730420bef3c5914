"""Hand-built ``InvoiceDocument`` samples for the e-invoice renderer tests.

``build`` computes what the invoice service would: line nets (quantity x price - discount,
rounded to the currency), one tax breakdown row per category and rate (taxable x rate, rounded),
each row's tax spread over its lines by largest remainder, and the document totals. ``SAMPLES``
maps a readable name to a function returning one document; every one of them must render to a
valid UBL (Peppol) and CII document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from billfold.documents.einvoice_common import SELLER_TELEPHONE_KEY
from billfold.domain.documents import (
    DocType,
    DocumentLine,
    InvoiceDocument,
    Party,
    PaymentInstructions,
    TaxSummary,
)
from billfold.money import Money, sum_money

D = Decimal


@dataclass(frozen=True)
class L:
    """A line to build: what is sold, how much, at what price, under which tax category."""

    description: str
    quantity: str
    unit_price: str
    category: str = "S"
    rate: str = "0"
    unit: str = "C62"
    discount: str | None = None
    discount_reason: str | None = None
    sku: str | None = None
    period: tuple[date, date] | None = None
    note: str | None = None


@dataclass(frozen=True)
class Exemption:
    reason: str | None
    code: str | None = None


def build(
    *,
    number: str,
    seller: Party,
    buyer: Party,
    currency: str,
    lines: Sequence[L],
    doc_type: DocType = DocType.INVOICE,
    exemptions: dict[str, Exemption] | None = None,
    prepaid: str | None = None,
    **fields: Any,
) -> InvoiceDocument:
    """An internally consistent document from line specifications."""
    nets = [_net(spec, currency) for spec in lines]
    groups: dict[tuple[str, Decimal], list[int]] = {}
    for index, spec in enumerate(lines):
        groups.setdefault((spec.category, D(spec.rate)), []).append(index)
    line_tax: dict[int, Money] = {}
    summaries = []
    for (category, rate), members in groups.items():
        taxable = sum_money([nets[i] for i in members], currency)
        tax = taxable.times(rate / 100)
        weights = [nets[i].amount for i in members]
        shares = tax.allocate(weights) if any(weights) else [tax] * len(members)
        line_tax.update(zip(members, shares, strict=True))
        exemption = (exemptions or {}).get(category, Exemption(None))
        summaries.append(TaxSummary(category, rate, taxable, tax, exemption.reason, exemption.code))
    document_lines = tuple(
        _line(index + 1, spec, nets[index], line_tax[index], currency)
        for index, spec in enumerate(lines)
    )
    net_total = sum_money(nets, currency)
    tax_total = sum_money([s.tax for s in summaries], currency)
    gross = net_total + tax_total
    paid = Money.of(prepaid, currency) if prepaid is not None else None
    return InvoiceDocument(
        doc_type=doc_type,
        number=number,
        issue_date=fields.pop("issue_date", date(2025, 3, 31)),
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=document_lines,
        tax_summary=tuple(summaries),
        net_total=net_total,
        tax_total=tax_total,
        gross_total=gross,
        amount_due=gross - paid if paid is not None else gross,
        prepaid=paid,
        **fields,
    )


def _net(spec: L, currency: str) -> Money:
    gross = Money.rounded(D(spec.quantity) * D(spec.unit_price), currency)
    return gross - Money.of(spec.discount, currency) if spec.discount else gross


def _line(number: int, spec: L, net: Money, tax: Money, currency: str) -> DocumentLine:
    return DocumentLine(
        line_no=number,
        description=spec.description,
        quantity=D(spec.quantity),
        unit_code=spec.unit,
        unit_price=D(spec.unit_price),
        net=net,
        tax_category=spec.category,
        tax_rate=D(spec.rate),
        tax=tax,
        sku=spec.sku,
        discount=Money.of(spec.discount, currency) if spec.discount else None,
        discount_reason=spec.discount_reason,
        period_start=spec.period[0] if spec.period else None,
        period_end=spec.period[1] if spec.period else None,
        note=spec.note,
    )


# --- parties ---------------------------------------------------------------------------------

SELLER_DE = Party(
    name="Billfold Demo GmbH",
    country="DE",
    line1="Friedrichstraße 100",
    city="Berlin",
    postal_code="10117",
    vat_id="DE123456789",
    tax_id="30/123/45678",
    legal_id="HRB 123456 B",
    email="billing@billfold-demo.de",
    contact_name="Erika Mustermann",
)
BUYER_DE = Party(
    name="Kunde AG",
    country="DE",
    line1="Leopoldstraße 5",
    city="München",
    postal_code="80802",
    vat_id="DE987654321",
    email="ap@kunde.de",
)
SELLER_FR = Party(
    name="Atelier Facture SAS",
    country="FR",
    line1="12 rue de la Paix",
    city="Paris",
    postal_code="75002",
    vat_id="FR40303265045",
    legal_id="303265045",
    email="compta@atelier-facture.fr",
)
BUYER_FR = Party(
    name="Client Lyon SARL",
    country="FR",
    line1="3 quai Saint-Antoine",
    city="Lyon",
    postal_code="69002",
    vat_id="FR82542065479",
)
BUYER_BE = Party(
    name="Klant Antwerpen NV",
    country="BE",
    line1="Meir 1",
    city="Antwerpen",
    postal_code="2000",
    vat_id="BE0403170701",
    legal_id="0403170701",
)
BUYER_US = Party(
    name="Client Inc.",
    country="US",
    line1="1 Market Street",
    city="San Francisco",
    postal_code="94105",
    region="CA",
    tax_id="12-3456789",
)
BUYER_JP = Party(
    name="Kabushiki Kaisha Kyaku",
    country="JP",
    city="Tokyo",
    postal_code="100-0005",
    endpoint=("0088", "5790000436057"),
)
BUYER_KW = Party(
    name="Kuwait Trading Co.",
    country="KW",
    city="Kuwait City",
    endpoint=("0088", "5790000436101"),
)
BUYER_CH = Party(
    name="Kunde Zürich GmbH",
    country="CH",
    line1="Bahnhofstrasse 1",
    city="Zürich",
    postal_code="8001",
    vat_id="CHE123456789MWST",
)
SELLER_NL = Party(
    name="Zorg en Leren B.V.",
    country="NL",
    line1="Damrak 1",
    city="Amsterdam",
    postal_code="1012 LG",
    vat_id="NL123456789B01",
    legal_id="12345678",
    email="factuur@zorgenleren.nl",
)
BUYER_NL = Party(
    name="Klant Utrecht B.V.",
    country="NL",
    line1="Oudegracht 10",
    city="Utrecht",
    postal_code="3511 AR",
    vat_id="NL987654321B01",
)
SELLER_CANARIAS = Party(
    name="Islas Servicios S.L.",
    country="ES",
    line1="Calle Mayor de Triana 1",
    city="Las Palmas de Gran Canaria",
    postal_code="35002",
    region="Las Palmas",
    vat_id="ESB35123456",
)
BUYER_CANARIAS = Party(
    name="Cliente Tenerife S.A.",
    country="ES",
    line1="Calle del Castillo 2",
    city="Santa Cruz de Tenerife",
    postal_code="38002",
    vat_id="ESA38654321",
)
SELLER_CEUTA = Party(
    name="Ceuta Distribución S.L.",
    country="ES",
    line1="Paseo del Revellín 3",
    city="Ceuta",
    postal_code="51001",
    vat_id="ESB51123456",
)
BUYER_CEUTA = Party(
    name="Cliente Ceutí S.L.",
    country="ES",
    city="Ceuta",
    postal_code="51002",
    vat_id="ESB51654321",
)
SELLER_GB = Party(
    name="Ledger Books Ltd",
    country="GB",
    line1="1 Fleet Street",
    city="London",
    postal_code="EC4Y 1AA",
    vat_id="GB123456789",
)
BUYER_GB = Party(
    name="Reading Room Ltd",
    country="GB",
    city="Oxford",
    postal_code="OX1 3BG",
    vat_id="GB987654321",
)

SEPA_DE = PaymentInstructions(
    iban="DE89 3704 0044 0532 0130 00",
    bic="COBADEFFXXX",
    account_name="Billfold Demo GmbH",
    reference="RF18539007547034",
)
GERMAN_EXTRA = {SELLER_TELEPHONE_KEY: "+49 30 1234567"}
MARCH = (date(2025, 3, 1), date(2025, 3, 31))


# --- samples ---------------------------------------------------------------------------------


def de_domestic_two_rates() -> InvoiceDocument:
    """DE -> DE, EUR: 19 % and 7 % on one invoice, a line discount, periods, a prepayment."""
    return build(
        number="RE-2025-0001",
        seller=SELLER_DE,
        buyer=BUYER_DE,
        currency="EUR",
        lines=[
            L("Consulting, March", "12.5", "120", "S", "19", "HUR", period=MARCH, sku="CONS"),
            L("Licence", "3", "99.99", "S", "19", discount="30", discount_reason="Loyalty"),
            L("Handbook\nPrinted, 2nd edition", "4", "24.90", "S", "7", sku="BOOK-2"),
            L("Data fee", "1000", "0.0125", "S", "19", note="Usage 2025-03"),
        ],
        due_date=date(2025, 4, 30),
        payment_terms="Net 30 days",
        period_start=MARCH[0],
        period_end=MARCH[1],
        po_number="PO-4711",
        notes=("Thank you for your order.", "Geschäftsführer: Erika Mustermann"),
        payment=SEPA_DE,
        prepaid="100.00",
        extra=GERMAN_EXTRA,
    )


def fr_be_reverse_charge() -> InvoiceDocument:
    """FR -> BE services, reverse charge (AE)."""
    return build(
        number="FA-2025-104",
        seller=SELLER_FR,
        buyer=BUYER_BE,
        currency="EUR",
        lines=[L("Audit de sécurité", "5", "950", "AE", "0", "DAY")],
        exemptions={"AE": Exemption("Autoliquidation", "VATEX-EU-AE")},
        due_date=date(2025, 4, 30),
        buyer_reference="BE-PO-77",
        notes=("Autoliquidation - article 196 de la directive 2006/112/CE",),
        payment=PaymentInstructions(iban="FR7630006000011234567890189", means_code="30"),
    )


def de_fr_intra_community() -> InvoiceDocument:
    """DE -> FR goods, intra-community supply (K), delivered on a date."""
    buyer = replace(BUYER_FR, name="Client Strasbourg SA", city="Strasbourg", postal_code="67000")
    return build(
        number="RE-2025-0002",
        seller=SELLER_DE,
        buyer=buyer,
        currency="EUR",
        lines=[L("Server rack", "2", "1450", "K", "0"), L("Cables", "20", "4.75", "K", "0")],
        supply_date=date(2025, 3, 28),
        due_date=date(2025, 4, 30),
        payment=SEPA_DE,
    )


def de_us_export() -> InvoiceDocument:
    """DE -> US export of goods (G); the buyer's address comes from its EIN (scheme 9959)."""
    return build(
        number="RE-2025-0003",
        seller=SELLER_DE,
        buyer=BUYER_US,
        currency="EUR",
        lines=[L("Industrial scanner", "1", "8900", "G", "0")],
        exemptions={"G": Exemption("Export outside the EU", "VATEX-EU-G")},
        due_date=date(2025, 4, 30),
        payment=SEPA_DE,
    )


def nl_exempt() -> InvoiceDocument:
    """NL -> NL exempt education services (E) with a reason."""
    return build(
        number="F2025-0042",
        seller=SELLER_NL,
        buyer=BUYER_NL,
        currency="EUR",
        lines=[L("Training course", "8", "450", "E", "0", "HUR")],
        exemptions={"E": Exemption("Vrijgesteld onderwijs, art. 11 Wet OB", "VATEX-EU-132-1I")},
        due_date=date(2025, 4, 30),
        payment=PaymentInstructions(iban="NL91ABNA0417164300", means_code="58"),
    )


def de_ch_not_subject() -> InvoiceDocument:
    """DE -> CH, outside the scope of VAT (O): no VAT identifiers on the document."""
    return build(
        number="RE-2025-0004",
        seller=SELLER_DE,
        buyer=BUYER_CH,
        currency="EUR",
        lines=[L("Membership fee 2025", "1", "600", "O", "0", "ANN")],
        due_date=date(2025, 4, 30),
        payment=SEPA_DE,
    )


def canary_igic() -> InvoiceDocument:
    """Canary Islands, IGIC 7 % (L)."""
    return build(
        number="IC-2025-7",
        seller=SELLER_CANARIAS,
        buyer=BUYER_CANARIAS,
        currency="EUR",
        lines=[L("Mantenimiento", "3", "333.33", "L", "7", "MON")],
        due_date=date(2025, 4, 30),
        payment_terms="30 días",
    )


def ceuta_ipsi() -> InvoiceDocument:
    """Ceuta, IPSI 4 % (M)."""
    return build(
        number="CE-2025-3",
        seller=SELLER_CEUTA,
        buyer=BUYER_CEUTA,
        currency="EUR",
        lines=[L("Suministro", "10", "19.95", "M", "4")],
        due_date=date(2025, 4, 30),
    )


def gb_zero_rated() -> InvoiceDocument:
    """GB -> GB, GBP, zero-rated books (Z)."""
    return build(
        number="INV-900",
        seller=SELLER_GB,
        buyer=BUYER_GB,
        currency="GBP",
        lines=[L("Printed books", "40", "12.49", "Z", "0")],
        payment_terms="Payment within 14 days",
    )


def jpy_export() -> InvoiceDocument:
    """DE -> JP export invoiced in JPY: amounts without decimals."""
    return build(
        number="RE-2025-0005",
        seller=SELLER_DE,
        buyer=BUYER_JP,
        currency="JPY",
        lines=[L("Precision scale", "3", "45990", "G", "0"), L("Calibration", "2.5", "8000", "G")],
        due_date=date(2025, 5, 31),
    )


def kwd_export(fils: str = "0") -> InvoiceDocument:
    """DE -> KW export invoiced in KWD (three decimals); ``fils`` is the line's last digit."""
    return build(
        number="RE-2025-0006",
        seller=SELLER_DE,
        buyer=BUYER_KW,
        currency="KWD",
        lines=[L("Spare parts", "1", f"1234.50{fils}", "G", "0")],
        due_date=date(2025, 5, 31),
    )


def de_credit_note() -> InvoiceDocument:
    """DE -> DE credit note (381) correcting RE-2025-0001."""
    return build(
        number="GS-2025-0001",
        doc_type=DocType.CREDIT_NOTE,
        seller=SELLER_DE,
        buyer=BUYER_DE,
        currency="EUR",
        lines=[L("Licence, returned", "1", "99.99", "S", "19")],
        preceding_number="RE-2025-0001",
        preceding_date=date(2025, 3, 31),
        issue_date=date(2025, 4, 10),
        due_date=date(2025, 4, 24),
        buyer_reference="LEITWEG-991-12345",
        payment=SEPA_DE,
        extra=GERMAN_EXTRA,
    )


def fr_debit_note() -> InvoiceDocument:
    """FR -> FR debit note (383) for a forgotten shipping charge."""
    return build(
        number="ND-2025-12",
        doc_type=DocType.DEBIT_NOTE,
        seller=SELLER_FR,
        buyer=BUYER_FR,
        currency="EUR",
        lines=[L("Frais de port", "1", "45", "S", "20")],
        preceding_number="FA-2025-100",
        preceding_date=date(2025, 3, 15),
        due_date=date(2025, 4, 30),
    )


def usd_with_eur_vat() -> InvoiceDocument:
    """DE -> DE invoiced in USD with the VAT also stated in EUR (BT-6 and BT-111)."""
    doc = build(
        number="RE-2025-0007",
        seller=SELLER_DE,
        buyer=BUYER_DE,
        currency="USD",
        lines=[L("Cloud hosting", "1", "1000", "S", "19", "MON", period=MARCH)],
        due_date=date(2025, 4, 30),
        buyer_reference="04011000-1234512345-35",
        payment=SEPA_DE,
        tax_currency="EUR",
        fx_rate=D("0.9200"),
        extra=GERMAN_EXTRA,
    )
    in_eur = Money.rounded(doc.tax_total.amount * D("0.9200"), "EUR")
    return replace(doc, tax_total_in_tax_currency=in_eur)


SAMPLES: dict[str, Callable[[], InvoiceDocument]] = {
    "de-domestic-19-and-7": de_domestic_two_rates,
    "fr-be-reverse-charge-AE": fr_be_reverse_charge,
    "de-fr-intra-community-K": de_fr_intra_community,
    "de-us-export-G": de_us_export,
    "nl-exempt-E": nl_exempt,
    "de-ch-not-subject-O": de_ch_not_subject,
    "canary-igic-L": canary_igic,
    "ceuta-ipsi-M": ceuta_ipsi,
    "gb-zero-rated-Z": gb_zero_rated,
    "jpy-zero-decimals": jpy_export,
    "kwd-three-decimals": kwd_export,
    "de-credit-note-381": de_credit_note,
    "fr-debit-note-383": fr_debit_note,
    "usd-with-eur-vat-BT6": usd_with_eur_vat,
}
