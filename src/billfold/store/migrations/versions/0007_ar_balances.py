"""AR balances kept by the database: open items and the AR control account per day

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:30:00

``ar_items`` holds one row per (entity, customer, currency, item) ever posted to the AR control
account, with its balance in transaction and functional currency, its first and last posting
dates and the issue and due dates of the invoice that bears its number; ``ar_daily`` holds the
AR control account's functional-currency movement per entity and day. Both are derived from the
postings, and the invoice triggers fill the dates in whichever order an invoice and its postings
arrive. On PostgreSQL a statement trigger over the inserted postings (a transition table) keeps
the balances: a COPY of many postings updates them with one grouped upsert, whoever writes.
SQLite has only row triggers, and one on postings doubled the cost of every posting insert, so
there the ledger's posting write keeps them (``billfold.store.ar_balances``).

Measured (benchmarks/bench_aging.py, 1,000,000 open items / 5,000,000 postings): the aging as of
today reads ``ar_items`` alone instead of grouping the postings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AR_ID = "(SELECT id FROM accounts WHERE role = 'ar_control')"

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER invoices_ar_dates_insert AFTER INSERT ON invoices
    WHEN NEW.number IS NOT NULL
    BEGIN
        UPDATE ar_items SET doc_date = NEW.issue_date, due_date = NEW.due_date
        WHERE entity_id = NEW.entity_id AND item_ref = NEW.number;
    END
    """,
    """
    CREATE TRIGGER invoices_ar_dates_update AFTER UPDATE OF number, issue_date, due_date
    ON invoices WHEN NEW.number IS NOT NULL
    BEGIN
        UPDATE ar_items SET doc_date = NEW.issue_date, due_date = NEW.due_date
        WHERE entity_id = NEW.entity_id AND item_ref = NEW.number;
    END
    """,
]

POSTGRES_TRIGGERS = [
    f"""
    CREATE FUNCTION billfold_ar_balances() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ar BIGINT := {AR_ID};
    BEGIN
        INSERT INTO ar_daily AS d (entity_id, day, functional_minor)
        SELECT entity_id, entry_date, SUM(functional_minor) FROM new_postings
        WHERE account_id = ar GROUP BY entity_id, entry_date
        ON CONFLICT (entity_id, day)
        DO UPDATE SET functional_minor = d.functional_minor + EXCLUDED.functional_minor;
        INSERT INTO ar_items AS a (entity_id, customer_id, currency, item_ref, open_minor,
                                   fopen_minor, first_date, last_date, doc_date, due_date)
        SELECT p.entity_id, p.customer_id, p.currency, p.item_ref, p.amount, p.functional,
               p.first_date, p.last_date, i.issue_date, i.due_date
        FROM (SELECT entity_id, customer_id, currency, COALESCE(item_ref, '') AS item_ref,
                     SUM(amount_minor) AS amount, SUM(functional_minor) AS functional,
                     MIN(entry_date) AS first_date, MAX(entry_date) AS last_date
              FROM new_postings WHERE account_id = ar AND customer_id IS NOT NULL
              GROUP BY 1, 2, 3, 4) p
        LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
        ON CONFLICT (entity_id, customer_id, currency, item_ref) DO UPDATE SET
            open_minor = a.open_minor + EXCLUDED.open_minor,
            fopen_minor = a.fopen_minor + EXCLUDED.fopen_minor,
            first_date = LEAST(a.first_date, EXCLUDED.first_date),
            last_date = GREATEST(a.last_date, EXCLUDED.last_date);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER postings_ar_balances AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION billfold_ar_balances()
    """,
    """
    CREATE FUNCTION billfold_ar_dates() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ar_items a SET doc_date = n.issue_date, due_date = n.due_date
        FROM new_invoices n
        WHERE n.number IS NOT NULL AND a.entity_id = n.entity_id AND a.item_ref = n.number
          AND (a.doc_date IS DISTINCT FROM n.issue_date OR a.due_date IS DISTINCT FROM n.due_date);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER invoices_ar_dates_insert AFTER INSERT ON invoices
    REFERENCING NEW TABLE AS new_invoices
    FOR EACH STATEMENT EXECUTE FUNCTION billfold_ar_dates()
    """,
    """
    CREATE TRIGGER invoices_ar_dates_update AFTER UPDATE ON invoices
    REFERENCING NEW TABLE AS new_invoices
    FOR EACH STATEMENT EXECUTE FUNCTION billfold_ar_dates()
    """,
]

# What the triggers would have written, for the postings already in the database.
BACKFILL = [
    f"""
    INSERT INTO ar_daily (entity_id, day, functional_minor)
    SELECT entity_id, entry_date, SUM(functional_minor) FROM postings
    WHERE account_id = {AR_ID} GROUP BY entity_id, entry_date
    """,
    f"""
    INSERT INTO ar_items (entity_id, customer_id, currency, item_ref, open_minor, fopen_minor,
                          first_date, last_date, doc_date, due_date)
    SELECT p.entity_id, p.customer_id, p.currency, p.item_ref, p.amount, p.functional,
           p.first_date, p.last_date, i.issue_date, i.due_date
    FROM (SELECT entity_id, customer_id, currency, COALESCE(item_ref, '') AS item_ref,
                 SUM(amount_minor) AS amount, SUM(functional_minor) AS functional,
                 MIN(entry_date) AS first_date, MAX(entry_date) AS last_date
          FROM postings WHERE account_id = {AR_ID} AND customer_id IS NOT NULL
          GROUP BY entity_id, customer_id, currency, COALESCE(item_ref, '')) p
    LEFT JOIN invoices i ON i.entity_id = p.entity_id AND i.number = p.item_ref
    """,
]


def upgrade() -> None:
    op.create_table(
        "ar_items",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("item_ref", sa.String(length=80), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), nullable=False),
        sa.Column("fopen_minor", sa.BigInteger(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint(
            "entity_id", "customer_id", "currency", "item_ref", name=op.f("pk_ar_items")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_ar_items_entity_id_item_ref", "ar_items", ["entity_id", "item_ref"])
    op.create_table(
        "ar_daily",
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("functional_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "day", name=op.f("pk_ar_daily")),
        sqlite_with_rowid=False,
    )
    for statement in BACKFILL:
        op.execute(statement)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "postings_ar_balances",
            "invoices_ar_dates_insert",
            "invoices_ar_dates_update",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS postings_ar_balances ON postings")
        op.execute("DROP TRIGGER IF EXISTS invoices_ar_dates_insert ON invoices")
        op.execute("DROP TRIGGER IF EXISTS invoices_ar_dates_update ON invoices")
        op.execute("DROP FUNCTION IF EXISTS billfold_ar_balances()")
        op.execute("DROP FUNCTION IF EXISTS billfold_ar_dates()")
    op.drop_table("ar_daily")
    op.drop_index("ix_ar_items_entity_id_item_ref", table_name="ar_items")
    op.drop_table("ar_items")
