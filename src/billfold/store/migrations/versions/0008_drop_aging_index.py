"""postings: drop the aging index of 0006, which the kept AR balances of 0007 made redundant

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:10:00

Since 0007 the aging reads the balances kept per item (``ar_items``) and, for a past date, only
the AR postings dated after it, which ``ix_postings_account_date`` finds. Nothing reads
``ix_postings_ar_items`` any more, while every posting written still paid for its eight columns.
Measured with benchmarks/bench_issue_invoices.py (see the commit that adds this migration).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = [
    "account_id",
    "entity_id",
    "customer_id",
    "item_ref",
    "currency",
    "entry_date",
    "amount_minor",
    "functional_minor",
]


def upgrade() -> None:
    op.drop_index("ix_postings_ar_items", table_name="postings")


def downgrade() -> None:
    op.create_index("ix_postings_ar_items", "postings", COLUMNS, unique=False)
