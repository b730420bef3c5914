"""camt.053 / camt.054 importer: real samples, our own files, and every way to get rejected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.domain.payments import BankFile, RemittanceLine
from billfold.errors import FileRejected, RowError
from billfold.formats.camt import (
    SUPPORTED_NAMESPACES,
    creditor_reference_kind,
    creditor_references_in,
    parse_camt,
)

BANK = Path(__file__).parents[1] / "fixtures" / "bank"
SAMPLES = sorted(p.name for p in (*BANK.glob("camt053/*.xml"), *BANK.glob("camt054/*.xml")))
NS = "urn:iso:std:iso:20022:tech:xsd:"


def path_of(name: str) -> Path:
    return BANK / ("camt053" if "camt053" in name else "camt054") / name


def load(name: str, *, strict: bool = True) -> BankFile:
    return parse_camt(path_of(name).read_bytes(), name, strict=strict)


def rejected(data: bytes | str, *, strict: bool = True) -> list[RowError]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(FileRejected) as info:
        parse_camt(raw, "test.xml", strict=strict)
    assert "test.xml" in info.value.message
    return info.value.errors


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first ``needle`` at or after the first ``after``."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


# -- the samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in SAMPLES if "wrong" not in n])
def test_every_sample_parses_leniently(name: str) -> None:
    bank_file = load(name, strict=False)
    assert bank_file.format == ("camt.053" if "camt053" in name else "camt.054")
    assert bank_file.statements and bank_file.entries
    assert bank_file.file_id


def test_two_statements_in_one_file_v02() -> None:
    bank_file = load("genkgo-camt053.v2.multi.statement.xml")
    assert bank_file.warnings == ()
    assert (bank_file.file_id, bank_file.created) == ("CAMT053RIB000000000001", date(2015, 3, 10))
    first, second = bank_file.statements
    assert [s.statement_id for s in (first, second)] == [
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    ]
    assert (first.account, first.currency) == ("NL26VAYB8060476890", "EUR")
    assert (first.opening_balance, first.closing_balance) == (Decimal("18.15"), Decimal("27.00"))
    assert (second.opening_balance, second.closing_balance) == (Decimal("27.00"), Decimal("20.00"))
    credit, debit = first.entries[0], second.entries[0]
    assert (credit.amount, debit.amount) == (Decimal("8.85"), Decimal("-7.00"))
    assert (credit.booking_date, credit.value_date) == (date(2014, 12, 31), date(2015, 1, 2))
    assert credit.end_to_end == "000000001" and credit.type_code == "544"
    assert credit.text == ("Transaction Description 1",)
    # the file names only the creditor: for the debit that is the counterparty
    assert (debit.payer_name, debit.payer_account) == ("Company Name 2", "NL56AGDH9619008421")
    # no AcctSvcrRef nor NtryRef: a synthetic reference, stable for the same file
    assert credit.reference == "253EURNL26VAYB8060476890/1"


def test_v04_sample_with_closing_balance_in_another_currency() -> None:
    errors = rejected(path_of("genkgo-camt053.v4.xml").read_bytes())
    assert [(e.line, e.column, e.value) for e in errors] == [(80, "Stmt/Bal/Amt", "SEK -27.00")]
    assert "statement is in EUR" in errors[0].reason
    bank_file = load("genkgo-camt053.v4.xml", strict=False)
    assert len(bank_file.warnings) == 1
    (entry,) = bank_file.entries
    assert entry.reference == "AAAASESS-FP-CN_98765/01"
    assert entry.type_code == "PAYM/0001/0005"
    assert (entry.payer_name, entry.payer_account) == ("NAME NAME", "NL56AGDH9619008421")
    assert entry.structured_refs == ("4654654654654654",)
    assert entry.amount == Decimal("8.85")  # the entry amount, not the TxDtls "SEK 0"


def test_oca_statement_reversal_batch_and_balance() -> None:
    errors = rejected(path_of("oca-test-camt053.xml").read_bytes())
    assert [(e.line, e.column) for e in errors] == [(44, "Stmt/Bal/Amt")]
    assert "'1234Test/1' does not balance" in errors[0].reason
    assert "difference -434.16 EUR" in errors[0].reason

    (statement,) = load("oca-test-camt053.xml", strict=False).statements
    assert statement.bank_id == "ABNANL2A"
    assert statement.statement_date == date(2014, 1, 5)
    amounts = [e.amount for e in statement.entries]
    assert amounts == [Decimal(a) for a in ("-754.25", "-564.05", "-100.00", "1405.31")]
    debit, return1, return2, credit = statement.entries
    assert debit.type_code == "PMNT/RDDT/ESDD" and ("BkTxCd/Prtry", "EI") in debit.details
    assert debit.payer_name == "INSURANCE COMPANY TESTX"
    assert debit.text[0] == "Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014"
    for returned in (return1, return2):
        assert returned.is_return and returned.return_reason == "AC06"
        assert returned.batch == "2018/125-20141229-NORM"
    assert return1.end_to_end == "TESTBANK/NL/20141229/01206408"
    assert ("MndtId", "NL22ZZZ524885430000-C0125.1") in return1.details
    assert (credit.payer_name, credit.payer_account) == ("3rd party Media", "NL69ABNA0522123643")
    assert (credit.payer_bank, credit.end_to_end) == ("ABNANL2A", "115")
    assert not credit.is_return and credit.is_credit


def test_wrong_sample_without_statement_is_rejected() -> None:
    errors = rejected(path_of("genkgo-camt053.v2.wrong.xml").read_bytes(), strict=False)
    assert [(e.line, e.column) for e in errors] == [(3, "Document/BkToCstmrStmt")]
    assert "no Stmt" in errors[0].reason


def test_notification_v02_transactions_without_amounts_stay_one_entry() -> None:
    bank_file = load("genkgo-camt054.v2.xml")
    (entry,) = bank_file.entries
    assert (entry.amount, entry.currency) == (Decimal("-200000.00"), "SEK")
    assert entry.booking_date == date(2007, 10, 18)  # from BookgDt/DtTm
    assert entry.structured_refs == (
        "ISR ref number V1",
        "ISR ref number V2",
        "Ref number V3 block 1",
        "Ref number V3 block 2",
    )
    assert "Additional Remittance Information V2" in entry.text
    assert "kept as one" in bank_file.warnings[0]
    assert bank_file.statements[0].account == "CH2801234000123456789"


def test_notification_v08_batch_that_does_not_add_up() -> None:
    errors = rejected(path_of("genkgo-camt054.v8.xml").read_bytes())
    assert [(e.line, e.column, e.value) for e in errors] == [(64, "Ntry/Amt", "-200000.00")]
    assert "CHF 3.10, CHF 3.20, CHF 3.20" in errors[0].reason
    bank_file = load("genkgo-camt054.v8.xml", strict=False)
    (entry,) = bank_file.entries
    assert entry.amount == Decimal("-200000.00") and entry.batch == "UXC06170000006PI00001"
    assert entry.payer_name == "Example Creditor 3 - V1"  # v08 Cdtr/Pty/Nm, debit side
    assert entry.type_code == "PMNT/ICDT/DMCT" and "Order" in entry.text
    assert bank_file.statements[0].bank_id == "UBSWCHZH80A"


def test_swiss_notification_with_qr_reference() -> None:
    (entry,) = load("oca-test-camt054.xml").entries
    assert entry.structured_refs == ("000000000000000000000000003",)
    assert entry.reference == "98888208N8"
    assert ("NtryRef", "NL0000000000000000000") in entry.details
    assert ("TxAcctSvcrRef", "15180015077602405") in entry.details
    assert (entry.payer_name, entry.payer_account) == ("Test Customer", "NL46ABNA0499998748")
    assert entry.payer_bank == "NZNCC020368" and entry.end_to_end == "ENDTOENDID-01"
    assert entry.text == ("Additional entry info",)


# -- our own files -------------------------------------------------------------------------------


def test_own_v08_notification_with_two_invoices_and_discounts() -> None:
    bank_file = load("billfold-camt054.v8.remittance.xml")
    assert bank_file.warnings == ()
    payment, returned = bank_file.entries
    assert payment.lines == (
        RemittanceLine(
            "INV-2026-0041",
            "invoice",
            amount=Decimal("1176.00"),
            invoiced_amount=Decimal("1200.00"),
            discount=Decimal("24.00"),
            note="dated 2026-02-20",
        ),
        RemittanceLine(
            "INV-2026-0042",
            "invoice",
            amount=Decimal("764.40"),
            invoiced_amount=Decimal("780.00"),
            discount=Decimal("15.60"),
        ),
    )
    assert sum(line.amount or 0 for line in payment.lines) == payment.gross == Decimal("1940.40")
    assert (payment.amount, payment.charges) == (Decimal("1937.90"), Decimal("2.50"))
    assert payment.structured_refs == ("RF03INV20260041",)
    assert (payment.payer_name, payment.payer_bank) == ("Nordwind Logistik GmbH", "BYLADEM1001")
    assert ("UltmtDbtr", "Nordwind Holding AG") in payment.details
    assert payment.reference == "COBA-20260302-000417"

    assert returned.amount == Decimal("-310.00") and returned.is_return
    assert (
        returned.return_reason == "AC04"
        and ("RtrInf/AddtlInf", "Account closed") in returned.details
    )
    assert returned.payer_name == "Kantoor Service BV"  # only the Dbtr side is given
    assert returned.structured_refs == ("RF44NW0311",)  # found in the unstructured text
    assert returned.text == ("Payment RF44 NW03 11 returned", "RETURNED CREDIT TRANSFER")


def test_own_v08_statement_with_a_batch_of_three() -> None:
    bank_file = load("billfold-camt053.v8.batch.xml")
    (statement,) = bank_file.statements
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("10000.00"),
        Decimal("10955.00"),
    )
    assert statement.statement_date == date(2026, 3, 3)
    one, two, three, fee = statement.entries
    assert [e.amount for e in (one, two, three)] == [
        Decimal("100.00"),
        Decimal("250.50"),
        Decimal("649.50"),
    ]
    assert {e.batch for e in (one, two, three)} == {"LOCKBOX-0303"}
    assert [e.reference for e in (one, two, three)] == [
        "COBA-7-1",
        "COBA-7-2",
        "COBA-20260303-BATCH-7/3",
    ]
    assert one.text == ("INV-2026-0007", "SEPA CREDIT TRANSFERS 3")
    assert (two.payer_account, two.end_to_end) == ("0012345678", None)  # NOTPROVIDED
    assert two.structured_refs == ("RF03INV20260041",)
    assert three.payer_name == "Gamma GmbH"
    assert three.structured_refs == ("210000000003139471430009017",)
    assert (fee.amount, fee.type_code, fee.batch) == (Decimal("-45.00"), "FEE", None)
    assert sum(e.amount for e in statement.entries) == Decimal("955.00")


def test_batch_whose_transactions_do_not_add_up_is_rejected() -> None:
    text = path_of("billfold-camt053.v8.batch.xml").read_text()
    tampered = text.replace('<Amt Ccy="EUR">250.50</Amt>', '<Amt Ccy="EUR">250.00</Amt>')
    (error,) = rejected(tampered)
    assert error.line == line_of(text, '<Amt Ccy="EUR">1000.00</Amt>', after="<Ntry>")
    assert (error.column, error.value) == ("Ntry/Amt", "1000.00")
    assert "EUR 100.00, EUR 250.00, EUR 649.50" in error.reason


def test_tampered_amount_breaks_the_balance() -> None:
    text = path_of("billfold-camt053.v8.batch.xml").read_text()
    tampered = text.replace('<Amt Ccy="EUR">45.00</Amt>', '<Amt Ccy="EUR">46.00</Amt>')
    (error,) = rejected(tampered)
    assert error.line == line_of(text, '<Amt Ccy="EUR">10955.00</Amt>')
    assert error.column == "Stmt/Bal/Amt"
    assert "'BF-STMT-2026-062' does not balance" in error.reason
    assert "opening 10000.00 + entries 954.00 = 10954.00" in error.reason
    assert "difference 1.00 EUR" in error.reason
    lenient = parse_camt(tampered.encode(), "t.xml", strict=False)
    assert "difference 1.00 EUR" in lenient.warnings[0]


# -- namespaces and versions ---------------------------------------------------------------------


def minimal(message: str, version: str) -> str:
    body, item = {
        "053": ("BkToCstmrStmt", "Stmt"),
        "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[message]
    return f"""<?xml version="1.0"?>
<Document xmlns="{NS}camt.{message}.001.{version}"><{body}>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-01-05T10:00:00</CreDtTm></GrpHdr>
<{item}><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-01-05</Dt></BookgDt>
<ValDt><Dt>2026-01-06</Dt></ValDt></Ntry></{item}></{body}></Document>"""


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
@pytest.mark.parametrize("message", ["053", "054"])
def test_versions_02_to_08_are_recognised(message: str, version: str) -> None:
    bank_file = parse_camt(minimal(message, version).encode(), "m.xml")
    assert bank_file.format == f"camt.{message}"
    (entry,) = bank_file.entries
    assert (entry.amount, entry.value_date) == (Decimal("12.50"), date(2026, 1, 6))
    assert len(SUPPORTED_NAMESPACES) == 14


@pytest.mark.parametrize(
    "namespace",
    [f"{NS}camt.053.001.13", f"{NS}camt.052.001.08", "urn:example:not-camt"],
)
def test_unknown_namespace_is_named(namespace: str) -> None:
    text = minimal("053", "08").replace(f"{NS}camt.053.001.08", namespace)
    (error,) = rejected(text)
    assert (error.line, error.value) == (2, namespace)
    assert f"unknown namespace '{namespace}'" in error.reason


def test_document_without_namespace_is_rejected() -> None:
    (error,) = rejected("<Document><BkToCstmrStmt/></Document>")
    assert "unknown namespace ''" in error.reason


def test_malformed_xml_reports_its_line() -> None:
    (error,) = rejected(minimal("053", "02").replace("</Ntry>", "</Ntryy>"))
    assert error.line == 6 and error.column == "(xml)"


def test_entities_and_doctype_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = minimal("053", "08").replace(
        '<?xml version="1.0"?>',
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>',
    )
    xxe = xxe.replace("<MsgId>M1</MsgId>", "<MsgId>&x;</MsgId>")
    (error,) = rejected(xxe)
    assert "DOCTYPE is not allowed" in error.reason
    assert "TOP-SECRET" not in str(error)


def test_every_bad_value_is_reported_with_line_and_path() -> None:
    text = (
        minimal("054", "04")
        .replace(">12.50<", ">12,50<")
        .replace('Ccy="EUR"', 'Ccy="EUX"')
        .replace("<Dt>2026-01-06</Dt>", "<Dt>2026-13-01</Dt>")
        .replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CREDIT</CdtDbtInd>")
    )
    errors = rejected(text)
    assert [(e.line, e.column, e.value) for e in errors] == [
        (5, "Ntry/CdtDbtInd", "CREDIT"),
        (5, "Ntry/Amt", "12,50"),
        (6, "Ntry/ValDt/Dt", "2026-13-01"),
    ]


def test_currency_and_decimals_are_checked() -> None:
    errors = rejected(minimal("053", "08").replace('Ccy="EUR">12.50', 'Ccy="XXY">12.50'))
    assert "'XXY' is not an ISO 4217" in errors[0].reason
    errors = rejected(minimal("053", "08").replace('Ccy="EUR">12.50', 'Ccy="JPY">12.50'))
    assert "more decimals than JPY allows (0)" in errors[0].reason


def test_missing_required_elements() -> None:
    text = minimal("053", "08").replace("<MsgId>M1</MsgId>", "").replace("<Id>S1</Id>", "")
    text = text.replace("<BookgDt><Dt>2026-01-05</Dt></BookgDt>", "").replace(
        "<ValDt><Dt>2026-01-06</Dt></ValDt>", ""
    )
    reasons = [e.reason for e in rejected(text)]
    assert reasons == [
        "GrpHdr/MsgId is missing",
        "Stmt/Id is missing",
        "the entry has neither ValDt nor BookgDt",
    ]


# -- creditor references -------------------------------------------------------------------------


def test_creditor_reference_kinds() -> None:
    assert creditor_reference_kind("RF18 5390 0754 7034") == "RF"
    assert creditor_reference_kind("RF19 5390 0754 7034") is None
    assert creditor_reference_kind("21 00000 00003 13947 14300 09017") == "QRR"
    assert creditor_reference_kind("210000000003139471430009018") is None
    assert creditor_references_in("pay rf18 5390 0754 7034 and INV-7") == ("RF18539007547034",)
    assert creditor_references_in("Invoice 2026-0041, order 77") == ()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**8), min_size=2, max_size=6))
def test_batch_split_adds_up_to_the_entry(cents: list[int]) -> None:
    amounts = [Decimal(c).scaleb(-2) for c in cents]
    total = sum(amounts, Decimal(0))
    txs = "".join(f'<TxDtls><Amt Ccy="EUR">{a}</Amt></TxDtls>' for a in amounts)
    text = minimal("053", "08").replace(
        '<Amt Ccy="EUR">12.50</Amt>', f'<Amt Ccy="EUR">{total}</Amt>'
    )
    text = text.replace("</ValDt>", f"</ValDt><NtryDtls>{txs}</NtryDtls>")
    entries = parse_camt(text.encode(), "b.xml").entries
    assert [e.amount for e in entries] == amounts
    assert len({e.reference for e in entries}) == len(amounts)
