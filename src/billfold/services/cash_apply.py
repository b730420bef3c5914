"""Cash application: match receipts to open items and post what is certain enough.

``match_receipts`` loads each legal entity's open items and every customer once, with set-based
queries, matches the receipts in value-date order (an item one receipt pays is no longer open
for the next), posts the automatic applications in batches (``cash_posting``) and keeps the
rest as suggestions. The clerk's actions live in ``cash_actions`` and are re-exported here.

Each application is its own row linking receipt and open item, never edited (an unapply is a
reversing row). The receipt's ``applied_minor`` can never exceed its amount: a CHECK constraint
in the database enforces it, whatever the code does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, insert, select, update

from billfold.domain.matching import Customer, MatchIndex, OpenItem, Policy, Proposal, ReceiptView
from billfold.domain.matching import match as match_one
from billfold.domain.terms import PaymentTerms, parse_terms
from billfold.money import Currency
from billfold.services.cash_actions import accept_suggestion as accept_suggestion
from billfold.services.cash_actions import apply_manually as apply_manually
from billfold.services.cash_actions import put_on_account as put_on_account
from billfold.services.cash_actions import refund as refund
from billfold.services.cash_actions import return_receipt as return_receipt
from billfold.services.cash_actions import unapply as unapply
from billfold.services.cash_import import lines_from_json
from billfold.services.cash_posting import ItemFacts, decimal_rate, post_applications
from billfold.services.context import Tx, collector_paused
from billfold.store.ar_balances import is_open
from billfold.store.bulk import bulk_update, in_chunks
from billfold.store.db import hashed_joins
from billfold.store.tables import (
    ar_items,
    cash_suggestions,
    customer_aliases,
    customers,
    invoices,
    payer_accounts,
    receipts,
    remittance_advices,
)

BATCH = 20_000  # receipts posted per batch of statements (one batch's rows: tens of MB)
OPEN = ("unapplied", "partially_applied")


# --- loading ---------------------------------------------------------------------------------


def load_open_items(
    conn: Connection, entity_id: int | None = None
) -> tuple[list[OpenItem], dict[tuple[int, str], ItemFacts]]:
    """Open invoices and debit notes, with their terms from the invoice: the balances the
    database keeps per item (``ar_items``), not a regrouping of every AR posting."""
    it = ar_items.c
    q = (
        select(
            it.customer_id,
            it.item_ref,
            it.open_minor,
            it.fopen_minor,
            invoices.c.entity_id,
            invoices.c.currency,
            invoices.c.total_minor,
            invoices.c.due_date,
            invoices.c.issue_date,
            invoices.c.payment_terms,
            invoices.c.po_number,
            invoices.c.fx_rate,
            invoices.c.id,
            it.currency,
        )
        .join_from(
            ar_items,
            invoices,
            (invoices.c.entity_id == it.entity_id)
            & (invoices.c.number == it.item_ref)
            & (invoices.c.customer_id == it.customer_id),
        )
        .where(
            is_open(),  # read off the partial index over the open items
            it.open_minor > 0,
            invoices.c.doc_type.in_(("invoice", "debit_note")),
        )
    )
    if entity_id is not None:
        q = q.where(invoices.c.entity_id == entity_id)
    items, facts = [], {}
    terms_of: dict[str, PaymentTerms] = {}  # a few distinct terms, parsed once each
    with hashed_joins(conn):  # every open item joins its invoice: one pass over each side
        rows = list(conn.execute(q).all())
    # The matcher lists equally good candidates in the order it was given the items, so that
    # order is fixed here, not left to the plan (a hash join that spills to disk reorders its
    # rows): on PostgreSQL issue order, in which its scans of the invoices gave them so far; on
    # SQLite the order of the open-items index it reads them by.
    if conn.dialect.name == "postgresql":
        rows.sort(key=itemgetter(12))  # invoices.id
    else:
        rows.sort(key=itemgetter(0, 13, 1))  # customer, currency, item
    for row in rows:
        cid, ref, open_, fopen, ent, cur, total, due, issued, terms_text, po, rate = row[:12]
        terms = terms_of.get(terms_text)
        if terms is None:
            terms = terms_of[terms_text] = parse_terms(terms_text)
        open_minor = int(open_)
        items.append(
            OpenItem(
                cid,
                ref,
                cur,
                open_minor,
                total,
                due,
                terms.discount_date(issued),
                terms.discount_percent,
                po,
            )
        )
        facts[(cid, ref)] = ItemFacts(ent, decimal_rate(rate), open_minor, int(fopen))
    return items, facts


def load_customers(conn: Connection) -> list[Customer]:
    aliases: dict[int, list[str]] = defaultdict(list)
    for cid, alias in conn.execute(
        select(customer_aliases.c.customer_id, customer_aliases.c.alias)
    ):
        aliases[cid].append(alias)
    return [
        Customer(cid, number, name, tuple(aliases.get(cid, ())), parent)
        for cid, number, name, parent in conn.execute(
            select(customers.c.id, customers.c.number, customers.c.name, customers.c.parent_id)
        )
    ]


def load_accounts(conn: Connection) -> dict[str, int]:
    """Payer accounts learned from earlier matches -> customer id."""
    return dict(conn.execute(select(payer_accounts.c.account, payer_accounts.c.customer_id)).all())


def build_index(
    conn: Connection,
    entity_id: int | None = None,
    known_customers: Sequence[Customer] | None = None,
    accounts: dict[str, int] | None = None,
) -> tuple[MatchIndex, dict[tuple[int, str], ItemFacts]]:
    """The open items of one legal entity (numbers repeat across entities) and all customers
    (pass ``known_customers`` and ``accounts`` to build several entities' indexes from one
    load)."""
    items, facts = load_open_items(conn, entity_id)
    if known_customers is None:
        known_customers = load_customers(conn)
    if accounts is None:
        accounts = load_accounts(conn)
    return MatchIndex.build(items, known_customers, accounts), facts


def receipt_view(
    r: Any, advice_lines: dict[int, Any] | None = None, remittance: Any = None
) -> ReceiptView:
    """What the matcher sees of a receipt row (``remittance``: its JSON, already parsed)."""
    rem = json.loads(r.remittance or "{}") if remittance is None else remittance
    lines = lines_from_json(rem.get("lines", []))
    if advice_lines and r.id in advice_lines:
        lines = (*lines, *advice_lines[r.id])
    refs = tuple(x for x in (*rem.get("refs", []), r.end_to_end) if x)
    return ReceiptView(
        r.id,
        r.currency,
        r.amount_minor - r.applied_minor,
        r.value_date,
        r.payer_name,
        r.payer_account,
        refs,
        tuple(rem.get("text", [])),
        lines,
        10 ** Currency.of(r.currency).exponent,
    )


# --- matching run ----------------------------------------------------------------------------


@dataclass
class MatchRun:
    receipts: int = 0
    applied: int = 0
    suggested: int = 0
    unmatched: int = 0
    results: list[tuple[int, Proposal | None, bool]] = field(default_factory=list)


def match_receipts(
    tx: Tx,
    policy: Policy = Policy(),
    receipt_ids: Sequence[int] | None = None,
    progress: Any = None,
) -> MatchRun:
    """Match every unapplied receipt; post what is certain enough, suggest the rest."""
    with collector_paused():
        return _match_receipts(tx, policy, receipt_ids, progress)


def _match_receipts(
    tx: Tx, policy: Policy, receipt_ids: Sequence[int] | None, progress: Any
) -> MatchRun:
    q = select(receipts).where(receipts.c.status.in_(OPEN))
    if receipt_ids is not None:
        q = q.where(receipts.c.id.in_(list(receipt_ids)))
    # in value-date order, sorted here: PostgreSQL sorted the whole rows (remittance text and
    # all) on disk past its work_mem, 0.4 s of 20,000 receipts' server time
    rows = sorted(tx.conn.execute(q).all(), key=lambda r: (r.value_date, r.id))
    remittances = [json.loads(r.remittance or "{}") for r in rows]
    advices = _attach_advices(tx, rows, remittances)
    _replace_suggestions(tx, [r.id for r in rows], receipt_ids is None)
    run = MatchRun(receipts=len(rows))
    to_apply: list[tuple[Any, Proposal]] = []
    suggestions = []
    indexes: dict[int, MatchIndex] = {}
    facts: dict[tuple[int, str], ItemFacts] = {}
    known: tuple[list[Customer], dict[str, int]] | None = None
    for r, remittance in zip(rows, remittances, strict=True):
        index = indexes.get(r.entity_id)
        if index is None:  # each legal entity matches against its own items
            if known is None:
                known = load_customers(tx.conn), load_accounts(tx.conn)
            index, entity_facts = build_index(tx.conn, r.entity_id, *known)
            indexes[r.entity_id] = index
            facts.update(entity_facts)
        left = r.amount_minor - r.applied_minor
        proposal = match_one(receipt_view(r, advices, remittance), index, policy)
        automatic = proposal is not None and proposal.confidence >= policy.auto_threshold
        if proposal is not None and automatic and proposal.cash_minor <= left:
            to_apply.append((r, proposal))
            for a in proposal.allocations:
                if a.kind != "on_account" and a.item_ref:
                    index.consume(a.item_ref, a.amount_minor)
            run.applied += 1
        elif proposal is not None:
            suggestions.append(
                {
                    "receipt_id": r.id,
                    "customer_id": proposal.customer_id,
                    "proposal": _proposal_json(proposal),
                    "confidence": proposal.confidence,
                    "reason": proposal.reason[:400],
                    "status": "open",
                    "created_at": tx.now,
                }
            )
            run.suggested += 1
        else:
            run.unmatched += 1
        run.results.append((r.id, proposal, automatic))
        if progress is not None:
            progress()
    for start in range(0, len(to_apply), BATCH):
        post_applications(tx, to_apply[start : start + BATCH], facts, automatic=True)
    if suggestions:
        tx.conn.execute(insert(cash_suggestions), suggestions)
    return run


def _replace_suggestions(tx: Tx, ids: Sequence[int], every_open_receipt: bool) -> None:
    """Open suggestions of the receipts about to be matched again are replaced."""
    stmt = update(cash_suggestions).where(cash_suggestions.c.status == "open")
    if every_open_receipt:  # a subquery, not an IN list of every receipt
        tx.conn.execute(
            stmt.where(
                cash_suggestions.c.receipt_id.in_(
                    select(receipts.c.id).where(receipts.c.status.in_(OPEN))
                )
            ).values(status="replaced")
        )
        return
    for chunk in in_chunks(ids):
        tx.conn.execute(
            stmt.where(cash_suggestions.c.receipt_id.in_(chunk)).values(status="replaced")
        )


def _proposal_json(p: Proposal) -> str:
    return json.dumps(
        [
            {
                "kind": a.kind,
                "customer_id": a.customer_id,
                "item_ref": a.item_ref,
                "amount_minor": a.amount_minor,
            }
            for a in p.allocations
        ]
    )


def _attach_advices(tx: Tx, rows: Sequence[Any], remittances: Sequence[Any]) -> dict[int, Any]:
    """X12 820 advices whose trace number, or amount and payer, match a receipt join it
    (each advice joins one receipt)."""
    advices = tx.conn.execute(
        select(remittance_advices).where(remittance_advices.c.receipt_id.is_(None))
    ).all()
    if not advices:
        return {}
    by_ref = {a.reference: a for a in advices}
    by_amount: dict[tuple[int, str, str], list[Any]] = defaultdict(list)
    for a in advices:
        if a.payer_name:
            by_amount[(a.amount_minor, a.currency, a.payer_name.lower())].append(a)
    used: set[int] = set()
    joined: dict[int, Any] = {}
    for r, rem in zip(rows, remittances, strict=True):
        keys = [r.reference, r.end_to_end, *rem.get("refs", []), *rem.get("text", [])]
        candidates = [by_ref[k] for k in keys if k and k in by_ref]
        if r.payer_name:
            candidates += by_amount.get((r.amount_minor, r.currency, r.payer_name.lower()), [])
        advice = next((a for a in candidates if a.id not in used), None)
        if advice is not None:
            used.add(advice.id)
            joined[r.id] = advice
    if joined:
        bulk_update(
            tx.conn,
            remittance_advices,
            "id",
            [{"id": a.id, "receipt_id": rid} for rid, a in joined.items()],
        )
    return {rid: lines_from_json(json.loads(a.lines)) for rid, a in joined.items()}
