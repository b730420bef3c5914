"""Card / payment-processor payout CSV (Stripe-style payout reconciliation): bytes in, BankFile out.

Columns (header names are case-insensitive, order free; ``created`` is accepted for
``payout_date`` and ``amount`` for ``gross``)::

    payout_id,payout_date,currency,charge_id,customer_name,customer_email,description,
    invoice_number,gross,fee,net

Required: ``payout_id``, ``payout_date``, ``currency``, ``charge_id``, ``gross``. ``fee`` defaults
to 0; ``net``, when given, must equal ``gross - fee``. One row is one charge (positive gross) or
refund (negative gross). ``invoice_number`` may list several invoices separated by ``;``. Amounts
are plain decimals (``-12.50``) with no more decimals than the currency allows; ``payout_date`` is
an ISO date or date-time (``2026-03-01`` or ``2026-03-01 10:15:00``). Columns not listed here are
ignored with a warning (processor exports carry many more).

One payout becomes one ``Statement`` (``statement_id`` = payout id, ``account`` = the ``account``
argument, default ``PAYOUTS``); each row a ``BankEntry`` with ``amount`` = gross, ``charges``
= fee, ``gross`` = gross, ``reference`` = charge id, ``payer_name`` = customer name, ``batch`` =
payout id, one ``RemittanceLine`` per invoice number, and ``details`` holding the row's ``net``
and the payout's ``payout_net`` (the sum of nets: what arrives at the bank as one credit).

Checked per row, every problem as a ``RowError`` (line, column, value, reason): required values,
decimals, currencies (one per payout), one date per payout, ``net == gross - fee``, charge ids
unique within a payout.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import BillfoldError, FileRejected, RowError
from billfold.formats.customers_csv import decode_text
from billfold.money import Currency, Money

REQUIRED = ("payout_id", "payout_date", "currency", "charge_id", "gross")
OPTIONAL = ("customer_name", "customer_email", "description", "invoice_number", "fee", "net")
ALIASES = {"created": "payout_date", "amount": "gross"}
DEFAULT_ACCOUNT = "PAYOUTS"
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass
class _Payout:
    """The rows of one payout so far, and what they must agree on."""

    payout_id: str
    line: int
    currency: str
    day: date
    entries: list[BankEntry] = field(default_factory=list)
    nets: list[Decimal] = field(default_factory=list)
    charges: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Row:
    """One CSV row by canonical column name, with its line number."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def _header(fieldnames: list[str], warnings: list[str]) -> tuple[list[str], list[RowError]]:
    """Canonical column names for the header, and what is wrong with it."""
    errors: list[RowError] = []
    names: list[str] = []
    for raw in fieldnames:
        name = raw.strip().lower()
        name = ALIASES.get(name, name)
        if name in names:
            errors.append(RowError(1, raw, raw, f"column {name} appears twice"))
        if name not in REQUIRED and name not in OPTIONAL:
            warnings.append(f"line 1: column {raw!r} is not a payout column; ignored")
        names.append(name)
    errors += [RowError(1, c, "", "required column is missing") for c in REQUIRED if c not in names]
    return names, errors


def _amount(row: _Row, column: str, currency: str, errors: list[RowError]) -> Decimal | None:
    raw = row.get(column)
    if not raw:
        return None
    if not _DECIMAL.fullmatch(raw):
        errors.append(RowError(row.line, column, raw, "not a decimal amount (e.g. 12.50)"))
        return None
    try:
        return Money.of(Decimal(raw), currency).amount
    except BillfoldError as exc:
        errors.append(RowError(row.line, column, raw, str(exc)))
        return None


def _date(raw: str) -> date:
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()


def _required(row: _Row, errors: list[RowError]) -> bool:
    missing = [c for c in REQUIRED if not row.get(c)]
    errors += [RowError(row.line, c, "", "required value is missing") for c in missing]
    return not missing


def _currency(row: _Row, errors: list[RowError]) -> str | None:
    try:
        return Currency.of(row.get("currency")).code
    except BillfoldError as exc:
        errors.append(RowError(row.line, "currency", row.get("currency"), str(exc)))
        return None


def _payout_day(row: _Row, errors: list[RowError]) -> date | None:
    try:
        return _date(row.get("payout_date"))
    except ValueError:
        raw = row.get("payout_date")
        errors.append(RowError(row.line, "payout_date", raw, "not an ISO date (YYYY-MM-DD)"))
        return None


def _check_payout(
    row: _Row, payout: _Payout, currency: str | None, day: date | None, errors: list[RowError]
) -> None:
    """The row must agree with the first row of its payout; charge ids are unique in it."""
    pid = payout.payout_id
    if currency is not None and currency != payout.currency:
        errors.append(
            RowError(
                row.line,
                "currency",
                row.get("currency"),
                f"payout {pid} is in {payout.currency} (line {payout.line})",
            )
        )
    if day is not None and day != payout.day:
        errors.append(
            RowError(
                row.line,
                "payout_date",
                row.get("payout_date"),
                f"payout {pid} is dated {payout.day} (line {payout.line})",
            )
        )
    charge = row.get("charge_id")
    if charge in payout.charges:
        errors.append(
            RowError(
                row.line,
                "charge_id",
                charge,
                f"duplicate in payout {pid} (first on line {payout.charges[charge]})",
            )
        )
    payout.charges.setdefault(charge, row.line)


def _amounts(
    row: _Row, currency: str, errors: list[RowError]
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(gross, fee, net) of a row, with ``net == gross - fee`` checked."""
    before = len(errors)
    gross = _amount(row, "gross", currency, errors)
    fee = _amount(row, "fee", currency, errors)
    fee = Money.zero(currency).amount if fee is None else fee
    net = _amount(row, "net", currency, errors)
    if gross is None or len(errors) > before:
        return None
    if net is not None and net != gross - fee:
        reason = f"net must be gross - fee = {gross} - {fee} = {gross - fee}"
        errors.append(RowError(row.line, "net", row.get("net"), reason))
        return None
    return gross, fee, gross - fee if net is None else net


def _entry(row: _Row, payout: _Payout, gross: Decimal, fee: Decimal, net: Decimal) -> BankEntry:
    invoices = [v.strip() for v in row.get("invoice_number").split(";") if v.strip()]
    note = "refund" if gross < 0 else None
    single = gross if len(invoices) == 1 else None
    details = [("customer_email", row.get("customer_email")), ("net", str(net))]
    return BankEntry(
        amount=gross,
        currency=payout.currency,
        value_date=payout.day,
        reference=row.get("charge_id"),
        booking_date=payout.day,
        payer_name=row.get("customer_name") or None,
        text=(row.get("description"),) if row.get("description") else (),
        lines=tuple(RemittanceLine(inv, "invoice", single, note=note) for inv in invoices),
        charges=fee,
        gross=gross,
        type_code="refund" if gross < 0 else "charge",
        batch=payout.payout_id,
        details=tuple((k, v) for k, v in details if v),
    )


def _statement(payout: _Payout, account: str) -> Statement:
    total = str(sum(payout.nets, Decimal(0)))
    entries = tuple(replace(e, details=(*e.details, ("payout_net", total))) for e in payout.entries)
    return Statement(
        statement_id=payout.payout_id,
        account=account,
        currency=payout.currency,
        entries=entries,
        statement_date=payout.day,
    )


def _rows(text: str, warnings: list[str]) -> tuple[list[_Row], list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, "(header)", "", "the file has no header line")]
    names, errors = _header(header, warnings)
    rows: list[_Row] = []
    line = 1
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            reason = f"{len(values)} values but the header has {len(names)} columns"
            errors.append(RowError(start, "(row)", "", reason))
            continue
        rows.append(_Row(start, dict(zip(names, values, strict=True))))
    return rows, errors


def parse_payout_csv(
    data: bytes, filename: str = "payouts.csv", *, account: str = DEFAULT_ACCOUNT
) -> BankFile:
    """Parse a payout CSV; raise ``FileRejected`` listing every bad value."""
    warnings: list[str] = []
    rows, errors = _rows(decode_text(data, filename), warnings)
    if any(e.line == 1 for e in errors):
        raise FileRejected(filename, errors)  # without a usable header the rows mean nothing
    payouts: dict[str, _Payout] = {}
    for row in rows:
        if not _required(row, errors):
            continue
        currency, day = _currency(row, errors), _payout_day(row, errors)
        payout = payouts.get(row.get("payout_id"))
        if payout is None and currency is not None and day is not None:
            payout = payouts[row.get("payout_id")] = _Payout(
                row.get("payout_id"), row.line, currency, day
            )
        if payout is None:
            continue
        _check_payout(row, payout, currency, day, errors)
        amounts = _amounts(row, payout.currency, errors)
        if amounts is not None:
            payout.entries.append(_entry(row, payout, *amounts))
            payout.nets.append(amounts[2])
    if not rows and not errors:
        errors.append(RowError(2, "(row)", "", "no payout rows below the header"))
    if errors:
        raise FileRejected(filename, errors)
    return BankFile(
        format="payout_csv",
        statements=tuple(_statement(p, account) for p in payouts.values()),
        warnings=tuple(warnings),
    )
