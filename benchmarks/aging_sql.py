"""The SQL of the aging benchmark: the plain scan it is compared with, and the suggestions
(a regrouped aging query, covering indexes, materialised open items and daily AR balances)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, bindparam, text

PLAIN_SCAN = text(
    "SELECT customer_id, SUM(amount_minor) FROM postings "
    "WHERE account_id = :ar AND entry_date <= :d GROUP BY customer_id"
).bindparams(bindparam("d", type_=Date))

COVER_BY_DATE = (
    "account_id, entry_date, entity_id, customer_id, item_ref, currency, amount_minor, "
    "functional_minor"
)
WORK_MEM_JIT = "work_mem = '256MB';jit = off"
COVER_BY_ITEM = (
    "account_id, entity_id, customer_id, item_ref, currency, entry_date, amount_minor, "
    "functional_minor"
)

# --- materialised balances (suggestion 3) ----------------------------------------------------

# One row per open item, keyed (and on SQLite clustered) in the order the report groups by,
# so the per-customer sums stream off the key; maintained in the posting transaction
# (open += amount, row deleted when it reaches zero) -- here built once from the postings.
OPEN_ITEMS_DDL = """
CREATE TABLE bench_open_items (
    entity_id BIGINT NOT NULL, customer_id BIGINT NOT NULL, currency VARCHAR(3) NOT NULL,
    item_ref VARCHAR(80) NOT NULL, open_minor BIGINT NOT NULL, fopen_minor BIGINT NOT NULL,
    due_date DATE NOT NULL,
    PRIMARY KEY (entity_id, customer_id, currency, item_ref))"""
FILL_OPEN_ITEMS = """
INSERT INTO bench_open_items
SELECT o.entity_id, o.customer_id, o.currency, o.item_ref, o.open_minor, o.fopen_minor,
       COALESCE(i.due_date, o.first_date)
FROM (SELECT entity_id, customer_id, item_ref, currency, SUM(amount_minor) AS open_minor,
             SUM(functional_minor) AS fopen_minor, MIN(entry_date) AS first_date
      FROM postings WHERE account_id = :ar
      GROUP BY entity_id, customer_id, item_ref, currency
      HAVING SUM(amount_minor) <> 0 OR SUM(functional_minor) <> 0) o
LEFT JOIN invoices i ON i.entity_id = o.entity_id AND i.number = o.item_ref
ORDER BY o.entity_id, o.customer_id, o.currency, o.item_ref
"""
# The AR control account's movements per entity and day, for the GL check.
AR_DAILY_DDL = """
CREATE TABLE bench_ar_daily (
    entity_id BIGINT NOT NULL, day DATE NOT NULL, functional_minor BIGINT NOT NULL,
    PRIMARY KEY (entity_id, day))"""
FILL_AR_DAILY = """
INSERT INTO bench_ar_daily
SELECT entity_id, entry_date, SUM(functional_minor)
FROM postings WHERE account_id = :ar GROUP BY entity_id, entry_date
"""


def bucket_sql(source: str, day: str) -> str:
    """The aging by customer over ``source`` (rows: entity, customer, currency, open, fopen,
    ``day``), with the buckets aging_as_of uses (current, 1-30, 31-60, 61-90, 91+)."""
    cases = [
        f"{day} >= :d",
        f"{day} < :e0 AND {day} >= :e30",
        f"{day} < :e30 AND {day} >= :e60",
        f"{day} < :e60 AND {day} >= :e90",
        f"{day} < :e90",
    ]
    sums = ", ".join(
        f"SUM(CASE WHEN {c} THEN s.open_minor ELSE 0 END) AS b{k}" for k, c in enumerate(cases)
    )
    return f"""
SELECT c.number, c.name, e.code, e.functional_currency, a.*
FROM (SELECT s.entity_id, s.customer_id, s.currency, {sums},
             SUM(s.open_minor) AS total, SUM(s.fopen_minor) AS ftotal, COUNT(*) AS n
      FROM ({source}) s
      GROUP BY s.entity_id, s.customer_id, s.currency) a
JOIN customers c ON c.id = a.customer_id
JOIN legal_entities e ON e.id = a.entity_id
ORDER BY c.number, a.currency
"""


# Suggestion 0: aging_as_of's query, regrouped -- bucket sums per (entity, customer id,
# currency) first, names joined to the ~20k result rows last (not sorted with 1M item rows).
REWRITTEN = bucket_sql(
    """SELECT it.entity_id, it.customer_id, it.currency, it.open_minor, it.fopen_minor,
              COALESCE(i.due_date, it.first_date) AS due_date
       FROM (SELECT entity_id, customer_id, item_ref, currency,
                    SUM(amount_minor) AS open_minor, SUM(functional_minor) AS fopen_minor,
                    MIN(entry_date) AS first_date
             FROM postings WHERE account_id = :ar AND entry_date <= :d
             GROUP BY entity_id, customer_id, item_ref, currency
             HAVING SUM(amount_minor) <> 0 OR SUM(functional_minor) <> 0) it
       LEFT JOIN invoices i ON i.entity_id = it.entity_id AND i.number = it.item_ref""",
    "s.due_date",
)
OPEN_TODAY = bucket_sql(
    "SELECT entity_id, customer_id, currency, open_minor, fopen_minor, due_date "
    "FROM bench_open_items",
    "s.due_date",
)
OPEN_PAST = bucket_sql(
    """SELECT entity_id, customer_id, currency, SUM(open_minor) AS open_minor,
              SUM(fopen_minor) AS fopen_minor, MIN(due_date) AS due_date
       FROM (SELECT entity_id, customer_id, item_ref, currency, open_minor, fopen_minor, due_date
             FROM bench_open_items
             UNION ALL
             SELECT p.entity_id, p.customer_id, p.item_ref, p.currency, -p.amount_minor,
                    -p.functional_minor, COALESCE(i.due_date, p.entry_date)
             FROM postings p
             LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
             WHERE p.account_id = :ar AND p.entry_date > :d) u
       GROUP BY entity_id, customer_id, item_ref, currency
       HAVING SUM(open_minor) <> 0 OR SUM(fopen_minor) <> 0""",
    "s.due_date",
)
GL_FROM_DAILY = (
    "SELECT entity_id, SUM(functional_minor) FROM bench_ar_daily WHERE day <= :d GROUP BY entity_id"
)


def bucket_params(as_of: date, ar_id: int) -> dict[str, Any]:
    edges = {f"e{b}": as_of - timedelta(days=b) for b in (0, 30, 60, 90)}
    return {"d": as_of, "ar": ar_id, **edges}


def typed(sql: str, params: dict[str, Any]) -> Any:
    """``text(sql)`` with date parameters typed, so SQLite compares ISO text with ISO text."""
    dates = [bindparam(k, type_=Date) for k, v in params.items() if isinstance(v, date)]
    return text(sql).bindparams(*[b for b in dates if f":{b.key}" in sql])
