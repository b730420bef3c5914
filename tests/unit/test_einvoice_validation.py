"""E-invoice validation against the official EN 16931 and Peppol BIS Billing 3.0 rules.

The known-valid documents are official EN 16931 examples copied into tests/fixtures/einvoice
(see the NOTICE.md there). When the project's shared/ folder sits beside the checkout (as in
CI), every official example in it is checked too.

Peppol BIS 3.0 adds rules of its own on top of EN 16931 (customization and profile ids, buyer
reference, electronic addresses, national rules ...). Of the official EN 16931 UBL examples
only the two ``BIS3_Invoice_*`` files follow them; the ``ubl-tc434-*`` examples fail only
Peppol rules, so they are validated with ``peppol=False``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from billfold.documents import validation
from billfold.documents.validation import (
    EInvoiceInvalid,
    Finding,
    ValidationReport,
    detect_syntax,
    raise_if_invalid,
    validate_einvoice,
    warm_up,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "einvoice"
SHARED_EXAMPLES = ROOT.parent / "shared" / "einvoice" / "en16931" / "examples"

PEPPOL_VALID = ("BIS3_Invoice_positive.xml", "BIS3_Invoice_negativ.xml")
EN16931_ONLY = (
    "ubl-tc434-example1.xml",
    "ubl-tc434-example2.xml",
    "ubl-tc434-example5.xml",
    "ubl-tc434-creditnote1.xml",
)
CII_VALID = ("CII_example1.xml", "CII_example4.xml", "CII-BR-CO-10-RoundingIssue.xml")

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@pytest.fixture(scope="module", autouse=True)
def compiled_rules() -> None:
    """Pay the one-off stylesheet compilation once for the whole module."""
    started = time.perf_counter()
    warm_up()
    print(f"e-invoice rules compiled in {time.perf_counter() - started:.2f}s")


def fixture(syntax: str, name: str) -> bytes:
    return (FIXTURES / syntax / name).read_bytes()


def edited(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    """A copy of ``xml`` with ``change`` applied to its root element."""
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def matches(root: etree._Element, xpath: str) -> list[etree._Element]:
    result = root.xpath(xpath, namespaces=NS)
    assert isinstance(result, list)
    nodes = [node for node in result if isinstance(node, etree._Element)]
    assert nodes, f"{xpath} matches nothing"
    return nodes


def remove(xpath: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        for node in matches(root, xpath):
            parent = node.getparent()
            assert parent is not None
            parent.remove(node)

    return change


def set_text(xpath: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        for node in matches(root, xpath):
            node.text = value

    return change


def rule_ids(findings: tuple[Finding, ...]) -> set[str]:
    return {finding.rule_id for finding in findings}


def describe(report: ValidationReport) -> str:
    return "\n".join(f"{f.rule_id} [{f.source}] {f.location}: {f.message}" for f in report.errors)


# --- official examples pass --------------------------------------------------------------------


@pytest.mark.parametrize("name", PEPPOL_VALID)
def test_peppol_examples_pass_en16931_and_peppol(name: str) -> None:
    report = validate_einvoice(fixture("ubl", name), peppol=True)
    assert report.ok, describe(report)
    assert report.syntax == "ubl-invoice"
    assert report.errors == ()


@pytest.mark.parametrize("name", EN16931_ONLY)
def test_tc434_ubl_examples_pass_en16931(name: str) -> None:
    report = validate_einvoice(fixture("ubl", name), peppol=False)
    assert report.ok, describe(report)


@pytest.mark.parametrize("name", EN16931_ONLY)
def test_tc434_ubl_examples_break_only_peppol_rules(name: str) -> None:
    report = validate_einvoice(fixture("ubl", name), peppol=True)
    assert not report.ok
    assert {finding.source for finding in report.errors} == {"peppol"}


@pytest.mark.parametrize("name", CII_VALID)
def test_cii_examples_pass(name: str) -> None:
    report = validate_einvoice(fixture("cii", name))
    assert report.ok, describe(report)
    assert report.syntax == "cii"


def shared_examples() -> Iterator[Path]:
    yield from sorted(SHARED_EXAMPLES.glob("*/*.xml"))


@pytest.mark.skipif(not SHARED_EXAMPLES.is_dir(), reason="shared/ is not beside the checkout")
@pytest.mark.parametrize("path", list(shared_examples()), ids=lambda path: path.name)
def test_every_official_example_passes_en16931(path: Path) -> None:
    peppol = path.name.startswith("BIS3_")
    report = validate_einvoice(path.read_bytes(), peppol=peppol)
    assert report.ok, describe(report)


def test_validating_a_document_is_fast_once_compiled() -> None:
    xml = fixture("ubl", "ubl-tc434-example1.xml")
    validate_einvoice(xml)
    started = time.perf_counter()
    for _ in range(5):
        validate_einvoice(xml)
    assert (time.perf_counter() - started) / 5 < 0.5


def test_validation_is_safe_from_several_threads() -> None:
    documents = [fixture("ubl", name) for name in PEPPOL_VALID] + [
        fixture("cii", name) for name in CII_VALID
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(validate_einvoice, documents * 4))
    assert all(report.ok for report in reports)


# --- broken documents fail with the rule that catches them -----------------------------------


def test_missing_seller_name_fails_br_06() -> None:
    xml = edited(
        fixture("ubl", "BIS3_Invoice_positive.xml"),
        remove("cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
    )
    report = validate_einvoice(xml)
    assert "BR-06" in rule_ids(report.errors)
    br06 = [finding for finding in report.errors if finding.rule_id == "BR-06"]
    assert len(br06) == 1, "the Peppol copy of the EN 16931 rules must not repeat BR-06"
    assert br06[0].source == "en16931"
    assert "Seller name" in br06[0].message
    assert br06[0].location == "/Invoice[1]"


def test_wrong_tax_inclusive_total_fails_br_co_15() -> None:
    xml = edited(
        fixture("ubl", "BIS3_Invoice_positive.xml"),
        set_text("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "782179.44"),
    )
    report = validate_einvoice(xml)
    assert "BR-CO-15" in rule_ids(report.errors)
    assert not report.ok


def test_cii_missing_seller_name_fails_br_06() -> None:
    xml = edited(fixture("cii", "CII_example4.xml"), remove("//ram:SellerTradeParty/ram:Name"))
    report = validate_einvoice(xml)
    assert "BR-06" in rule_ids(report.errors)


def test_credit_note_rules_run_on_credit_notes() -> None:
    xml = edited(
        fixture("ubl", "ubl-tc434-creditnote1.xml"),
        remove("cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
    )
    report = validate_einvoice(xml, peppol=False)
    assert report.syntax == "ubl-creditnote"
    assert "BR-06" in rule_ids(report.errors)


def test_schema_violation_is_an_xsd_finding() -> None:
    def add_unknown_element(root: etree._Element) -> None:
        root.insert(0, etree.Element(f"{{{NS['cbc']}}}NoSuchElement"))

    xml = edited(fixture("ubl", "BIS3_Invoice_positive.xml"), add_unknown_element)
    report = validate_einvoice(xml)
    xsd = [finding for finding in report.errors if finding.source == "xsd"]
    assert [finding.rule_id for finding in xsd] == ["XSD"]
    assert "NoSuchElement" in xsd[0].message
    assert xsd[0].location.startswith("line ")


def test_business_rules_wait_for_a_schema_valid_document() -> None:
    # A non-numeric amount would stop the Schematron with a dynamic error: the XSD catches it.
    xml = edited(
        fixture("ubl", "BIS3_Invoice_positive.xml"),
        set_text("cac:LegalMonetaryTotal/cbc:PayableAmount", "lots"),
    )
    report = validate_einvoice(xml)
    assert rule_ids(report.errors) == {"XSD"}
    assert "'lots' is not a valid value" in report.errors[0].message


def test_a_rule_engine_error_is_a_finding_not_a_crash() -> None:
    class FailingStylesheet:
        def transform_to_string(self, **_: object) -> str:
            error: type[Exception] = getattr(validation, "PySaxonApiError")  # noqa: B009
            raise error("FORG0001 Cannot convert string to xs:decimal")

    findings = validation._run_stylesheet(FailingStylesheet(), None, validation._EN16931_UBL)
    assert [(f.rule_id, f.flag, f.source) for f in findings] == [("SCHEMATRON", "fatal", "en16931")]
    expected = "EN16931-UBL-validation.xslt could not check the document: FORG0001"
    assert expected in findings[0].message


# --- inputs that are not e-invoices --------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"this is not XML", b"<Invoice><ID>1</Invoice>"])
def test_non_xml_gives_an_xml_finding(data: bytes) -> None:
    report = validate_einvoice(data)
    assert report.syntax is None
    assert len(report.errors) == 1
    finding = report.errors[0]
    assert finding.rule_id == "XML"
    assert finding.location.startswith("line ")
    assert "line 1" in finding.message


def test_doctype_is_refused_without_expanding_entities() -> None:
    xml = b'<!DOCTYPE Invoice [<!ENTITY x "boom">]><Invoice>&x;</Invoice>'
    report = validate_einvoice(xml)
    assert rule_ids(report.errors) == {"XML"}
    assert "DOCTYPE" in report.errors[0].message


def test_unknown_root_element_is_a_syntax_finding() -> None:
    report = validate_einvoice(b"<Order xmlns='urn:example:order'/>")
    assert report.syntax is None
    assert rule_ids(report.errors) == {"SYNTAX"}


# --- syntax detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("syntax", "name", "expected"),
    [
        ("ubl", "ubl-tc434-example1.xml", "ubl-invoice"),
        ("ubl", "ubl-tc434-creditnote1.xml", "ubl-creditnote"),
        ("cii", "CII_example1.xml", "cii"),
    ],
)
def test_detect_syntax(syntax: str, name: str, expected: str) -> None:
    assert detect_syntax(fixture(syntax, name)) == expected


@pytest.mark.parametrize("data", [b"not xml", b"<Order xmlns='urn:example:order'/>"])
def test_detect_syntax_rejects_other_documents(data: bytes) -> None:
    with pytest.raises(ValueError):
        detect_syntax(data)


# --- raising -------------------------------------------------------------------------------------


def test_raise_if_invalid_lists_every_failed_rule() -> None:
    xml = edited(
        fixture("ubl", "BIS3_Invoice_positive.xml"),
        set_text("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "782179.44"),
    )
    report = validate_einvoice(xml)
    with pytest.raises(EInvoiceInvalid) as caught:
        raise_if_invalid(report, "INV-2026-000001.xml")
    error = caught.value
    assert error.code == "einvoice_invalid"
    assert error.document == "INV-2026-000001.xml"
    assert error.findings == report.errors
    lines = str(error).splitlines()
    assert lines[0] == f"INV-2026-000001.xml fails {len(report.errors)} e-invoice rules:"
    assert len(lines) == 1 + len(report.errors)
    assert any(line.startswith("  BR-CO-15 [en16931] ") for line in lines[1:])


def test_raise_if_invalid_is_silent_for_a_valid_document() -> None:
    report = validate_einvoice(fixture("ubl", "BIS3_Invoice_positive.xml"))
    raise_if_invalid(report, "BIS3_Invoice_positive.xml")
