"""Bringing open receivables from the previous system (``billfold invoices import-open``).

Each row becomes an issued invoice that keeps the old system's number (so payments quoting it
still match), with one line "Open balance carried over", posted Dr AR / Cr opening-balance
equity at the rate of its issue date. All rows or none; the same file twice changes nothing, and
a row already imported with the same values is left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.errors import BillfoldError, FileRejected, RowError
from billfold.money import Currency, Money, Rounding
from billfold.services import fx, lookups
from billfold.services.catalog import read_csv_rows
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.services.ledger import post_entries
from billfold.services.parties import load_buyers, load_seller, party_to_json
from billfold.store.bulk import in_chunks, insert_rows
from billfold.store.tables import customers, invoice_lines, invoice_parties, invoices

COLUMNS = (
    "number",
    "customer_number",
    "issue_date",
    "due_date",
    "currency",
    "open_amount",
    "po_number",
    "entity",
)
REQUIRED = COLUMNS[:6]


@dataclass(frozen=True, slots=True)
class OpenImport:
    created: int = 0
    unchanged: int = 0
    already_imported: bool = False


def import_open_items(tx: Tx, data: bytes, filename: str, entity: str | None = None) -> OpenImport:
    fp = file_fingerprint(data)
    if previous_import(tx, "open_items", fp):
        return OpenImport(already_imported=True)
    rows = read_csv_rows(data, filename, REQUIRED, COLUMNS)
    default_entity = entity or (
        None if any(r.get("entity") for _, r in rows) else lookups.default_entity(tx.conn).code
    )
    errors: list[RowError] = []
    numbers = {r.get("customer_number", "") for _, r in rows}
    wanted = sorted(n for n in numbers if n)
    known: set[str] = set()
    for start in range(0, len(wanted), 5000):  # PostgreSQL takes at most 65,535 parameters
        chunk = wanted[start : start + 5000]
        known |= set(
            tx.conn.execute(
                select(customers.c.number).where(customers.c.number.in_(chunk))
            ).scalars()
        )
    buyers = load_buyers(tx.conn, known)
    parsed = []
    seen: dict[tuple[str, str], int] = {}
    for line, r in rows:
        bad = len(errors)
        code = (r.get("entity") or default_entity or "").upper()
        try:
            seller = lookups.entity(tx, code)
        except BillfoldError as exc:
            errors.append(RowError(line, "entity", code, str(exc)))
            continue
        number = r["number"]
        if not number:
            errors.append(RowError(line, "number", "", "required value is missing"))
        elif (code, number) in seen:
            errors.append(
                RowError(
                    line, "number", number, f"duplicate (first on line {seen[(code, number)]})"
                )
            )
        buyer = buyers.get(r["customer_number"])
        if buyer is None:
            errors.append(
                RowError(line, "customer_number", r["customer_number"], "unknown customer")
            )
        days = {}
        for col in ("issue_date", "due_date"):
            try:
                days[col] = date.fromisoformat(r[col])
            except ValueError:
                errors.append(RowError(line, col, r[col], "not a date (YYYY-MM-DD)"))
        amount = None
        try:
            amount = Money.of(r["open_amount"], Currency.of(r["currency"]).code)
            if amount.amount <= 0:
                errors.append(
                    RowError(
                        line,
                        "open_amount",
                        r["open_amount"],
                        "must be positive (credits are not open invoices)",
                    )
                )
        except BillfoldError as exc:
            column = (
                "currency"
                if "currency" in str(exc) and "decimals" not in str(exc)
                else "open_amount"
            )
            errors.append(RowError(line, column, r[column], str(exc)))
        rate = None
        if amount is not None and "issue_date" in days:
            try:
                rate = fx.rate_on(
                    tx.conn, amount.currency, seller.functional_currency, days["issue_date"]
                )
            except BillfoldError as exc:
                errors.append(RowError(line, "currency", r["currency"], str(exc)))
        if len(errors) == bad and buyer and amount is not None and rate is not None:
            seen[(code, number)] = line
            parsed.append(
                (
                    line,
                    seller,
                    buyer,
                    number,
                    days["issue_date"],
                    days["due_date"],
                    amount,
                    rate,
                    r.get("po_number") or None,
                )
            )
    if errors:
        raise FileRejected(filename, errors)
    created, unchanged = _create(tx, parsed, filename, errors)
    if errors:
        raise FileRejected(filename, errors)
    record_import(
        tx, "open_items", filename, fp, len(parsed), f"{created} created, {unchanged} unchanged"
    )
    return OpenImport(created, unchanged)


def _create(tx: Tx, parsed: list[Any], filename: str, errors: list[RowError]) -> tuple[int, int]:
    opening = lookups.account_by_role(tx, "opening_balance")[1]
    ar = lookups.account_by_role(tx, "ar_control")[1]
    existing: dict[tuple[int, str], tuple[int, int, str]] = {}
    for chunk in in_chunks({p[3] for p in parsed}):  # files of any size (parameter limits)
        existing |= {
            (e, n): (c, t, cur)
            for e, n, c, t, cur in tx.conn.execute(
                select(
                    invoices.c.entity_id,
                    invoices.c.number,
                    invoices.c.customer_id,
                    invoices.c.total_minor,
                    invoices.c.currency,
                ).where(invoices.c.number.in_(chunk))
            )
        }
    todo = []
    unchanged = 0
    for p in parsed:
        line, seller, buyer, number, issued, due, amount, rate, po = p
        old = existing.get((seller.id, number))
        if old is None:
            todo.append(p)
        elif old == (buyer.id, amount.minor, amount.currency):
            unchanged += 1
        else:
            errors.append(
                RowError(
                    line,
                    "number",
                    number,
                    "an invoice with this number already exists with another customer or amount",
                )
            )
    if errors or not todo:
        return 0, unchanged
    drafts: list[EntryDraft] = []
    heads: list[dict[str, Any]] = []
    sellers: dict[int, Any] = {}
    parties: list[tuple[str, str]] = []  # (seller, buyer) JSON of each head, frozen as issued
    for _line, seller, buyer, number, issued, due, amount, rate, po in todo:
        s = sellers.get(seller.id)
        if s is None:  # once per entity (setdefault would load it for every row)
            s = sellers[seller.id] = load_seller(tx.conn, seller.id)
        functional = Money.rounded(
            amount.amount * rate, seller.functional_currency, Rounding(s.rounding)
        )
        drafts.append(
            EntryDraft(
                seller.code,
                issued,
                f"Open item {number} carried over",
                (
                    PostingLine(ar, amount, functional, buyer.number, "invoice", number),
                    PostingLine(opening, -amount, -functional),
                ),
                source_type="opening",
                source_ref=number,
            )
        )
        parties.append(
            (
                json.dumps({"party": party_to_json(s.party), "payment": None}),
                json.dumps(party_to_json(buyer.party)),
            )
        )
        heads.append(
            {
                "entity_id": seller.id,
                "customer_id": buyer.id,
                "doc_type": "invoice",
                "status": "issued",
                "series": "IMPORT",
                "number": number,
                "draft_ref": f"import:{number}",
                "currency": amount.currency,
                "functional_currency": seller.functional_currency,
                "fx_rate": f"{rate:f}",
                "rounding": s.rounding,
                "tax_rounding": s.tax_rounding,
                "price_mode": "exclusive",
                "issue_date": issued,
                "due_date": due,
                "payment_terms": "DUE",
                "po_number": po,
                "language": buyer.language,
                "net_minor": amount.minor,
                "tax_minor": 0,
                "total_minor": amount.minor,
                "functional_total_minor": functional.minor,
                "notes": json.dumps([f"Carried over from the previous system ({filename})"]),
                "origin": "import",
                "created_at": tx.now,
                "issued_at": tx.now,
            }
        )
    entry_ids = post_entries(tx, drafts, audit=False)
    for head, entry_id in zip(heads, entry_ids, strict=True):
        head["entry_id"] = entry_id
    ids = insert_rows(tx.conn, invoices, heads)
    tx.conn.execute(
        insert(invoice_parties),
        [
            {"invoice_id": iid, "seller_json": sj, "buyer_json": bj}
            for iid, (sj, bj) in zip(ids, parties, strict=True)
        ],
    )
    tx.conn.execute(
        insert(invoice_lines),
        [
            {
                "invoice_id": iid,
                "line_no": 1,
                "sku": None,
                "description": "Open balance carried over from the previous system",
                "quantity": "1",
                "unit_code": "C62",
                "unit_price": f"{Money.from_minor(h['total_minor'], h['currency']).amount:f}",
                "discount_minor": 0,
                "net_minor": h["total_minor"],
                "tax_minor": 0,
                "revenue_account": opening,
                "period_start": None,
                "period_end": None,
                "note": None,
                "credits_line_id": None,
            }
            for iid, h in zip(ids, heads, strict=True)
        ],
    )
    for h in heads:
        tx.audit(
            "import_open",
            "invoice",
            h["number"],
            after={
                "customer": h["customer_id"],
                "currency": h["currency"],
                "open": str(Money.from_minor(h["total_minor"], h["currency"])),
                "due_date": h["due_date"],
            },
        )
    return len(todo), unchanged
