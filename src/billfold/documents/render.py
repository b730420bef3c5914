"""One entry point for every output format of a document."""

from __future__ import annotations

from billfold.domain.documents import InvoiceDocument
from billfold.errors import InvalidInput

FORMATS = {"pdf": ".pdf", "ubl": ".xml", "cii": ".cii.xml", "facturx": ".facturx.pdf"}


def render_document(doc: InvoiceDocument, fmt: str, logo: bytes | None = None) -> tuple[bytes, str]:
    """The bytes of ``doc`` in ``fmt`` and the usual file suffix. E-invoices are validated
    against EN 16931 (and Peppol BIS 3 for UBL) first: an invalid one is never produced."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "pdf":
        from billfold.documents.pdf import render_pdf

        return render_pdf(doc, logo=logo), FORMATS[fmt]
    if fmt == "ubl":
        from billfold.documents.ubl import render_ubl

        return render_ubl(doc), FORMATS[fmt]
    if fmt == "cii":
        from billfold.documents.cii import render_cii

        return render_cii(doc), FORMATS[fmt]
    from billfold.documents.facturx import render_facturx
    from billfold.documents.pdf import render_pdf

    pdf = render_pdf(doc, logo=logo, pdf_variant="pdf/a-3b")
    return render_facturx(doc, pdf), FORMATS[fmt]
