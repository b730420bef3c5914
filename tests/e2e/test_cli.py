"""The CLI as a user runs it: exit codes, messages on stderr, no tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billfold.cli import main

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BILLFOLD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BILLFOLD_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    assert (
        main(
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
            ]
        )
        == 0
    )
    return main


def test_customer_import_round_trip(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    good = str(FIXTURES / "customers" / "good.csv")
    assert cli(["customers", "import", good]) == 0
    assert "5 customers: 5 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert cli(["customers", "import", good]) == 0
    assert "already imported; nothing changed" in capsys.readouterr().out
    assert cli(["customers", "show", "C-1004"]) == 0
    shown = capsys.readouterr().out
    assert "EIN 123456789" in shown and "exemption: US-CA certificate CA-EX-7781" in shown


def test_bad_customer_file_prints_every_bad_row(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,name,currency,payment_terms,bill_to_country,tax_id\n"
        "C1,Alpha,EUR,NET30,DE,DE136695977\nC1,Beta,EUR,NET30,DE,\n"
    )
    assert cli(["customers", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error: bad.csv: rejected, 2 bad value(s); nothing imported" in err
    assert "bad.csv: line 2, column tax_id, value 'DE136695977':" in err
    assert (
        "bad.csv: line 3, column number, value 'C1': duplicate customer number (first on line 2)"
        in err
    )
    assert "Traceback" not in err
    assert cli(["customers", "list"]) == 0
    assert "Alpha" not in capsys.readouterr().out


def test_ledger_commands(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert cli(["customers", "import", str(FIXTURES / "customers" / "good.csv")]) == 0
    entry = tmp_path / "je.json"
    entry.write_text(
        '{"entity": "ACME-DE", "date": "2026-11-02", "description": "Opening",'
        '"lines": [{"account": "1100", "debit": "100.00", "customer": "C-1001",'
        '"item": "OLD-1"}, {"account": "3900", "credit": "100.00"}]}'
    )
    assert cli(["ledger", "post", "--file", str(entry)]) == 0
    unbalanced = tmp_path / "bad.json"
    unbalanced.write_text(entry.read_text().replace('"credit": "100.00"', '"credit": "99.99"'))
    capsys.readouterr()
    assert cli(["ledger", "post", "--file", str(unbalanced)]) == 2
    assert "does not balance: EUR off by 0.01" in capsys.readouterr().err
    assert cli(["ledger", "close-period", "2026-11"]) == 0
    assert cli(["ledger", "post", "--file", str(entry)]) == 2
    assert "period 2026-11 of ACME-DE is closed" in capsys.readouterr().err
    assert cli(["ledger", "trial-balance", "--as-of", "2026-11-30"]) == 0
    tb = capsys.readouterr().out
    assert "100.00" in tb and "Balanced." in tb
    assert cli(["ledger", "ar", "--as-of", "2026-11-30"]) == 0
    assert (
        "ACME-DE: sub-ledger 100.00 EUR, GL control 100.00 EUR: reconciled"
        in capsys.readouterr().out
    )
    assert cli(["audit", "verify"]) == 0


def test_bad_money_input(cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    entry = tmp_path / "je.json"
    entry.write_text(
        '{"entity": "ACME-DE", "date": "2026-11-02", "description": "x", "lines": ['
        '{"account": "1000", "debit": "1.005"}, {"account": "3900", "credit": "1.005"}]}'
    )
    assert cli(["ledger", "post", "--file", str(entry)]) == 2
    assert "amount 1.005 has more decimals than EUR allows (2)" in capsys.readouterr().err
    entry.write_text(
        entry.read_text().replace('"debit": "1.005"', '"debit": "1", "currency": "XYZ"')
    )
    assert cli(["ledger", "post", "--file", str(entry)]) == 2
    assert "unknown currency code 'XYZ'" in capsys.readouterr().err


def test_real_process_unreachable_database_exits_2_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("billfold")
    env = {**os.environ, "BILLFOLD_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"}
    result = subprocess.run(
        [str(exe), "customers", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot reach database postgresql+psycopg://u:***@")
    assert "Traceback" not in result.stderr and "pw@" not in result.stderr


def test_uninitialised_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BILLFOLD_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert main(["customers", "list"]) == 2
    assert "no Billfold schema yet: run `billfold init`" in capsys.readouterr().err


def test_tampered_audit_log_exits_3(
    cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    con = sqlite3.connect(tmp_path / "cli.db")
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET after_json = '{}' WHERE id = 2")
    con.commit()
    con.close()
    assert cli(["audit", "verify"]) == 3
    assert "TAMPERED: row 2 was changed after it was written" in capsys.readouterr().err
