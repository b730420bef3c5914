"""Cash application: match receipts to open items, post applications, and the clerk's actions.

An application moves money from unapplied cash to the customer's open items:

    Dr unapplied cash            cash used, at the receipt's exchange rate
    Cr AR (customer, invoice)    paid + discount + write-off, at the invoice's exchange rate
    Dr discounts allowed         early-payment discount taken
    Dr short-payment write-off   short payment within tolerance
    Cr AR (customer, on account) overpayment kept as a credit
    Dr/Cr realized FX loss/gain  the functional-currency difference of the two rates

Each application is its own row linking receipt and open item, never edited (an unapply is a
reversing row). The receipt's ``applied_minor`` can never exceed its amount: a CHECK constraint
in the database enforces it, whatever the code does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.domain.matching import (
    Allocation,
    Customer,
    MatchIndex,
    OpenItem,
    Policy,
    Proposal,
    ReceiptView,
    match,
)
from billfold.domain.terms import parse_terms
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.money import Currency, Money, Rounding
from billfold.services import lookups
from billfold.services.cash_import import lines_from_json
from billfold.services.context import Tx
from billfold.services.ledger import post_entries
from billfold.store.bulk import bulk_update, insert_rows
from billfold.store.tables import (
    cash_applications,
    cash_suggestions,
    customer_aliases,
    customers,
    invoices,
    payer_accounts,
    postings,
    receipts,
    remittance_advices,
)

BATCH = 1000


# --- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What posting an application needs about an open item beyond the matcher's view."""

    entity_id: int
    fx_rate: Decimal
    open_minor: int
    open_functional: int


def load_open_items(
    conn: Connection, entity_id: int | None = None
) -> tuple[list[OpenItem], dict[tuple[int, str], ItemFacts]]:
    """Open invoices and debit notes from the ledger, with their terms from the invoice."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    amount, functional = func.sum(postings.c.amount_minor), func.sum(postings.c.functional_minor)
    balances = (
        select(
            postings.c.customer_id,
            postings.c.item_ref,
            amount.label("open"),
            functional.label("fopen"),
        )
        .where(postings.c.account_id == ar_id, postings.c.item_type.in_(("invoice", "debit_note")))
        .group_by(postings.c.customer_id, postings.c.item_ref)
        .having(amount > 0)
        .subquery()
    )
    q = select(
        balances,
        invoices.c.entity_id,
        invoices.c.currency,
        invoices.c.total_minor,
        invoices.c.due_date,
        invoices.c.issue_date,
        invoices.c.payment_terms,
        invoices.c.po_number,
        invoices.c.fx_rate,
    ).join(
        invoices,
        (invoices.c.number == balances.c.item_ref)
        & (invoices.c.customer_id == balances.c.customer_id),
    )
    if entity_id is not None:
        q = q.where(invoices.c.entity_id == entity_id)
    items, facts = [], {}
    for r in conn.execute(q):
        terms = parse_terms(r.payment_terms)
        items.append(
            OpenItem(
                r.customer_id,
                r.item_ref,
                r.currency,
                int(r.open),
                r.total_minor,
                r.due_date,
                terms.discount_date(r.issue_date),
                terms.discount_percent,
                r.po_number,
            )
        )
        facts[(r.customer_id, r.item_ref)] = ItemFacts(
            r.entity_id, Decimal(r.fx_rate), int(r.open), int(r.fopen)
        )
    return items, facts


def load_customers(conn: Connection) -> list[Customer]:
    aliases: dict[int, list[str]] = defaultdict(list)
    for cid, alias in conn.execute(
        select(customer_aliases.c.customer_id, customer_aliases.c.alias)
    ):
        aliases[cid].append(alias)
    return [
        Customer(r.id, r.number, r.name, tuple(aliases[r.id]), r.parent_id)
        for r in conn.execute(
            select(customers.c.id, customers.c.number, customers.c.name, customers.c.parent_id)
        )
    ]


def build_index(
    conn: Connection, entity_id: int | None = None
) -> tuple[MatchIndex, dict[tuple[int, str], ItemFacts]]:
    """The open items of one legal entity (numbers repeat across entities) and all customers."""
    items, facts = load_open_items(conn, entity_id)
    accounts = dict(
        conn.execute(select(payer_accounts.c.account, payer_accounts.c.customer_id)).all()
    )
    return MatchIndex.build(items, load_customers(conn), accounts), facts


def receipt_view(r: Any, advice_lines: dict[int, Any] | None = None) -> ReceiptView:
    rem = json.loads(r.remittance or "{}")
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
    q = select(receipts).where(receipts.c.status.in_(("unapplied", "partially_applied")))
    if receipt_ids is not None:
        q = q.where(receipts.c.id.in_(list(receipt_ids)))
    rows = tx.conn.execute(q.order_by(receipts.c.value_date, receipts.c.id)).all()
    advices = _attach_advices(tx, rows)
    tx.conn.execute(
        update(cash_suggestions)
        .where(
            cash_suggestions.c.receipt_id.in_([r.id for r in rows]),
            cash_suggestions.c.status == "open",
        )
        .values(status="replaced")
    )
    run = MatchRun(receipts=len(rows))
    to_apply: list[tuple[Any, Proposal]] = []
    suggestions = []
    indexes: dict[int, tuple[MatchIndex, dict[tuple[int, str], ItemFacts]]] = {}
    facts: dict[tuple[int, str], ItemFacts] = {}
    for r in rows:
        if r.entity_id not in indexes:  # each legal entity matches against its own items
            indexes[r.entity_id] = build_index(tx.conn, r.entity_id)
            facts.update(indexes[r.entity_id][1])
        index = indexes[r.entity_id][0]
        proposal = match(receipt_view(r, advices), index, policy)
        if (
            proposal is not None
            and proposal.confidence >= policy.auto_threshold
            and proposal.cash_minor <= r.amount_minor - r.applied_minor
        ):
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
        run.results.append(
            (r.id, proposal, proposal is not None and proposal.confidence >= policy.auto_threshold)
        )
        if progress is not None:
            progress()
    for start in range(0, len(to_apply), BATCH):
        post_applications(tx, to_apply[start : start + BATCH], facts, automatic=True)
    if suggestions:
        tx.conn.execute(insert(cash_suggestions), suggestions)
    return run


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


def _attach_advices(tx: Tx, rows: Sequence[Any]) -> dict[int, Any]:
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
    for r in rows:
        rem = json.loads(r.remittance or "{}")
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


# --- posting ---------------------------------------------------------------------------------


def post_applications(
    tx: Tx,
    batch: Sequence[tuple[Any, Proposal]],
    facts: dict[tuple[int, str], ItemFacts],
    *,
    automatic: bool,
) -> list[int]:
    """Post the proposals for these receipts: one journal entry and N application rows each."""
    if not batch:
        return []
    entities = {
        e.id: e for e in (lookups.entity_by_id(tx.conn, i) for i in {r.entity_id for r, _ in batch})
    }
    numbers = _customer_numbers(tx.conn, batch)
    roles = {
        r: lookups.account_by_role(tx, r)[1]
        for r in (
            "ar_control",
            "unapplied_cash",
            "discounts_allowed",
            "write_off",
            "fx_gain",
            "fx_loss",
        )
    }
    drafts, app_rows, receipt_updates, learned = [], [], [], []
    for r, proposal in batch:
        ent = entities[r.entity_id]
        lines, rows = _application_lines(
            r, proposal, facts, roles, numbers, ent.functional_currency, Rounding(ent.rounding)
        )
        drafts.append(
            EntryDraft(
                ent.code,
                max(r.value_date, tx.today) if not automatic else r.value_date,
                f"Cash application receipt {r.id}: {proposal.reason}"[:400],
                tuple(lines),
                source_type="cash_application",
                source_ref=str(r.id),
            )
        )
        for row in rows:
            row.update(
                receipt_id=r.id,
                entity_id=r.entity_id,
                automatic=automatic,
                confidence=proposal.confidence,
                reason=proposal.reason[:400],
                applied_on=drafts[-1].entry_date,
                created_at=tx.now,
                actor=tx.actor,
                reverses_id=None,
            )
        app_rows.append(rows)
        cash = proposal.cash_minor
        applied = r.applied_minor + cash
        receipt_updates.append(
            {
                "key": r.id,
                "applied": applied,
                "status": "applied" if applied == r.amount_minor else "partially_applied",
                "cust": proposal.customer_id,
            }
        )
        if r.payer_account and proposal.customer_id is not None:
            learned.append((r.payer_account, proposal.customer_id, r.value_date))
    entry_ids = post_entries(tx, drafts, audit=False)
    flat = []
    for entry_id, rows in zip(entry_ids, app_rows, strict=True):
        for row in rows:
            row["entry_id"] = entry_id
            flat.append(row)
    ids = insert_rows(tx.conn, cash_applications, flat)
    tx.conn.execute(
        update(receipts)
        .where(receipts.c.id == bindparam("key"))
        .values(
            applied_minor=bindparam("applied"),
            status=bindparam("status"),
            customer_id=bindparam("cust"),
        ),
        receipt_updates,
    )
    _learn_accounts(tx.conn, learned)
    for (r, proposal), entry_id in zip(batch, entry_ids, strict=True):
        tx.audit(
            "apply" if not automatic else "auto_apply",
            "receipt",
            r.id,
            after={
                "entry": entry_id,
                "confidence": proposal.confidence,
                "reason": proposal.reason,
                "allocations": [[a.kind, a.item_ref, a.amount_minor] for a in proposal.allocations],
            },
        )
    return ids


def _customer_numbers(conn: Connection, batch: Sequence[tuple[Any, Proposal]]) -> dict[int, str]:
    ids = {a.customer_id for _, p in batch for a in p.allocations}
    return dict(
        conn.execute(
            select(customers.c.id, customers.c.number).where(customers.c.id.in_(sorted(ids)))
        ).all()
    )


def _application_lines(
    r: Any,
    proposal: Proposal,
    facts: dict[tuple[int, str], ItemFacts],
    roles: dict[str, str],
    numbers: dict[int, str],
    fcur: str,
    mode: Rounding,
) -> tuple[list[PostingLine], list[dict[str, Any]]]:
    """Posting lines and application rows for one receipt; ``facts`` is kept current, so a
    later receipt in the same batch sees what this one left open."""
    cur = r.currency

    def at(rate: Decimal, minor: int) -> Money:
        return Money.rounded(Money.from_minor(minor, cur).amount * rate, fcur, mode)

    lines: list[PostingLine] = []
    rows: list[dict[str, Any]] = []
    for a in proposal.allocations:
        customer = numbers[a.customer_id]
        amount = Money.from_minor(a.amount_minor, cur)
        if a.kind == "on_account":
            f = at(Decimal(r.fx_rate), a.amount_minor)
            ref = f"RCPT-{r.id}"
            lines.append(PostingLine(roles["ar_control"], -amount, -f, customer, "on_account", ref))
            rows.append(
                {
                    "kind": "on_account",
                    "customer_id": a.customer_id,
                    "item_type": "on_account",
                    "item_ref": ref,
                    "amount_minor": a.amount_minor,
                    "functional_minor": f.minor,
                }
            )
            continue
        assert a.item_ref is not None
        key = (a.customer_id, a.item_ref)
        fact = facts.get(key)
        if fact is None or a.amount_minor > fact.open_minor:
            raise Conflict(
                f"{a.item_ref} of customer {customer} is not open for "
                f"{amount} (open: {Money.from_minor(fact.open_minor, cur) if fact else 0})"
            )
        # AR is relieved at the invoice's rate; the last cents of an item take what is left
        f = (
            Money.from_minor(fact.open_functional, fcur)
            if a.amount_minor == fact.open_minor
            else at(fact.fx_rate, a.amount_minor)
        )
        facts[key] = ItemFacts(
            fact.entity_id,
            fact.fx_rate,
            fact.open_minor - a.amount_minor,
            fact.open_functional - f.minor,
        )
        lines.append(PostingLine(roles["ar_control"], -amount, -f, customer, "invoice", a.item_ref))
        if a.kind in ("discount", "write_off"):
            account = roles["discounts_allowed" if a.kind == "discount" else "write_off"]
            lines.append(PostingLine(account, amount, f))
        rows.append(
            {
                "kind": a.kind,
                "customer_id": a.customer_id,
                "item_type": "invoice",
                "item_ref": a.item_ref,
                "amount_minor": a.amount_minor,
                "functional_minor": f.minor,
            }
        )
    cash = proposal.cash_minor
    if cash:
        receipt_f = (
            Money.from_minor(r.functional_minor, fcur)
            if cash == r.amount_minor
            else at(Decimal(r.fx_rate), cash)
        )
        lines.insert(
            0, PostingLine(roles["unapplied_cash"], Money.from_minor(cash, cur), receipt_f)
        )
    diff = -sum(ln.functional.minor for ln in lines)
    if diff:
        account = roles["fx_gain"] if diff < 0 else roles["fx_loss"]
        lines.append(
            PostingLine(
                account,
                Money.zero(cur),
                Money.from_minor(diff, fcur),
                memo="realized FX difference",
            )
        )
    return lines, rows


def _learn_accounts(conn: Connection, learned: Iterable[tuple[str, int, date]]) -> None:
    latest: dict[str, tuple[int, date]] = {}
    for account, cid, day in learned:
        latest["".join(ch for ch in account.upper() if ch.isalnum())] = (cid, day)
    if not latest:
        return
    existing = set(
        conn.execute(
            select(payer_accounts.c.account).where(payer_accounts.c.account.in_(sorted(latest)))
        ).scalars()
    )
    new = [
        {"account": a, "customer_id": c, "confirmed": 1, "last_seen": d}
        for a, (c, d) in latest.items()
        if a not in existing
    ]
    if new:
        conn.execute(insert(payer_accounts), new)
    old = [{"key": a, "cid": c, "day": d} for a, (c, d) in latest.items() if a in existing]
    if old:
        conn.execute(
            update(payer_accounts)
            .where(payer_accounts.c.account == bindparam("key"))
            .values(
                customer_id=bindparam("cid"),
                last_seen=bindparam("day"),
                confirmed=payer_accounts.c.confirmed + 1,
            ),
            old,
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
