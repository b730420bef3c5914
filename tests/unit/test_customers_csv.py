from decimal import Decimal
from pathlib import Path

import pytest

from billfold.errors import FileRejected
from billfold.formats.customers_csv import parse_customers_csv

GOOD = Path(__file__).parents[1] / "fixtures" / "customers" / "good.csv"
HEADER = "number,name,currency,payment_terms,bill_to_country,tax_id,billing_email\n"


def rejected(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(FileRejected) as info:
        parse_customers_csv(data, "customers.csv")
    return [str(e) for e in info.value.errors] or [info.value.message]


def test_good_file_parses_every_field() -> None:
    rows = parse_customers_csv(GOOD.read_bytes(), "good.csv")
    assert [r.line for r in rows] == [2, 3, 4, 5, 6]
    nordwind = rows[0].record
    assert nordwind.credit_limit == Decimal("50000.00")
    assert nordwind.tax_ids[0].number == "DE136695976"
    assert nordwind.address("ship_to") is not None
    assert [c.role for c in nordwind.contacts] == ["billing", "ap"]
    assert nordwind.aliases == ("Nordwind Logistik", "NORDWIND GMBH")
    assert rows[1].record.parent_number == "C-1001"
    assert rows[1].record.payment_terms == "2/10 NET30"
    assert rows[3].record.tax_ids[0].scheme == "EIN"
    assert rows[3].record.exemptions[0].certificate == "CA-EX-7781"
    assert rows[4].record.on_hold is True
    assert rows[4].record.credit_limit == Decimal("3000000")


def test_missing_required_column() -> None:
    errors = rejected("number,name,currency,bill_to_country\nC1,A,EUR,DE\n")
    assert errors == ["line 1, column payment_terms, value '': required column is missing"]


def test_unknown_column_is_named() -> None:
    errors = rejected(HEADER.replace("currency", "curency") + "C1,A,EUR,NET30,DE,,\n")
    assert "line 1, column curency, value 'curency': unknown column" in errors[1]


def test_every_bad_row_is_reported() -> None:
    text = HEADER + (
        "C1,Alpha,EUR,NET30,DE,DE136695976,a@alpha.example\n"
        "C2,Beta,EUX,NET30,FR,,b@beta.example\n"
        "C1,Gamma,EUR,NET30,DE,,c@gamma.example\n"
        "C3,Delta,EUR,soon,DE,DE136695977,not-an-email\n"
    )
    errors = rejected(text)
    assert "line 3, column currency, value 'EUX': unknown currency code 'EUX'" in errors[0]
    assert (
        "line 4, column number, value 'C1': duplicate customer number (first on line 2)" in errors
    )
    assert any(e.startswith("line 5, column payment_terms, value 'soon'") for e in errors)
    assert any(
        e.startswith("line 5, column tax_id, value 'DE136695977': tax ID") and "checksum" in e
        for e in errors
    )
    assert "line 5, column billing_email, value 'not-an-email': not an e-mail address" in errors


def test_too_many_decimals_in_credit_limit() -> None:
    errors = rejected(
        "number,name,currency,payment_terms,bill_to_country,credit_limit\nC1,A,JPY,NET30,JP,100.5\n"
    )
    assert errors == [
        "line 2, column credit_limit, value '100.5': amount 100.5 has more "
        "decimals than JPY allows (0)"
    ]


def test_non_utf8_byte_is_located() -> None:
    data = (HEADER + "C1,Alpha,EUR,NET30,DE,,\nC2,Caf").encode() + b"\xe9" + b",EUR,NET30,FR,,\n"
    errors = rejected(data)
    assert errors == ["line 3, column (encoding), value 'e9': byte is not valid UTF-8"]


def test_empty_file() -> None:
    assert rejected("") == ["customers.csv: the file is empty; nothing imported"]
    assert rejected(HEADER) == ["customers.csv: no customer rows below the header"]


def test_quoted_multiline_field_keeps_line_numbers_right() -> None:
    text = HEADER + 'C1,"Alpha\nAG",EUR,NET30,DE,,\nC2,Beta,EUR,NET30,XX1,,\n'
    assert rejected(text) == [
        "line 4, column bill_to_country, value 'XX1': expected a two-letter ISO 3166 country code"
    ]


def test_customer_cannot_be_its_own_parent() -> None:
    errors = rejected(
        "number,name,currency,payment_terms,bill_to_country,parent_number\nC1,A,EUR,NET30,DE,C1\n"
    )
    assert errors == [
        "line 2, column parent_number, value 'C1': a customer cannot be its own parent"
    ]
