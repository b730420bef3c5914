"""Usage, timesheets and shipments in: every rule, the exceptions queue and its audit trail."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import typer
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from billfold.commands.common import State
from billfold.commands.source_docs import APPS
from billfold.errors import Conflict, FileRejected, InvalidInput
from billfold.services import source_docs as sd
from billfold.services.billing_run import run_billing, stored_key
from billfold.services.context import Billfold
from billfold.services.contracts import import_contracts
from billfold.store.tables import (
    audit_log,
    billed_charges,
    billing_runs,
    contracts,
    shipments,
    source_exceptions,
    timesheet_entries,
    usage_records,
)

from .helpers import row_counts
from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration

CONTRACTS = [
    {
        "number": "K-1",
        "entity": "ACME-DE",
        "customer": "DE1",
        "currency": "EUR",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "charges": [
            {
                "id": "api",
                "kind": "usage",
                "sku": "SUB-PRO",
                "meter": "api_calls",
                "pricing": {"type": "per_unit", "unit_price": "0.002"},
            },
            {
                "id": "consulting",
                "kind": "time_and_materials",
                "sku": "TRAIN",
                "rate_card": {"consultant": "150.00", "architect": "210.00"},
            },
            {
                "id": "hardware",
                "kind": "shipment",
                "sku": "WIDGET",
                "unit_price": "249.00",
                "ordered_quantity": "40",
            },
        ],
    },
    {
        "number": "K-2",
        "entity": "ACME-DE",
        "customer": "FR1",
        "currency": "EUR",
        "start": "2026-06-01",
        "charges": [
            {
                "id": "advice",
                "kind": "time_and_materials",
                "sku": "TRAIN",
                "rate_card": {"consultant": "120.00"},
            }
        ],
    },
]

USAGE_HEADER = "event_id,contract,meter,quantity,date\n"
TS_HEADER = "entry_id,contract,charge,person,role,date,hours,approved_by\n"
SHIP_HEADER = "shipment_id,contract,charge,sku,quantity,ship_date\n"


@pytest.fixture
def world(bf: Billfold) -> Billfold:
    seed_invoicing(bf)
    with bf.transaction() as tx:
        import_contracts(tx, json.dumps(CONTRACTS).encode(), "contracts.json")
    return bf


def run(bf: Billfold, fn: Any, text: str, name: str) -> sd.SourceImport:
    with bf.transaction() as tx:
        result: sd.SourceImport = fn(tx, text.encode(), name)
    return result


def queue(bf: Billfold, kind: str | None = None, status: str | None = "open") -> list[Any]:
    with bf.reading() as conn:
        return sd.list_exceptions(conn, kind, status)


def reasons(bf: Billfold, kind: str) -> dict[str, str]:
    """Open exceptions by record id -> reason code(s)."""
    return {
        e.record_id: "; ".join(part.split(":")[0] for part in e.reason.split("; "))
        for e in queue(bf, kind)
    }


def count(bf: Billfold, table: Any) -> int:
    with bf.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_rows(bf: Billfold, action: str) -> list[Any]:
    with bf.reading() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)).all())


# --- usage ------------------------------------------------------------------------------------

USAGE = USAGE_HEADER + (
    "E1,K-1,api_calls,1500,2026-10-03\n"
    "E2,K-9,api_calls,10,2026-10-03\n"
    "E3,K-1,storage_gb,10,2026-10-03\n"
    "E4,K-1,api_calls,10,2027-01-05\n"
    "E5,K-1,api_calls,-3,2026-10-03\n"
    "E6,K-1,api_calls,12x,2026-10-03\n"
    "E7,K-1,api_calls,10,2026-13-01\n"
    "E8,K-1,api_calls,0.5,2026-03-31T23:30:00-02:00\n"
    "E1,K-1,api_calls,1500,2026-10-03\n"
)


def test_usage_is_accepted_or_queued_with_its_reason(world: Billfold) -> None:
    r = run(world, sd.import_usage, USAGE, "usage-oct.csv")
    assert (r.rows, r.accepted, r.duplicates, r.exceptions) == (9, 2, 1, 6)
    assert reasons(world, "usage") == {
        "E2": "unknown_contract",
        "E3": "unknown_meter",
        "E4": "outside_contract",
        "E5": "invalid_quantity",
        "E6": "unreadable",
        "E7": "unreadable",
    }
    by_id = {e.record_id: e for e in queue(world, "usage")}
    assert by_id["E2"].reason == "unknown_contract: no contract 'K-9'"
    assert by_id["E3"].reason == (
        "unknown_meter: contract K-1 has no usage charge for meter 'storage_gb' (meters: api_calls)"
    )
    assert by_id["E4"].reason == (
        "outside_contract: 2027-01-05 is outside contract K-1 (2026-01-01 to 2026-12-31)"
    )
    assert by_id["E6"].reason == "unreadable: column quantity, value '12x': not a number"
    assert (by_id["E6"].source_file, by_id["E6"].line) == ("usage-oct.csv", 7)
    assert by_id["E6"].record["quantity"] == "12x"  # kept as read
    with world.reading() as conn:
        stored = {
            r.event_id: (r.quantity, r.usage_date, r.source_file)
            for r in conn.execute(select(usage_records))
        }
    assert stored == {
        "E1": ("1500", date(2026, 10, 3), "usage-oct.csv"),
        "E8": ("0.5", date(2026, 4, 1), "usage-oct.csv"),  # the timestamp's UTC day
    }
    [audit] = [a for a in audit_rows(world, "import") if "usage:" in a.entity_ref]
    assert "2 accepted, 1 duplicate(s) skipped, 6 exception(s)" in audit.after_json


def test_usage_import_is_idempotent(world: Billfold) -> None:
    run(world, sd.import_usage, USAGE, "usage.csv")
    before = row_counts(world)
    assert run(world, sd.import_usage, USAGE, "usage.csv").already_imported
    assert row_counts(world) == before
    # the same records in another file: skipped by event id, the bad ones not queued twice
    again = run(world, sd.import_usage, USAGE.replace("\n", "\r\n"), "usage-copy.csv")
    assert (again.accepted, again.duplicates, again.exceptions, again.already_queued) == (
        0,
        3,
        0,
        6,
    )
    assert count(world, usage_records) == 2 and count(world, source_exceptions) == 6


def test_same_event_id_with_other_values_is_queued(world: Billfold) -> None:
    run(world, sd.import_usage, USAGE, "usage.csv")
    r = run(world, sd.import_usage, USAGE_HEADER + "E1,K-1,api_calls,1600,2026-10-03\n", "b.csv")
    assert (r.accepted, r.exceptions) == (0, 1)
    [dup] = [e for e in queue(world, "usage") if e.source_file == "b.csv"]
    assert dup.reason == (
        "duplicate_id: event_id 'E1' was accepted before with other values "
        "(quantity 1600 here, 1500 accepted)"
    )


def bill_period(bf: Billfold, contract: str, key: str) -> None:
    """What the billing run records: the period key, billed on a (draft) invoice."""
    [draft] = create(bf, invoice("DE1", {"sku": "SUB-PRO"}), issue=False)
    with bf.transaction() as tx:
        cid = tx.conn.execute(
            select(contracts.c.id).where(contracts.c.number == contract)
        ).scalar_one()
        run_id = tx.conn.execute(
            insert(billing_runs)
            .values(
                run_date=date(2026, 11, 1),
                status="completed",
                started_at=tx.now,
                actor=tx.actor,
            )
            .returning(billing_runs.c.id)
        ).scalar_one()
        tx.conn.execute(
            insert(billed_charges).values(
                charge_key=stored_key(cid, key),
                contract_id=cid,
                run_id=run_id,
                invoice_id=draft,
                amount_minor=0,
            )
        )


def test_usage_in_a_billed_period_is_queued_and_cannot_be_released(world: Billfold) -> None:
    bill_period(world, "K-1", "api:2026-10-01:2026-10-31")
    data = USAGE_HEADER + (
        "L1,K-1,api_calls,10,2026-10-31\n"
        "L2,K-1,api_calls,10,2026-11-01\n"
        "L3,K-1,api_calls,10,2026-10-01T00:30:00+02:00\n"  # 2026-09-30 UTC: not billed
    )
    r = run(world, sd.import_usage, data, "late.csv")
    assert (r.accepted, r.exceptions) == (2, 1)
    [late] = queue(world, "usage")
    assert late.record_id == "L1"
    assert late.reason == (
        "already_billed: the usage of charge 'api' from 2026-10-01 to 2026-10-31 "
        "(contract K-1) is billed already"
    )
    with world.transaction() as tx, pytest.raises(InvalidInput, match="cannot be released"):
        sd.release_exception(tx, late.id, "customer agreed")
    with world.transaction() as tx, pytest.raises(InvalidInput, match="still invalid"):
        sd.fix_exception(tx, late.id, {"quantity": "11"})


def test_a_wrong_column_rejects_the_file_and_writes_nothing(world: Billfold) -> None:
    before = row_counts(world)
    bad = "event_id,contract,meter,qty,date\nE1,K-1,api_calls,5,2026-10-03\n"
    with pytest.raises(FileRejected) as info:
        run(world, sd.import_usage, bad, "bad.csv")
    assert {(e.line, e.column) for e in info.value.errors} == {(1, "qty"), (1, "quantity")}
    assert "bad.csv: line 1, column qty, value 'qty': unknown column" in str(info.value)
    jsonl = '{"event_id": "E1", "contract": "K-1", "meter": "api_calls", "amount": 5}\n'
    with pytest.raises(FileRejected, match="column amount"):
        run(world, sd.import_usage, jsonl, "bad.jsonl")
    assert row_counts(world) == before


def test_json_lines_usage(world: Billfold) -> None:
    data = (
        '{"event_id": "J1", "contract": "K-1", "meter": "api_calls", "quantity": 0.125, '
        '"date": "2026-10-03T10:00:00Z"}\n'
        '{"event_id": "J2", "contract": "K-1", "meter": "api_calls", "date": "2026-10-03"}\n'
    )
    r = run(world, sd.import_usage, data, "usage.jsonl")
    assert (r.accepted, r.exceptions) == (1, 1)
    with world.reading() as conn:
        assert conn.execute(select(usage_records.c.quantity)).scalar_one() == "0.125"
    assert reasons(world, "usage") == {"J2": "unreadable"}


# --- timesheets -------------------------------------------------------------------------------

TIMESHEETS = TS_HEADER + (
    "T1,K-1,consulting,ana,consultant,2026-10-05,8,lee\n"
    "T2,K-1,consulting,ana,intern,2026-10-05,2,lee\n"
    "T3,K-1,consulting,bo,architect,2026-10-05,6,\n"
    "T4,K-1,api,bo,consultant,2026-10-05,1,lee\n"
    "T5,K-1,consulting,cy,consultant,2026-10-05,14,lee\n"
    "T6,K-1,consulting,cy,consultant,2026-10-05,12,lee\n"
    "T7,K-1,consulting,dee,consultant,2026-10-05,0,lee\n"
    "T8,K-1,consulting,dee,consultant,2027-02-01,4,lee\n"
)


def test_timesheet_rules_one_by_one(world: Billfold) -> None:
    r = run(world, sd.import_timesheets, TIMESHEETS, "ts-oct.csv")
    assert (r.accepted, r.exceptions) == (2, 6)
    assert reasons(world, "timesheet") == {
        "T2": "unknown_role",  # a role missing from the rate card is queued, not an error
        "T3": "missing_approval",
        "T4": "unknown_charge",
        "T6": "absurd_quantity",  # 14 + 12 hours for cy on one day
        "T7": "invalid_quantity",
        "T8": "outside_contract",
    }
    by_id = {e.record_id: e for e in queue(world, "timesheet")}
    assert by_id["T2"].reason == (
        "unknown_role: role 'intern' is not on the rate card of charge 'consulting' "
        "(roles: architect, consultant)"
    )
    assert by_id["T6"].reason == (
        "absurd_quantity: cy would have 26 hours on 2026-10-05, more than 24 (14 accepted already)"
    )
    with world.reading() as conn:
        stored = {
            r.entry_id: (r.hours, r.approved_by) for r in conn.execute(select(timesheet_entries))
        }
    assert stored == {"T1": ("8", "lee"), "T5": ("14", "lee")}


def test_hours_per_day_count_earlier_files_and_other_contracts(world: Billfold) -> None:
    run(
        world,
        sd.import_timesheets,
        TS_HEADER + "A1,K-1,consulting,ana,consultant,2026-10-06,10,lee\n",
        "a.csv",
    )
    r = run(
        world,
        sd.import_timesheets,
        TS_HEADER
        + (
            "B1,K-2,advice,ana,consultant,2026-10-06,14,lee\n"
            "B2,K-2,advice,ana,consultant,2026-10-06,0.5,lee\n"
        ),
        "b.csv",
    )
    assert (r.accepted, r.exceptions) == (1, 1)
    assert reasons(world, "timesheet") == {"B2": "absurd_quantity"}


def test_release_of_a_missing_approval_is_audited(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    t3 = next(e for e in queue(world, "timesheet") if e.record_id == "T3")
    with world.transaction() as tx, pytest.raises(InvalidInput, match="a note"):
        sd.release_exception(tx, t3.id, "  ")
    with world.transaction() as tx:
        done = sd.release_exception(tx, t3.id, "approved by phone, see ticket 42")
    assert (done.status, done.resolved_by) == ("released", "tester")
    assert done.resolution == {
        "note": "approved by phone, see ticket 42",
        "overridden": ["missing_approval: entry 'T3' is not approved (approved_by is empty)"],
        "approved_by": "tester",
    }
    with world.reading() as conn:
        row = conn.execute(
            select(timesheet_entries).where(timesheet_entries.c.entry_id == "T3")
        ).one()
    assert (row.approved_by, row.hours, row.source_file) == ("tester", "6", "ts.csv")
    [audit] = audit_rows(world, "release")
    assert (audit.actor, audit.entity_type, audit.entity_ref) == (
        "tester",
        "source_exception",
        str(t3.id),
    )
    assert "ticket 42" in audit.after_json and "missing_approval" in audit.before_json
    with world.transaction() as tx, pytest.raises(Conflict, match="released already"):
        sd.reject_exception(tx, t3.id, "too late")


def test_release_is_refused_for_problems_that_are_not_judgement_calls(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    ids = {e.record_id: e.id for e in queue(world, "timesheet")}
    for rid in ("T2", "T4", "T7", "T8"):
        with world.transaction() as tx, pytest.raises(InvalidInput, match="cannot be released"):
            sd.release_exception(tx, ids[rid], "please")
    with world.transaction() as tx:
        sd.release_exception(tx, ids["T6"], "cy worked a double shift on site")
    assert count(world, timesheet_entries) == 3
    assert {e.record_id for e in queue(world, "timesheet")} == {"T2", "T3", "T4", "T7", "T8"}


def test_fix_revalidates_and_records_before_and_after(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    t2 = next(e for e in queue(world, "timesheet") if e.record_id == "T2")
    before = row_counts(world)
    # still invalid: the new reason is given and nothing changes
    with world.transaction() as tx, pytest.raises(InvalidInput) as info:
        sd.fix_exception(tx, t2.id, {"role": "trainee"})
    assert "still invalid after the change: unknown_role: role 'trainee'" in str(info.value)
    with world.transaction() as tx, pytest.raises(InvalidInput, match="unknown field"):
        sd.fix_exception(tx, t2.id, {"rank": "senior"})
    assert row_counts(world) == before
    with world.transaction() as tx:
        fixed = sd.fix_exception(tx, t2.id, {"role": "architect"})
    assert (fixed.status, fixed.resolved_by) == ("fixed", "tester")
    assert fixed.resolution is not None
    assert fixed.resolution["changed"] == {"role": {"before": "intern", "after": "architect"}}
    assert fixed.record["role"] == "intern"  # the record stays as read
    with world.reading() as conn:
        role = conn.execute(
            select(timesheet_entries.c.role).where(timesheet_entries.c.entry_id == "T2")
        ).scalar_one()
    assert role == "architect"
    [audit] = audit_rows(world, "fix")
    assert '"role":"intern"' in audit.before_json and '"role":"architect"' in audit.after_json


def test_reject_closes_without_accepting(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    t4 = next(e for e in queue(world, "timesheet") if e.record_id == "T4")
    with world.transaction() as tx:
        done = sd.reject_exception(tx, t4.id, "booked on the wrong contract")
    assert done.status == "rejected" and done.resolution == {"note": "booked on the wrong contract"}
    assert count(world, timesheet_entries) == 2
    assert [e.id for e in queue(world, "timesheet", "rejected")] == [t4.id]
    [audit] = audit_rows(world, "reject")
    assert "wrong contract" in audit.after_json


def test_an_approved_resubmission_closes_the_open_exception(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    r = run(
        world,
        sd.import_timesheets,
        TS_HEADER + "T3,K-1,consulting,bo,architect,2026-10-05,6,lee\n",
        "ts-approved.csv",
    )
    assert (r.accepted, r.superseded) == (1, 1)
    [closed] = [e for e in queue(world, "timesheet", "fixed") if e.record_id == "T3"]
    assert closed.resolution is not None
    assert closed.resolution["superseded_by"] == "ts-approved.csv line 2"
    assert len(audit_rows(world, "supersede")) == 1


def test_a_billed_timesheet_entry_changed_later_is_already_billed(world: Billfold) -> None:
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    bill_period(world, "K-1", sd.timesheet_key("consulting", "T1"))
    r = run(
        world,
        sd.import_timesheets,
        TS_HEADER + "T1,K-1,consulting,ana,consultant,2026-10-05,9,lee\n",
        "ts2.csv",
    )
    assert r.exceptions == 1
    [e] = [e for e in queue(world, "timesheet") if e.source_file == "ts2.csv"]
    assert e.reason.startswith("already_billed: entry_id 'T1' was accepted before")


# --- shipments --------------------------------------------------------------------------------

SHIPMENTS = SHIP_HEADER + (
    "S1,K-1,hardware,WIDGET,30,2026-10-01\n"
    "S2,K-1,hardware,WIDGET,15,2026-10-08\n"
    "S3,K-1,hardware,BOOK,1,2026-10-08\n"
    "S4,K-1,software,WIDGET,1,2026-10-08\n"
    "S5,K-1,hardware,WIDGET,10,2026-10-09\n"
)


def test_shipments_above_the_ordered_quantity_are_queued(world: Billfold) -> None:
    r = run(world, sd.import_shipments, SHIPMENTS, "ship.csv")
    assert (r.accepted, r.exceptions) == (2, 3)  # S1 30 + S5 10 = the 40 ordered
    assert reasons(world, "shipment") == {
        "S2": "above_ordered_quantity",
        "S3": "wrong_sku",
        "S4": "unknown_charge",
    }
    s2 = next(e for e in queue(world, "shipment") if e.record_id == "S2")
    assert s2.reason == (
        "above_ordered_quantity: 15 more would make 45 shipped under charge 'hardware', "
        "above the 40 ordered (30 shipped already)"
    )
    with world.transaction() as tx:
        sd.release_exception(tx, s2.id, "customer accepted the over-delivery")
    with world.reading() as conn:
        total = sum(int(q) for q in conn.execute(select(shipments.c.quantity)).scalars())
    assert total == 55
    more = run(
        world,
        sd.import_shipments,
        SHIP_HEADER + "S6,K-1,hardware,WIDGET,1,2026-11-02\n",
        "ship2.csv",
    )
    assert more.exceptions == 1  # 55 shipped already


# --- CLI --------------------------------------------------------------------------------------


def test_cli_import_and_queue(world: Billfold, db_url: str, tmp_path: Any) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(USAGE)
    State.url, State.actor = db_url, "clerk"
    try:
        cli = typer.Typer()
        for sub, name in APPS:  # registered as cli.py does
            cli.add_typer(sub, name=name)
        runner = CliRunner()
        result = runner.invoke(cli, ["usage", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "9 records, 2 accepted, 1 duplicate(s) skipped, 6 exception(s) queued" in (
            result.output
        )
        listed = runner.invoke(cli, ["exceptions", "list", "--kind", "usage"])
        assert "unknown_meter" in listed.output and "6 exception(s)" in listed.output
        e3 = next(e for e in queue(world, "usage") if e.record_id == "E3")
        fixed = runner.invoke(cli, ["exceptions", "fix", str(e3.id), "--set", "meter=api_calls"])
        assert fixed.exit_code == 0, fixed.output
        shown = runner.invoke(cli, ["exceptions", "show", str(e3.id)])
        assert "fixed by clerk" in shown.output
    finally:
        State.url = State.actor = None
    assert count(world, usage_records) == 3


# --- with the real billing run ----------------------------------------------------------------


def test_after_a_billing_run_late_records_are_refused(world: Billfold) -> None:
    run(world, sd.import_usage, USAGE, "usage.csv")
    run(world, sd.import_timesheets, TIMESHEETS, "ts.csv")
    run(world, sd.import_shipments, SHIPMENTS, "ship.csv")
    result = run_billing(world, date(2026, 11, 1))
    assert result.errors == [] and result.drafts >= 1
    late = run(
        world,
        sd.import_usage,
        USAGE_HEADER + "L1,K-1,api_calls,5,2026-10-20\nL2,K-1,api_calls,5,2026-11-02\n",
        "late.csv",
    )
    assert (late.accepted, late.exceptions) == (1, 1)
    assert reasons(world, "usage")["L1"] == "already_billed"
    changed = run(
        world,
        sd.import_shipments,
        SHIP_HEADER + "S1,K-1,hardware,WIDGET,29,2026-10-01\n",
        "ship-fix.csv",
    )
    assert changed.exceptions == 1
    assert reasons(world, "shipment")["S1"] == "already_billed"
    # a timesheet entry approved after its period was billed goes on the next invoice
    again = run(
        world,
        sd.import_timesheets,
        TS_HEADER + "T9,K-1,consulting,ana,consultant,2026-10-20,3,lee\n",
        "ts-late.csv",
    )
    assert again.accepted == 1


def test_usage_totals_are_exact_per_period(world: Billfold) -> None:
    """The run sums usage per meter and period in the database: whole and decimal quantities,
    a quantity too long to add as an integer, a whole number written with a decimal (4.0),
    records of other periods left out."""
    from billfold.store.tables import invoice_lines

    data = USAGE_HEADER + (
        "A1,K-1,api_calls,1500,2026-09-03\n"
        "A2,K-1,api_calls,7,2026-09-30\n"
        "B1,K-1,api_calls,1500,2026-10-01\n"
        "B2,K-1,api_calls,0.125,2026-10-15\n"
        "B3,K-1,api_calls,2.5,2026-10-31\n"
        "B4,K-1,api_calls,1234567890123,2026-10-20\n"
        "B5,K-1,api_calls,4.0,2026-10-21\n"
        "C1,K-1,api_calls,9,2026-11-01\n"
    )
    assert run(world, sd.import_usage, data, "usage.csv").accepted == 8
    run_billing(world, date(2026, 11, 1))
    with world.reading() as conn:
        used = [
            d for d in conn.execute(select(invoice_lines.c.description)).scalars() if " used" in d
        ]
    assert any("2026-09-01 to 2026-09-30, 1507 used" in d for d in used)
    assert any("2026-10-01 to 2026-10-31, 1234567891629.625 used" in d for d in used)
    assert not any("2026-11" in d for d in used)  # November is not over
