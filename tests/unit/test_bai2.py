"""BAI2 importer: the moov-io samples, Billfold's lockbox file, tampered and truncated copies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billfold.errors import FileRejected
from billfold.formats.bai2 import parse_bai2, payer_from_text
from billfold.formats.detect import parse_bank_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank" / "bai2"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rejected(data: bytes) -> list[str]:
    with pytest.raises(FileRejected) as info:
        parse_bai2(data, "bank.bai")
    return [str(e) for e in info.value.errors]


def replace_line(data: bytes, line: int, old: str, new: str) -> bytes:
    lines = data.decode().split("\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "\n".join(lines).encode()


def test_sample1_two_reports_of_one_cad_account() -> None:
    bank = parse_bai2(load("moov-sample1.txt"), "moov-sample1.txt")
    assert (bank.format, bank.file_id, bank.created) == ("bai2", "001", date(2006, 3, 21))
    first, second = bank.statements
    assert first.statement_id == "001/1/10200123456"
    assert second.statement_id == "001/1/10200123456#2"
    assert (first.currency, first.bank_id, first.statement_date) == (
        "CAD",
        "0004",
        date(2006, 3, 17),
    )
    assert (len(first.entries), len(second.entries)) == (11, 6)
    assert first.opening_balance is None and first.closing_balance is None  # only 040/045 given
    returned = first.entries[0]
    assert returned.amount == Decimal("-25.00")
    assert returned.type_code == "409"
    assert returned.text == ("RETURNED CHEQUE",)
    assert returned.value_date == date(2006, 3, 16)
    assert returned.booking_date == date(2006, 3, 17)
    assert returned.reference == "001/1/10200123456/1"  # no bank or customer reference
    transfer = first.entries[3]
    assert (transfer.amount, transfer.type_code) == (Decimal("2035.00"), "108")
    credits = sum(e.amount for e in first.entries if e.amount > 0)
    assert credits == Decimal("2085.00")  # the 03 record's 100 summary: 208500 in 3 items
    assert sum(e.amount for e in bank.entries) == 0


def test_sample2_continuations_funds_types_and_balances() -> None:
    bank = parse_bai2(load("moov-sample2.txt"), "moov-sample2.txt")
    ids = [s.statement_id for s in bank.statements]
    assert ids == [
        "1/1/0123456789",
        "1/1/9876543210",
        "1/2/4589761203",
        "1/3/0975312468",
        "1/4/7890654321",
    ]
    assert [s.opening_balance for s in bank.statements] == [
        Decimal("43500.00"),
        Decimal("-5000.00"),
        Decimal("100000.00"),
        Decimal("5000.00"),
        Decimal("8000.00"),
    ]
    assert all(s.currency == "USD" for s in bank.statements)
    lockbox = bank.statements[1].entries[0]
    assert (lockbox.amount, lockbox.type_code) == (Decimal("5000.00"), "115")
    assert lockbox.text == ("LOCK BOX NO.68751",)
    letter_of_credit = bank.statements[2].entries[0]
    assert letter_of_credit.reference == "SP4738"
    assert letter_of_credit.details == (("customer_reference", "YRC065321"),)
    assert letter_of_credit.text == ("PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO",)
    assert letter_of_credit.value_date == date(2004, 6, 22)  # funds type V
    assert letter_of_credit.booking_date == date(2004, 6, 20)
    assert bank.statements[3].entries == ()  # summary only


def test_spec_example_text_without_slash() -> None:
    bank = parse_bai2(load("moov-spec-section3.txt"), "spec.txt")
    (entry,) = bank.entries
    assert (entry.amount, entry.reference, entry.text) == (
        Decimal("15000.00"),
        "DD1620",
        ("DEALER PAYMENTS",),
    )


def test_parse_error_sample_is_rejected_at_line_1() -> None:
    errors = rejected(load("moov-sample-parseError.txt"))
    assert errors[0] == (
        "line 1, column record code, value '00': "
        "unknown record code (expected 01 02 03 16 49 88 98 99)"
    )


def test_lockbox_deposits_with_continuations() -> None:
    bank = parse_bai2(load("billfold-lockbox.txt"), "lockbox.txt")
    assert bank.file_id == "LBX0302"
    assert bank.warnings == ("line 14: type code 890 moves no cash; skipped",)
    usd, jpy = bank.statements
    assert (usd.opening_balance, usd.closing_balance) == (Decimal("15000.00"), Decimal("29375.25"))
    assert usd.opening_balance is not None
    assert usd.opening_balance + sum(e.amount for e in usd.entries) == usd.closing_balance
    acme, globex, initech, returned = usd.entries
    assert (acme.amount, acme.reference, acme.payer_name) == (
        Decimal("12500.00"),
        "LBX-88001",
        "ACME INDUSTRIES INC",
    )
    assert acme.text[1] == "INV-2026-000101, INV-2026-000102/PARTIAL"
    assert acme.details == (("customer_reference", "CHK-4471"),)
    assert (globex.amount, globex.payer_name) == (Decimal("1875.25"), "GLOBEX LLC")
    assert globex.value_date == date(2026, 3, 2)
    assert globex.text == ("LOCKBOX 88002 DEPOSIT", "REMITTER: GLOBEX LLC", "INV-2026-000117")
    assert (initech.reference, initech.payer_name) == ("LBX-88003", "INITECH CORP")
    assert returned.amount == Decimal("-2500.00")
    assert returned.is_return and returned.type_code == "555"
    assert returned.text == ("DEPOSITED ITEM RETURNED, NSF/ CHK 4471",)
    assert (jpy.currency, jpy.opening_balance, jpy.closing_balance) == (
        "JPY",
        Decimal(500000),
        Decimal(620000),
    )
    assert jpy.entries[0].amount == Decimal(120000)
    assert jpy.entries[0].payer_name == "YAMADA SHOJI KK"


def test_detect_routes_bai2_files() -> None:
    data = load("billfold-lockbox.txt")
    assert parse_bank_file(data, "lockbox.txt") == parse_bai2(data, "lockbox.txt")


def test_slash_terminators_and_line_endings_are_optional() -> None:
    data = load("moov-sample2.txt")
    lines = data.decode().split("\n")
    without = "\r\n".join(line.rstrip("/") for line in lines).encode()
    assert parse_bai2(without, "x") == parse_bai2(data, "x")


def test_tampered_amount_breaks_every_control_above_it() -> None:
    data = replace_line(load("moov-sample1.txt"), 5, "000000000002500", "000000000002600")
    errors = rejected(data)
    assert errors == [
        "line 16, column account control total, value '834000': "
        "the 03 and 16 amounts come to 834100",
        "line 26, column group control total, value '1280000': the accounts come to 1280100",
        "line 27, column file control total, value '1280000': the groups come to 1280100",
    ]


def test_tampered_amount_is_a_warning_when_not_strict() -> None:
    data = replace_line(load("moov-sample1.txt"), 5, "000000000002500", "000000000002600")
    bank = parse_bai2(data, "x", strict=False)
    assert bank.entries[0].amount == Decimal("-26.00")
    assert len(bank.warnings) == 3
    assert bank.warnings[0].startswith("line 16, account control total '834000'")


def test_wrong_record_counts_are_named() -> None:
    data = replace_line(load("moov-sample2.txt"), 6, "49,9150000,4/", "49,9150000,5/")
    data = replace_line(data, 31, "99,345450000,4,31/", "99,345450000,3,31/")
    errors = rejected(data)
    assert errors == [
        "line 6, column number of records, value '5': "
        "the account's records (03, 16, 88, 49) come to 4",
        "line 31, column number of groups, value '3': the groups in the file come to 4",
    ]


def test_truncated_file_is_rejected_at_its_last_line() -> None:
    lines = load("moov-sample1.txt").decode().split("\n")
    errors = rejected("\n".join(lines[:20]).encode())
    assert errors == [
        "line 20, column record code, value '': "
        "account 10200123456 ends without its 49 account trailer: the file is cut",
        "line 20, column record code, value '': "
        "group 1 ends without its 98 group trailer: the file is cut",
        "line 20, column record code, value '': "
        "the file ends without its 99 file trailer: the file is cut",
    ]


def test_bad_values_are_all_reported() -> None:
    data = (
        b"01,A,B,260230,0800,F1,,,2/\n"
        b"02,B,A,1,260301,,XYZ,/\n"
        b"03,123,,010,12.50,,/\n"
        b"16,1x5,100,Q,,,TEXT/\n"
        b"16,195,-100,,,,/\n"
        b"49,100,4/\n"
        b"98,100,1,6/\n"
        b"99,100,1,8/\n"
    )
    errors = rejected(data)
    assert errors == [
        "line 1, column file creation date, value '260230': not a date (YYMMDD)",
        "line 2, column currency code, value 'XYZ': unknown currency code 'XYZ' "
        "(expected ISO 4217, e.g. EUR)",
        "line 3, column amount (010), value '12.50': must be a signed whole number "
        "(implied decimals)",
        "line 4, column type code, value '1x5': must be three digits",
        "line 4, column funds type (1x5), value 'Q': expected 0, 1, 2, Z, S, V or D",
        "line 5, column amount, value '-100': must be an unsigned whole number (implied decimals)",
        "line 5, column amount, value '': a type 195 detail needs an amount",
    ]


def test_records_out_of_place() -> None:
    data = b"01,A,B,260301,0800,F1,,,2/\n16,195,100,,,,/\n02,B,A,1,260301,,,/\n49,0,1/\n99,0,0,3/\n"
    errors = rejected(data)
    assert (
        "line 2, column record code, value '16': a 16 detail outside an account (no 03)" in errors
    )
    assert "line 4, column record code, value '49': a 49 account trailer outside an account" in (
        errors
    )
    assert any("group 1 ends without its 98 group trailer" in e for e in errors)


@pytest.mark.parametrize(
    ("text", "payer"),
    [
        (("ORIG CO NAME:INITECH CORP ORIG ID:9876543210 ENTRY DESCR:PAYMENT",), "INITECH CORP"),
        (("LOCKBOX 1 REMITTER: ACME INC",), "ACME INC"),
        (("B/O: Wile E. Coyote",), "Wile E. Coyote"),
        (("WIRE IN", "BY ORDER OF=Globex LLC"), "Globex LLC"),
        (("DEPOSIT",), None),
    ],
)
def test_payer_from_text(text: tuple[str, ...], payer: str | None) -> None:
    assert payer_from_text(text) == payer
