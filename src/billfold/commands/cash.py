"""CLI: bank files in, matching, applications, and the clerk's actions on receipts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from billfold.commands.common import open_app, out, parse_date, read_file, write_file
from billfold.domain.matching import Policy
from billfold.errors import InvalidInput
from billfold.reports import cash as cash_reports
from billfold.services import cash_apply
from billfold.services.cash_import import import_bank_file

cash_app = typer.Typer(
    help="Cash application: bank files, matching, receipts.", no_args_is_help=True
)


def _decimal(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{what} {value!r} is not a number") from None


@cash_app.command("import")
def cash_import(
    file: Path,
    fmt: Annotated[
        str, typer.Option("--format", help="auto, bai2, camt, mt940, nacha, x12_820 or payout_csv")
    ] = "auto",
    match_now: Annotated[
        bool, typer.Option("--match/--no-match", help="Match the new receipts at once.")
    ] = True,
) -> None:
    """Import a bank, lockbox, ACH, remittance or payout file (all or nothing, idempotent)."""
    with open_app().transaction() as tx:
        r = import_bank_file(tx, read_file(file), file.name, fmt)
    if r.already_imported:
        out.print(f"{file.name}: already imported ({r.format}); nothing changed.")
        return
    totals = ", ".join(f"{v:,} {k}" for k, v in sorted(r.total.items())) or "nothing"
    out.print(
        f"{file.name} ({r.format}): {r.receipts} receipts ({totals})"
        + (f", {r.statements_known} statement(s) already imported" if r.statements_known else "")
        + (f", {r.duplicates} duplicate entr(ies) skipped" if r.duplicates else "")
        + (f", {r.debits} debit(s) not receipts" if r.debits else "")
        + (f", {r.advices} remittance advice(s) kept for matching" if r.advices else "")
        + "."
    )
    if match_now and r.receipt_ids:
        _match(r.receipt_ids, Policy())


def _match(ids: list[int] | None, policy: Policy) -> None:
    with (
        open_app().transaction() as tx,
        Progress(
            TextColumn("matching"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("match", total=None)
        run = cash_apply.match_receipts(tx, policy, ids, progress=lambda: progress.advance(task))
    out.print(
        f"Matched {run.receipts} receipts: {run.applied} applied automatically, "
        f"{run.suggested} waiting as suggestions, {run.unmatched} unapplied."
    )


@cash_app.command("match")
def cash_match(
    threshold: Annotated[int, typer.Option(help="Auto-apply at or above this confidence.")] = 90,
    tolerance: Annotated[str, typer.Option(help="Short-payment tolerance, % of the item.")] = "1",
) -> None:
    """Match every unapplied receipt to open items (explainable; posts what is certain)."""
    pct = _decimal(tolerance, "--tolerance")
    assert pct is not None
    _match(None, Policy(auto_threshold=threshold, short_tolerance_percent=pct))


@cash_app.command("applications")
def cash_applications(
    since: Annotated[str | None, typer.Option("--from")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Every application with its bank reference, value date, payer, invoice, kind and reason."""
    with open_app().reading() as conn:
        rows = cash_reports.applications(conn, parse_date(since, "--from"))
    if fmt == "csv":
        data = cash_reports.applications_csv(rows)
        if out_path:
            write_file(out_path, data)
            out.print(f"{len(rows)} applications written to {out_path}")
        else:
            out.print(data.decode(), end="", markup=False)
        return
    table = Table("app", "receipt")
    for name in ("bank ref", "value date", "payer", "customer", "invoice", "kind", "amount"):
        table.add_column(name, no_wrap=name != "payer")
    for name in ("mode", "conf", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r.application or ""),
            str(r.receipt),
            r.bank_reference,
            str(r.value_date),
            r.payer,
            r.customer,
            r.invoice,
            r.kind,
            f"{r.amount:,} {r.currency}",
            r.mode,
            str(r.confidence),
            r.reason,
        )
    out.print(table)


@cash_app.command("unapplied")
def cash_unapplied() -> None:
    """Receipts with money not yet applied."""
    with open_app().reading() as conn:
        rows = cash_reports.unapplied(conn)
    table = Table(
        "receipt", "value date", "bank ref", "payer", "customer", "amount", "left", "status"
    )
    for r in rows:
        table.add_row(
            str(r.receipt),
            str(r.value_date),
            r.reference,
            r.payer,
            r.customer,
            str(r.amount),
            str(r.left),
            r.status,
        )
    out.print(table)


@cash_app.command("suggestions")
def cash_suggestions() -> None:
    """Proposed applications below the auto-apply threshold, for a clerk to accept or not."""
    with open_app().reading() as conn:
        rows = cash_reports.suggestions(conn)
    table = Table("receipt", "bank ref", "payer", "left", "confidence", "proposal", "reason")
    for r in rows:
        proposal = "; ".join(f"{a['kind']} {a['item_ref'] or ''}".strip() for a in r.proposal)
        table.add_row(
            str(r.receipt),
            r.reference,
            r.payer,
            str(r.amount),
            str(r.confidence),
            proposal,
            r.reason,
        )
    out.print(table)


@cash_app.command("apply")
def cash_apply_cmd(
    receipt: int,
    invoice: Annotated[str | None, typer.Option("--invoice")] = None,
    amount: Annotated[str | None, typer.Option("--amount")] = None,
    write_off_rest: Annotated[bool, typer.Option("--write-off-rest")] = False,
    accept: Annotated[bool, typer.Option("--accept", help="Accept the suggestion.")] = False,
) -> None:
    """Apply a receipt to an invoice (or accept its suggestion)."""
    with open_app().transaction() as tx:
        if accept:
            reason = cash_apply.accept_suggestion(tx, receipt)
            out.print(f"Receipt {receipt}: {reason}")
            return
        if not invoice:
            raise InvalidInput("give --invoice NUMBER (or --accept)")
        cash_apply.apply_manually(
            tx, receipt, invoice, _decimal(amount, "--amount"), write_off_rest
        )
    out.print(f"Receipt {receipt} applied to {invoice}.")


@cash_app.command("unapply")
def cash_unapply(application: int, reason: Annotated[str, typer.Option()]) -> None:
    """Undo an application (by reversal; the original stays in the record)."""
    with open_app().transaction() as tx:
        ids = cash_apply.unapply(tx, application, reason)
    out.print(f"Application {application} undone ({len(ids)} row(s) reversed).")


@cash_app.command("on-account")
def cash_on_account(receipt: int, customer: Annotated[str, typer.Option()]) -> None:
    """Keep what is left of a receipt as a credit on the customer's account."""
    with open_app().transaction() as tx:
        amount = cash_apply.put_on_account(tx, receipt, customer)
    out.print(f"{amount} of receipt {receipt} kept on account of {customer}.")


@cash_app.command("refund")
def cash_refund(
    receipt: int,
    reason: Annotated[str, typer.Option()],
    amount: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Refund an overpayment (what is unapplied or on account from this receipt)."""
    with open_app().transaction() as tx:
        total = cash_apply.refund(tx, receipt, _decimal(amount, "--amount"), reason)
    out.print(f"Refund of {total} from receipt {receipt} booked to refunds payable.")
