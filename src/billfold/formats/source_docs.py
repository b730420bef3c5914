"""Source documents: metered usage, timesheets and shipments, as CSV or JSON lines.

One record per CSV row (below a header) or per JSON line (one object per line). The format is
told from the content: a file whose first non-blank character is ``{`` is JSON lines, anything
else is CSV (comma-separated, UTF-8 with or without BOM). The columns (CSV header names, JSON
keys), all of them expected, in any order, case-insensitive::

    usage       event_id,contract,meter,quantity,date
    timesheet   entry_id,contract,charge,person,role,date,hours,approved_by
    shipment    shipment_id,contract,charge,sku,quantity,ship_date

``contract`` is the contract number; ``charge`` the id of a charge in the contract's JSON;
``date``/``ship_date`` an ISO date (``2026-10-03``) or an ISO timestamp
(``2026-10-03T23:59:59+02:00``: converted to UTC first, its UTC day counts; without an offset
it is taken as UTC). ``approved_by`` empty means the entry is not approved.

Two kinds of problems, kept apart on purpose:

* the *file's shape* is wrong (an unknown or missing CSV column, an unknown JSON key, a CSV row
  with more or fewer values than the header, a line that is not a JSON object): ``read_source``
  raises ``FileRejected`` listing every such problem, and nothing is imported;
* a *record's values* are wrong (an empty id, ``quantity`` that is not a number, a date that is
  not a date, a negative quantity): ``to_record`` returns a ``Problem``, and the service puts
  the record on the exceptions queue with that reason. Such records are never dropped.

In JSON lines a missing key or ``null`` reads as an empty value (a record problem, not a file
one); numbers may be JSON numbers or strings and keep their exact digits (``0.1`` stays
``0.1``, never a float).

Problems carry a stable ``code``. In the order they are checked (the service runs the checks
that need the database; the first hard problem is the reason, the judgement calls at the end
are reported together):

* the id was accepted before: with the same values the record is skipped silently (an
  idempotent re-import); with other values ``duplicate_id``, or ``already_billed`` when that
  timesheet entry or shipment is billed;
* ``unreadable`` (empty required value, not a number, not a date, too long) and
  ``invalid_quantity`` (negative; zero hours or a zero shipment);
* ``unknown_contract``; ``outside_contract``: before the contract's start or after its end
  (open when it has none or auto-renews), or outside the service of the charge (its own
  start/end, a cancellation);
* usage: ``unknown_meter`` (no usage charge of the contract meters it); ``already_billed``
  (the billing period containing the day is billed: late usage could never be billed);
* timesheets: ``unknown_charge`` (no time-and-materials charge of that id); ``unknown_role``
  (not on the rate card); judgement calls ``absurd_quantity`` (more than 24 hours for the
  person that day, counting entries accepted before, of any contract) and
  ``missing_approval`` (``approved_by`` empty);
* shipments: ``unknown_charge`` (no shipment charge of that id); ``wrong_sku``; judgement call
  ``above_ordered_quantity`` (the charge's shipped total would exceed ``ordered_quantity``).

``RELEASABLE`` lists the judgement calls a clerk may override (``billfold exceptions
release``); every other problem must be fixed or rejected.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from billfold.billing.model import ChargeChange, Contract, TimeAndMaterials, UsageCharge
from billfold.billing.validation import service_interval
from billfold.errors import FileRejected, RowError
from billfold.formats.contracts_json import ShipmentCharge
from billfold.formats.customers_csv import decode_text

USAGE, TIMESHEET, SHIPMENT = "usage", "timesheet", "shipment"
KINDS = (USAGE, TIMESHEET, SHIPMENT)

COLUMNS: dict[str, tuple[str, ...]] = {
    USAGE: ("event_id", "contract", "meter", "quantity", "date"),
    TIMESHEET: ("entry_id", "contract", "charge", "person", "role", "date", "hours", "approved_by"),
    SHIPMENT: ("shipment_id", "contract", "charge", "sku", "quantity", "ship_date"),
}
ID_COLUMN = {USAGE: "event_id", TIMESHEET: "entry_id", SHIPMENT: "shipment_id"}

# longest value per text column (the database's limits)
_MAX_LEN = {
    "event_id": 120,
    "entry_id": 120,
    "shipment_id": 120,
    "contract": 60,
    "meter": 60,
    "charge": 60,
    "person": 120,
    "role": 60,
    "approved_by": 120,
    "sku": 64,
}
_MAX_DIGITS = {"quantity": 40, "hours": 20}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")

# --- problem codes ----------------------------------------------------------------------------

UNREADABLE = "unreadable"  # an empty required value, not a number, not a date, too long
INVALID_QUANTITY = "invalid_quantity"  # negative (or, for hours and shipments, zero)
UNKNOWN_CONTRACT = "unknown_contract"
UNKNOWN_METER = "unknown_meter"
UNKNOWN_CHARGE = "unknown_charge"
UNKNOWN_ROLE = "unknown_role"
WRONG_SKU = "wrong_sku"
OUTSIDE_CONTRACT = "outside_contract"
DUPLICATE_ID = "duplicate_id"
ALREADY_BILLED = "already_billed"
ABSURD_QUANTITY = "absurd_quantity"
MISSING_APPROVAL = "missing_approval"
ABOVE_ORDERED = "above_ordered_quantity"

RELEASABLE = frozenset({ABSURD_QUANTITY, MISSING_APPROVAL, ABOVE_ORDERED})
"""Judgement calls: a clerk may accept the record as it is, with a note."""

MAX_HOURS_PER_DAY = Decimal(24)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a record cannot be accepted: a stable ``code`` and a message naming the value."""

    code: str
    message: str

    @property
    def releasable(self) -> bool:
        """True for judgement calls a clerk may override."""
        return self.code in RELEASABLE

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: its line in the file and its values by column (stripped text)."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Usage of ``meter`` under contract ``contract`` on ``day``; ``id`` is the event id."""

    id: str
    contract: str
    meter: str
    quantity: Decimal
    day: date


@dataclass(frozen=True, slots=True)
class TimesheetRecord:
    """``hours`` worked by ``person`` as ``role`` on ``day`` for a time-and-materials charge.

    ``approved_by`` is empty when nobody approved the entry.
    """

    id: str
    contract: str
    charge: str
    person: str
    role: str
    day: date
    hours: Decimal
    approved_by: str


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    """``quantity`` of ``sku`` shipped on ``day`` against a shipment charge of a contract."""

    id: str
    contract: str
    charge: str
    sku: str
    quantity: Decimal
    day: date


SourceRecord = UsageRecord | TimesheetRecord | ShipmentRecord


# --- reading the file -------------------------------------------------------------------------


def read_source(data: bytes, filename: str, kind: str) -> list[RawRecord]:
    """Every record of the file with its line number, or ``FileRejected`` if its shape is
    wrong (see the module docstring). Blank lines are skipped."""
    if kind not in COLUMNS:
        raise ValueError(f"unknown source document kind {kind!r}")
    text = decode_text(data, filename)
    if text.lstrip().startswith("{"):
        return _read_json_lines(text, filename, COLUMNS[kind])
    return _read_csv(text, filename, COLUMNS[kind])


def _read_csv(text: str, filename: str, columns: tuple[str, ...]) -> list[RawRecord]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    errors: list[RowError] = []
    records: list[RawRecord] = []
    last = 0
    for row in reader:
        start, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip().lower() for h in row]
            errors += _header_errors(header, columns, start)
            if errors:
                raise FileRejected(filename, errors)
            continue
        if len(row) != len(header):
            errors.append(
                RowError(
                    start,
                    "(row)",
                    ",".join(row)[:60],
                    f"{len(row)} values, the header has {len(header)} columns",
                )
            )
            continue
        records.append(RawRecord(start, {h: v.strip() for h, v in zip(header, row, strict=True)}))
    if header is None:
        raise FileRejected(filename, [], f"{filename}: no header line; nothing imported")
    if errors:
        raise FileRejected(filename, errors)
    return records


def _header_errors(header: list[str], columns: tuple[str, ...], line: int) -> list[RowError]:
    expected = ", ".join(columns)
    errors = [
        RowError(line, c, "", "required column is missing") for c in columns if c not in header
    ]
    errors += [
        RowError(line, h, h, f"unknown column (expected: {expected})")
        for h in dict.fromkeys(header)
        if h not in columns
    ]
    errors += [
        RowError(line, h, h, "column appears twice")
        for h in dict.fromkeys(header)
        if header.count(h) > 1
    ]
    return errors


def _read_json_lines(text: str, filename: str, columns: tuple[str, ...]) -> list[RawRecord]:
    errors: list[RowError] = []
    records: list[RawRecord] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_float=str, parse_int=str)
        except json.JSONDecodeError as exc:
            errors.append(RowError(n, "(json)", line.strip()[:60], f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(n, "(json)", line.strip()[:60], "expected a JSON object"))
            continue
        values: dict[str, str] = dict.fromkeys(columns, "")
        for key, value in obj.items():
            name = str(key).strip().lower()
            if name not in columns:
                errors.append(
                    RowError(
                        n, str(key), _show(value), f"unknown field (expected: {', '.join(columns)})"
                    )
                )
            elif isinstance(value, dict | list):
                errors.append(RowError(n, name, _show(value), "expected text or a number"))
            else:
                values[name] = _scalar(value)
        records.append(RawRecord(n, values))
    if errors:
        raise FileRejected(filename, errors)
    return records


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:60] if not isinstance(value, str) else value[:60]


# --- typed records ----------------------------------------------------------------------------


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _bad(column: str, value: str, reason: str, code: str = UNREADABLE) -> _Unreadable:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return _Unreadable(Problem(code, f"column {column}, value '{shown}': {reason}"))


def _text(values: dict[str, str], column: str, required: bool = True) -> str:
    value = (values.get(column) or "").strip()
    if required and not value:
        raise _Unreadable(Problem(UNREADABLE, f"column {column}: required value is empty"))
    if len(value) > _MAX_LEN.get(column, 400):
        raise _bad(column, value, f"longer than {_MAX_LEN.get(column, 400)} characters")
    return value


def parse_quantity(value: str, column: str) -> Decimal:
    """A plain decimal (``12``, ``-0.5``, ``1.250``): no exponent, no thousands separators."""
    if not value:
        raise _Unreadable(Problem(UNREADABLE, f"column {column}: required value is empty"))
    if not _NUMBER.fullmatch(value):
        raise _bad(column, value, "not a number")
    if len(value) > _MAX_DIGITS.get(column, 40):
        raise _bad(column, value, "too many digits")
    return Decimal(value)


def parse_day(value: str, column: str) -> date:
    """An ISO date, or an ISO timestamp reduced to its UTC day (naive timestamps are UTC)."""
    if not value:
        raise _Unreadable(Problem(UNREADABLE, f"column {column}: required value is empty"))
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad(column, value, "not a date (YYYY-MM-DD) or ISO timestamp") from None
    return stamp.astimezone(UTC).date() if stamp.tzinfo else stamp.date()


def _quantity(values: dict[str, str], column: str, *, zero_ok: bool) -> Decimal:
    raw = (values.get(column) or "").strip()
    q = parse_quantity(raw, column)
    if q < 0:
        raise _bad(column, raw, "must not be negative", INVALID_QUANTITY)
    if q == 0 and not zero_ok:
        raise _bad(column, raw, "must be more than zero", INVALID_QUANTITY)
    return q


def to_record(kind: str, values: dict[str, str]) -> SourceRecord | Problem:
    """The typed record of a raw one, or the first ``Problem`` with its values.

    Checks what needs no contract: required values, numbers, dates, lengths, and that
    quantities are not negative (usage may be zero; hours and shipped quantities must be
    positive). Everything else is checked against the contract by the service.
    """
    v = values
    try:
        if kind == USAGE:
            return UsageRecord(
                _text(v, "event_id"),
                _text(v, "contract"),
                _text(v, "meter"),
                _quantity(v, "quantity", zero_ok=True),
                parse_day(_text(v, "date"), "date"),
            )
        if kind == TIMESHEET:
            return TimesheetRecord(
                _text(v, "entry_id"),
                _text(v, "contract"),
                _text(v, "charge"),
                _text(v, "person"),
                _text(v, "role"),
                parse_day(_text(v, "date"), "date"),
                _quantity(v, "hours", zero_ok=False),
                _text(v, "approved_by", required=False),
            )
        if kind == SHIPMENT:
            return ShipmentRecord(
                _text(v, "shipment_id"),
                _text(v, "contract"),
                _text(v, "charge"),
                _text(v, "sku"),
                _quantity(v, "quantity", zero_ok=False),
                parse_day(_text(v, "ship_date"), "ship_date"),
            )
    except _Unreadable as exc:
        return exc.problem
    raise ValueError(f"unknown source document kind {kind!r}")


def record_id(kind: str, values: dict[str, str]) -> str:
    """The record's id (event, entry or shipment id) as read, possibly empty."""
    return (values.get(ID_COLUMN[kind]) or "").strip()


# --- checks against the contract (pure; the service supplies the totals) --------------------


def outside_contract(contract: Contract, day: date) -> Problem | None:
    """A day before the contract starts or after its end (open when it auto-renews)."""
    end = None if contract.auto_renew else contract.end
    if day < contract.start or (end is not None and day > end):
        span = f"{contract.start} to {end or 'open'}"
        return Problem(OUTSIDE_CONTRACT, f"{day} is outside contract {contract.label} ({span})")
    return None


def _serves(
    charge: UsageCharge | TimeAndMaterials,
    contract: Contract,
    changes: Sequence[ChargeChange],
    day: date,
) -> bool:
    start, end = service_interval(charge, contract, changes)
    return start <= day and (end is None or day <= end)


def _span(
    charge: UsageCharge | TimeAndMaterials, contract: Contract, changes: Sequence[ChargeChange]
) -> str:
    start, end = service_interval(charge, contract, changes)
    return f"{charge.id}: {start} to {end or 'open'}"


def serving_usage_charges(
    rec: UsageRecord, contract: Contract, charges: Sequence[object], changes: Sequence[ChargeChange]
) -> list[UsageCharge] | Problem:
    """The usage charges of the record's meter that serve its day (after cancellations), or
    why there are none (``unknown_meter``, ``outside_contract``)."""
    usage = [ch for ch in charges if isinstance(ch, UsageCharge)]
    mine = [ch for ch in usage if ch.meter == rec.meter]
    if not mine:
        meters = ", ".join(sorted({ch.meter for ch in usage})) or "none"
        return Problem(
            UNKNOWN_METER,
            f"contract {contract.label} has no usage charge for "
            f"meter {rec.meter!r} (meters: {meters})",
        )
    serving = [ch for ch in mine if _serves(ch, contract, changes, rec.day)]
    if not serving:
        spans = ", ".join(_span(ch, contract, changes) for ch in mine)
        return Problem(
            OUTSIDE_CONTRACT,
            f"{rec.day} is outside the service of meter "
            f"{rec.meter!r} under contract {contract.label} ({spans})",
        )
    return serving


def check_timesheet(
    rec: TimesheetRecord,
    contract: Contract,
    charges: Sequence[object],
    changes: Sequence[ChargeChange],
    hours_before: Decimal,
) -> list[Problem]:
    """Problems of a timesheet entry under its contract; ``hours_before`` is what the person
    has accepted on that day already. Hard problems come alone; the judgement calls
    (``absurd_quantity``, ``missing_approval``) together."""
    tm = {ch.id: ch for ch in charges if isinstance(ch, TimeAndMaterials)}
    charge = tm.get(rec.charge)
    if charge is None:
        return [
            Problem(
                UNKNOWN_CHARGE,
                f"contract {contract.label} has no time-and-materials "
                f"charge {rec.charge!r} (charges: {', '.join(tm) or 'none'})",
            )
        ]
    if rec.role not in charge.rate_card:
        roles = ", ".join(sorted(charge.rate_card))
        return [
            Problem(
                UNKNOWN_ROLE,
                f"role {rec.role!r} is not on the rate card of charge "
                f"{charge.id!r} (roles: {roles})",
            )
        ]
    if not _serves(charge, contract, changes, rec.day):
        return [
            Problem(
                OUTSIDE_CONTRACT,
                f"{rec.day} is outside the service of charge {_span(charge, contract, changes)}",
            )
        ]
    problems = []
    total = hours_before + rec.hours
    if total > MAX_HOURS_PER_DAY:
        problems.append(
            Problem(
                ABSURD_QUANTITY,
                f"{rec.person} would have {total} hours on "
                f"{rec.day}, more than {MAX_HOURS_PER_DAY} ({hours_before} "
                "accepted already)",
            )
        )
    if not rec.approved_by:
        problems.append(
            Problem(MISSING_APPROVAL, f"entry {rec.id!r} is not approved (approved_by is empty)")
        )
    return problems


def check_shipment(
    rec: ShipmentRecord,
    contract: Contract,
    charges: Sequence[ShipmentCharge],
    shipped_before: Decimal,
) -> list[Problem]:
    """Problems of a shipment under its contract; ``shipped_before`` is what was accepted for
    the charge already."""
    charge = next((s for s in charges if s.id == rec.charge), None)
    if charge is None:
        known = ", ".join(s.id for s in charges) or "none"
        return [
            Problem(
                UNKNOWN_CHARGE,
                f"contract {contract.label} has no shipment charge "
                f"{rec.charge!r} (charges: {known})",
            )
        ]
    if rec.sku != charge.sku:
        return [
            Problem(WRONG_SKU, f"charge {charge.id!r} ships SKU {charge.sku!r}, not {rec.sku!r}")
        ]
    total = shipped_before + rec.quantity
    if total > charge.ordered_quantity:
        return [
            Problem(
                ABOVE_ORDERED,
                f"{rec.quantity} more would make {total} shipped under "
                f"charge {charge.id!r}, above the {charge.ordered_quantity} ordered "
                f"({shipped_before} shipped already)",
            )
        ]
    return []


def duplicate_problem(kind: str, rec: SourceRecord, known: SourceRecord, billed: bool) -> Problem:
    """An id accepted before with other values: ``already_billed`` when that record is
    billed, else ``duplicate_id``; the message lists what differs."""
    diff = ", ".join(
        f"{f.name} {getattr(rec, f.name)} here, {getattr(known, f.name)} accepted"
        for f in fields(rec)
        if getattr(rec, f.name) != getattr(known, f.name)
    )
    what = f"{ID_COLUMN[kind]} {rec.id!r} was accepted before with other values ({diff})"
    if billed:
        return Problem(
            ALREADY_BILLED, f"{what} and is billed already (correct it with a credit memo)"
        )
    return Problem(DUPLICATE_ID, what)
