"""The invoicing commands as a user runs them."""

import json
from pathlib import Path

import pytest

from billfold.cli import main

pytestmark = pytest.mark.e2e
FIX = Path(__file__).parents[1] / "fixtures" / "invoicing"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BILLFOLD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    steps = [
        [
            "init",
            "--entity",
            "ACME-DE",
            "--name",
            "Acme GmbH",
            "--country",
            "DE",
            "--currency",
            "EUR",
            "--tax-id",
            "DE136695976",
            "--city",
            "Berlin",
            "--postal-code",
            "10115",
            "--address",
            "Friedrichstrasse 1",
        ],
        [
            "entities",
            "configure",
            "ACME-DE",
            "--email",
            "b@acme.example",
            "--contact",
            "Erika",
            "--phone",
            "+49 30 1",
        ],
        ["entities", "add-bank-account", "ACME-DE", "--iban", "DE89370400440532013000"],
        ["customers", "import", str(FIX / "customers.csv")],
        ["catalog", "import", str(FIX / "products.csv")],
        ["catalog", "prices", str(FIX / "prices.csv")],
        ["fx", "import", str(FIX / "ecb.csv")],
    ]
    for args in steps:
        assert main(args) == 0, args
    return main


def test_create_issue_credit_render_register(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = tmp_path / "inv.json"
    doc.write_text(
        json.dumps(
            [
                {
                    "entity": "ACME-DE",
                    "customer": "DE1",
                    "issue_date": "2026-11-02",
                    "lines": [{"sku": "SUB-PRO", "quantity": "2"}, {"sku": "BOOK"}],
                },
                {
                    "entity": "ACME-DE",
                    "customer": "GB1",
                    "issue_date": "2026-11-02",
                    "lines": [{"sku": "SUB-PRO"}],
                },
            ]
        )
    )
    assert cli(["invoices", "create", "--file", str(doc)]) == 0
    assert "2 draft(s) created" in capsys.readouterr().out
    assert cli(["invoices", "create", "--file", str(doc)]) == 0
    assert "0 draft(s) created, 2 already there" in capsys.readouterr().out
    assert cli(["invoices", "issue", "--all-drafts"]) == 0
    assert "Issued INV-2026-000001, INV-2026-000002." in capsys.readouterr().out
    assert cli(["invoices", "show", "INV-2026-000001"]) == 0
    shown = capsys.readouterr().out
    assert "net 117.90  tax 20.01  total 137.91 EUR" in shown
    assert (
        cli(
            [
                "credit-memos",
                "create",
                "--invoice",
                "INV-2026-000001",
                "--lines",
                "2",
                "--reason",
                "returned",
                "--date",  # in the register's month, whatever day the tests run
                "2026-11-20",
            ]
        )
        == 0
    )
    assert "Credit note CN-2026-000001 issued" in capsys.readouterr().out
    assert (
        cli(
            [
                "credit-memos",
                "create",
                "--invoice",
                "INV-2026-000001",
                "--lines",
                "2=0.01",
                "--reason",
                "again",
                "--date",
                "2026-11-20",
            ]
        )
        == 2
    )
    assert "more than the 0.00 EUR not yet credited" in capsys.readouterr().err
    for fmt in ("pdf", "ubl", "cii", "facturx"):
        assert (
            cli(
                [
                    "invoices",
                    "render",
                    "INV-2026-000001",
                    "--format",
                    fmt,
                    "--out",
                    str(tmp_path / "out"),
                ]
            )
            == 0
        )
    assert cli(["invoices", "validate", str(tmp_path / "out" / "INV-2026-000001.xml")]) == 0
    assert "valid ubl-invoice" in capsys.readouterr().out
    assert (
        cli(
            [
                "reports",
                "invoice-register",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--format",
                "csv",
                "--out",
                str(tmp_path / "reg.csv"),
            ]
        )
        == 0
    )
    register = (tmp_path / "reg.csv").read_text().splitlines()
    assert len(register) == 4 and register[3].split(",")[1] == "CN-2026-000001"
    assert cli(["invoices", "void", "INV-2026-000002", "--reason", "duplicate"]) == 0
    assert cli(["invoices", "list", "--status", "voided"]) == 0
    assert "INV-2026-000002" in capsys.readouterr().out


def test_invalid_e_invoice_is_reported_rule_by_rule(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.xml"
    good = Path(__file__).parents[1] / "fixtures" / "einvoice"
    sample = next(good.glob("**/ubl-tc434-example1.xml"))
    bad.write_bytes(
        sample.read_bytes().replace(
            b'<cbc:PayableAmount currencyID="EUR">', b'<cbc:PayableAmount currencyID="EUR">1'
        )
    )
    assert cli(["invoices", "validate", str(bad), "--no-peppol"]) == 2
    err = capsys.readouterr().err
    assert "BR-CO-16" in err and "INVALID" in err


def test_import_open_items_keeps_old_numbers(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    f = tmp_path / "open.csv"
    f.write_text(
        "number,customer_number,issue_date,due_date,currency,open_amount,po_number\n"
        "OLD-1,DE1,2026-10-02,2026-11-01,EUR,119.00,PO-1\n"
        "OLD-2,GB1,2026-11-02,2026-12-02,GBP,50.00,\n"
    )
    assert cli(["invoices", "import-open", str(f)]) == 0
    assert "2 created" in capsys.readouterr().out
    assert cli(["invoices", "import-open", str(f)]) == 0
    assert "already imported" in capsys.readouterr().out
    # a longer file with the same two rows: they are recognised (looked up in chunks, one
    # number each here, as a file beyond a statement's parameter limit would be)
    monkeypatch.setattr("billfold.store.bulk.IN_CHUNK", 1)
    more = tmp_path / "open-more.csv"
    more.write_text(f.read_text() + "OLD-5,DE1,2026-10-05,2026-11-04,EUR,10.00,\n")
    assert cli(["invoices", "import-open", str(more)]) == 0
    assert "1 created, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert cli(["ledger", "ar", "--as-of", "2026-11-30"]) == 0
    ar = capsys.readouterr().out
    assert "OLD-1" in ar and "50.00 GBP" in ar and "reconciled" in ar
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,customer_number,issue_date,due_date,currency,open_amount\n"
        "OLD-3,NOPE,2026-10-02,2026-11-01,EUR,1.001\n"
        "OLD-4,DE1,2026-10-02,2026-11-01,CHF,10.00\n"
    )
    assert cli(["invoices", "import-open", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 2, column customer_number, value 'NOPE': unknown customer" in err
    assert "line 2, column open_amount, value '1.001'" in err
    assert "line 3, column currency, value 'CHF': no CHF/EUR exchange rate" in err
