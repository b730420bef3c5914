"""CLI: receivables reports and statements of account.

``ar_reports_app`` holds ``aging``, ``kpis``, ``rollforward``, ``dso-trend``, ``cash-receipts``,
``unapplied`` and ``pipeline`` (meant for ``billfold reports``); ``statement_command`` is
``billfold statements CUSTOMER``. Every report prints a table, or writes CSV or XLSX with
``--format``; figures are per legal entity in its functional currency (``--entity`` picks one,
otherwise each entity is reported on its own).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from billfold.commands.common import err, open_app, out, parse_date, read_file, write_file
from billfold.errors import InvalidInput
from billfold.reports import cash_journal, kpis
from billfold.reports.aging import aging_as_of, parse_buckets

ar_reports_app = typer.Typer(help="Receivables reports.", no_args_is_help=True)

EntityOpt = Annotated[str | None, typer.Option("--entity", help="Legal entity code.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or xlsx")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="File for csv or xlsx output.")]
ChartOpt = Annotated[Path | None, typer.Option("--chart", help="Also draw a .png or .svg chart.")]
FORMATS = ("table", "csv", "xlsx")


# --- output helpers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sheet:
    """A table for CSV (the first sheet only) and XLSX (one worksheet each)."""

    title: str
    columns: Sequence[str]
    rows: list[list[object]]


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"--format {fmt!r}: expected table, csv or xlsx")
    return fmt


def _today() -> date:
    return open_app().clock().date()


def _num(value: Decimal | None, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,}{suffix}"


def _csv(sheet: Sheet) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(sheet.columns)
    for row in sheet.rows:
        w.writerow(["" if v is None else str(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        ws.append([sheet.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(list(sheet.columns))
        for cell in ws[2]:
            cell.font = Font(bold=True)
        widths = [len(str(c)) for c in sheet.columns]
        for values in sheet.rows:
            ws.append(list(values))
            for col, value in enumerate(values, start=1):
                widths[col - 1] = max(widths[col - 1], len(str(value)))
                if isinstance(value, Decimal):
                    exponent = value.as_tuple().exponent
                    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
                    ws.cell(row=ws.max_row, column=col).number_format = "#,##0" + (
                        "." + "0" * places if places else ""
                    )
        for n, width in enumerate(widths):
            ws.column_dimensions[ws.cell(row=2, column=n + 1).column_letter].width = min(
                max(width + 2, 8), 40
            )
        ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write(fmt: str, sheets: Sequence[Sheet], out_path: Path | None, default: str) -> None:
    """Write the sheets as CSV or XLSX to ``out_path`` (default ``default.csv|xlsx``)."""
    target = out_path or Path(f"{default}.{fmt}")
    write_file(target, _csv(sheets[0]) if fmt == "csv" else _xlsx(sheets))
    out.print(f"{sum(len(s.rows) for s in sheets[:1])} rows written to {target}")


def _chart_path(path: Path, entity: str, several: bool) -> Path:
    """One chart per entity when there are several: ``dso-ACME-DE.svg``."""
    return path.with_name(f"{path.stem}-{entity}{path.suffix}") if several else path


# --- aging -----------------------------------------------------------------------------------


@ar_reports_app.command("aging")
def aging_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="Date (YYYY-MM-DD), not in the future.")],
    by: Annotated[str, typer.Option(help="customer, entity or currency")] = "customer",
    basis: Annotated[str, typer.Option(help="due or invoice (date the days count from)")] = "due",
    buckets: Annotated[
        str | None, typer.Option(help="Bucket edges in days, e.g. 0,30,60,90")
    ] = None,
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
    chart: ChartOpt = None,
) -> None:
    """Open items by days past due, with the check against the GL AR control account."""
    from billfold.reports.charts import aging_chart, chart_format

    _check_format(fmt)
    day = parse_date(as_of, "--as-of")
    assert day is not None
    if chart:
        chart_format(chart)
    edges = parse_buckets(buckets)
    today = _today()
    with open_app().reading() as conn:
        code = entity.upper() if entity else None
        report = aging_as_of(conn, day, by=by, basis=basis, buckets=edges, entity=code, today=today)
    columns = [by, "name", "entity", "currency", *report.labels, "total"]
    columns += ["functional_currency", "functional_total", "items"]
    rows: list[list[object]] = [
        [
            r.key,
            r.name,
            r.entity,
            r.currency,
            *r.buckets,
            r.total,
            r.functional_currency,
            r.functional_total,
            r.items,
        ]
        for r in report.rows
    ]
    check_cols = ("entity", "currency", "aging_total", "gl_ar_control", "difference")
    checks: list[list[object]] = [
        [c.entity, c.currency, c.aging_total, c.gl_balance, c.difference] for c in report.checks
    ]
    if fmt == "table":
        table = Table(by, "name", "entity", "cur", title=f"Aging as of {day} ({basis} date)")
        for label in (*report.labels, "total", "functional"):
            table.add_column(label, justify="right")
        for r in report.rows:
            table.add_row(
                r.key,
                r.name,
                r.entity,
                r.currency,
                *(f"{v:,}" for v in r.buckets),
                f"{r.total:,}",
                f"{r.functional_total:,} {r.functional_currency}",
            )
        for cur, totals in report.totals().items():
            table.add_row("Total", "", "", cur, *(f"{v:,}" for v in totals), "", style="bold")
        out.print(table)
        footer = Table(*check_cols, title="Aging total vs GL AR control (functional currency)")
        for c in report.checks:
            footer.add_row(
                c.entity,
                c.currency,
                f"{c.aging_total:,}",
                f"{c.gl_balance:,}",
                f"{c.difference:,}",
                style=None if c.difference == 0 else "bold red",
            )
        out.print(footer)
    else:
        _write(
            fmt,
            [
                Sheet(f"Aging as of {day}", columns, rows),
                Sheet("GL check", check_cols, checks),
            ],
            out_path,
            f"aging-{day}",
        )
    if chart:
        aging_chart(report, chart)
        out.print(f"Chart written to {chart}")
    if not report.reconciled:
        err.print("The aging does not agree with the GL AR control account (see the footer).")
        raise typer.Exit(1)


# --- KPIs ------------------------------------------------------------------------------------

# fmt: off
KPI_COLUMNS = (
    "entity", "currency", "period_start", "period_end", "days", "opening_ar", "closing_ar",
    "current_ar", "credit_sales", "dso_standard", "dso_countback", "best_possible_dso",
    "average_days_delinquent", "cei_percent", "invoices_issued", "invoices_disputed",
    "dispute_rate_percent", "invoices_accurate", "accuracy_rate_percent",
)
# fmt: on


def _kpi_values(s: kpis.KpiSummary) -> list[object]:
    return [
        s.entity,
        s.currency,
        s.start,
        s.end,
        s.days,
        s.opening_ar,
        s.closing_ar,
        s.current_ar,
        s.credit_sales,
        s.dso_standard,
        s.dso_countback,
        s.best_possible_dso,
        s.average_days_delinquent,
        s.cei,
        s.dispute_rate.total,
        s.dispute_rate.count,
        s.dispute_rate.percent,
        s.accuracy_rate.count,
        s.accuracy_rate.percent,
    ]


def _kpi_lines(s: kpis.KpiSummary) -> list[tuple[str, str]]:
    cur = f" {s.currency}"
    return [
        ("Period", f"{s.start} to {s.end} ({s.days} days)"),
        ("Opening AR", _num(s.opening_ar, cur)),
        ("Credit sales", _num(s.credit_sales, cur)),
        ("Closing AR", _num(s.closing_ar, cur)),
        ("Closing current AR", _num(s.current_ar, cur)),
        ("DSO (standard)", _num(s.dso_standard, " days")),
        ("DSO (countback)", _num(s.dso_countback, " days")),
        ("Best possible DSO", _num(s.best_possible_dso, " days")),
        ("Average days delinquent", _num(s.average_days_delinquent, " days")),
        ("Collection effectiveness (CEI)", _num(s.cei, " %")),
        (
            "Invoice dispute rate",
            f"{_num(s.dispute_rate.percent, ' %')} "
            f"({s.dispute_rate.count} of {s.dispute_rate.total})",
        ),
        (
            "Invoice accuracy rate",
            f"{_num(s.accuracy_rate.percent, ' %')} "
            f"({s.accuracy_rate.count} of {s.accuracy_rate.total})",
        ),
    ]


@ar_reports_app.command("kpis")
def kpis_cmd(
    period: Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")],
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
) -> None:
    """DSO (standard, countback), best possible DSO, ADD, CEI, dispute and accuracy rates."""
    _check_format(fmt)
    span = kpis.Period.month(period, _today())
    with open_app().reading() as conn:
        summaries = [kpis.kpi_summary(conn, e, span) for e in kpis.report_entities(conn, entity)]
    if fmt == "table":
        table = Table("KPI", title=f"Receivables KPIs {span.label}")
        for s in summaries:
            table.add_column(f"{s.entity} ({s.currency})", justify="right")
        lines = [_kpi_lines(s) for s in summaries]
        for n, (label, _) in enumerate(lines[0] if lines else []):
            table.add_row(label, *(ln[n][1] for ln in lines))
        out.print(table)
        return
    rows = [_kpi_values(s) for s in summaries]
    _write(fmt, [Sheet(f"KPIs {span.label}", KPI_COLUMNS, rows)], out_path, f"kpis-{span.label}")


# --- rollforward -----------------------------------------------------------------------------

# the rollforward's own field names; closing is the GL's, computed_closing the identity's
# fmt: off
ROLLFORWARD_COLUMNS = (
    "entity", "currency", "start", "end", "opening", "invoiced", "collected", "credited",
    "written_off", "other", "computed_closing", "closing", "difference", "recovered",
)
# fmt: on


@ar_reports_app.command("rollforward")
def rollforward_cmd(
    since: Annotated[str, typer.Option("--from")],
    until: Annotated[str, typer.Option("--to")],
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
    chart: ChartOpt = None,
) -> None:
    """Opening + invoiced - collected - credited - written off + other = closing (checked)."""
    from billfold.reports.charts import chart_format, rollforward_chart

    _check_format(fmt)
    start, end = parse_date(since, "--from"), parse_date(until, "--to")
    assert start and end
    if chart:
        chart_format(chart)
    with open_app().reading() as conn:
        found = [kpis.rollforward(conn, e, start, end) for e in kpis.report_entities(conn, entity)]
    if fmt == "table":
        for rf in found:
            table = Table("", rf.currency, title=f"AR rollforward {rf.entity}, {start} to {end}")
            table.columns[1].justify = "right"
            for label, value in (
                ("Opening balance", rf.opening),
                ("+ invoiced", rf.invoiced),
                ("- collected", rf.collected),
                ("- credited (credit notes, discounts)", rf.credited),
                ("- written off (net of recoveries)", rf.written_off),
                ("+ other (opening items, manual, FX)", rf.other),
                ("= closing balance", rf.computed_closing),
                ("GL AR control at the end", rf.closing),
                ("Difference", rf.difference),
            ):
                style = "bold" if label.startswith(("=", "Opening")) else None
                if label == "Difference" and value != 0:
                    style = "bold red"
                table.add_row(label, f"{value:,}", style=style)
            out.print(table)
    else:
        rows = [[getattr(rf, c) for c in ROLLFORWARD_COLUMNS] for rf in found]
        sheet = Sheet(f"AR rollforward {start} to {end}", ROLLFORWARD_COLUMNS, rows)
        _write(fmt, [sheet], out_path, f"rollforward-{start}-{end}")
    if chart:
        for rf in found:
            target = _chart_path(chart, rf.entity, len(found) > 1)
            rollforward_chart(rf, target)
            out.print(f"Chart written to {target}")
    if not all(rf.balanced for rf in found):
        err.print("The rollforward does not reach the GL closing balance (see Difference).")
        raise typer.Exit(1)


# --- DSO trend -------------------------------------------------------------------------------

# fmt: off
TREND_FIELDS = (
    "period", "closing_ar", "current_ar", "credit_sales", "dso_standard", "dso_countback",
    "best_possible_dso", "average_days_delinquent",
)
# fmt: on


@ar_reports_app.command("dso-trend")
def dso_trend_cmd(
    months: Annotated[int, typer.Option(help="How many months, the last one included.")] = 6,
    until: Annotated[str | None, typer.Option("--to", help="Last month, YYYY-MM.")] = None,
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
    chart: ChartOpt = None,
) -> None:
    """DSO standard, countback and best possible DSO per month."""
    from billfold.reports.charts import chart_format, dso_trend_chart

    _check_format(fmt)
    if chart:
        chart_format(chart)
    today = _today()
    last = kpis.Period.month(until or f"{today:%Y-%m}", today).end
    with open_app().reading() as conn:
        ents = kpis.report_entities(conn, entity)
        trends = [(e, kpis.dso_trend(conn, e, months, last)) for e in ents]
    rows: list[list[object]] = [
        [e.code, e.functional_currency, *(getattr(p, c) for c in TREND_FIELDS)]
        for e, points in trends
        for p in points
    ]
    if fmt == "table":
        table = Table("entity", "month", title="DSO trend (days)")
        for name in ("closing AR", "credit sales", "DSO", "countback", "best possible", "ADD"):
            table.add_column(name, justify="right")
        for e, points in trends:
            for p in points:
                table.add_row(
                    e.code,
                    p.period,
                    f"{p.closing_ar:,} {e.functional_currency}",
                    f"{p.credit_sales:,}",
                    _num(p.dso_standard),
                    _num(p.dso_countback),
                    _num(p.best_possible_dso),
                    _num(p.average_days_delinquent),
                )
        out.print(table)
    else:
        sheet = Sheet("DSO trend", ("entity", "currency", *TREND_FIELDS), rows)
        _write(fmt, [sheet], out_path, f"dso-trend-{last:%Y-%m}")
    if chart:
        for e, points in trends:
            target = _chart_path(chart, e.code, len(trends) > 1)
            dso_trend_chart(points, target, f"DSO trend {e.code} (days)")
            out.print(f"Chart written to {target}")


# --- cash ------------------------------------------------------------------------------------


@ar_reports_app.command("cash-receipts")
def cash_receipts_cmd(
    since: Annotated[str, typer.Option("--from")],
    until: Annotated[str, typer.Option("--to")],
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
) -> None:
    """The cash receipts journal: every receipt of the period, applied and unapplied."""
    _check_format(fmt)
    start, end = parse_date(since, "--from"), parse_date(until, "--to")
    assert start and end
    with open_app().reading() as conn:
        rows = cash_journal.cash_receipts_journal(conn, start, end, entity)
    if fmt != "table":
        sheet = Sheet(
            f"Cash receipts {start} to {end}",
            cash_journal.RECEIPT_COLUMNS,
            [r.values() for r in rows],
        )
        _write(fmt, [sheet], out_path, f"cash-receipts-{start}-{end}")
        return
    table = Table("entity", "receipt", "value date", "bank ref", "payer", "customer", "cur")
    for name in ("amount", "applied", "unapplied"):
        table.add_column(name, justify="right")
    table.add_column("status")
    table.title = f"Cash receipts journal {start} to {end} (applied as of {end})"
    for r in rows:
        table.add_row(
            r.entity,
            str(r.receipt),
            str(r.value_date),
            r.bank_reference,
            r.payer,
            r.customer,
            r.currency,
            f"{r.amount:,}",
            f"{r.applied:,}",
            f"{r.unapplied:,}",
            r.status,
        )
    for cur, (amount, applied, left) in cash_journal.receipt_totals(rows).items():
        table.add_row(
            "Total",
            "",
            "",
            "",
            "",
            "",
            cur,
            f"{amount:,}",
            f"{applied:,}",
            f"{left:,}",
            "",
            style="bold",
        )
    out.print(table)


@ar_reports_app.command("unapplied")
def unapplied_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date, default today.")] = None,
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
) -> None:
    """Unapplied cash as of a date: receipts whose money is not yet matched to open items."""
    _check_format(fmt)
    day = parse_date(as_of, "--as-of") or _today()
    with open_app().reading() as conn:
        rows = cash_journal.unapplied_cash(conn, day, entity)
    if fmt != "table":
        sheet = Sheet(
            f"Unapplied cash {day}", cash_journal.UNAPPLIED_COLUMNS, [r.values() for r in rows]
        )
        _write(fmt, [sheet], out_path, f"unapplied-{day}")
        return
    table = Table("entity", "receipt", "value date", "days", "bank ref", "payer", "customer")
    for name in ("amount", "unapplied"):
        table.add_column(name, justify="right")
    table.title = f"Unapplied cash as of {day}"
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, Decimal(0)) + r.unapplied
        table.add_row(
            r.entity,
            str(r.receipt),
            str(r.value_date),
            str(r.days),
            r.bank_reference,
            r.payer,
            r.customer,
            f"{r.amount:,} {r.currency}",
            f"{r.unapplied:,} {r.currency}",
        )
    for cur, total in sorted(totals.items()):
        table.add_row("Total", "", "", "", "", "", "", "", f"{total:,} {cur}", style="bold")
    out.print(table)


@ar_reports_app.command("pipeline")
def pipeline_cmd(
    weeks: Annotated[int, typer.Option(help="How many ISO weeks, this one first.")] = 8,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date, default today.")] = None,
    entity: EntityOpt = None,
    fmt: FormatOpt = "table",
    out_path: OutOpt = None,
) -> None:
    """Cash expected per week from due dates, promises to pay and payment plans."""
    _check_format(fmt)
    day = parse_date(as_of, "--as-of") or _today()
    with open_app().reading() as conn:
        found = [
            cash_journal.collections_pipeline(conn, e, day, weeks)
            for e in kpis.report_entities(conn, entity)
        ]
    if fmt != "table":
        rows = [w.values(p.entity) for p in found for w in (*p.weeks, p.later)]
        sheet = Sheet(f"Collections pipeline {day}", cash_journal.PIPELINE_COLUMNS, rows)
        _write(fmt, [sheet], out_path, f"pipeline-{day}")
        return
    for p in found:
        table = Table("week", "from", "to", title=f"Expected cash {p.entity} ({p.currency})")
        for name in ("due", "promised", "planned", "total"):
            table.add_column(name, justify="right")
        for w in (*p.weeks, p.later):
            table.add_row(
                w.week,
                str(w.start),
                str(w.end or ""),
                f"{w.due:,}",
                f"{w.promised:,}",
                f"{w.planned:,}",
                f"{w.total:,}",
            )
        table.add_row("Total", "", "", "", "", "", f"{p.total:,}", style="bold")
        out.print(table)


# --- statements ------------------------------------------------------------------------------


def statement_command(
    customer: Annotated[str, typer.Argument(help="Customer number.")],
    since: Annotated[str, typer.Option("--from")],
    until: Annotated[str, typer.Option("--to")],
    fmt: Annotated[str, typer.Option("--format", help="pdf or csv")] = "pdf",
    out_path: Annotated[Path | None, typer.Option("--out", help="File or folder.")] = None,
    entity: EntityOpt = None,
    logo: Annotated[Path | None, typer.Option(help="Logo image for the PDF.")] = None,
) -> None:
    """A customer's statement of account: opening balance, invoices, credits, payments,
    closing balance, aging and where to pay; PDF in the customer's language, or CSV."""
    from billfold.documents.statement import render_statement_pdf, statement_csv
    from billfold.reports.statement import statement_data

    if fmt not in ("pdf", "csv"):
        raise InvalidInput(f"--format {fmt!r}: expected pdf or csv")
    start, end = parse_date(since, "--from"), parse_date(until, "--to")
    assert start and end
    with open_app().reading() as conn:
        data = statement_data(conn, customer, start, end, entity)
    name = f"statement-{data.customer}-{start}-{end}.{fmt}"
    if fmt == "pdf":
        content = render_statement_pdf(data, logo=read_file(logo) if logo else None)
    else:
        content = statement_csv(data)
    target = out_path or Path(name)
    if target.is_dir() or not target.suffix:
        target = target / name
    write_file(target, content)
    closing = ", ".join(f"{s.closing:,} {s.currency}" for s in data.sections)
    out.print(f"Statement of {data.customer} ({start} to {end}, closing {closing}) -> {target}")
