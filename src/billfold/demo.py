"""`make demo`: the product tour on a fresh SQLite database.

Every step is a real `billfold` command, printed before it runs, so the tour doubles as a
walk-through of the CLI. Outputs (the database, reports) land in the folder given by --out.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from billfold.cli import main as billfold
from billfold.documents.pdf import demo_logo

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


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

    console.print(Rule("4. Catalog, price lists, ECB exchange rates, tax tables"))
    run(
        "entities",
        "configure",
        "ACME-DE",
        "--email",
        "billing@acme.example",
        "--contact",
        "Erika Muster",
        "--phone",
        "+49 30 1234567",
    )
    run(
        "entities",
        "configure",
        "ACME-US",
        "--email",
        "ar@acme-americas.example",
        "--contact",
        "Sam Carter",
        "--phone",
        "+1 206 555 0100",
        "--region",
        "WA",
    )
    run("catalog", "import", str(data / "products.csv"))
    run("catalog", "prices", str(data / "prices.csv"))
    run("catalog", "list")
    run("fx", "import", str(data / "eurofxref-hist.csv"))
    run("fx", "rate", "GBP", "EUR", "--date", "2026-11-02")
    run("tax", "import-us-rates", str(data / "us_sales_tax.csv"))
    run("tax", "rates", "DE", "--date", "2026-11-02")

    console.print(Rule("5. Open receivables from the previous system; a correction by reversal"))
    run("invoices", "import-open", str(data / "open_items.csv"))
    run("invoices", "import-open", str(data / "open_items.csv"))  # idempotent
    run("ledger", "post", "--file", str(data / "correction.json"))
    run("ledger", "reverse", "5", "--date", "2026-11-03", "--reason", "wrong customer")
    run("ledger", "post", "--file", str(data / "payment.json"))
    run("invoices", "import-open", str(data / "open_items_older.csv"))
    run("ledger", "close-period", "2026-09", "--entity", "ACME-DE")
    late = out / "late-entry.json"
    late.write_text(
        '{"entity": "ACME-DE", "date": "2026-09-30", "description": "Late accrual",'
        ' "lines": [{"account": "1010", "debit": "10.00"},'
        ' {"account": "4000", "credit": "10.00"}]}',
        encoding="utf-8",
    )
    run("ledger", "post", "--file", str(late), expect=2)

    console.print(Rule("6. Invoices in five countries and six currencies"))
    run("invoices", "create", "--file", str(data / "invoices.json"))
    run("invoices", "create", "--file", str(data / "invoices.json"))  # nothing twice
    run("invoices", "issue", "--all-drafts")
    run("invoices", "list", "--from", "2026-11-01")
    run("invoices", "show", "INV-2026-000001", "--entity", "ACME-DE")
    run(
        "credit-memos",
        "create",
        "--invoice",
        "INV-2026-000001",
        "--entity",
        "ACME-DE",
        "--lines",
        "3*2",
        "--reason",
        "2 handbooks damaged in transit",
        "--date",
        "2026-11-05",
    )

    console.print(Rule("6b. Contracts and a billing run: exactly once, consolidated per payer"))
    run("contracts", "import", str(data / "contracts.json"))
    run(
        "contracts", "complete-milestone", "K-1002", "--milestone", "golive", "--date", "2026-10-28"
    )
    run(
        "contracts",
        "change",
        "K-1001",
        "--charge",
        "seats",
        "--effective",
        "2026-10-15",
        "--quantity",
        "25",
        "--reason",
        "5 more seats",
    )
    run("usage", "import", str(data / "usage.csv"))
    run("usage", "import", str(data / "usage.csv"))  # idempotent by event id
    run("timesheets", "import", str(data / "timesheets.csv"))
    run("exceptions", "list")
    run("exceptions", "fix", "5", "--set", "hours=6")  # 26 hours was a typo
    run("exceptions", "release", "7", "--note", "approved by phone, mail to follow")
    run("exceptions", "reject", "6", "--note", "training is not billable")
    run("bill", "run", "--date", "2026-11-01", "--entity", "ACME-DE")
    run("bill", "run", "--date", "2026-11-01", "--entity", "ACME-DE")  # bills nothing twice
    run("bill", "review", "--run", "1")
    run("bill", "issue", "--run", "1")
    run("revenue", "recognize", "--period", "2026-11")

    console.print(Rule("7. PDF, UBL (Peppol BIS 3), CII and Factur-X, validated"))
    docs = out / "invoices"
    docs.mkdir(exist_ok=True)
    logo = out / "acme-logo.svg"
    logo.write_bytes(demo_logo())
    german = [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2026-000003",
        "INV-2026-000004",
        "INV-2026-000005",
        "INV-2026-000006",
        "INV-2026-000007",
        "INV-2026-000008",
        "CN-2026-000001",
    ]
    for number in german:
        for fmt in ("pdf", "ubl", "cii", "facturx"):
            run(
                "invoices",
                "render",
                number,
                "--entity",
                "ACME-DE",
                "--format",
                fmt,
                "--out",
                str(docs),
                "--logo",
                str(logo),
            )
    run(
        "invoices",
        "render",
        "INV-2026-000001",
        "--entity",
        "ACME-US",
        "--format",
        "pdf",
        "--out",
        str(docs / "ACME-US-INV-2026-000001.pdf"),
        "--logo",
        str(logo),
    )
    run("invoices", "validate", str(docs / "INV-2026-000002.xml"))

    console.print(Rule("8. Bank files in: cash applied automatically, and why"))
    run(
        "entities",
        "add-bank-account",
        "ACME-DE",
        "--iban",
        "GB33 BUKB 2020 1555 5555 55",
        "--bic",
        "BUKBGB22",
        "--currency",
        "GBP",
    )
    run("cash", "import", str(data / "bank-statement-2026-11-20.camt053.xml"))
    run("cash", "import", str(data / "bank-statement-2026-11-20.camt053.xml"))  # recognised
    run("cash", "import", str(data / "harbour-gbp-2026-11-20.sta"))
    run("cash", "applications")
    run("cash", "suggestions")
    run("cash", "apply", "4", "--accept")
    run("cash", "unapplied")
    applications = out / "cash-applications.csv"
    run("cash", "applications", "--format", "csv", "--out", str(applications))
    run("invoices", "list", "--entity", "ACME-DE", "--from", "2026-09-01")

    console.print(Rule("9. Invoice register, trial balance, the AR sub-ledger reconciled"))
    run("reports", "invoice-register", "--from", "2026-11-01", "--to", "2026-11-30")
    register = out / "invoice-register-2026-11.xlsx"
    run(
        "reports",
        "invoice-register",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "xlsx",
        "--out",
        str(register),
    )
    run("ledger", "trial-balance", "--as-of", "2026-11-30")
    run("ledger", "ar", "--as-of", "2026-11-30")

    console.print(Rule("10. Collections: a dispute, a promise, a statement of account"))
    run(
        "disputes",
        "open",
        "INV-2026-000006",
        "--entity",
        "ACME-DE",
        "--reason",
        "pricing",
        "--team",
        "sales",
        "--note",
        "customer expected the 2025 price list",
    )
    run("collections", "promise", "C-1005", "--amount", "5600.00", "--date", "2026-12-10")
    statement = out / "statements"
    run(
        "statements",
        "C-1001",
        "--from",
        "2026-09-01",
        "--to",
        "2026-11-25",
        "--entity",
        "ACME-DE",
        "--out",
        str(statement),
        "--logo",
        str(logo),
    )
    run("collections", "worklist", "--as-of", "2026-11-25", "--entity", "ACME-DE")

    console.print(Rule("10b. Dunning: reminders by e-mail, computed from the ledger"))
    outbox = out / "outbox"
    with local_smtp(outbox) as port:
        os.environ.update(
            {
                "BILLFOLD_SMTP_HOST": "127.0.0.1",
                "BILLFOLD_SMTP_PORT": str(port),
                "BILLFOLD_SMTP_FROM": "Acme Europe Billing <billing@acme.example>",
            }
        )
        run("dunning", "policies")
        run("dunning", "run", "--date", "2026-11-25", "--dry-run")
        run("dunning", "run", "--date", "2026-11-25")
        run("dunning", "run", "--date", "2026-11-25")  # the same day again: nothing twice
    run("dunning", "history")

    console.print(Rule("11. The audit log is hash-chained"))
    run("audit", "verify")

    console.print(Rule("12. Where AR stands: aging, DSO, the charts"))
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    run("reports", "kpis", "--period", "2026-11", "--entity", "ACME-DE")
    run(
        "reports",
        "dso-trend",
        "--months",
        "3",
        "--entity",
        "ACME-DE",
        "--chart",
        str(charts / "dso-trend.svg"),
    )
    run("reports", "aging", "--as-of", "2026-11-25", "--chart", str(charts / "aging.png"))

    console.print(Rule("Outputs"))
    console.print(f"Database: {db}  (BILLFOLD_DATABASE_URL=sqlite:///{db})")
    console.print(f"Rejected sample file: {bad}")
    console.print(f"Invoices and credit notes (PDF, UBL, CII, Factur-X): {docs}")
    console.print(f"Invoice register: {register}")
    console.print(f"Cash applications: {applications}")
    console.print(f"Statement of account: {statement}")
    console.print(f"Charts (aging, DSO trend): {charts}")
    console.print(f"Reminders sent (as received by a local SMTP server): {outbox}")


@contextmanager
def local_smtp(folder: Path) -> Iterator[int]:
    """A real SMTP server on localhost that files every message it receives as .eml."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)

    class Outbox:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            n = len(list(folder.glob("*.eml"))) + 1
            (folder / f"{n:03d}.eml").write_bytes(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(Outbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


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
