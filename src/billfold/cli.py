"""The ``billfold`` command line (Typer + Rich). Thin: parse, call one service, render.

A ``BillfoldError`` prints one line (or one line per bad row) to stderr and exits with status 2.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table

from billfold.commands.ar_reports import ar_reports_app, statement_command
from billfold.commands.billing import bill_app, contracts_app, revenue_app
from billfold.commands.cash import cash_app
from billfold.commands.collections import collections_app, disputes_app
from billfold.commands.common import (
    State,
    database_url,
    err,
    open_app,
    out,
    parse_date,
    read_file,
)
from billfold.commands.dunning import dunning_app
from billfold.commands.invoicing import APPS as INVOICING_APPS
from billfold.commands.invoicing import reports_app
from billfold.commands.source_docs import APPS as SOURCE_DOC_APPS
from billfold.errors import BillfoldError, InvalidInput
from billfold.money import Money
from billfold.services import customers as customer_service
from billfold.services import entities as entity_service
from billfold.services import ledger as ledger_service
from billfold.services import lookups
from billfold.services.setup import initialise
from billfold.store import migrate
from billfold.store.ar_balances import differences as ar_balance_differences
from billfold.store.audit import verify_chain
from billfold.store.db import make_engine

app = typer.Typer(
    help="Billfold: invoice-to-cash and AR sub-ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
entities_app = typer.Typer(help="Legal entities (the companies that bill).", no_args_is_help=True)
customers_app = typer.Typer(help="Customer master data.", no_args_is_help=True)
accounts_app = typer.Typer(help="Chart of accounts.", no_args_is_help=True)
ledger_app = typer.Typer(help="General ledger and AR sub-ledger.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper-evident audit log.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (entities_app, "entities"),
    (customers_app, "customers"),
    (accounts_app, "accounts"),
    (ledger_app, "ledger"),
    (audit_app, "audit"),
):
    app.add_typer(sub, name=name)
for sub, name in INVOICING_APPS:
    app.add_typer(sub, name=name)
app.add_typer(cash_app, name="cash")
for sub, name in SOURCE_DOC_APPS:  # usage, timesheets, shipments, exceptions
    app.add_typer(sub, name=name)
reports_app.registered_commands += ar_reports_app.registered_commands
app.command("statements")(statement_command)
app.add_typer(collections_app, name="collections")
app.add_typer(dunning_app, name="dunning")
app.add_typer(contracts_app, name="contracts")
app.add_typer(bill_app, name="bill")
app.add_typer(revenue_app, name="revenue")
app.add_typer(disputes_app, name="disputes")

_app = open_app
_url = database_url
_date = parse_date
_read = read_file


@app.callback()
def _root(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="BILLFOLD_DATABASE_URL",
            help="SQLite file URL (default sqlite:///billfold.db) or postgresql+psycopg://...",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", envvar="BILLFOLD_ACTOR", help="Who is acting, for the audit log."),
    ] = None,
) -> None:
    State.url, State.actor = database_url, actor


# --- init / db -------------------------------------------------------------------------------


@app.command()
def init(
    entity: Annotated[str | None, typer.Option(help="Code of the first legal entity.")] = None,
    name: Annotated[str | None, typer.Option(help="Its legal name.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. DE.")] = None,
    currency: Annotated[str | None, typer.Option(help="Functional currency, e.g. EUR.")] = None,
    tax_id: Annotated[list[str] | None, typer.Option(help="VAT/GST/EIN registration.")] = None,
    rounding: Annotated[str, typer.Option(help="half-up or half-even.")] = "half-up",
    fiscal_year_start: Annotated[int, typer.Option(help="Month the fiscal year starts.")] = 1,
    address: Annotated[str | None, typer.Option(help="Street address.")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create the database (migrations), load the default chart, create the first entity."""
    new = None
    if entity:
        missing = [
            n
            for n, v in (("--name", name), ("--country", country), ("--currency", currency))
            if not v
        ]
        if missing:
            raise InvalidInput(f"creating entity {entity} needs {', '.join(missing)}")
        assert name and country and currency
        new = entity_service.NewEntity(
            entity,
            name,
            country,
            currency,
            rounding,
            fiscal_year_start,
            address,
            None,
            city,
            postal_code,
        )
    initialise(_url(), State.actor or "cli", new, tax_id)
    out.print(f"Database ready at {_safe(_url())} (schema {migrate.head_revision()}).")
    if new:
        out.print(
            f"Legal entity {new.code.upper()} created ({new.country.upper()}, "
            f"{new.functional_currency.upper()})."
        )


def _safe(url: str) -> str:
    from billfold.store.db import safe_url

    return safe_url(url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    engine = make_engine(_url())
    migrate.upgrade(engine)
    out.print(f"Schema at {migrate.current_revision(engine)}.")


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and of this Billfold."""
    engine = make_engine(_url())
    out.print(
        f"database: {migrate.current_revision(engine) or 'empty'}; code: {migrate.head_revision()}"
    )


# --- entities --------------------------------------------------------------------------------


@entities_app.command("create")
def entities_create(
    code: str,
    name: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option()],
    currency: Annotated[str, typer.Option()],
    tax_id: Annotated[list[str] | None, typer.Option()] = None,
    rounding: Annotated[str, typer.Option()] = "half-up",
    fiscal_year_start: Annotated[int, typer.Option()] = 1,
) -> None:
    """Add another legal entity."""
    bf = _app()
    with bf.transaction() as tx:
        entity_service.create_entity(
            tx,
            entity_service.NewEntity(code, name, country, currency, rounding, fiscal_year_start),
            tax_id,
        )
    out.print(f"Legal entity {code.upper()} created.")


@entities_app.command("configure")
def entities_configure(
    code: str,
    tax_rounding: Annotated[str | None, typer.Option(help="line or total.")] = None,
    rounding: Annotated[str | None, typer.Option(help="half-up or half-even.")] = None,
    price_decimals: Annotated[int | None, typer.Option()] = None,
    quantity_decimals: Annotated[int | None, typer.Option()] = None,
    oss: Annotated[bool | None, typer.Option("--oss/--no-oss", help="EU OSS registered.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    contact: Annotated[str | None, typer.Option(help="Contact person on invoices.")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="State or province.")] = None,
) -> None:
    """Set an entity's invoicing policy and contact details."""
    with _app().transaction() as tx:
        changed = entity_service.configure_entity(
            tx,
            code.upper(),
            tax_rounding=tax_rounding,
            rounding=rounding,
            price_decimals=price_decimals,
            quantity_decimals=quantity_decimals,
            oss_registered=oss,
            email=email,
            contact_name=contact,
            phone=phone,
            region=region,
        )
    out.print(f"{code.upper()}: " + ", ".join(f"{k} = {v}" for k, v in changed.items()))


@entities_app.command("list")
def entities_list() -> None:
    """List legal entities."""
    with _app().reading() as conn:
        rows = lookups.all_entities(conn)
    table = Table("code", "name", "country", "currency", "rounding", "FY start")
    for e in rows:
        table.add_row(
            e.code,
            e.name,
            e.country,
            e.functional_currency,
            e.rounding.value,
            str(e.fiscal_year_start_month),
        )
    out.print(table)


@entities_app.command("show")
def entities_show(code: str) -> None:
    """Show one legal entity with its tax registrations and bank accounts."""
    with _app().reading() as conn:
        d = entity_service.entity_details(conn, code)
    out.print(f"[bold]{d['code']}[/] {d['name']} ({d['country']}, {d['functional_currency']})")
    out.print(f"  tax IDs: {', '.join(d['tax_ids']) or '-'}")  # type: ignore[arg-type]
    for b in d["bank_accounts"]:  # type: ignore[attr-defined]
        number = b["iban"] or b["account_number"]
        bank = b["bic"] or b["routing_number"] or ""
        out.print(f"  bank: {number} {bank} {b['currency'] or ''}")


@entities_app.command("add-bank-account")
def entities_add_bank(
    code: str,
    iban: Annotated[str | None, typer.Option()] = None,
    bic: Annotated[str | None, typer.Option()] = None,
    bank_name: Annotated[str | None, typer.Option()] = None,
    currency: Annotated[str | None, typer.Option()] = None,
    account_number: Annotated[str | None, typer.Option(help="Where IBANs are not used.")] = None,
    routing_number: Annotated[str | None, typer.Option(help="ABA routing number (US).")] = None,
) -> None:
    """Add a bank account (IBAN, BIC and ABA routing numbers are validated)."""
    with _app().transaction() as tx:
        clean = entity_service.add_bank_account(
            tx, code, iban, bic, bank_name, currency, account_number, routing_number
        )
    out.print(f"Bank account {clean} added to {code.upper()}.")


# --- customers -------------------------------------------------------------------------------


@customers_app.command("import")
def customers_import(file: Path) -> None:
    """Import customers from CSV: all rows or none; re-importing the same file changes nothing."""
    data = _read(file)
    with _app().transaction() as tx:
        result = customer_service.import_customers(tx, data, file.name)
    if result.already_imported:
        out.print(f"{file.name}: already imported; nothing changed ({result.rows} customers).")
    else:
        out.print(
            f"{file.name}: {result.rows} customers: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged."
        )


@customers_app.command("list")
def customers_list(
    search: Annotated[str | None, typer.Option(help="Part of the name or number.")] = None,
) -> None:
    """List customers."""
    with _app().reading() as conn:
        rows = customer_service.list_customers(conn, search)
    table = Table("number", "name", "country", "currency", "terms", "tax ID", "hold")
    for c in rows:
        table.add_row(
            c.number,
            c.name,
            c.country or "",
            c.currency,
            c.payment_terms,
            c.tax_id or "",
            "yes" if c.on_hold else "",
        )
    out.print(table)


@customers_app.command("show")
def customers_show(number: str) -> None:
    """Show a customer's master data."""
    with _app().reading() as conn:
        c = customer_service.get_customer(conn, number)
    out.print(f"[bold]{c.number}[/] {c.name}" + (f" ({c.legal_form})" if c.legal_form else ""))
    out.print(
        f"  currency {c.currency}, terms {c.payment_terms}, delivery {c.delivery_channel}, "
        f"language {c.language}" + (", ON HOLD" if c.on_hold else "")
    )
    if c.parent_number:
        out.print(f"  parent: {c.parent_number}")
    if c.credit_limit is not None:
        out.print(f"  credit limit: {c.credit_limit} {c.currency}")
    for a in c.addresses:
        parts = [p for p in (a.line1, a.line2, a.postal_code, a.city, a.region, a.country) if p]
        out.print(f"  {a.role.replace('_', '-')}: {', '.join(parts)}")
    for k in c.contacts:
        out.print(f"  {k.role} contact: {k.name or ''} <{k.email}>")
    for t in c.tax_ids:
        out.print(f"  tax ID: {t.scheme} {t.number} ({t.country})")
    for e in c.exemptions:
        out.print(
            f"  exemption: {e.jurisdiction} certificate {e.certificate} "
            f"{e.valid_from} to {e.valid_to or 'open'}"
        )
    if c.aliases:
        out.print(f"  also known as: {'; '.join(c.aliases)}")


# --- accounts --------------------------------------------------------------------------------


@accounts_app.command("list")
def accounts_list() -> None:
    """The chart of accounts."""
    with _app().reading() as conn:
        rows = ledger_service.list_accounts(conn)
    table = Table("code", "name", "type", "role", "parent")
    for r in rows:
        table.add_row(
            str(r["code"]),
            str(r["name"]),
            str(r["type"]),
            str(r["role"] or ""),
            str(r["parent_code"] or ""),
        )
    out.print(table)


@accounts_app.command("import")
def accounts_import(file: Path) -> None:
    """Import accounts from CSV (code, name, type, role, parent_code)."""
    specs = ledger_service.parse_accounts_csv(_read(file), file.name)
    with _app().transaction() as tx:
        r = ledger_service.import_accounts(tx, specs)
    out.print(f"{file.name}: {r.created} created, {r.updated} updated, {r.unchanged} unchanged.")


# --- ledger ----------------------------------------------------------------------------------


@ledger_app.command("post")
def ledger_post(file: Annotated[Path, typer.Option("--file", help="Entry JSON.")]) -> None:
    """Post manual journal entries from JSON (all or none)."""
    from billfold.formats.journal_json import parse_journal_json

    bf = _app()
    with bf.transaction() as tx:
        drafts = parse_journal_json(
            _read(file), file.name, lambda code: lookups.entity(tx, code).functional_currency
        )
        ids = ledger_service.post_entries(tx, drafts)
    out.print(
        f"Posted journal entr{'y' if len(ids) == 1 else 'ies'} {', '.join(str(i) for i in ids)}."
    )


@ledger_app.command("reverse")
def ledger_reverse(
    entry_id: int,
    on: Annotated[str | None, typer.Option("--date", help="Date of the reversal.")] = None,
    reason: Annotated[str, typer.Option()] = "",
) -> None:
    """Reverse a posted entry (posted entries are never edited)."""
    with _app().transaction() as tx:
        new_id = ledger_service.reverse_entry(tx, entry_id, _date(on), reason)
    out.print(f"Entry {entry_id} reversed by entry {new_id}.")


@ledger_app.command("trial-balance")
def ledger_trial_balance(
    as_of: Annotated[str | None, typer.Option(help="Date, default today.")] = None,
    entity: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Debit and credit balance of every account, in functional currency."""
    day = _date(as_of, "--as-of") or date.today()
    with _app().reading() as conn:
        rows = ledger_service.trial_balance(conn, day, entity)
    by_entity: dict[str, list[ledger_service.TrialBalanceRow]] = {}
    for r in rows:
        by_entity.setdefault(r.entity, []).append(r)
    if not rows:
        out.print(f"No postings up to {day}.")
    for code, group in by_entity.items():
        cur = group[0].currency
        table = Table(
            "account",
            "name",
            "type",
            f"debit {cur}",
            f"credit {cur}",
            title=f"Trial balance {code} as of {day}",
        )
        for r in group:
            table.add_row(
                r.code,
                r.name,
                r.type,
                f"{r.debit:,}" if r.debit else "",
                f"{r.credit:,}" if r.credit else "",
            )
        dr, cr = sum(r.debit for r in group), sum(r.credit for r in group)
        table.add_row("", "Total", "", f"{dr:,}", f"{cr:,}", style="bold")
        out.print(table)
        out.print("Balanced." if dr == cr else f"[red]OUT OF BALANCE by {dr - cr}[/]")


@ledger_app.command("entries")
def ledger_entries(
    entity: Annotated[str | None, typer.Option()] = None,
    since: Annotated[str | None, typer.Option("--from")] = None,
    until: Annotated[str | None, typer.Option("--to")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    entry: Annotated[int | None, typer.Option(help="Show one entry's lines.")] = None,
) -> None:
    """List journal entries (newest first), or one entry with its lines."""
    with _app().reading() as conn:
        if entry is not None:
            d = ledger_service.load_entry(conn, entry)
            table = Table(
                "account",
                "debit",
                "credit",
                "currency",
                "functional",
                "customer",
                "item",
                title=f"Entry {entry} {d.entity} {d.entry_date}: {d.description}",
            )
            for ln in d.lines:
                a = ln.amount.amount
                table.add_row(
                    ln.account,
                    f"{a:,}" if a > 0 else "",
                    f"{-a:,}" if a < 0 else "",
                    ln.amount.currency,
                    f"{ln.functional.amount:,}",
                    ln.customer or "",
                    ln.item_ref or "",
                )
            out.print(table)
            return
        rows = ledger_service.list_entries(
            conn, entity_code=entity, since=_date(since), until=_date(until), limit=limit
        )
    table = Table("id", "entity", "date", "description", "source", "amount", "reverses")
    for r in rows:
        table.add_row(
            str(r.id),
            r.entity,
            str(r.entry_date),
            r.description,
            r.source,
            f"{r.debit_total.amount:,} {r.debit_total.currency}",
            str(r.reverses_id or ""),
        )
    out.print(table)


@ledger_app.command("close-period")
def ledger_close(period: str, entity: Annotated[str | None, typer.Option()] = None) -> None:
    """Close an accounting month (YYYY-MM): nothing can be posted into it any more."""
    with _app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        ledger_service.set_period_status(tx, code, period, "closed")
    out.print(f"Period {period} of {code.upper()} closed.")


@ledger_app.command("open-period")
def ledger_open(period: str, entity: Annotated[str | None, typer.Option()] = None) -> None:
    """Reopen a closed accounting month (audited)."""
    with _app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        ledger_service.set_period_status(tx, code, period, "open")
    out.print(f"Period {period} of {code.upper()} open.")


@ledger_app.command("ar")
def ledger_ar(
    as_of: Annotated[str | None, typer.Option()] = None,
    entity: Annotated[str | None, typer.Option()] = None,
) -> None:
    """AR sub-ledger (open items) and its reconciliation to the GL control account."""
    day = _date(as_of, "--as-of") or date.today()
    with _app().reading() as conn:
        items = ledger_service.ar_open_items(conn, day, entity)
        sub = ledger_service.ar_subledger_balance(conn, day, entity)
        gl = ledger_service.gl_control_balance(conn, day, entity)
    table = Table(
        "entity", "customer", "item", "amount", "functional", title=f"AR open items as of {day}"
    )
    for i in items:
        table.add_row(
            i.entity, i.customer, i.item_ref or "(unassigned)", str(i.amount), str(i.functional)
        )
    out.print(table)
    for code in sorted(set(sub) | set(gl)):
        g = gl[code]
        s_ = sub.get(code, Money.zero(g.currency))
        status = "reconciled" if s_ == g else f"DIFFERENCE {(s_ - g).amount:,}"
        out.print(
            f"{code}: sub-ledger {s_.amount:,} {g.currency}, GL control {g.amount:,} "
            f"{g.currency}: {status}"
        )


# --- audit -----------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain and the kept AR balances; name what was changed
    behind Billfold's back."""
    with _app().reading() as conn:
        report = verify_chain(conn)
        balances = ar_balance_differences(conn) if report.ok else []
    if not report.ok:
        err.print(f"TAMPERED: {report.problem}", markup=False)
        raise typer.Exit(3)
    if balances:
        for problem in balances:
            err.print(f"TAMPERED: {problem}", markup=False)
        raise typer.Exit(3)
    out.print(f"OK: {report.rows} audit rows, hash chain intact; AR balances agree with postings.")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning Billfold errors into one clear line and exit code 2."""
    try:
        rv = app(args=argv, prog_name="billfold", standalone_mode=False)
    except BillfoldError as exc:
        for line in str(exc).splitlines():
            err.print(f"error: {line}" if not line.startswith("  ") else line, markup=False)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("aborted")
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
