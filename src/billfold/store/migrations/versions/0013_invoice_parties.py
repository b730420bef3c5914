"""invoice_parties: the seller and buyer frozen at issue live beside the invoice, not in its row

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 23:10:00

Issuing filled ``invoices.seller_json`` and ``buyer_json`` (some 750 bytes of JSON) into rows
written small as drafts, so every issued batch grew its rows in place: SQLite split each page of
drafts into several and rewrote them, PostgreSQL wrote each row again at three times its size.
The snapshot now goes into ``invoice_parties`` (one row per issued document, keyed by the
invoice, appended in issue order), and the issue itself updates a few short columns. The table
is append-only (the database refuses UPDATE and DELETE on it, as on the journal), so a frozen
party stays what it was at issue; the existing snapshots are moved over.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PARTIES = ("seller_json", "buyer_json")


def _invoicing() -> object:
    return importlib.import_module("billfold.store.migrations.versions.0002_invoicing")


def _frozen_trigger(columns: tuple[str, ...]) -> None:
    """0002's trigger (SQLite) or function (PostgreSQL) that freezes an issued invoice's
    content, over ``columns``."""
    message = _invoicing().MESSAGE  # type: ignore[attr-defined]
    if op.get_bind().dialect.name == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
        op.execute("DROP TRIGGER IF EXISTS invoices_frozen")
        op.execute(
            "CREATE TRIGGER invoices_frozen BEFORE UPDATE ON invoices "
            f"WHEN OLD.status <> 'draft' AND ({changed}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}: UPDATE refused'); END"
        )
        return
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION billfold_invoice_frozen() RETURNS trigger LANGUAGE plpgsql
        AS $$
        BEGIN
            IF OLD.status <> 'draft' AND (TG_OP = 'DELETE' OR {changed}) THEN
                RAISE EXCEPTION '{message}: % refused', TG_OP;
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$
        """
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "invoice_parties",
        sa.Column(
            "invoice_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("invoices.id", name=op.f("fk_invoice_parties_invoice_id_invoices")),
            nullable=False,
            autoincrement=False,
        ),
        sa.Column("seller_json", sa.Text(), nullable=False),
        sa.Column("buyer_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_parties")),
    )
    op.execute(
        "INSERT INTO invoice_parties (invoice_id, seller_json, buyer_json) "
        "SELECT id, seller_json, buyer_json FROM invoices "
        "WHERE seller_json IS NOT NULL AND buyer_json IS NOT NULL ORDER BY id"
    )
    frozen = tuple(c for c in _invoicing().FROZEN if c not in PARTIES)  # type: ignore[attr-defined]
    if sqlite:
        op.execute("DROP TRIGGER invoices_frozen")  # SQLite drops no column a trigger names
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER invoice_parties_no_{verb.lower()} BEFORE {verb} "
                "ON invoice_parties BEGIN SELECT RAISE(ABORT, "
                f"'invoice_parties is append-only: {verb} refused'); END"
            )
    else:
        _frozen_trigger(frozen)
        op.execute(
            "CREATE TRIGGER invoice_parties_append_only BEFORE UPDATE OR DELETE ON invoice_parties "
            "FOR EACH ROW EXECUTE FUNCTION billfold_refuse_change()"
        )
    for column in PARTIES:
        op.drop_column("invoices", column)
    if sqlite:
        _frozen_trigger(frozen)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER invoices_frozen")
    for column in PARTIES:
        op.add_column("invoices", sa.Column(column, sa.Text(), nullable=True))
    if sqlite:
        # invoices_frozen is dropped: filling the columns of issued documents is refused by it
        op.execute(
            "UPDATE invoices SET seller_json = p.seller_json, buyer_json = p.buyer_json "
            "FROM invoice_parties p WHERE p.invoice_id = invoices.id"
        )
    else:
        op.execute("ALTER TABLE invoices DISABLE TRIGGER invoices_frozen")
        op.execute(
            "UPDATE invoices SET seller_json = p.seller_json, buyer_json = p.buyer_json "
            "FROM invoice_parties p WHERE p.invoice_id = invoices.id"
        )
        op.execute("ALTER TABLE invoices ENABLE TRIGGER invoices_frozen")
    _frozen_trigger(_invoicing().FROZEN)  # type: ignore[attr-defined]
    if sqlite:
        op.execute("DROP TRIGGER invoice_parties_no_update")
        op.execute("DROP TRIGGER invoice_parties_no_delete")
    op.drop_table("invoice_parties")
