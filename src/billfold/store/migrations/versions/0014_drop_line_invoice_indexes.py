"""invoice lines and line taxes: drop the invoice_id indexes their unique keys already cover

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 22:20:00

``uq_invoice_lines_invoice_id_line_no`` and ``uq_invoice_line_taxes_invoice_id_line_no_seq``
begin with ``invoice_id``, so every lookup of a document's lines or taxes by ``invoice_id``
uses them (on SQLite and PostgreSQL alike). The separate ``ix_..._invoice_id`` indexes were
only written to: one more index entry for each of the millions of lines a billing run creates.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_invoice_lines_invoice_id", table_name="invoice_lines")
    op.drop_index("ix_invoice_line_taxes_invoice_id", table_name="invoice_line_taxes")


def downgrade() -> None:
    op.create_index("ix_invoice_lines_invoice_id", "invoice_lines", ["invoice_id"])
    op.create_index("ix_invoice_line_taxes_invoice_id", "invoice_line_taxes", ["invoice_id"])
