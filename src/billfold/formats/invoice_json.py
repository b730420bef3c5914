"""Invoice JSON (``billfold invoices create --file invoice.json``): one invoice or a list.

Documented in the README ("Invoices"). Every field error names the file, the invoice (by
position and ``ref``), the line and the field::

    invoices.json: invoice 2 (ref PO-7781), line 3, field 'quantity', value '1.23456': ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from billfold.errors import InvalidInput

DOC_TYPES = ("invoice", "debit_note")


@dataclass(frozen=True, slots=True)
class LineRequest:
    quantity: Decimal
    sku: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    unit_code: str | None = None
    tax_category: str | None = None
    tax_rate: Decimal | None = None
    exemption_reason: str | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    period_start: date | None = None
    period_end: date | None = None
    revenue_account: str | None = None
    note: str | None = None
    deferred: bool = False  # set by the billing run for lines billed in advance


@dataclass(frozen=True, slots=True)
class InvoiceRequest:
    entity: str
    customer: str
    issue_date: date
    lines: tuple[LineRequest, ...]
    ref: str | None = None
    currency: str | None = None
    doc_type: str = "invoice"
    corrects: str | None = None
    reason: str | None = None
    supply_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    po_number: str | None = None
    buyer_reference: str | None = None
    payment_terms: str | None = None
    price_mode: str | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    language: str | None = None
    notes: tuple[str, ...] = ()
    where: str = ""


class _Fields:
    def __init__(self, obj: dict[str, Any], where: str) -> None:
        self.obj, self.where = obj, where

    def fail(self, key: str, reason: str) -> InvalidInput:
        value = self.obj.get(key)
        return InvalidInput(f"{self.where}, field '{key}', value '{value}': {reason}")

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise InvalidInput(f"{self.where}: field '{key}' is missing")
            return None
        if not isinstance(value, str | int):
            raise self.fail(key, "expected text")
        return str(value).strip()

    def decimal(self, key: str, required: bool = False) -> Decimal | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise InvalidInput(f"{self.where}: field '{key}' is missing")
            return None
        if isinstance(value, float | bool):
            raise self.fail(key, 'write numbers as strings (e.g. "12.50"), floats lose cents')
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(key, "not a number") from None
        if not result.is_finite():
            raise self.fail(key, "not a finite number")
        return result

    def day(self, key: str, required: bool = False) -> date | None:
        value = self.text(key, required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.fail(key, "not a date (YYYY-MM-DD)") from None

    def period(self, key: str) -> tuple[date | None, date | None]:
        value = self.obj.get(key)
        if value is None:
            return None, None
        if not isinstance(value, dict):
            raise self.fail(key, 'expected {"start": ..., "end": ...}')
        sub = _Fields(value, f"{self.where}, field '{key}'")
        start, end = sub.day("start", True), sub.day("end", True)
        assert start and end
        if end < start:
            raise self.fail(key, "ends before it starts")
        return start, end

    def discount(self, key: str = "discount") -> tuple[Decimal | None, Decimal | None]:
        value = self.obj.get(key)
        if value is None:
            return None, None
        if (
            not isinstance(value, dict)
            or len(value) != 1
            or not ({"percent", "amount"} & value.keys())
        ):
            raise self.fail(key, 'expected {"percent": "10"} or {"amount": "25.00"}')
        sub = _Fields(value, f"{self.where}, field '{key}'")
        return sub.decimal("percent"), sub.decimal("amount")


def parse_invoice_json(data: bytes, filename: str) -> list[InvoiceRequest]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{filename}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{filename}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise InvalidInput(f"{filename}: no invoices in the file")
    return [_invoice(item, filename, n) for n, item in enumerate(items, start=1)]


def _invoice(item: Any, filename: str, n: int) -> InvoiceRequest:
    if not isinstance(item, dict):
        raise InvalidInput(f"{filename}: invoice {n}: expected an object")
    ref = item.get("ref")
    where = f"{filename}: invoice {n}" + (f" (ref {ref})" if ref else "")
    f = _Fields(item, where)
    doc_type = f.text("doc_type") or "invoice"
    if doc_type not in DOC_TYPES:
        raise f.fail(
            "doc_type",
            "expected invoice or debit_note (credit notes are made with "
            "`billfold credit-memos create`)",
        )
    lines_raw = item.get("lines")
    if not isinstance(lines_raw, list) or not lines_raw:
        raise InvalidInput(f"{where}: 'lines' must be a non-empty list")
    period_start, period_end = f.period("service_period")
    disc_pct, disc_amt = f.discount()
    notes = item.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
        raise f.fail("notes", "expected a list of texts")
    price_mode = f.text("price_mode")
    if price_mode not in (None, "exclusive", "inclusive"):
        raise f.fail("price_mode", "expected exclusive or inclusive")
    request = InvoiceRequest(
        entity=f.text("entity", True) or "",
        customer=f.text("customer", True) or "",
        issue_date=f.day("issue_date", True) or date.min,
        lines=tuple(_line(ln, f"{where}, line {i}") for i, ln in enumerate(lines_raw, start=1)),
        ref=f.text("ref"),
        currency=f.text("currency"),
        doc_type=doc_type,
        corrects=f.text("corrects"),
        reason=f.text("reason"),
        supply_date=f.day("supply_date"),
        period_start=period_start,
        period_end=period_end,
        po_number=f.text("po_number"),
        buyer_reference=f.text("buyer_reference"),
        payment_terms=f.text("payment_terms"),
        price_mode=price_mode,
        discount_percent=disc_pct,
        discount_amount=disc_amt,
        language=f.text("language"),
        notes=tuple(notes),
        where=where,
    )
    if doc_type == "debit_note" and not request.corrects:
        raise InvalidInput(f"{where}: a debit note needs 'corrects' (the invoice number)")
    return request


def _line(ln: Any, where: str) -> LineRequest:
    if not isinstance(ln, dict):
        raise InvalidInput(f"{where}: expected an object")
    f = _Fields(ln, where)
    sku, description = f.text("sku"), f.text("description")
    if not sku and not description:
        raise InvalidInput(f"{where}: give a product 'sku' or a free 'description'")
    quantity = f.decimal("quantity") if "quantity" in ln else Decimal(1)
    assert quantity is not None
    start, end = f.period("service_period")
    disc_pct, disc_amt = f.discount()
    category = f.text("tax_category")
    return LineRequest(
        quantity=quantity,
        sku=sku,
        description=description,
        unit_price=f.decimal("unit_price"),
        unit_code=f.text("unit"),
        tax_category=category.upper() if category else None,
        tax_rate=f.decimal("tax_rate"),
        exemption_reason=f.text("exemption_reason"),
        discount_percent=disc_pct,
        discount_amount=disc_amt,
        period_start=start,
        period_end=end,
        revenue_account=f.text("revenue_account"),
        note=f.text("note"),
    )
