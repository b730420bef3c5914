"""CLI: the collections worklist, notes, promises, payment plans, disputes, write-offs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from billfold.commands.common import open_app, out, parse_date
from billfold.errors import InvalidInput
from billfold.services import collections as svc
from billfold.services import lookups

collections_app = typer.Typer(
    help="Collections: worklist, promises, plans, write-offs.", no_args_is_help=True
)
disputes_app = typer.Typer(help="Disputes on invoices.", no_args_is_help=True)

EntityOpt = Annotated[str | None, typer.Option("--entity", help="Legal entity code.")]


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"amount {value!r} is not a number") from None


def _day(value: str | None) -> date:
    return parse_date(value) or date.today()


@collections_app.command("worklist")
def worklist(
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    entity: EntityOpt = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """Customers with past-due money, most urgent first (amount, age, payment history)."""
    day = _day(as_of)
    with open_app().reading() as conn:
        rows = svc.worklist(conn, day, entity, limit)
    table = Table(
        "customer",
        "name",
        "past due",
        "oldest (days)",
        "avg days late",
        "broken promises",
        "disputes",
        "last contact",
        "status",
        "score",
        title=f"Collections worklist as of {day}",
    )
    for r in rows:
        status = ", ".join(
            s for s, on in (("collections", r.in_collections), ("credit hold", r.on_hold)) if on
        )
        table.add_row(
            r.customer,
            r.name,
            f"{r.past_due:,} {r.currency}",
            str(r.oldest_days),
            "" if r.avg_days_late is None else str(r.avg_days_late),
            str(r.broken_promises),
            str(r.open_disputes),
            str(r.last_contact or ""),
            status,
            f"{r.score:,}",
        )
    out.print(table)


@collections_app.command("note")
def note(
    customer: str,
    text: Annotated[str, typer.Option("--text")],
    invoice: Annotated[str | None, typer.Option("--invoice")] = None,
) -> None:
    """Write a collections note on a customer (or one of its invoices)."""
    with open_app().transaction() as tx:
        svc.add_note(tx, customer, text, invoice)
    out.print(f"Note added to {customer}.")


@collections_app.command("promise")
def promise(
    customer: str,
    amount: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option("--date")],
    invoice: Annotated[str | None, typer.Option("--invoice")] = None,
) -> None:
    """Record a promise to pay (dunning holds the items until the date)."""
    day = parse_date(on, "--date")
    assert day is not None
    value = _amount(amount)
    assert value is not None
    with open_app().transaction() as tx:
        pid = svc.add_promise(tx, customer, value, day, invoice)
    out.print(f"Promise {pid}: {customer} will pay {amount} by {day}.")


@collections_app.command("promises")
def promises_cmd(
    customer: Annotated[str | None, typer.Option()] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
) -> None:
    """Promises to pay and whether they were kept or broken."""
    with open_app().reading() as conn:
        rows = svc.promise_status(conn, _day(as_of), customer)
    table = Table("id", "customer", "invoice", "promised", "by", "paid since", "status")
    for r in rows:
        table.add_row(
            str(r.id),
            r.customer,
            r.item_ref or "(all open)",
            str(r.amount),
            str(r.promised_date),
            str(r.paid),
            f"[red]{r.status}[/]" if r.status == "broken" else r.status,
        )
    out.print(table)


@collections_app.command("plan")
def plan(
    customer: str,
    installments: Annotated[int, typer.Option()],
    first_due: Annotated[str, typer.Option("--first-due")],
    invoice: Annotated[list[str] | None, typer.Option("--invoice")] = None,
    every_days: Annotated[int | None, typer.Option(help="Default: monthly.")] = None,
) -> None:
    """Split open invoices into installments (largest remainder: they add up exactly)."""
    day = parse_date(first_due, "--first-due")
    assert day is not None
    with open_app().transaction() as tx:
        plan_id = svc.create_plan(tx, customer, installments, day, invoice, every_days)
    plan_status(plan_id)


@collections_app.command("plan-status")
def plan_status(plan_id: int, as_of: Annotated[str | None, typer.Option("--as-of")] = None) -> None:
    """Each installment of a payment plan: due, paid, overdue."""
    with open_app().reading() as conn:
        rows = svc.plan_status(conn, plan_id, _day(as_of))
    table = Table("#", "due", "amount", "paid", "status", title=f"Payment plan {plan_id}")
    for r in rows:
        table.add_row(str(r.seq), str(r.due_date), str(r.amount), str(r.paid), r.status)
    out.print(table)


@collections_app.command("write-off")
def write_off(
    customer: str,
    invoice: Annotated[str, typer.Option("--invoice")],
    reason: Annotated[str, typer.Option()],
    amount: Annotated[str | None, typer.Option()] = None,
    entity: EntityOpt = None,
    on: Annotated[str | None, typer.Option("--date")] = None,
) -> None:
    """Write off bad debt (Dr bad-debt expense, Cr AR)."""
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        svc.write_off(tx, code, customer, invoice, reason, _amount(amount), parse_date(on))
    out.print(f"{invoice} of {customer} written off" + (f" ({amount})" if amount else "") + ".")


@collections_app.command("recover")
def recover(
    customer: str,
    invoice: Annotated[str, typer.Option("--invoice")],
    amount: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    entity: EntityOpt = None,
) -> None:
    """Reinstate written-off debt that is being paid after all."""
    value = _amount(amount)
    assert value is not None
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        svc.recover(tx, code, customer, invoice, value, reason)
    out.print(f"{amount} of {invoice} reinstated; apply the payment to it as usual.")


# --- disputes --------------------------------------------------------------------------------


@disputes_app.command("open")
def dispute_open(
    invoice: str,
    reason: Annotated[str, typer.Option(help=", ".join(svc.REASON_CODES))],
    team: Annotated[str, typer.Option(help=", ".join(svc.OWNER_TEAMS))],
    amount: Annotated[str | None, typer.Option()] = None,
    line: Annotated[int | None, typer.Option()] = None,
    note_text: Annotated[str | None, typer.Option("--note")] = None,
    entity: EntityOpt = None,
) -> None:
    """Open a dispute on an invoice or one of its lines."""
    with open_app().transaction() as tx:
        code = entity or lookups.default_entity(tx.conn).code
        did = svc.open_dispute(tx, code, invoice, reason, team, _amount(amount), line, note_text)
    out.print(f"Dispute {did} opened on {invoice}.")


@disputes_app.command("list")
def dispute_list(
    status: Annotated[str | None, typer.Option(help="open, resolved or rejected")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
) -> None:
    """Disputes with their age, owner and outcome."""
    with open_app().reading() as conn:
        rows = svc.list_disputes(conn, _day(as_of), status)
    table = Table(
        "id",
        "invoice",
        "customer",
        "amount",
        "reason",
        "owner",
        "status",
        "opened",
        "days",
        "resolution",
        "root cause",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.invoice,
            r.customer,
            str(r.amount),
            r.reason,
            r.owner,
            r.status,
            str(r.opened_on),
            str(r.days_open),
            r.resolution or "",
            r.root_cause or "",
        )
    out.print(table)


@disputes_app.command("note")
def dispute_note(dispute_id: int, text: Annotated[str, typer.Option("--text")]) -> None:
    with open_app().transaction() as tx:
        svc.add_dispute_note(tx, dispute_id, text)
    out.print(f"Note added to dispute {dispute_id}.")


@disputes_app.command("status")
def dispute_status(dispute_id: int, status: Annotated[str, typer.Option()]) -> None:
    """Move a dispute between open and in_review."""
    with open_app().transaction() as tx:
        svc.set_dispute_status(tx, dispute_id, status)
    out.print(f"Dispute {dispute_id} is {status}.")


@disputes_app.command("resolve")
def dispute_resolve(
    dispute_id: int,
    resolution: Annotated[str, typer.Option(help="credit_memo, rebill, rejected")],
    root_cause: Annotated[str, typer.Option("--root-cause")],
    note_text: Annotated[str | None, typer.Option("--note")] = None,
) -> None:
    """Close a dispute with its resolution and root cause."""
    with open_app().transaction() as tx:
        ref = svc.resolve_dispute(tx, dispute_id, resolution, root_cause, note_text)
    out.print(f"Dispute {dispute_id} closed: {resolution}" + (f" ({ref})" if ref else "") + ".")


@disputes_app.command("aging")
def dispute_aging_cmd(as_of: Annotated[str | None, typer.Option("--as-of")] = None) -> None:
    """Open disputed amounts by how long they have been open."""
    day = _day(as_of)
    with open_app().reading() as conn:
        data = svc.dispute_aging(conn, day)
    labels = next(iter(data.values())).keys() if data else []
    table = Table("currency", *labels, title=f"Open disputes by age (days) as of {day}")
    for cur, row in data.items():
        table.add_row(cur, *(f"{v:,}" for v in row.values()))
    out.print(table)
