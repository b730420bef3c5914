"""Exchange rates: import (ECB reference-rate CSV as published, or one rate per row) and lookup.

Two layouts are read:

* the European Central Bank's CSV (``eurofxref.csv`` / ``eurofxref-hist.csv``): a ``Date`` column
  and one column per currency, each the amount of that currency for 1 EUR; ``N/A`` cells and the
  trailing empty column are skipped;
* a long layout with columns ``date,base,quote,rate`` (units of ``quote`` per 1 ``base``).

Lookup takes the rate of the date or, when there is none that day (weekends, holidays), the
latest one before it within ``max_age_days``; rates are used directly, inverted, or crossed
through EUR. No rate within the window is an error: an invoice is never converted at a guess.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from sqlalchemy import Connection, and_, select, tuple_

from billfold.errors import BillfoldError, FileRejected, NotFound, RowError
from billfold.formats.customers_csv import decode_text
from billfold.money import Currency
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.store.tables import fx_rates

RATE_DIGITS = 12  # significant digits kept for derived (inverted, crossed) rates
MAX_AGE_DAYS = 5


@dataclass(frozen=True, slots=True)
class FxImport:
    rates: int
    new: int
    already_imported: bool = False
    layout: str = ""


def parse_rates(data: bytes, filename: str) -> tuple[str, list[tuple[date, str, str, Decimal]]]:
    text = decode_text(data, filename)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if header and header[0].lower() == "date" and "base" not in [h.lower() for h in header]:
        return "ECB", _ecb(reader, header, filename)
    if [h.lower() for h in header[:4]] == ["date", "base", "quote", "rate"]:
        return "long", _long(reader, filename)
    raise FileRejected(
        filename,
        [
            RowError(
                1,
                "(header)",
                ",".join(header[:5]),
                "expected the ECB layout (Date,USD,JPY,...) or date,base,quote,rate",
            )
        ],
    )


def _rate(value: str, line: int, column: str, errors: list[RowError]) -> Decimal | None:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        errors.append(RowError(line, column, value, "not a number"))
        return None
    if not rate.is_finite() or rate <= 0:
        errors.append(RowError(line, column, value, "a rate must be positive"))
        return None
    return rate


def _day(value: str, line: int, errors: list[RowError]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(RowError(line, "date", value, "not a date (YYYY-MM-DD)"))
        return None


def _currency(code: str, line: int, column: str, errors: list[RowError]) -> str | None:
    try:
        return Currency.of(code).code
    except BillfoldError as exc:
        errors.append(RowError(line, column, code, str(exc)))
        return None


def _ecb(
    reader: Any,
    header: list[str],
    filename: str,
) -> list[tuple[date, str, str, Decimal]]:
    errors: list[RowError] = []
    currencies = {i: _currency(h, 1, h, errors) for i, h in enumerate(header) if i and h}
    out = []
    for values in reader:
        line = reader.line_num
        if not values or not "".join(values).strip():
            continue
        day = _day(values[0], line, errors)
        for i, cell in enumerate(values[1:], start=1):
            cell = cell.strip()
            if not cell or cell.upper() == "N/A" or i not in currencies:
                continue
            quote = currencies[i]
            rate = _rate(cell, line, header[i], errors)
            if day and quote and rate:
                out.append((day, "EUR", quote, rate))
    if errors:
        raise FileRejected(filename, errors)
    return out


def _long(
    reader: Any,
    filename: str,
) -> list[tuple[date, str, str, Decimal]]:
    errors: list[RowError] = []
    out = []
    for values in reader:
        line = reader.line_num
        if not values or not "".join(values).strip():
            continue
        if len(values) < 4:
            errors.append(RowError(line, "(row)", ",".join(values), "expected 4 values"))
            continue
        day = _day(values[0], line, errors)
        base = _currency(values[1], line, "base", errors)
        quote = _currency(values[2], line, "quote", errors)
        rate = _rate(values[3].strip(), line, "rate", errors)
        if day and base and quote and rate:
            out.append((day, base, quote, rate))
    if errors:
        raise FileRejected(filename, errors)
    return out


def import_rates(tx: Tx, data: bytes, filename: str) -> FxImport:
    fp = file_fingerprint(data)
    if previous_import(tx, "fx", fp):
        return FxImport(0, 0, True)
    layout, rows = parse_rates(data, filename)
    if not rows:
        raise FileRejected(filename, [], f"{filename}: no rates in the file")
    keys = [(d, b, q) for d, b, q, _ in rows]
    existing: dict[tuple[date, str, str], str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = select(
            fx_rates.c.rate_date, fx_rates.c.base, fx_rates.c.quote, fx_rates.c.rate
        ).where(tuple_(fx_rates.c.rate_date, fx_rates.c.base, fx_rates.c.quote).in_(chunk))
        existing.update({(d, b, qu): r for d, b, qu, r in tx.conn.execute(stmt)})
    conflicts = [
        (d, b, q, r)
        for d, b, q, r in rows
        if (d, b, q) in existing and Decimal(existing[(d, b, q)]) != r
    ]
    if conflicts:
        d, b, q, r = conflicts[0]
        raise FileRejected(
            filename,
            [],
            f"{filename}: {len(conflicts)} rate(s) differ from "
            f"rates already imported, e.g. {b}/{q} on {d}: {r} vs "
            f"{existing[(d, b, q)]}; nothing imported",
        )
    new = [
        {"rate_date": d, "base": b, "quote": q, "rate": str(r), "source": layout}
        for d, b, q, r in rows
        if (d, b, q) not in existing
    ]
    if new:
        tx.conn.execute(fx_rates.insert(), new)
    record_import(tx, "fx", filename, fp, len(rows), f"{len(new)} new rates ({layout})")
    return FxImport(len(rows), len(new), False, layout)


def _quantize(value: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = RATE_DIGITS
        return +value


def rate_on(
    conn: Connection, base: str, quote: str, day: date, max_age_days: int = MAX_AGE_DAYS
) -> Decimal:
    """Units of ``quote`` for one ``base`` on ``day`` (or the latest earlier rate in the window)."""
    if base == quote:
        return Decimal(1)
    since = day - timedelta(days=max_age_days)
    direct = _latest(conn, base, quote, since, day)
    if direct is not None:
        return direct
    inverse = _latest(conn, quote, base, since, day)
    if inverse is not None:
        return _quantize(1 / inverse)
    via_base = _pair(conn, "EUR", base, since, day)
    via_quote = _pair(conn, "EUR", quote, since, day)
    if via_base is not None and via_quote is not None:
        return _quantize(via_quote / via_base)
    raise NotFound(
        f"no {base}/{quote} exchange rate on {day} or in the {max_age_days} days "
        f"before (import rates with `billfold fx import`)"
    )


def _pair(conn: Connection, base: str, quote: str, since: date, day: date) -> Decimal | None:
    if base == quote:
        return Decimal(1)
    found = _latest(conn, base, quote, since, day)
    if found is not None:
        return found
    inverse = _latest(conn, quote, base, since, day)
    return None if inverse is None else 1 / inverse


def _latest(conn: Connection, base: str, quote: str, since: date, day: date) -> Decimal | None:
    q = (
        select(fx_rates.c.rate)
        .where(
            and_(
                fx_rates.c.base == base,
                fx_rates.c.quote == quote,
                fx_rates.c.rate_date <= day,
                fx_rates.c.rate_date >= since,
            )
        )
        .order_by(fx_rates.c.rate_date.desc())
        .limit(1)
    )
    value = conn.execute(q).scalar()
    return None if value is None else Decimal(value)
