"""Aging of receivables as of any date, rebuilt from the ledger's history.

An open item is an (entity, customer, item) whose AR postings dated up to the as-of date do not
sum to zero; what was open on a past date is therefore exactly what the ledger said then.
Days past due = as-of date minus due date; an item due on the as-of date is current. With the
default buckets ``0,30,60,90`` the columns are current, 1-30, 31-60, 61-90 and 91+.

The work happens in SQL over the balances the database keeps per item (``ar_items``: as of
today read as they are, as of a past date less what was posted after it), then a grouped bucket
sum with date comparisons that need no per-row date arithmetic. Every report carries the check
against the GL: the aging total in functional currency per entity, the AR control balance at the
same date (from ``ar_daily``), and their difference (which must be zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from billfold.errors import InvalidInput
from billfold.money import Currency, Money
from billfold.services import lookups
from billfold.store.tables import ar_daily, ar_items, customers, legal_entities, postings

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


def open_items_as_of(conn: Connection, as_of: date, entity_id: int | None) -> Any:
    """Subquery: every item open at the end of ``as_of``, with its amounts (minor units) and
    its aging dates.

    ``ar_items`` holds today's balance of every item (kept by the database on each posting).
    When nothing has been posted to AR after ``as_of`` those balances are the answer; otherwise
    each item's balance then is its balance now minus what was posted to it after ``as_of``.
    """
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    later = conn.execute(
        select(postings.c.id)
        .where(postings.c.account_id == ar_id, postings.c.entry_date > as_of)
        .limit(1)
    ).first()
    it = ar_items.c
    cols = (it.entity_id, it.customer_id, it.currency, it.item_ref)
    dates = (it.doc_date, it.due_date, it.first_date)
    if later is None:
        open_: ColumnElement[Any] = it.open_minor
        fopen: ColumnElement[Any] = it.fopen_minor
        q = select(*cols, *dates)
    else:
        p = postings.c
        ref = func.coalesce(p.item_ref, "")
        after = (
            select(
                p.entity_id,
                p.customer_id,
                p.currency,
                ref.label("item_ref"),
                func.sum(p.amount_minor).label("amount"),
                func.sum(p.functional_minor).label("functional"),
            )
            .where(p.account_id == ar_id, p.entry_date > as_of, p.customer_id.is_not(None))
            .group_by(p.entity_id, p.customer_id, p.currency, ref)
            .subquery("after")
        )
        open_ = it.open_minor - func.coalesce(after.c.amount, 0)
        fopen = it.fopen_minor - func.coalesce(after.c.functional, 0)
        q = (
            select(*cols, *dates)
            .select_from(
                ar_items.outerjoin(
                    after,
                    and_(
                        after.c.entity_id == it.entity_id,
                        after.c.customer_id == it.customer_id,
                        after.c.currency == it.currency,
                        after.c.item_ref == it.item_ref,
                    ),
                )
            )
            .where(it.first_date <= as_of)
        )
    q = q.add_columns(open_.label("open"), fopen.label("fopen")).where(or_(open_ != 0, fopen != 0))
    if entity_id is not None:
        q = q.where(it.entity_id == entity_id)
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
    items = open_items_as_of(conn, as_of, ent.id if ent else None)
    # items without an invoice (on-account credits, manual AR) age from their first posting
    day = func.coalesce(
        items.c.due_date if basis == "due" else items.c.doc_date, items.c.first_date
    )
    labels = bucket_labels(buckets)
    # Days past due d = as_of - day, compared as dates (portable, index-friendly):
    # current: d <= 0; bucket (lo, hi]: as_of - hi <= day < as_of - lo; last: d > last edge.
    edges = [as_of - timedelta(days=b) for b in buckets]
    conds = [day >= as_of]
    conds += [and_(day < edges[k - 1], day >= edges[k]) for k in range(1, len(buckets))]
    conds.append(day < edges[-1])
    # Sum per (entity, customer, currency) first; names are joined to those few rows after.
    keys = [items.c.entity_id, items.c.currency]
    if by == "customer":
        keys.insert(1, items.c.customer_id)
    sums = (
        select(
            *keys,
            *[
                func.sum(case((c, items.c.open), else_=0)).label(f"b{i}")
                for i, c in enumerate(conds)
            ],
            func.sum(items.c.open).label("total"),
            func.sum(items.c.fopen).label("ftotal"),
            func.count().label("n"),
        )
        .group_by(*keys)
        .subquery("sums")
    )
    group_cols: list[Any]
    if by == "customer":
        group_cols = [customers.c.number, customers.c.name]
    elif by == "entity":
        group_cols = [legal_entities.c.code, legal_entities.c.name]
    else:
        group_cols = [sums.c.currency, literal("")]
    q = select(
        *group_cols,
        legal_entities.c.code,
        legal_entities.c.functional_currency,
        sums.c.currency,
        sums.c.total,
        sums.c.ftotal,
        sums.c.n,
        *[sums.c[f"b{i}"] for i in range(len(labels))],
    ).join_from(sums, legal_entities, legal_entities.c.id == sums.c.entity_id)
    if by == "customer":
        q = q.join(customers, customers.c.id == sums.c.customer_id)
    q = q.order_by(group_cols[0], sums.c.currency, legal_entities.c.code)
    report = AgingReport(as_of, basis, by, labels)
    for key, name, code, fcur, cur, total, ftotal, n, *minors in conn.execute(q).all():
        report.rows.append(
            AgingRow(
                str(key),
                str(name or ""),
                code,
                cur,
                tuple(_amount(m, cur) for m in minors),
                _amount(total, cur),
                fcur,
                _amount(ftotal, fcur),
                int(n),
            )
        )
    report.checks = _gl_checks(conn, as_of, report, ent.code if ent else None)
    return report


def _amount(minor: Any, currency: str) -> Decimal:
    """Minor units from SQL (int, or Decimal for PostgreSQL's SUM) as the currency's amount."""
    return Decimal(int(minor or 0)).scaleb(-Currency.of(currency).exponent)


def _gl_checks(
    conn: Connection, as_of: date, report: AgingReport, entity: str | None
) -> list[GlCheck]:
    gl = _ar_control_by_day(conn, as_of, entity)
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


def _ar_control_by_day(
    conn: Connection, as_of: date, entity: str | None = None
) -> dict[str, Money]:
    """The AR control account's balance per entity at the end of ``as_of``, from its daily
    movements (``ar_daily``, which the database adds every AR posting to; ``billfold audit
    verify`` checks it against the postings)."""
    le = legal_entities.c
    q = (
        select(le.code, le.functional_currency, func.sum(ar_daily.c.functional_minor))
        .join_from(ar_daily, legal_entities, le.id == ar_daily.c.entity_id)
        .where(ar_daily.c.day <= as_of)
        .group_by(le.code, le.functional_currency)
    )
    if entity:
        q = q.where(le.code == entity)
    return {code: Money.from_minor(int(total), cur) for code, cur, total in conn.execute(q)}
