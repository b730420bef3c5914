"""CLI: contracts, billing runs, review and issue, revenue recognition."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from billfold.commands.common import IssuePlannersOpt, open_app, out, parse_date, read_file
from billfold.errors import InvalidInput
from billfold.services import billing_run, contracts, invoicing, revenue

contracts_app = typer.Typer(help="Contracts and their charges.", no_args_is_help=True)
bill_app = typer.Typer(help="Billing runs: draft, review, issue.", no_args_is_help=True)
revenue_app = typer.Typer(help="Deferred revenue recognition.", no_args_is_help=True)


def _dec(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{what} {value!r} is not a number") from None


@contracts_app.command("import")
def contracts_import(file: Path) -> None:
    """Import contracts from JSON (validated; the same file twice changes nothing)."""
    with open_app().transaction() as tx:
        r = contracts.import_contracts(tx, read_file(file), file.name)
    if r.already_imported:
        out.print(f"{file.name}: already imported; nothing changed.")
    else:
        out.print(
            f"{file.name}: {r.created} created, {r.updated} updated, {r.unchanged} unchanged."
        )


@contracts_app.command("list")
def contracts_list() -> None:
    with open_app().reading() as conn:
        rows = contracts.list_contracts(conn)
    table = Table("contract", "customer", "currency", "start", "end", "status")
    for r in rows:
        table.add_row(
            r.number, r.customer, r.currency, str(r.start_date), str(r.end_date or ""), r.status
        )
    out.print(table)


@contracts_app.command("change")
def contracts_change(
    contract: str,
    charge: Annotated[str, typer.Option()],
    effective: Annotated[str, typer.Option()],
    quantity: Annotated[str | None, typer.Option()] = None,
    unit_price: Annotated[str | None, typer.Option("--price")] = None,
    cancel: Annotated[bool, typer.Option("--cancel")] = False,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change quantity or price (upgrade, downgrade) or cancel a charge from a date."""
    day = parse_date(effective, "--effective")
    assert day is not None
    with open_app().transaction() as tx:
        contracts.add_change(
            tx,
            contract,
            charge,
            day,
            _dec(quantity, "--quantity"),
            _dec(unit_price, "--price"),
            cancel,
            reason,
        )
    out.print(f"{contract}/{charge}: change from {day} recorded; the next run prorates it.")


@contracts_app.command("complete-milestone")
def contracts_milestone(
    contract: str,
    milestone: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option("--date")],
) -> None:
    """Mark a milestone complete: the next run bills it (once)."""
    day = parse_date(on, "--date")
    assert day is not None
    with open_app().transaction() as tx:
        contracts.complete_milestone(tx, contract, milestone, day)
    out.print(f"Milestone {milestone} of {contract} completed on {day}.")


@bill_app.command("run")
def bill_run(
    on: Annotated[str, typer.Option("--date")],
    entity: Annotated[str | None, typer.Option()] = None,
    batch: Annotated[int, typer.Option(help="Contracts per transaction.")] = 500,
    planners: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes that plan the next batches while the run writes "
            "(default: one per core, up to 4, for a run of 16 batches or more; 0: none).",
        ),
    ] = None,
) -> None:
    """Draft every charge due up to the date (exactly once, restartable)."""
    day = parse_date(on, "--date")
    assert day is not None
    app = open_app()
    with app.reading() as conn:
        total = len(contracts.list_contracts(conn))
    with Progress(
        TextColumn("billing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task("run", total=total, rate="")

        def advance(n: int) -> None:
            progress.advance(task, n)
            elapsed = progress.tasks[0].elapsed or 0
            done = progress.tasks[0].completed
            progress.update(task, rate=f"{done / elapsed:,.0f} contracts/s" if elapsed else "")

        r = billing_run.run_billing(app, day, entity, advance, batch, planners)
    out.print(
        f"Billing run {r.run_id} to {day}: {r.contracts} contracts, {r.drafts} draft "
        f"invoices, {r.lines} lines."
    )
    for label, why in r.holds:
        out.print(f"[yellow]held[/] {label}: {why}")
    for label, why in r.errors:
        out.print(f"[red]not billed[/] {label}: {why}")
    if r.drafts:
        out.print(
            f"Review with `billfold bill review --run {r.run_id}`, then "
            f"`billfold bill issue --run {r.run_id}`."
        )


@bill_app.command("review")
def bill_review(run: Annotated[int | None, typer.Option("--run")] = None) -> None:
    """Draft invoices of a run with totals and anomalies."""
    with open_app().reading() as conn:
        rows = billing_run.review_run(conn, run)
    table = Table("draft", "customer", "lines", "total", "look at")
    for r in rows:
        table.add_row(
            f"#{r.invoice_id}", r.customer, str(r.lines), str(r.total), "; ".join(r.anomalies)
        )
    out.print(table)


@bill_app.command("issue")
def bill_issue(
    run: Annotated[int, typer.Option("--run")], planners: IssuePlannersOpt = None
) -> None:
    """Issue every draft of a run (numbers, postings, audit) in bulk."""
    app = open_app()
    with app.reading() as conn:
        ids = billing_run.run_draft_ids(conn, run)
    with app.transaction() as tx:
        numbers = invoicing.issue(tx, ids, planners=planners).numbers
    out.print(
        f"Issued {len(numbers)} invoices"
        + (f", {numbers[0]} to {numbers[-1]}" if numbers else "")
        + "."
    )


@revenue_app.command("recognize")
def revenue_recognize(
    period: Annotated[str, typer.Option()], entity: Annotated[str | None, typer.Option()] = None
) -> None:
    """Recognise deferred revenue for a month (and earlier months not yet done)."""
    with open_app().transaction() as tx:
        results = revenue.recognize(tx, period, entity)
    for r in results:
        for account, cur, amount, _ in r.lines:
            out.print(
                f"{r.entity} {period}: {amount:,} {cur} to {account}"
                + (f" (entry {r.entry_id})" if r.entry_id else "")
            )
    if not results:
        out.print(f"Nothing to recognise up to {period}.")
    revenue_schedule(None)


@revenue_app.command("schedule")
def revenue_schedule(entity: Annotated[str | None, typer.Option()] = None) -> None:
    """The deferred-revenue schedule per month, recognised or still deferred."""
    with open_app().reading() as conn:
        rows = revenue.schedule_report(conn, entity)
    table = Table("month", "account", "currency", "amount", "status")
    for period, account, cur, amount, done in rows:
        table.add_row(period, account, cur, f"{amount:,}", "recognised" if done else "deferred")
    out.print(table)
