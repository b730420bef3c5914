"""Invoice register: every issued document of a period, with totals per currency.

Output as rows (for a Rich table), CSV or XLSX (openpyxl). Credit notes carry negative amounts
in the register so that each currency's column totals are the period's net billing.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select

from billfold.money import Money
from billfold.store.tables import customers, invoices, legal_entities

COLUMNS = (
    "entity",
    "number",
    "type",
    "issue_date",
    "due_date",
    "customer",
    "customer_name",
    "po_number",
    "corrects",
    "currency",
    "net",
    "tax",
    "total",
    "functional_currency",
    "functional_total",
    "status",
)


@dataclass(frozen=True, slots=True)
class RegisterRow:
    entity: str
    number: str
    type: str
    issue_date: date
    due_date: date
    customer: str
    customer_name: str
    po_number: str
    corrects: str
    currency: str
    net: Decimal
    tax: Decimal
    total: Decimal
    functional_currency: str
    functional_total: Decimal
    status: str

    def values(self) -> list[object]:
        return [getattr(self, c) for c in COLUMNS]


def invoice_register(
    conn: Connection, since: date, until: date, entity: str | None = None
) -> list[RegisterRow]:
    corrected = invoices.alias("corrected")
    q = (
        select(
            invoices,
            legal_entities.c.code.label("entity_code"),
            customers.c.number.label("cnum"),
            customers.c.name.label("cname"),
            corrected.c.number.label("corrects_number"),
        )
        .join(legal_entities, legal_entities.c.id == invoices.c.entity_id)
        .join(customers, customers.c.id == invoices.c.customer_id)
        .outerjoin(corrected, corrected.c.id == invoices.c.corrects_id)
        .where(
            invoices.c.status != "draft",
            invoices.c.issue_date >= since,
            invoices.c.issue_date <= until,
        )
        .order_by(legal_entities.c.code, invoices.c.issue_date, invoices.c.number)
    )
    if entity:
        q = q.where(legal_entities.c.code == entity)
    rows = []
    for r in conn.execute(q):
        sign = -1 if r.doc_type == "credit_note" else 1
        cur, fcur = r.currency, r.functional_currency

        def amt(minor: int, currency: str, s: int = sign) -> Decimal:
            return Money.from_minor(s * minor, currency).amount

        rows.append(
            RegisterRow(
                r.entity_code,
                r.number,
                r.doc_type,
                r.issue_date,
                r.due_date,
                r.cnum,
                r.cname,
                r.po_number or "",
                r.corrects_number or "",
                cur,
                amt(r.net_minor, cur),
                amt(r.tax_minor, cur),
                amt(r.total_minor, cur),
                fcur,
                amt(r.functional_total_minor, fcur),
                r.status,
            )
        )
    return rows


def totals_by_currency(rows: list[RegisterRow]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """(net, tax, total) per currency, voided documents left out."""
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for r in rows:
        if r.status == "voided":
            continue
        t = acc[r.currency]
        t[0] += r.net
        t[1] += r.tax
        t[2] += r.total
    return {cur: (v[0], v[1], v[2]) for cur, v in sorted(acc.items())}


def to_csv(rows: list[RegisterRow]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([str(v) for v in r.values()])
    return buf.getvalue().encode("utf-8")


def to_xlsx(rows: list[RegisterRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Invoice register"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(COLUMNS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    money_cols = {COLUMNS.index(c) + 1 for c in ("net", "tax", "total", "functional_total")}
    for r in rows:
        ws.append(r.values())
        row = ws.max_row
        for col in money_cols:
            value = ws.cell(row=row, column=col).value
            exponent = value.as_tuple().exponent if isinstance(value, Decimal) else -2
            places = -exponent if isinstance(exponent, int) else 2
            ws.cell(row=row, column=col).number_format = "#,##0" + (
                "." + "0" * places if places else ""
            )
    ws.append([])
    for cur, (net, tax, total) in totals_by_currency(rows).items():
        ws.append(["Total", cur, "", "", "", "", "", "", "", cur, net, tax, total])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    for column, width in zip(
        "ABCDEFGHIJKLMNOP",
        (9, 17, 12, 11, 11, 10, 28, 12, 17, 8, 12, 12, 12, 9, 14, 14),
        strict=True,
    ):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
