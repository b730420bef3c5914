"""Cash reports: the cash receipts journal, unapplied cash as of a date, and the collections
pipeline (the cash expected per ISO week).

A receipt's cash is *used* by applications to invoices, amounts kept on account and refunds paid
out of what was unapplied; discounts and write-offs at application use none. "Applied" and
"unapplied" are as of a date (the period end for the journal): the applications dated up to then.
A receipt returned by the bank (its entry reversed) on or before that date has neither.

The pipeline, per legal entity in its functional currency (at each item's invoice-date rate):

* open items (positive open amounts; credits on account are not netted) are expected in the ISO
  week of their due date; whatever is already past due counts in the first week, the week of
  the as-of date;
* an active payment plan (made by the as-of date) replaces the items it covers: its installments
  not yet paid (payments on the plan's items fill the installments in order) are expected in the
  weeks of their due dates, past ones in the first week; what the items hold beyond the plan
  counts in the first week;
* a promise to pay (the newest per item, or per customer and currency when it names no item;
  made by the as-of date) replaces what it covers: its amount not yet paid (what was open when
  it was made minus what is open now counts as paid) is expected in the week of the promised
  date (the first week once that has passed). A promise for a customer covers its items in
  due-date order. Items in a plan ignore promises.

Everything past the last week is reported as ``later``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, or_, select

from billfold.errors import InvalidInput
from billfold.money import Money
from billfold.reports.aging import open_items_as_of
from billfold.services import lookups
from billfold.services.lookups import EntityRow
from billfold.store.tables import (
    cash_applications,
    customers,
    journal_entries,
    legal_entities,
    payment_plans,
    plan_installments,
    promises,
    receipts,
)

RECEIPT_COLUMNS = (
    "entity",
    "receipt",
    "value_date",
    "bank_reference",
    "payer",
    "customer",
    "currency",
    "amount",
    "applied",
    "unapplied",
    "functional_currency",
    "functional_amount",
    "status",
)
UNAPPLIED_COLUMNS = (
    "entity",
    "receipt",
    "value_date",
    "days",
    "bank_reference",
    "payer",
    "customer",
    "currency",
    "amount",
    "unapplied",
)
PIPELINE_COLUMNS = ("entity", "week", "from", "to", "due", "promised", "planned", "total")


# --- what each receipt has used --------------------------------------------------------------


def _used_by(as_of: date) -> Any:
    """Subquery: per receipt, the cash its applications dated up to ``as_of`` used."""
    ca = cash_applications
    uses_cash = or_(
        ca.c.kind.in_(("invoice", "on_account")),
        and_(ca.c.kind == "refund", ca.c.item_ref.is_(None)),
    )
    return (
        select(
            ca.c.receipt_id,
            func.sum(case((uses_cash, ca.c.amount_minor), else_=0)).label("used"),
        )
        .where(ca.c.applied_on <= as_of)
        .group_by(ca.c.receipt_id)
        .subquery("used")
    )


def _returned_by(as_of: date) -> Any:
    return exists().where(
        journal_entries.c.reverses_id == receipts.c.entry_id,
        journal_entries.c.entry_date <= as_of,
    )


def _amount(minor: Any, currency: str) -> Decimal:
    return Money.from_minor(int(minor or 0), currency).amount


# --- the cash receipts journal ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """One receipt of the journal; ``applied``/``unapplied`` as of the period end."""

    entity: str
    receipt: int
    value_date: date
    bank_reference: str
    payer: str
    customer: str
    currency: str
    amount: Decimal
    applied: Decimal
    unapplied: Decimal
    functional_currency: str
    functional_amount: Decimal
    status: str

    def values(self) -> list[object]:
        return [getattr(self, c) for c in RECEIPT_COLUMNS]


def cash_receipts_journal(
    conn: Connection, start: date, end: date, entity: str | None = None
) -> list[ReceiptRow]:
    """Every receipt with a value date from ``start`` to ``end``, oldest first."""
    if end < start:
        raise InvalidInput(f"--from {start} is after --to {end}")
    used = _used_by(end)
    returned = _returned_by(end)
    q = (
        select(
            receipts,
            legal_entities.c.code.label("entity_code"),
            legal_entities.c.functional_currency,
            customers.c.number.label("customer_number"),
            case((returned, 0), else_=func.coalesce(used.c.used, 0)).label("used"),
            returned.label("returned"),
        )
        .join(legal_entities, legal_entities.c.id == receipts.c.entity_id)
        .outerjoin(customers, customers.c.id == receipts.c.customer_id)
        .outerjoin(used, used.c.receipt_id == receipts.c.id)
        .where(receipts.c.value_date >= start, receipts.c.value_date <= end)
        .order_by(legal_entities.c.code, receipts.c.value_date, receipts.c.id)
    )
    if entity:
        q = q.where(legal_entities.c.code == lookups.entity(conn, entity.upper()).code)
    rows = []
    for r in conn.execute(q):
        cur = r.currency
        left = 0 if r.returned else r.amount_minor - int(r.used)
        rows.append(
            ReceiptRow(
                r.entity_code,
                r.id,
                r.value_date,
                r.reference,
                r.payer_name or "",
                r.customer_number or "",
                cur,
                _amount(r.amount_minor, cur),
                _amount(r.used, cur),
                _amount(left, cur),
                r.functional_currency,
                _amount(r.functional_minor, r.functional_currency),
                "returned" if r.returned else r.status,
            )
        )
    return rows


def receipt_totals(rows: list[ReceiptRow]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """(amount, applied, unapplied) per currency."""
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for r in rows:
        t = acc[r.currency]
        t[0] += r.amount
        t[1] += r.applied
        t[2] += r.unapplied
    return {cur: (v[0], v[1], v[2]) for cur, v in sorted(acc.items())}


# --- unapplied cash --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnappliedCashRow:
    """A receipt with cash not yet used at the end of the as-of date; ``days`` since value."""

    entity: str
    receipt: int
    value_date: date
    days: int
    bank_reference: str
    payer: str
    customer: str
    currency: str
    amount: Decimal
    unapplied: Decimal

    def values(self) -> list[object]:
        return [getattr(self, c) for c in UNAPPLIED_COLUMNS]


def unapplied_cash(
    conn: Connection, as_of: date, entity: str | None = None
) -> list[UnappliedCashRow]:
    """Receipts received by ``as_of`` whose cash was not all used by then, oldest first."""
    used = _used_by(as_of)
    left = receipts.c.amount_minor - func.coalesce(used.c.used, 0)
    q = (
        select(
            receipts,
            legal_entities.c.code.label("entity_code"),
            customers.c.number.label("customer_number"),
            left.label("left"),
        )
        .join(legal_entities, legal_entities.c.id == receipts.c.entity_id)
        .outerjoin(customers, customers.c.id == receipts.c.customer_id)
        .outerjoin(used, used.c.receipt_id == receipts.c.id)
        .where(receipts.c.value_date <= as_of, left > 0, ~_returned_by(as_of))
        .order_by(legal_entities.c.code, receipts.c.value_date, receipts.c.id)
    )
    if entity:
        q = q.where(legal_entities.c.code == lookups.entity(conn, entity.upper()).code)
    return [
        UnappliedCashRow(
            r.entity_code,
            r.id,
            r.value_date,
            (as_of - r.value_date).days,
            r.reference,
            r.payer_name or "",
            r.customer_number or "",
            r.currency,
            _amount(r.amount_minor, r.currency),
            _amount(r.left, r.currency),
        )
        for r in conn.execute(q)
    ]


# --- the collections pipeline ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PipelineWeek:
    """Cash expected in one ISO week (``end`` None: everything after the horizon)."""

    week: str
    start: date
    end: date | None
    due: Decimal
    promised: Decimal
    planned: Decimal

    @property
    def total(self) -> Decimal:
        return self.due + self.promised + self.planned

    def values(self, entity: str) -> list[object]:
        return [
            entity,
            self.week,
            self.start,
            self.end or "",
            self.due,
            self.promised,
            self.planned,
            self.total,
        ]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The expected cash of one entity, per week from the week of ``as_of``, functional."""

    entity: str
    currency: str
    as_of: date
    weeks: list[PipelineWeek]
    later: PipelineWeek

    @property
    def total(self) -> Decimal:
        return sum((w.total for w in self.weeks), self.later.total)


def _scaled(total: int, part: int, whole: int) -> int:
    """``total x part / whole`` in whole minor units, half up."""
    if whole == 0:
        return 0
    return int((Decimal(total) * part / whole).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass
class _Item:
    customer_id: int
    ref: str
    currency: str
    open: int
    fopen: int
    due: date

    def functional(self, minor: int) -> int:
        """``minor`` of this item in functional minor units, at the item's own rate."""
        if minor == self.open:
            return self.fopen
        return _scaled(self.fopen, minor, self.open)


@dataclass
class _Schedule:
    """Expected functional minor units per week index and source (index == weeks: later)."""

    monday: date
    weeks: int
    cells: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))

    def index(self, day: date) -> int:
        return min(max((day - self.monday).days // 7, 0), self.weeks)

    def add(self, day: date, source: str, minor: int) -> None:
        self.cells[(self.index(day), source)] += minor


def collections_pipeline(
    conn: Connection, entity: str | EntityRow, as_of: date, weeks: int = 8
) -> Pipeline:
    """Cash expected per ISO week for ``weeks`` weeks from the week of ``as_of``."""
    if not 1 <= weeks <= 104:
        raise InvalidInput(f"--weeks {weeks}: expected 1 to 104")
    ent = entity if isinstance(entity, EntityRow) else lookups.entity(conn, entity.upper())
    schedule = _Schedule(as_of - timedelta(days=as_of.weekday()), weeks)
    items = open_items_as_of(conn, as_of, ent.id)
    due = func.coalesce(items.c.due_date, items.c.first_date)
    # every item by due date, bucketed in SQL; the covered ones are moved below
    bounds = [schedule.monday + timedelta(days=7 * k) for k in range(1, weeks + 1)]
    conds = [due < bounds[0]]
    conds += [and_(due >= bounds[k - 1], due < bounds[k]) for k in range(1, weeks)]
    conds.append(due >= bounds[-1])
    sums = conn.execute(
        select(*(func.sum(case((c, items.c.fopen), else_=0)) for c in conds)).where(
            items.c.open > 0
        )
    ).one()
    for k, total in enumerate(sums):
        schedule.cells[(k, "due")] += int(total or 0)
    _apply_plans_and_promises(conn, ent, as_of, items, due, schedule)
    fcur = ent.functional_currency

    def cell(k: int, source: str) -> Decimal:
        return _amount(schedule.cells.get((k, source), 0), fcur)

    rows = []
    for k in range(weeks + 1):
        start = schedule.monday + timedelta(days=7 * k)
        iso = start.isocalendar()
        rows.append(
            PipelineWeek(
                f"{iso.year}-W{iso.week:02d}" if k < weeks else "later",
                start,
                start + timedelta(days=6) if k < weeks else None,
                cell(k, "due"),
                cell(k, "promised"),
                cell(k, "planned"),
            )
        )
    return Pipeline(ent.code, fcur, as_of, rows[:-1], rows[-1])


def _made_by(column: Any, as_of: date) -> Any:
    return column < datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


def _apply_plans_and_promises(
    conn: Connection,
    ent: EntityRow,
    as_of: date,
    items: Any,
    due: Any,
    schedule: _Schedule,
) -> None:
    """Move the items covered by plans and promises from their due dates to the plans' and
    promises' dates. Only the customers that have one are read item by item."""
    plans = conn.execute(
        select(payment_plans)
        .where(payment_plans.c.status == "active", _made_by(payment_plans.c.created_at, as_of))
        .order_by(payment_plans.c.id)
    ).all()
    promised = conn.execute(
        select(promises)
        .where(_made_by(promises.c.created_at, as_of))
        .order_by(promises.c.id)  # the newest per item (or customer) wins below
    ).all()
    covered = sorted({p.customer_id for p in plans} | {p.customer_id for p in promised})
    if not covered:
        return
    open_items: dict[tuple[int, str], _Item] = {}
    balances: dict[tuple[int, str], int] = defaultdict(int)  # customer and currency: all items
    for r in conn.execute(
        select(items.c.customer_id, items.c.item_ref, items.c.currency, items.c.open)
        .add_columns(items.c.fopen, due.label("due"))
        .where(items.c.customer_id.in_(covered))
    ):
        balances[(r.customer_id, r.currency)] += int(r.open)
        if r.item_ref is not None:
            open_items[(r.customer_id, r.item_ref)] = _Item(
                r.customer_id, r.item_ref, r.currency, int(r.open), int(r.fopen), r.due
            )
    in_plan: set[tuple[int, str]] = set()
    for plan in reversed(plans):  # newest first: an item belongs to its newest plan
        refs = [(plan.customer_id, ref) for ref in json.loads(plan.items)]
        mine = [open_items[k] for k in refs if k in open_items and k not in in_plan]
        in_plan.update(refs)
        _replace_by_plan(conn, plan, [i for i in mine if i.open > 0], schedule)
    latest: dict[tuple[int, str | None, str], Any] = {}
    for p in promised:
        latest[(p.customer_id, p.item_ref, p.currency if p.item_ref is None else "")] = p
    taken: dict[tuple[int, str], int] = defaultdict(int)  # minor moved off each item so far
    for (cid, ref, _), p in sorted(latest.items(), key=lambda kv: kv[0][1] is None):
        if ref is not None:
            item = open_items.get((cid, ref))
            if item is None or (cid, ref) in in_plan or item.open <= 0:
                continue
            if item.currency != p.currency:
                continue
            left = _promise_left(p, item.open, item.open)
            _move(item, left, p.promised_date, "promised", schedule, taken)
            continue
        mine = sorted(
            (
                i
                for i in open_items.values()
                if i.customer_id == cid and i.currency == p.currency and (cid, i.ref) not in in_plan
            ),
            key=lambda i: (i.due, i.ref),
        )
        now = balances[(cid, p.currency)]
        free = sum(max(i.open - taken[(cid, i.ref)], 0) for i in mine if i.open > 0)
        left = _promise_left(p, now, free)
        for item in mine:
            if left <= 0:
                break
            part = min(max(item.open - taken[(cid, item.ref)], 0), left)
            if part > 0:
                _move(item, part, p.promised_date, "promised", schedule, taken)
                left -= part


def _promise_left(p: Any, now_open: int, cap: int) -> int:
    """What a promise still brings: its amount less what was paid since it was made."""
    paid = max(int(p.baseline_minor) - now_open, 0)
    return max(min(int(p.amount_minor) - paid, cap), 0)


def _move(
    item: _Item,
    minor: int,
    day: date,
    source: str,
    schedule: _Schedule,
    taken: dict[tuple[int, str], int],
) -> None:
    """Expect ``minor`` of ``item`` on ``day`` (from ``source``) instead of its due date."""
    before = taken[(item.customer_id, item.ref)]
    after = before + minor
    functional = item.functional(after) - item.functional(before)
    taken[(item.customer_id, item.ref)] = after
    schedule.add(item.due, "due", -functional)
    schedule.add(day, source, functional)


def _replace_by_plan(conn: Connection, plan: Any, mine: list[_Item], schedule: _Schedule) -> None:
    still_open = sum(i.open for i in mine)
    if still_open <= 0:
        return
    fopen = sum(i.fopen for i in mine)
    for i in mine:
        schedule.add(i.due, "due", -i.fopen)
    paid = max(int(plan.total_minor) - still_open, 0)
    expected = 0
    moved_f = 0
    for inst in conn.execute(
        select(plan_installments.c.due_date, plan_installments.c.amount_minor)
        .where(plan_installments.c.plan_id == plan.id)
        .order_by(plan_installments.c.seq)
    ):
        covered = min(paid, int(inst.amount_minor))
        paid -= covered
        part = min(int(inst.amount_minor) - covered, still_open - expected)
        if part <= 0:
            continue
        expected += part
        functional = _scaled(fopen, expected, still_open) - moved_f
        moved_f += functional
        schedule.add(inst.due_date, "planned", functional)
    if moved_f != fopen:  # the items hold more than the plan's installments left: past due
        schedule.add(schedule.monday, "due", fopen - moved_f)
