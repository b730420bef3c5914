"""Render an ``InvoiceDocument`` as a UBL 2.1 e-invoice in the Peppol BIS Billing 3.0 profile.

Invoices and debit notes become a UBL ``Invoice`` (type codes 380 and 383), credit notes a
``CreditNote`` (381). Elements follow the order of the UBL 2.1 schema. The result is validated
against the UBL XSD, EN 16931 and Peppol BIS 3.0 before it is returned, so ``render_ubl`` either
gives a valid document or raises ``EInvoiceInvalid`` naming every broken rule. The choices shared
with the CII renderer (amount decimals, buyer reference, electronic addresses, VAT categories)
are documented in ``billfold.documents.einvoice_common``.
"""

from __future__ import annotations

from datetime import date
from typing import Final, cast

from lxml import etree

from billfold.documents import einvoice_common as common
from billfold.domain.documents import DocumentLine, InvoiceDocument, Party, TaxSummary
from billfold.money import Money

CUSTOMIZATION_ID: Final = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
)
PROFILE_ID: Final = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

CAC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC: Final = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS: Final = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"

Element = etree._Element


def render_ubl(doc: InvoiceDocument) -> bytes:
    """The Peppol BIS 3.0 UBL document of ``doc`` as UTF-8 bytes, validated.

    Raises ``InvalidInput`` when a party has no Peppol electronic address, and
    ``EInvoiceInvalid`` when the document breaks an EN 16931 or Peppol rule.
    """
    root = _root(doc)
    _header(root, doc)
    _parties(root, doc)
    _delivery(root, doc)
    _payment(root, doc)
    _tax_totals(root, doc)
    _monetary_total(root, doc)
    for line in doc.lines:
        _line(root, doc, line)
    xml = common.serialize(root)
    return common.validated(xml, f"UBL {doc.doc_type.value} {doc.number}", peppol=True)


# --- element helpers -------------------------------------------------------------------------


def _cbc(parent: Element, name: str, text: str | None = None, **attrs: str) -> Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _cac(parent: Element, name: str) -> Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _amount(parent: Element, name: str, money: Money) -> Element:
    return _cbc(parent, name, common.amount_text(money), currencyID=money.currency)


def _root(doc: InvoiceDocument) -> Element:
    namespace, tag = (
        (CREDIT_NOTE_NS, "CreditNote") if doc.is_credit_note else (INVOICE_NS, "Invoice")
    )
    # lxml takes None as the key of the default namespace; lxml-stubs only admits str keys.
    nsmap = cast("dict[str, str]", {None: namespace, "cac": CAC, "cbc": CBC})
    return etree.Element(f"{{{namespace}}}{tag}", nsmap=nsmap)


def _line_tag(doc: InvoiceDocument) -> str:
    return "CreditNoteLine" if doc.is_credit_note else "InvoiceLine"


def _quantity_tag(doc: InvoiceDocument) -> str:
    return "CreditedQuantity" if doc.is_credit_note else "InvoicedQuantity"


# --- header ----------------------------------------------------------------------------------


def _header(root: Element, doc: InvoiceDocument) -> None:
    """BT-24, BT-23, BT-1, BT-2, BT-9, BT-3, BT-22, BT-5, BT-6, BT-10, BG-14, BT-13, BG-3."""
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", common.date_text(doc.issue_date))
    if doc.is_credit_note:  # a CreditNote has no DueDate: BT-9 goes to PaymentMeans
        _cbc(root, "CreditNoteTypeCode", doc.doc_type.untdid_1001)
    else:
        if doc.due_date is not None:
            _cbc(root, "DueDate", common.date_text(doc.due_date))
        _cbc(root, "InvoiceTypeCode", doc.doc_type.untdid_1001)
    notes = common.notes(doc)
    if notes:  # Peppol allows one note outside Germany (PEPPOL-EN16931-R002)
        _cbc(root, "Note", "\n".join(notes))
    _cbc(root, "DocumentCurrencyCode", doc.currency)
    if doc.tax_currency is not None:
        _cbc(root, "TaxCurrencyCode", doc.tax_currency)
    _cbc(root, "BuyerReference", common.buyer_reference(doc))
    if doc.period_start is not None or doc.period_end is not None:
        _period(root, doc.period_start, doc.period_end)
    if doc.po_number:
        _cbc(_cac(root, "OrderReference"), "ID", doc.po_number)
    if doc.preceding_number:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", doc.preceding_number)
        if doc.preceding_date is not None:
            _cbc(reference, "IssueDate", common.date_text(doc.preceding_date))


def _period(parent: Element, start: date | None, end: date | None) -> None:
    """An InvoicePeriod with whichever of its start and end dates is known."""
    period = _cac(parent, "InvoicePeriod")
    for name, value in (("StartDate", start), ("EndDate", end)):
        if value is not None:
            _cbc(period, name, common.date_text(value))


# --- parties ---------------------------------------------------------------------------------


def _parties(root: Element, doc: InvoiceDocument) -> None:
    """BG-4 seller and BG-7 buyer."""
    seller = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    _party(seller, doc, doc.seller, "seller")
    buyer = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    _party(buyer, doc, doc.buyer, "buyer")


def _party(element: Element, doc: InvoiceDocument, party: Party, role: str) -> None:
    scheme, address = common.required_endpoint(party, role, doc.number)
    _cbc(element, "EndpointID", address, schemeID=scheme)
    _cbc(_cac(element, "PartyName"), "Name", party.name)
    _postal_address(_cac(element, "PostalAddress"), party)
    if party.vat_id and common.shows_vat_ids(doc):
        _tax_scheme(element, party.vat_id, "VAT")
    if role == "seller" and party.tax_id:  # BT-32, seller tax registration
        _tax_scheme(element, party.tax_id, "FC")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.legal_id:
        scheme_id = common.legal_id_scheme(party)
        attrs = {"schemeID": scheme_id} if scheme_id else {}
        _cbc(legal, "CompanyID", party.legal_id, **attrs)
    telephone = common.seller_telephone(doc) if role == "seller" else None
    _contact(element, party, telephone)


def _postal_address(address: Element, party: Party) -> None:
    for name, value in (
        ("StreetName", party.line1),
        ("AdditionalStreetName", party.line2),
        ("CityName", party.city),
        ("PostalZone", party.postal_code),
        ("CountrySubentity", party.region),
    ):
        if value:
            _cbc(address, name, value)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)


def _tax_scheme(party: Element, company_id: str, scheme: str) -> None:
    tax_scheme = _cac(party, "PartyTaxScheme")
    _cbc(tax_scheme, "CompanyID", company_id)
    _cbc(_cac(tax_scheme, "TaxScheme"), "ID", scheme)


def _contact(party: Element, source: Party, telephone: str | None) -> None:
    if not (source.contact_name or source.email or telephone):
        return
    contact = _cac(party, "Contact")
    for name, value in (
        ("Name", source.contact_name),
        ("Telephone", telephone),
        ("ElectronicMail", source.email),
    ):
        if value:
            _cbc(contact, name, value)


# --- delivery and payment --------------------------------------------------------------------


def _delivery(root: Element, doc: InvoiceDocument) -> None:
    """BT-72 actual delivery date and, for intra-community supplies, BT-80 the country."""
    country = common.deliver_to_country(doc)
    if doc.supply_date is None and country is None:
        return
    delivery = _cac(root, "Delivery")
    if doc.supply_date is not None:
        _cbc(delivery, "ActualDeliveryDate", common.date_text(doc.supply_date))
    if country is not None:
        address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
        _cbc(_cac(address, "Country"), "IdentificationCode", country)


def _payment(root: Element, doc: InvoiceDocument) -> None:
    """BG-16 payment instructions and BT-20 payment terms."""
    payment = doc.payment
    if payment is not None:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", payment.means_code)
        if doc.is_credit_note and doc.due_date is not None:
            _cbc(means, "PaymentDueDate", common.date_text(doc.due_date))
        if payment.reference:
            _cbc(means, "PaymentID", payment.reference)
        if payment.iban:
            account = _cac(means, "PayeeFinancialAccount")
            _cbc(account, "ID", common.compact(payment.iban))
            if payment.account_name:
                _cbc(account, "Name", payment.account_name)
            if payment.bic:
                _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", payment.bic)
    if doc.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", doc.payment_terms)


# --- tax and totals --------------------------------------------------------------------------


def _tax_totals(root: Element, doc: InvoiceDocument) -> None:
    """BT-110 with its BG-23 breakdown, and BT-111 in the tax currency when there is one."""
    total = _cac(root, "TaxTotal")
    _amount(total, "TaxAmount", doc.tax_total)
    for summary in doc.tax_summary:
        _tax_subtotal(total, summary)
    if doc.tax_currency is not None and doc.tax_total_in_tax_currency is not None:
        _amount(_cac(root, "TaxTotal"), "TaxAmount", doc.tax_total_in_tax_currency)


def _tax_subtotal(total: Element, summary: TaxSummary) -> None:
    subtotal = _cac(total, "TaxSubtotal")
    _amount(subtotal, "TaxableAmount", summary.taxable)
    _amount(subtotal, "TaxAmount", summary.tax)
    category = _cac(subtotal, "TaxCategory")
    _cbc(category, "ID", summary.category)
    _cbc(category, "Percent", common.decimal_text(summary.rate))
    reason, code = common.exemption(summary)
    if code:
        _cbc(category, "TaxExemptionReasonCode", code)
    if reason:
        _cbc(category, "TaxExemptionReason", reason)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _monetary_total(root: Element, doc: InvoiceDocument) -> None:
    """BG-22: BT-106, BT-109, BT-112, BT-113 and BT-115 (no document allowances or charges)."""
    totals = _cac(root, "LegalMonetaryTotal")
    _amount(totals, "LineExtensionAmount", doc.net_total)
    _amount(totals, "TaxExclusiveAmount", doc.net_total)
    _amount(totals, "TaxInclusiveAmount", doc.gross_total)
    if doc.prepaid is not None:
        _amount(totals, "PrepaidAmount", doc.prepaid)
    _amount(totals, "PayableAmount", doc.amount_due)


# --- lines -----------------------------------------------------------------------------------


def _line(root: Element, doc: InvoiceDocument, line: DocumentLine) -> None:
    """BG-25 with its period (BG-26), allowance (BG-27), item (BG-31) and price (BG-29)."""
    element = _cac(root, _line_tag(doc))
    _cbc(element, "ID", str(line.line_no))
    if line.note:
        _cbc(element, "Note", line.note)
    _cbc(element, _quantity_tag(doc), common.decimal_text(line.quantity), unitCode=line.unit_code)
    _amount(element, "LineExtensionAmount", line.net)
    if line.period_start is not None or line.period_end is not None:
        _period(element, line.period_start, line.period_end)
    if line.discount is not None and not line.discount.is_zero():
        _line_allowance(element, line.discount, line.discount_reason)
    _item(element, line)
    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", common.decimal_text(line.unit_price), currencyID=doc.currency)


def _line_allowance(line: Element, discount: Money, reason: str | None) -> None:
    allowance = _cac(line, "AllowanceCharge")
    _cbc(allowance, "ChargeIndicator", "false")
    _cbc(allowance, "AllowanceChargeReasonCode", common.DISCOUNT_REASON_CODE)
    _cbc(allowance, "AllowanceChargeReason", reason or common.DISCOUNT_REASON)
    _amount(allowance, "Amount", discount)


def _item(line_element: Element, line: DocumentLine) -> None:
    item = _cac(line_element, "Item")
    name, description = common.item_name_and_description(line.description)
    if description:
        _cbc(item, "Description", description)
    _cbc(item, "Name", name)
    if line.sku:
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.sku)
    category = _cac(item, "ClassifiedTaxCategory")
    _cbc(category, "ID", line.tax_category)
    if common.line_carries_rate(line.tax_category):
        _cbc(category, "Percent", common.decimal_text(line.tax_rate))
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
