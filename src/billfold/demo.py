"""`make demo`: the product tour on a fresh SQLite database.

Every step is a real `billfold` command, printed before it runs, so the tour doubles as a
walk-through of the CLI. Outputs (the database, reports) land in the folder given by --out.
"""

from __future__ import annotations

import argparse
import os
import shlex
from importlib.resources import as_file, files
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from billfold.cli import main as billfold

console = Console(highlight=False)


def run(*args: str, expect: int = 0) -> None:
    console.print(f"\n[bold cyan]$ billfold {' '.join(shlex.quote(a) for a in args)}[/]")
    code = billfold(list(args))
    if code != expect:
        raise SystemExit(f"demo step failed with exit code {code}: billfold {' '.join(args)}")


def tour(out: Path, data: Path) -> None:
    db = out / "billfold.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["BILLFOLD_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("BILLFOLD_ACTOR", "demo")

    console.print(Rule("1. A company: two legal entities, a chart of accounts, bank accounts"))
    run(
        "init",
        "--entity",
        "ACME-DE",
        "--name",
        "Acme Europe GmbH",
        "--country",
        "DE",
        "--currency",
        "EUR",
        "--tax-id",
        "DE 136 695 976",
        "--address",
        "Friedrichstrasse 1",
        "--city",
        "Berlin",
        "--postal-code",
        "10115",
    )
    run(
        "entities",
        "create",
        "ACME-US",
        "--name",
        "Acme Americas Inc.",
        "--country",
        "US",
        "--currency",
        "USD",
        "--tax-id",
        "12-3456789",
    )
    run(
        "entities",
        "add-bank-account",
        "ACME-DE",
        "--iban",
        "DE89 3704 0044 0532 0130 00",
        "--bic",
        "COBADEFFXXX",
        "--currency",
        "EUR",
    )
    run("entities", "list")

    console.print(Rule("2. Customers in six countries and currencies, from CSV"))
    customers = str(data / "customers.csv")
    run("customers", "import", customers)
    run("customers", "import", customers)  # the same file again: nothing changes
    run("customers", "list")
    run("customers", "show", "C-1006")

    console.print(Rule("3. A bad file is refused whole, with every bad value named"))
    bad = out / "customers-with-errors.csv"
    bad.write_text(
        "number,name,currency,payment_terms,bill_to_country,tax_id\n"
        "C-2001,Alpha AG,EUR,NET30,DE,DE136695977\n"
        "C-2002,Beta BV,EURO,NET30,NL,\n"
        "C-2001,Gamma SA,EUR,someday,FR,\n",
        encoding="utf-8",
    )
    run("customers", "import", str(bad), expect=2)

    console.print(Rule("4. Opening receivables, a mistake, its reversal, the correct posting"))
    run("ledger", "post", "--file", str(data / "opening_balances.json"))
    run("ledger", "post", "--file", str(data / "correction.json"))
    run("ledger", "reverse", "3", "--date", "2026-11-03", "--reason", "wrong customer")
    run("ledger", "post", "--file", str(data / "payment.json"))
    run("ledger", "close-period", "2026-10", "--entity", "ACME-DE")
    run("ledger", "post", "--file", str(data / "opening_balances.json"), expect=2)
    run("ledger", "entries")

    console.print(Rule("5. Trial balance and the AR sub-ledger reconciled to the GL"))
    run("ledger", "trial-balance", "--as-of", "2026-11-30")
    run("ledger", "ar", "--as-of", "2026-11-30")

    console.print(Rule("6. The audit log is hash-chained"))
    run("audit", "verify")

    console.print(Rule("Outputs"))
    console.print(f"Database: {db}  (BILLFOLD_DATABASE_URL=sqlite:///{db})")
    console.print(f"Rejected sample file: {bad}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="demo-output", type=Path)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with as_file(files("billfold") / "data" / "demo") as data:
        tour(out, Path(data))


if __name__ == "__main__":
    main()
