"""ar_items: the invoice triggers find the items of the changed documents by index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:00:00

On PostgreSQL the statement trigger over updated (or inserted) invoices (0007's
``billfold_ar_dates``) joins the changed invoices, a transition table the planner has no
statistics for, to ``ar_items``. It planned a full scan and sort of ``ar_items`` for every
statement, so issuing a batch of 2,000 invoices cost in proportion to every item ever posted
(measured, autovacuum off: 76 ms with 4,000 items, 188 ms with 50,000 -- for no row to update,
since issuing writes the document before the postings that open its item). Hash and merge joins
are switched off for the function's own statement, so it looks each changed document up in
``ix_ar_items_entity_id_item_ref``: a cost in proportion to the documents changed. SQLite's row
triggers already use that index.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER FUNCTION billfold_ar_dates() "
            "SET enable_hashjoin = off SET enable_mergejoin = off"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER FUNCTION billfold_ar_dates() RESET ALL")
