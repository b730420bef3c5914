"""Source documents in (usage, timesheets, shipments) and the exceptions queue they feed.

An import reads the whole file (``formats.source_docs``; a file of the wrong shape is refused
whole with ``FileRejected`` and nothing is written), checks every record against its contract,
stores the valid ones and queues every invalid one with its reason -- no record is dropped.
One transaction per file; the same file twice (same fingerprint) changes nothing.

Every record is checked against its contract (the rules and their codes are listed in
``formats.source_docs``); the database supplies the contract models, the billed keys, the ids
accepted before, the hours accepted per person and day and the quantity shipped per charge.
Usage is "already billed" when the billing period of its usage charge containing its day (cut
as the engine cuts it, after cancellations) has its key ``<charge>:<start>:<end>`` in
``billed_charges`` for that contract.

The queue (``source_exceptions``): ``fix_exception`` edits fields and re-checks (accepted and
``fixed`` when valid, refused with the new reason otherwise); ``release_exception`` accepts a
record as it is when every remaining problem is a judgement call (a released timesheet entry
without approver is stored as approved by the releasing user); ``reject_exception`` closes it.
Each resolution records who, when, the note or before/after, and an audit row. The record is
kept as read; a later import that accepts a record with the same id closes its open
exceptions as ``fixed`` (superseded), and a record identical to one already open is not
queued twice. Per file there is one audit row (the import), not one per record.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Table, insert, select, update

from billfold.billing.model import UsageCharge
from billfold.billing.schedule import Period, add_months, billing_periods
from billfold.billing.validation import service_interval
from billfold.errors import Conflict, InvalidInput, NotFound
from billfold.formats.source_docs import (
    ALREADY_BILLED,
    COLUMNS,
    ID_COLUMN,
    KINDS,
    SHIPMENT,
    TIMESHEET,
    UNKNOWN_CONTRACT,
    USAGE,
    Problem,
    RawRecord,
    ShipmentRecord,
    SourceRecord,
    TimesheetRecord,
    UsageRecord,
    check_shipment,
    check_timesheet,
    duplicate_problem,
    outside_contract,
    read_source,
    record_id,
    serving_usage_charges,
    to_record,
)
from billfold.services.context import Tx
from billfold.services.contracts import ContractModel, billed_keys, load_models
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.store.bulk import bulk_insert, insert_rows
from billfold.store.tables import (
    contracts,
    shipments,
    source_exceptions,
    timesheet_entries,
    usage_records,
)

CHUNK = 500
STATUSES = ("open", "fixed", "released", "rejected")
IMPORT_KIND = {USAGE: "usage", TIMESHEET: "timesheets", SHIPMENT: "shipments"}
TABLES: dict[str, Table] = {USAGE: usage_records, TIMESHEET: timesheet_entries, SHIPMENT: shipments}
# record field -> table column (besides contract, stored as contract_id)
DB_COLUMNS = {
    USAGE: {"id": "event_id", "meter": "meter", "quantity": "quantity", "day": "usage_date"},
    TIMESHEET: {"id": "entry_id", "charge": "charge_id", "person": "person", "role": "role",
                "day": "work_date", "hours": "hours", "approved_by": "approved_by"},
    SHIPMENT: {"id": "shipment_id", "charge": "charge_id", "sku": "sku", "quantity": "quantity",
               "day": "ship_date"},
}  # fmt: skip
DECIMALS = {"quantity", "hours"}  # stored as exact decimal text
RECORD_TYPES: dict[str, type[SourceRecord]] = {
    USAGE: UsageRecord, TIMESHEET: TimesheetRecord, SHIPMENT: ShipmentRecord,
}  # fmt: skip
KIND_OF = {t: k for k, t in RECORD_TYPES.items()}
IDENTICAL: Literal["identical"] = "identical"
Verdict = list[Problem] | Literal["identical"]


def timesheet_key(charge_id: str, entry_id: str) -> str:
    """The billing engine's exactly-once key of one timesheet entry."""
    return f"{charge_id}:timesheet:{entry_id}"


def shipment_key(shipment_id: str) -> str:
    """The billing run's exactly-once key of one shipment."""
    return f"shipment:{shipment_id}"


@dataclass(frozen=True, slots=True)
class SourceImport:
    """What an import did: records read, accepted, skipped as identical duplicates, queued as
    exceptions (their ids), and not queued again because an identical one is open already."""

    filename: str
    kind: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    exceptions: int = 0
    already_queued: int = 0
    superseded: int = 0
    already_imported: bool = False
    exception_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceException:
    """One queued record: where it came from, its values as read, why, and how it ended."""

    id: int
    kind: str
    source_file: str
    line: int
    record: dict[str, str]
    reason: str
    status: str
    resolution: dict[str, Any] | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    @property
    def record_id(self) -> str:
        """The event, entry or shipment id of the record (as read)."""
        return record_id(self.kind, self.record)


# --- import -----------------------------------------------------------------------------------


def import_usage(tx: Tx, data: bytes, filename: str) -> SourceImport:
    """Import metered usage (``event_id,contract,meter,quantity,date``)."""
    return _import(tx, USAGE, data, filename)


def import_timesheets(tx: Tx, data: bytes, filename: str) -> SourceImport:
    """Import timesheet entries (``entry_id,contract,charge,person,role,date,hours,
    approved_by``)."""
    return _import(tx, TIMESHEET, data, filename)


def import_shipments(tx: Tx, data: bytes, filename: str) -> SourceImport:
    """Import shipments (``shipment_id,contract,charge,sku,quantity,ship_date``)."""
    return _import(tx, SHIPMENT, data, filename)


def _import(tx: Tx, kind: str, data: bytes, filename: str) -> SourceImport:
    fingerprint = file_fingerprint(data)
    if previous_import(tx, IMPORT_KIND[kind], fingerprint):
        return SourceImport(filename, kind, already_imported=True)
    raws = read_source(data, filename, kind)
    parsed = [(raw, to_record(kind, raw.values)) for raw in raws]
    checker = _Checker(tx, kind, [r for _, r in parsed if not isinstance(r, Problem)])
    queue = _OpenQueue(tx.conn, kind)
    source = filename[:400]
    accepted: list[dict[str, Any]] = []
    accepted_at: dict[str, RawRecord] = {}
    queued: list[dict[str, Any]] = []
    duplicates = already_queued = 0
    for raw, rec in parsed:
        verdict: Verdict = [rec] if isinstance(rec, Problem) else checker.check(rec)
        if isinstance(verdict, str):
            duplicates += 1
        elif not verdict:
            assert not isinstance(rec, Problem)
            accepted.append(checker.accept(rec, source))
            accepted_at[rec.id] = raw
        elif queue.holds(raw.values):
            already_queued += 1
        else:
            queue.add(raw.values)
            queued.append(_exception_row(tx, kind, source, raw.line, raw.values, verdict))
    bulk_insert(tx.conn, TABLES[kind], accepted)
    ids = insert_rows(tx.conn, source_exceptions, queued)
    superseded = _supersede(tx, queue, accepted_at, filename)
    summary = (
        f"{len(accepted)} accepted, {duplicates} duplicate(s) skipped, "
        f"{len(ids)} exception(s)"
        + (f" (ids {ids[0]}-{ids[-1]})" if ids else "")
        + (f", {already_queued} already queued" if already_queued else "")
        + (f", {superseded} open exception(s) superseded" if superseded else "")
    )
    record_import(tx, IMPORT_KIND[kind], filename, fingerprint, len(raws), summary)
    counts = (len(raws), len(accepted), duplicates, len(ids), already_queued, superseded)
    return SourceImport(filename, kind, *counts, exception_ids=tuple(ids))


def _exception_row(
    tx: Tx, kind: str, source: str, line: int, values: Mapping[str, str], problems: list[Problem]
) -> dict[str, Any]:
    record = json.dumps(dict(values), sort_keys=True, ensure_ascii=False)
    row = dict(kind=kind, source_file=source, line=line, record=record, reason=_reason(problems))
    return {**row, "status": "open", "created_at": tx.now, **_UNRESOLVED}


_UNRESOLVED = {"resolution": None, "resolved_at": None, "resolved_by": None}


def _reason(problems: Sequence[Problem]) -> str:
    text = "; ".join(str(p) for p in problems)
    return text if len(text) <= 400 else text[:397] + "..."


class _OpenQueue:
    """The open exceptions of one kind: their values (so an identical record is not queued
    twice) and their ids by record id (so an accepted record closes them)."""

    def __init__(self, conn: Connection, kind: str) -> None:
        self.kind = kind
        self.seen: set[str] = set()
        self.by_record: dict[str, list[int]] = defaultdict(list)
        for eid, record in conn.execute(
            select(source_exceptions.c.id, source_exceptions.c.record).where(
                source_exceptions.c.kind == kind, source_exceptions.c.status == "open"
            )
        ):
            values = json.loads(record)
            self.seen.add(json.dumps(values, sort_keys=True))
            self.by_record[record_id(kind, values)].append(eid)

    def holds(self, values: Mapping[str, str]) -> bool:
        return json.dumps(dict(values), sort_keys=True) in self.seen

    def add(self, values: Mapping[str, str]) -> None:
        self.seen.add(json.dumps(dict(values), sort_keys=True))


def _supersede(
    tx: Tx, queue: _OpenQueue, accepted_at: Mapping[str, RawRecord], filename: str
) -> int:
    count = 0
    for rid, raw in accepted_at.items():
        for eid in queue.by_record.get(rid, []):
            resolution = {"superseded_by": f"{filename} line {raw.line}", "after": raw.values}
            _close(tx, eid, "fixed", resolution)
            tx.audit(
                "supersede",
                "source_exception",
                eid,
                before={"status": "open"},
                after={"status": "fixed", **resolution},
            )
            count += 1
    return count


# --- checking records against their contracts -------------------------------------------------


class _Checker:
    """What checking a batch of records needs from the database, loaded once, plus the running
    totals (hours per person and day, quantity shipped per charge) as records are accepted."""

    def __init__(self, tx: Tx, kind: str, records: Sequence[SourceRecord]) -> None:
        self.tx, self.kind = tx, kind
        self.models = _load_contracts(tx.conn, {r.contract for r in records})
        self.billed = billed_keys(tx.conn, [m.row_id for m in self.models.values()])
        self.accepted = _accepted_records(tx.conn, kind, {r.id for r in records})
        days = [r.day for r in records]
        self.horizon = add_months(max(days, default=date(2000, 1, 1)), 13)
        self.periods: dict[tuple[int, str], list[Period]] = {}
        self.hours: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
        self.shipped: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        if kind == TIMESHEET and days:
            self._load_hours(
                {r.person for r in records if isinstance(r, TimesheetRecord)}, min(days), max(days)
            )
        if kind == SHIPMENT and self.models:
            self._load_shipped([m.row_id for m in self.models.values()])

    def check(self, rec: SourceRecord) -> Verdict:
        """``IDENTICAL`` for a record accepted before with the same values, else its problems
        (none: valid)."""
        known = self.accepted.get(rec.id)
        if known is not None:
            if known[0] == rec:
                return IDENTICAL
            return [duplicate_problem(self.kind, rec, known[0], self._is_billed(*known))]
        model = self.models.get(rec.contract)
        if model is None:
            return [Problem(UNKNOWN_CONTRACT, f"no contract {rec.contract!r}")]
        c = model.contract
        outside = outside_contract(c, rec.day)
        if outside is not None:
            return [outside]
        if isinstance(rec, TimesheetRecord):
            hours = self.hours[(rec.person, rec.day)]
            return check_timesheet(rec, c, model.charges, model.changes, hours)
        if isinstance(rec, ShipmentRecord):
            shipped = self.shipped[(model.row_id, rec.charge)]
            return check_shipment(rec, c, model.shipments, shipped)
        serving = serving_usage_charges(rec, c, model.charges, model.changes)
        if isinstance(serving, Problem):
            return [serving]
        for charge in serving:
            p = self._period(model, charge, rec.day)
            if p is not None and p.key in self.billed[model.row_id]:
                return [
                    Problem(
                        ALREADY_BILLED,
                        f"the usage of charge {charge.id!r} from "
                        f"{p.start} to {p.end} (contract {c.label}) is billed already",
                    )
                ]
        return []

    def accept(self, rec: SourceRecord, source: str) -> dict[str, Any]:
        """Count ``rec`` as accepted and return its row."""
        model = self.models[rec.contract]
        self.accepted[rec.id] = (rec, model.row_id)
        if isinstance(rec, TimesheetRecord):
            self.hours[(rec.person, rec.day)] += rec.hours
        elif isinstance(rec, ShipmentRecord):
            self.shipped[(model.row_id, rec.charge)] += rec.quantity
        return _row(rec, model.row_id, source, self.tx.now)

    def _is_billed(self, known: SourceRecord, contract_id: int) -> bool:
        if isinstance(known, TimesheetRecord):
            key = timesheet_key(known.charge, known.id)
        elif isinstance(known, ShipmentRecord):
            key = shipment_key(known.id)
        else:
            return False  # a usage record is billed as part of its period, not by itself
        if contract_id not in self.billed:
            self.billed.update(billed_keys(self.tx.conn, [contract_id]))
        return key in self.billed[contract_id]

    def _period(self, model: ContractModel, charge: UsageCharge, day: date) -> Period | None:
        """The billing period of ``charge`` containing ``day`` (cut as the engine cuts it)."""
        key = (model.row_id, charge.id)
        if key not in self.periods:
            _, end = service_interval(charge, model.contract, model.changes)
            self.periods[key] = billing_periods(
                charge, model.contract, self.horizon, service_end=end
            )
        found = self.periods[key]
        i = bisect.bisect_right([p.start for p in found], day) - 1
        return found[i] if i >= 0 and found[i].start <= day <= found[i].end else None

    def _load_hours(self, persons: set[str], first: date, last: date) -> None:
        t = timesheet_entries
        for chunk in _chunks(sorted(persons)):
            for person, day, hours in self.tx.conn.execute(
                select(t.c.person, t.c.work_date, t.c.hours).where(
                    t.c.person.in_(chunk), t.c.work_date.between(first, last)
                )
            ):
                self.hours[(person, day)] += Decimal(hours)

    def _load_shipped(self, contract_ids: list[int]) -> None:
        s = shipments
        for chunk in _chunks(contract_ids):
            for cid, charge, quantity in self.tx.conn.execute(
                select(s.c.contract_id, s.c.charge_id, s.c.quantity).where(
                    s.c.contract_id.in_(chunk)
                )
            ):
                self.shipped[(cid, charge)] += Decimal(quantity)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _load_contracts(conn: Connection, numbers: set[str]) -> dict[str, ContractModel]:
    rows: list[Any] = []
    for chunk in _chunks(sorted(numbers)):
        rows += conn.execute(select(contracts).where(contracts.c.number.in_(chunk))).all()
    return {r.number: m for r, m in zip(rows, load_models(conn, rows), strict=True)}


def _accepted_records(
    conn: Connection, kind: str, ids: set[str]
) -> dict[str, tuple[SourceRecord, int]]:
    table = TABLES[kind]
    id_col = table.c[ID_COLUMN[kind]]
    found: dict[str, tuple[SourceRecord, int]] = {}
    for chunk in _chunks(sorted(ids)):
        for r in conn.execute(
            select(table, contracts.c.number.label("contract_number"))
            .join(contracts, contracts.c.id == table.c.contract_id)
            .where(id_col.in_(chunk))
        ):
            found[r._mapping[ID_COLUMN[kind]]] = (_from_row(kind, r), r.contract_id)
    return found


def _from_row(kind: str, r: Any) -> SourceRecord:
    values: dict[str, Any] = {f: r._mapping[c] for f, c in DB_COLUMNS[kind].items()}
    values["contract"] = r.contract_number
    for f in DECIMALS & values.keys():
        values[f] = Decimal(values[f])
    return RECORD_TYPES[kind](**values)


def _row(rec: SourceRecord, contract_id: int, source: str, now: datetime) -> dict[str, Any]:
    kind = KIND_OF[type(rec)]
    row = {"contract_id": contract_id, "source_file": source, "created_at": now}
    for f, c in DB_COLUMNS[kind].items():
        value = getattr(rec, f)
        row[c] = f"{value:f}" if f in DECIMALS else value
    return row


# --- the exceptions queue ---------------------------------------------------------------------


def list_exceptions(
    conn: Connection, kind: str | None = None, status: str | None = "open", limit: int | None = None
) -> list[SourceException]:
    """Queued records, oldest first; ``kind``/``status`` ``None`` means all."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r} (expected: {', '.join(KINDS)})")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r} (expected: {', '.join(STATUSES)})")
    q = select(source_exceptions).order_by(source_exceptions.c.id)
    if kind is not None:
        q = q.where(source_exceptions.c.kind == kind)
    if status is not None:
        q = q.where(source_exceptions.c.status == status)
    if limit is not None:
        q = q.limit(limit)
    return [_exception(r) for r in conn.execute(q)]


def show_exception(conn: Connection, exception_id: int) -> SourceException:
    """One queued record, whatever its status."""
    row = conn.execute(
        select(source_exceptions).where(source_exceptions.c.id == exception_id)
    ).first()
    if row is None:
        raise NotFound(f"no source exception {exception_id}")
    return _exception(row)


def _exception(r: Any) -> SourceException:
    values = dict(r._mapping)  # the dataclass fields are the table's columns
    values["record"] = json.loads(values["record"])
    values["resolution"] = json.loads(values["resolution"]) if values["resolution"] else None
    return SourceException(**values)


def _open(tx: Tx, exception_id: int) -> SourceException:
    exc = show_exception(tx.conn, exception_id)
    if exc.status != "open":
        raise Conflict(
            f"source exception {exception_id} is {exc.status} already "
            f"(by {exc.resolved_by} at {exc.resolved_at})"
        )
    return exc


def _close(tx: Tx, exception_id: int, status: str, resolution: Mapping[str, Any]) -> None:
    done = tx.conn.execute(
        update(source_exceptions)
        .where(source_exceptions.c.id == exception_id, source_exceptions.c.status == "open")
        .values(
            status=status,
            resolution=json.dumps(resolution, sort_keys=True, default=str),
            resolved_at=tx.now,
            resolved_by=tx.actor,
        )
    )
    if done.rowcount != 1:
        raise Conflict(f"source exception {exception_id} was resolved by someone else")


def _resolve(
    tx: Tx,
    exc: SourceException,
    action: str,
    status: str,
    resolution: Mapping[str, Any],
    after: Mapping[str, Any] | None = None,
) -> SourceException:
    """Close ``exc`` with ``status`` and audit it (``after``: the audit image, default the
    resolution)."""
    _close(tx, exc.id, status, resolution)
    before = {"status": "open", "reason": exc.reason, "record": exc.record}
    tx.audit(
        action, "source_exception", exc.id, before, {"status": status, **(after or resolution)}
    )
    return show_exception(tx.conn, exc.id)


def fix_exception(tx: Tx, exception_id: int, changes: Mapping[str, str]) -> SourceException:
    """Change fields of a queued record and check it again: valid, it is accepted and the
    exception is ``fixed`` (before/after kept); still invalid, ``InvalidInput`` gives the new
    reason and nothing changes. A fix that makes the record identical to one accepted before
    closes the exception without adding anything."""
    exc = _open(tx, exception_id)
    columns = COLUMNS[exc.kind]
    if not changes:
        raise InvalidInput(
            f"source exception {exception_id}: nothing to change (fields: {', '.join(columns)})"
        )
    edits = {k.strip().lower(): v.strip() for k, v in changes.items()}
    unknown = sorted(set(edits) - set(columns))
    if unknown:
        raise InvalidInput(
            f"source exception {exception_id}: unknown field(s) "
            f"{', '.join(unknown)} (fields: {', '.join(columns)})"
        )
    after = {**exc.record, **edits}
    rec = to_record(exc.kind, after)
    verdict: Verdict = (
        [rec] if isinstance(rec, Problem) else _Checker(tx, exc.kind, [rec]).check(rec)
    )
    if isinstance(verdict, list) and verdict:
        raise InvalidInput(
            f"source exception {exception_id} is still invalid after the change: "
            f"{_reason(verdict)}; nothing changed"
        )
    assert not isinstance(rec, Problem)
    if isinstance(verdict, list):
        _accept_one(tx, exc, rec)
    changed = {
        k: {"before": exc.record.get(k, ""), "after": v}
        for k, v in edits.items()
        if exc.record.get(k, "") != v
    }
    resolution = {
        "before": exc.record,
        "after": after,
        "changed": changed,
        "accepted": not isinstance(verdict, str),
    }
    audit = {"record": after, "changed": changed}
    return _resolve(tx, exc, "fix", "fixed", resolution, audit)


def release_exception(tx: Tx, exception_id: int, note: str) -> SourceException:
    """Accept a queued record as it is, overriding judgement calls (missing approval, absurd
    hours, above the ordered quantity). Refused while any other problem remains (unknown
    contract, meter, charge or role, duplicate id, billed already, unreadable values ...)."""
    if not note.strip():
        raise InvalidInput("a release needs a note saying why")
    exc = _open(tx, exception_id)
    rec = to_record(exc.kind, exc.record)
    if isinstance(rec, Problem):
        raise InvalidInput(
            f"source exception {exception_id} cannot be released: {rec}; fix "
            "the record or reject it"
        )
    verdict = _Checker(tx, exc.kind, [rec]).check(rec)
    if isinstance(verdict, str):
        raise Conflict(
            f"source exception {exception_id}: an identical record was accepted "
            "already; reject this exception"
        )
    hard = [p for p in verdict if not p.releasable]
    if hard:
        raise InvalidInput(
            f"source exception {exception_id} cannot be released: "
            f"{_reason(hard)} (only missing approval, absurd quantities and "
            "quantities above the order are judgement calls)"
        )
    if isinstance(rec, TimesheetRecord) and not rec.approved_by:
        rec = replace(rec, approved_by=tx.actor[:120])
    _accept_one(tx, exc, rec)
    resolution = {"note": note.strip(), "overridden": [str(p) for p in verdict]}
    if isinstance(rec, TimesheetRecord):
        resolution["approved_by"] = rec.approved_by
    return _resolve(tx, exc, "release", "released", resolution)


def reject_exception(tx: Tx, exception_id: int, note: str) -> SourceException:
    """Close a queued record without accepting it (it will never be billed)."""
    if not note.strip():
        raise InvalidInput("a rejection needs a note saying why")
    exc = _open(tx, exception_id)
    return _resolve(tx, exc, "reject", "rejected", {"note": note.strip()})


def _accept_one(tx: Tx, exc: SourceException, rec: SourceRecord) -> None:
    checker = _Checker(tx, exc.kind, [rec])
    tx.conn.execute(insert(TABLES[exc.kind]).values(**checker.accept(rec, exc.source_file)))
