"""What the UBL, CII and Factur-X renderers share: number formats, EN 16931 choices, validation.

The renderers turn one ``InvoiceDocument`` into XML; the decisions that must come out the same
in every syntax live here, each in one small function:

* **Amounts** carry the currency's minor-unit decimals (JPY ``1000``, EUR ``1000.00``). EN 16931
  allows at most two decimals in any amount whatever the currency (rules BR-DEC-01 to -28), so a
  three-decimal currency (KWD, BHD, OMR, JOD, TND...) is written with two decimals when that loses
  nothing (``12.340`` -> ``12.34``). An amount that really needs its third decimal is written with
  it, and validation then refuses the document naming the BR-DEC rule: EN 16931 cannot carry it.
* **Quantities, prices and rates** are plain decimal text, never exponent notation.
* **Buyer reference** (BT-10): the document's own, else its purchase order number, else the
  invoice number. Peppol needs BT-10 or BT-13 (PEPPOL-EN16931-R003) and the German rules always
  BT-10 (DE-R-015), so BT-10 is always present.
* **Electronic address** (BT-34 / BT-49): ``Party.endpoint`` when set; else derived from the VAT
  id (the Peppol EAS scheme of that country's VAT number); else from another tax id whose country
  has an EAS scheme (US EIN 9959, AU ABN 0151); else from the legal id where the country's
  register has one (KvK 0106, SIREN 0002, ...); else, outside Peppol only, the e-mail with scheme
  EM (EN 16931 accepts EM; the Peppol list does not, PEPPOL-EN16931-CL008). Peppol requires the
  address (R010/R020), so without one ``render_ubl`` fails with a clear message.
* **Not subject to VAT (O)**: a document whose lines are all O carries no VAT identifiers
  (BR-O-02); a document mixing O with other categories is rendered as is and refused by
  validation (BR-O-11 to BR-O-14), because no e-invoice can say it.
* **Rates**: lines in category O state no rate (BR-O-05); every VAT breakdown row states one,
  0 for O, which EN 16931 allows and the German rules require (DE-R-014).
* **Exemption reasons** are written only for E, AE, K, G and O (BR-S-10, BR-Z-10, BR-AF-10 and
  BR-AG-10 forbid them elsewhere); AE, K, G and O without one get their standard VATEX code.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Final

from lxml import etree

from billfold.documents.validation import raise_if_invalid, validate_einvoice
from billfold.domain.documents import VAT_CATEGORIES, InvoiceDocument, Party, TaxSummary
from billfold.errors import InvalidInput
from billfold.money import Currency, Money

#: EN 16931 caps every amount at two decimals, whatever the currency.
MAX_AMOUNT_DECIMALS: Final = 2

#: UNTDID 5189 code 95 and its text: the reason of a line discount (BT-140, BT-139).
DISCOUNT_REASON_CODE: Final = "95"
DISCOUNT_REASON: Final = "Discount"

#: Key in ``InvoiceDocument.extra`` for the seller's telephone (BT-42), which the German
#: rules require on domestic invoices (DE-R-006) and ``Party`` has no field for.
SELLER_TELEPHONE_KEY: Final = "seller_telephone"

# Peppol EAS schemes for a VAT number, by the VAT id's prefix. Only schemes on the Peppol EAS
# list (PEPPOL-EN16931-CL008) appear; IT uses 0211 (Partita IVA) because 9906 was withdrawn.
_VAT_EAS: Final[dict[str, str]] = {
    "AD": "9922", "AL": "9923", "AT": "9914", "BA": "9924", "BE": "9925", "BG": "9926",
    "CH": "9927", "CY": "9928", "CZ": "9929", "DE": "9930", "DK": "0184", "EE": "9931",
    "EL": "9933", "ES": "9920", "FI": "0213", "FR": "9957", "GB": "9932", "HR": "9934",
    "HU": "9910", "IE": "9935", "IT": "0211", "LI": "9936", "LT": "9937", "LU": "9938",
    "LV": "9939", "MC": "9940", "ME": "9941", "MK": "9942", "MT": "9943", "NL": "9944",
    "NO": "0192", "PL": "9945", "PT": "9946", "RO": "9947", "RS": "9948", "SE": "0007",
    "SI": "9949", "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953",
}  # fmt: skip

# EAS schemes for a non-VAT tax id, by the party's country.
_TAX_ID_EAS: Final[dict[str, str]] = {"US": "9959", "AU": "0151"}

# ISO 6523 schemes of national company registers: (country, pattern of the legal id) -> scheme.
_LEGAL_ID_SCHEMES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    ("NL", re.compile(r"\d{8}"), "0106"),  # KvK number
    ("NL", re.compile(r"\d{20}"), "0190"),  # OIN
    ("FR", re.compile(r"\d{9}"), "0002"),  # SIREN
    ("BE", re.compile(r"\d{10}"), "0208"),  # enterprise number
    ("SE", re.compile(r"\d{10}"), "0007"),  # organisationsnummer
    ("NO", re.compile(r"\d{9}"), "0192"),  # organisasjonsnummer
    ("DK", re.compile(r"\d{8}"), "0184"),  # CVR
)

# The VATEX code a breakdown of these categories gets when it names no reason itself.
_DEFAULT_VATEX: Final[dict[str, str]] = {
    "AE": "VATEX-EU-AE",
    "K": "VATEX-EU-IC",
    "G": "VATEX-EU-G",
    "O": "VATEX-EU-O",
}
_EXEMPT_CATEGORIES: Final = frozenset({"E", "AE", "K", "G", "O"})


# --- numbers ---------------------------------------------------------------------------------


def amount_text(money: Money) -> str:
    """An amount with its currency's decimals, capped at two when that loses nothing."""
    exponent = Currency.of(money.currency).exponent
    amount = money.amount.quantize(Decimal(1).scaleb(-exponent))
    if exponent > MAX_AMOUNT_DECIMALS:
        two = amount.quantize(Decimal(1).scaleb(-MAX_AMOUNT_DECIMALS))
        if two == amount:
            amount = two
    return f"{amount:f}"


def decimal_text(value: Decimal) -> str:
    """A quantity, unit price or rate as plain text: no exponent, no trailing zeros."""
    normalized = value.normalize()
    if normalized == 0:
        return "0"
    return f"{normalized:f}"


def date_text(value: date) -> str:
    """ISO 8601 calendar date, as UBL writes it."""
    return value.isoformat()


def cii_date_text(value: date) -> str:
    """UN/CEFACT date format 102 (CCYYMMDD), as CII writes it."""
    return value.strftime("%Y%m%d")


# --- document-level choices ------------------------------------------------------------------


def buyer_reference(doc: InvoiceDocument) -> str:
    """BT-10: the buyer's reference, else the purchase order number, else the invoice number."""
    return doc.buyer_reference or doc.po_number or doc.number


def notes(doc: InvoiceDocument) -> list[str]:
    """The document notes (BT-22) that have text."""
    return [note for note in doc.notes if note.strip()]


def categories(doc: InvoiceDocument) -> set[str]:
    """Every VAT category the document uses, on its lines and in its breakdown."""
    return {line.tax_category for line in doc.lines} | {s.category for s in doc.tax_summary}


def shows_vat_ids(doc: InvoiceDocument) -> bool:
    """False for a document entirely outside the scope of VAT (O), which must carry none."""
    return categories(doc) != {"O"}


def line_carries_rate(category: str) -> bool:
    """Whether a line's tax category states a rate: O never does (BR-O-05).

    The VAT breakdown always states one (0 for O): EN 16931 allows it there and the German
    rules require it (DE-R-014).
    """
    return category != "O"


def needs_deliver_to_country(doc: InvoiceDocument) -> bool:
    """An intra-community supply (K) must state the deliver-to country (BR-IC-12)."""
    return "K" in categories(doc)


def deliver_to_country(doc: InvoiceDocument) -> str | None:
    """BT-80 when one is required.

    The document model has no delivery address, so goods are taken to go to the buyer's
    country, which is what an intra-community supply to that buyer means.
    """
    return doc.buyer.country if needs_deliver_to_country(doc) else None


def exemption(summary: TaxSummary) -> tuple[str | None, str | None]:
    """(BT-120 reason text, BT-121 VATEX code) for a breakdown row, or (None, None).

    Only exempt categories carry a reason; AE, K, G and O without one get their standard
    VATEX code and the category's name as text.
    """
    if summary.category not in _EXEMPT_CATEGORIES:
        return None, None
    reason, code = summary.exemption_reason, summary.exemption_code
    if reason is None and code is None and summary.category in _DEFAULT_VATEX:
        return VAT_CATEGORIES[summary.category], _DEFAULT_VATEX[summary.category]
    return reason, code


def seller_telephone(doc: InvoiceDocument) -> str | None:
    """BT-42: the seller's telephone (``doc.extra`` may override it)."""
    return doc.extra.get(SELLER_TELEPHONE_KEY) or doc.seller.phone


def item_name_and_description(text: str) -> tuple[str, str | None]:
    """BT-153 item name (the first line) and BT-154 description (the whole text, if longer)."""
    stripped = text.strip()
    first = stripped.splitlines()[0].strip() if stripped else stripped
    return first, (stripped if stripped != first else None)


# --- identifiers -----------------------------------------------------------------------------


def compact(identifier: str) -> str:
    """An identifier without spaces, dots or dashes, upper-cased."""
    return re.sub(r"[\s.\-]", "", identifier).upper()


def legal_id_scheme(party: Party) -> str | None:
    """The ISO 6523 scheme of the party's legal id when its country's register is known."""
    if party.legal_id is None:
        return None
    value = compact(party.legal_id)
    for country, pattern, scheme in _LEGAL_ID_SCHEMES:
        if party.country.upper() == country and pattern.fullmatch(value):
            return scheme
    return None


def _vat_endpoint(vat_id: str) -> tuple[str, str] | None:
    """The Peppol address a VAT number gives, in the form each scheme's rules expect."""
    value = compact(vat_id)
    scheme = _VAT_EAS.get(value[:2])
    if scheme is None:
        return None
    if scheme == "0007":  # SE556677889901 -> organisationsnummer 5566778899
        return scheme, value[2:12]
    if scheme in ("0192", "9933"):  # NO123456789MVA -> 123456789; EL123456789 -> 123456789
        return scheme, re.sub(r"\D", "", value)
    return scheme, value


def endpoint(party: Party, *, peppol: bool) -> tuple[str, str] | None:
    """The party's electronic address (scheme, value), explicit or derived; None if there is none.

    With ``peppol=True`` only schemes on the Peppol EAS list are derived (no e-mail).
    """
    if party.endpoint is not None:
        return party.endpoint
    candidates: list[tuple[str, str] | None] = []
    if party.vat_id:
        candidates.append(_vat_endpoint(party.vat_id))
    if party.tax_id and party.country.upper() in _TAX_ID_EAS:
        candidates.append((_TAX_ID_EAS[party.country.upper()], compact(party.tax_id)))
    scheme = legal_id_scheme(party)
    if scheme is not None and party.legal_id is not None:
        candidates.append((scheme, compact(party.legal_id)))
    if party.email and not peppol:
        candidates.append(("EM", party.email.strip()))
    return next((c for c in candidates if c is not None), None)


def required_endpoint(party: Party, role: str, number: str) -> tuple[str, str]:
    """The Peppol electronic address of a party, or a clear error saying how to give one."""
    found = endpoint(party, peppol=True)
    if found is None:
        raise InvalidInput(
            f"invoice {number}: the {role} {party.name!r} has no Peppol electronic address "
            "(PEPPOL-EN16931-R010/R020): set Party.endpoint, e.g. ('0088', GLN), or give a VAT "
            "id, a US EIN / AU ABN tax id or a registered legal id; Peppol does not accept "
            "e-mail addresses"
        )
    return found


# --- output --------------------------------------------------------------------------------

XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, indented for people who open the file."""
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def validated(xml: bytes, document_name: str, *, peppol: bool) -> bytes:
    """Return ``xml`` if it passes its schema and business rules, else raise EInvoiceInvalid.

    Every renderer ends here, so an invalid e-invoice never leaves Billfold.
    """
    raise_if_invalid(validate_einvoice(xml, peppol=peppol), document_name)
    return xml
