"""Invoices: draft -> issued (gapless number + journal entry + audit, one transaction) -> voided.

Everything here works on batches: creating or issuing N invoices costs a fixed number of SQL
statements per batch (bulk inserts and executemany updates), not per invoice. Issuing itself
lives in ``services.issuing`` (``issue`` is re-exported here).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, func, select, update

from billfold.domain.invoice_calc import InvoiceAmounts, LineInput, compute_amounts
from billfold.domain.tax import TaxContext, TaxEngine
from billfold.domain.terms import parse_terms
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.formats.invoice_json import InvoiceRequest, LineRequest
from billfold.money import Currency, Money, Rounding
from billfold.services import catalog, fx, lookups
from billfold.services.context import Tx
from billfold.services.issuing import IssueResult, fiscal_year, issue
from billfold.services.parties import Buyer, Seller, load_buyers, load_seller
from billfold.services.tax_rates import load_engine
from billfold.store.audit import CanonicalJson
from billfold.store.bulk import in_chunks, insert_rows, insert_tuples, values_in
from billfold.store.tables import (
    invoice_line_taxes,
    invoice_lines,
    invoices,
    legal_entities,
    postings,
)

SERIES = {"invoice": "INV", "credit_note": "CN", "debit_note": "DN"}
__all__ = [
    "SERIES",
    "DraftPlan",
    "IssueResult",
    "create_drafts",
    "draft_ids",
    "fiscal_year",
    "issue",
    "plan_drafts",
    "write_drafts",
]


# --- drafts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftResult:
    created: list[int]
    existing: list[int]


def request_ref(req: InvoiceRequest, fallback: str) -> str:
    return req.ref or fallback


def create_drafts(
    tx: Tx, requests: Sequence[InvoiceRequest], *, source: str | None = None
) -> DraftResult:
    """Price, tax and store draft invoices; a request whose ref exists already is skipped.

    A request without its own ``ref`` is keyed by ``source`` and its position (the CLI passes
    the file's fingerprint, so the same file twice creates nothing twice); without a source
    every call creates new drafts.
    """
    return write_drafts(tx, plan_drafts(tx, requests, source=source))


@dataclass(slots=True)
class DraftPlan:
    """Drafts priced and taxed, ready to be written (``plan_drafts``, then ``write_drafts``):
    the rows of each new draft, in request order, without ids. ``made`` are the positions of
    the requests it holds (a request whose ref exists is not made again: ``existing``)."""

    made: list[int] = field(default_factory=list)
    heads: list[dict[str, Any]] = field(default_factory=list)  # without created_at
    buyer_numbers: list[str] = field(default_factory=list)
    lines: list[list[tuple[Any, ...]]] = field(default_factory=list)  # LINE_COLUMNS[1:]
    taxes: list[list[tuple[Any, ...]]] = field(default_factory=list)  # TAX_COLUMNS[1:]
    existing: list[int] = field(default_factory=list)

    def extend(self, other: DraftPlan, offset: int) -> None:
        """Append ``other``, a plan of requests numbered from ``offset`` in this one's."""
        self.made += [offset + i for i in other.made]
        self.heads += other.heads
        self.buyer_numbers += other.buyer_numbers
        self.lines += other.lines
        self.taxes += other.taxes
        self.existing += other.existing


def plan_drafts(
    tx: Tx, requests: Sequence[InvoiceRequest], *, source: str | None = None
) -> DraftPlan:
    """The drafts ``create_drafts`` would write, computed with reads only (so a billing run can
    price one batch on a read-only connection while another is written)."""
    plan = DraftPlan()
    if not requests:
        return plan
    prefix = source or f"call:{uuid.uuid4().hex}"
    refs = [request_ref(r, f"{prefix}:{i}") for i, r in enumerate(requests, start=1)]
    sellers = {
        code: load_seller(tx.conn, lookups.entity(tx, code).id)
        for code in {r.entity for r in requests}
    }
    known = _existing_refs(
        tx.conn, [(sellers[r.entity].id, ref) for r, ref in zip(requests, refs, strict=True)]
    )
    plan.existing = sorted(known.values())
    todo = [
        (n, r, ref)
        for n, (r, ref) in enumerate(zip(requests, refs, strict=True))
        if (sellers[r.entity].id, ref) not in known
    ]
    buyers = load_buyers(tx.conn, {r.customer for _, r, _ in todo})
    products = catalog.load_products(
        tx.conn, {ln.sku for _, r, _ in todo for ln in r.lines if ln.sku}
    )
    engine = load_engine(tx.conn)
    corrected = _corrected_invoices(tx.conn, [r for _, r, _ in todo])
    for n, req, ref in todo:
        seller, buyer = sellers[req.entity], buyers[req.customer]
        built = _build(tx, req, seller, buyer, products, engine)
        plan.made.append(n)
        plan.heads.append(_head_row(req, ref, seller, buyer, built, corrected))
        plan.buyer_numbers.append(buyer.number)
        plan.lines.append(built.lines)
        plan.taxes.append(built.taxes)
    return plan


def write_drafts(tx: Tx, plan: DraftPlan) -> DraftResult:
    """Store the drafts of ``plan`` (new ids, their lines and taxes, an audit row each)."""
    if not plan.heads:
        return DraftResult([], plan.existing)
    for head in plan.heads:
        head["created_at"] = tx.now
    ids = insert_rows(tx.conn, invoices, plan.heads)
    insert_tuples(
        tx.conn,
        invoice_lines,
        LINE_COLUMNS,
        [(iid, *row) for iid, rows in zip(ids, plan.lines, strict=True) for row in rows],
    )
    insert_tuples(
        tx.conn,
        invoice_line_taxes,
        TAX_COLUMNS,
        [(iid, *row) for iid, rows in zip(ids, plan.taxes, strict=True) for row in rows],
    )
    for iid, head, customer in zip(ids, plan.heads, plan.buyer_numbers, strict=True):
        image = draft_image(head["draft_ref"], customer, head["total_minor"], head["currency"])
        tx.audit("create_draft", "invoice", f"draft {iid}", after=image)
    return DraftResult(ids, plan.existing)


def draft_image(ref: str, customer: str, total_minor: int, currency: str) -> CanonicalJson:
    """The audit row's image of a new draft: ``audit.to_json({ref, customer, total})``,
    formatted directly (a billing run writes one per draft)."""
    total = str(Money.from_minor(total_minor, currency))
    return CanonicalJson(
        f'{{"customer":{encode_basestring(customer)},"ref":{encode_basestring(ref)},'
        f'"total":{encode_basestring(total)}}}'
    )


# The columns of the rows ``_build`` makes (after the invoice id, known once the heads are in).
LINE_COLUMNS = (
    "invoice_id",
    "line_no",
    "sku",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "discount_minor",
    "net_minor",
    "tax_minor",
    "revenue_account",
    "period_start",
    "period_end",
    "note",
    "credits_line_id",
    "deferred",
)
TAX_COLUMNS = (
    "invoice_id",
    "line_no",
    "seq",
    "jurisdiction",
    "category",
    "rate",
    "tax_type",
    "exemption_reason",
    "exemption_code",
    "taxable_minor",
    "tax_minor",
)


@dataclass(frozen=True, slots=True)
class _Built:
    amounts: InvoiceAmounts
    lines: list[tuple[Any, ...]]  # LINE_COLUMNS[1:]
    taxes: list[tuple[Any, ...]]  # TAX_COLUMNS[1:]
    notes: list[str]
    currency: str
    fx_rate: Decimal
    functional_total: int
    due: date
    terms: str


def _check_precision(value: Decimal, places: int, what: str, where: str) -> None:
    if value != value.quantize(_quantum(places)):
        raise InvalidInput(
            f"{where}: {what} {value} has more than {places} decimals "
            "(the legal entity's configured precision)"
        )


def _build(
    tx: Tx,
    req: InvoiceRequest,
    seller: Seller,
    buyer: Buyer,
    products: dict[str, catalog.Product],
    engine: TaxEngine,
) -> _Built:
    currency = Currency.of(req.currency or buyer.currency).code
    tax_day = req.supply_date or req.period_end or req.issue_date
    ctx = TaxContext(
        seller_country=seller.country,
        buyer_country=buyer.tax_country,
        tax_date=tax_day,
        seller_region=seller.region,
        seller_oss=seller.oss,
        buyer_vat_id=buyer.vat_id,
        buyer_region=buyer.tax_region,
        buyer_postal_code=buyer.tax_postal_code,
        buyer_city=buyer.tax_city,
        exemptions=buyer.exemptions,
    )
    inputs, notes = [], list(req.notes)
    for n, ln in enumerate(req.lines, start=1):
        where = f"{req.where}, line {n}"
        inputs.append(
            _line_input(tx, ln, where, seller, buyer, currency, products, engine, ctx, notes, req)
        )
    try:
        amounts = compute_amounts(
            inputs,
            currency,
            rounding=Rounding(seller.rounding),
            tax_rounding=seller.tax_rounding,
            price_mode=req.price_mode or "exclusive",
            invoice_discount_percent=req.discount_percent,
            invoice_discount_amount=req.discount_amount,
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{req.where}: {exc}") from None
    if amounts.gross_total < 0:
        raise InvalidInput(
            f"{req.where}: the invoice total "
            f"{Money.from_minor(amounts.gross_total, currency)} is negative; "
            "issue a credit memo instead (`billfold credit-memos create`)"
        )
    rate = _fx_rate(tx, currency, seller.functional_currency, req.issue_date)
    functional = Money.rounded(
        Money.from_minor(amounts.gross_total, currency).amount * rate,
        seller.functional_currency,
        Rounding(seller.rounding),
    )
    terms = parse_terms(req.payment_terms or buyer.payment_terms)
    lines: list[tuple[Any, ...]] = []
    taxes: list[tuple[Any, ...]] = []
    for line_no, (li, discount, net, line_taxes) in enumerate(
        zip(inputs, amounts.discounts, amounts.nets, amounts.taxes, strict=True), start=1
    ):
        lines.append(  # LINE_COLUMNS without invoice_id
            (
                line_no,
                li.sku,
                li.description,
                _text(li.quantity),
                li.unit_code,
                _text(li.unit_price),
                discount,
                net,
                sum(line_taxes),
                li.revenue_account,
                li.period_start,
                li.period_end,
                li.note,
                None,
                li.deferred,
            )
        )
        for seq, (c, tax) in enumerate(zip(li.components, line_taxes, strict=True), start=1):
            taxes.append(  # TAX_COLUMNS without invoice_id
                (
                    line_no,
                    seq,
                    c.jurisdiction,
                    c.category,
                    _text(c.rate),
                    c.tax_type,
                    c.exemption_reason,
                    c.exemption_code,
                    net,
                    tax,
                )
            )
    return _Built(
        amounts,
        lines,
        taxes,
        list(dict.fromkeys(notes)),
        currency,
        rate,
        functional.minor,
        terms.due_date(req.issue_date),
        terms.code,
    )


def _line_input(
    tx: Tx,
    ln: LineRequest,
    where: str,
    seller: Seller,
    buyer: Buyer,
    currency: str,
    products: dict[str, catalog.Product],
    engine: TaxEngine,
    ctx: TaxContext,
    notes: list[str],
    req: InvoiceRequest,
) -> LineInput:
    product = products.get(ln.sku) if ln.sku else None
    _check_precision(ln.quantity, seller.quantity_decimals, "quantity", where)
    if ln.unit_price is not None:
        _check_precision(ln.unit_price, seller.price_decimals, "unit price", where)
        price = ln.unit_price
    elif product is not None:
        key = ("price_book", frozenset(products))
        book = tx.cache.get(key)
        if book is None:
            book = tx.cache[key] = catalog.PriceBook(tx.conn, set(products))
        price = book.price(product.sku, currency, buyer.id, req.issue_date)
    else:
        raise InvalidInput(f"{where}: a line without a product needs a unit_price")
    try:
        det = engine.determine(
            ctx,
            product.kind if product else "services",
            product.tax_class if product else "standard",
            ln.tax_category,
            ln.tax_rate,
            ln.exemption_reason or (product.exemption_reason if product else None),
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    if det.note:
        notes.append(det.note)
    account = ln.revenue_account or (product.revenue_account if product else None)
    if account is None:
        account = lookups.account_by_role(tx, "revenue")[1]
    return LineInput(
        description=ln.description or (product.description if product else ""),
        quantity=ln.quantity,
        unit_price=price,
        components=det.components,
        unit_code=ln.unit_code or (product.unit_code if product else "C62"),
        sku=product.sku if product else None,
        discount_percent=ln.discount_percent,
        discount_amount=ln.discount_amount,
        revenue_account=account,
        period_start=ln.period_start or req.period_start,
        period_end=ln.period_end or req.period_end,
        note=ln.note,
        deferred=ln.deferred,
    )


@lru_cache(maxsize=16)
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


@lru_cache(maxsize=4096)  # equal Decimals normalise alike; a run repeats a few prices
def _text(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def _fx_rate(tx: Tx, currency: str, functional: str, day: date) -> Decimal:
    key = ("fx", currency, functional, day)
    if key not in tx.cache:
        tx.cache[key] = fx.rate_on(tx.conn, currency, functional, day)
    rate: Decimal = tx.cache[key]
    return rate


def _head_row(
    req: InvoiceRequest,
    ref: str,
    seller: Seller,
    buyer: Buyer,
    built: _Built,
    corrected: dict[tuple[int, str], int],
) -> dict[str, Any]:
    corrects_id = None
    if req.corrects:
        corrects_id = corrected.get((seller.id, req.corrects))
        if corrects_id is None:
            raise NotFound(
                f"{req.where}: no issued invoice {req.corrects} of {seller.code} to correct"
            )
    a = built.amounts
    return {
        "entity_id": seller.id,
        "customer_id": buyer.id,
        "doc_type": req.doc_type,
        "status": "draft",
        "series": SERIES[req.doc_type],
        "number": None,
        "draft_ref": ref,
        "currency": built.currency,
        "functional_currency": seller.functional_currency,
        "fx_rate": _text(built.fx_rate),
        "rounding": seller.rounding,
        "tax_rounding": seller.tax_rounding,
        "price_mode": req.price_mode or "exclusive",
        "issue_date": req.issue_date,
        "due_date": built.due,
        "supply_date": req.supply_date,
        "period_start": req.period_start,
        "period_end": req.period_end,
        "payment_terms": built.terms,
        "po_number": req.po_number,
        "buyer_reference": req.buyer_reference,
        "language": req.language or buyer.language,
        "net_minor": a.net_total,
        "tax_minor": a.tax_total,
        "total_minor": a.gross_total,
        "functional_total_minor": built.functional_total,
        "corrects_id": corrects_id,
        "reason": req.reason,
        "notes": json.dumps(built.notes) if built.notes else None,
    }


def _existing_refs(conn: Connection, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    by_entity: dict[int, list[str]] = defaultdict(list)
    for entity_id, ref in keys:
        by_entity[entity_id].append(ref)
    for entity_id, refs in by_entity.items():
        q = select(invoices.c.draft_ref, invoices.c.id).where(
            invoices.c.entity_id == entity_id, values_in(conn, invoices.c.draft_ref, refs)
        )
        found.update({(entity_id, r): i for r, i in conn.execute(q).all()})
    return found


def _corrected_invoices(
    conn: Connection, requests: list[InvoiceRequest]
) -> dict[tuple[int, str], int]:
    numbers = {r.corrects for r in requests if r.corrects}
    if not numbers:
        return {}
    found: dict[tuple[int, str], int] = {}
    for chunk in in_chunks(numbers):  # files of any size (parameter limits)
        q = select(invoices.c.entity_id, invoices.c.number, invoices.c.id).where(
            invoices.c.number.in_(chunk),
            invoices.c.status == "issued",
            invoices.c.doc_type == "invoice",
        )
        found |= {(e, n): i for e, n, i in conn.execute(q)}
    return found


def file_ref_prefix(data: bytes) -> str:
    """Refs for requests without one: the file's fingerprint and position (re-import = no-op)."""
    return "file:" + hashlib.sha256(data).hexdigest()[:20]


# --- issuing (services/issuing.py) ---------------------------------------------------------


def draft_ids(
    conn: Connection,
    *,
    entity: str | None = None,
    before: date | None = None,
    numbers: Iterable[str] | None = None,
) -> list[int]:
    q = (
        select(invoices.c.id)
        .where(invoices.c.status == "draft")
        .order_by(invoices.c.issue_date, invoices.c.id)
    )
    if entity:
        q = q.join(legal_entities, legal_entities.c.id == invoices.c.entity_id).where(
            legal_entities.c.code == entity
        )
    if before:
        q = q.where(invoices.c.issue_date <= before)
    return [r[0] for r in conn.execute(q)]


# --- void ------------------------------------------------------------------------------------


def void(tx: Tx, entity: str, number: str, reason: str, on: date | None = None) -> None:
    """Void an issued invoice by reversing its entry: only if not delivered, paid or credited."""
    from billfold.services.ledger import reverse_entry

    ent = lookups.entity(tx, entity)
    h = tx.conn.execute(
        select(invoices).where(invoices.c.entity_id == ent.id, invoices.c.number == number)
    ).first()
    if h is None:
        raise NotFound(f"no invoice {number} of {ent.code}")
    if h.status != "issued":
        raise Conflict(f"{number} is {h.status}; only an issued invoice can be voided")
    if h.delivered_at is not None:
        raise Conflict(
            f"{number} was delivered on {h.delivered_at:%Y-%m-%d}: it cannot be "
            "voided; issue a credit memo instead"
        )
    others = tx.conn.execute(
        select(func.count())
        .select_from(postings)
        .where(
            postings.c.item_ref == number,
            postings.c.customer_id == h.customer_id,
            postings.c.entry_id != h.entry_id,
        )
    ).scalar_one()
    if others:
        raise Conflict(
            f"{number} has payments or credits applied: it cannot be voided; "
            "issue a credit memo instead"
        )
    if not reason.strip():
        raise InvalidInput("voiding needs a reason")
    void_entry = (
        reverse_entry(tx, h.entry_id, on or tx.today, f"void {number}: {reason}")
        if h.entry_id
        else None
    )
    tx.conn.execute(
        update(invoices)
        .where(invoices.c.id == h.id)
        .values(status="voided", voided_at=tx.now, void_entry_id=void_entry)
    )
    tx.audit(
        "void",
        h.doc_type,
        number,
        before={"status": "issued"},
        after={"status": "voided", "reason": reason, "reversal_entry": void_entry},
    )


def mark_delivered(tx: Tx, entity: str, number: str, channel: str) -> None:
    ent = lookups.entity(tx, entity)
    h = tx.conn.execute(
        select(invoices.c.id, invoices.c.status, invoices.c.delivered_at).where(
            invoices.c.entity_id == ent.id, invoices.c.number == number
        )
    ).first()
    if h is None:
        raise NotFound(f"no invoice {number} of {ent.code}")
    if h.status != "issued":
        raise Conflict(f"{number} is {h.status}; only issued documents are delivered")
    if h.delivered_at is None:
        tx.conn.execute(update(invoices).where(invoices.c.id == h.id).values(delivered_at=tx.now))
        tx.audit("deliver", "invoice", number, after={"channel": channel})
