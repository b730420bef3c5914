"""The issued-document model: everything a renderer (PDF, UBL, CII, Factur-X) needs, frozen.

An ``InvoiceDocument`` is built from the database by the invoice service at render time, from the
snapshot taken when the document was issued (seller, buyer, currency, rate, rounding), so
re-rendering an old invoice gives the same document whatever changed since. Renderers are pure
functions ``InvoiceDocument -> bytes``.

Amounts are ``Money`` in the document currency; ``unit_price`` and ``quantity`` are Decimals
that may carry more decimals than the currency (a unit price of 0.0125 EUR is fine).
Sign convention: a credit note carries positive amounts, like the EN 16931 credit note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from billfold.money import Money


class DocType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"

    @property
    def untdid_1001(self) -> str:
        """The document type code of UNTDID 1001 (EN 16931 BT-3)."""
        return {"invoice": "380", "credit_note": "381", "debit_note": "383"}[self.value]


# EN 16931 VAT category codes (UNTDID 5305 subset) and what they mean.
VAT_CATEGORIES = {
    "S": "Standard rate",
    "Z": "Zero rated goods",
    "E": "Exempt from tax",
    "AE": "VAT reverse charge",
    "K": "VAT exempt for EEA intra-community supply of goods and services",
    "G": "Free export item, tax not charged",
    "O": "Services outside scope of tax",
    "L": "Canary Islands general indirect tax",
    "M": "Tax for production, services and importation in Ceuta and Melilla",
}


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer as printed on the document.

    ``vat_id`` is the VAT identifier with country prefix (BT-31 / BT-48) when the party has one;
    ``tax_id`` another tax registration (e.g. a US EIN, an AU ABN). ``endpoint`` is the
    electronic address (scheme, value), e.g. ("EM", "ap@example.com") or ("0088", GLN).
    """

    name: str
    country: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    vat_id: str | None = None
    tax_id: str | None = None
    legal_id: str | None = None
    email: str | None = None
    endpoint: tuple[str, str] | None = None
    contact_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One invoice line. ``net`` = quantity x unit_price - discount, rounded to the currency."""

    line_no: int
    description: str
    quantity: Decimal
    unit_code: str  # UN/ECE Recommendation 20, e.g. C62 (one), HUR (hour), MON (month)
    unit_price: Decimal  # net unit price, document currency
    net: Money
    tax_category: str  # EN 16931 category code, see VAT_CATEGORIES
    tax_rate: Decimal  # percent; 0 for Z, E, AE, K, G, O
    tax: Money  # this line's share of the tax
    sku: str | None = None
    discount: Money | None = None  # line allowance, already subtracted from net
    discount_reason: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    note: str | None = None  # e.g. "End customer: ...", the source of a billed charge


@dataclass(frozen=True, slots=True)
class TaxSummary:
    """One row of the tax breakdown (EN 16931 BG-23): per category and rate."""

    category: str
    rate: Decimal
    taxable: Money
    tax: Money
    exemption_reason: str | None = None  # BT-120, required for E, AE, K, G, O
    exemption_code: str | None = None  # BT-121, VATEX code, e.g. VATEX-EU-AE
    jurisdiction: str | None = None  # e.g. DE, US-WA, CA-QC (for the PDF)


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    iban: str | None = None
    bic: str | None = None
    bank_name: str | None = None
    account_name: str | None = None
    reference: str | None = None  # remittance reference the payer should quote
    means_code: str = "58"  # UNTDID 4461: 58 SEPA credit transfer, 30 credit transfer


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    doc_type: DocType
    number: str
    issue_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    tax_summary: tuple[TaxSummary, ...]
    net_total: Money  # sum of line nets (BT-106 = BT-109 here: no document-level allowances)
    tax_total: Money  # BT-110
    gross_total: Money  # BT-112
    amount_due: Money  # BT-115 (gross minus prepaid)
    due_date: date | None = None
    payment_terms: str | None = None  # human text, e.g. "2% within 10 days, net 30 days"
    supply_date: date | None = None  # BT-72 actual delivery date
    period_start: date | None = None  # BT-73
    period_end: date | None = None  # BT-74
    po_number: str | None = None  # BT-13
    buyer_reference: str | None = None  # BT-10 (Peppol requires BT-10 or BT-13)
    preceding_number: str | None = None  # BT-25, the invoice a credit/debit note corrects
    preceding_date: date | None = None  # BT-26
    notes: tuple[str, ...] = ()  # BT-22, e.g. the reverse-charge legal note
    payment: PaymentInstructions | None = None
    language: str = "en"
    tax_currency: str | None = None  # BT-6 when the VAT is accounted in another currency
    tax_total_in_tax_currency: Money | None = None  # BT-111
    fx_rate: Decimal | None = None  # document currency -> seller's functional currency
    discount_date: date | None = None
    discount_percent: Decimal | None = None
    prepaid: Money | None = None  # BT-113
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_credit_note(self) -> bool:
        return self.doc_type is DocType.CREDIT_NOTE
