"""Credit memos: full, partial or per line, always against an issued invoice, with a reason.

A credit memo is issued at once (number from the ``CN`` series, journal entry, audit) with the
invoice's currency, exchange rate and rounding, and its tax is the invoice's tax in proportion
(see ``domain.invoice_calc.credit_line``): a full credit nets the invoice to exactly zero, and
credits together never exceed it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, insert, select

from billfold.domain.invoice_calc import (
    ComputedLine,
    InvoicedLine,
    LineInput,
    LineTax,
    credit_line,
    credit_note_totals,
)
from billfold.domain.tax import TaxComponent
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.money import Money, Rounding
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.services.invoicing import SERIES, issue
from billfold.store.tables import invoice_line_taxes, invoice_lines, invoices

_SELECTION = re.compile(r"^(?P<line>\d+)(?:(?P<op>[=*])(?P<value>\d+(?:\.\d+)?))?$")


@dataclass(frozen=True, slots=True)
class Selection:
    """``3`` (all that is left of line 3), ``3=40.00`` (net amount), ``3*2`` (quantity)."""

    line_no: int
    amount: Decimal | None = None
    quantity: Decimal | None = None


def parse_selection(text: str) -> Selection:
    m = _SELECTION.match(text.strip())
    if not m:
        raise InvalidInput(f"line selection {text!r}: expected N, N=AMOUNT or N*QUANTITY")
    value = Decimal(m["value"]) if m["value"] else None
    return Selection(
        int(m["line"]), value if m["op"] == "=" else None, value if m["op"] == "*" else None
    )


def create_credit_memo(
    tx: Tx,
    entity: str,
    invoice_number: str,
    reason: str,
    selections: list[Selection] | None = None,
    on: date | None = None,
) -> str:
    if not reason.strip():
        raise InvalidInput("a credit memo needs a reason")
    ent = lookups.entity(tx, entity)
    inv = tx.conn.execute(
        select(invoices).where(invoices.c.entity_id == ent.id, invoices.c.number == invoice_number)
    ).first()
    if inv is None:
        raise NotFound(f"no invoice {invoice_number} of {ent.code}")
    if inv.doc_type != "invoice" or inv.status != "issued":
        raise Conflict(
            f"{invoice_number} is a {inv.status} {inv.doc_type.replace('_', ' ')}; "
            "only issued invoices can be credited"
        )
    invoiced = _invoiced_lines(tx.conn, inv.id, inv.currency)
    chosen = selections or [Selection(n) for n in sorted(invoiced)]
    credits: list[ComputedLine] = []
    for n, sel in enumerate(chosen, start=1):
        line = invoiced.get(sel.line_no)
        if line is None:
            raise InvalidInput(f"{invoice_number} has no line {sel.line_no}")
        net = _net_to_credit(line, sel, inv.currency, Rounding(inv.rounding))
        if net.is_zero() and selections is None:
            continue
        try:
            credits.append(credit_line(line, net, n))
        except InvalidInput as exc:
            raise InvalidInput(f"{invoice_number}: {exc}") from None
    if not credits:
        raise Conflict(f"{invoice_number} is already fully credited")
    totals = credit_note_totals(credits, inv.currency)
    functional = Money.rounded(
        totals.gross_total.amount * Decimal(inv.fx_rate),
        inv.functional_currency,
        Rounding(inv.rounding),
    )
    day = on or tx.today
    head = {
        c: getattr(inv, c)
        for c in (
            "entity_id",
            "customer_id",
            "currency",
            "functional_currency",
            "fx_rate",
            "rounding",
            "tax_rounding",
            "price_mode",
            "payment_terms",
            "po_number",
            "buyer_reference",
            "language",
        )
    }
    count = tx.conn.execute(
        select(func.count()).select_from(invoices).where(invoices.c.corrects_id == inv.id)
    ).scalar_one()
    credit_id = tx.conn.execute(
        insert(invoices)
        .values(
            **head,
            doc_type="credit_note",
            status="draft",
            series=SERIES["credit_note"],
            draft_ref=f"credit:{invoice_number}:{count + 1}",
            issue_date=day,
            due_date=day,
            supply_date=inv.supply_date,
            period_start=inv.period_start,
            period_end=inv.period_end,
            net_minor=totals.net_total.minor,
            tax_minor=totals.tax_total.minor,
            total_minor=totals.gross_total.minor,
            functional_total_minor=functional.minor,
            corrects_id=inv.id,
            reason=reason,
            created_at=tx.now,
        )
        .returning(invoices.c.id)
    ).scalar_one()
    _insert_credit_lines(tx.conn, credit_id, credits, invoiced)
    number = issue(tx, [credit_id]).numbers[0]
    tx.audit(
        "credit",
        "invoice",
        invoice_number,
        after={"credit_note": number, "reason": reason, "amount": str(totals.gross_total)},
    )
    return number


def _net_to_credit(line: InvoicedLine, sel: Selection, currency: str, mode: Rounding) -> Money:
    remaining = line.net - line.credited_net
    if sel.amount is not None:
        return Money.of(sel.amount, currency)
    if sel.quantity is not None:
        if line.input.quantity == 0 or sel.quantity > abs(line.input.quantity):
            raise InvalidInput(
                f"line {line.line_no}: cannot credit a quantity of {sel.quantity} "
                f"of {line.input.quantity}"
            )
        return Money.rounded(line.net.amount * sel.quantity / line.input.quantity, currency, mode)
    return remaining


def _invoiced_lines(conn: Connection, invoice_id: int, currency: str) -> dict[int, InvoicedLine]:
    lines = conn.execute(
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id == invoice_id)
        .order_by(invoice_lines.c.line_no)
    ).all()
    taxes: dict[int, list[LineTax]] = defaultdict(list)
    for t in conn.execute(
        select(invoice_line_taxes)
        .where(invoice_line_taxes.c.invoice_id == invoice_id)
        .order_by(invoice_line_taxes.c.line_no, invoice_line_taxes.c.seq)
    ):
        taxes[t.line_no].append(
            LineTax(
                TaxComponent(
                    t.jurisdiction,
                    t.category,
                    Decimal(t.rate),
                    t.tax_type,
                    t.exemption_reason,
                    t.exemption_code,
                ),
                Money.from_minor(t.tax_minor, currency),
            )
        )
    credited = select(invoices.c.id).where(
        invoices.c.corrects_id == invoice_id,
        invoices.c.doc_type == "credit_note",
        invoices.c.status == "issued",
    )
    credit_lines = conn.execute(
        select(invoice_lines).where(invoice_lines.c.invoice_id.in_(credited))
    ).all()
    credited_net: dict[int, int] = defaultdict(int)
    credited_tax: dict[tuple[int, int], int] = defaultdict(int)
    line_of = {(cl.invoice_id, cl.line_no): cl.credits_line_id for cl in credit_lines}
    for cl in credit_lines:
        credited_net[cl.credits_line_id] += cl.net_minor
    for t in conn.execute(
        select(invoice_line_taxes).where(invoice_line_taxes.c.invoice_id.in_(credited))
    ):
        credited_tax[(line_of[(t.invoice_id, t.line_no)], t.seq)] += t.tax_minor
    result = {}
    for ln in lines:
        lt = tuple(taxes[ln.line_no])
        result[ln.line_no] = InvoicedLine(
            ln.line_no,
            Money.from_minor(ln.net_minor, currency),
            lt,
            Money.from_minor(credited_net[ln.id], currency),
            tuple(
                Money.from_minor(credited_tax[(ln.id, seq)], currency)
                for seq in range(1, len(lt) + 1)
            ),
            LineInput(
                ln.description,
                Decimal(ln.quantity),
                Decimal(ln.unit_price),
                tuple(t.component for t in lt),
                ln.unit_code,
                ln.sku,
                revenue_account=ln.revenue_account,
                period_start=ln.period_start,
                period_end=ln.period_end,
                deferred=bool(ln.deferred),
            ),
        )
    return result


def _insert_credit_lines(
    conn: Connection, credit_id: int, credits: list[ComputedLine], invoiced: dict[int, InvoicedLine]
) -> None:
    ids = dict(
        conn.execute(
            select(invoice_lines.c.line_no, invoice_lines.c.id).where(
                invoice_lines.c.invoice_id
                == conn.execute(
                    select(invoices.c.corrects_id).where(invoices.c.id == credit_id)
                ).scalar_one()
            )
        ).all()
    )
    line_of_input = {id(line.input): n for n, line in invoiced.items()}
    rows, tax_rows = [], []
    for cl in credits:
        original = line_of_input[id(cl.input)]
        qty, price = _credit_quantity(cl, invoiced[original])
        rows.append(
            {
                "invoice_id": credit_id,
                "line_no": cl.line_no,
                "sku": cl.input.sku,
                "description": cl.input.description,
                "quantity": f"{qty.normalize():f}",
                "unit_code": cl.input.unit_code,
                "unit_price": f"{price.normalize():f}",
                "discount_minor": 0,
                "net_minor": cl.net.minor,
                "tax_minor": cl.tax.minor,
                "revenue_account": cl.input.revenue_account,
                "period_start": cl.input.period_start,
                "period_end": cl.input.period_end,
                "note": f"Credit of invoice line {original}",
                "credits_line_id": ids[original],
                "deferred": cl.input.deferred,
            }
        )
        for seq, t in enumerate(cl.taxes, start=1):
            tax_rows.append(
                {
                    "invoice_id": credit_id,
                    "line_no": cl.line_no,
                    "seq": seq,
                    "jurisdiction": t.component.jurisdiction,
                    "category": t.component.category,
                    "rate": f"{t.component.rate.normalize():f}",
                    "tax_type": t.component.tax_type,
                    "exemption_reason": t.component.exemption_reason,
                    "exemption_code": t.component.exemption_code,
                    "taxable_minor": cl.net.minor,
                    "tax_minor": t.amount.minor,
                }
            )
    conn.execute(insert(invoice_lines), rows)
    if tax_rows:
        conn.execute(insert(invoice_line_taxes), tax_rows)


def _credit_quantity(cl: ComputedLine, line: InvoicedLine) -> tuple[Decimal, Decimal]:
    """Quantity and unit price for a credit line so that quantity x price = net exactly."""
    if line.net.amount and line.input.unit_price:
        qty = line.input.quantity * cl.net.amount / line.net.amount
        if qty == qty.quantize(Decimal("0.0001")) and qty * line.input.unit_price == cl.net.amount:
            return qty, line.input.unit_price
    return Decimal(1), cl.net.amount
