"""Collections: disputes, promises to pay, payment plans, notes, write-offs and recoveries,
and the worklist that ranks who to call first.

Everything that changes money posts a balanced entry (write-off: Dr bad-debt expense / Cr AR;
recovery: Dr AR / Cr bad-debt expense, after which the cash is applied as usual); everything else
is a fact with who and when, and every change lands in the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.money import Money, Rounding, allocate
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.services.ledger import post_entry
from billfold.store.bulk import in_chunks
from billfold.store.tables import (
    cash_applications,
    collection_notes,
    customers,
    disputes,
    dunning_notices,
    invoices,
    payment_plans,
    plan_installments,
    postings,
    promises,
    write_offs,
)

REASON_CODES = (
    "pricing",
    "quantity",
    "damaged",
    "not_received",
    "duplicate",
    "tax",
    "service_quality",
    "terms",
    "other",
)
OWNER_TEAMS = ("sales", "customer_success", "operations", "billing")
RESOLUTIONS = ("credit_memo", "rebill", "rejected")


def _customer(conn: Connection, number: str) -> Any:
    row = conn.execute(select(customers).where(customers.c.number == number)).first()
    if row is None:
        raise NotFound(f"no customer {number!r}")
    return row


def item_open(conn: Connection, customer_id: int, item_ref: str) -> tuple[int, int]:
    """(open amount, open functional amount) of one AR item, in minor units."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    a, f = conn.execute(
        select(
            func.coalesce(func.sum(postings.c.amount_minor), 0),
            func.coalesce(func.sum(postings.c.functional_minor), 0),
        ).where(
            postings.c.account_id == ar_id,
            postings.c.customer_id == customer_id,
            postings.c.item_ref == item_ref,
        )
    ).one()
    return int(a), int(f)


def _invoice(conn: Connection, entity: str, number: str) -> Any:
    ent = lookups.entity(conn, entity)
    row = conn.execute(
        select(invoices).where(invoices.c.entity_id == ent.id, invoices.c.number == number)
    ).first()
    if row is None or row.status == "draft":
        raise NotFound(f"no issued invoice {number} of {ent.code}")
    return row


# --- disputes --------------------------------------------------------------------------------


def open_dispute(
    tx: Tx,
    entity: str,
    invoice_number: str,
    reason_code: str,
    owner_team: str,
    amount: Decimal | None = None,
    line_no: int | None = None,
    note: str | None = None,
) -> int:
    """Put (part of) an invoice in dispute; its disputed amount is left out of dunning."""
    if reason_code not in REASON_CODES:
        raise InvalidInput(f"reason code {reason_code!r}: expected {', '.join(REASON_CODES)}")
    if owner_team not in OWNER_TEAMS:
        raise InvalidInput(f"owner team {owner_team!r}: expected {', '.join(OWNER_TEAMS)}")
    inv = _invoice(tx.conn, entity, invoice_number)
    if inv.doc_type == "credit_note":
        raise InvalidInput(f"{invoice_number} is a credit note; dispute the invoice it credits")
    open_minor, _ = item_open(tx.conn, inv.customer_id, invoice_number)
    if open_minor <= 0:
        raise Conflict(f"{invoice_number} is paid (nothing open): it cannot be disputed")
    disputed = _disputed(tx.conn, inv.id)
    minor = Money.of(amount, inv.currency).minor if amount is not None else open_minor - disputed
    if minor <= 0 or minor + disputed > open_minor:
        raise InvalidInput(
            f"the disputed amount must be positive and at most the "
            f"{Money.from_minor(open_minor - disputed, inv.currency)} open and "
            "not yet disputed"
        )
    if line_no is not None:
        from billfold.store.tables import invoice_lines

        if (
            tx.conn.execute(
                select(invoice_lines.c.id).where(
                    invoice_lines.c.invoice_id == inv.id, invoice_lines.c.line_no == line_no
                )
            ).first()
            is None
        ):
            raise InvalidInput(f"{invoice_number} has no line {line_no}")
    dispute_id = int(
        tx.conn.execute(
            insert(disputes)
            .values(
                entity_id=inv.entity_id,
                customer_id=inv.customer_id,
                invoice_id=inv.id,
                line_no=line_no,
                reason_code=reason_code,
                currency=inv.currency,
                amount_minor=minor,
                owner_team=owner_team,
                status="open",
                opened_on=tx.today,
                created_at=tx.now,
                actor=tx.actor,
            )
            .returning(disputes.c.id)
        ).scalar_one()
    )
    if note:
        add_dispute_note(tx, dispute_id, note)
    tx.audit(
        "open",
        "dispute",
        dispute_id,
        after={
            "invoice": invoice_number,
            "amount": str(Money.from_minor(minor, inv.currency)),
            "reason": reason_code,
            "owner": owner_team,
            "line": line_no,
        },
    )
    return dispute_id


def _disputed(conn: Connection, invoice_id: int) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.sum(disputes.c.amount_minor), 0)).where(
                disputes.c.invoice_id == invoice_id, disputes.c.status.in_(("open", "in_review"))
            )
        ).scalar_one()
    )


def add_dispute_note(tx: Tx, dispute_id: int, note: str) -> None:
    from billfold.store.tables import dispute_notes

    _dispute(tx.conn, dispute_id)
    tx.conn.execute(
        insert(dispute_notes).values(
            dispute_id=dispute_id, note=note, created_at=tx.now, actor=tx.actor
        )
    )
    tx.audit("note", "dispute", dispute_id, after={"note": note})


def _dispute(conn: Connection, dispute_id: int) -> Any:
    row = conn.execute(select(disputes).where(disputes.c.id == dispute_id)).first()
    if row is None:
        raise NotFound(f"no dispute {dispute_id}")
    return row


def set_dispute_status(tx: Tx, dispute_id: int, status: str) -> None:
    d = _dispute(tx.conn, dispute_id)
    if d.status in ("resolved", "rejected"):
        raise Conflict(f"dispute {dispute_id} is closed ({d.status})")
    if status not in ("open", "in_review"):
        raise InvalidInput("status: open or in_review (close a dispute with resolve)")
    tx.conn.execute(update(disputes).where(disputes.c.id == dispute_id).values(status=status))
    tx.audit("status", "dispute", dispute_id, before={"status": d.status}, after={"status": status})


def resolve_dispute(
    tx: Tx, dispute_id: int, resolution: str, root_cause: str, note: str | None = None
) -> str | None:
    """Close a dispute: by a credit memo for the disputed amount, by a rebill (the invoice is
    credited in full and a corrected one is to be issued), or by rejecting it."""
    from billfold.services.credit_memos import create_credit_memo

    d = _dispute(tx.conn, dispute_id)
    if d.status in ("resolved", "rejected"):
        raise Conflict(f"dispute {dispute_id} is already {d.status}")
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution {resolution!r}: expected {', '.join(RESOLUTIONS)}")
    if not root_cause.strip():
        raise InvalidInput("closing a dispute needs its root cause")
    inv = tx.conn.execute(select(invoices).where(invoices.c.id == d.invoice_id)).one()
    entity = lookups.entity_by_id(tx.conn, inv.entity_id).code
    ref = None
    if resolution == "credit_memo":
        amount = Money.from_minor(d.amount_minor, d.currency).amount
        selection = _selection_for(tx.conn, inv, d.line_no, amount)
        ref = create_credit_memo(
            tx, entity, inv.number, f"dispute {dispute_id}: {root_cause}", selection
        )
    elif resolution == "rebill":
        ref = create_credit_memo(
            tx, entity, inv.number, f"dispute {dispute_id}: rebilled ({root_cause})"
        )
    status = "rejected" if resolution == "rejected" else "resolved"
    tx.conn.execute(
        update(disputes)
        .where(disputes.c.id == dispute_id)
        .values(
            status=status,
            resolution=resolution,
            root_cause=root_cause,
            resolution_ref=ref,
            closed_on=tx.today,
        )
    )
    if note:
        add_dispute_note(tx, dispute_id, note)
    tx.audit(
        "resolve",
        "dispute",
        dispute_id,
        before={"status": d.status},
        after={
            "status": status,
            "resolution": resolution,
            "root_cause": root_cause,
            "reference": ref,
        },
    )
    return ref


def _selection_for(conn: Connection, inv: Any, line_no: int | None, amount: Decimal) -> Any:
    """Credit the disputed gross amount: on the disputed line, or spread over the invoice's
    lines in proportion to their gross amounts."""
    from billfold.services.credit_memos import Selection
    from billfold.store.tables import invoice_lines

    lines = conn.execute(
        select(invoice_lines.c.line_no, invoice_lines.c.net_minor, invoice_lines.c.tax_minor)
        .where(invoice_lines.c.invoice_id == inv.id)
        .order_by(invoice_lines.c.line_no)
    ).all()
    gross_total = sum(ln.net_minor + ln.tax_minor for ln in lines)
    if line_no is not None:
        lines = [ln for ln in lines if ln.line_no == line_no]
        if not lines:
            raise InvalidInput(f"{inv.number} has no line {line_no}")
        gross_total = lines[0].net_minor + lines[0].tax_minor
    share = Money.of(amount, inv.currency)
    parts = (
        allocate(share, [max(ln.net_minor + ln.tax_minor, 0) for ln in lines])
        if gross_total
        else [share]
    )
    selections = []
    for ln, part in zip(lines, parts, strict=True):
        if part.is_zero():
            continue
        gross = ln.net_minor + ln.tax_minor
        net = (
            Money.rounded(
                part.amount * Decimal(ln.net_minor) / Decimal(gross),
                inv.currency,
                Rounding(inv.rounding),
            )
            if gross
            else part
        )
        selections.append(Selection(ln.line_no, net.amount))
    return selections


@dataclass(frozen=True, slots=True)
class DisputeRow:
    id: int
    invoice: str
    customer: str
    amount: Money
    reason: str
    owner: str
    status: str
    opened_on: date
    days_open: int
    resolution: str | None
    root_cause: str | None


def list_disputes(conn: Connection, as_of: date, status: str | None = None) -> list[DisputeRow]:
    q = (
        select(disputes, invoices.c.number, customers.c.number.label("cnum"))
        .join(invoices, invoices.c.id == disputes.c.invoice_id)
        .join(customers, customers.c.id == disputes.c.customer_id)
        .order_by(disputes.c.opened_on, disputes.c.id)
    )
    if status == "open":
        q = q.where(disputes.c.status.in_(("open", "in_review")))
    elif status:
        q = q.where(disputes.c.status == status)
    return [
        DisputeRow(
            r.id,
            r.number,
            r.cnum,
            Money.from_minor(r.amount_minor, r.currency),
            r.reason_code,
            r.owner_team,
            r.status,
            r.opened_on,
            ((r.closed_on or as_of) - r.opened_on).days,
            r.resolution,
            r.root_cause,
        )
        for r in conn.execute(q)
    ]


def dispute_aging(
    conn: Connection, as_of: date, edges: tuple[int, ...] = (0, 30, 60, 90)
) -> dict[str, dict[str, Decimal]]:
    """Open disputes by how long they have been open, per currency."""
    labels = [f"{a}-{b}" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+"]
    result: dict[str, dict[str, Decimal]] = {}
    for d in list_disputes(conn, as_of, "open"):
        idx = sum(1 for e in edges[1:] if d.days_open > e)
        row = result.setdefault(d.amount.currency, {label: Decimal(0) for label in labels})
        row[labels[idx]] += d.amount.amount
    return result


# --- promises, notes, payment plans ----------------------------------------------------------


def add_note(tx: Tx, customer: str, note: str, item_ref: str | None = None) -> None:
    c = _customer(tx.conn, customer)
    tx.conn.execute(
        insert(collection_notes).values(
            customer_id=c.id, item_ref=item_ref, note=note, created_at=tx.now, actor=tx.actor
        )
    )
    tx.audit("note", "customer", customer, after={"note": note, "item": item_ref})


def add_promise(
    tx: Tx,
    customer: str,
    amount: Decimal,
    promised: date,
    item_ref: str | None = None,
    currency: str | None = None,
) -> int:
    """Record a promise to pay; dunning holds the promised items until the date passes."""
    if promised < tx.today:
        raise InvalidInput(f"promise date {promised} is in the past (today is {tx.today})")
    c = _customer(tx.conn, customer)
    cur = currency or c.currency
    minor = Money.of(amount, cur).minor
    if minor <= 0:
        raise InvalidInput("a promise needs a positive amount")
    baseline = (
        item_open(tx.conn, c.id, item_ref)[0] if item_ref else customer_open(tx.conn, c.id, cur)
    )
    if baseline <= 0:
        raise Conflict(f"{item_ref or customer} has nothing open to promise")
    pid = int(
        tx.conn.execute(
            insert(promises)
            .values(
                customer_id=c.id,
                item_ref=item_ref,
                currency=cur,
                amount_minor=minor,
                promised_date=promised,
                baseline_minor=baseline,
                created_at=tx.now,
                actor=tx.actor,
            )
            .returning(promises.c.id)
        ).scalar_one()
    )
    tx.audit(
        "promise",
        "customer",
        customer,
        after={"amount": str(Money.from_minor(minor, cur)), "date": promised, "item": item_ref},
    )
    return pid


def customer_open(conn: Connection, customer_id: int, currency: str | None = None) -> int:
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    q = select(func.coalesce(func.sum(postings.c.amount_minor), 0)).where(
        postings.c.account_id == ar_id, postings.c.customer_id == customer_id
    )
    if currency:
        q = q.where(postings.c.currency == currency)
    return int(conn.execute(q).scalar_one())


@dataclass(frozen=True, slots=True)
class PromiseRow:
    id: int
    customer: str
    item_ref: str | None
    amount: Money
    promised_date: date
    paid: Money
    status: str  # open, kept, broken


def promise_status(conn: Connection, as_of: date, customer: str | None = None) -> list[PromiseRow]:
    """A promise is kept when what was open dropped by its amount; broken when its date has
    passed first."""
    q = (
        select(promises, customers.c.number)
        .join(customers, customers.c.id == promises.c.customer_id)
        .order_by(promises.c.promised_date)
    )
    if customer:
        q = q.where(customers.c.number == customer)
    rows = []
    for p in conn.execute(q):
        now = (
            item_open(conn, p.customer_id, p.item_ref)[0]
            if p.item_ref
            else customer_open(conn, p.customer_id, p.currency)
        )
        paid = max(p.baseline_minor - now, 0)
        status = (
            "kept" if paid >= p.amount_minor else ("broken" if p.promised_date < as_of else "open")
        )
        rows.append(
            PromiseRow(
                p.id,
                p.number,
                p.item_ref,
                Money.from_minor(p.amount_minor, p.currency),
                p.promised_date,
                Money.from_minor(paid, p.currency),
                status,
            )
        )
    return rows


def create_plan(
    tx: Tx,
    customer: str,
    installments: int,
    first_due: date,
    items: list[str] | None = None,
    every_days: int | None = None,
) -> int:
    """Split the open balance of some items (default: all the customer's open invoices in its
    currency) into installments with the largest-remainder method; monthly by default."""
    if installments < 2 or installments > 60:
        raise InvalidInput("a payment plan has 2 to 60 installments")
    if first_due < tx.today:
        raise InvalidInput(f"the first installment date {first_due} is in the past")
    c = _customer(tx.conn, customer)
    refs = items or _open_refs(tx.conn, c.id, c.currency)
    total = 0
    currency = None
    for ref in refs:
        minor, _ = item_open(tx.conn, c.id, ref)
        if minor <= 0:
            raise InvalidInput(f"{ref} has nothing open")
        cur = tx.conn.execute(
            select(postings.c.currency)
            .where(postings.c.customer_id == c.id, postings.c.item_ref == ref)
            .limit(1)
        ).scalar_one()
        if currency not in (None, cur):
            raise InvalidInput("a payment plan covers items of one currency")
        currency, total = cur, total + minor
    if not refs or currency is None:
        raise Conflict(f"{customer} has nothing open for a payment plan")
    parts = allocate(Money.from_minor(total, currency), [1] * installments)
    plan_id = int(
        tx.conn.execute(
            insert(payment_plans)
            .values(
                customer_id=c.id,
                currency=currency,
                total_minor=total,
                items=json.dumps(refs),
                status="active",
                created_at=tx.now,
                actor=tx.actor,
            )
            .returning(payment_plans.c.id)
        ).scalar_one()
    )
    dates = _installment_dates(first_due, installments, every_days)
    tx.conn.execute(
        insert(plan_installments),
        [
            {"plan_id": plan_id, "seq": n, "due_date": d, "amount_minor": p.minor}
            for n, (d, p) in enumerate(zip(dates, parts, strict=True), start=1)
        ],
    )
    tx.audit(
        "create_plan",
        "customer",
        customer,
        after={
            "plan": plan_id,
            "items": refs,
            "total": str(Money.from_minor(total, currency)),
            "installments": [[str(d), str(p)] for d, p in zip(dates, parts, strict=True)],
        },
    )
    return plan_id


def _open_refs(conn: Connection, customer_id: int, currency: str) -> list[str]:
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    amount = func.sum(postings.c.amount_minor)
    q = (
        select(postings.c.item_ref)
        .where(
            postings.c.account_id == ar_id,
            postings.c.customer_id == customer_id,
            postings.c.currency == currency,
            postings.c.item_type.in_(("invoice", "debit_note")),
        )
        .group_by(postings.c.item_ref)
        .having(amount > 0)
        .order_by(postings.c.item_ref)
    )
    return [r[0] for r in conn.execute(q)]


def _installment_dates(first: date, n: int, every_days: int | None) -> list[date]:
    if every_days:
        return [first + timedelta(days=every_days * i) for i in range(n)]
    dates = []
    for i in range(n):
        month = first.month - 1 + i
        year, month = first.year + month // 12, month % 12 + 1
        day = min(
            first.day,
            [
                31,
                29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ][month - 1],
        )
        dates.append(date(year, month, day))
    return dates


@dataclass(frozen=True, slots=True)
class InstallmentRow:
    plan: int
    seq: int
    due_date: date
    amount: Money
    paid: Money
    status: str  # paid, partial, due, overdue


def plan_status(conn: Connection, plan_id: int, as_of: date) -> list[InstallmentRow]:
    """What was paid on the plan's items since it was made fills the installments in order."""
    plan = conn.execute(select(payment_plans).where(payment_plans.c.id == plan_id)).first()
    if plan is None:
        raise NotFound(f"no payment plan {plan_id}")
    still_open = sum(
        max(item_open(conn, plan.customer_id, ref)[0], 0) for ref in json.loads(plan.items)
    )
    paid_total = max(plan.total_minor - still_open, 0)
    rows = []
    for inst in conn.execute(
        select(plan_installments)
        .where(plan_installments.c.plan_id == plan_id)
        .order_by(plan_installments.c.seq)
    ):
        paid = min(paid_total, inst.amount_minor)
        paid_total -= paid
        status = (
            "paid"
            if paid == inst.amount_minor
            else "overdue"
            if inst.due_date < as_of
            else "partial"
            if paid
            else "due"
        )
        rows.append(
            InstallmentRow(
                plan_id,
                inst.seq,
                inst.due_date,
                Money.from_minor(inst.amount_minor, plan.currency),
                Money.from_minor(paid, plan.currency),
                status,
            )
        )
    return rows


# --- write-offs ------------------------------------------------------------------------------


def write_off(
    tx: Tx,
    entity: str,
    customer: str,
    item_ref: str,
    reason: str,
    amount: Decimal | None = None,
    on: date | None = None,
) -> int:
    """Write off bad debt: Dr bad-debt expense / Cr AR, at the item's own exchange rate."""
    if not reason.strip():
        raise InvalidInput("a write-off needs a reason")
    ent = lookups.entity(tx, entity)
    c = _customer(tx.conn, customer)
    open_minor, open_f = item_open(tx.conn, c.id, item_ref)
    if open_minor <= 0:
        raise Conflict(f"{item_ref} of {customer} has nothing open to write off")
    cur = tx.conn.execute(
        select(postings.c.currency)
        .where(postings.c.customer_id == c.id, postings.c.item_ref == item_ref)
        .limit(1)
    ).scalar_one()
    minor = Money.of(amount, cur).minor if amount is not None else open_minor
    if minor <= 0 or minor > open_minor:
        raise InvalidInput(
            f"write-off must be positive and at most the {Money.from_minor(open_minor, cur)} open"
        )
    fcur = ent.functional_currency
    functional = (
        open_f
        if minor == open_minor
        else Money.rounded(Money.from_minor(open_f, fcur).amount * minor / open_minor, fcur).minor
    )
    return _post_write(tx, ent, c, item_ref, cur, minor, functional, reason, on, "write_off")


def recover(
    tx: Tx,
    entity: str,
    customer: str,
    item_ref: str,
    amount: Decimal,
    reason: str,
    on: date | None = None,
) -> int:
    """Recover written-off debt: the item is reinstated (Dr AR / Cr bad-debt expense) so the
    cash that comes in is applied to it as usual."""
    ent = lookups.entity(tx, entity)
    c = _customer(tx.conn, customer)
    rows = tx.conn.execute(
        select(write_offs.c.kind, write_offs.c.amount_minor, write_offs.c.currency).where(
            write_offs.c.customer_id == c.id, write_offs.c.item_ref == item_ref
        )
    ).all()
    if not rows:
        raise NotFound(f"{item_ref} of {customer} was never written off")
    cur = rows[0].currency
    left = sum(r.amount_minor if r.kind == "write_off" else -r.amount_minor for r in rows)
    minor = Money.of(amount, cur).minor
    if minor <= 0 or minor > left:
        raise InvalidInput(
            f"recovery must be positive and at most the {Money.from_minor(left, cur)} written off"
        )
    inv_rate = tx.conn.execute(
        select(invoices.c.fx_rate).where(
            invoices.c.customer_id == c.id, invoices.c.number == item_ref
        )
    ).scalar()
    rate = Decimal(inv_rate) if inv_rate else Decimal(1)
    functional = Money.rounded(
        Money.from_minor(minor, cur).amount * rate, ent.functional_currency
    ).minor
    return _post_write(tx, ent, c, item_ref, cur, -minor, -functional, reason, on, "recovery")


def _post_write(
    tx: Tx,
    ent: Any,
    c: Any,
    item_ref: str,
    cur: str,
    minor: int,
    functional: int,
    reason: str,
    on: date | None,
    kind: str,
) -> int:
    ar = lookups.account_by_role(tx, "ar_control")[1]
    bad = lookups.account_by_role(tx, "bad_debt")[1]
    amount = Money.from_minor(minor, cur)
    f = Money.from_minor(functional, ent.functional_currency)
    day = on or tx.today
    word = "Write-off" if kind == "write_off" else "Recovery"
    entry = post_entry(
        tx,
        EntryDraft(
            ent.code,
            day,
            f"{word} {item_ref} {c.number}: {reason}"[:400],
            (
                PostingLine(bad, amount, f),
                PostingLine(ar, -amount, -f, c.number, "invoice", item_ref),
            ),
            source_type=kind,
            source_ref=item_ref,
        ),
    )
    wid = int(
        tx.conn.execute(
            insert(write_offs)
            .values(
                entity_id=ent.id,
                customer_id=c.id,
                item_ref=item_ref,
                kind=kind,
                currency=cur,
                amount_minor=abs(minor),
                reason=reason,
                entry_id=entry,
                written_on=day,
                created_at=tx.now,
                actor=tx.actor,
            )
            .returning(write_offs.c.id)
        ).scalar_one()
    )
    tx.audit(
        kind,
        "invoice",
        item_ref,
        after={"customer": c.number, "amount": str(abs(amount)), "reason": reason, "entry": entry},
    )
    return wid


# --- worklist --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorklistRow:
    customer: str
    name: str
    currency: str
    past_due: Decimal  # functional currency
    oldest_days: int
    avg_days_late: Decimal | None  # payment history: days after due, on average
    broken_promises: int
    open_disputes: int
    last_contact: date | None
    in_collections: bool
    on_hold: bool
    score: Decimal


def worklist(
    conn: Connection, as_of: date, entity: str | None = None, limit: int = 100
) -> list[WorklistRow]:
    """Customers with past-due balances, most urgent first.

    score = past-due amount in functional currency x (1 + oldest days past due / 30)
            x (1 + average days paid late / 30) x (2 if a promise was broken) : money that is
    large, old and owed by habitual late payers comes first.
    """
    from billfold.reports.aging import open_items_as_of

    ent = lookups.entity(conn, entity) if entity else None
    items = open_items_as_of(conn, as_of, ent.id if ent else None)
    due = func.coalesce(items.c.due_date, items.c.first_date)
    q = (
        select(
            items.c.customer_id,
            items.c.entity_id,
            func.sum(items.c.fopen).label("f"),
            func.min(due).label("oldest"),
        )
        .where(due < as_of)
        .group_by(items.c.customer_id, items.c.entity_id)
        .having(func.sum(items.c.fopen) > 0)
    )
    rows = conn.execute(q).all()
    if not rows:
        return []
    ids = [r.customer_id for r in rows]
    info: dict[int, Any] = {}
    disputes_open: dict[int, int] = {}
    contacts: dict[int, Any] = {}
    for chunk in in_chunks(ids):  # a worklist can name more customers than one statement takes
        info |= {c.id: c for c in conn.execute(select(customers).where(customers.c.id.in_(chunk)))}
        disputes_open |= dict(
            conn.execute(
                select(disputes.c.customer_id, func.count())
                .where(
                    disputes.c.customer_id.in_(chunk),
                    disputes.c.status.in_(("open", "in_review")),
                )
                .group_by(disputes.c.customer_id)
            ).all()
        )
        contacts |= dict(
            conn.execute(
                select(dunning_notices.c.customer_id, func.max(dunning_notices.c.created_at))
                .where(dunning_notices.c.customer_id.in_(chunk), dunning_notices.c.status == "sent")
                .group_by(dunning_notices.c.customer_id)
            ).all()
        )
    late = _days_late(conn, ids)
    broken: dict[str, int] = {}
    for p in promise_status(conn, as_of):
        if p.status == "broken":
            broken[p.customer] = broken.get(p.customer, 0) + 1
    result = []
    for r in rows:
        c = info[r.customer_id]
        ent_row = lookups.entity_by_id(conn, r.entity_id)
        past_due = Money.from_minor(int(r.f), ent_row.functional_currency).amount
        oldest = (as_of - r.oldest).days
        avg = late.get(r.customer_id)
        n_broken = broken.get(c.number, 0)
        score = (
            past_due
            * (1 + Decimal(oldest) / 30)
            * (1 + max(avg or Decimal(0), Decimal(0)) / 30)
            * (2 if n_broken else 1)
        )
        last = contacts.get(r.customer_id)
        result.append(
            WorklistRow(
                c.number,
                c.name,
                ent_row.functional_currency,
                past_due,
                oldest,
                avg,
                n_broken,
                int(disputes_open.get(r.customer_id, 0)),
                _as_date(last),
                bool(c.in_collections),
                bool(c.on_hold),
                score.quantize(Decimal("0.01")),
            )
        )
    result.sort(key=lambda w: (-w.score, w.customer))
    return result[:limit]


def _days_late(conn: Connection, customer_ids: list[int]) -> dict[int, Decimal]:
    """Average days after the due date at which each customer's invoices were paid."""
    acc: dict[int, list[int]] = {}
    for chunk in in_chunks(customer_ids):
        q = (
            select(
                cash_applications.c.customer_id,
                cash_applications.c.applied_on,
                invoices.c.due_date,
            )
            .join(
                invoices,
                and_(
                    invoices.c.number == cash_applications.c.item_ref,
                    invoices.c.customer_id == cash_applications.c.customer_id,
                ),
            )
            .where(
                cash_applications.c.customer_id.in_(chunk),
                cash_applications.c.kind == "invoice",
                cash_applications.c.amount_minor > 0,
            )
        )
        for cid, applied, due in conn.execute(q):
            acc.setdefault(cid, []).append((applied - due).days)
    return {cid: (Decimal(sum(v)) / len(v)).quantize(Decimal("0.1")) for cid, v in acc.items()}


def _as_date(value: Any) -> date | None:
    """A timestamp from the database (a string on SQLite) as a date."""
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") else None
