"""CLI: catalog, exchange rates, tax tables, invoices, credit memos, the invoice register."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from billfold.commands.common import (
    IssuePlannersOpt,
    err,
    open_app,
    out,
    parse_date,
    read_file,
    write_file,
)
from billfold.errors import InvalidInput
from billfold.formats.invoice_json import parse_invoice_json
from billfold.services import catalog, fx, invoicing, lookups, tax_rates
from billfold.services.credit_memos import create_credit_memo, parse_selection
from billfold.services.invoice_queries import build_document, invoice_detail, list_invoices
from billfold.services.open_items import import_open_items

catalog_app = typer.Typer(help="Products, services and price lists.", no_args_is_help=True)
fx_app = typer.Typer(help="Exchange rates.", no_args_is_help=True)
tax_app = typer.Typer(help="Tax rate tables.", no_args_is_help=True)
invoices_app = typer.Typer(help="Invoices and debit notes.", no_args_is_help=True)
credit_app = typer.Typer(help="Credit memos.", no_args_is_help=True)
reports_app = typer.Typer(help="Reports.", no_args_is_help=True)

APPS = (
    (catalog_app, "catalog"),
    (fx_app, "fx"),
    (tax_app, "tax"),
    (invoices_app, "invoices"),
    (credit_app, "credit-memos"),
    (reports_app, "reports"),
)

EntityOpt = Annotated[str | None, typer.Option("--entity", help="Legal entity code.")]


def _import_summary(name: str, created: int, updated: int, unchanged: int, already: bool) -> str:
    if already:
        return f"{name}: already imported; nothing changed."
    return f"{name}: {created} created, {updated} updated, {unchanged} unchanged."


# --- catalog ---------------------------------------------------------------------------------


@catalog_app.command("import")
def catalog_import(file: Path) -> None:
    """Import products: sku, description, unit_code, kind, tax_class, revenue_account, ..."""
    with open_app().transaction() as tx:
        r = catalog.import_products(tx, read_file(file), file.name)
    out.print(_import_summary(file.name, r.created, r.updated, r.unchanged, r.already_imported))


@catalog_app.command("prices")
def catalog_prices(file: Path) -> None:
    """Import prices: sku, currency, unit_price, customer_number (optional), valid_from/to."""
    with open_app().transaction() as tx:
        r = catalog.import_prices(tx, read_file(file), file.name)
    out.print(_import_summary(file.name, r.created, r.updated, 0, r.already_imported))


@catalog_app.command("list")
def catalog_list() -> None:
    """List products and services."""
    with open_app().reading() as conn:
        rows = catalog.list_products(conn)
    table = Table("sku", "description", "unit", "kind", "tax class", "revenue account")
    for p in rows:
        table.add_row(p.sku, p.description, p.unit_code, p.kind, p.tax_class, p.revenue_account)
    out.print(table)


# --- fx --------------------------------------------------------------------------------------


@fx_app.command("import")
def fx_import(file: Path) -> None:
    """Import rates: the ECB reference-rate CSV as published, or date,base,quote,rate."""
    with open_app().transaction() as tx:
        r = fx.import_rates(tx, read_file(file), file.name)
    if r.already_imported:
        out.print(f"{file.name}: already imported; nothing changed.")
    else:
        out.print(f"{file.name}: {r.rates} rates read ({r.layout} layout), {r.new} new.")


@fx_app.command("rate")
def fx_rate(
    base: str, quote: str, on: Annotated[str | None, typer.Option("--date")] = None
) -> None:
    """Show the rate used for a day: units of QUOTE for one BASE."""
    day = parse_date(on) or date.today()
    with open_app().reading() as conn:
        rate = fx.rate_on(conn, base.upper(), quote.upper(), day)
    out.print(f"1 {base.upper()} = {rate} {quote.upper()} on {day}")


# --- tax -------------------------------------------------------------------------------------


@tax_app.command("import-us-rates")
def tax_import_us(file: Path) -> None:
    """Load US sales-tax jurisdiction rates (replaces the previous table)."""
    with open_app().transaction() as tx:
        r = tax_rates.import_us_rates(tx, read_file(file), file.name)
    out.print(
        f"{file.name}: already imported; nothing changed."
        if r.already_imported
        else f"{file.name}: {r.rows} jurisdiction rates loaded."
    )


@tax_app.command("import-vat-rates")
def tax_import_vat(file: Path) -> None:
    """Override rows of the shipped VAT/GST table (same layout as data/tax/vat_rates.csv)."""
    with open_app().transaction() as tx:
        r = tax_rates.import_vat_overrides(tx, read_file(file), file.name)
    out.print(
        f"{file.name}: already imported; nothing changed."
        if r.already_imported
        else f"{file.name}: {r.rows} override rates loaded."
    )


@tax_app.command("rates")
def tax_rates_cmd(country: str, on: Annotated[str | None, typer.Option("--date")] = None) -> None:
    """The VAT/GST rates of a country on a date."""
    day = parse_date(on) or date.today()
    with open_app().reading() as conn:
        rows = tax_rates.rates_on(conn, country.upper(), day)
    table = Table(
        "country",
        "region",
        "tax",
        "rate name",
        "category",
        "rate %",
        "since",
        title=f"{country.upper()} on {day}",
    )
    for r in rows:
        table.add_row(
            r.country, r.region, r.tax_type, r.rate_name, r.category, str(r.rate), str(r.valid_from)
        )
    out.print(table)


# --- invoices --------------------------------------------------------------------------------


@invoices_app.command("create")
def invoices_create(
    file: Annotated[Path, typer.Option("--file", help="Invoice JSON (one or a list).")],
    issue_now: Annotated[bool, typer.Option("--issue", help="Issue them at once.")] = False,
) -> None:
    """Create draft invoices from JSON; re-running the same file creates nothing twice."""
    data = read_file(file)
    requests = parse_invoice_json(data, file.name)
    with open_app().transaction() as tx:
        result = invoicing.create_drafts(tx, requests, source=invoicing.file_ref_prefix(data))
        # drafts of this very transaction: planner processes could not see them
        numbers = invoicing.issue(tx, result.created, planners=0).numbers if issue_now else []
    out.print(
        f"{file.name}: {len(result.created)} draft(s) created"
        + (f", {len(result.existing)} already there" if result.existing else "")
        + "."
    )
    if numbers:
        out.print(f"Issued {', '.join(numbers)}.")
    elif result.created:
        out.print(
            "Drafts: "
            + ", ".join(f"#{i}" for i in result.created)
            + " (issue with `billfold invoices issue #ID` or `--all-drafts`)."
        )


@invoices_app.command("issue")
def invoices_issue(
    numbers: Annotated[list[str] | None, typer.Argument(help="Draft ids as #ID.")] = None,
    all_drafts: Annotated[bool, typer.Option("--all-drafts")] = False,
    entity: EntityOpt = None,
    until: Annotated[str | None, typer.Option("--until", help="Drafts dated up to.")] = None,
    planners: IssuePlannersOpt = None,
) -> None:
    """Issue drafts: gapless number, journal entry and audit row, all in one transaction."""
    with open_app().transaction() as tx:
        if all_drafts:
            ids = invoicing.draft_ids(tx.conn, entity=entity, before=parse_date(until))
        elif numbers:
            ids = [_draft_id(n) for n in numbers]
        else:
            raise InvalidInput("name drafts (#ID) or give --all-drafts")
        result = invoicing.issue(tx, ids, planners=planners)
    if not result.numbers:
        out.print("No drafts to issue.")
    elif len(result.numbers) <= 20:
        out.print(f"Issued {', '.join(result.numbers)}.")
    else:
        out.print(
            f"Issued {len(result.numbers)} documents, {result.numbers[0]} to {result.numbers[-1]}."
        )


def _draft_id(text: str) -> int:
    value = text.removeprefix("#")
    if not value.isdigit():
        raise InvalidInput(f"{text!r}: name a draft by its id, e.g. #12")
    return int(value)


@invoices_app.command("list")
def invoices_list(
    entity: EntityOpt = None,
    customer: Annotated[str | None, typer.Option()] = None,
    status: Annotated[
        str | None, typer.Option(help="draft, issued, partially_paid, paid or voided")
    ] = None,
    since: Annotated[str | None, typer.Option("--from")] = None,
    until: Annotated[str | None, typer.Option("--to")] = None,
    limit: Annotated[int, typer.Option()] = 100,
) -> None:
    """List invoices, credit and debit notes (newest first) with their payment status."""
    with open_app().reading() as conn:
        rows = list_invoices(
            conn,
            entity=entity,
            customer=customer,
            status=status,
            since=parse_date(since),
            until=parse_date(until),
            limit=limit,
        )
    table = Table(
        "number", "type", "status", "date", "due", "customer", "net", "tax", "total", "open"
    )
    for r in rows:
        table.add_row(
            r.number or f"#{r.id}",
            r.doc_type.replace("_", " "),
            r.status,
            str(r.issue_date),
            str(r.due_date),
            r.customer,
            f"{r.net.amount:,}",
            f"{r.tax.amount:,}",
            f"{r.total.amount:,} {r.currency}",
            "" if r.open is None else f"{r.open.amount:,}",
        )
    out.print(table)


@invoices_app.command("show")
def invoices_show(number: str, entity: EntityOpt = None) -> None:
    """One invoice: parties, lines, tax breakdown, totals, ledger entry, credits."""
    with open_app().reading() as conn:
        d = invoice_detail(conn, number, entity)
    doc = d["document"]
    out.print(
        f"[bold]{doc.doc_type.value.replace('_', ' ').title()} {doc.number}[/]  "
        f"status {d['status']}  issued {doc.issue_date}  due {doc.due_date or '-'}"
    )
    out.print(f"  seller: {doc.seller.name} ({doc.seller.vat_id or doc.seller.tax_id or '-'})")
    out.print(
        f"  buyer:  {doc.buyer.name}, {doc.buyer.city or ''} {doc.buyer.country} "
        f"({doc.buyer.vat_id or doc.buyer.tax_id or '-'})"
    )
    if doc.po_number:
        out.print(f"  PO: {doc.po_number}")
    if doc.preceding_number:
        out.print(f"  corrects: {doc.preceding_number} of {doc.preceding_date}")
    lines = Table(
        "#", "description", "qty", "unit", "price", "discount", "net", "tax", "cat", "rate %"
    )
    for ln in doc.lines:
        lines.add_row(
            str(ln.line_no),
            ln.description,
            f"{ln.quantity.normalize():f}",
            ln.unit_code,
            f"{ln.unit_price.normalize():f}",
            f"{ln.discount.amount:,}" if ln.discount else "",
            f"{ln.net.amount:,}",
            f"{ln.tax.amount:,}",
            ln.tax_category,
            f"{ln.tax_rate.normalize():f}",
        )
    out.print(lines)
    taxes = Table("category", "rate %", "taxable", "tax", "reason", title="Tax breakdown")
    for t in doc.tax_summary:
        taxes.add_row(
            t.category,
            f"{t.rate.normalize():f}",
            f"{t.taxable.amount:,}",
            f"{t.tax.amount:,}",
            t.exemption_reason or "",
        )
    out.print(taxes)
    out.print(
        f"  net {doc.net_total.amount:,}  tax {doc.tax_total.amount:,}  "
        f"[bold]total {doc.gross_total.amount:,} {doc.currency}[/]"
        + (
            f"  (= {d['functional_total']} at {d['fx_rate']})"
            if doc.currency != d["functional_total"].currency
            else ""
        )
    )
    if d["open"] is not None:
        out.print(f"  open: {d['open']}")
    for note in doc.notes:
        out.print(f"  note: {note}")
    for number_, amount, reason in d["credits"]:
        out.print(f"  credited by {number_}: {amount} ({reason})")
    if d["entry_id"]:
        out.print(
            f"  journal entry {d['entry_id']}"
            + (f", voided by entry {d['void_entry_id']}" if d["void_entry_id"] else "")
        )


@invoices_app.command("void")
def invoices_void(
    number: str,
    reason: Annotated[str, typer.Option()],
    entity: EntityOpt = None,
    on: Annotated[str | None, typer.Option("--date")] = None,
) -> None:
    """Void an issued invoice not yet delivered, paid or credited (by a reversing entry)."""
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        invoicing.void(tx, code, number, reason, parse_date(on))
    out.print(f"{number} voided.")


@invoices_app.command("mark-delivered")
def invoices_delivered(
    number: str, channel: Annotated[str, typer.Option()] = "email", entity: EntityOpt = None
) -> None:
    """Record that an invoice was delivered (it can then no longer be voided)."""
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        invoicing.mark_delivered(tx, code, number, channel)
    out.print(f"{number} marked delivered ({channel}).")


@invoices_app.command("render")
def invoices_render(
    number: str,
    fmt: Annotated[str, typer.Option("--format", help="pdf, ubl, cii or facturx")] = "pdf",
    out_path: Annotated[Path | None, typer.Option("--out")] = None,
    entity: EntityOpt = None,
    logo: Annotated[Path | None, typer.Option(help="Logo image for PDFs.")] = None,
) -> None:
    """Render a document; e-invoices are validated (EN 16931, Peppol) before they are written."""
    from billfold.documents.render import render_document

    with open_app().reading() as conn:
        doc = build_document(conn, number, entity)
    data, suffix = render_document(doc, fmt, read_file(logo) if logo else None)
    target = out_path or Path(f"{doc.number}{suffix}")
    if target.is_dir() or not target.suffix:  # a folder (made if missing)
        target = target / f"{doc.number}{suffix}"
    write_file(target, data)
    out.print(f"{doc.number} rendered as {fmt} to {target}")


@invoices_app.command("validate")
def invoices_validate(
    file: Path, peppol: Annotated[bool, typer.Option(help="Also Peppol BIS 3.")] = True
) -> None:
    """Validate a UBL or CII e-invoice against EN 16931 (and Peppol BIS 3 for UBL)."""
    from billfold.documents.validation import validate_einvoice

    report = validate_einvoice(read_file(file), peppol=peppol)
    for w in report.warnings:
        out.print(f"warning {w.rule_id} [{w.source}]: {w.message}")
    if report.ok:
        out.print(f"{file.name}: valid {report.syntax} ({len(report.warnings)} warning(s)).")
        return
    for e in report.errors:
        err.print(f"{file.name}: {e.rule_id} [{e.source}] {e.message}", markup=False)
    err.print(f"{file.name}: INVALID, {len(report.errors)} failed rule(s)")
    raise typer.Exit(2)


@invoices_app.command("import-open")
def invoices_import_open(file: Path, entity: EntityOpt = None) -> None:
    """Bring open receivables from the previous system, keeping their numbers."""
    with open_app().transaction() as tx:
        r = import_open_items(tx, read_file(file), file.name, entity)
    out.print(_import_summary(file.name, r.created, 0, r.unchanged, r.already_imported))


# --- credit memos ----------------------------------------------------------------------------


@credit_app.command("create")
def credit_create(
    invoice: Annotated[str, typer.Option("--invoice")],
    reason: Annotated[str, typer.Option("--reason")],
    lines: Annotated[
        list[str] | None,
        typer.Option("--lines", help="N (rest of line N), N=AMOUNT (net) or N*QTY; repeatable."),
    ] = None,
    entity: EntityOpt = None,
    on: Annotated[str | None, typer.Option("--date")] = None,
) -> None:
    """Credit an invoice in full, or some lines, or part of a line. Issued at once."""
    selections = [parse_selection(s) for part in lines or [] for s in part.split(",")] or None
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        number = create_credit_memo(tx, code, invoice, reason, selections, parse_date(on))
    out.print(f"Credit note {number} issued against {invoice}.")


# --- reports ---------------------------------------------------------------------------------


@reports_app.command("invoice-register")
def report_register(
    since: Annotated[str, typer.Option("--from")],
    until: Annotated[str, typer.Option("--to")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or xlsx")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out")] = None,
    entity: EntityOpt = None,
) -> None:
    """Every issued document of a period with totals per currency."""
    from billfold.reports import register

    start, end = parse_date(since, "--from"), parse_date(until, "--to")
    assert start and end
    with open_app().reading() as conn:
        rows = register.invoice_register(conn, start, end, entity)
    if fmt == "table":
        table = Table(
            "number",
            "type",
            "date",
            "customer",
            "currency",
            "net",
            "tax",
            "total",
            "status",
            title=f"Invoice register {start} to {end}",
        )
        for r in rows:
            table.add_row(
                r.number,
                r.type.replace("_", " "),
                str(r.issue_date),
                r.customer,
                r.currency,
                f"{r.net:,}",
                f"{r.tax:,}",
                f"{r.total:,}",
                r.status,
            )
        for cur, (net, tax, total) in register.totals_by_currency(rows).items():
            table.add_row(
                "Total", "", "", "", cur, f"{net:,}", f"{tax:,}", f"{total:,}", "", style="bold"
            )
        out.print(table)
        return
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"--format {fmt!r}: expected table, csv or xlsx")
    data = (
        register.to_csv(rows)
        if fmt == "csv"
        else register.to_xlsx(rows, f"Invoice register {start} to {end}")
    )
    target = out_path or Path(f"invoice-register-{start}-{end}.{fmt}")
    write_file(target, data)
    out.print(f"{len(rows)} documents written to {target}")
