"""Deferred revenue: lines billed in advance are credited to deferred revenue when issued and
recognised month by month over their service period.

``schedule_deferred`` writes the schedule when a document is issued. A credit note on such a
line is split by the line's own schedule: the months served before the credit's month come off
revenue at once (``invoicing`` posts them so), and the months still to serve come off deferred
revenue and are scheduled negatively, so that they net to nothing when recognised and deferred
revenue never shows a debit balance. ``recognize`` posts, for a
period, Dr deferred revenue / Cr revenue for every scheduled month up to it that is not yet
recognised (a late run catches up), one entry per legal entity.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from billfold.billing.revenue import recognition_schedule, served_and_unserved
from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.errors import InvalidInput
from billfold.money import Money, Rounding, allocate
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.services.ledger import post_entries
from billfold.store.bulk import bulk_insert, bulk_update, values_in
from billfold.store.tables import invoice_lines, invoices, legal_entities, revenue_schedules


def schedule_deferred(tx: Tx, invoice_ids: list[int]) -> int:
    """Revenue schedules for the deferred lines of freshly issued documents."""
    q = (
        select(
            invoice_lines.c.invoice_id,
            invoice_lines.c.line_no,
            invoice_lines.c.net_minor,
            invoice_lines.c.revenue_account,
            invoice_lines.c.period_start,
            invoice_lines.c.period_end,
            invoices.c.entity_id,
            invoices.c.doc_type,
            invoices.c.issue_date,
            invoices.c.currency,
            invoices.c.functional_currency,
            invoices.c.fx_rate,
            invoices.c.rounding,
        )
        .join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
        .where(
            values_in(tx.conn, invoice_lines.c.invoice_id, invoice_ids), invoice_lines.c.deferred
        )
    )
    rows = []
    for ln in tx.conn.execute(q):
        start = ln.period_start or ln.issue_date
        end = ln.period_end or start
        amount = Money.from_minor(ln.net_minor, ln.currency)
        if amount.is_zero():
            continue
        if ln.doc_type == "credit_note":
            # the months already served came off revenue when the credit was posted; the
            # months still to serve came off deferred revenue and are scheduled negatively
            _, rest = served_and_unserved(amount, start, end, ln.issue_date)
            months = [(period, -part) for period, part in rest]
            if not months:
                continue
            amount = sum((part for _, part in months), Money.zero(ln.currency))
        else:
            months = recognition_schedule(amount, start, end)
        functional = Money.rounded(
            amount.amount * Decimal(ln.fx_rate), ln.functional_currency, Rounding(ln.rounding)
        )
        f_parts = (
            allocate(functional, [abs(p.minor) or 1 for _, p in months])
            if functional.minor
            else [Money.zero(ln.functional_currency)] * len(months)
        )
        for (period, part), f_part in zip(months, f_parts, strict=True):
            rows.append(
                {
                    "entity_id": ln.entity_id,
                    "invoice_id": ln.invoice_id,
                    "line_no": ln.line_no,
                    "period": period,
                    "revenue_account": ln.revenue_account,
                    "currency": ln.currency,
                    "amount_minor": part.minor,
                    "functional_minor": f_part.minor,
                    "entry_id": None,
                }
            )
    bulk_insert(tx.conn, revenue_schedules, rows)
    return len(rows)


@dataclass(frozen=True, slots=True)
class Recognition:
    entity: str
    period: str
    entry_id: int | None
    lines: list[tuple[str, str, Decimal, Decimal]]  # account, currency, amount, functional


def _last_day(period: str) -> date:
    try:
        year, month = (int(x) for x in period.split("-"))
        return date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        raise InvalidInput(f"period {period!r} is not a month in the form YYYY-MM") from None


def recognize(tx: Tx, period: str, entity: str | None = None) -> list[Recognition]:
    """Post the revenue of ``period`` (and of any earlier month not yet recognised)."""
    day = _last_day(period)
    # a month's share is recognised once its invoice exists: service billed later (a catch-up
    # run) is recognised in the period the invoice is issued in, with all that is due by then
    q = (
        select(revenue_schedules, legal_entities.c.code, legal_entities.c.functional_currency)
        .join(legal_entities, legal_entities.c.id == revenue_schedules.c.entity_id)
        .join(invoices, invoices.c.id == revenue_schedules.c.invoice_id)
        .where(
            revenue_schedules.c.period <= period,
            revenue_schedules.c.entry_id.is_(None),
            invoices.c.issue_date <= day,
        )
    )
    if entity:
        q = q.where(legal_entities.c.code == lookups.entity(tx, entity).code)
    rows = tx.conn.execute(q).all()
    by_entity: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_entity[r.code].append(r)
    deferred = lookups.account_by_role(tx, "deferred_revenue")[1]
    results, drafts, groups = [], [], []
    for code, group in sorted(by_entity.items()):
        fcur = group[0].functional_currency
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for r in group:
            acc = sums[(r.revenue_account, r.currency)]
            acc[0] += r.amount_minor
            acc[1] += r.functional_minor
        lines = []
        for (account, cur), (amount, functional) in sorted(sums.items()):
            if amount == 0 and functional == 0:
                continue
            a, f = Money.from_minor(amount, cur), Money.from_minor(functional, fcur)
            lines += [PostingLine(deferred, a, f), PostingLine(account, -a, -f)]
        summary = [
            (acc, cur, Money.from_minor(v[0], cur).amount, Money.from_minor(v[1], fcur).amount)
            for (acc, cur), v in sorted(sums.items())
        ]
        if lines:
            drafts.append(
                EntryDraft(
                    code,
                    day,
                    f"Revenue recognised for {period}",
                    tuple(lines),
                    source_type="revenue",
                    source_ref=period,
                )
            )
            groups.append((code, group, summary))
        else:
            results.append(Recognition(code, period, None, summary))
    entry_ids = post_entries(tx, drafts, audit=False)
    for (code, group, summary), entry_id in zip(groups, entry_ids, strict=True):
        bulk_update(
            tx.conn, revenue_schedules, "id", [{"id": r.id, "entry_id": entry_id} for r in group]
        )
        tx.audit(
            "recognize",
            "revenue",
            f"{code}/{period}",
            after={"entry": entry_id, "lines": [[a, c, str(v), str(f)] for a, c, v, f in summary]},
        )
        results.append(Recognition(code, period, entry_id, summary))
    return results


def schedule_report(
    conn: Connection, entity: str | None = None
) -> list[tuple[str, str, str, Decimal, bool]]:
    """(period, account, currency, amount, recognised) summed per month: the schedule."""
    q = select(
        revenue_schedules.c.period,
        revenue_schedules.c.revenue_account,
        revenue_schedules.c.currency,
        revenue_schedules.c.amount_minor,
        revenue_schedules.c.entry_id,
    ).join(legal_entities, legal_entities.c.id == revenue_schedules.c.entity_id)
    if entity:
        q = q.where(legal_entities.c.code == entity)
    acc: dict[tuple[str, str, str, bool], int] = defaultdict(int)
    for period, account, cur, minor, entry in conn.execute(q):
        acc[(period, account, cur, entry is not None)] += minor
    return [
        (p, a, c, Money.from_minor(v, c).amount, done) for (p, a, c, done), v in sorted(acc.items())
    ]
