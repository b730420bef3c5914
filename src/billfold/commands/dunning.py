"""CLI: dunning runs, policies, templates and the contact history.

``billfold dunning run`` exits 1 when some customers due a notice could not be contacted (after
printing who and why), so a scheduler notices; the next run sends exactly those. Its output names
customers by number and never prints e-mail addresses or message bodies (run output tends to end
up in logs); ``--dry-run --show N`` prints the first N messages on purpose.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from billfold.commands.common import open_app, out, parse_date, read_file
from billfold.errors import InvalidInput
from billfold.services import dunning as dunning_service
from billfold.services.mailer import SmtpSender

dunning_app = typer.Typer(
    help="Dunning: reminders for past-due items, by policy and level.", no_args_is_help=True
)
LISTED = 50  # rows of a long list printed before "... and N more"


@dunning_app.command("run")
def dunning_run(
    on: Annotated[
        str | None, typer.Option("--date", help="Run date (YYYY-MM-DD), default today.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and render only: send and record nothing.")
    ] = False,
    show: Annotated[
        int, typer.Option("--show", help="With --dry-run: print the first N messages.")
    ] = 0,
) -> None:
    """Send the notices due on a date (each item once per level; catches up after outages)."""
    app = open_app()
    day = parse_date(on, "--date") or app.clock().date()
    sender = None if dry_run else SmtpSender.from_environment()
    with Progress(
        TextColumn("dunning" + (" (dry run)" if dry_run else "")),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task("dunning", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = dunning_service.run_dunning(
            app,
            day,
            dry_run=dry_run,
            sender=sender,
            progress=advance,
            keep_messages=show if dry_run else 0,
        )
    _print_summary(summary)
    if not summary.complete:
        raise typer.Exit(1)


def _print_summary(s: dunning_service.DunningSummary) -> None:
    verb = "would be contacted" if s.dry_run else "contacted"
    run = f" (run {s.run_id})" if s.run_id else ""
    out.print(
        f"Dunning {s.run_date}{run}: {len(s.contacted)} customer(s) {verb}, "
        f"{len(s.failed)} not contacted, {len(s.skipped)} item(s) held back."
    )
    if s.contacted:
        levels = Counter((o.level, o.level_name) for o in s.contacted)
        table = Table("level", "name", "customers")
        for (level, name), n in sorted(levels.items()):
            table.add_row(str(level), name, str(n))
        out.print(table)
    if s.credit_holds:
        out.print(
            f"Put on credit hold and into collections: {', '.join(s.credit_holds[:LISTED])}"
            + (
                f" ... and {len(s.credit_holds) - LISTED} more"
                if len(s.credit_holds) > LISTED
                else ""
            )
        )
    if s.failed:
        table = Table("customer", "level", "items", "not contacted because", title="Not contacted")
        for o in s.failed[:LISTED]:
            table.add_row(o.customer, str(o.level), ", ".join(o.items), o.reason or "")
        out.print(table)
        _more(len(s.failed))
        if not s.dry_run:
            out.print("Nothing was recorded as sent for them: run again to contact them.")
    if s.skipped:
        table = Table("customer", "item", "held back because", title="Held back")
        for k in s.skipped[:LISTED]:
            table.add_row(k.customer, k.item_ref, k.reason)
        out.print(table)
        _more(len(s.skipped))
    for m in s.messages:
        out.print(f"\n[bold]{m.customer}[/] To: {m.to or '-'}\nSubject: {m.subject}\n")
        out.print(m.body, markup=False, highlight=False)
    if not s.dry_run and s.contacted:
        rate = len(s.contacted) / s.seconds if s.seconds else 0.0
        out.print(f"{len(s.contacted)} message(s) in {s.seconds:.1f}s ({rate:,.0f}/s).")


def _more(n: int) -> None:
    if n > LISTED:
        out.print(f"... and {n - LISTED} more")


@dunning_app.command("policies")
def dunning_policies() -> None:
    """The dunning policies and their levels."""
    with open_app().reading() as conn:
        rows = dunning_service.list_policies(conn)
    table = Table("policy", "level", "days past due", "name", "template", "credit hold")
    for policy, is_default in rows:
        label = policy.code + (" (default)" if is_default else "")
        for lv in policy.levels:
            table.add_row(
                label,
                str(lv.level),
                str(lv.days),
                lv.name,
                lv.template_key,
                "yes" if lv.credit_hold else "",
            )
            label = ""
    out.print(table)


@dunning_app.command("template-set")
def dunning_template_set(
    key: str,
    language: Annotated[str, typer.Option("--language", help="e.g. en, de, fr-BE")],
    subject: Annotated[str, typer.Option("--subject", help="Subject template (one line).")],
    file: Annotated[Path, typer.Option("--file", help="Body template (Jinja2, UTF-8 text).")],
) -> None:
    """Create or replace a template; refused (nothing saved) if it names an unknown field."""
    try:
        body = read_file(file).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file}: not UTF-8 text") from None
    with open_app().transaction() as tx:
        result = dunning_service.save_template(tx, key, language, subject, body)
    out.print(f"Template {key}/{dunning_service.normalise_language(language)}: {result}.")


@dunning_app.command("history")
def dunning_history(
    customer: Annotated[str | None, typer.Option("--customer", help="Customer number.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
) -> None:
    """Notices sent or failed, newest first, with the items each covered."""
    with open_app().reading() as conn:
        rows = dunning_service.notice_history(conn, customer, limit)
    table = Table("run date", "customer", "level", "status", "items", "to", "subject / error")
    for r in rows:
        table.add_row(
            str(r.run_date),
            r.customer,
            str(r.level),
            r.status,
            ", ".join(r.items),
            r.to or "-",
            (r.error if r.status == "failed" else r.subject) or "",
        )
    out.print(table)
