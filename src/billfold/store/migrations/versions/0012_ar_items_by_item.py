"""ar_items: the primary key leads with the item, not the customer

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 22:45:00

The key was (entity, customer, currency, item), so every batch of new invoices inserted its
items all over the table, two or three per customer, and dirtied (and wrote to the WAL) nearly
every page of it; the invoice triggers and the lookups by document number went through a
second index, ``ix_ar_items_entity_id_item_ref``. Keyed (entity, item, customer, currency), new
items go to the end (numbers grow within a series and year) and the key itself finds an item by
its number, so that index is dropped. The readers that want the items per customer read the open
ones off ``ix_ar_items_open`` (unchanged), whose key still leads with the customer; the upserts
name all four key columns, which match the key in any order.
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "open_minor <> 0 OR fopen_minor <> 0"
COLUMNS = """
    entity_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    currency VARCHAR(3) NOT NULL,
    item_ref VARCHAR(80) NOT NULL,
    open_minor BIGINT NOT NULL,
    fopen_minor BIGINT NOT NULL,
    first_date DATE NOT NULL,
    last_date DATE NOT NULL,
    doc_date DATE,
    due_date DATE
"""
OPEN_INDEXES = [
    "CREATE INDEX ix_ar_items_open ON ar_items (entity_id, customer_id, currency, item_ref, "
    f"due_date, doc_date, first_date, last_date, open_minor, fopen_minor) WHERE {OPEN}",
    "CREATE INDEX ix_ar_items_open_due ON ar_items (due_date, first_date, entity_id, "
    f"customer_id, currency, open_minor, fopen_minor) WHERE {OPEN}",
]


def _rekey_sqlite(key: str, *, with_item_index: bool) -> None:
    """SQLite cannot change a primary key in place: the table is built again under the new key
    (the invoice triggers that update it are dropped and made again around the swap, since
    SQLite checks them when the new table takes the old one's name)."""
    triggers = importlib.import_module(
        "billfold.store.migrations.versions.0007_ar_balances"
    ).SQLITE_TRIGGERS
    op.execute("DROP TRIGGER invoices_ar_dates_insert")
    op.execute("DROP TRIGGER invoices_ar_dates_update")
    op.execute(
        f"CREATE TABLE ar_items_rekeyed ({COLUMNS}, "
        f"CONSTRAINT pk_ar_items PRIMARY KEY ({key})) WITHOUT ROWID"
    )
    op.execute(
        f"INSERT INTO ar_items_rekeyed SELECT {', '.join(_names())} FROM ar_items ORDER BY {key}"
    )
    op.execute("DROP TABLE ar_items")
    op.execute("ALTER TABLE ar_items_rekeyed RENAME TO ar_items")
    for statement in OPEN_INDEXES:
        op.execute(statement)
    if with_item_index:
        op.create_index("ix_ar_items_entity_id_item_ref", "ar_items", ["entity_id", "item_ref"])
    for statement in triggers:
        op.execute(statement)


def _names() -> list[str]:
    return [line.split()[0] for line in COLUMNS.strip().splitlines()]


def _rekey_postgres(key: str) -> None:
    op.execute(
        "ALTER TABLE ar_items DROP CONSTRAINT pk_ar_items, "
        f"ADD CONSTRAINT pk_ar_items PRIMARY KEY ({key})"
    )


def upgrade() -> None:
    key = "entity_id, item_ref, customer_id, currency"
    if op.get_bind().dialect.name == "sqlite":
        _rekey_sqlite(key, with_item_index=False)
    else:
        _rekey_postgres(key)
        op.drop_index("ix_ar_items_entity_id_item_ref", table_name="ar_items")


def downgrade() -> None:
    key = "entity_id, customer_id, currency, item_ref"
    if op.get_bind().dialect.name == "sqlite":
        _rekey_sqlite(key, with_item_index=True)
    else:
        _rekey_postgres(key)
        op.create_index("ix_ar_items_entity_id_item_ref", "ar_items", ["entity_id", "item_ref"])
