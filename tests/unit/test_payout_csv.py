"""Payout CSV importer: charges, a refund and fees; every bad value reported with its line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billfold.errors import FileRejected
from billfold.formats.detect import parse_bank_file
from billfold.formats.payout_csv import parse_payout_csv

GOOD = Path(__file__).parents[1] / "fixtures" / "bank" / "payout_csv" / "billfold-payouts.csv"
HEADER = "payout_id,payout_date,currency,charge_id,customer_name,invoice_number,gross,fee,net\n"


def rejected(text: str) -> list[str]:
    with pytest.raises(FileRejected) as info:
        parse_payout_csv(text.encode(), "payouts.csv")
    return [str(e) for e in info.value.errors] or [info.value.message]


def test_payouts_become_statements_of_charges() -> None:
    bank = parse_payout_csv(GOOD.read_bytes(), "payouts.csv")
    assert bank.format == "payout_csv" and bank.warnings == ()
    usd, eur = bank.statements
    assert (usd.statement_id, usd.account, usd.currency, usd.statement_date) == (
        "po_1RbXa2",
        "PAYOUTS",
        "USD",
        date(2026, 3, 4),
    )
    assert len(usd.entries) == 5 and len(eur.entries) == 1
    acme = usd.entries[0]
    assert (acme.amount, acme.gross, acme.charges) == (
        Decimal("1250.00"),
        Decimal("1250.00"),
        Decimal("36.55"),
    )
    assert (acme.reference, acme.payer_name, acme.batch, acme.type_code) == (
        "ch_3Qa1",
        "Acme Industries Inc",
        "po_1RbXa2",
        "charge",
    )
    assert acme.lines[0].reference == "INV-2026-000101"
    assert acme.lines[0].amount == Decimal("1250.00")
    assert ("net", "1213.45") in acme.details
    assert [x.reference for x in usd.entries[1].lines] == ["INV-2026-000117", "INV-2026-000118"]
    hooli = usd.entries[3]
    assert hooli.payer_name == "Hooli, Inc." and hooli.text == ('Deposit, project "Nucleus"',)
    assert hooli.lines == ()


def test_refund_and_payout_net() -> None:
    usd = parse_payout_csv(GOOD.read_bytes(), "payouts.csv").statements[0]
    refund = usd.entries[4]
    assert (refund.amount, refund.charges, refund.type_code) == (
        Decimal("-480.00"),
        Decimal("0.00"),
        "refund",
    )
    assert refund.lines[0].note == "refund"
    fees = sum(e.charges for e in usd.entries)
    nets = sum(e.amount - e.charges for e in usd.entries)
    assert (fees, nets) == (Decimal("112.27"), Decimal("3237.72"))
    assert all(("payout_net", "3237.72") in e.details for e in usd.entries)


def test_detect_routes_payout_files() -> None:
    data = GOOD.read_bytes()
    assert parse_bank_file(data, "p.csv") == parse_payout_csv(data, "p.csv")


def test_aliases_case_and_unknown_columns() -> None:
    text = (
        "Payout_ID,CREATED,Currency,Charge_ID,Amount,Fee,Balance_Transaction\n"
        "po_9,2026-03-04 10:15:00,usd,ch_1,10.00,0.59,txn_1\n"
        "po_9,2026-03-04T23:59:59Z,USD,ch_2,5.00,,txn_2\n"
    )
    bank = parse_payout_csv(text.encode(), "p.csv", account="STRIPE-USD")
    (payout,) = bank.statements
    assert payout.account == "STRIPE-USD" and payout.currency == "USD"
    assert [(e.amount, e.charges) for e in payout.entries] == [
        (Decimal("10.00"), Decimal("0.59")),
        (Decimal("5.00"), Decimal("0.00")),
    ]
    assert bank.warnings == (
        "line 1: column 'Balance_Transaction' is not a payout column; ignored",
    )


def test_every_bad_value_is_reported() -> None:
    text = HEADER + (
        "po_1,2026-03-04,USD,ch_1,A,INV-1,100.00,2.90,97.10\n"
        "po_1,2026-03-04,EUR,ch_2,B,INV-2,50.00,1.00,49.00\n"
        "po_1,2026-03-05,USD,ch_1,C,INV-3,12.5O,0,12.50\n"
        "po_1,2026-03-04,USD,ch_4,D,INV-4,20.00,0.60,19.00\n"
        "po_2,04/03/2026,USD,ch_5,E,INV-5,1.00,0,1.00\n"
        "po_3,2026-03-04,JPY,ch_6,F,INV-6,100.5,0,100.5\n"
        "po_4,2026-03-04,USD,,G,INV-7,1.00,0,1.00\n"
    )
    assert rejected(text) == [
        "line 3, column currency, value 'EUR': payout po_1 is in USD (line 2)",
        "line 4, column payout_date, value '2026-03-05': payout po_1 is dated 2026-03-04 (line 2)",
        "line 4, column charge_id, value 'ch_1': duplicate in payout po_1 (first on line 2)",
        "line 4, column gross, value '12.5O': not a decimal amount (e.g. 12.50)",
        "line 5, column net, value '19.00': net must be gross - fee = 20.00 - 0.60 = 19.40",
        "line 6, column payout_date, value '04/03/2026': not an ISO date (YYYY-MM-DD)",
        "line 7, column gross, value '100.5': amount 100.5 has more decimals than JPY allows (0)",
        "line 7, column net, value '100.5': amount 100.5 has more decimals than JPY allows (0)",
        "line 8, column charge_id, value '': required value is missing",
    ]


def test_header_problems() -> None:
    assert rejected("payout_id,currency,charge_id,amount,gross\npo,USD,ch,1,1\n") == [
        "line 1, column gross, value 'gross': column gross appears twice",
        "line 1, column payout_date, value '': required column is missing",
    ]
    assert rejected(HEADER) == ["line 2, column (row), value '': no payout rows below the header"]
    assert rejected(HEADER + "po,2026-03-04,USD,ch,A\n") == [
        "line 2, column (row), value '': 5 values but the header has 9 columns"
    ]
