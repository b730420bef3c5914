"""The AR balances (``ar_items``, ``ar_customer_balances``, ``ar_daily``): kept on SQLite by
the ledger's posting write, checked on both engines against the postings.

On PostgreSQL a statement trigger over the inserted postings keeps them (migrations 0007 and
0010). SQLite has only row triggers, and one on ``postings`` doubled the cost of every posting
insert (measured with executemany: about 2x, even when its WHEN clause was false), so on SQLite
the one function that writes postings calls :func:`keep` with the rows it wrote: one upsert per
item, per customer and currency, and per day touched, in the same transaction. Each item's
upsert returns its new balance, so the count of open items per customer moves by exactly the
items that opened or closed. The invoice triggers that fill an item's issue and due dates are
the same on both engines. :func:`differences` (``billfold audit verify``) checks all three
tables against the postings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, literal_column, or_, text

from billfold.store.tables import ar_items

ITEM_UPSERT = """
INSERT INTO ar_items (entity_id, customer_id, currency, item_ref, open_minor, fopen_minor,
                      first_date, last_date, doc_date, due_date)
SELECT ?, ?, ?, ?, ?, ?, ?, ?, i.issue_date, i.due_date
FROM (SELECT 1) LEFT JOIN invoices i ON i.entity_id = ? AND i.number = ?
WHERE true
ON CONFLICT (entity_id, customer_id, currency, item_ref) DO UPDATE SET
    open_minor = open_minor + excluded.open_minor,
    fopen_minor = fopen_minor + excluded.fopen_minor,
    first_date = min(first_date, excluded.first_date),
    last_date = max(last_date, excluded.last_date)
RETURNING open_minor, fopen_minor
"""
CUSTOMER_UPSERT = """
INSERT INTO ar_customer_balances (entity_id, customer_id, currency, open_minor, fopen_minor,
                                  open_items) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (entity_id, customer_id, currency) DO UPDATE SET
    open_minor = open_minor + excluded.open_minor,
    fopen_minor = fopen_minor + excluded.fopen_minor,
    open_items = open_items + excluded.open_items
"""
DAY_UPSERT = """
INSERT INTO ar_daily (entity_id, day, functional_minor) VALUES (?, ?, ?)
ON CONFLICT (entity_id, day)
DO UPDATE SET functional_minor = functional_minor + excluded.functional_minor
"""


def keep(conn: Connection, ar_account_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Add the AR control postings among ``rows`` (posting rows as inserted) to the balances."""
    if conn.dialect.name != "sqlite":
        return  # the database's own trigger did it
    items: dict[tuple[int, int, str, str], list[Any]] = {}
    days: dict[tuple[int, str], int] = {}
    for r in rows:
        if r["account_id"] != ar_account_id:
            continue
        day = r["entry_date"]
        iso = day.isoformat() if isinstance(day, date) else str(day)
        dkey = (r["entity_id"], iso)
        days[dkey] = days.get(dkey, 0) + r["functional_minor"]
        if r["customer_id"] is None:
            continue
        key = (r["entity_id"], r["customer_id"], r["currency"], r["item_ref"] or "")
        item = items.get(key)
        if item is None:
            items[key] = [r["amount_minor"], r["functional_minor"], iso, iso]
        else:
            item[0] += r["amount_minor"]
            item[1] += r["functional_minor"]
            item[2] = min(item[2], iso)
            item[3] = max(item[3], iso)
    if not days:
        return
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    # per (entity, customer, currency): what the items added, and how many opened less closed;
    # each item's balance after the upsert less what it added is the balance it had before
    groups: dict[tuple[int, int, str], list[int]] = {}
    try:
        for key, v in items.items():
            ((after, fafter),) = cur.execute(ITEM_UPSERT, (*key, *v, key[0], key[3])).fetchall()
            before, fbefore = after - v[0], fafter - v[1]
            group = groups.setdefault(key[:3], [0, 0, 0])
            group[0] += v[0]
            group[1] += v[1]
            group[2] += int(after != 0 or fafter != 0) - int(before != 0 or fbefore != 0)
        cur.executemany(CUSTOMER_UPSERT, [(*key, *v) for key, v in groups.items()])
        cur.executemany(DAY_UPSERT, [(*key, v) for key, v in days.items()])
    finally:
        cur.close()


_AR = "(SELECT id FROM accounts WHERE role = 'ar_control')"
_ITEMS_FROM_POSTINGS = f"""
SELECT p.entity_id, p.customer_id, p.currency, p.item_ref, p.amount, p.functional,
       p.first_date, p.last_date, i.issue_date, i.due_date
FROM (SELECT entity_id, customer_id, currency, COALESCE(item_ref, '') AS item_ref,
             SUM(amount_minor) AS amount, SUM(functional_minor) AS functional,
             MIN(entry_date) AS first_date, MAX(entry_date) AS last_date
      FROM postings WHERE account_id = {_AR} AND customer_id IS NOT NULL
      GROUP BY entity_id, customer_id, currency, COALESCE(item_ref, '')) p
LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
"""
_ITEMS_KEPT = """
SELECT entity_id, customer_id, currency, item_ref, open_minor, fopen_minor, first_date,
       last_date, doc_date, due_date FROM ar_items
"""
_CUSTOMERS_FROM_POSTINGS = f"""
SELECT entity_id, customer_id, currency, SUM(amount), SUM(functional),
       SUM(CASE WHEN amount <> 0 OR functional <> 0 THEN 1 ELSE 0 END)
FROM ({_ITEMS_FROM_POSTINGS}) x GROUP BY entity_id, customer_id, currency
"""
_CUSTOMERS_KEPT = """
SELECT entity_id, customer_id, currency, open_minor, fopen_minor, open_items
FROM ar_customer_balances
"""
_DAYS_FROM_POSTINGS = f"""
SELECT entity_id, entry_date, SUM(functional_minor) FROM postings WHERE account_id = {_AR}
GROUP BY entity_id, entry_date
"""
_DAYS_KEPT = "SELECT entity_id, day, functional_minor FROM ar_daily"


def differences(conn: Connection, limit: int = 5) -> list[str]:
    """Where the kept AR balances (``ar_items``, ``ar_customer_balances``, ``ar_daily``) differ
    from what the postings say: empty when they agree. Each difference names the row and the
    side it is on."""
    problems: list[str] = []
    for what, derived, kept, table in (
        ("item", _ITEMS_FROM_POSTINGS, _ITEMS_KEPT, "ar_items"),
        ("customer", _CUSTOMERS_FROM_POSTINGS, _CUSTOMERS_KEPT, "ar_customer_balances"),
        ("day", _DAYS_FROM_POSTINGS, _DAYS_KEPT, "ar_daily"),
    ):
        for where, a, b in (
            (f"the postings, not in {table}", derived, kept),
            (f"{table}, not in the postings", kept, derived),
        ):
            rows = conn.execute(text(f"SELECT * FROM ({a} EXCEPT {b}) d LIMIT {int(limit)}")).all()
            problems += [f"AR {what} ({', '.join(str(v) for v in r)}) is in {where}" for r in rows]
    return problems


def is_open(table: Any = None) -> ColumnElement[bool]:
    """The condition of ``ix_ar_items_open``, for a WHERE over ``ar_items`` (or an alias of it):
    the item has a balance in transaction or functional currency. Written with literal zeros,
    as the index's own condition is, so that SQLite sees it implies the index and uses it."""
    c = (table if table is not None else ar_items).c
    zero: ColumnElement[Any] = literal_column("0")
    return or_(c.open_minor != zero, c.fopen_minor != zero)
