"""The clerk's cash actions: apply by hand, accept a suggestion, keep on account, unapply,
refund, and a payment that came back. Each posts through ``cash_posting.post_applications`` (or
reverses what it posted) and is audited; ``cash_apply`` re-exports them.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.domain.matching import Allocation, OpenItem, Proposal
from billfold.domain.terms import parse_terms
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.money import Money
from billfold.services import lookups
from billfold.services.cash_posting import ItemFacts, post_applications
from billfold.services.context import Tx
from billfold.services.ledger import post_entries
from billfold.store.bulk import insert_rows
from billfold.store.tables import (
    cash_applications,
    cash_suggestions,
    customers,
    invoices,
    postings,
    receipts,
)

# --- the clerk's actions ---------------------------------------------------------------------


def _receipt(tx: Tx, receipt_id: int) -> Any:
    r = tx.conn.execute(select(receipts).where(receipts.c.id == receipt_id)).first()
    if r is None:
        raise NotFound(f"no receipt {receipt_id}")
    return r


def _item_facts(conn: Connection, number: str, entity_id: int) -> tuple[OpenItem, ItemFacts]:
    items = [i for i in _open_items_named(conn, number, entity_id)]
    if not items:
        raise NotFound(f"{number} is not an open invoice")
    return items[0]


def _open_items_named(
    conn: Connection, number: str, entity_id: int
) -> list[tuple[OpenItem, ItemFacts]]:
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    inv = conn.execute(
        select(invoices).where(invoices.c.number == number, invoices.c.entity_id == entity_id)
    ).first()
    if inv is None:
        return []
    open_, fopen = conn.execute(
        select(
            func.coalesce(func.sum(postings.c.amount_minor), 0),
            func.coalesce(func.sum(postings.c.functional_minor), 0),
        ).where(
            postings.c.account_id == ar_id,
            postings.c.customer_id == inv.customer_id,
            postings.c.item_ref == number,
        )
    ).one()
    if int(open_) <= 0:
        return []
    terms = parse_terms(inv.payment_terms)
    item = OpenItem(
        inv.customer_id,
        number,
        inv.currency,
        int(open_),
        inv.total_minor,
        inv.due_date,
        terms.discount_date(inv.issue_date),
        terms.discount_percent,
        inv.po_number,
    )
    return [(item, ItemFacts(inv.entity_id, Decimal(inv.fx_rate), int(open_), int(fopen)))]


def apply_manually(
    tx: Tx,
    receipt_id: int,
    number: str,
    amount: Decimal | None = None,
    write_off_rest: bool = False,
) -> int:
    """A clerk applies (part of) a receipt to an invoice; returns the journal entry id."""
    r = _receipt(tx, receipt_id)
    left = r.amount_minor - r.applied_minor
    if left <= 0:
        raise Conflict(f"receipt {receipt_id} is fully applied")
    item, fact = _item_facts(tx.conn, number, r.entity_id)
    if item.currency != r.currency:
        raise InvalidInput(
            f"receipt {receipt_id} is in {r.currency}, {number} in "
            f"{item.currency}: apply in the same currency"
        )
    minor = Money.of(amount, r.currency).minor if amount is not None else min(left, item.open_minor)
    if minor <= 0 or minor > left:
        raise InvalidInput(
            f"amount must be positive and at most the {Money.from_minor(left, r.currency)} "
            f"left on receipt {receipt_id}"
        )
    if minor > item.open_minor:
        raise InvalidInput(
            f"{number} has only {Money.from_minor(item.open_minor, r.currency)} "
            "open; apply the rest on account"
        )
    allocations = [Allocation("invoice", item.customer_id, number, minor)]
    if write_off_rest and item.open_minor > minor:
        allocations.append(
            Allocation("write_off", item.customer_id, number, item.open_minor - minor)
        )
    proposal = Proposal(
        item.customer_id, tuple(allocations), 100, f"applied to {number} by {tx.actor}"
    )
    facts = {(item.customer_id, number): fact}
    post_applications(tx, [(r, proposal)], facts, automatic=False)
    _close_suggestions(tx, receipt_id, "accepted" if r.status != "applied" else "replaced")
    return receipt_id


def accept_suggestion(tx: Tx, receipt_id: int) -> str:
    sugg = tx.conn.execute(
        select(cash_suggestions)
        .where(cash_suggestions.c.receipt_id == receipt_id, cash_suggestions.c.status == "open")
        .order_by(cash_suggestions.c.confidence.desc())
    ).first()
    if sugg is None:
        raise NotFound(f"receipt {receipt_id} has no open suggestion")
    r = _receipt(tx, receipt_id)
    allocations = tuple(
        Allocation(a["kind"], a["customer_id"], a["item_ref"], a["amount_minor"])
        for a in json.loads(sugg.proposal)
    )
    facts: dict[tuple[int, str], ItemFacts] = {}
    for a in allocations:
        if a.item_ref and a.kind != "on_account":
            item, fact = _item_facts(tx.conn, a.item_ref, r.entity_id)
            facts[(item.customer_id, a.item_ref)] = fact
    proposal = Proposal(
        sugg.customer_id,
        allocations,
        sugg.confidence,
        f"suggestion accepted by {tx.actor}: {sugg.reason}",
    )
    if proposal.cash_minor > r.amount_minor - r.applied_minor:
        raise Conflict(f"the suggestion uses more than is left on receipt {receipt_id}")
    post_applications(tx, [(r, proposal)], facts, automatic=False)
    _close_suggestions(tx, receipt_id, "accepted")
    return proposal.reason


def _close_suggestions(tx: Tx, receipt_id: int, status: str) -> None:
    tx.conn.execute(
        update(cash_suggestions)
        .where(cash_suggestions.c.receipt_id == receipt_id, cash_suggestions.c.status == "open")
        .values(status=status)
    )


def put_on_account(tx: Tx, receipt_id: int, customer_number: str) -> Money:
    """Keep what is left of a receipt as a credit on the customer's account."""
    r = _receipt(tx, receipt_id)
    left = r.amount_minor - r.applied_minor
    if left <= 0:
        raise Conflict(f"receipt {receipt_id} is fully applied")
    cid = lookups.customer_ids(tx, [customer_number])[customer_number]
    proposal = Proposal(
        cid,
        (Allocation("on_account", cid, None, left),),
        100,
        f"kept on account of {customer_number} by {tx.actor}",
    )
    post_applications(tx, [(r, proposal)], {}, automatic=False)
    _close_suggestions(tx, receipt_id, "replaced")
    return Money.from_minor(left, r.currency)


def unapply(tx: Tx, application_id: int, reason: str) -> list[int]:
    """Undo an application (and those posted with it): reversing rows and a reversing entry."""
    from billfold.services.ledger import reverse_entry

    app = tx.conn.execute(
        select(cash_applications).where(cash_applications.c.id == application_id)
    ).first()
    if app is None:
        raise NotFound(f"no application {application_id}")
    if (
        app.reverses_id is not None
        or tx.conn.execute(
            select(cash_applications.c.id).where(cash_applications.c.reverses_id == application_id)
        ).first()
    ):
        raise Conflict(f"application {application_id} is an undo or was undone already")
    group = tx.conn.execute(
        select(cash_applications).where(cash_applications.c.entry_id == app.entry_id)
    ).all()
    entry = reverse_entry(tx, app.entry_id, tx.today, f"unapply: {reason}")
    rows = [
        {
            **{
                c: getattr(g, c)
                for c in (
                    "receipt_id",
                    "entity_id",
                    "customer_id",
                    "kind",
                    "item_type",
                    "item_ref",
                    "confidence",
                )
            },
            "amount_minor": -g.amount_minor,
            "functional_minor": -g.functional_minor,
            "automatic": False,
            "reason": f"undone by {tx.actor}: {reason}"[:400],
            "reverses_id": g.id,
            "entry_id": entry,
            "applied_on": tx.today,
            "created_at": tx.now,
            "actor": tx.actor,
        }
        for g in group
    ]
    ids = insert_rows(tx.conn, cash_applications, rows)
    cash = sum(
        g.amount_minor
        for g in group
        if g.kind in ("invoice", "on_account") or (g.kind == "refund" and g.item_ref is None)
    )
    r = _receipt(tx, app.receipt_id)
    applied = r.applied_minor - cash
    tx.conn.execute(
        update(receipts)
        .where(receipts.c.id == r.id)
        .values(applied_minor=applied, status="unapplied" if applied == 0 else "partially_applied")
    )
    tx.audit(
        "unapply",
        "receipt",
        r.id,
        after={"applications": [g.id for g in group], "reason": reason, "entry": entry},
    )
    return ids


def refund(tx: Tx, receipt_id: int, amount: Decimal | None, reason: str) -> Money:
    """Pay back what is left of a receipt, or its on-account credit: Cr refunds payable."""
    r = _receipt(tx, receipt_id)
    ent = lookups.entity_by_id(tx.conn, r.entity_id)
    left = r.amount_minor - r.applied_minor
    ar_id, ar = lookups.account_by_role(tx, "ar_control")
    on_account = -int(
        tx.conn.execute(
            select(func.coalesce(func.sum(postings.c.amount_minor), 0)).where(
                postings.c.account_id == ar_id, postings.c.item_ref == f"RCPT-{r.id}"
            )
        ).scalar_one()
    )
    available = left + on_account
    minor = Money.of(amount, r.currency).minor if amount is not None else available
    if minor <= 0 or minor > available:
        raise InvalidInput(
            f"receipt {receipt_id} has {Money.from_minor(available, r.currency)} "
            "that can be refunded (unapplied or on account)"
        )
    if r.customer_id is None:
        raise InvalidInput(f"receipt {receipt_id} has no customer yet: put it on account first")
    number = tx.conn.execute(
        select(customers.c.number).where(customers.c.id == r.customer_id)
    ).scalar_one()
    from_unapplied = min(minor, left)
    from_credit = minor - from_unapplied
    rate, fcur = Decimal(r.fx_rate), ent.functional_currency

    def f(m: int) -> Money:
        return Money.rounded(Money.from_minor(m, r.currency).amount * rate, fcur, ent.rounding)

    lines = []
    if from_unapplied:
        lines.append(
            PostingLine(
                lookups.account_by_role(tx, "unapplied_cash")[1],
                Money.from_minor(from_unapplied, r.currency),
                f(from_unapplied),
            )
        )
    if from_credit:
        lines.append(
            PostingLine(
                ar,
                Money.from_minor(from_credit, r.currency),
                f(from_credit),
                number,
                "on_account",
                f"RCPT-{r.id}",
            )
        )
    total = Money.from_minor(minor, r.currency)
    lines.append(
        PostingLine(
            lookups.account_by_role(tx, "refunds_payable")[1],
            -total,
            -sum((ln.functional for ln in lines), Money.zero(fcur)),
        )
    )
    entry = post_entries(
        tx,
        [
            EntryDraft(
                ent.code,
                tx.today,
                f"Refund of receipt {r.id} to {number}: {reason}"[:400],
                tuple(lines),
                "refund",
                str(r.id),
            )
        ],
        audit=False,
    )[0]
    common = {
        "receipt_id": r.id,
        "entity_id": r.entity_id,
        "customer_id": r.customer_id,
        "kind": "refund",
        "automatic": False,
        "confidence": 100,
        "reason": f"refund by {tx.actor}: {reason}"[:400],
        "reverses_id": None,
        "entry_id": entry,
        "applied_on": tx.today,
        "created_at": tx.now,
        "actor": tx.actor,
    }
    parts = [(from_unapplied, None, None), (from_credit, "on_account", f"RCPT-{r.id}")]
    tx.conn.execute(
        insert(cash_applications),
        [
            {
                **common,
                "item_type": kind,
                "item_ref": ref,
                "amount_minor": m,
                "functional_minor": f(m).minor,
            }
            for m, kind, ref in parts
            if m
        ],
    )
    applied = r.applied_minor + from_unapplied
    tx.conn.execute(
        update(receipts)
        .where(receipts.c.id == r.id)
        .values(
            applied_minor=applied,
            status="applied" if applied == r.amount_minor else "partially_applied",
        )
    )
    tx.audit(
        "refund", "receipt", r.id, after={"amount": str(total), "reason": reason, "entry": entry}
    )
    return total


def return_receipt(tx: Tx, receipt_id: int, reason: str, on: date) -> int:
    """A payment came back (ACH return, camt reversal): undo its applications, so the invoices
    it paid are open again, and take the money out of bank clearing. Returns the entry id."""
    from billfold.services.ledger import reverse_entry

    r = _receipt(tx, receipt_id)
    if r.status == "returned":
        raise Conflict(f"receipt {receipt_id} was already returned")
    done = {
        a.reverses_id
        for a in tx.conn.execute(
            select(cash_applications.c.reverses_id).where(
                cash_applications.c.receipt_id == receipt_id,
                cash_applications.c.reverses_id.isnot(None),
            )
        )
    }
    live = tx.conn.execute(
        select(cash_applications.c.id, cash_applications.c.entry_id).where(
            cash_applications.c.receipt_id == receipt_id,
            cash_applications.c.reverses_id.is_(None),
            cash_applications.c.amount_minor > 0,
        )
    ).all()
    undone_entries: set[int] = set()
    for app_id, entry_id in live:
        if app_id in done or entry_id in undone_entries:
            continue
        unapply(tx, app_id, f"payment returned: {reason}")
        undone_entries.add(entry_id)
    entry = reverse_entry(tx, r.entry_id, on, f"payment returned: {reason}")
    tx.conn.execute(update(receipts).where(receipts.c.id == receipt_id).values(status="returned"))
    tx.audit("return", "receipt", receipt_id, after={"reason": reason, "entry": entry})
    return entry
