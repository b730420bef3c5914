"""X12 820 importer: separators, Billfold's remittance file, the EdiFabric sample, broken copies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billfold.errors import FileRejected
from billfold.formats.detect import parse_bank_file
from billfold.formats.x12_820 import (
    Separators,
    detect_separators,
    looks_like_x12,
    parse_x12_820,
    read_x12,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "edi" / "x12-820"
OWN = FIXTURES / "billfold-remittance-820.edi"
# Not copied into the repository (its source states no licence): read from shared/ when present.
EDIFABRIC = (
    Path(__file__).parents[3]
    / "shared"
    / "samples"
    / "edi"
    / "x12-820"
    / "edifabric-PaymentOrder-005010X218.edi"
)
NACHA_UTF8 = Path(__file__).parents[1] / "fixtures" / "bank" / "nacha" / "moov-nonascii-utf8.ach"


def rejected(data: bytes) -> list[str]:
    with pytest.raises(FileRejected) as info:
        parse_x12_820(data, "remit.edi")
    return [str(e) for e in info.value.errors]


def edit(old: str, new: str) -> bytes:
    text = OWN.read_text()
    assert old in text
    return text.replace(old, new, 1).encode()


def test_two_transactions_become_two_entries() -> None:
    bank = parse_x12_820(OWN.read_bytes(), "remit.edi")
    assert (bank.format, bank.file_id, bank.created) == ("x12_820", "000000777", date(2026, 3, 2))
    ach, cheque = bank.statements
    assert (ach.statement_id, ach.account, ach.bank_id) == (
        "000000777/000123456789",
        "000123456789",
        "091000019",
    )
    assert cheque.account == "REMITTANCE"
    (payment,) = ach.entries
    assert (payment.amount, payment.reference, payment.value_date) == (
        Decimal("2450.00"),
        "GLOBEX-20260303-01",
        date(2026, 3, 3),
    )
    assert (payment.payer_name, payment.payer_account, payment.payer_bank) == (
        "GLOBEX LLC",
        "55501234",
        "021000021",
    )
    adjustment, invoice, order = payment.lines
    assert (adjustment.kind, adjustment.amount) == ("other", Decimal("-50.00"))
    assert (invoice.reference, invoice.kind, invoice.amount) == (
        "INV-2026-000140",
        "invoice",
        Decimal("1500.00"),
    )
    assert invoice.note == "PO PO-88812; 003 20260215"
    assert (order.kind, order.invoiced_amount, order.discount) == (
        "po",
        Decimal("1030.00"),
        Decimal("30.00"),
    )
    assert order.note == "adjustment -30.00 reason DS"
    assert sum(x.amount or 0 for x in payment.lines) == payment.amount
    assert ("REF CK", "100234") in payment.details
    (check,) = cheque.entries
    assert (check.amount, check.type_code, check.reference) == (
        Decimal("750.00"),
        "CHK",
        "CHK-5521",
    )


def test_detect_routes_x12_files() -> None:
    data = OWN.read_bytes()
    assert parse_bank_file(data, "remit.edi") == parse_x12_820(data, "remit.edi")


@pytest.mark.skipif(not EDIFABRIC.exists(), reason="shared samples are not next to the repository")
def test_edifabric_sample_does_not_add_up() -> None:
    data = EDIFABRIC.read_bytes()
    assert rejected(data) == [
        "line 4, column BPR02, value '19000': transaction 0001: payment amount 19000 (segment 2) "
        "differs from the remittance total 16750 (RMR04 amounts paid and ADX01 adjustments, "
        "segments 8, 12)"
    ]
    bank = parse_x12_820(data, "edifabric.edi", strict=False)
    (entry,) = bank.entries
    assert (entry.amount, entry.reference, entry.payer_name) == (
        Decimal("19000.00"),
        "12345",
        "ABC PLASTICS",
    )
    assert [(x.reference, x.amount) for x in entry.lines] == [
        ("970501001", Decimal("16500.00")),
        ("970501002", Decimal("250.00")),
    ]
    assert bank.statements[0].account == "98765"
    assert len(bank.warnings) == 1


def test_bare_transaction_with_non_ascii_separator_from_ctx_addenda() -> None:
    lines = NACHA_UTF8.read_text(encoding="utf-8").split("\n")
    payload = "".join(line[3:83] for line in lines[3:15]).rstrip()
    body = payload[payload.index("ST¦") : payload.index("GE¦")]
    assert detect_separators(body) == Separators("¦", "~")
    result = read_x12(body, lambda offset: 6 + offset // 80)
    assert result.errors == ()
    (rem,) = result.remittances
    assert (rem.amount, rem.trace, rem.payer_name, rem.payee_name) == (
        Decimal("1352.88"),
        "M4986O3TM2",
        "META PLATFORMS INC",
        "JO SMITH",
    )
    assert rem.payment_date == date(2023, 6, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ISA*00*" + "*" * 14 + ":~GS*RA", Separators("*", "~", ":")),
        ("ST|820|0001\nBPR|C|1|C", Separators("|", "\n")),
        ("ST*820*0001*005010X218'BPR*C", Separators("*", "'")),
        ("RMR*IV*INV-1**100.00\\", Separators("*", "\\")),
        ("RMR*IV*INV-1**100.00", Separators("*", "\n")),
    ],
)
def test_detect_separators(text: str, expected: Separators) -> None:
    assert detect_separators(text) == expected


def test_looks_like_x12() -> None:
    assert looks_like_x12("RMR*IV*1**5\\")
    assert looks_like_x12("ISA*00*")
    assert not looks_like_x12("Debit First Account")
    assert not looks_like_x12("INV 123 THANK YOU")


def test_loose_rmr_segments() -> None:
    result = read_x12("RMR*IV*INV-9**10.00\\RMR*CR*CM-2**-2.50\\RMR*PO*PO-7*9.99\\")
    assert [(x.reference, x.kind, x.amount) for x in result.lines] == [
        ("INV-9", "invoice", Decimal("10.00")),
        ("CM-2", "credit_note", Decimal("-2.50")),
        ("PO-7", "po", Decimal("9.99")),
    ]


def test_wrong_segment_count_and_control_numbers() -> None:
    data = edit("SE*15*0001~", "SE*14*0009~")
    data = data.replace(b"GE*2*777~", b"GE*3*777~").replace(b"IEA*1*000000777", b"IEA*1*000000778")
    assert rejected(data) == [
        "line 17, column SE01, value '14': segment count 14 but the transaction set 0001 has 15 "
        "segments (ST to SE)",
        "line 17, column SE02, value '0009': control number differs from ST02 0001",
        "line 25, column GE01, value '3': the group has 2 transaction set(s)",
        "line 26, column IEA02, value '000000778': differs from ISA13 000000777",
    ]


def test_changed_amount_names_the_segments() -> None:
    data = edit("RMR*IV*INV-2026-000140**1500.00", "RMR*IV*INV-2026-000140**1550.00")
    assert rejected(data) == [
        "line 4, column BPR02, value '2450.00': transaction 0001: payment amount 2450.00 "
        "(segment 2) differs from the remittance total 2500.00 (RMR04 amounts paid and ADX01 "
        "adjustments, segments 9, 10, 13)"
    ]


def test_cut_file_names_the_missing_trailers() -> None:
    text = OWN.read_text()
    cut = text[: text.index("RMR*IV*INV-2026-000141")]
    assert rejected(cut.encode()) == [
        "line 18, column SE, value '': transaction set 0002 has no SE trailer: the data is cut",
        "line 2, column GE, value '': functional group 777 has no GE trailer: the data is cut",
        "line 1, column IEA, value '': interchange 000000777 has no IEA trailer: the data is cut",
    ]


def test_bad_values() -> None:
    data = edit("BPR*C*2450.00*C", "BPR*X*2,450.00*Q").replace(b"ST*820*0002", b"ST*810*0002")
    assert rejected(data) == [
        "line 4, column BPR02, value '2,450.00': not a decimal amount",
        "line 4, column BPR03, value 'Q': credit/debit flag must be C or D",
        "line 18, column ST01, value '810': not an 820 payment order/remittance advice",
    ]


def test_currency_and_decimals() -> None:
    text = "ST*820*1~BPR*C*10.50*C*ACH************20260301~CUR*PR*{}~RMR*IV*A**10.50~SE*5*1~"
    assert rejected(text.format("JPY").encode()) == [
        "line 1, column BPR02, value '10.50': more decimals than JPY allows (0)",
        "line 1, column RMR04, value '10.50': more decimals than JPY allows (0)",
    ]
    errors = rejected(text.format("XXQ").encode())
    assert errors[0].startswith("line 1, column CUR02, value 'XXQ': unknown currency code")
    (entry,) = parse_x12_820(text.format("EUR").encode(), "eur.edi").entries
    assert (entry.currency, entry.amount, entry.reference) == ("EUR", Decimal("10.50"), "1/1")


def test_not_x12_at_all() -> None:
    assert rejected(b"hello world") == [
        "line 1, column (x12), value 'hello world': "
        "the text does not start with an X12 segment (ISA, ST, RMR ...)"
    ]
