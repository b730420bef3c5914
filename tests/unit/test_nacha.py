"""NACHA importer: the moov-io samples, Billfold's CCD+ and CTX files, tampered and cut copies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billfold.errors import FileRejected
from billfold.formats.detect import parse_bank_file
from billfold.formats.nacha import check_digit, parse_nacha

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bank" / "nacha"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rejected(data: bytes, *, strict: bool = True) -> list[str]:
    with pytest.raises(FileRejected) as info:
        parse_nacha(data, "ach.txt", strict=strict)
    return [str(e) for e in info.value.errors]


def replace_line(data: bytes, line: int, old: str, new: str) -> bytes:
    lines = data.decode().split("\n")
    assert old in lines[line - 1] and len(old) == len(new)
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "\n".join(lines).encode()


def test_ccd_debits_are_negative_and_name_the_originator() -> None:
    bank = parse_nacha(load("moov-ccd-debit.ach"), "ccd.ach")
    assert (bank.format, bank.file_id, bank.created) == ("nacha", "190816A", date(2019, 8, 16))
    (batch,) = bank.statements
    assert (batch.statement_id, batch.account, batch.bank_id) == (
        "190816A/0000001",
        "231380104",
        "03130001",
    )
    assert batch.statement_date == date(2019, 8, 16)
    assert [e.amount for e in batch.entries] == [Decimal("-5000.00"), Decimal("-1.25")]
    first = batch.entries[0]
    assert (first.reference, first.type_code, first.payer_name) == (
        "031300010000001",
        "CCD",
        "Name on Account",
    )
    assert first.end_to_end == "location1234567"
    assert ("receiver_name", "Best Co. #123456789012") in first.details
    assert first.batch == "190816A/0000001"


def test_ppd_credit_names_the_individual() -> None:
    (entry,) = parse_nacha(load("moov-ppd-credit.ach"), "ppd.ach").entries
    assert entry.amount == Decimal("1000000.00")
    assert (entry.payer_name, entry.payer_account, entry.payer_bank) == (
        "Credit Account 1",
        "987654321",
        "231380104",
    )
    assert entry.currency == "USD" and entry.type_code == "PPD"


def test_ctx_free_text_addenda_are_kept_as_text() -> None:
    (entry,) = parse_nacha(load("moov-ctx-debit.ach"), "ctx.ach").entries
    assert entry.amount == Decimal("-1000000.00")
    assert entry.text == ("Debit First Account", "Debit Second Account")
    assert entry.lines == ()
    assert ("receiver_name", "Receiver Company") in entry.details


def test_returns_carry_reason_and_original_trace() -> None:
    bank = parse_nacha(load("moov-return-WEB.ach"), "returns.ach")
    assert [s.statement_id for s in bank.statements] == ["181017A/0000001", "181017A/0000002"]
    debit_return, credit_return = bank.entries
    assert (debit_return.amount, debit_return.return_reason) == (Decimal("-123.54"), "R01")
    assert debit_return.is_return and debit_return.payer_name == "Paul Jones"
    assert ("original_trace", "091400600000001") in debit_return.details
    assert (credit_return.amount, credit_return.return_reason) == (Decimal("45.65"), "R03")
    assert credit_return.payer_name == "Bob Marley"


def test_invalid_sample_is_rejected_at_its_short_line() -> None:
    errors = rejected(load("moov-20110729A-invalid.ach"))
    assert errors[0] == (
        "line 1, column (record length), value '93': record is 93 characters; NACHA records are 94"
    )


def test_nonascii_sample_is_rejected_for_its_file_control() -> None:
    errors = rejected(load("moov-nonascii-utf8.ach"))
    assert errors == [
        "line 1, column (record length), value '75': record is 75 characters; NACHA records are 94",
        "line 17, column (record length), value '55': record is 55 characters; "
        "NACHA records are 94",
        "line 17, column block count, value '1': "
        "the number of 10-record blocks (20 records) is 2 in the file",
        "line 17, column file entry/addenda count, value '1': "
        "the entry/addenda count of the file is 13 in the file",
    ]


def test_nonascii_sample_reads_its_x12_820_when_not_strict() -> None:
    bank = parse_nacha(load("moov-nonascii-utf8.ach"), "utf8.ach", strict=False)
    (entry,) = bank.entries
    assert entry.amount == Decimal("-1000000.00")
    assert [line.reference for line in entry.lines] == ["/PHON 888-888-8888 /CONT JO SM", "ANG"]
    assert ("remittance_payer", "META PLATFORMS INC") in entry.details
    assert ("remittance_trace", "M4986O3TM2") in entry.details
    assert any("RMR segments without an amount paid" in w for w in bank.warnings)
    assert any("X12 payment amount 1352.88 (BPR02) differs" in w for w in bank.warnings)
    assert any(w.startswith("line 17, file entry/addenda count '1'") for w in bank.warnings)


def test_ccd_plus_remittance_and_prenote() -> None:
    bank = parse_nacha(load("billfold-ccd-plus.ach"), "ccd-plus.ach")
    assert bank.warnings == ("line 7: prenote (transaction code 23) 021000020000003 ignored",)
    globex, hooli = bank.statements
    assert [e.amount for e in globex.entries] == [Decimal("123.45"), Decimal("99.50")]
    first, shorthand = globex.entries
    assert first.payer_name == "GLOBEX LLC" and first.payer_bank == "02100002"
    (line,) = first.lines
    assert (line.reference, line.kind, line.amount) == (
        "INV-2026-000123",
        "invoice",
        Decimal("123.45"),
    )
    assert shorthand.lines[0].amount == Decimal("99.50")  # RMR*IV*INV-2026-000124*99.50\
    assert ("receiver_account", "000123456789") in first.details
    (free_text,) = hooli.entries
    assert free_text.text == ("PAYMENT FOR INVOICE INV-2026-000130 THANK YOU",)
    assert free_text.lines == ()
    assert hooli.statement_id == "260302A/0000002"


def test_ctx_with_an_820_of_three_lines() -> None:
    (entry,) = parse_nacha(load("billfold-ctx-820.ach"), "ctx-820.ach").entries
    assert entry.amount == Decimal("1500.00")
    assert [(x.reference, x.kind, x.amount) for x in entry.lines] == [
        ("INV-2026-000201", "invoice", Decimal("1000.00")),
        ("INV-2026-000202", "invoice", Decimal("600.00")),
        ("CM-2026-000007", "credit_note", Decimal("-100.00")),
    ]
    assert entry.lines[1].discount == Decimal("20.00")
    assert sum(x.amount or 0 for x in entry.lines) == entry.amount
    assert entry.payer_name == "INITECH CORP"
    assert ("remittance_payer", "INITECH CORPORATION") in entry.details
    assert entry.text == ()


def test_detect_routes_nacha_files() -> None:
    data = load("billfold-ctx-820.ach")
    assert parse_bank_file(data, "ctx.ach") == parse_nacha(data, "ctx.ach")


def test_records_without_line_breaks() -> None:
    data = load("moov-return-WEB.ach")
    joined = data.decode().replace("\n", "").encode()
    assert parse_nacha(joined, "x") == parse_nacha(data, "x")


def test_tampered_amount_breaks_batch_and_file_controls() -> None:
    data = replace_line(load("moov-ccd-debit.ach"), 3, "0000500000", "0000500100")
    assert rejected(data) == [
        "line 5, column batch total debit amount, value '500125': "
        "the total debit amount of the batch is 500225 in the file",
        "line 6, column file total debit amount, value '500125': "
        "the total debit amount of the file is 500225 in the file",
    ]


def test_tampered_amount_is_a_warning_when_not_strict() -> None:
    data = replace_line(load("moov-ccd-debit.ach"), 3, "0000500000", "0000500100")
    bank = parse_nacha(data, "x", strict=False)
    assert bank.entries[0].amount == Decimal("-5001.00")
    assert len(bank.warnings) == 2


def test_wrong_check_digit_and_entry_hash() -> None:
    data = replace_line(load("moov-ppd-credit.ach"), 3, "6222313801049", "6222313801059")
    errors = rejected(data)
    assert errors[0] == (
        "line 3, column RDFI check digit, value '5': "
        "routing 231380105 fails the check digit (expected 4)"
    )
    data = replace_line(load("moov-ppd-credit.ach"), 3, "622231380104", "622231390107")
    errors = rejected(data)
    assert errors == [
        "line 4, column batch entry hash, value '23138010': "
        "the entry hash of the batch is 23139010 in the file",
        "line 5, column file entry hash, value '23138010': "
        "the entry hash of the file is 23139010 in the file",
    ]


def test_cut_file_names_the_missing_controls() -> None:
    lines = load("moov-ccd-debit.ach").decode().split("\n")
    errors = rejected("\n".join(lines[:4]).encode())
    assert errors == [
        "line 2, column batch control, value '': the batch has no 8 batch control record",
        "line 4, column file control, value '': no 9 file control record: the file is cut short",
    ]


def test_structure_and_field_problems() -> None:
    lines = load("moov-ccd-debit.ach").decode().split("\n")
    lines[2] = lines[2][:-1]  # 93 characters
    lines[3] = "X" + lines[3][1:]
    errors = rejected("\n".join(lines).encode())
    assert errors[0].startswith("line 3, column (record length), value '93'")
    assert any(
        e.startswith("line 4, column record type, value 'X': unknown record type") for e in errors
    )


def test_credit_in_a_debits_only_batch() -> None:
    data = replace_line(load("moov-ccd-debit.ach"), 4, "627231380104", "622231380104")
    errors = rejected(data)
    assert errors[0] == (
        "line 4, column transaction code, value '22': a credit in a debits-only (225) batch"
    )


def test_embedded_820_that_does_not_add_up() -> None:
    data = replace_line(load("billfold-ctx-820.ach"), 9, "600.00", "610.00")
    errors = rejected(data)
    assert errors == [
        "line 6, column addenda X12 BPR02, value '1500.00': transaction 0001: payment amount "
        "1500.00 (segment 2) differs from the remittance total 1510.00 (RMR04 amounts paid and "
        "ADX01 adjustments, segments 9, 10, 11)"
    ]


def test_addenda_sequence_and_indicator() -> None:
    data = replace_line(load("billfold-ctx-820.ach"), 5, "00020000011", "00030000011")
    errors = rejected(data)
    assert errors == ["line 5, column addenda sequence number, value '0003': expected 0002"]
    data = replace_line(
        load("billfold-ccd-plus.ach"), 3, "BILLFOLD DEMO INC       1", "BILLFOLD DEMO INC       0"
    )
    errors = rejected(data)
    assert errors == [
        "line 3, column addenda record indicator, value '0': "
        "says no addenda but 1 addenda record(s) follow"
    ]


def test_check_digit() -> None:
    assert check_digit("23138010") == 4
    assert check_digit("02120002") == 5
