"""Printable invoices, credit notes and debit notes: ``InvoiceDocument`` -> HTML -> PDF.

``render_html`` turns the document into a view of already formatted, localized strings
(see ``billfold.documents.i18n``) and fills the Jinja2 template ``templates/invoice.html.j2``
with it; ``render_pdf`` lays that HTML out on A4 pages with WeasyPrint. The template and its
stylesheet ``templates/invoice.css`` only arrange text: every word and number is decided here.

Rendering is a pure function of the document and the logo. WeasyPrint may fetch nothing but
``data:`` URLs, so neither a document field nor an SVG logo can make it read a local file or
reach the network. ``pdf_variant`` (``"pdf/a-3b"`` for Factur-X) goes straight to WeasyPrint.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final

import jinja2
from markupsafe import Markup
from weasyprint import HTML  # type: ignore[import-untyped, unused-ignore]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped, unused-ignore]

from billfold.documents.i18n import Localizer
from billfold.domain.documents import DocType, DocumentLine, InvoiceDocument, Party
from billfold.errors import InvalidInput

TEMPLATE_PACKAGE: Final = "billfold.documents"
TEMPLATE_NAME: Final = "invoice.html.j2"
STYLESHEET_NAME: Final = "invoice.css"
DEMO_LOGO_NAME: Final = "acme-logo.svg"

# Countries that write "City, Region Postcode" on one line, and those with the postcode after
# the city on a line of its own; everywhere else it is "Postcode City".
_CITY_FIRST: Final = frozenset({"US", "CA", "AU"})
_POSTCODE_LAST: Final = frozenset({"GB", "IE"})


# -- the view the template fills in ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    """One labelled value, e.g. ("Due date", "25 December 2026")."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class PartyView:
    """A party as printed: name, address lines and labelled identifiers."""

    name: str
    address: list[str]
    ids: list[Row]
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class LineView:
    """One line of the line table; ``details`` are the small print under the description."""

    position: str
    description: str
    details: list[str]
    quantity: str
    unit_price: str
    discount: str
    tax: str
    net: str


@dataclass(frozen=True, slots=True)
class TaxRowView:
    """One row of the tax breakdown."""

    category: str
    reason: str | None
    rate: str
    taxable: str
    tax: str


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """Everything the template prints, as strings in the document's language."""

    lang: str
    t: dict[str, str]
    title: str
    number: str
    seller: PartyView
    buyer: PartyView
    sender_line: str
    meta: list[Row]
    lines: list[LineView]
    show_discount: bool
    tax_rows: list[TaxRowView]
    totals: list[Row]
    amount_due: Row
    tax_currency: list[Row]
    notes: list[str]
    payment_texts: list[str]
    bank: list[Row]
    footer_columns: list[list[str]]
    page_parts: list[tuple[str, str]]
    logo: str | None
    css: Markup


# -- public API --------------------------------------------------------------------------------
def render_html(doc: InvoiceDocument, logo: bytes | None = None) -> str:
    """The document as one self-contained HTML page (styles inline, logo as a data URI)."""
    view = build_view(doc, logo)
    return _environment().get_template(TEMPLATE_NAME).render(v=view)


def render_pdf(
    doc: InvoiceDocument, *, logo: bytes | None = None, pdf_variant: str | None = None
) -> bytes:
    """The document as an A4 PDF.

    ``logo`` is PNG, JPEG, GIF, WebP or SVG bytes, printed top left (``demo_logo()`` gives the
    demo company's). ``pdf_variant`` is passed to WeasyPrint's ``write_pdf``, e.g.
    ``"pdf/a-3b"``, the base of a Factur-X / ZUGFeRD file.
    """
    html = HTML(
        string=render_html(doc, logo),
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    )
    pdf: bytes = html.write_pdf(pdf_variant=pdf_variant)
    return pdf


def demo_logo() -> bytes:
    """The SVG logo of the demo company Acme, shipped with the templates."""
    return (files(TEMPLATE_PACKAGE) / "templates" / DEMO_LOGO_NAME).read_bytes()


# -- building the view -------------------------------------------------------------------------
def build_view(doc: InvoiceDocument, logo: bytes | None = None) -> InvoiceView:
    """Format every field of ``doc`` for printing, in the document's language."""
    loc = Localizer.for_language(doc.language, vat=doc.seller.vat_id is not None)
    kind = doc.doc_type.value
    title = loc.label(f"title.{kind}")
    return InvoiceView(
        lang=loc.tag,
        t=loc.labels(),
        title=title,
        number=doc.number,
        seller=_party(doc.seller, loc),
        buyer=_party(doc.buyer, loc),
        sender_line=" · ".join([doc.seller.name, *_address(doc.seller, loc, with_country=False)]),
        meta=_meta(doc, loc),
        lines=[_line(line, doc.currency, loc) for line in doc.lines],
        show_discount=any(line.discount is not None for line in doc.lines),
        tax_rows=_tax_rows(doc, loc),
        totals=_totals(doc, loc),
        amount_due=Row(
            loc.label(f"amount_due.{kind}"),
            loc.money(doc.amount_due.amount, doc.amount_due.currency),
        ),
        tax_currency=_tax_currency(doc, loc),
        notes=list(doc.notes),
        payment_texts=_payment_texts(doc, loc),
        bank=_bank(doc, loc),
        footer_columns=_footer(doc, loc),
        page_parts=_page_parts(loc.label("page")),
        logo=logo_data_uri(logo) if logo else None,
        css=_stylesheet(),
    )


def _address(party: Party, loc: Localizer, *, with_country: bool = True) -> list[str]:
    """The postal address lines of ``party``, in the order its country writes them."""
    lines = [text for text in (party.line1, party.line2) if text]
    postal, city, region = party.postal_code or "", party.city or "", party.region or ""
    country = party.country.upper()
    if country in _CITY_FIRST:
        place = ", ".join(p for p in (city, f"{region} {postal}".strip()) if p)
        lines.append(place)
    elif country in _POSTCODE_LAST:
        lines.extend(p for p in (city, region, postal) if p)
    else:
        lines.append(f"{postal} {city}".strip())
        if region:
            lines.append(region)
    if with_country:
        lines.append(loc.country(country))
    return [line for line in lines if line]


def _party(party: Party, loc: Localizer) -> PartyView:
    ids = [
        Row(loc.label(key), value)
        for key, value in (
            ("vat_id", party.vat_id),
            ("tax_id", party.tax_id),
            ("legal_id", party.legal_id),
        )
        if value
    ]
    return PartyView(party.name, _address(party, loc), ids, party.contact_name)


def _meta(doc: InvoiceDocument, loc: Localizer) -> list[Row]:
    """The labelled facts at the top right: number, dates, references."""
    rows = [
        Row(loc.label(f"number.{doc.doc_type.value}"), doc.number),
        Row(loc.label("issue_date"), loc.date(doc.issue_date)),
    ]
    if doc.supply_date:
        rows.append(Row(loc.label("supply_date"), loc.date(doc.supply_date)))
    if doc.period_start or doc.period_end:
        rows.append(Row(loc.label("service_period"), loc.period(doc.period_start, doc.period_end)))
    if doc.due_date and doc.doc_type is not DocType.CREDIT_NOTE:
        rows.append(Row(loc.label("due_date"), loc.date(doc.due_date)))
    if doc.preceding_number:
        value = doc.preceding_number
        if doc.preceding_date:
            value = loc.label("corrects_value", number=value, date=loc.date(doc.preceding_date))
        rows.append(Row(loc.label("corrects"), value))
    if doc.po_number:
        rows.append(Row(loc.label("po_number"), doc.po_number))
    if doc.buyer_reference:
        rows.append(Row(loc.label("buyer_reference"), doc.buyer_reference))
    return rows


def _line(line: DocumentLine, currency: str, loc: Localizer) -> LineView:
    details = []
    if line.sku:
        details.append(f"{loc.label('sku')} {line.sku}")
    if line.period_start or line.period_end:
        period = loc.period(line.period_start, line.period_end, "medium")
        details.append(f"{loc.label('line_period')}: {period}")
    if line.discount is not None and line.discount_reason:
        details.append(f"{loc.label('col_discount')}: {line.discount_reason}")
    if line.note:
        details.append(line.note)
    tax = loc.percent(line.tax_rate)
    if line.tax_category != "S":
        tax = f"{tax} ({line.tax_category})"
    discount = line.discount
    return LineView(
        position=str(line.line_no),
        description=line.description,
        details=details,
        quantity=loc.quantity(line.quantity, line.unit_code),
        unit_price=loc.money(line.unit_price, currency),
        discount=loc.money(discount.amount, discount.currency) if discount else "",
        tax=tax,
        net=loc.money(line.net.amount, line.net.currency),
    )


def _tax_rows(doc: InvoiceDocument, loc: Localizer) -> list[TaxRowView]:
    rows = []
    for item in doc.tax_summary:
        category = loc.tax_category(item.category)
        if item.jurisdiction:
            category = f"{category} · {item.jurisdiction}"
        reason = item.exemption_reason
        if reason and item.exemption_code:
            reason = f"{reason} ({item.exemption_code})"
        elif not reason and item.exemption_code:
            reason = item.exemption_code
        rows.append(
            TaxRowView(
                category=category,
                reason=reason,
                rate=loc.percent(item.rate),
                taxable=loc.money(item.taxable.amount, item.taxable.currency),
                tax=loc.money(item.tax.amount, item.tax.currency),
            )
        )
    return rows


def _totals(doc: InvoiceDocument, loc: Localizer) -> list[Row]:
    """Net, tax, gross and prepaid; the amount due is printed apart, emphasised."""
    rows = [
        Row(loc.label("total_net"), loc.money(doc.net_total.amount, doc.currency)),
        Row(loc.label("total_tax"), loc.money(doc.tax_total.amount, doc.currency)),
        Row(loc.label("total_gross"), loc.money(doc.gross_total.amount, doc.currency)),
    ]
    if doc.prepaid is not None and not doc.prepaid.is_zero():
        rows.append(Row(loc.label("prepaid"), loc.money(doc.prepaid.amount, doc.currency)))
    return rows


def _tax_currency(doc: InvoiceDocument, loc: Localizer) -> list[Row]:
    """The tax total in the tax currency (BT-6, BT-111) and the exchange rate used."""
    if not doc.tax_currency or doc.tax_currency == doc.currency:
        return []
    rows = []
    if doc.tax_total_in_tax_currency is not None:
        total = doc.tax_total_in_tax_currency
        rows.append(
            Row(
                loc.label("tax_currency_total", currency=doc.tax_currency),
                loc.money(total.amount, total.currency),
            )
        )
    if doc.fx_rate is not None:
        rate = f"1 {doc.currency} = {loc.number(doc.fx_rate)} {doc.tax_currency}"
        rows.append(Row(loc.label("exchange_rate"), rate))
    return rows


def _payment_texts(doc: InvoiceDocument, loc: Localizer) -> list[str]:
    """Payment terms, the early payment discount and the request to pay, as sentences."""
    texts = []
    if doc.payment_terms:
        texts.append(f"{loc.label('payment_terms')}: {doc.payment_terms}")
    if doc.discount_percent is not None and doc.discount_date is not None:
        texts.append(
            loc.label(
                "early_discount",
                percent=loc.percent(doc.discount_percent),
                date=loc.date(doc.discount_date),
            )
        )
    due = doc.amount_due
    if doc.doc_type is not DocType.CREDIT_NOTE and doc.due_date and due.amount > 0:
        texts.append(
            loc.label(
                "pay_by", amount=loc.money(due.amount, due.currency), date=loc.date(doc.due_date)
            )
        )
    return texts


def format_iban(iban: str) -> str:
    """An IBAN in groups of four, as printed on paper: ``DE89 3704 0044 0532 0130 00``."""
    compact = re.sub(r"\s+", "", iban).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _bank(doc: InvoiceDocument, loc: Localizer) -> list[Row]:
    pay = doc.payment
    if pay is None:
        return []
    rows = [
        Row(loc.label("account_name"), pay.account_name) if pay.account_name else None,
        Row(loc.label("bank"), pay.bank_name) if pay.bank_name else None,
        Row(loc.label("iban"), format_iban(pay.iban)) if pay.iban else None,
        Row(loc.label("bic"), pay.bic) if pay.bic else None,
        Row(loc.label("payment_reference"), pay.reference) if pay.reference else None,
    ]
    return [row for row in rows if row is not None]


def _footer(doc: InvoiceDocument, loc: Localizer) -> list[list[str]]:
    """Seller details for the foot of every page: address, identifiers, bank."""
    seller = doc.seller
    columns = [[seller.name, *_address(seller, loc)]]
    ids = [f"{row.label}: {row.value}" for row in _party(seller, loc).ids]
    if seller.email:
        ids.append(f"{loc.label('email')}: {seller.email}")
    columns.append(ids)
    pay = doc.payment
    if pay is not None:
        bank = [pay.bank_name or ""]
        if pay.iban:
            bank.append(f"IBAN {format_iban(pay.iban)}")
        if pay.bic:
            bank.append(f"BIC {pay.bic}")
        columns.append([text for text in bank if text])
    return [column for column in columns if column]


def _page_parts(label: str) -> list[tuple[str, str]]:
    """Split "Page {page} of {pages}" into text and counters the stylesheet fills in.

    Each part is ("text", words) or ("counter", "page" | "pages").
    """
    parts: list[tuple[str, str]] = []
    for piece in re.split(r"(\{pages?\})", label):
        if piece in ("{page}", "{pages}"):
            parts.append(("counter", piece.strip("{}")))
        elif piece:
            parts.append(("text", piece))
    return parts


_IMAGE_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def logo_data_uri(logo: bytes) -> str:
    """``logo`` as a ``data:`` URI; the image type is read from its first bytes."""
    mime = next((m for sig, m in _IMAGE_SIGNATURES if logo.startswith(sig)), None)
    if mime is None and logo[:4] == b"RIFF" and logo[8:12] == b"WEBP":
        mime = "image/webp"
    if mime is None and b"<svg" in logo[:4096].lower():
        mime = "image/svg+xml"
    if mime is None:
        raise InvalidInput("logo: not a PNG, JPEG, GIF, WebP or SVG image")
    return f"data:{mime};base64,{base64.b64encode(logo).decode('ascii')}"


@cache
def _stylesheet() -> Markup:
    """The template's stylesheet, inlined so that the HTML preview is self-contained."""
    return Markup((files(TEMPLATE_PACKAGE) / "templates" / STYLESHEET_NAME).read_text("utf-8"))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
