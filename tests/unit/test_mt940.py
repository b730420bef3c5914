"""MT940 / MT942 importer: real-world samples, our own files, truncation and broken balances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billfold.domain.payments import BankFile
from billfold.errors import FileRejected, RowError
from billfold.formats.mt940 import parse_mt940

MT940 = Path(__file__).parents[1] / "fixtures" / "bank" / "mt940"
OWN = MT940 / "billfold-two-statements.sta"
OWN_942 = MT940 / "billfold-mt942.sta"


def load(name: str, *, strict: bool = True) -> BankFile:
    return parse_mt940((MT940 / name).read_bytes(), name, strict=strict)


def rejected(data: bytes | str, *, strict: bool = True) -> list[RowError]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(FileRejected) as info:
        parse_mt940(raw, "test.sta", strict=strict)
    return info.value.errors


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# -- the samples ---------------------------------------------------------------------------------


def test_german_sepa_sample_with_structured_86() -> None:
    bank_file = load("betterplace-sepa_mt9401.sta")
    assert (bank_file.format, bank_file.warnings) == ("mt940", ())
    assert len(bank_file.entries) == 97
    assert len(bank_file.statements) == 26
    first = bank_file.statements[0]
    assert first.statement_id == "T089413946000001/00004/00001"
    assert (first.account, first.currency) == ("50880050/0194774600888", "EUR")
    assert (first.opening_balance, first.closing_balance) == (
        Decimal("-1234718.36"),
        Decimal("-1237628.23"),
    )
    returned = first.entries[0]
    assert (returned.amount, returned.reference) == (Decimal("300.00"), "0724710345313905")
    assert returned.is_return and returned.return_reason == "914"
    assert returned.end_to_end == "TFNR 40005 00005"
    assert returned.text == ("MTLG:Grund nicht spezifiziert Reject aus SEPA-Ueberweisungsauftrag",)
    assert ("posting text", "RETOURE") in returned.details

    credit = bank_file.statements[1].entries[0]
    assert credit.amount == Decimal("15000.05")
    assert credit.payer_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    assert (credit.payer_account, credit.payer_bank) == ("DE42100100100043921105", "PBNKDEFF100")
    assert credit.end_to_end == "EndToEndIdTFNR2000400001"  # EREF run on over ?20 and ?21
    assert credit.text[0].startswith("TO 13 TFNr 20004 Eingangskanal Mint")

    reversal = next(e for e in bank_file.entries if e.type_code == "NRTI")
    assert (reversal.amount, reversal.is_return) == (Decimal("-204.88"), True)  # RC: a debit
    debit = bank_file.statements[1].entries[1]
    assert ("KREF", "TFNr 01005 PayId CTSc-01 EBB") in debit.details
    assert debit.text == ("MTLG:SEPA-Ueberweisungsauftrag Datei mit 0000005 Zahlungen",)


def test_abn_amro_sample_does_not_balance() -> None:
    errors = rejected((MT940 / "jejik-abnamro.sta").read_bytes())
    assert [(e.line, e.column) for e in errors] == [(27, ":62F:"), (40, ":62M:")]
    assert "'ABN AMRO BANK NV/19321/1' (from line 4) does not balance" in errors[0].reason
    assert "difference -2038.00 EUR" in errors[0].reason

    bank_file = load("jejik-abnamro.sta", strict=False)
    assert len(bank_file.warnings) == 2
    first, second = bank_file.statements
    assert [s.statement_id for s in (first, second)] == [
        "ABN AMRO BANK NV/19321/1",
        "ABN AMRO BANK NV/19322/1",
    ]
    assert (len(first.entries), len(second.entries)) == (8, 2)
    assert (first.bank_id, first.account) == ("ABNANL2A", "517852257")
    kpn = first.entries[0]
    assert (kpn.amount, kpn.type_code) == (Decimal("-9.00"), "N192")
    assert kpn.text == (
        "GIRO 428428 KPN - DIGITENNE BETALINGSKENM. 000000042188659",
        "5314606715 BETREFT FACTUUR D.D. 20-05-2011",
        "INCL. 1,44 BTW",
    )
    assert (first.entries[1].value_date, first.entries[1].booking_date) == (
        date(2011, 5, 21),
        date(2011, 5, 23),
    )
    assert second.opening_balance == Decimal("2876.84")  # :60M: intermediate balance


def test_ing_sample_statement_information_and_tabs() -> None:
    (error,) = rejected((MT940 / "jejik-ing.sta").read_bytes())
    assert (error.line, error.column) == (26, ":62F:")
    bank_file = load("jejik-ing.sta", strict=False)
    (statement,) = bank_file.statements
    assert statement.statement_id == "MPBZ/000"
    assert len(statement.entries) == 7
    assert sum(e.amount for e in statement.entries) == Decimal("-45.59")
    assert statement.entries[1].text == (
        "0111111111 GPSEOUL SPOEDBETALING MPBZS1016000047 GPSEOUL",
    )
    assert any("D000004C000002D25,24C28,71" in w for w in bank_file.warnings)


def test_rabobank_sample_fixed_width_references() -> None:
    errors = rejected((MT940 / "jejik-rabobank.sta").read_bytes())
    assert [e.line for e in errors] == [11, 28]
    bank_file = load("jejik-rabobank.sta", strict=False)
    assert [len(s.entries) for s in bank_file.statements] == [1, 0, 2, 2]
    assert bank_file.statements[0].account == "1291.99.348"  # the EUR suffix dropped
    entry = bank_file.statements[0].entries[0]
    assert ("customer reference", "0121470966") in entry.details
    assert ("supplementary details", "W.P. Jansen") in entry.details
    assert entry.text == (
        "Terugboeking",
        "NIET AKKOORD MET AFSCHRIJVING",
        "KOSTEN KINDEROPVANG JUNI",
        "20095731",
    )
    empty = bank_file.statements[1]
    assert empty.opening_balance == empty.closing_balance == Decimal("1000.89")


def test_polish_sample_with_control_characters() -> None:
    bank_file = load("mBank-mt940.sta")
    (statement,) = bank_file.statements
    assert (statement.statement_id, statement.currency) == ("ST170119CYC/1/1/1", "PLN")
    assert [e.reference for e in statement.entries] == [
        "MB170119012058",
        "MB170119012085",
        "MB170119012121",
    ]
    assert sum(e.amount for e in statement.entries) == Decimal("0.03")
    entry = statement.entries[0]
    assert ("funds code", "N") in entry.details
    assert ("supplementary details", "911-TRANSAKCJA IPH") in entry.details
    assert "56114010810000267002001001; OD: JAN NOWAK" in entry.text


# -- our own files -------------------------------------------------------------------------------


def test_own_file_with_two_statements() -> None:
    bank_file = parse_mt940(OWN.read_bytes(), OWN.name)
    assert (bank_file.format, bank_file.warnings) == ("mt940", ())
    german, dutch = bank_file.statements
    assert (german.statement_id, german.bank_id) == ("BF260302-1/62/1", "COBADEFF")
    assert (german.closing_balance, german.statement_date) == (
        Decimal("11772.90"),
        date(2026, 3, 2),
    )
    payment, fee, chargeback = german.entries
    assert payment.payer_name == "Nordwind Logistik GmbH Hamburg"
    assert (payment.payer_account, payment.payer_bank) == ("DE02120300000000202051", "BYLADEM1001")
    assert payment.end_to_end == "NW-E2E-20260301-17"
    assert payment.text == ("INV-2026-0041 INV-2026-0042 Skonto 2 Prozent",)
    assert ("ABWA", "Nordwind Holding AG") in payment.details
    assert (fee.amount, fee.type_code) == (Decimal("-45.00"), "NMSC")
    assert (chargeback.amount, chargeback.is_return) == (Decimal("-120.00"), True)
    assert chargeback.return_reason == "MD06"
    assert ("customer reference", "SDD-2026-0031") in chargeback.details

    assert (dutch.statement_id, dutch.account, dutch.bank_id) == (
        "BF260102-2/17/1",
        "NL91ABNA0417164300",
        "ABNANL2A",
    )
    assert dutch.opening_balance == Decimal("-250.00")
    abn, ing_return, rabo = dutch.entries
    assert (abn.value_date, abn.booking_date) == (date(2025, 12, 31), date(2026, 1, 2))
    assert (abn.payer_name, abn.payer_account, abn.payer_bank) == (
        "J DOE HANDEL BV",
        "NL44RABO0123456789",
        "RABONL2U",
    )
    assert (abn.text, abn.end_to_end) == (("FACTUUR INV-2025-0999",), "E2E-JDH-0999")
    assert (ing_return.amount, ing_return.is_return, ing_return.return_reason) == (
        Decimal("30.00"),
        True,
        "MD06",
    )
    assert ing_return.payer_name == "Kantoor Service BV"
    assert ing_return.text == ("Terugboeking incasso december",)
    assert ("MARF", "MNDT-77") in ing_return.details
    assert rabo.structured_refs == ("1234567890123452",) and rabo.end_to_end is None


def test_own_mt942_interim_report() -> None:
    bank_file = parse_mt940(OWN_942.read_bytes(), OWN_942.name)
    assert bank_file.format == "mt942"
    (report,) = bank_file.statements
    assert (report.opening_balance, report.closing_balance) == (None, None)
    assert (report.currency, report.statement_date) == ("EUR", date(2026, 3, 3))
    credit, debit = report.entries
    assert credit.structured_refs == ("RF18539007547034",)
    assert (credit.payer_name, credit.end_to_end) == ("Muster AG", "E2E-942-1")
    assert debit.amount == Decimal("-20.00")


def test_mt942_totals_are_checked() -> None:
    text = OWN_942.read_text().replace(":90C:1EUR500,00", ":90C:2EUR510,00")
    (error,) = rejected(text)
    assert (error.line, error.column) == (line_of(text, ":90C:"), ":90C:")
    assert "says 2 entries for 510.00, the statement has 1 for 500.00" in error.reason


# -- rejections ----------------------------------------------------------------------------------


def test_tampered_amount_breaks_the_balance() -> None:
    text = OWN.read_text()
    tampered = text.replace(":61:2603020302DR45,00", ":61:2603020302DR46,00")
    (error,) = rejected(tampered)
    assert (error.line, error.column) == (line_of(text, ":62F:C260302"), ":62F:")
    assert error.value == "C260302EUR11772,90"
    assert "'BF260302-1/62/1' (from line 2) does not balance" in error.reason
    assert "difference 1.00 EUR" in error.reason


def test_file_cut_in_the_middle_of_a_61() -> None:
    text = OWN.read_text()
    cut = text[: text.index(":61:2603020302DR45,00") + len(":61:2603020302DR4")]
    errors = rejected(cut)
    line = line_of(text, ":61:2603020302DR45,00")
    assert [(e.line, e.column) for e in errors] == [(line, ":62F:"), (line, ":61: amount")]
    assert "no closing balance" in errors[0].reason and "truncated" in errors[0].reason


def test_file_cut_before_the_closing_balance() -> None:
    text = OWN.read_text()
    (error,) = rejected(text[: text.index(":62F:C260302")])
    assert error.column == ":62F:" and "no closing balance" in error.reason


def test_malformed_fields_are_all_reported() -> None:
    text = (
        OWN.read_text()
        .replace(":60F:C260301EUR10000,00", ":60F:C260231EUR10000,00")
        .replace(":61:2603020302DR45,00", ":61:2603020302DR45.00")
        .replace(":62F:C260102EUR1017,90", ":62F:C260102EUR1017,905")
        .replace(":25:NL91ABNA0417164300EUR\n", "")
    )
    errors = rejected(text)
    assert [(e.column, e.value) for e in errors] == [
        (":60F:", "260231"),
        (":61: amount", "2603020302DR45.00NMSCNONREF//COBA0418"),
        (":25:", ""),
        (":62F:", "1017,905"),
    ]
    assert "more decimals than EUR allows" in errors[3].reason


def test_unexpected_text_and_missing_fields() -> None:
    errors = rejected(":20:X\n:25:NL1\n:60F:C260101EUR1,00\n:62F:C260101EUR1,00\nstray\n")
    assert [(e.line, e.column, e.reason) for e in errors] == [
        (5, ":62F:", "unexpected text after :62F:"),
        (1, ":28C:", "the message starting here has no :28C: field"),
    ]


def test_nothing_to_import_and_mixed_kinds() -> None:
    (error,) = rejected("hello\nworld\n")
    assert "no MT940/MT942 message" in error.reason
    mixed = OWN.read_text() + OWN_942.read_text()
    assert "mixes MT940 statements and MT942 reports" in rejected(mixed)[0].reason


def test_latin1_file_and_duplicate_statement_ids() -> None:
    message = ":20:R1\n:25:DE1\n:28C:1/1\n:60F:C260101EUR0,\n:61:260101C5,NTRFNONREF\n"
    message += ":86:Zahlung M\xfcller\n:62F:C260101EUR5,\n-\n"
    bank_file = parse_mt940((message * 2).encode("latin-1"), "l.sta")
    assert bank_file.warnings == ("the file is not UTF-8: read as Latin-1",)
    assert [s.statement_id for s in bank_file.statements] == ["R1/1/1", "R1/1/1#2"]
    assert bank_file.entries[0].text == ("Zahlung Müller",)
    assert bank_file.entries[0].reference == "R1/1/1/1"


def test_entry_date_rolls_back_over_new_year() -> None:
    message = ":20:R\n:25:DE1\n:28C:1\n:60F:C260102EUR0,\n:61:2601021231D1,NTRFNONREF\n"
    message += ":62F:D260102EUR1,\n"
    (entry,) = parse_mt940(message.encode(), "y.sta").entries
    assert (entry.value_date, entry.booking_date) == (date(2026, 1, 2), date(2025, 12, 31))
