"""Render an ``InvoiceDocument`` as a UN/CEFACT CII D16B e-invoice in the EN 16931 profile.

The document uses the guideline id ``urn:cen.eu:en16931:2017`` and only elements of the
Factur-X / ZUGFeRD "EN 16931" profile, in that schema's order, so the same bytes serve as a
stand-alone CII invoice and as the XML embedded in a Factur-X PDF. It is validated against the
CII XSD and the EN 16931 rules before it is returned. The choices shared with the UBL renderer
(amount decimals, buyer reference, electronic addresses, VAT categories) are documented in
``billfold.documents.einvoice_common``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final

from lxml import etree

from billfold.documents import einvoice_common as common
from billfold.domain.documents import DocumentLine, InvoiceDocument, Party, TaxSummary
from billfold.money import Money

GUIDELINE_ID: Final = "urn:cen.eu:en16931:2017"

RSM: Final = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM: Final = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT: Final = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT: Final = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
_NSMAP: Final = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

#: UN/CEFACT date format code for CCYYMMDD.
DATE_FORMAT: Final = "102"

Element = etree._Element


def render_cii(doc: InvoiceDocument) -> bytes:
    """The EN 16931 CII document of ``doc`` as UTF-8 bytes, validated.

    Raises ``EInvoiceInvalid`` when the document breaks an EN 16931 rule.
    """
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=_NSMAP)
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_ID)
    _exchanged_document(etree.SubElement(root, f"{{{RSM}}}ExchangedDocument"), doc)
    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for line in doc.lines:
        _line(_ram(transaction, "IncludedSupplyChainTradeLineItem"), line)
    _agreement(_ram(transaction, "ApplicableHeaderTradeAgreement"), doc)
    _delivery(_ram(transaction, "ApplicableHeaderTradeDelivery"), doc)
    _settlement(_ram(transaction, "ApplicableHeaderTradeSettlement"), doc)
    xml = common.serialize(root)
    return common.validated(xml, f"CII {doc.doc_type.value} {doc.number}", peppol=False)


# --- element helpers -------------------------------------------------------------------------


def _ram(parent: Element, name: str, text: str | None = None, **attrs: str) -> Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _amount(parent: Element, name: str, money: Money) -> Element:
    """An amount without currencyID: CII states the currency once, in BT-5."""
    return _ram(parent, name, common.amount_text(money))


def _date(parent: Element, name: str, value: date) -> Element:
    """A udt date-time wrapper in format 102."""
    element = _ram(parent, name)
    string = etree.SubElement(element, f"{{{UDT}}}DateTimeString", format=DATE_FORMAT)
    string.text = common.cii_date_text(value)
    return element


def _period(parent: Element, start: date | None, end: date | None) -> None:
    """A BillingSpecifiedPeriod with whichever of its dates is known."""
    if start is None and end is None:
        return
    period = _ram(parent, "BillingSpecifiedPeriod")
    if start is not None:
        _date(period, "StartDateTime", start)
    if end is not None:
        _date(period, "EndDateTime", end)


def _line_tax(parent: Element, category: str, rate: Decimal) -> None:
    """BT-151 and BT-152: the ApplicableTradeTax of a line."""
    tax = _ram(parent, "ApplicableTradeTax")
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", category)
    if common.line_carries_rate(category):
        _ram(tax, "RateApplicablePercent", common.decimal_text(rate))


# --- document --------------------------------------------------------------------------------


def _exchanged_document(element: Element, doc: InvoiceDocument) -> None:
    """BT-1, BT-3, BT-2 and the BT-22 notes."""
    _ram(element, "ID", doc.number)
    _ram(element, "TypeCode", doc.doc_type.untdid_1001)
    _date(element, "IssueDateTime", doc.issue_date)
    for note in common.notes(doc):
        _ram(_ram(element, "IncludedNote"), "Content", note)


# --- lines -----------------------------------------------------------------------------------


def _line(element: Element, line: DocumentLine) -> None:
    """BG-25: line id and note, item, net price, quantity, tax, period, allowance, net amount."""
    document = _ram(element, "AssociatedDocumentLineDocument")
    _ram(document, "LineID", str(line.line_no))
    if line.note:
        _ram(_ram(document, "IncludedNote"), "Content", line.note)
    product = _ram(element, "SpecifiedTradeProduct")
    if line.sku:
        _ram(product, "SellerAssignedID", line.sku)
    name, description = common.item_name_and_description(line.description)
    _ram(product, "Name", name)
    if description:
        _ram(product, "Description", description)
    agreement = _ram(element, "SpecifiedLineTradeAgreement")
    price = _ram(agreement, "NetPriceProductTradePrice")
    _ram(price, "ChargeAmount", common.decimal_text(line.unit_price))
    delivery = _ram(element, "SpecifiedLineTradeDelivery")
    quantity = common.decimal_text(line.quantity)
    _ram(delivery, "BilledQuantity", quantity, unitCode=line.unit_code)
    settlement = _ram(element, "SpecifiedLineTradeSettlement")
    _line_tax(settlement, line.tax_category, line.tax_rate)
    _period(settlement, line.period_start, line.period_end)
    if line.discount is not None and not line.discount.is_zero():
        _line_allowance(settlement, line.discount, line.discount_reason)
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _amount(summation, "LineTotalAmount", line.net)


def _line_allowance(settlement: Element, discount: Money, reason: str | None) -> None:
    allowance = _ram(settlement, "SpecifiedTradeAllowanceCharge")
    indicator = _ram(allowance, "ChargeIndicator")
    etree.SubElement(indicator, f"{{{UDT}}}Indicator").text = "false"
    _amount(allowance, "ActualAmount", discount)
    _ram(allowance, "ReasonCode", common.DISCOUNT_REASON_CODE)
    _ram(allowance, "Reason", reason or common.DISCOUNT_REASON)


# --- agreement: references and parties -------------------------------------------------------


def _agreement(element: Element, doc: InvoiceDocument) -> None:
    """BT-10, BG-4 seller, BG-7 buyer and BT-13."""
    _ram(element, "BuyerReference", common.buyer_reference(doc))
    _party(_ram(element, "SellerTradeParty"), doc, doc.seller, seller=True)
    _party(_ram(element, "BuyerTradeParty"), doc, doc.buyer, seller=False)
    if doc.po_number:
        _ram(_ram(element, "BuyerOrderReferencedDocument"), "IssuerAssignedID", doc.po_number)


def _party(element: Element, doc: InvoiceDocument, party: Party, *, seller: bool) -> None:
    _ram(element, "Name", party.name)
    if party.legal_id:
        scheme = common.legal_id_scheme(party)
        attrs = {"schemeID": scheme} if scheme else {}
        _ram(_ram(element, "SpecifiedLegalOrganization"), "ID", party.legal_id, **attrs)
    _contact(element, party, common.seller_telephone(doc) if seller else None)
    _address(_ram(element, "PostalTradeAddress"), party)
    address = common.endpoint(party, peppol=False)
    if address is not None:
        scheme, value = address
        _ram(_ram(element, "URIUniversalCommunication"), "URIID", value, schemeID=scheme)
    if party.vat_id and common.shows_vat_ids(doc):
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")
    if seller and party.tax_id:
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.tax_id, schemeID="FC")


def _contact(party: Element, source: Party, telephone: str | None) -> None:
    if not (source.contact_name or source.email or telephone):
        return
    contact = _ram(party, "DefinedTradeContact")
    if source.contact_name:
        _ram(contact, "PersonName", source.contact_name)
    if telephone:
        _ram(_ram(contact, "TelephoneUniversalCommunication"), "CompleteNumber", telephone)
    if source.email:
        _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", source.email)


def _address(address: Element, party: Party) -> None:
    for name, value in (
        ("PostcodeCode", party.postal_code),
        ("LineOne", party.line1),
        ("LineTwo", party.line2),
        ("CityName", party.city),
    ):
        if value:
            _ram(address, name, value)
    _ram(address, "CountryID", party.country)
    if party.region:
        _ram(address, "CountrySubDivisionName", party.region)


# --- delivery --------------------------------------------------------------------------------


def _delivery(element: Element, doc: InvoiceDocument) -> None:
    """BT-80 deliver-to country (intra-community supplies) and BT-72 actual delivery date."""
    country = common.deliver_to_country(doc)
    if country is not None:
        address = _ram(_ram(element, "ShipToTradeParty"), "PostalTradeAddress")
        _ram(address, "CountryID", country)
    if doc.supply_date is not None:
        event = _ram(element, "ActualDeliverySupplyChainEvent")
        _date(event, "OccurrenceDateTime", doc.supply_date)


# --- settlement ------------------------------------------------------------------------------


def _settlement(element: Element, doc: InvoiceDocument) -> None:
    """Payment, currencies, the VAT breakdown, period, terms, totals and preceding invoice."""
    payment = doc.payment
    if payment is not None and payment.reference:
        _ram(element, "PaymentReference", payment.reference)
    if doc.tax_currency is not None:
        _ram(element, "TaxCurrencyCode", doc.tax_currency)
    _ram(element, "InvoiceCurrencyCode", doc.currency)
    _payment_means(element, doc)
    for summary in doc.tax_summary:
        _tax_breakdown(element, summary)
    _period(element, doc.period_start, doc.period_end)
    if doc.payment_terms or doc.due_date is not None:
        terms = _ram(element, "SpecifiedTradePaymentTerms")
        if doc.payment_terms:
            _ram(terms, "Description", doc.payment_terms)
        if doc.due_date is not None:
            _date(terms, "DueDateDateTime", doc.due_date)
    _totals(_ram(element, "SpecifiedTradeSettlementHeaderMonetarySummation"), doc)
    if doc.preceding_number:
        reference = _ram(element, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", doc.preceding_number)
        if doc.preceding_date is not None:
            issued = _ram(reference, "FormattedIssueDateTime")
            string = etree.SubElement(issued, f"{{{QDT}}}DateTimeString", format=DATE_FORMAT)
            string.text = common.cii_date_text(doc.preceding_date)


def _payment_means(settlement: Element, doc: InvoiceDocument) -> None:
    """BG-16: means code, IBAN and account name (BG-17), BIC."""
    payment = doc.payment
    if payment is None:
        return
    means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
    _ram(means, "TypeCode", payment.means_code)
    if payment.iban:
        account = _ram(means, "PayeePartyCreditorFinancialAccount")
        _ram(account, "IBANID", common.compact(payment.iban))
        if payment.account_name:
            _ram(account, "AccountName", payment.account_name)
        if payment.bic:
            _ram(_ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", payment.bic)


def _tax_breakdown(settlement: Element, summary: TaxSummary) -> None:
    """One BG-23 row: tax, category, reason, taxable amount and rate."""
    tax = _ram(settlement, "ApplicableTradeTax")
    _amount(tax, "CalculatedAmount", summary.tax)
    _ram(tax, "TypeCode", "VAT")
    reason, code = common.exemption(summary)
    if reason:
        _ram(tax, "ExemptionReason", reason)
    _amount(tax, "BasisAmount", summary.taxable)
    _ram(tax, "CategoryCode", summary.category)
    if code:
        _ram(tax, "ExemptionReasonCode", code)
    _ram(tax, "RateApplicablePercent", common.decimal_text(summary.rate))


def _totals(summation: Element, doc: InvoiceDocument) -> None:
    """BG-22: BT-106, BT-109, BT-110 (and BT-111), BT-112, BT-113 and BT-115."""
    _amount(summation, "LineTotalAmount", doc.net_total)
    _amount(summation, "TaxBasisTotalAmount", doc.net_total)
    tax = _amount(summation, "TaxTotalAmount", doc.tax_total)
    tax.set("currencyID", doc.currency)
    converted = doc.tax_total_in_tax_currency
    if doc.tax_currency is not None and converted is not None:
        _amount(summation, "TaxTotalAmount", converted).set("currencyID", converted.currency)
    _amount(summation, "GrandTotalAmount", doc.gross_total)
    if doc.prepaid is not None:
        _amount(summation, "TotalPrepaidAmount", doc.prepaid)
    _amount(summation, "DuePayableAmount", doc.amount_due)
