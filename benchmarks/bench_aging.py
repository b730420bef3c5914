"""Aging as of a date over a large AR history: ``aging_as_of`` against a plain grouped scan.

What is measured, per engine (SQLite file, PostgreSQL database ``bench_<pid>``), each in a fresh
process and a fresh database:

* History (timed, not part of the figure): ``--items`` invoices and ``--postings`` AR postings
  (the invoice debits plus receipts), written with the driver directly -- see
  ``aging_history``. ~50 items per customer, ~90 % of the items open on the as-of date, three
  currencies. PostgreSQL gets ``VACUUM ANALYZE`` afterwards (what autovacuum would have done);
  SQLite is left as the application leaves it (no ``ANALYZE``).
* The figure: ``reports.aging.aging_as_of(conn, as_of)`` by customer (the GL check included),
  warm, median of 3, against the plain scan ``SELECT customer_id, SUM(amount_minor) FROM postings
  WHERE account_id = :ar AND entry_date <= :d GROUP BY customer_id`` over the same rows, warm,
  median of 3. Targets: at most 1 s, and at most 1.5x the scan.
* Where the time goes: every statement ``aging_as_of`` sends (captured with SQLAlchemy's
  ``before_cursor_execute``) re-run on its own (median of 3), and its plan: ``EXPLAIN (ANALYZE,
  BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite.
* Suggestions, each measured in the same database and then dropped (``--no-suggestions`` skips
  them): (1) the covering index ``postings(account_id, entry_date, entity_id, customer_id,
  item_ref, currency, amount_minor, functional_minor)``; (2) the same columns in group-by order
  ``(account_id, entity_id, customer_id, item_ref, currency, entry_date, ...)`` so the per-item
  sums stream off the index without a sort or hash -- an index the schema already has (migration
  0006, ``ix_postings_ar_items``) is measured the other way round: dropped, measured, rebuilt;
  (3) materialised balances -- an
  ``open_items`` table (one row per open item with its due date) and daily AR control balances,
  both maintained on posting -- answering "as of today" from the open items alone and "as of a
  past date" as today's balances minus the postings after it. Migration 0007 adopted this
  (``ar_items``, ``ar_daily``, kept by triggers), so ``aging_as_of`` itself now works this way;
  the suggestion stays as the measure of the bare shape. Migration 0010 added the balances per
  customer and currency (``ar_customer_balances``), from which the due-date aging takes its
  totals and counts, reading only the items younger than its last bucket edge. The generator
  loads the history with the triggers off (PostgreSQL) or on (SQLite) and fills the balances as
  the migrations do.
* The same pair as of past dates, ``--past-days`` before the as-of date (default 30; the path
  that subtracts the later postings), with its GL check and count of open items.
* ``--database URL`` (repeatable) measures a history generated before into that database
  instead of generating one (a million items take about a quarter of an hour per engine):
  ``python -c "from benchmarks.aging_history import generate; generate(URL, N, P)"``.

Results go to a Rich table and ``bench-output/aging.json`` (``aging_<items>.json`` for other
sizes). Default: 100,000 items / 500,000 postings; the headline is ``--items 1000000
--postings 5000000``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.aging_history import AS_OF, generate
from benchmarks.aging_sql import (
    AR_DAILY_DDL,
    COVER_BY_DATE,
    COVER_BY_ITEM,
    FILL_AR_DAILY,
    FILL_OPEN_ITEMS,
    GL_FROM_DAILY,
    OPEN_ITEMS_DDL,
    OPEN_PAST,
    OPEN_TODAY,
    PLAIN_SCAN,
    REWRITTEN,
    WORK_MEM_JIT,
    bucket_params,
    typed,
)
from benchmarks.benchlib import (
    console,
    cpu_reference_seconds,
    explain,
    in_process,
    peak_rss_mib,
    postgres_admin,
    postgres_databases,
    sqlite_databases,
    statement_kind,
    verdict,
)
from rich.table import Table
from sqlalchemy import Connection, event, text

from billfold.reports.aging import aging_as_of
from billfold.services.ledger import gl_control_balance
from billfold.store.db import make_engine

DEFAULT_ITEMS = 100_000
DEFAULT_POSTINGS = 500_000
TARGET_SECONDS = 1.0
TARGET_RATIO = 1.5
PAST_DAYS = (30,)  # --past-days
RUNS = 3
PAST = AS_OF - timedelta(days=30)  # "as of a past date" for the materialised variant
OUT_DIR = Path("bench-output")
AR_ID_SQL = "SELECT id FROM accounts WHERE role = 'ar_control'"

# --- measuring (own process) -----------------------------------------------------------------


def median_seconds(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, list[float]]:
    fn()  # warm: pages in the cache, statements compiled
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), [round(t, 3) for t in times]


def capture(conn: Connection, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements (with parameters) ``fn`` sends through ``conn``."""
    seen: list[tuple[str, Any]] = []

    def listener(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = conn.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


def report_summary(conn: Connection, as_of: date) -> dict[str, Any]:
    report = aging_as_of(conn, as_of)
    return {
        "rows": len(report.rows),
        "open_items": sum(r.items for r in report.rows),
        "totals": {cur: int(t[-1] * 100) for cur, t in report.totals().items()},  # 2 decimals
        "reconciled": report.reconciled,
    }


def same_as(rows: Sequence[Any], expected: dict[str, Any]) -> bool:
    """Rows of a bucket query against aging_as_of's summary: rows, items, totals."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.currency] = totals.get(r.currency, 0) + int(r.total)
    return bool(
        len(rows) == expected["rows"]
        and sum(int(r.n) for r in rows) == expected["open_items"]
        and totals == expected["totals"]
    )


def rewritten(conn: Connection, ar_id: int, as_of: date) -> list[Any]:
    """Suggestion 0 and the GL check (``gl_control_balance``, as aging_as_of runs it)."""
    params = bucket_params(as_of, ar_id)
    rows = list(conn.execute(typed(REWRITTEN, params), params).all())
    gl_control_balance(conn, as_of)
    return rows


def measure(
    url: str, ar_id: int, suggestions: bool, past_days: Sequence[int] = PAST_DAYS
) -> dict[str, Any]:
    engine = make_engine(url)
    out: dict[str, Any] = {"load_average_1min_before": os.getloadavg()[0]}
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            out["settings"] = dict(  # a Result has keys(): dict() would treat it as a mapping
                conn.exec_driver_sql(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', "
                    "'work_mem', 'max_parallel_workers_per_gather', 'jit')"
                ).all()
            )
        out["report"] = report_summary(conn, AS_OF)
        out["aging"] = timed_pair(conn, ar_id)
        out["aging_past"] = {}
        for days in past_days:
            past = AS_OF - timedelta(days=days)
            pair = timed_pair(conn, ar_id, past)
            summary = report_summary(conn, past)
            pair["reconciled"] = summary["reconciled"]
            pair["open_items"] = summary["open_items"]
            out["aging_past"][str(days)] = pair
        statements = capture(conn, lambda: aging_as_of(conn, AS_OF))
        out["statements"] = []
        for statement, parameters in statements:
            seconds, _ = median_seconds(driver_call(conn, statement, parameters))
            entry: dict[str, Any] = {
                "sql": " ".join(statement.split()),
                "seconds": round(seconds, 3),
            }
            if "postings" in statement:
                entry["plan"] = explain(conn, statement, parameters)
            out["statements"].append(entry)
        out["scan_plan"] = explain_text(conn, ar_id)
        if suggestions:
            out["suggestions"] = measure_suggestions(conn, ar_id, out["report"])
        conn.commit()
    engine.dispose()
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def driver_call(conn: Connection, statement: str, parameters: Any) -> Callable[[], Any]:
    def call() -> Any:
        result = conn.exec_driver_sql(statement, parameters)
        return result.all() if result.returns_rows else None  # e.g. SET LOCAL work_mem

    return call


def explain_text(conn: Connection, ar_id: int) -> str:
    """The plan of the plain scan (through the same path as the statements above)."""
    statements = capture(conn, lambda: conn.execute(PLAIN_SCAN, {"ar": ar_id, "d": AS_OF}).all())
    statement, parameters = statements[0]
    return explain(conn, statement, parameters)


def timed_pair(conn: Connection, ar_id: int, as_of: date = AS_OF) -> dict[str, Any]:
    """aging_as_of and the plain scan, warm, median of RUNS each, and their ratio."""
    aging, aging_runs = median_seconds(lambda: aging_as_of(conn, as_of))
    scan, scan_runs = median_seconds(
        lambda: conn.execute(PLAIN_SCAN, {"ar": ar_id, "d": as_of}).all()
    )
    return {
        "aging_seconds": round(aging, 3),
        "aging_runs": aging_runs,
        "scan_seconds": round(scan, 3),
        "scan_runs": scan_runs,
        "ratio": round(aging / scan, 2) if scan else None,
    }


def index_size_mib(conn: Connection, name: str) -> float | None:
    if conn.dialect.name == "postgresql":
        size = conn.exec_driver_sql(f"SELECT pg_relation_size('{name}')").scalar()
        return round(int(size or 0) / 2**20, 1)
    try:
        size = conn.exec_driver_sql(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (name,)
        ).scalar()
    except Exception:  # dbstat is a compile-time option of SQLite
        return None
    return round(int(size or 0) / 2**20, 1)


def measure_rewritten(conn: Connection, ar_id: int, expected: dict[str, Any]) -> dict[str, Any]:
    seconds, runs = median_seconds(lambda: rewritten(conn, ar_id, AS_OF))
    params = bucket_params(AS_OF, ar_id)
    captured = capture(conn, lambda: conn.execute(typed(REWRITTEN, params), params).all())
    return {
        "rewritten_seconds": round(seconds, 3),
        "rewritten_runs": runs,
        "rewritten_matches": same_as(rewritten(conn, ar_id, AS_OF), expected),
        "rewritten_plan": explain(conn, *captured[0]),
    }


def measure_settings(conn: Connection, ar_id: int, settings: str) -> dict[str, Any]:
    """PostgreSQL: the same queries under session settings (e.g. a larger work_mem)."""
    for setting in settings.split(";"):
        conn.exec_driver_sql(f"SET {setting}")
    result = timed_pair(conn, ar_id)
    conn.exec_driver_sql("RESET ALL")
    return result


def postings_indexes(conn: Connection) -> dict[tuple[str, ...], str]:
    """The indexes on postings by their column list."""
    if conn.dialect.name == "sqlite":
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'postings'"
        ).scalars()
        return {
            tuple(r[2] for r in conn.exec_driver_sql(f"PRAGMA index_info('{name}')").all()): name
            for name in list(names)
        }
    rows = conn.exec_driver_sql(
        "SELECT i.relname, array_agg(a.attname ORDER BY k.ord) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "WHERE t.relname = 'postings' GROUP BY i.relname"
    ).all()
    return {tuple(cols): name for name, cols in rows}


def measure_index(
    conn: Connection, ar_id: int, name: str, columns: str, expected: dict[str, Any]
) -> dict[str, Any]:
    """With the index, or -- when the schema has it already -- without it (then rebuilt)."""
    existing = postings_indexes(conn).get(tuple(c.strip() for c in columns.split(",")))

    def build(index: str) -> float:
        started = time.perf_counter()
        conn.exec_driver_sql(f"CREATE INDEX {index} ON postings ({columns})")
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE postings")
        conn.commit()
        return time.perf_counter() - started

    if existing:
        size = index_size_mib(conn, existing)
        conn.exec_driver_sql(f"DROP INDEX {existing}")
        conn.commit()
    else:
        built = build(name)
        size = index_size_mib(conn, name)
    result = timed_pair(conn, ar_id)
    statements = capture(conn, lambda: aging_as_of(conn, AS_OF))
    main = max(statements, key=lambda s: len(s[0]))
    result["plan"] = explain(conn, *main)
    result["scan_plan"] = explain_text(conn, ar_id)
    result |= measure_rewritten(conn, ar_id, expected)
    if existing:
        built = build(existing)
        result["existing"] = existing  # the figures above are WITHOUT it
    else:
        conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.commit()
    result["build_seconds"] = round(built, 1)
    result["index_mib"] = size
    return result


def measure_materialised(conn: Connection, ar_id: int, expected: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    clustered = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""
    for ddl, fill in ((OPEN_ITEMS_DDL, FILL_OPEN_ITEMS), (AR_DAILY_DDL, FILL_AR_DAILY)):
        conn.exec_driver_sql(ddl + clustered)
        conn.execute(text(fill), {"ar": ar_id})
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE bench_open_items")
        conn.exec_driver_sql("ANALYZE bench_ar_daily")
    conn.commit()
    built = time.perf_counter() - started
    result: dict[str, Any] = {"build_seconds": round(built, 1)}
    rows = int(conn.exec_driver_sql("SELECT COUNT(*) FROM bench_open_items").scalar() or 0)
    result["open_item_rows"] = rows
    for label, sql, as_of in (("today", OPEN_TODAY, AS_OF), ("past", OPEN_PAST, PAST)):
        params = bucket_params(as_of, ar_id)

        query, gl = typed(sql, params), typed(GL_FROM_DAILY, params)

        def both(q: Any = query, g: Any = gl, p: dict[str, Any] = params) -> list[Any]:
            aged = list(conn.execute(q, p).all())
            conn.execute(g, p).all()  # the GL check, from the daily balances
            return aged

        seconds, runs = median_seconds(both)
        aged = both()
        check = report_summary(conn, as_of) if label == "past" else expected
        result[label] = {
            "as_of": as_of.isoformat(),
            "seconds": round(seconds, 3),
            "runs": runs,
            "open_items": sum(int(r.n) for r in aged),
            "matches_aging_as_of": same_as(aged, check),
        }
        captured = capture(conn, both)
        result[label]["plan"] = explain(conn, *captured[0])
    for table in ("bench_open_items", "bench_ar_daily"):
        conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.commit()
    return result


def measure_suggestions(conn: Connection, ar_id: int, expected: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    console.log("suggestion 0: the query regrouped by customer id")
    result["rewritten"] = measure_rewritten(conn, ar_id, expected)
    if conn.dialect.name == "postgresql":
        console.log("suggestion 4: work_mem 256MB, jit off")
        result["settings"] = measure_settings(conn, ar_id, WORK_MEM_JIT)
    console.log("suggestion 1: covering index in date order")
    result["cover_by_date"] = measure_index(
        conn, ar_id, "bench_ix_ar_cover_date", COVER_BY_DATE, expected
    )
    console.log("suggestion 2: covering index in group-by order")
    result["cover_by_item"] = measure_index(
        conn, ar_id, "bench_ix_ar_cover_item", COVER_BY_ITEM, expected
    )
    console.log("suggestion 3: materialised open items and daily AR balances")
    result["materialised"] = measure_materialised(conn, ar_id, expected)
    return result


# --- one engine ------------------------------------------------------------------------------


def run_engine(
    engine: str, items: int, n_postings: int, suggestions: bool, past_days: Sequence[int]
) -> dict[str, Any]:
    if engine == "sqlite":
        dbs = sqlite_databases("bench_aging_")
    else:
        admin, problem = postgres_admin()
        if admin is None:
            return {"engine": engine, "skipped": f"PostgreSQL not reachable: {problem}"}
        dbs = postgres_databases(admin, os.getpid())
    try:
        console.log(f"[{engine}] generating {items:,} items / {n_postings:,} postings")
        history = in_process(generate, dbs.url, items, n_postings)
        console.log(f"[{engine}] measuring (history took {history['seconds']:.0f}s)")
        figures = in_process(measure, dbs.url, history["ar_id"], suggestions, past_days)
        result = {"engine": engine, "items": items, "postings": n_postings, "history": history}
        return result | figures
    finally:
        dbs.cleanup()


def run_existing(url: str, suggestions: bool, past_days: Sequence[int]) -> dict[str, Any]:
    """The figures on a history generated before (``aging_history.generate`` into ``url``, e.g.
    by an earlier run): generating a million items takes a quarter of an hour per engine."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ar_id = int(conn.execute(text(AR_ID_SQL)).scalar_one())
        # the counts under the names generate() reports them by
        rows = {
            key: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for key, table in (
                ("customers", "customers"),
                ("invoices", "invoices"),
                ("entries", "journal_entries"),
                ("postings", "postings"),
            )
        }
    name = engine.dialect.name
    engine.dispose()
    history = {"seconds": 0.0, "rows": rows, "ar_id": ar_id, "existing": True}
    figures = in_process(measure, url, ar_id, suggestions, past_days)
    result = {"engine": name, "items": rows["invoices"], "postings": rows["postings"]}
    return result | {"history": history} | figures


# --- reporting -------------------------------------------------------------------------------


def show(results: list[dict[str, Any]]) -> None:
    done = [r for r in results if "skipped" not in r]
    for r in results:
        if "skipped" in r:
            console.print(f"[yellow]{r['engine']}: skipped ({r['skipped']})[/yellow]")
    if not done:
        return
    first = done[0]
    table = Table(
        title=f"Aging as of {AS_OF} over {first['items']:,} items / "
        f"{first['history']['rows']['postings']:,} AR postings"
    )
    table.add_column("figure")
    for r in done:
        table.add_column(r["engine"], justify="right")

    def row(label: str, get: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(get(r) for r in done))

    row("history load seconds (not measured)", lambda r: f"{r['history']['seconds']:.0f}")
    row("customers", lambda r: f"{r['history']['rows']['customers']:,}")
    row("open items on the date", lambda r: f"{r['report']['open_items']:,}")
    row(
        "report rows / reconciled with GL",
        lambda r: f"{r['report']['rows']:,} / {r['report']['reconciled']}",
    )
    row(
        f"aging_as_of s, median of {RUNS} (target <= {TARGET_SECONDS:g})",
        lambda r: (
            f"{r['aging']['aging_seconds']:.2f} "
            + verdict(r["aging"]["aging_seconds"] <= TARGET_SECONDS)
        ),
    )
    row("plain SUM ... GROUP BY customer s", lambda r: f"{r['aging']['scan_seconds']:.2f}")
    row(
        f"ratio aging/scan (target <= {TARGET_RATIO:g})",
        lambda r: (
            f"{r['aging']['ratio']:.2f} " + verdict((r["aging"]["ratio"] or 99) <= TARGET_RATIO)
        ),
    )
    for days in first["aging_past"]:
        row(
            f"as of {days} days earlier: aging s / scan s / GL ok",
            lambda r, d=days: (
                f"{r['aging_past'][d]['aging_seconds']:.2f} / "
                f"{r['aging_past'][d]['scan_seconds']:.2f} / {r['aging_past'][d]['reconciled']}"
            ),
        )
    for k in range(max(len(r["statements"]) for r in done)):
        row(f"  statement {k + 1}", statement_cell(k))
    if all("suggestions" in r for r in done):
        row("0 regrouped query: s (aging:plain scan) same result", rewritten_cell(None))
        row("4 work_mem 256MB, jit off: aging s (aging:plain scan)", settings_cell)
        for key, label in (
            ("cover_by_date", "1 covering index, date order"),
            ("cover_by_item", "2 covering index, group-by order"),
        ):
            existing = {r["suggestions"][key].get("existing") for r in done} - {None}
            if existing:  # the schema has it: the figures are without it
                label = f"2 WITHOUT the schema's {', '.join(sorted(existing))}"
            row(f"{label}: aging_as_of s / scan s", index_cell(key))
            row(f"{label} + 0: s (aging:plain scan)", rewritten_cell(key))
            row(f"{label}: build s / size MiB", index_build_cell(key))
        row("3 materialised: as of today s (aging:plain scan)", materialised_cell("today"))
        row(f"3 materialised: as of {PAST} s (aging:plain scan)", materialised_cell("past"))
        row("3 materialised: same open items as aging_as_of", materialised_check)
        row(
            "3 materialised: build s",
            lambda r: f"{r['suggestions']['materialised']['build_seconds']:.0f}",
        )
    row("peak RSS MiB (measuring process)", lambda r: f"{r['peak_rss_mib']:.0f}")
    row("load average before measuring", lambda r: f"{r['load_average_1min_before']:.1f}")
    console.print(table)
    for r in done:
        console.print(f"[bold]{r['engine']}: plan of the aging query[/bold]")
        main = max(r["statements"], key=lambda s: len(s["sql"]))
        console.print(main.get("plan", ""), markup=False, highlight=False)
        console.print(f"[bold]{r['engine']}: plan of the plain scan[/bold]")
        console.print(r["scan_plan"], markup=False, highlight=False)


Cell = Callable[[dict[str, Any]], str]


def statement_cell(k: int) -> Cell:
    def cell(r: dict[str, Any]) -> str:
        if k >= len(r["statements"]):
            return ""
        st = r["statements"][k]
        return f"{st['seconds']:.3f}s {statement_kind(st['sql'])}"

    return cell


def index_cell(key: str) -> Cell:
    def cell(r: dict[str, Any]) -> str:
        s = r["suggestions"][key]
        return f"{s['aging_seconds']:.2f} / {s['scan_seconds']:.2f}"

    return cell


def rewritten_cell(key: str | None) -> Cell:
    """Suggestion 0 alone (``key`` None) or with an index; ratio to the original plain scan."""

    def cell(r: dict[str, Any]) -> str:
        s = r["suggestions"][key or "rewritten"]
        seconds = s["rewritten_seconds"]
        ratio = seconds / r["aging"]["scan_seconds"]
        return f"{seconds:.2f} ({ratio:.2f}) {'same' if s['rewritten_matches'] else 'DIFFERENT'}"

    return cell


def settings_cell(r: dict[str, Any]) -> str:
    s = r["suggestions"].get("settings")
    if s is None:
        return "-"
    return f"{s['aging_seconds']:.2f} ({s['aging_seconds'] / r['aging']['scan_seconds']:.2f})"


def index_build_cell(key: str) -> Cell:
    def cell(r: dict[str, Any]) -> str:
        s = r["suggestions"][key]
        return f"{s['build_seconds']:.0f} / {s['index_mib']}"

    return cell


def materialised_cell(which: str) -> Cell:
    def cell(r: dict[str, Any]) -> str:
        seconds = r["suggestions"]["materialised"][which]["seconds"]
        return f"{seconds:.3f} ({seconds / r['aging']['scan_seconds']:.2f})"

    return cell


def materialised_check(r: dict[str, Any]) -> str:
    m = r["suggestions"]["materialised"]
    return f"{m['today']['matches_aging_as_of']} / {m['past']['matches_aging_as_of']}"


def meets_targets(results: list[dict[str, Any]]) -> bool:
    return all(
        r["aging"]["aging_seconds"] <= TARGET_SECONDS
        and (r["aging"]["ratio"] or 99) <= TARGET_RATIO
        for r in results
        if "skipped" not in r
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS)
    parser.add_argument("--postings", type=int, default=DEFAULT_POSTINGS)
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--no-suggestions", action="store_true", help="skip suggestions 1-3")
    parser.add_argument("--out", type=Path, help="JSON results file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--past-days", default="30", help="past as-of dates, in days before the last (e.g. 30,90)"
    )
    parser.add_argument(
        "--database",
        action="append",
        default=[],
        help="measure this existing history instead of generating one (URL; repeatable)",
    )
    args = parser.parse_args(argv)
    past_days = [int(d) for d in args.past_days.split(",") if d.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - {"sqlite", "postgresql"})
    if unknown or args.items < 1 or args.postings < args.items:
        parser.error(f"engines are sqlite and postgresql (got {unknown}); postings >= items >= 1")
    out: Path = args.out or OUT_DIR / (
        "aging.json" if args.items == DEFAULT_ITEMS else f"aging_{args.items}.json"
    )
    suggest = not args.no_suggestions
    if args.database:
        results = [run_existing(url, suggest, past_days) for url in args.database]
    else:
        results = [run_engine(e, args.items, args.postings, suggest, past_days) for e in engines]
    show(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": "aging",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "cpu_reference_seconds": cpu_reference_seconds(),
        "as_of": AS_OF.isoformat(),
        "targets": {"seconds": TARGET_SECONDS, "ratio_to_scan": TARGET_RATIO},
    }
    out.write_text(json.dumps({**meta, "results": results}, indent=2, default=str) + "\n")
    console.print(f"results written to {out}")
    return 1 if args.check and not meets_targets(results) else 0


if __name__ == "__main__":
    sys.exit(main())
