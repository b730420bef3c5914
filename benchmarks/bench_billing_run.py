"""A billing run over N contracts of a realistic mix: contracts/s, draft invoices/s, memory.

What is measured, per engine (SQLite file, PostgreSQL database ``bench_<pid>``), each phase in
a fresh process:

* Seed (timed, not part of the figure; bypasses the services for speed): the schema, one German
  legal entity and a small catalog through the services, then with ``store.bulk.bulk_insert``
  (``executemany`` on SQLite, ``COPY`` on PostgreSQL), in chunks: 0.8 N customers (bill-to
  address, VAT ID for businesses, billing e-mail; DE 60 %, FR/NL/AT/BE), so some payers have two
  contracts and every 25th contract is billed to another payer (consolidation, end-customer
  note), and N contracts whose ``spec`` JSON is what ``formats/contracts_json`` reads:

  - 70 % recurring: a monthly subscription (every 3rd with a support plan, every 7th with an
    annual licence), started on the run date, or (every 5th) mid-October: a prorated piece too;
  - 20 % usage: a monthly platform fee plus a usage charge (per unit, graduated, volume or
    package pricing; some with included units and a minimum) and 10-200 usage records in the
    month before the run;
  - 10 % milestone (3 milestones by percent of the value, 2 completed) or time and materials
    (a rate card of two roles, 5-20 approved timesheet entries in the month before).

* The run (the figure): ``billing_run.run_billing`` on 2026-11-01 with its default batch size,
  the real service end to end (contract models, due lines, usage totals, tax, drafts,
  exactly-once keys, audit rows). Figures: contracts/s, draft invoices/s, rows written per table
  (``invoices``, ``invoice_lines``, ``invoice_line_taxes``, ``billed_charges``, audit rows,
  ``billing_runs``) and rows/s; SQL statements per contract counted with SQLAlchemy's
  ``before_cursor_execute`` (``store.bulk.bulk_insert`` talks to the driver directly, so its
  ``executemany``/``COPY`` calls are *not* in the count: the rows it writes are), with the time in
  ``execute`` by statement kind and the plan of the slowest execution of the three costliest
  kinds (on the database as the run left it); CPU seconds of the run's process (the figure least
  disturbed by other work on the machine; the load average is recorded too); peak RSS of the
  run's process and the RSS after every batch (memory must stay flat as volume grows).
* Baseline: the same rows the run wrote, read back and inserted again into a copy of the
  database taken after the seed (same tables, indexes, triggers, foreign keys) with the driver
  directly -- ``executemany`` on SQLite, ``COPY`` on PostgreSQL -- one commit per
  ``BASELINE_CHUNK`` rows; only inserts and commits are timed. The ratio is the run's rows/s
  over the baseline's (target: at least 1/3).

Targets: 5,000 draft invoices/s on both engines (aim 10,000), peak RSS under 1 GiB at any
volume, ratio >= 1/3. Results go to a Rich table and ``bench-output/billing_run.json`` (or
``billing_run_<n>.json`` for other sizes); the growth table (10k -> 100k -> 1M) is built from
every ``billing_run*.json`` found there. Default: 10,000 contracts on both engines.

Options that change what runs (recorded, and shown as the "variant" in the growth table):
``--planners N`` sets the run's planner processes (default: the run's own choice, one per core
for a long run; ``--breakdown`` and ``--profile`` plan in the run's process, where they look);
``--pg-analyze-every B`` runs ``ANALYZE`` on the
tables the run grows every B batches (this server runs with autovacuum off, so their plans go
stale); ``--batch``; ``--breakdown`` times the run's stages (exclusive wall time);
``--profile`` runs it under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.benchlib import (
    StatementCounter,
    console,
    cpu_reference_seconds,
    explain,
    in_process,
    peak_rss_mib,
    postgres_admin,
    postgres_databases,
    psycopg_connect,
    rate,
    rss_mib,
    sqlite_databases,
    verdict,
)
from benchmarks.billing_variants import STAGES, StageTimer
from benchmarks.billing_world import NOW, RUN_DATE, seed
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from billfold.services import billing_run
from billfold.services.context import Billfold
from billfold.services.planners import planners_for
from billfold.store.tables import (
    audit_head,
    audit_log,
    billed_charges,
    billing_runs,
    invoice_line_taxes,
    invoice_lines,
    invoices,
)

DEFAULT_CONTRACTS = 10_000
BASELINE_CHUNK = 10_000
TARGET_INVOICES_PER_S = 5_000
AIM_INVOICES_PER_S = 10_000
TARGET_RATIO = 1 / 3
TARGET_RSS_MIB = 1024
OUT_DIR = Path("bench-output")


WRITTEN_TABLES = (billing_runs, invoices, invoice_lines, invoice_line_taxes, billed_charges)


def row_counts(conn: Any) -> dict[str, int]:
    counts = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in WRITTEN_TABLES
    }
    counts["audit_log"] = int(
        conn.execute(select(audit_head.c.last_id).where(audit_head.c.id == 1)).scalar_one()
    )
    return counts


# --- the run (own process) -------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    contracts: int
    batch: int
    profile: bool = False
    breakdown: bool = False
    planners: int | None = None  # None: the run's default
    pg_analyze_every: int = 0  # batches; 0: never


def run(url: str, opts: Options, profile: Path | None) -> dict[str, Any]:
    """``run_billing`` on RUN_DATE, measured; returns the figures."""
    n, batch = opts.contracts, opts.batch
    timer = StageTimer()
    if opts.breakdown:
        timer.install()
    app = Billfold.open(url, actor="bench")
    app.clock = lambda: NOW
    with app.reading() as conn:
        before = row_counts(conn)
    counter = StatementCounter()
    counter.attach(app.engine)
    rss_start = rss_mib()
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures
    cpu_before, planners_before = cpu_seconds(), cpu_seconds(resource.RUSAGE_CHILDREN)
    samples: list[tuple[int, float, float]] = []  # (contracts done, seconds, RSS MiB)
    done = 0
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()

    analyzed = 0.0

    def progress(count: int) -> None:
        nonlocal done, analyzed
        done += count
        samples.append((done, time.perf_counter() - started, rss_mib()))
        every = opts.pg_analyze_every
        if every and len(samples) % every == 0 and app.engine.dialect.name == "postgresql":
            began = time.perf_counter()  # what autovacuum would do (it is off on this server)
            with app.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE billed_charges, invoices, invoice_lines, invoice_line_taxes"
                )
            analyzed += time.perf_counter() - began

    if profiler:
        profiler.enable()
    planners = 0 if opts.breakdown or profiler else opts.planners
    result = billing_run.run_billing(
        app, RUN_DATE, batch=batch, progress=progress, planners=planners
    )
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    planner_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - planners_before  # ended with the run
    counter.active = False
    if profiler:
        profiler.disable()
    peak = peak_rss_mib()
    with app.reading() as conn:
        plans = slowest_plans(conn, counter)
        if conn.dialect.name == "postgresql":  # did autovacuum analyze the growing tables?
            plans["analyzed during the run"] = "\n".join(
                f"{name}: {when}"
                for name, when in conn.exec_driver_sql(
                    "SELECT relname, last_autoanalyze FROM pg_stat_user_tables WHERE relname IN "
                    "('billed_charges', 'invoices', 'invoice_lines', 'audit_log')"
                ).all()
            )
        after = row_counts(conn)
        draft_count = int(
            conn.execute(
                select(func.count()).select_from(invoices).where(invoices.c.status == "draft")
            ).scalar_one()
        )
    app.engine.dispose()
    written = {k: after[k] - before[k] for k in before}
    if result.contracts != n:
        raise RuntimeError(f"the run saw {result.contracts} contracts, expected {n}")
    if draft_count != result.drafts or written["invoices"] != result.drafts:
        raise RuntimeError(f"the run reports {result.drafts} drafts, the database {draft_count}")
    total = sum(written.values())
    figures: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "contracts": result.contracts,
        "drafts": result.drafts,
        "lines": result.lines,
        "holds": len(result.holds),
        "errors": result.errors[:5],
        "error_count": len(result.errors),
        "contracts_per_second": rate(result.contracts, seconds),
        "cpu_seconds": round(cpu, 3),  # this process only (not the PostgreSQL server)
        "planner_cpu_seconds": round(planner_cpu, 3),  # its planner processes
        "planners": planners_for(
            app.engine, planners, len(samples), billing_run.PLANNERS_FROM_BATCHES
        ),
        "contracts_per_cpu_second": rate(result.contracts, cpu + planner_cpu),
        "invoices_per_second": rate(result.drafts, seconds),
        "rows_written": written | {"total": total},
        "rows_per_second": rate(total, seconds),
        "sql": counter.summary(n),
        "plans": plans,
        "rss_mib": {
            "before_run": rss_start,
            "peak": peak,
            "after_batches": [s[2] for s in thin(samples, 20)],
        },
        "progress": [(s[0], round(s[1], 2)) for s in thin(samples, 20)],
        "audit_from": before["audit_log"],
        "profiled": profile is not None,
        "pg_analyze_every": opts.pg_analyze_every,
        "analyze_seconds": round(analyzed, 3),
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
    }
    if opts.breakdown:
        figures["breakdown"] = {
            label: {"seconds": round(timer.seconds[label], 3), "calls": timer.calls[label]}
            for _, _, label in STAGES
            if label in timer.seconds
        }
        figures["breakdown"]["other (contract query, batching, commits, loop)"] = {
            "seconds": round(seconds - sum(timer.seconds.values()), 3),
            "calls": 0,
        }
    if profiler and profile:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(30)
        figures["profile_top30"] = buf.getvalue()
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("tottime").print_stats(25)
        figures["profile_tottime25"] = buf.getvalue()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile)
    return figures


def slowest_plans(conn: Any, counter: StatementCounter, kinds: int = 3) -> dict[str, str]:
    """The plans of the slowest execution of the ``kinds`` costliest SELECT kinds, on the
    database as the run left it (not those that take ids from a sequence or lock rows:
    explaining them would do it again). With planners, this process's statements are the
    writes and a few reads."""
    ranked = sorted(
        (
            k
            for k in counter.kinds
            if k.startswith("SELECT")
            and k in counter.slowest
            and not any(w in counter.slowest[k][1] for w in ("nextval(", " FOR UPDATE"))
        ),
        key=lambda k: -counter.kinds[k].seconds,
    )
    plans = {}
    for kind in ranked[:kinds]:
        seconds, statement, parameters = counter.slowest[kind]
        plans[kind] = f"slowest execution {seconds * 1000:.1f} ms\n" + explain(
            conn, statement, parameters
        )
    return plans


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def thin(samples: Sequence[Any], count: int) -> list[Any]:
    """At most ``count`` evenly spaced samples, always with the last."""
    if len(samples) <= count:
        return list(samples)
    step = len(samples) / count
    picked = [samples[int(k * step)] for k in range(count)]
    return [*picked[:-1], samples[-1]]


# --- baseline (own process) ------------------------------------------------------------------


Queries = list[tuple[str, list[str], str]]  # (table, columns, SELECT of the rows to copy)


def _baseline_queries(audit_from: int) -> Queries:
    out = []
    for table in (*WRITTEN_TABLES, audit_log):
        cols = [c.name for c in table.columns]
        where = f" WHERE id > {audit_from}" if table is audit_log else ""
        order = "charge_key" if table is billed_charges else "id"
        out.append(
            (
                table.name,
                cols,
                f"SELECT {', '.join(cols)} FROM {table.name}{where} ORDER BY {order}",
            )
        )
    return out


def baseline(engine: str, url: str, scratch_url: str, audit_from: int) -> dict[str, Any]:
    """Insert the rows the run wrote into the post-seed copy with the driver directly."""
    copy = _baseline_sqlite if engine == "sqlite" else _baseline_postgres
    rows, elapsed = copy(url, scratch_url, _baseline_queries(audit_from))
    return {
        "method": "executemany (sqlite3)" if engine == "sqlite" else "COPY (psycopg)",
        "rows": rows,
        "seconds": round(elapsed, 3),
        "rows_per_second": rate(rows, elapsed),
    }


def _baseline_sqlite(url: str, scratch_url: str, queries: Queries) -> tuple[int, float]:
    rows, elapsed = 0, 0.0
    src = sqlite3.connect(make_url(url).database or "")
    dst = sqlite3.connect(make_url(scratch_url).database or "", isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
        dst.execute(f"PRAGMA {pragma}")
    dst.execute("PRAGMA cache_size = -65536")  # as store/db.py configures it
    for name, cols, query in queries:
        cur = src.execute(query)
        insert = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        while chunk := cur.fetchmany(BASELINE_CHUNK):
            started = time.perf_counter()
            dst.execute("BEGIN IMMEDIATE")
            dst.executemany(insert, chunk)
            dst.execute("COMMIT")
            elapsed += time.perf_counter() - started
            rows += len(chunk)
    src.close()
    dst.close()
    return rows, elapsed


def _baseline_postgres(url: str, scratch_url: str, queries: Queries) -> tuple[int, float]:
    rows, elapsed = 0, 0.0
    with psycopg_connect(url) as src, psycopg_connect(scratch_url) as dst:
        for name, cols, query in queries:
            with src.cursor(name=f"read_{name}") as cur:
                cur.execute(query)
                while chunk := cur.fetchmany(BASELINE_CHUNK):
                    started = time.perf_counter()
                    with (
                        dst.cursor() as out,
                        out.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy,
                    ):
                        for row in chunk:
                            copy.write_row(row)
                    dst.commit()
                    elapsed += time.perf_counter() - started
                    rows += len(chunk)
            src.commit()
    return rows, elapsed


# --- one engine ------------------------------------------------------------------------------


def run_engine(engine: str, opts: Options) -> dict[str, Any]:
    if engine == "sqlite":
        dbs = sqlite_databases("bench_billing_")
    else:
        admin, problem = postgres_admin()
        if admin is None:
            return {"engine": engine, "skipped": f"PostgreSQL not reachable: {problem}"}
        dbs = postgres_databases(admin, os.getpid())
    n = opts.contracts
    try:
        result: dict[str, Any] = {"engine": engine, "contracts": n, "batch": opts.batch}
        console.log(f"[{engine}] seeding {n:,} contracts")
        result["seed"] = in_process(seed, dbs.url, n)
        started = time.perf_counter()
        dbs.snapshot()
        result["snapshot_seconds"] = round(time.perf_counter() - started, 1)
        console.log(f"[{engine}] billing run over {n:,} contracts")
        prof = OUT_DIR / f"billing_run_profile_{engine}.prof" if opts.profile else None
        try:
            result["run"] = in_process(run, dbs.url, opts, prof)
        except Exception as exc:  # report it (e.g. too many bound parameters) and go on
            first = str(exc).strip().splitlines()[0][:300]
            console.print(f"[red]{engine}: the run failed: {type(exc).__name__}: {first}[/red]")
            result["failed"] = f"{type(exc).__name__}: {first}"
            return result
        console.log(f"[{engine}] baseline: plain bulk insert of the same rows")
        base = in_process(baseline, engine, dbs.url, dbs.scratch_url, result["run"]["audit_from"])
        expected = result["run"]["rows_written"]["total"]
        if base["rows"] != expected:
            raise RuntimeError(f"baseline inserted {base['rows']} rows, expected {expected}")
        result["baseline"] = base
        run_rate = result["run"]["rows_per_second"]
        result["ratio_to_baseline"] = (
            round(run_rate / base["rows_per_second"], 3) if base["rows_per_second"] else None
        )
        return result
    finally:
        dbs.cleanup()


# --- reporting -------------------------------------------------------------------------------


def written(table: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: f"{r['run']['rows_written'][table]:,}"


def show(results: list[dict[str, Any]]) -> None:
    done = [r for r in results if "run" in r]
    for r in results:
        if "skipped" in r:
            console.print(f"[yellow]{r['engine']}: skipped ({r['skipped']})[/yellow]")
        if "failed" in r:
            console.print(f"[red]{r['engine']}: the run failed: {r['failed']}[/red]")
    if not done:
        return
    n = done[0]["contracts"]
    table = Table(title=f"Billing run over {n:,} contracts (batches of {done[0]['batch']:,})")
    table.add_column("figure")
    for r in done:
        table.add_column(r["engine"], justify="right")

    def row(label: str, get: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(get(r) for r in done))

    row("seed seconds (not measured)", lambda r: f"{r['seed']['seconds']:.1f}")
    row(
        "usage records / timesheet entries seeded",
        lambda r: (
            f"{r['seed']['rows']['usage_records']:,} / {r['seed']['rows']['timesheet_entries']:,}"
        ),
    )
    row("run seconds", lambda r: f"{r['run']['seconds']:.1f}")
    row("contracts/s", lambda r: f"{r['run']['contracts_per_second']:,.0f}")
    row(
        "CPU s: run + planners (contracts per CPU s)",
        lambda r: (
            f"{r['run']['cpu_seconds']:.1f} + {r['run'].get('planner_cpu_seconds', 0):.1f} "
            f"({r['run']['contracts_per_cpu_second']:,.0f}); "
            f"{r['run'].get('planners', 0)} planners"
        ),
    )
    row(
        f"draft invoices/s (target {TARGET_INVOICES_PER_S:,}, aim {AIM_INVOICES_PER_S:,})",
        lambda r: (
            f"{r['run']['invoices_per_second']:,.0f} "
            + verdict(r["run"]["invoices_per_second"] >= TARGET_INVOICES_PER_S)
        ),
    )
    row("drafts / lines", lambda r: f"{r['run']['drafts']:,} / {r['run']['lines']:,}")
    for name in ("invoices", "invoice_lines", "invoice_line_taxes", "billed_charges", "audit_log"):
        row(f"  rows: {name}", written(name))
    row("rows written (all)", lambda r: f"{r['run']['rows_written']['total']:,}")
    row("rows/s", lambda r: f"{r['run']['rows_per_second']:,.0f}")
    row(
        "SQL statements/contract (bulk_insert and planners not counted)",
        lambda r: f"{r['run']['sql']['per_contract']:.3f}",
    )
    row(
        "time in the driver (counted statements)",
        lambda r: f"{r['run']['sql']['driver_seconds']:.1f}s",
    )
    row("baseline method", lambda r: r["baseline"]["method"])
    row("baseline rows/s", lambda r: f"{r['baseline']['rows_per_second']:,.0f}")
    row(
        "ratio run/baseline (target >= 0.33)",
        lambda r: (
            f"{r['ratio_to_baseline']:.2f} "
            + verdict((r["ratio_to_baseline"] or 0) >= TARGET_RATIO)
        ),
    )
    row(
        f"peak RSS MiB (target < {TARGET_RSS_MIB:,})",
        lambda r: (
            f"{r['run']['rss_mib']['peak']:,.0f} "
            + verdict(r["run"]["rss_mib"]["peak"] < TARGET_RSS_MIB)
        ),
    )
    row(
        "RSS MiB before / first batch / last batch",
        lambda r: (
            f"{r['run']['rss_mib']['before_run']:.0f} / "
            f"{(r['run']['rss_mib']['after_batches'] or [0])[0]:.0f} / "
            f"{(r['run']['rss_mib']['after_batches'] or [0])[-1]:.0f}"
        ),
    )
    row(
        "load average before / after the run",
        lambda r: "{before:.1f} / {after:.1f}".format(**r["run"]["load_average_1min"]),
    )
    row("holds / errors", lambda r: f"{r['run']['holds']} / {r['run']['error_count']}")
    console.print(table)
    for r in done:
        sql = r["run"]["sql"]
        top = ", ".join(
            f"{kind} x{k['statements']} ({k['seconds']:.2f}s)"
            for kind, k in list(sql["by_kind"].items())[:8]
        )
        console.print(f"{r['engine']}: slowest statements: {top}", highlight=False)
        for kind, plan in r["run"].get("plans", {}).items():
            console.print(f"{r['engine']}: plan of {kind}", highlight=False)
            console.print(plan, markup=False, highlight=False)
        if r["run"]["errors"]:
            console.print(f"{r['engine']}: first errors: {r['run']['errors']}", highlight=False)
        if r["run"]["profiled"]:
            console.print(f"[yellow]{r['engine']}: the run ran under cProfile[/yellow]")
            console.print(r["run"]["profile_top30"], markup=False, highlight=False)
            console.print(r["run"]["profile_tottime25"], markup=False, highlight=False)


def variant(result: dict[str, Any]) -> str:
    """What was swapped in, added to or changed in the real run (``-``: nothing)."""
    run_figures = result["run"]
    parts = (
        []
        if result.get("batch", billing_run.BATCH) == billing_run.BATCH
        else [f"batch {result['batch']:,}"]
    )
    if run_figures.get("planners"):
        parts.append(f"{run_figures['planners']} planners")
    if run_figures.get("pg_analyze_every"):
        parts.append(f"ANALYZE every {run_figures['pg_analyze_every']} batches")
    return ", ".join(parts) or "-"


def show_growth(out_dir: Path) -> None:
    """Time and memory against volume, from every billing_run*.json in ``out_dir``."""
    found: dict[tuple[str, int, str], dict[str, Any]] = {}
    for path in sorted(out_dir.glob("billing_run*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        for r in doc.get("results", []):
            if "run" in r and not r["run"].get("profiled") and not r["run"].get("breakdown"):
                found[(r["engine"], r["contracts"], variant(r))] = r
    if len({n for _, n, _ in found}) < 2:
        return
    table = Table(title="Growth: billing run time and memory by volume")
    columns = ("engine", "contracts", "variant", "run s", "contracts/s", "invoices/s")
    for col in (*columns, "peak RSS MiB", "load avg"):
        table.add_column(col, justify="right")
    for (engine, n, what), r in sorted(found.items()):
        table.add_row(
            engine,
            f"{n:,}",
            what,
            f"{r['run']['seconds']:,.1f}",
            f"{r['run']['contracts_per_second']:,.0f}",
            f"{r['run']['invoices_per_second']:,.0f}",
            f"{r['run']['rss_mib']['peak']:,.0f}",
            f"{r['run'].get('load_average_1min', {}).get('before', 0):.1f}",
        )
    console.print(table)


def meets_targets(results: list[dict[str, Any]]) -> bool:
    return all(
        r["run"]["invoices_per_second"] >= TARGET_INVOICES_PER_S
        and (r["ratio_to_baseline"] or 0) >= TARGET_RATIO
        and r["run"]["rss_mib"]["peak"] < TARGET_RSS_MIB
        for r in results
        if "skipped" not in r
    ) and not any("failed" in r for r in results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contracts", type=int, default=DEFAULT_CONTRACTS)
    parser.add_argument(
        "--batch", type=int, default=billing_run.BATCH, help="contracts per transaction"
    )
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--profile", action="store_true", help="cProfile the run")
    parser.add_argument(
        "--breakdown", action="store_true", help="time the run's stages (exclusive times)"
    )
    parser.add_argument(
        "--planners", type=int, help="planner processes (default: the run's own choice)"
    )
    parser.add_argument(
        "--pg-analyze-every",
        type=int,
        default=0,
        metavar="BATCHES",
        help="PostgreSQL: ANALYZE the growing tables every BATCHES batches (autovacuum is off)",
    )
    parser.add_argument("--out", type=Path, help="JSON results file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - {"sqlite", "postgresql"})
    if unknown or args.contracts < 1 or args.batch < 1:
        parser.error(f"engines are sqlite and postgresql (got {unknown}); contracts, batch >= 1")
    out: Path = args.out or OUT_DIR / (
        "billing_run.json"
        if args.contracts == DEFAULT_CONTRACTS
        else f"billing_run_{args.contracts}.json"
    )
    opts = Options(
        args.contracts,
        args.batch,
        args.profile,
        args.breakdown,
        args.planners,
        args.pg_analyze_every,
    )
    results = [run_engine(e, opts) for e in engines]
    show(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": "billing_run",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "cpu_reference_seconds": cpu_reference_seconds(),
        "targets": {
            "invoices_per_second": TARGET_INVOICES_PER_S,
            "ratio": round(TARGET_RATIO, 3),
            "peak_rss_mib": TARGET_RSS_MIB,
        },
    }
    out.write_text(json.dumps({**meta, "results": results}, indent=2, default=str) + "\n")
    console.print(f"results written to {out}")
    show_growth(out.parent)
    return 1 if args.check and not meets_targets(results) else 0


if __name__ == "__main__":
    sys.exit(main())
