"""Aging of receivables as of any date, rebuilt from the ledger's history.

An open item is an (entity, customer, item) whose AR postings dated up to the as-of date do not
sum to zero; what was open on a past date is therefore exactly what the ledger said then.
Days past due = as-of date minus due date; an item due on the as-of date is current. With the
default buckets ``0,30,60,90`` the columns are current, 1-30, 31-60, 61-90 and 91+.

The work happens in SQL (one grouped scan of the AR postings, then a grouped bucket sum with
date comparisons that need no per-row date arithmetic), so it stays fast over millions of rows.
Every report carries the check against the GL: the aging total in functional currency per
entity, the AR control balance at the same date, and their difference (which must be zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from billfold.errors import InvalidInput
from billfold.money import Money
from billfold.services import lookups
from billfold.store.tables import customers, invoices, legal_entities, postings

DEFAULT_BUCKETS = (0, 30, 60, 90)


def parse_buckets(text: str | None) -> tuple[int, ...]:
    """``"0,30,60,90"`` -> (0, 30, 60, 90); the first must be 0, then strictly increasing."""
    if not text:
        return DEFAULT_BUCKETS
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput(f"buckets {text!r}: expected whole days like 0,30,60,90") from None
    if values[0] != 0 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise InvalidInput(f"buckets {text!r}: start at 0 and increase (e.g. 0,30,60,90)")
    return values


def bucket_labels(buckets: tuple[int, ...]) -> list[str]:
    labels = ["current"]
    for lo, hi in zip(buckets, buckets[1:], strict=False):
        labels.append(f"{lo + 1}-{hi}")
    labels.append(f"{buckets[-1] + 1}+")
    return labels


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One line of the report: a group (customer, entity or currency) in one currency."""

    key: str
    name: str
    entity: str
    currency: str
    buckets: tuple[Decimal, ...]  # transaction currency, one per label
    total: Decimal
    functional_currency: str
    functional_total: Decimal
    items: int


@dataclass(frozen=True, slots=True)
class GlCheck:
    entity: str
    currency: str
    aging_total: Decimal
    gl_balance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.aging_total - self.gl_balance


@dataclass
class AgingReport:
    as_of: date
    basis: str
    by: str
    labels: list[str]
    rows: list[AgingRow] = field(default_factory=list)
    checks: list[GlCheck] = field(default_factory=list)

    def totals(self) -> dict[str, tuple[Decimal, ...]]:
        """Bucket totals per currency (transaction currency)."""
        acc: dict[str, list[Decimal]] = {}
        for r in self.rows:
            t = acc.setdefault(r.currency, [Decimal(0)] * (len(self.labels) + 1))
            for i, v in enumerate((*r.buckets, r.total)):
                t[i] += v
        return {k: tuple(v) for k, v in sorted(acc.items())}

    @property
    def reconciled(self) -> bool:
        return all(c.difference == 0 for c in self.checks)


def _open_items(conn: Connection, as_of: date, entity_id: int | None) -> Any:
    """Subquery: every item open at the end of ``as_of``, with its amounts (minor units)."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    amount, functional = func.sum(postings.c.amount_minor), func.sum(postings.c.functional_minor)
    q = (
        select(
            postings.c.entity_id,
            postings.c.customer_id,
            postings.c.item_ref,
            postings.c.currency,
            amount.label("open"),
            functional.label("fopen"),
            func.min(postings.c.entry_date).label("first_date"),
        )
        .where(postings.c.account_id == ar_id, postings.c.entry_date <= as_of)
        .group_by(
            postings.c.entity_id, postings.c.customer_id, postings.c.item_ref, postings.c.currency
        )
        .having(or_(amount != 0, functional != 0))
    )
    if entity_id is not None:
        q = q.where(postings.c.entity_id == entity_id)
    return q.subquery("open_items")


def aging_as_of(
    conn: Connection,
    as_of: date,
    *,
    by: str = "customer",
    basis: str = "due",
    buckets: tuple[int, ...] = DEFAULT_BUCKETS,
    entity: str | None = None,
    today: date | None = None,
) -> AgingReport:
    """The aged open items as of the end of ``as_of``."""
    if today is not None and as_of > today:
        raise InvalidInput(f"as-of date {as_of} is in the future (today is {today})")
    if by not in ("customer", "entity", "currency"):
        raise InvalidInput(f"--by {by!r}: expected customer, entity or currency")
    if basis not in ("due", "invoice"):
        raise InvalidInput(f"--basis {basis!r}: expected due or invoice")
    ent = lookups.entity(conn, entity) if entity else None
    items = _open_items(conn, as_of, ent.id if ent else None)
    # items without an invoice row (on-account credits, manual AR) age from their first posting
    ref_date = invoices.c.due_date if basis == "due" else invoices.c.issue_date
    day = func.coalesce(ref_date, items.c.first_date)
    labels = bucket_labels(buckets)
    # Days past due d = as_of - day, compared as dates (portable, index-friendly):
    # current: d <= 0; bucket (lo, hi]: as_of - hi <= day < as_of - lo; last: d > last edge.
    edges = [as_of - timedelta(days=b) for b in buckets]
    conds = [day >= as_of]
    conds += [and_(day < edges[k - 1], day >= edges[k]) for k in range(1, len(buckets))]
    conds.append(day < edges[-1])
    bucket_cols = [
        func.sum(case((c, items.c.open), else_=0)).label(f"b{i}") for i, c in enumerate(conds)
    ]
    group_cols: list[Any]
    if by == "customer":
        group_cols = [customers.c.number, customers.c.name]
    elif by == "entity":
        group_cols = [legal_entities.c.code, legal_entities.c.name]
    else:
        group_cols = [items.c.currency, literal("")]
    q = (
        select(
            *group_cols,
            legal_entities.c.code.label("entity_code"),
            legal_entities.c.functional_currency,
            items.c.currency.label("cur"),
            *bucket_cols,
            func.sum(items.c.open).label("total"),
            func.sum(items.c.fopen).label("ftotal"),
            func.count().label("n"),
        )
        .select_from(items)
        .join(customers, customers.c.id == items.c.customer_id)
        .join(legal_entities, legal_entities.c.id == items.c.entity_id)
        .outerjoin(
            invoices,
            and_(invoices.c.entity_id == items.c.entity_id, invoices.c.number == items.c.item_ref),
        )
        .group_by(
            *group_cols,
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            items.c.currency,
        )
        .order_by(*group_cols[:1], items.c.currency)
    )
    report = AgingReport(as_of, basis, by, labels)
    for r in conn.execute(q):
        cur, fcur = r.cur, r.functional_currency

        def amt(minor: Any, currency: str) -> Decimal:
            return Money.from_minor(int(minor or 0), currency).amount

        report.rows.append(
            AgingRow(
                str(r[0]),
                str(r[1] or ""),
                r.entity_code,
                cur,
                tuple(amt(getattr(r, f"b{i}"), cur) for i in range(len(labels))),
                amt(r.total, cur),
                fcur,
                amt(r.ftotal, fcur),
                int(r.n),
            )
        )
    report.checks = _gl_checks(conn, as_of, report, ent.code if ent else None)
    return report


def _gl_checks(
    conn: Connection, as_of: date, report: AgingReport, entity: str | None
) -> list[GlCheck]:
    from billfold.services.ledger import gl_control_balance

    gl = gl_control_balance(conn, as_of, entity)
    aged: dict[str, Decimal] = {}
    currencies: dict[str, str] = {}
    for r in report.rows:
        aged[r.entity] = aged.get(r.entity, Decimal(0)) + r.functional_total
        currencies[r.entity] = r.functional_currency
    checks = []
    for code in sorted(set(aged) | set(gl)):
        money = gl.get(code)
        cur = money.currency if money else currencies[code]
        checks.append(
            GlCheck(
                code,
                cur,
                aged.get(code, Money.zero(cur).amount),
                money.amount if money else Money.zero(cur).amount,
            )
        )
    return checks
