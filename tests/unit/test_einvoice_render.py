"""UBL (Peppol BIS 3.0), CII (EN 16931) and Factur-X renderers.

Every sample of ``einvoice_samples`` (several countries, currencies and VAT categories, a credit
and a debit note) must render to documents that the official rules accept with no error; a few
exact values are read back with XPath. Documents that no e-invoice can express must be refused
with the rule that says why. The Factur-X PDFs are read back with the ``factur-x`` library and,
when the project's shared/ folder sits beside the checkout, checked against the official
Factur-X EN 16931 Schematron too.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import facturx  # type: ignore[import-untyped, unused-ignore]
import pytest
from lxml import etree
from pypdf import PdfReader, PdfWriter

from billfold.documents.cii import render_cii
from billfold.documents.facturx import embedded_xml, render_facturx
from billfold.documents.ubl import render_ubl
from billfold.documents.validation import EInvoiceInvalid, validate_einvoice, warm_up
from billfold.domain.documents import InvoiceDocument
from billfold.errors import InvalidInput
from billfold.money import Money

from .einvoice_samples import (
    BUYER_DE,
    BUYER_US,
    GERMAN_EXTRA,
    SAMPLES,
    SELLER_DE,
    SEPA_DE,
    L,
    build,
    de_ch_not_subject,
    de_credit_note,
    de_domestic_two_rates,
    de_fr_intra_community,
    de_us_export,
    fr_be_reverse_charge,
    fr_debit_note,
    jpy_export,
    kwd_export,
    nl_exempt,
    usd_with_eur_vat,
)

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
FACTURX_XSLT = (
    Path(__file__).resolve().parents[3] / "shared/einvoice/facturx/xslt/FACTUR-X_EN16931.xslt"
)


@pytest.fixture(scope="module", autouse=True)
def compiled_rules() -> None:
    """Compile the official rules once for the whole module."""
    warm_up()


def xpath(xml: bytes, path: str) -> list[str]:
    """The text of every node (or attribute value) ``path`` selects."""
    found: Any = etree.fromstring(xml).xpath(path, namespaces=NS)
    return [node if isinstance(node, str) else (node.text or "") for node in found]


def one(xml: bytes, path: str) -> str:
    values = xpath(xml, path)
    assert len(values) == 1, f"{path} selects {len(values)} nodes"
    return values[0]


def rule_ids(error: pytest.ExceptionInfo[EInvoiceInvalid]) -> set[str]:
    return {finding.rule_id for finding in error.value.findings}


def blank_pdf() -> bytes:
    """A one-page A4 PDF, standing in for the rendered invoice."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- every sample is valid -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SAMPLES))
def test_ubl_passes_en16931_and_peppol(name: str) -> None:
    doc = SAMPLES[name]()
    xml = render_ubl(doc)
    report = validate_einvoice(xml, peppol=True)
    assert report.errors == ()
    assert report.syntax == ("ubl-creditnote" if doc.is_credit_note else "ubl-invoice")
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


@pytest.mark.parametrize("name", list(SAMPLES))
def test_cii_passes_en16931(name: str) -> None:
    xml = render_cii(SAMPLES[name]())
    report = validate_einvoice(xml, peppol=False)
    assert report.errors == ()
    assert report.syntax == "cii"
    assert one(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == (
        "urn:cen.eu:en16931:2017"
    )


# --- exact values ----------------------------------------------------------------------------


def test_ubl_domestic_invoice_totals_and_breakdown() -> None:
    xml = render_ubl(de_domestic_two_rates())
    assert one(xml, "/inv:Invoice/cbc:InvoiceTypeCode") == "380"
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "2127.71"
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID") == "EUR"
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PrepaidAmount") == "100.00"
    assert xpath(xml, "//cac:TaxSubtotal/cbc:TaxAmount") == ["338.67", "6.97"]
    assert xpath(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == ["19", "7"]
    assert one(xml, "/inv:Invoice/cac:TaxTotal/cbc:TaxAmount") == "345.64"


def test_ubl_lines_quantities_prices_and_discount() -> None:
    xml = render_ubl(de_domestic_two_rates())
    assert xpath(xml, "//cac:InvoiceLine/cbc:InvoicedQuantity") == ["12.5", "3", "4", "1000"]
    assert one(xml, "//cac:InvoiceLine[1]/cbc:InvoicedQuantity/@unitCode") == "HUR"
    assert xpath(xml, "//cac:Price/cbc:PriceAmount") == ["120", "99.99", "24.9", "0.0125"]
    allowance = "//cac:InvoiceLine[2]/cac:AllowanceCharge"
    assert one(xml, f"{allowance}/cbc:ChargeIndicator") == "false"
    assert one(xml, f"{allowance}/cbc:Amount") == "30.00"
    assert one(xml, f"{allowance}/cbc:AllowanceChargeReason") == "Loyalty"
    assert one(xml, "//cac:InvoiceLine[3]/cac:Item/cbc:Name") == "Handbook"
    assert one(xml, "//cac:InvoiceLine[1]/cac:Item/cac:SellersItemIdentification/cbc:ID") == (
        "CONS"
    )


def test_buyer_reference_defaults_to_the_purchase_order_then_the_invoice_number() -> None:
    with_po = render_ubl(de_domestic_two_rates())
    assert one(with_po, "/inv:Invoice/cbc:BuyerReference") == "PO-4711"
    assert one(with_po, "/inv:Invoice/cac:OrderReference/cbc:ID") == "PO-4711"
    without = render_ubl(de_us_export())
    assert one(without, "/inv:Invoice/cbc:BuyerReference") == "RE-2025-0003"
    explicit = render_cii(fr_be_reverse_charge())
    assert one(explicit, "//ram:BuyerReference") == "BE-PO-77"


def test_endpoints_are_derived_from_vat_and_tax_ids() -> None:
    xml = render_ubl(de_us_export())
    seller = "//cac:AccountingSupplierParty//cbc:EndpointID"
    buyer = "//cac:AccountingCustomerParty//cbc:EndpointID"
    assert (one(xml, f"{seller}/@schemeID"), one(xml, seller)) == ("9930", "DE123456789")
    assert (one(xml, f"{buyer}/@schemeID"), one(xml, buyer)) == ("9959", "123456789")
    be = render_ubl(fr_be_reverse_charge())
    assert one(be, f"{seller}/@schemeID") == "9957"
    assert one(be, f"{buyer}/@schemeID") == "9925"


def test_party_without_peppol_address_fails_clearly_but_cii_uses_email() -> None:
    doc = replace(de_us_export(), buyer=replace(BUYER_US, tax_id=None, email="ap@client.us"))
    with pytest.raises(InvalidInput, match=r"buyer 'Client Inc\.' has no Peppol electronic"):
        render_ubl(doc)
    cii = render_cii(doc)
    uri = "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID"
    assert (one(cii, f"{uri}/@schemeID"), one(cii, uri)) == ("EM", "ap@client.us")


def test_credit_note_is_a_ubl_credit_note_referencing_its_invoice() -> None:
    xml = render_ubl(de_credit_note())
    assert one(xml, "/cn:CreditNote/cbc:CreditNoteTypeCode") == "381"
    assert one(xml, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == (
        "RE-2025-0001"
    )
    assert one(xml, "//cac:InvoiceDocumentReference/cbc:IssueDate") == "2025-03-31"
    assert one(xml, "//cac:CreditNoteLine/cbc:CreditedQuantity") == "1"
    assert one(xml, "//cac:PaymentMeans/cbc:PaymentDueDate") == "2025-04-24"
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "118.99"
    cii = render_cii(de_credit_note())
    assert one(cii, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(cii, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "RE-2025-0001"


def test_debit_note_is_a_ubl_invoice_with_type_383() -> None:
    xml = render_ubl(fr_debit_note())
    assert one(xml, "/inv:Invoice/cbc:InvoiceTypeCode") == "383"
    assert one(xml, "//cac:InvoiceDocumentReference/cbc:ID") == "FA-2025-100"
    assert one(render_cii(fr_debit_note()), "//rsm:ExchangedDocument/ram:TypeCode") == "383"


def test_reverse_charge_carries_both_vat_ids_and_the_reason() -> None:
    xml = render_ubl(fr_be_reverse_charge())
    assert xpath(xml, "//cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == [
        "FR40303265045",
        "BE0403170701",
    ]
    category = "//cac:TaxSubtotal/cac:TaxCategory"
    assert one(xml, f"{category}/cbc:ID") == "AE"
    assert one(xml, f"{category}/cbc:TaxExemptionReasonCode") == "VATEX-EU-AE"
    assert one(xml, f"{category}/cbc:TaxExemptionReason") == "Autoliquidation"


def test_intra_community_supply_states_delivery_country_date_and_default_reason() -> None:
    xml = render_ubl(de_fr_intra_community())
    assert one(xml, "//cac:Delivery/cbc:ActualDeliveryDate") == "2025-03-28"
    assert one(xml, "//cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode") == (
        "FR"
    )
    assert one(xml, "//cac:TaxSubtotal//cbc:TaxExemptionReasonCode") == "VATEX-EU-IC"
    cii = render_cii(de_fr_intra_community())
    assert one(cii, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID") == "FR"
    assert one(cii, "//ram:ActualDeliverySupplyChainEvent//udt:DateTimeString") == "20250328"


def test_not_subject_document_carries_no_vat_ids_and_no_line_rate() -> None:
    xml = render_ubl(de_ch_not_subject())
    assert xpath(xml, "//cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']") == []
    assert xpath(xml, "//cac:ClassifiedTaxCategory/cbc:Percent") == []
    assert one(xml, "//cac:TaxSubtotal//cbc:TaxExemptionReasonCode") == "VATEX-EU-O"
    cii = render_cii(de_ch_not_subject())
    assert xpath(cii, "//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []


def test_canary_and_ceuta_categories_carry_their_rates() -> None:
    canary = render_ubl(SAMPLES["canary-igic-L"]())
    category = "//cac:TaxSubtotal/cac:TaxCategory"
    assert (one(canary, f"{category}/cbc:ID"), one(canary, f"{category}/cbc:Percent")) == (
        "L",
        "7",
    )
    assert one(canary, "//cac:TaxSubtotal/cbc:TaxAmount") == "70.00"
    ceuta = render_cii(SAMPLES["ceuta-ipsi-M"]())
    header_tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert one(ceuta, f"{header_tax}/ram:CategoryCode") == "M"
    assert one(ceuta, f"{header_tax}/ram:RateApplicablePercent") == "4"
    assert one(ceuta, f"{header_tax}/ram:CalculatedAmount") == "7.98"


def test_nl_seller_legal_id_gets_the_kvk_scheme() -> None:
    xml = render_ubl(nl_exempt())
    legal = "//cac:AccountingSupplierParty//cac:PartyLegalEntity/cbc:CompanyID"
    assert (one(xml, legal), one(xml, f"{legal}/@schemeID")) == ("12345678", "0106")
    assert one(xml, "//cac:TaxSubtotal//cbc:TaxExemptionReasonCode") == "VATEX-EU-132-1I"


def test_jpy_amounts_have_no_decimals() -> None:
    xml = render_ubl(jpy_export())
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "157970"
    amounts = xpath(xml, "//*[@currencyID]")
    assert amounts and all(re.fullmatch(r"\d+", value) for value in amounts)
    assert xpath(render_cii(jpy_export()), "//ram:DuePayableAmount") == ["157970"]


def test_kwd_amounts_are_written_with_two_decimals_when_the_third_is_zero() -> None:
    xml = render_ubl(kwd_export())
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount") == "1234.50"
    assert one(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID") == "KWD"
    assert xpath(render_cii(kwd_export()), "//ram:DuePayableAmount") == ["1234.50"]


@pytest.mark.parametrize("render", [render_ubl, render_cii], ids=["ubl", "cii"])
def test_kwd_amount_needing_three_decimals_is_refused_by_en16931(render: Any) -> None:
    """EN 16931 allows at most two decimals in an amount (BR-DEC), whatever the currency."""
    with pytest.raises(EInvoiceInvalid) as error:
        render(kwd_export(fils="5"))
    assert {"BR-DEC-23", "BR-DEC-18"} <= rule_ids(error)


def test_tax_currency_total_is_stated_in_eur() -> None:
    xml = render_ubl(usd_with_eur_vat())
    assert one(xml, "/inv:Invoice/cbc:DocumentCurrencyCode") == "USD"
    assert one(xml, "/inv:Invoice/cbc:TaxCurrencyCode") == "EUR"
    assert xpath(xml, "/inv:Invoice/cac:TaxTotal/cbc:TaxAmount") == ["190.00", "174.80"]
    assert xpath(xml, "/inv:Invoice/cac:TaxTotal/cbc:TaxAmount/@currencyID") == ["USD", "EUR"]
    cii = render_cii(usd_with_eur_vat())
    assert xpath(cii, "//ram:TaxTotalAmount/@currencyID") == ["USD", "EUR"]
    assert xpath(cii, "//ram:TaxTotalAmount") == ["190.00", "174.80"]


def test_cii_domestic_invoice_values() -> None:
    xml = render_cii(de_domestic_two_rates())
    assert one(xml, "//ram:DuePayableAmount") == "2127.71"
    assert one(xml, "//ram:TotalPrepaidAmount") == "100.00"
    header_tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert xpath(xml, f"{header_tax}/ram:CalculatedAmount") == ["338.67", "6.97"]
    assert one(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == (
        "DE89370400440532013000"
    )
    assert one(xml, "//ram:SpecifiedTradePaymentTerms//udt:DateTimeString") == "20250430"


# --- documents no e-invoice can carry --------------------------------------------------------


def with_wrong_tax(doc: InvoiceDocument) -> InvoiceDocument:
    """The first breakdown row's tax raised by 5.00, totals kept consistent with it."""
    extra = Money.of("5.00", doc.currency)
    first = doc.tax_summary[0]
    return replace(
        doc,
        tax_summary=(replace(first, tax=first.tax + extra), *doc.tax_summary[1:]),
        tax_total=doc.tax_total + extra,
        gross_total=doc.gross_total + extra,
        amount_due=doc.amount_due + extra,
    )


@pytest.mark.parametrize("render", [render_ubl, render_cii], ids=["ubl", "cii"])
def test_tax_that_does_not_match_its_rate_is_refused(render: Any) -> None:
    with pytest.raises(EInvoiceInvalid) as error:
        render(with_wrong_tax(de_domestic_two_rates()))
    assert "BR-CO-17" in rule_ids(error)
    assert "BR-CO-17" in str(error.value)


@pytest.mark.parametrize("render", [render_ubl, render_cii], ids=["ubl", "cii"])
def test_not_subject_mixed_with_other_categories_is_refused(render: Any) -> None:
    doc = build(
        number="RE-2025-0099",
        seller=SELLER_DE,
        buyer=BUYER_DE,
        currency="EUR",
        lines=[L("Donation", "1", "50", "O"), L("Ticket", "1", "100", "S", "19")],
        payment=SEPA_DE,
        extra=GERMAN_EXTRA,
    )
    with pytest.raises(EInvoiceInvalid) as error:
        render(doc)
    assert {"BR-O-11", "BR-O-12"} <= rule_ids(error)


# --- Factur-X --------------------------------------------------------------------------------


def test_facturx_embeds_the_cii_in_a_pdf_a3() -> None:
    doc = de_domestic_two_rates()
    pdf = render_facturx(doc, blank_pdf())
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert xml == render_cii(doc) == embedded_xml(pdf)
    catalog: Any = PdfReader(io.BytesIO(pdf)).root_object
    metadata = catalog["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in metadata
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in metadata
    assert "/AF" in catalog  # the XML is an associated file of the document


def test_facturx_refuses_what_is_not_a_pdf_and_invalid_invoices() -> None:
    with pytest.raises(ValueError, match="not a PDF"):
        render_facturx(de_domestic_two_rates(), b"<html></html>")
    with pytest.raises(EInvoiceInvalid) as error:
        render_facturx(with_wrong_tax(de_domestic_two_rates()), blank_pdf())
    assert "BR-CO-17" in rule_ids(error)


@pytest.fixture(scope="module")
def facturx_schematron() -> Any:
    """The official Factur-X EN 16931 Schematron, compiled once (skipped without shared/)."""
    if not FACTURX_XSLT.is_file():
        pytest.skip("the shared Factur-X rules are not beside this checkout")
    from saxonche import PySaxonProcessor  # type: ignore[import-not-found, unused-ignore]

    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    return processor, compiler.compile_stylesheet(stylesheet_file=str(FACTURX_XSLT))


@pytest.mark.parametrize("name", list(SAMPLES))
def test_facturx_xml_passes_the_facturx_en16931_schematron(
    name: str, facturx_schematron: Any
) -> None:
    processor, executable = facturx_schematron
    xml = embedded_xml(render_facturx(SAMPLES[name](), blank_pdf()))
    svrl = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
    report = etree.fromstring(svrl.encode())
    fatal = [
        (failed.get("id"), " ".join((failed.findtext(f"{SVRL}text") or "").split()))
        for failed in report.iter(f"{SVRL}failed-assert")
        if failed.get("flag") in (None, "fatal", "error")
    ]
    assert fatal == []
