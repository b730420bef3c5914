"""AR balances per customer and currency, and the open items by the date they age from

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00

``ar_customer_balances`` holds one row per (entity, customer, currency) ever posted to the AR
control account: the sum of its items' balances (``ar_items``) in transaction and functional
currency and the number of its open items. It is kept where ``ar_items`` is kept: on PostgreSQL
by the statement trigger over the inserted postings (which now takes each item's balance before
and after from the upsert of ``ar_items`` itself, under its row lock), on SQLite by the ledger's
posting write (``billfold.store.ar_balances.keep``). ``billfold audit verify`` checks it
against ``ar_items``, which it checks against the postings.

``ix_ar_items_open_due`` holds the open items in due-date order with what the aging reads of
them. With both, the aging reads the totals per customer from the first table and only the items
young enough to fall short of its last bucket edge from the index: every older item is in the
last bucket, which is the total less the younger ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AR_ID = "(SELECT id FROM accounts WHERE role = 'ar_control')"
OPEN = "open_minor <> 0 OR fopen_minor <> 0"
DUE_COLUMNS = [
    "due_date",
    "first_date",
    "entity_id",
    "customer_id",
    "currency",
    "open_minor",
    "fopen_minor",
]

BACKFILL = [
    f"""
    INSERT INTO ar_customer_balances (entity_id, customer_id, currency, open_minor, fopen_minor,
                                      open_items)
    SELECT entity_id, customer_id, currency, SUM(open_minor), SUM(fopen_minor),
           SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END)
    FROM ar_items GROUP BY entity_id, customer_id, currency
    """,
]

# 0007's trigger function, with the customer balances taken from the upsert of the items: the
# balance each item has after this statement (RETURNING, under the row's lock) less what this
# statement added is the balance it had before, so the count of open items moves exactly.
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION billfold_ar_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ar BIGINT := {AR_ID};
BEGIN
    INSERT INTO ar_daily AS d (entity_id, day, functional_minor)
    SELECT entity_id, entry_date, SUM(functional_minor) FROM new_postings
    WHERE account_id = ar GROUP BY entity_id, entry_date
    ON CONFLICT (entity_id, day)
    DO UPDATE SET functional_minor = d.functional_minor + EXCLUDED.functional_minor;
    WITH p AS (
        SELECT entity_id, customer_id, currency, COALESCE(item_ref, '') AS item_ref,
               SUM(amount_minor) AS amount, SUM(functional_minor) AS functional,
               MIN(entry_date) AS first_date, MAX(entry_date) AS last_date
        FROM new_postings WHERE account_id = ar AND customer_id IS NOT NULL
        GROUP BY 1, 2, 3, 4
    ), items AS (
        INSERT INTO ar_items AS a (entity_id, customer_id, currency, item_ref, open_minor,
                                   fopen_minor, first_date, last_date, doc_date, due_date)
        SELECT p.entity_id, p.customer_id, p.currency, p.item_ref, p.amount, p.functional,
               p.first_date, p.last_date, i.issue_date, i.due_date
        FROM p LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
        ON CONFLICT (entity_id, customer_id, currency, item_ref) DO UPDATE SET
            open_minor = a.open_minor + EXCLUDED.open_minor,
            fopen_minor = a.fopen_minor + EXCLUDED.fopen_minor,
            first_date = LEAST(a.first_date, EXCLUDED.first_date),
            last_date = GREATEST(a.last_date, EXCLUDED.last_date)
        RETURNING a.entity_id, a.customer_id, a.currency, a.item_ref, a.open_minor,
                  a.fopen_minor
    )
    INSERT INTO ar_customer_balances AS c (entity_id, customer_id, currency, open_minor,
                                           fopen_minor, open_items)
    SELECT items.entity_id, items.customer_id, items.currency, SUM(p.amount), SUM(p.functional),
           SUM(CASE WHEN items.open_minor <> 0 OR items.fopen_minor <> 0 THEN 1 ELSE 0 END
               - CASE WHEN items.open_minor - p.amount <> 0
                        OR items.fopen_minor - p.functional <> 0 THEN 1 ELSE 0 END)
    FROM items JOIN p USING (entity_id, customer_id, currency, item_ref)
    GROUP BY 1, 2, 3
    ON CONFLICT (entity_id, customer_id, currency) DO UPDATE SET
        open_minor = c.open_minor + EXCLUDED.open_minor,
        fopen_minor = c.fopen_minor + EXCLUDED.fopen_minor,
        open_items = c.open_items + EXCLUDED.open_items;
    RETURN NULL;
END $$
"""


def _previous_function() -> str:
    """0007's function, for the downgrade."""
    import importlib

    m = importlib.import_module("billfold.store.migrations.versions.0007_ar_balances")
    return str(m.POSTGRES_TRIGGERS[0]).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


def upgrade() -> None:
    op.create_table(
        "ar_customer_balances",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.Column("fopen_minor", sa.BigInteger(), nullable=False),
        sa.Column("open_items", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "entity_id", "customer_id", "currency", name=op.f("pk_ar_customer_balances")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_ar_items_open_due",
        "ar_items",
        DUE_COLUMNS,
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    for statement in BACKFILL:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_previous_function())
    op.drop_index("ix_ar_items_open_due", table_name="ar_items")
    op.drop_table("ar_customer_balances")
