"""Cash reports: applications with their bank references, unapplied cash, open suggestions."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select

from billfold.money import Money
from billfold.store.tables import (
    cash_applications,
    cash_suggestions,
    customers,
    receipts,
)

APPLICATION_COLUMNS = (
    "application",
    "receipt",
    "bank_reference",
    "value_date",
    "payer",
    "customer",
    "invoice",
    "kind",
    "currency",
    "amount",
    "mode",
    "confidence",
    "reason",
)


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    application: int | None
    receipt: int
    bank_reference: str
    value_date: date
    payer: str
    customer: str
    invoice: str
    kind: str
    currency: str
    amount: Decimal
    mode: str
    confidence: int
    reason: str

    def values(self) -> list[object]:
        return [getattr(self, c) for c in APPLICATION_COLUMNS]


def applications(conn: Connection, since: date | None = None) -> list[ApplicationRow]:
    """Every application (and every bank fee, which the import booked), oldest first."""
    q = (
        select(
            cash_applications,
            receipts.c.reference,
            receipts.c.value_date,
            receipts.c.payer_name,
            receipts.c.currency,
            customers.c.number,
        )
        .join(receipts, receipts.c.id == cash_applications.c.receipt_id)
        .join(customers, customers.c.id == cash_applications.c.customer_id)
        .order_by(receipts.c.value_date, cash_applications.c.id)
    )
    if since:
        q = q.where(receipts.c.value_date >= since)
    rows = [
        ApplicationRow(
            r.id,
            r.receipt_id,
            r.reference,
            r.value_date,
            r.payer_name or "",
            r.number,
            r.item_ref or "",
            r.kind,
            r.currency,
            Money.from_minor(r.amount_minor, r.currency).amount,
            "automatic" if r.automatic else "manual",
            r.confidence,
            r.reason,
        )
        for r in conn.execute(q)
    ]
    fees = select(receipts).where(receipts.c.charges_minor != 0)
    if since:
        fees = fees.where(receipts.c.value_date >= since)
    for r in conn.execute(fees):
        rows.append(
            ApplicationRow(
                None,
                r.id,
                r.reference,
                r.value_date,
                r.payer_name or "",
                "",
                "",
                "fee",
                r.currency,
                Money.from_minor(r.charges_minor, r.currency).amount,
                "automatic",
                100,
                "bank charges deducted from the credit",
            )
        )
    return sorted(rows, key=lambda x: (x.value_date, x.receipt, x.application or 0))


def applications_csv(rows: list[ApplicationRow]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(APPLICATION_COLUMNS)
    for r in rows:
        w.writerow([str(v) for v in r.values()])
    return buf.getvalue().encode()


@dataclass(frozen=True, slots=True)
class UnappliedRow:
    receipt: int
    value_date: date
    reference: str
    payer: str
    customer: str
    amount: Money
    left: Money
    status: str


def unapplied(conn: Connection) -> list[UnappliedRow]:
    q = (
        select(receipts, customers.c.number)
        .outerjoin(customers, customers.c.id == receipts.c.customer_id)
        .where(receipts.c.applied_minor < receipts.c.amount_minor)
        .order_by(receipts.c.value_date, receipts.c.id)
    )
    return [
        UnappliedRow(
            r.id,
            r.value_date,
            r.reference,
            r.payer_name or "",
            r.number or "",
            Money.from_minor(r.amount_minor, r.currency),
            Money.from_minor(r.amount_minor - r.applied_minor, r.currency),
            r.status,
        )
        for r in conn.execute(q)
    ]


@dataclass(frozen=True, slots=True)
class SuggestionRow:
    receipt: int
    reference: str
    payer: str
    amount: Money
    confidence: int
    reason: str
    proposal: list[dict[str, object]]


def suggestions(conn: Connection) -> list[SuggestionRow]:
    q = (
        select(
            cash_suggestions,
            receipts.c.reference,
            receipts.c.payer_name,
            receipts.c.amount_minor,
            receipts.c.applied_minor,
            receipts.c.currency,
        )
        .join(receipts, receipts.c.id == cash_suggestions.c.receipt_id)
        .where(cash_suggestions.c.status == "open")
        .order_by(cash_suggestions.c.confidence.desc(), cash_suggestions.c.receipt_id)
    )
    return [
        SuggestionRow(
            r.receipt_id,
            r.reference,
            r.payer_name or "",
            Money.from_minor(r.amount_minor - r.applied_minor, r.currency),
            r.confidence,
            r.reason,
            json.loads(r.proposal),
        )
        for r in conn.execute(q)
    ]
