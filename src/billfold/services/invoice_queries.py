"""Reading invoices: listing with payment status, one invoice in full, the document to render."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from billfold.domain.documents import (
    DocType,
    DocumentLine,
    InvoiceDocument,
    PaymentInstructions,
    TaxSummary,
)
from billfold.domain.terms import parse_terms
from billfold.errors import NotFound
from billfold.money import Money
from billfold.services import lookups
from billfold.services.parties import load_buyers, load_seller, party_from_json, party_to_json
from billfold.store.tables import (
    customers,
    invoice_line_taxes,
    invoice_lines,
    invoice_parties,
    invoices,
    legal_entities,
    postings,
)


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    id: int
    entity: str
    number: str | None
    doc_type: str
    status: str  # draft, issued, partially_paid, paid, credited, voided
    customer: str
    customer_name: str
    issue_date: date
    due_date: date
    currency: str
    net: Money
    tax: Money
    total: Money
    open: Money | None
    corrects: str | None


def _open_amounts(conn: Connection, refs: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Open AR per (customer id, item ref), from the ledger."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    result: dict[tuple[int, str], int] = {}
    numbers = sorted({r for _, r in refs})
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        q = (
            select(postings.c.customer_id, postings.c.item_ref, func.sum(postings.c.amount_minor))
            .where(postings.c.account_id == ar_id, postings.c.item_ref.in_(chunk))
            .group_by(postings.c.customer_id, postings.c.item_ref)
        )
        result.update({(c, r): int(v) for c, r, v in conn.execute(q)})
    return result


def _status(row: Any, open_minor: int | None, credited_minor: int = 0) -> str:
    """issued, partially_paid, paid, credited (fully, by credit notes) or voided, from the
    ledger: what credit notes took off is not counted as paid."""
    if row.status != "issued" or row.doc_type == "credit_note" or open_minor is None:
        return str(row.status)
    due = row.total_minor - credited_minor
    if open_minor == 0:
        if due <= 0:
            return "credited"
        return "paid"
    if open_minor < due:
        return "partially_paid"
    return "issued"


def _credited(conn: Connection, ids: list[int]) -> dict[int, int]:
    result: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        q = (
            select(invoices.c.corrects_id, func.sum(invoices.c.total_minor))
            .where(
                invoices.c.corrects_id.in_(ids[start : start + 500]),
                invoices.c.doc_type == "credit_note",
                invoices.c.status == "issued",
            )
            .group_by(invoices.c.corrects_id)
        )
        result.update({i: int(v) for i, v in conn.execute(q)})
    return result


def list_invoices(
    conn: Connection,
    *,
    entity: str | None = None,
    customer: str | None = None,
    status: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
) -> list[InvoiceSummary]:
    corrected = invoices.alias("corrected")
    q = (
        select(
            invoices,
            legal_entities.c.code.label("entity_code"),
            customers.c.number.label("customer_number"),
            customers.c.name.label("cname"),
            corrected.c.number.label("corrects_number"),
        )
        .join(legal_entities, legal_entities.c.id == invoices.c.entity_id)
        .join(customers, customers.c.id == invoices.c.customer_id)
        .outerjoin(corrected, corrected.c.id == invoices.c.corrects_id)
        .order_by(invoices.c.issue_date.desc(), invoices.c.id.desc())
        .limit(limit)
    )
    if entity:
        q = q.where(legal_entities.c.code == entity)
    if customer:
        q = q.where(customers.c.number == customer)
    if status in ("draft", "issued", "voided"):
        q = q.where(invoices.c.status == status)
    if since:
        q = q.where(invoices.c.issue_date >= since)
    if until:
        q = q.where(invoices.c.issue_date <= until)
    rows = conn.execute(q).all()
    opens = _open_amounts(conn, [(r.customer_id, r.number) for r in rows if r.number])
    credited = _credited(conn, [r.id for r in rows])
    result = []
    for r in rows:
        open_minor = opens.get((r.customer_id, r.number)) if r.number else None
        cur = r.currency
        result.append(
            InvoiceSummary(
                r.id,
                r.entity_code,
                r.number,
                r.doc_type,
                _status(r, open_minor, credited.get(r.id, 0)),
                r.customer_number,
                r.cname,
                r.issue_date,
                r.due_date,
                cur,
                Money.from_minor(r.net_minor, cur),
                Money.from_minor(r.tax_minor, cur),
                Money.from_minor(r.total_minor, cur),
                None if open_minor is None else Money.from_minor(open_minor, cur),
                r.corrects_number,
            )
        )
    if status in ("paid", "partially_paid"):
        result = [s for s in result if s.status == status]
    return result


def find_invoice(conn: Connection, number: str, entity: str | None = None) -> Any:
    """The invoice row by number (or ``#ID`` for a draft); entity needed if ambiguous."""
    q = select(invoices).join(legal_entities, legal_entities.c.id == invoices.c.entity_id)
    if number.startswith("#"):
        q = q.where(invoices.c.id == int(number[1:]))
    else:
        q = q.where(invoices.c.number == number)
    if entity:
        q = q.where(legal_entities.c.code == entity)
    rows = conn.execute(q).all()
    if not rows:
        raise NotFound(f"no invoice {number}" + (f" of {entity}" if entity else ""))
    if len(rows) > 1:
        raise NotFound(f"{number} exists in several legal entities: name one with --entity")
    return rows[0]


def build_document(conn: Connection, number: str, entity: str | None = None) -> InvoiceDocument:
    """The document exactly as issued (frozen parties, rate, rounding); drafts as a preview."""
    h = find_invoice(conn, number, entity)
    cur = h.currency
    lines = conn.execute(
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id == h.id)
        .order_by(invoice_lines.c.line_no)
    ).all()
    taxes: dict[int, list[Any]] = defaultdict(list)
    for t in conn.execute(
        select(invoice_line_taxes)
        .where(invoice_line_taxes.c.invoice_id == h.id)
        .order_by(invoice_line_taxes.c.line_no, invoice_line_taxes.c.seq)
    ):
        taxes[t.line_no].append(t)
    if h.status == "draft":
        seller = load_seller(conn, h.entity_id)
        buyer_number = conn.execute(
            select(customers.c.number).where(customers.c.id == h.customer_id)
        ).scalar_one()
        buyer = load_buyers(conn, [buyer_number])[buyer_number].party
        seller_party = seller.party
        pay = seller.payment_for(cur, "DRAFT")
        payment = pay
    else:
        seller_json, buyer_json = conn.execute(
            select(invoice_parties.c.seller_json, invoice_parties.c.buyer_json).where(
                invoice_parties.c.invoice_id == h.id
            )
        ).one()
        snap = json.loads(seller_json)
        seller_party = party_from_json(snap["party"])
        buyer = party_from_json(json.loads(buyer_json))
        payment = PaymentInstructions(**snap["payment"]) if snap.get("payment") else None
    doc_lines = []
    for ln in lines:
        comps = taxes[ln.line_no]
        category = comps[0].category if comps else "O"
        rate = sum((Decimal(c.rate) for c in comps), Decimal(0))
        doc_lines.append(
            DocumentLine(
                line_no=ln.line_no,
                description=ln.description,
                quantity=Decimal(ln.quantity),
                unit_code=ln.unit_code,
                unit_price=Decimal(ln.unit_price),
                net=Money.from_minor(ln.net_minor, cur),
                tax_category=category,
                tax_rate=rate,
                tax=Money.from_minor(ln.tax_minor, cur),
                sku=ln.sku,
                discount=Money.from_minor(ln.discount_minor, cur) if ln.discount_minor else None,
                discount_reason="Discount" if ln.discount_minor else None,
                period_start=ln.period_start,
                period_end=ln.period_end,
                note=ln.note,
            )
        )
    summary = _summary(doc_lines, taxes, cur)
    corrected = None
    if h.corrects_id:
        corrected = conn.execute(
            select(invoices.c.number, invoices.c.issue_date).where(invoices.c.id == h.corrects_id)
        ).one()
    terms = parse_terms(h.payment_terms)
    notes = tuple(json.loads(h.notes)) if h.notes else ()
    if h.reason:
        notes = (*notes, f"Reason: {h.reason}")
    net = Money.from_minor(h.net_minor, cur)
    tax = Money.from_minor(h.tax_minor, cur)
    gross = Money.from_minor(h.total_minor, cur)
    fx_rate = Decimal(h.fx_rate)
    tax_in_functional = None
    if cur != h.functional_currency:
        tax_in_functional = Money.rounded(tax.amount * fx_rate, h.functional_currency)
    doc_type = DocType(h.doc_type)
    return InvoiceDocument(
        doc_type=doc_type,
        number=h.number or f"DRAFT-{h.id}",
        issue_date=h.issue_date,
        currency=cur,
        seller=seller_party,
        buyer=buyer,
        lines=tuple(doc_lines),
        tax_summary=summary,
        net_total=net,
        tax_total=tax,
        gross_total=gross,
        amount_due=gross,
        due_date=h.due_date if doc_type is not DocType.CREDIT_NOTE else None,
        payment_terms=terms.describe(h.language) if doc_type is not DocType.CREDIT_NOTE else None,
        supply_date=h.supply_date,
        period_start=h.period_start,
        period_end=h.period_end,
        po_number=h.po_number,
        buyer_reference=h.buyer_reference,
        preceding_number=corrected.number if corrected else None,
        preceding_date=corrected.issue_date if corrected else None,
        notes=notes,
        payment=payment,
        language=h.language,
        tax_currency=h.functional_currency if tax_in_functional else None,
        tax_total_in_tax_currency=tax_in_functional,
        fx_rate=fx_rate,
        discount_date=terms.discount_date(h.issue_date) if terms.discount_percent else None,
        discount_percent=terms.discount_percent,
    )


def _summary(
    lines: list[DocumentLine], taxes: dict[int, list[Any]], cur: str
) -> tuple[TaxSummary, ...]:
    groups: dict[tuple[str, Decimal, str | None], list[int]] = {}
    meta: dict[tuple[str, Decimal, str | None], tuple[str | None, str]] = {}
    for ln in lines:
        comps = taxes[ln.line_no]
        reason = comps[0].exemption_reason if comps else None
        key = (ln.tax_category, ln.tax_rate, reason)
        acc = groups.setdefault(key, [0, 0])
        acc[0] += ln.net.minor
        acc[1] += ln.tax.minor
        jurisdictions = "+".join(c.jurisdiction for c in comps)
        meta.setdefault(key, (comps[0].exemption_code if comps else None, jurisdictions))
    return tuple(
        TaxSummary(
            cat,
            rate,
            Money.from_minor(v[0], cur),
            Money.from_minor(v[1], cur),
            reason,
            meta[(cat, rate, reason)][0],
            meta[(cat, rate, reason)][1],
        )
        for (cat, rate, reason), v in groups.items()
    )


def invoice_detail(conn: Connection, number: str, entity: str | None = None) -> dict[str, Any]:
    """Everything `billfold invoices show` prints, including the ledger entry lines."""
    h = find_invoice(conn, number, entity)
    doc = build_document(conn, number, entity)
    opens = _open_amounts(conn, [(h.customer_id, h.number)]) if h.number else {}
    open_minor = opens.get((h.customer_id, h.number))
    credits = conn.execute(
        select(invoices.c.number, invoices.c.total_minor, invoices.c.reason).where(
            and_(invoices.c.corrects_id == h.id, invoices.c.status == "issued")
        )
    ).all()
    return {
        "document": doc,
        "status": _status(h, open_minor, _credited(conn, [h.id]).get(h.id, 0)),
        "entry_id": h.entry_id,
        "void_entry_id": h.void_entry_id,
        "fx_rate": h.fx_rate,
        "functional_total": Money.from_minor(h.functional_total_minor, h.functional_currency),
        "open": None if open_minor is None else Money.from_minor(open_minor, h.currency),
        "credits": [
            (c.number, Money.from_minor(c.total_minor, h.currency), c.reason) for c in credits
        ],
        "tax_rounding": h.tax_rounding,
        "rounding": h.rounding,
        "delivered_at": h.delivered_at,
        "seller": party_to_json(doc.seller),
    }
