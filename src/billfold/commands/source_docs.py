"""CLI: source documents in (usage, timesheets, shipments) and the exceptions queue.

``billfold usage import FILE``, ``billfold timesheets import FILE``, ``billfold shipments
import FILE`` (CSV or JSON lines, told apart by content); ``billfold exceptions list|show|fix|
release|reject`` works the queue of records that were not accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from billfold.commands.common import open_app, out, read_file
from billfold.errors import InvalidInput
from billfold.formats.source_docs import COLUMNS
from billfold.services import source_docs
from billfold.services.context import Tx

usage_app = typer.Typer(help="Metered usage records.", no_args_is_help=True)
timesheets_app = typer.Typer(help="Timesheet entries for time-and-materials.", no_args_is_help=True)
shipments_app = typer.Typer(help="Shipments against purchase orders.", no_args_is_help=True)
exceptions_app = typer.Typer(
    help="Source records that were not accepted: fix, release or reject them.",
    no_args_is_help=True,
)

APPS = (
    (usage_app, "usage"),
    (timesheets_app, "timesheets"),
    (shipments_app, "shipments"),
    (exceptions_app, "exceptions"),
)

Importer = Callable[[Tx, bytes, str], source_docs.SourceImport]
NoteOpt = Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")]


def _run_import(importer: Importer, file: Path) -> None:
    with open_app().transaction() as tx:
        r = importer(tx, read_file(file), file.name)
    if r.already_imported:
        out.print(f"{file.name}: already imported; nothing changed.")
        return
    parts = [f"{r.rows} records", f"{r.accepted} accepted"]
    if r.duplicates:
        parts.append(f"{r.duplicates} duplicate(s) skipped")
    parts.append(f"{r.exceptions} exception(s) queued")
    if r.already_queued:
        parts.append(f"{r.already_queued} already in the queue")
    if r.superseded:
        parts.append(f"{r.superseded} open exception(s) closed by the new records")
    out.print(f"{file.name}: " + ", ".join(parts) + ".")
    if r.exceptions:
        out.print(f"See them with: billfold exceptions list --kind {r.kind}")


@usage_app.command("import")
def usage_import(file: Path) -> None:
    """Import usage: event_id, contract, meter, quantity, date (CSV or JSON lines)."""
    _run_import(source_docs.import_usage, file)


@timesheets_app.command("import")
def timesheets_import(file: Path) -> None:
    """Import timesheets: entry_id, contract, charge, person, role, date, hours, approved_by."""
    _run_import(source_docs.import_timesheets, file)


@shipments_app.command("import")
def shipments_import(file: Path) -> None:
    """Import shipments: shipment_id, contract, charge, sku, quantity, ship_date."""
    _run_import(source_docs.import_shipments, file)


@exceptions_app.command("list")
def exceptions_list(
    kind: Annotated[
        str | None, typer.Option("--kind", help="usage, timesheet or shipment.")
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="open, fixed, released, rejected or all.")
    ] = "open",
    limit: Annotated[int, typer.Option("--limit", help="At most this many, oldest first.")] = 200,
) -> None:
    """List queued records with their reasons."""
    with open_app().reading() as conn:
        rows = source_docs.list_exceptions(
            conn, kind, None if status == "all" else status, limit=limit
        )
    table = Table("id", "kind", "record", "file", "line", "status", "reason")
    for e in rows:
        table.add_row(
            str(e.id),
            e.kind,
            escape(e.record_id),
            escape(e.source_file),
            str(e.line),
            e.status,
            escape(e.reason),
        )
    out.print(table)
    out.print(f"{len(rows)} exception(s)" + (" (limit reached)" if len(rows) == limit else ""))


@exceptions_app.command("show")
def exceptions_show(exception_id: int) -> None:
    """One queued record: its values as read, the reason, and how it was resolved."""
    with open_app().reading() as conn:
        e = source_docs.show_exception(conn, exception_id)
    out.print(f"exception {e.id} ({e.kind}), {e.status}", markup=False)
    out.print(f"from {e.source_file} line {e.line}, queued {e.created_at}", markup=False)
    out.print(f"reason: {e.reason}", markup=False)
    for column in COLUMNS[e.kind]:
        out.print(f"  {column}: {e.record.get(column, '')}", markup=False)
    if e.status != "open":
        out.print(f"{e.status} by {e.resolved_by} at {e.resolved_at}", markup=False)
        out.print(json.dumps(e.resolution, indent=2, sort_keys=True), markup=False)


def _assignments(values: list[str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise InvalidInput(f"--set {item!r}: expected field=value")
        changes[field.strip()] = value
    return changes


@exceptions_app.command("fix")
def exceptions_fix(
    exception_id: int,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="field=value; repeat for several.")
    ] = None,
) -> None:
    """Correct fields of a queued record; it is accepted when it passes every check."""
    with open_app().transaction() as tx:
        e = source_docs.fix_exception(tx, exception_id, _assignments(sets or []))
    done = "accepted" if (e.resolution or {}).get("accepted") else "identical to an accepted one"
    out.print(f"exception {e.id} fixed: the record is {done}.")


@exceptions_app.command("release")
def exceptions_release(exception_id: int, note: NoteOpt) -> None:
    """Accept a queued record as it is (missing approval, absurd hours, above the order)."""
    with open_app().transaction() as tx:
        e = source_docs.release_exception(tx, exception_id, note)
    out.print(f"exception {e.id} released: the record is accepted.")


@exceptions_app.command("reject")
def exceptions_reject(exception_id: int, note: NoteOpt) -> None:
    """Close a queued record without accepting it."""
    with open_app().transaction() as tx:
        e = source_docs.reject_exception(tx, exception_id, note)
    out.print(f"exception {e.id} rejected.")
