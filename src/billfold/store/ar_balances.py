"""The AR balances (``ar_items``, ``ar_customer_balances``, ``ar_daily``): kept on SQLite by
the ledger's posting write, checked on both engines against the postings.

On PostgreSQL a statement trigger over the inserted postings keeps them (migrations 0007 and
0010). SQLite has only row triggers, and one on ``postings`` doubled the cost of every posting
insert (measured with executemany: about 2x, even when its WHEN clause was false), so on SQLite
the one function that writes postings calls :func:`keep` after it: one grouped upsert per table
over the postings it just wrote (the statements of the PostgreSQL trigger), in the same
transaction. The customer totals are upserted first, from the new postings joined to the items'
balances as they still are, so the count of open items per customer moves by exactly the items
that opened or closed. The invoice triggers that fill an item's issue and due dates are the same
on both engines. :func:`differences` (``billfold audit verify``) checks all three tables against
the postings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, literal_column, or_, text

from billfold.store.tables import ar_items

# The postings just written are those after the id the table ended at before: a range of the
# rowid, read in order (the unary plus keeps SQLite from the account index, which would walk
# every AR posting ever made). One grouped upsert per table for any number of postings.
NEW_ITEMS = """
SELECT entity_id, customer_id, currency, COALESCE(item_ref, '') AS item_ref,
       SUM(amount_minor) AS amount, SUM(functional_minor) AS functional,
       MIN(entry_date) AS first_date, MAX(entry_date) AS last_date
FROM postings
WHERE id > :after AND +account_id = :ar AND customer_id IS NOT NULL
GROUP BY entity_id, customer_id, currency, COALESCE(item_ref, '')
"""
# Before the items move: what each customer's items add, and how many of them open (balance zero
# or absent before, not after) less how many close.
CUSTOMERS_FROM_NEW = f"""
INSERT INTO ar_customer_balances (entity_id, customer_id, currency, open_minor, fopen_minor,
                                  open_items)
SELECT p.entity_id, p.customer_id, p.currency, SUM(p.amount), SUM(p.functional),
       SUM((COALESCE(a.open_minor, 0) + p.amount <> 0
            OR COALESCE(a.fopen_minor, 0) + p.functional <> 0)
           - (COALESCE(a.open_minor, 0) <> 0 OR COALESCE(a.fopen_minor, 0) <> 0))
FROM ({NEW_ITEMS}) p
LEFT JOIN ar_items a ON a.entity_id = p.entity_id AND a.customer_id = p.customer_id
    AND a.currency = p.currency AND a.item_ref = p.item_ref
WHERE true
GROUP BY p.entity_id, p.customer_id, p.currency
ON CONFLICT (entity_id, customer_id, currency) DO UPDATE SET
    open_minor = open_minor + excluded.open_minor,
    fopen_minor = fopen_minor + excluded.fopen_minor,
    open_items = open_items + excluded.open_items
"""
ITEMS_FROM_NEW = f"""
INSERT INTO ar_items (entity_id, customer_id, currency, item_ref, open_minor, fopen_minor,
                      first_date, last_date, doc_date, due_date)
SELECT p.entity_id, p.customer_id, p.currency, p.item_ref, p.amount, p.functional,
       p.first_date, p.last_date, i.issue_date, i.due_date
FROM ({NEW_ITEMS}) p
LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
WHERE true
ON CONFLICT (entity_id, customer_id, currency, item_ref) DO UPDATE SET
    open_minor = open_minor + excluded.open_minor,
    fopen_minor = fopen_minor + excluded.fopen_minor,
    first_date = min(first_date, excluded.first_date),
    last_date = max(last_date, excluded.last_date)
"""
DAYS_FROM_NEW = """
INSERT INTO ar_daily (entity_id, day, functional_minor)
SELECT entity_id, entry_date, SUM(functional_minor) FROM postings
WHERE id > :after AND +account_id = :ar
GROUP BY entity_id, entry_date
ON CONFLICT (entity_id, day)
DO UPDATE SET functional_minor = functional_minor + excluded.functional_minor
"""


def last_posting_id(conn: Connection) -> int:
    """Where the postings end now: :func:`keep` adds those written after it."""
    if conn.dialect.name != "sqlite":
        return 0
    return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM postings")).scalar_one())


def keep(conn: Connection, ar_account_id: int, after_id: int) -> None:
    """Add the AR control postings written after posting ``after_id`` to the balances (in the
    writer's transaction, which holds SQLite's write lock, so they are all its own)."""
    if conn.dialect.name != "sqlite":
        return  # the database's own trigger did it
    params = {"after": after_id, "ar": ar_account_id}
    conn.execute(text(CUSTOMERS_FROM_NEW), params)  # first: it reads the items as they were
    conn.execute(text(ITEMS_FROM_NEW), params)
    conn.execute(text(DAYS_FROM_NEW), params)


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
