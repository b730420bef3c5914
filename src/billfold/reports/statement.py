"""The data of a statement of account, from the AR sub-ledger (SQL; rendering is in
``billfold.documents.statement``).

Per currency the customer has AR postings in with the legal entity: the opening balance (AR
postings dated before the period), every movement of the period, the closing balance (AR
postings dated up to the end) and the aging of what is open at the end (``aging_as_of``, due-date
basis, default buckets). Amounts are in the transaction currency, the customer's view.

A movement is an AR posting, named after what posted it (invoice, credit note, write-off ...);
a posting made by a cash application is shown as its application rows instead (payment, payment
on account, discount, short-payment write-off, refund), each with the bank reference of the
receipt. Reversals (a voided invoice, an undone payment) are shown as the reversed movement.
Should the movements ever not explain the closing balance, the difference is shown as one
adjustment on the last day, so the statement always agrees with the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from billfold.documents.statement import Statement, StatementLine, StatementSection
from billfold.errors import InvalidInput, NotFound
from billfold.money import Money
from billfold.reports.aging import aging_as_of
from billfold.services import lookups
from billfold.services.lookups import EntityRow
from billfold.services.parties import load_buyers, load_seller
from billfold.store.tables import (
    cash_applications,
    customers,
    invoices,
    journal_entries,
    postings,
    receipts,
)

# what an entry's source type is called on a statement
_SOURCE_KINDS = {
    "invoice": "invoice",
    "debit_note": "debit_note",
    "credit_note": "credit_note",
    "write_off": "write_off",
    "recovery": "recovery",
    "opening": "opening",
    "cash_application": "payment",
    "refund": "refund",
}
# what a cash application's kind is called, and the sign of its effect on AR
_APPLICATION_KINDS = {
    "invoice": ("payment", -1),
    "on_account": ("payment_on_account", -1),
    "discount": ("discount", -1),
    "write_off": ("write_off", -1),
    "refund": ("refund", 1),
}


@dataclass(frozen=True, slots=True)
class _Move:
    day: date
    entry: int
    seq: int
    currency: str
    line: StatementLine  # amount and balance are filled in by ``_running``
    minor: int


def statement_data(
    conn: Connection,
    customer_number: str,
    start: date,
    end: date,
    entity: str | None = None,
) -> Statement:
    """Everything a statement of account of ``customer_number`` for ``start`` to ``end``
    shows. ``entity`` may be left out when the customer deals with one legal entity only."""
    if end < start:
        raise InvalidInput(f"--from {start} is after --to {end}")
    cust = conn.execute(select(customers).where(customers.c.number == customer_number)).first()
    if cust is None:
        raise NotFound(f"no customer {customer_number}")
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    ent = _entity_for(conn, cust, ar_id, entity)
    mine = and_(
        postings.c.account_id == ar_id,
        postings.c.customer_id == cust.id,
        postings.c.entity_id == ent.id,
    )
    opening = _balances(conn, and_(mine, postings.c.entry_date < start))
    closing = _balances(conn, and_(mine, postings.c.entry_date <= end))
    moves = _posting_moves(conn, mine, start, end) + _application_moves(
        conn, cust.id, ent.id, start, end
    )
    moves.sort(key=lambda m: (m.day, m.entry, m.seq))
    currencies = sorted(set(opening) | set(closing) | {m.currency for m in moves}) or [
        cust.currency
    ]
    report = aging_as_of(conn, end, by="customer", entity=ent.code)
    aging = {r.currency: r.buckets for r in report.rows if r.key == cust.number}
    seller = load_seller(conn, ent.id)
    sections = []
    for cur in currencies:
        lines = _running(
            [m for m in moves if m.currency == cur],
            opening.get(cur, 0),
            closing.get(cur, 0),
            cur,
            end,
        )
        zero = Money.zero(cur).amount
        sections.append(
            StatementSection(
                currency=cur,
                opening=Money.from_minor(opening.get(cur, 0), cur).amount,
                lines=tuple(lines),
                closing=Money.from_minor(closing.get(cur, 0), cur).amount,
                aging_labels=tuple(report.labels),
                aging=aging.get(cur, tuple(zero for _ in report.labels)),
                payment=seller.payment_for(cur, cust.number),
            )
        )
    return Statement(
        entity=ent.code,
        seller=seller.party,
        customer=cust.number,
        buyer=load_buyers(conn, [cust.number])[cust.number].party,
        language=cust.language,
        start=start,
        end=end,
        sections=tuple(sections),
    )


def _entity_for(conn: Connection, cust: Any, ar_id: int, entity: str | None) -> EntityRow:
    if entity:
        return lookups.entity(conn, entity.strip().upper())
    ids = sorted(
        conn.execute(
            select(postings.c.entity_id)
            .where(postings.c.account_id == ar_id, postings.c.customer_id == cust.id)
            .distinct()
        ).scalars()
    )
    if len(ids) == 1:
        return lookups.entity_by_id(conn, ids[0])
    if len(ids) > 1:
        codes = ", ".join(sorted(lookups.entity_by_id(conn, i).code for i in ids))
        raise InvalidInput(
            f"customer {cust.number} has receivables with {codes}: name one with --entity"
        )
    return lookups.default_entity(conn)


def _balances(conn: Connection, where: Any) -> dict[str, int]:
    q = (
        select(postings.c.currency, func.sum(postings.c.amount_minor))
        .where(where)
        .group_by(postings.c.currency)
    )
    return {cur: int(total or 0) for cur, total in conn.execute(q)}


def _posting_moves(conn: Connection, mine: Any, start: date, end: date) -> list[_Move]:
    """AR postings of the period not made by cash applications, one movement each."""
    je, original = journal_entries, journal_entries.alias("original")
    q = (
        select(
            je.c.entry_date,
            je.c.id.label("entry"),
            postings.c.line_no,
            je.c.source_type,
            original.c.source_type.label("original_type"),
            je.c.source_ref,
            postings.c.item_ref,
            postings.c.currency,
            postings.c.amount_minor,
            invoices.c.due_date,
        )
        .select_from(postings)
        .join(je, je.c.id == postings.c.entry_id)
        .outerjoin(original, original.c.id == je.c.reverses_id)
        .outerjoin(
            invoices,
            and_(
                invoices.c.entity_id == postings.c.entity_id,
                invoices.c.number == postings.c.item_ref,
            ),
        )
        .where(
            mine,
            postings.c.entry_date >= start,
            postings.c.entry_date <= end,
            ~exists().where(cash_applications.c.entry_id == je.c.id),
        )
    )
    moves = []
    for r in conn.execute(q):
        reversed_ = r.source_type == "reversal"
        source = r.original_type if reversed_ else r.source_type
        kind = _SOURCE_KINDS.get(source or "", "reversal" if reversed_ else "adjustment")
        reference, applies_to = r.item_ref or r.source_ref or "", None
        if kind == "credit_note":
            reference, applies_to = r.source_ref or "", r.item_ref
            if reversed_:  # a reversal's own source ref is the entry it reverses
                reference = ""
        due = r.due_date if kind in ("invoice", "debit_note") and not reversed_ else None
        line = StatementLine(
            r.entry_date, kind, reference, applies_to, due, Decimal(0), Decimal(0), reversed_
        )
        moves.append(_Move(r.entry_date, r.entry, r.line_no, r.currency, line, int(r.amount_minor)))
    return moves


def _application_moves(
    conn: Connection, customer_id: int, entity_id: int, start: date, end: date
) -> list[_Move]:
    """The cash applications of the period that moved the customer's AR, one movement each."""
    ca = cash_applications
    q = (
        select(
            journal_entries.c.entry_date,
            journal_entries.c.id.label("entry"),
            ca.c.id,
            ca.c.kind,
            ca.c.item_type,
            ca.c.item_ref,
            ca.c.amount_minor,
            ca.c.reverses_id,
            receipts.c.reference,
            receipts.c.currency,
        )
        .select_from(ca)
        .join(journal_entries, journal_entries.c.id == ca.c.entry_id)
        .join(receipts, receipts.c.id == ca.c.receipt_id)
        .where(
            ca.c.customer_id == customer_id,
            journal_entries.c.entity_id == entity_id,
            journal_entries.c.entry_date >= start,
            journal_entries.c.entry_date <= end,
            or_(
                ca.c.kind.in_(("invoice", "on_account", "discount", "write_off")),
                and_(ca.c.kind == "refund", ca.c.item_ref.isnot(None)),
            ),
        )
    )
    moves = []
    for r in conn.execute(q):
        kind, sign = _APPLICATION_KINDS[r.kind]
        applies_to = r.item_ref if r.item_type not in ("on_account",) else None
        line = StatementLine(
            r.entry_date,
            kind,
            r.reference,
            applies_to,
            None,
            Decimal(0),
            Decimal(0),
            r.reverses_id is not None,
        )
        moves.append(
            _Move(r.entry_date, r.entry, r.id, r.currency, line, sign * int(r.amount_minor))
        )
    return moves


def _running(
    moves: list[_Move], opening: int, closing: int, currency: str, end: date
) -> list[StatementLine]:
    """The lines with amounts and running balances; an adjustment if they miss the closing."""
    balance = opening
    lines: list[StatementLine] = []
    for m in moves:
        balance += m.minor
        lines.append(_with(m.line, m.minor, balance, currency))
    if balance != closing:
        gap = closing - balance
        adjustment = StatementLine(end, "adjustment", "", None, None, Decimal(0), Decimal(0))
        lines.append(_with(adjustment, gap, closing, currency))
    return lines


def _with(line: StatementLine, minor: int, balance: int, currency: str) -> StatementLine:
    return StatementLine(
        line.day,
        line.kind,
        line.reference,
        line.applies_to,
        line.due_date,
        Money.from_minor(minor, currency).amount,
        Money.from_minor(balance, currency).amount,
        line.reversed,
    )


def by_currency(statement: Statement) -> dict[str, StatementSection]:
    """The statement's sections keyed by currency."""
    return {s.currency: s for s in statement.sections}
