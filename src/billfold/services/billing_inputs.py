"""What the billing run reads besides the contracts: usage totals and approved timesheets.

Usage is summed by the database, one row per (contract, meter, service period) the engine asks
for, never one row per usage record. Sums stay exact: PostgreSQL adds the quantities as
``NUMERIC``; SQLite adds them as integers when every quantity of the period is the canonical
text of an integer of at most 12 characters (the common case: its text is what ``CAST`` to
INTEGER and back gives), and a period holding any other quantity is summed in Python with
``Decimal`` from its records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billfold.billing.engine import UsageKey, UsageRequest
from billfold.billing.model import TimesheetEntry
from billfold.services.context import Tx
from billfold.store.bulk import values_in
from billfold.store.tables import timesheet_entries, usage_records

USAGE_CHUNK = 200  # periods per statement (5 bound parameters each)

# a quantity SQLite can add exactly as an integer: the text of that integer (no sign but '-',
# no leading zero, point or exponent), at most 12 characters (a round trip through INTEGER costs
# SQLite less than GLOB patterns did)
_WHOLE = "(CAST(CAST(u.quantity AS INTEGER) AS TEXT) = u.quantity AND length(u.quantity) <= 12)"


def usage_totals(
    tx: Tx, run_date: date, wanted: dict[int, list[UsageRequest]]
) -> dict[int, dict[UsageKey, Decimal]]:
    """The total of each requested meter and period (zero when it has no records), counting
    the records dated on or before ``run_date``."""
    requests = [(cid, r) for cid, reqs in wanted.items() for r in reqs]
    totals: dict[int, dict[UsageKey, Decimal]] = {}
    for start in range(0, len(requests), USAGE_CHUNK):
        chunk = requests[start : start + USAGE_CHUNK]
        sums = _sum_chunk(tx, run_date, chunk)
        for (cid, r), total in zip(chunk, sums, strict=True):
            totals.setdefault(cid, {})[r.usage_key] = total
    return totals


def _sum_chunk(tx: Tx, run_date: date, chunk: Sequence[tuple[int, UsageRequest]]) -> list[Decimal]:
    # Straight to the driver: compiling a text() of 1,000 bound parameters through SQLAlchemy
    # cost more than the database took to sum the records.
    postgres = tx.conn.dialect.name == "postgresql"
    if postgres:
        mark = "%s"
        row = "(%s::integer, %s::integer, %s::varchar, %s::date, %s::date)"
        sums = "SUM(CAST(u.quantity AS NUMERIC)), 0, 0"
    else:
        mark = "?"
        row = "(?, ?, ?, ?, ?)"
        sums = (
            f"SUM(CASE WHEN {_WHOLE} THEN CAST(u.quantity AS INTEGER) END), COUNT(u.id), "
            f"COUNT(CASE WHEN {_WHOLE} THEN 1 END)"
        )
    sql = (
        f"WITH req(n, cid, meter, s, e) AS (VALUES {', '.join([row] * len(chunk))}) "
        f"SELECT req.n, {sums} FROM req LEFT JOIN usage_records u "
        "ON u.contract_id = req.cid AND u.meter = req.meter "
        f"AND u.usage_date >= req.s AND u.usage_date <= req.e AND u.usage_date <= {mark} "
        "GROUP BY req.n"
    )
    day: Any = (lambda d: d) if postgres else date.isoformat  # SQLite stores ISO dates as text
    params: list[Any] = []
    for i, (cid, r) in enumerate(chunk):
        params += (i, cid, r.meter, day(r.start), day(r.end))
    params.append(day(run_date))
    result = [Decimal(0)] * len(chunk)
    for n, total, count, whole in tx.conn.exec_driver_sql(sql, tuple(params)):
        if total is not None:
            result[n] = Decimal(total)
        if count != whole:  # SQLite: a quantity it cannot add exactly
            cid, r = chunk[n]
            result[n] = _sum_records(tx, run_date, cid, r)
    return result


def _sum_records(tx: Tx, run_date: date, cid: int, r: UsageRequest) -> Decimal:
    u = usage_records.c
    quantities = tx.conn.execute(
        select(u.quantity).where(
            u.contract_id == cid,
            u.meter == r.meter,
            u.usage_date >= r.start,
            u.usage_date <= r.end,
            u.usage_date <= run_date,
        )
    ).scalars()
    return sum((Decimal(q) for q in quantities), Decimal(0))


def approved_timesheets(tx: Tx, ids: list[int]) -> dict[int, list[TimesheetEntry]]:
    """The timesheet entries of the contracts (only approved ones are accepted and stored)."""
    result: dict[int, list[TimesheetEntry]] = defaultdict(list)
    for t in tx.conn.execute(
        select(timesheet_entries).where(values_in(tx.conn, timesheet_entries.c.contract_id, ids))
    ).all():
        result[t.contract_id].append(
            TimesheetEntry(
                t.entry_id, t.charge_id, t.role, t.work_date, Decimal(t.hours), t.person, True
            )
        )
    return result
