"""Embed an invoice's CII XML into its PDF: a Factur-X / ZUGFeRD PDF/A-3, profile EN 16931.

``render_facturx`` takes the human-readable PDF (from ``billfold.documents.pdf`` or elsewhere),
renders the CII of the same document with ``render_cii`` (validated against EN 16931), checks it
against the Factur-X EN 16931 XSD, and lets the ``factur-x`` library attach it as
``factur-x.xml`` (AFRelationship "Data") and write the PDF/A-3 XMP metadata that declares the
Factur-X profile. The XML is then read back from the finished PDF and validated once more, so
the bytes returned always carry a valid e-invoice.
"""

from __future__ import annotations

from typing import Any, Final, cast

import facturx  # type: ignore[import-untyped, unused-ignore]

from billfold.documents import einvoice_common as common
from billfold.documents.cii import render_cii
from billfold.documents.validation import EInvoiceInvalid, Finding
from billfold.domain.documents import InvoiceDocument

FLAVOR: Final = "factur-x"
LEVEL: Final = "en16931"

_library: Any = facturx


def render_facturx(doc: InvoiceDocument, pdf_bytes: bytes) -> bytes:
    """The Factur-X PDF/A-3 of ``doc``: ``pdf_bytes`` with the validated CII of ``doc`` inside.

    Raises ``EInvoiceInvalid`` when the XML breaks an EN 16931 rule or the Factur-X XSD, and
    ``ValueError`` when ``pdf_bytes`` is not a PDF.
    """
    if not pdf_bytes.startswith(b"%PDF-"):
        raise ValueError(f"invoice {doc.number}: the document to embed the XML into is not a PDF")
    name = f"Factur-X {doc.doc_type.value} {doc.number}"
    xml = render_cii(doc)
    _check_facturx_xsd(xml, name)
    generated = _library.generate_from_binary(
        pdf_bytes,
        xml,
        flavor=FLAVOR,
        level=LEVEL,
        check_xsd=False,  # done above, with a finding instead of a bare Exception
        check_schematron=False,
        lang=doc.language,
    )
    pdf = cast(bytes, generated)
    common.validated(embedded_xml(pdf, name), name, peppol=False)
    return pdf


def embedded_xml(pdf: bytes, document_name: str = "PDF") -> bytes:
    """The Factur-X XML attached to a PDF; EInvoiceInvalid if there is none."""
    _filename, xml = _library.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        raise EInvoiceInvalid(document_name, (_finding("the PDF carries no factur-x.xml"),))
    return cast(bytes, xml)


def _check_facturx_xsd(xml: bytes, document_name: str) -> None:
    """Validate against the Factur-X EN 16931 XSD shipped with the library."""
    try:
        _library.xml_check_xsd(xml, flavor=FLAVOR, level=LEVEL)
    except Exception as exc:  # the library raises a bare Exception with the XSD error
        finding = _finding(f"not valid against the Factur-X {LEVEL} XSD: {exc}")
        raise EInvoiceInvalid(document_name, (finding,)) from exc


def _finding(message: str) -> Finding:
    return Finding(rule_id="FACTUR-X", flag="fatal", location="/", message=message, source="xsd")
