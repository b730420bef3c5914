"""Aging of receivables as of any date, rebuilt from the ledger's history.

An open item is an (entity, customer, item) whose AR postings dated up to the as-of date do not
sum to zero; what was open on a past date is therefore exactly what the ledger said then.
Days past due = as-of date minus due date; an item due on the as-of date is current. With the
default buckets ``0,30,60,90`` the columns are current, 1-30, 31-60, 61-90 and 91+.

The work happens in SQL over the balances the database keeps (``store.ar_balances``), with date
comparisons that need no per-row date arithmetic. On the due-date basis (the default) the totals
and the counts of open items come from the balances kept per customer and currency
(``ar_customer_balances``), and only the items due on or after the last bucket edge are read, in
due-date order (``ix_ar_items_open_due``): an older item is wholly in the last bucket, which is
the total less the younger ones. As of a past date each sum is today's less what was posted
after that date. On the invoice-date basis every open item is read (``ar_items``: as of today as
they are, as of a past date less what was posted after it). Every report carries the check
against the GL: the aging total in functional currency per entity, the AR control balance at the
same date (from ``ar_daily``), and their difference (which must be zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)

from billfold.errors import InvalidInput
from billfold.money import Currency, Money
from billfold.services import lookups
from billfold.store.ar_balances import is_open
from billfold.store.db import for_large_scan
from billfold.store.tables import (
    ar_customer_balances,
    ar_daily,
    ar_items,
    customers,
    legal_entities,
    postings,
)

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


class AgingRow(NamedTuple):
    """One line of the report: a group (customer, entity or currency) in one currency. (A named
    tuple: a report has a row per customer, and a frozen dataclass took longer to build than the
    database took to sum the row.)"""

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
    its aging dates (see :func:`open_item_parts`)."""
    parts = open_item_parts(conn, as_of, entity_id)
    q = parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])
    return q.subquery("open_items")


def open_item_parts(conn: Connection, as_of: date, entity_id: int | None) -> list[Select[Any]]:
    """The items open at the end of ``as_of`` as one or two selects of the same columns
    (``entity_id, customer_id, currency, item_ref, doc_date, due_date, first_date, open,
    fopen``), whose rows together are every open item once.

    ``ar_items`` holds today's balance of every item (kept by the database on each posting)
    and the date it last changed. An item that has not changed since ``as_of`` had its present
    balance then; only the items posted to after ``as_of`` need their later postings taken off.
    The two sets are read separately, so the cost of a past date is one pass over the balances
    (in key order, so sums per customer stream without a sort) plus the postings made after it,
    never a join of every item against them.
    """
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    it = ar_items.c
    cols = (it.entity_id, it.customer_id, it.currency, it.item_ref)
    dates = (it.doc_date, it.due_date, it.first_date)
    open_now = it.open_minor.label("open")
    fopen_now = it.fopen_minor.label("fopen")
    nonzero = is_open()  # the condition of the partial index over the open items
    if not _posted_to_since(conn, ar_id, as_of):
        q = select(*cols, *dates, open_now, fopen_now).where(nonzero)
        if entity_id is not None:
            q = q.where(it.entity_id == entity_id)
        return [q]
    untouched = select(*cols, *dates, open_now, fopen_now).where(it.last_date <= as_of, nonzero)
    if entity_id is not None:
        untouched = untouched.where(it.entity_id == entity_id)
    after = _posted_after(ar_id, as_of, entity_id)
    open_then = it.open_minor - after.c.amount
    fopen_then = it.fopen_minor - after.c.functional
    touched = (
        select(*cols, *dates, open_then.label("open"), fopen_then.label("fopen"))
        .select_from(_with_items(after))
        # last_date > as_of is implied by the join (only those items have later postings);
        # said outright, it lets PostgreSQL filter the balances before joining them
        .where(
            it.first_date <= as_of,
            it.last_date > as_of,
            or_(open_then != 0, fopen_then != 0),
        )
    )
    return [untouched, touched]


def _posted_to_since(conn: Connection, ar_id: int, as_of: date) -> bool:
    """Whether anything was posted to AR control after ``as_of``."""
    later = conn.execute(
        select(postings.c.id)
        .where(postings.c.account_id == ar_id, postings.c.entry_date > as_of)
        .limit(1)
    ).first()
    return later is not None


def _posted_after(ar_id: int, as_of: date, entity_id: int | None) -> Any:
    """CTE: per item (entity, customer, currency, item_ref), the sum of its AR postings dated
    after ``as_of`` (``amount``, ``functional``)."""
    p = postings.c
    ref = func.coalesce(p.item_ref, "")
    q = (
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
    )
    if entity_id is not None:
        q = q.where(p.entity_id == entity_id)
    # grouped once: as a plain subquery PostgreSQL's parallel workers each regrouped it
    return q.cte("after").prefix_with("MATERIALIZED")


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
    for_large_scan(conn)
    labels = bucket_labels(buckets)
    # Days past due d = as_of - day. Each edge e_k = as_of - buckets[k] is compared once per
    # item as a date (portable, no per-row date arithmetic): c_k sums what is older than e_k,
    # and the columns are the differences -- current = total - c_0 (d <= 0), bucket k =
    # c_(k-1) - c_k (buckets[k-1] < d <= buckets[k]), the last = c_last (d > last edge).
    # One comparison per edge instead of two per bucket: the scan is a third faster.
    edges = [as_of - timedelta(days=b) for b in buckets]
    key_names = ["entity_id", "currency"]
    if by == "customer":
        key_names.insert(1, "customer_id")
    entity_id = ent.id if ent else None
    if basis == "due":
        sums = _sums_from_balances(conn, as_of, edges, key_names, entity_id)
    else:
        sums = _sums_from_items(conn, as_of, edges, key_names, entity_id, basis)
    group_cols: list[Any]
    if by == "customer":
        group_cols = [customers.c.number, customers.c.name]
    elif by == "entity":
        group_cols = [legal_entities.c.code, legal_entities.c.name]
    else:
        group_cols = [sums.c.currency, literal("")]
    # the columns straight from the sums: total - c0 is current, c(k-1) - ck the buckets between,
    # c_last the last one
    cum = [sums.c.total, *[sums.c[f"c{k}"] for k in range(len(edges))]]
    columns = [cum[k] - cum[k + 1] for k in range(len(edges))] + [cum[-1]]
    q = select(
        *group_cols,
        legal_entities.c.code,
        legal_entities.c.functional_currency,
        sums.c.currency,
        sums.c.total,
        sums.c.ftotal,
        sums.c.n,
        *columns,
    ).join_from(sums, legal_entities, legal_entities.c.id == sums.c.entity_id)
    if by == "customer":
        q = q.join(customers, customers.c.id == sums.c.customer_id)
    q = q.order_by(group_cols[0], sums.c.currency, legal_entities.c.code)
    report = AgingReport(as_of, basis, by, labels)
    # minor units -> Decimal by one exact multiplication (123456 * 0.01 = 1234.56, digits far
    # below the context's 28); the unit of each currency is looked up once per report
    units: dict[str, Decimal] = {}
    rows = report.rows
    for key, name, code, fcur, cur, total, ftotal, n, *amounts in conn.execute(q).all():
        unit = units.get(cur)
        if unit is None:
            unit = units[cur] = Decimal(1).scaleb(-Currency.of(cur).exponent)
        funit = units.get(fcur)
        if funit is None:
            funit = units[fcur] = Decimal(1).scaleb(-Currency.of(fcur).exponent)
        rows.append(
            AgingRow(
                str(key),
                name or "",
                code,
                cur,
                tuple([Decimal(v) * unit for v in amounts]),
                Decimal(total) * unit,
                fcur,
                Decimal(ftotal) * funit,
                n,
            )
        )
    report.checks = _gl_checks(conn, as_of, report, ent.code if ent else None)
    return report


def _sums_from_items(
    conn: Connection,
    as_of: date,
    edges: list[date],
    key_names: list[str],
    entity_id: int | None,
    basis: str,
) -> Any:
    """Subquery of the sums per key (``c0..``, ``total``, ``ftotal``, ``n``) over every open
    item (:func:`open_item_parts`): each part summed per key, the untouched balances streaming in
    key order, then the parts added up."""
    columns = [f"c{k}" for k in range(len(edges))] + ["total", "ftotal", "n"]
    partial = []
    for part in open_item_parts(conn, as_of, entity_id):
        items = part.subquery()
        # items without an invoice (on-account credits, manual AR) age from their first posting
        day = func.coalesce(
            items.c.due_date if basis == "due" else items.c.doc_date, items.c.first_date
        )
        keys = [items.c[k] for k in key_names]
        partial.append(
            select(
                *keys,
                *[
                    cast(func.sum(case((day < edge, items.c.open), else_=0)), BigInteger).label(
                        f"c{k}"
                    )
                    for k, edge in enumerate(edges)
                ],
                cast(func.sum(items.c.open), BigInteger).label("total"),
                cast(func.sum(items.c.fopen), BigInteger).label("ftotal"),
                func.count().label("n"),
            ).group_by(*keys)
        )
    if len(partial) == 1:
        return partial[0].subquery("sums")
    parts = partial[0].union_all(*partial[1:]).subquery("parts")
    return (
        select(
            *[parts.c[k] for k in key_names],
            *[cast(func.sum(parts.c[c]), BigInteger).label(c) for c in columns],
        )
        .group_by(*[parts.c[k] for k in key_names])
        .subquery("sums")
    )


def _sums_from_balances(
    conn: Connection, as_of: date, edges: list[date], key_names: list[str], entity_id: int | None
) -> Any:
    """The sums of :func:`_sums_from_items` on the due-date basis, without reading every open
    item: the totals and the counts of open items per customer are kept
    (``ar_customer_balances``), and c_k = total - (what is due on or after e_k). Only the items
    due on or after the last edge -- the ones not wholly in the last bucket -- are read, off
    ``ix_ar_items_open_due``.

    As of a past date every sum is today's less what was posted after it, which is linear: the
    items posted to since then (``_posted_after``) take their later postings off the totals and
    off the edges their due date passes, and the count moves by the items that were open then
    less those open now. The parts are summed per key each, then joined to the kept row of their
    key (every key with an item has one): no second grouping of the parts."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    past = _posted_to_since(conn, ar_id, as_of)
    cb, it = ar_customer_balances.c, ar_items.c
    n_edges = len(edges)
    if key_names == ["entity_id", "customer_id", "currency"]:  # the kept rows' own key
        kept_q = select(
            *[cb[k] for k in key_names],
            cb.open_minor.label("total"),
            cb.fopen_minor.label("ftotal"),
            cb.open_items.label("n"),
        )
    else:
        kept_q = select(
            *[cb[k] for k in key_names],
            func.sum(cb.open_minor).label("total"),
            func.sum(cb.fopen_minor).label("ftotal"),
            func.sum(cb.open_items).label("n"),
        ).group_by(*[cb[k] for k in key_names])
    if not past:  # customers with no open item today have nothing to show
        kept_q = kept_q.where(cb.open_items != literal_column("0"))
    if entity_id is not None:
        kept_q = kept_q.where(cb.entity_id == entity_id)
    kept = kept_q.subquery("kept")
    # items without an invoice (on-account credits, manual AR) age from their first posting
    age = func.coalesce(it.due_date, it.first_date)
    keys = [it[k] for k in key_names]
    joined: Any = kept
    total: Any = kept.c.total
    ftotal: Any = kept.c.ftotal
    n: Any = kept.c.n
    younger: list[Any] = [literal_column("0")] * n_edges  # what is due on or after e_k
    # the young items off ix_ar_items_open_due: those due on or after the last edge, and those
    # without a due date first posted on or after it
    young_only = (
        _rare(conn, it.due_date >= edges[-1]),
        and_(it.due_date.is_(None), it.first_date >= edges[-1]),
    )
    for j, only in enumerate(young_only):
        q = select(
            *keys,
            *[func.sum(it.open_minor).filter(age >= e).label(f"r{k}") for k, e in enumerate(edges)],
        ).where(is_open(), only)
        if entity_id is not None:
            q = q.where(it.entity_id == entity_id)
        young = q.group_by(*keys).subquery(f"young{j}")
        joined = joined.outerjoin(young, _same_key(kept, young, key_names))
        younger = [y + func.coalesce(young.c[f"r{k}"], 0) for k, y in enumerate(younger)]
    if past:
        after = _posted_after(ar_id, as_of, entity_id)
        open_now = case((or_(it.open_minor != 0, it.fopen_minor != 0), 1), else_=0)
        then_open = or_(it.open_minor != after.c.amount, it.fopen_minor != after.c.functional)
        open_then = case((then_open, 1), else_=0)
        since = (
            select(
                *keys,
                *[
                    func.sum(after.c.amount).filter(age >= e).label(f"r{k}")
                    for k, e in enumerate(edges)
                ],
                func.sum(after.c.amount).label("total"),
                func.sum(after.c.functional).label("ftotal"),
                func.sum(open_then - open_now).label("n"),
            )
            .select_from(_with_items(after))
            # implied by the join (only those items have later postings); said outright, it
            # lets PostgreSQL filter the balances before joining them instead of hashing all
            .where(it.last_date > as_of)
            .group_by(*keys)
            .subquery("since")
        )
        joined = joined.outerjoin(since, _same_key(kept, since, key_names))
        total = total - func.coalesce(since.c.total, 0)
        ftotal = ftotal - func.coalesce(since.c.ftotal, 0)
        n = n + func.coalesce(since.c.n, 0)
        younger = [y - func.coalesce(since.c[f"r{k}"], 0) for k, y in enumerate(younger)]
    return (
        select(
            *[kept.c[k] for k in key_names],
            *[cast(total - y, BigInteger).label(f"c{k}") for k, y in enumerate(younger)],
            cast(total, BigInteger).label("total"),
            cast(ftotal, BigInteger).label("ftotal"),
            cast(n, BigInteger).label("n"),
        )
        .select_from(joined)
        .where(n != literal_column("0"))
        .subquery("sums")
    )


def _rare(conn: Connection, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition``, told to SQLite's planner to hold for few rows. Without ``ANALYZE`` it
    guesses a range over ``ix_ar_items_open_due`` to be worth less than the covering scan of
    every open item in key order (no sort for the grouping), and scans a million items to keep
    a few hundred thousand; ``likelihood`` changes only that guess, not the result."""
    if conn.dialect.name != "sqlite":
        return condition
    return func.likelihood(condition, literal_column("0.01"))


def _with_items(after: Any) -> Any:
    """The later postings per item (``_posted_after``) joined to the item's kept balance."""
    it = ar_items.c
    return after.join(
        ar_items,
        and_(
            it.entity_id == after.c.entity_id,
            it.customer_id == after.c.customer_id,
            it.currency == after.c.currency,
            it.item_ref == after.c.item_ref,
        ),
    )


def _same_key(a: Any, b: Any, key_names: list[str]) -> Any:
    return and_(*[a.c[k] == b.c[k] for k in key_names])


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
