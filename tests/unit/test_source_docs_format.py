"""Source documents as read: file shape (refused whole), record values (problems, never
dropped), and the pure checks against a contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billfold.billing.model import ChargeChange, Contract, TimeAndMaterials, UsageCharge
from billfold.billing.rating import PerUnit
from billfold.errors import FileRejected, RowError
from billfold.formats.contracts_json import ShipmentCharge
from billfold.formats.source_docs import (
    ABOVE_ORDERED,
    ABSURD_QUANTITY,
    ALREADY_BILLED,
    DUPLICATE_ID,
    INVALID_QUANTITY,
    MISSING_APPROVAL,
    OUTSIDE_CONTRACT,
    SHIPMENT,
    TIMESHEET,
    UNKNOWN_CHARGE,
    UNKNOWN_METER,
    UNKNOWN_ROLE,
    UNREADABLE,
    USAGE,
    WRONG_SKU,
    Problem,
    ShipmentRecord,
    TimesheetRecord,
    UsageRecord,
    check_shipment,
    check_timesheet,
    duplicate_problem,
    outside_contract,
    read_source,
    serving_usage_charges,
    to_record,
)

USAGE_CSV = (
    b"event_id,contract,meter,quantity,date\n"
    b"E1,K-1,api_calls,1500,2026-10-03\n"
    b"\n"
    b"E2,K-1,api_calls,0.25,2026-10-04T23:30:00-02:00\n"
)


def rejected(data: bytes, kind: str = USAGE) -> list[RowError]:
    with pytest.raises(FileRejected) as info:
        read_source(data, "f.csv", kind)
    return info.value.errors


# --- reading ----------------------------------------------------------------------------------


def test_csv_records_keep_their_line_numbers_and_skip_blank_lines() -> None:
    records = read_source(USAGE_CSV, "usage.csv", USAGE)
    assert [r.line for r in records] == [2, 4]
    assert records[0].values == {
        "event_id": "E1",
        "contract": "K-1",
        "meter": "api_calls",
        "quantity": "1500",
        "date": "2026-10-03",
    }


def test_header_is_case_insensitive_in_any_order_and_bom_is_ignored() -> None:
    data = b"\xef\xbb\xbfDate, Quantity ,METER,contract,event_id\r\n2026-10-03,5,m,K-1,E1\r\n"
    [record] = read_source(data, "u.csv", USAGE)
    assert record.values["quantity"] == "5" and record.values["date"] == "2026-10-03"


def test_a_wrong_column_rejects_the_file_naming_the_column() -> None:
    errors = rejected(b"event_id,contract,meter,qty,date\nE1,K-1,m,5,2026-10-03\n")
    assert {(e.line, e.column) for e in errors} == {(1, "qty"), (1, "quantity")}
    by_column = {e.column: e.reason for e in errors}
    assert by_column["quantity"] == "required column is missing"
    assert by_column["qty"].startswith("unknown column (expected: event_id, contract, meter")


def test_a_column_given_twice_rejects_the_file() -> None:
    errors = rejected(b"event_id,contract,meter,quantity,date,meter\n")
    assert [(e.line, e.column, e.reason) for e in errors] == [(1, "meter", "column appears twice")]


def test_a_row_with_the_wrong_number_of_values_rejects_the_file() -> None:
    errors = rejected(USAGE_CSV + b"E3,K-1,api_calls,5\n")
    assert [(e.line, e.column) for e in errors] == [(5, "(row)")]
    assert errors[0].reason == "4 values, the header has 5 columns"


def test_empty_and_header_only_files() -> None:
    with pytest.raises(FileRejected, match="empty"):
        read_source(b"  \n", "e.csv", USAGE)
    assert read_source(b"event_id,contract,meter,quantity,date\n", "h.csv", USAGE) == []


def test_json_lines_are_detected_by_content_and_numbers_keep_their_digits() -> None:
    data = (
        b'{"event_id": "E1", "contract": "K-1", "meter": "api", "quantity": 0.1, '
        b'"date": "2026-10-03"}\n\n'
        b'{"event_id": "E2", "contract": "K-1", "meter": "api", "quantity": 12, "date": null}\n'
    )
    first, second = read_source(data, "usage.jsonl", USAGE)
    assert (first.line, first.values["quantity"]) == (1, "0.1")
    assert (second.line, second.values["quantity"], second.values["date"]) == (3, "12", "")


def test_json_lines_with_an_unknown_key_or_a_broken_line_reject_the_file() -> None:
    data = (
        b'{"event_id": "E1", "contract": "K-1", "meter": "api", "qty": 1, "date": "2026-10-03"}\n'
        b"{not json\n"
        b"[1, 2]\n"
        b'{"event_id": ["E4"]}\n'
    )
    errors = rejected(data)
    assert [(e.line, e.column) for e in errors] == [
        (1, "qty"),
        (2, "(json)"),
        (3, "(json)"),
        (4, "event_id"),
    ]
    assert errors[2].reason == "expected a JSON object"


def test_a_missing_json_key_is_an_empty_value_not_a_file_error() -> None:
    [record] = read_source(b'{"event_id": "E1", "contract": "K-1"}\n', "u.jsonl", USAGE)
    problem = to_record(USAGE, record.values)
    assert problem == Problem(UNREADABLE, "column meter: required value is empty")


# --- record values ----------------------------------------------------------------------------


def usage(**values: str) -> dict[str, str]:
    base = {
        "event_id": "E1",
        "contract": "K-1",
        "meter": "api",
        "quantity": "5",
        "date": "2026-10-03",
    }
    return {**base, **values}


def timesheet(**values: str) -> dict[str, str]:
    base = {
        "entry_id": "T1",
        "contract": "K-1",
        "charge": "consulting",
        "person": "ana",
        "role": "consultant",
        "date": "2026-10-05",
        "hours": "7.5",
        "approved_by": "lee",
    }
    return {**base, **values}


def test_a_valid_usage_record() -> None:
    assert to_record(USAGE, usage()) == UsageRecord(
        "E1", "K-1", "api", Decimal(5), date(2026, 10, 3)
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"quantity": "abc"}, (UNREADABLE, "column quantity, value 'abc': not a number")),
        ({"quantity": "1e5"}, (UNREADABLE, "column quantity, value '1e5': not a number")),
        ({"quantity": "1,5"}, (UNREADABLE, "column quantity, value '1,5': not a number")),
        (
            {"quantity": "-2"},
            (INVALID_QUANTITY, "column quantity, value '-2': must not be negative"),
        ),
        (
            {"date": "03/10/2026"},
            (
                UNREADABLE,
                "column date, value '03/10/2026': not a date (YYYY-MM-DD) or ISO timestamp",
            ),
        ),
        ({"event_id": " "}, (UNREADABLE, "column event_id: required value is empty")),
        (
            {"meter": "m" * 61},
            (UNREADABLE, f"column meter, value '{'m' * 57}...': longer than 60 characters"),
        ),
    ],
)
def test_unreadable_usage_values_are_problems(
    values: dict[str, str], expected: tuple[str, str]
) -> None:
    problem = to_record(USAGE, usage(**values))
    assert isinstance(problem, Problem)
    assert (problem.code, problem.message) == expected
    assert not problem.releasable


def test_zero_usage_is_fine_but_zero_hours_and_zero_shipments_are_not() -> None:
    assert isinstance(to_record(USAGE, usage(quantity="0")), UsageRecord)
    zero_hours = to_record(TIMESHEET, timesheet(hours="0"))
    assert isinstance(zero_hours, Problem) and zero_hours.code == INVALID_QUANTITY
    shipment = {
        "shipment_id": "S1",
        "contract": "K-1",
        "charge": "hw",
        "sku": "SCANNER",
        "quantity": "0",
        "ship_date": "2026-10-01",
    }
    zero = to_record(SHIPMENT, shipment)
    assert isinstance(zero, Problem) and zero.message.endswith("must be more than zero")


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("2026-10-04T23:30:00-02:00", date(2026, 10, 5)),  # 01:30 UTC the next day
        ("2026-10-04T00:30:00+02:00", date(2026, 10, 3)),
        ("2026-10-04T23:30:00Z", date(2026, 10, 4)),
        ("2026-10-04 23:30:00", date(2026, 10, 4)),  # no offset: taken as UTC
        ("2026-10-04", date(2026, 10, 4)),
    ],
)
def test_usage_timestamps_count_on_their_utc_day(stamp: str, day: date) -> None:
    record = to_record(USAGE, usage(date=stamp))
    assert isinstance(record, UsageRecord) and record.day == day


def test_an_empty_approver_reads_as_not_approved() -> None:
    record = to_record(TIMESHEET, timesheet(approved_by=""))
    assert isinstance(record, TimesheetRecord) and record.approved_by == ""


# --- checks against the contract --------------------------------------------------------------

CONTRACT = Contract("1", "C1", "ACME-DE", "EUR", date(2026, 1, 1), date(2026, 12, 31), "K-1")
API = UsageCharge("api", "API", "API calls", "api_calls", PerUnit(Decimal("0.01")))
CONSULTING = TimeAndMaterials(
    "consulting", "CONSULT", "Consulting", {"consultant": Decimal(150), "architect": Decimal(210)}
)
HARDWARE = ShipmentCharge("hw", "SCANNER", "Scanner", Decimal(249), Decimal(40))


def entry(**changes: Any) -> TimesheetRecord:
    base = TimesheetRecord(
        "T1", "K-1", "consulting", "ana", "consultant", date(2026, 10, 5), Decimal(8), "lee"
    )
    return replace(base, **changes)


def test_days_outside_the_contract() -> None:
    assert outside_contract(CONTRACT, date(2026, 6, 1)) is None
    late = outside_contract(CONTRACT, date(2027, 1, 1))
    assert late == Problem(
        OUTSIDE_CONTRACT, "2027-01-01 is outside contract K-1 (2026-01-01 to 2026-12-31)"
    )
    early = outside_contract(CONTRACT, date(2025, 12, 31))
    assert early is not None and early.code == OUTSIDE_CONTRACT


def test_usage_needs_a_charge_of_its_meter_serving_its_day() -> None:
    rec = UsageRecord("E1", "K-1", "api_calls", Decimal(5), date(2026, 10, 3))
    assert serving_usage_charges(rec, CONTRACT, [API, CONSULTING], []) == [API]
    other = UsageRecord("E1", "K-1", "storage", Decimal(5), date(2026, 10, 3))
    unknown = serving_usage_charges(other, CONTRACT, [API, CONSULTING], [])
    assert unknown == Problem(
        UNKNOWN_METER, "contract K-1 has no usage charge for meter 'storage' (meters: api_calls)"
    )
    cancelled = [ChargeChange("api", date(2026, 10, 1), cancel=True)]
    after = serving_usage_charges(rec, CONTRACT, [API], cancelled)
    assert isinstance(after, Problem) and after.code == OUTSIDE_CONTRACT
    assert "api: 2026-01-01 to 2026-09-30" in after.message


def test_timesheet_checks_one_by_one() -> None:
    charges = [API, CONSULTING]
    assert check_timesheet(entry(), CONTRACT, charges, [], Decimal(0)) == []
    [unknown] = check_timesheet(entry(charge="api"), CONTRACT, charges, [], Decimal(0))
    assert unknown.code == UNKNOWN_CHARGE and "(charges: consulting)" in unknown.message
    [role] = check_timesheet(entry(role="intern"), CONTRACT, charges, [], Decimal(0))
    assert role == Problem(
        UNKNOWN_ROLE,
        "role 'intern' is not on the rate card of charge 'consulting' "
        "(roles: architect, consultant)",
    )
    assert not role.releasable
    [absurd] = check_timesheet(entry(), CONTRACT, charges, [], Decimal(17))
    assert absurd == Problem(
        ABSURD_QUANTITY, "ana would have 25 hours on 2026-10-05, more than 24 (17 accepted already)"
    )
    assert absurd.releasable
    assert check_timesheet(entry(), CONTRACT, charges, [], Decimal(16)) == []  # exactly 24
    both = check_timesheet(entry(approved_by=""), CONTRACT, charges, [], Decimal(20))
    assert [p.code for p in both] == [ABSURD_QUANTITY, MISSING_APPROVAL]
    # a hard problem hides the judgement calls: it must be fixed first
    hard = check_timesheet(entry(role="intern", approved_by=""), CONTRACT, charges, [], Decimal(0))
    assert [p.code for p in hard] == [UNKNOWN_ROLE]


def test_shipment_checks_one_by_one() -> None:
    def ship(qty: str, sku: str = "SCANNER", charge: str = "hw") -> ShipmentRecord:
        return ShipmentRecord("S1", "K-1", charge, sku, Decimal(qty), date(2026, 10, 1))

    assert check_shipment(ship("40"), CONTRACT, [HARDWARE], Decimal(0)) == []
    [above] = check_shipment(ship("11"), CONTRACT, [HARDWARE], Decimal(30))
    assert above == Problem(
        ABOVE_ORDERED,
        "11 more would make 41 shipped under charge 'hw', above the 40 ordered "
        "(30 shipped already)",
    )
    assert above.releasable
    [sku] = check_shipment(ship("1", sku="WIDGET"), CONTRACT, [HARDWARE], Decimal(0))
    assert sku == Problem(WRONG_SKU, "charge 'hw' ships SKU 'SCANNER', not 'WIDGET'")
    [unknown] = check_shipment(ship("1", charge="x"), CONTRACT, [HARDWARE], Decimal(0))
    assert unknown.code == UNKNOWN_CHARGE


def test_duplicates_say_what_differs() -> None:
    new = UsageRecord("E1", "K-1", "api_calls", Decimal(7), date(2026, 10, 3))
    old = UsageRecord("E1", "K-1", "api_calls", Decimal(5), date(2026, 10, 3))
    dup = duplicate_problem(USAGE, new, old, billed=False)
    assert dup == Problem(
        DUPLICATE_ID,
        "event_id 'E1' was accepted before with other values (quantity 7 here, 5 accepted)",
    )
    billed = duplicate_problem(TIMESHEET, entry(hours=Decimal(9)), entry(), billed=True)
    assert billed.code == ALREADY_BILLED and "hours 9 here, 8 accepted" in billed.message
