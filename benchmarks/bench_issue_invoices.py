"""Issuing invoices at volume: drafts/s, invoices/s, and the ratio to a plain bulk insert.

What is measured, per engine (SQLite file, PostgreSQL database), each in a fresh process and a
fresh database seeded with one German legal entity, ~1,000 customers (DE domestic, FR/NL/AT/BE
with and without VAT IDs), a five-product catalog with list and customer prices:

* Phase A -- ``invoicing.create_drafts`` of N drafts with 3 lines each (two priced from the
  catalog, one with an explicit price), ``--batch`` drafts per transaction: drafts/second.
* Phase B (the headline) -- ``invoicing.issue`` of all drafts in one transaction, as
  ``billfold invoices issue --all-drafts`` and ``billfold bill issue --run`` do (``--per-call``
  issues that many per transaction instead), with the planner processes issuing chooses
  (``--planners N`` sets them; ``--profile`` plans in this process):
  gapless number, journal entry and postings, invoice frozen, hash-chained audit row. Reported as
  invoices/second and rows written/second (invoices updated + journal entries + postings + audit
  rows + tax accounts created). Also its CPU seconds: this process's and, when the PostgreSQL
  server runs on this machine, its backend's (from ``/proc``), and invoices per CPU second,
  which compare between runs on a shared machine where wall time does not.
* Baseline -- the same journal-entry, posting and audit rows that phase B wrote, read back and
  inserted again into a scratch copy of the database taken between phase A and phase B (same
  tables, indexes, triggers and foreign keys), with the driver directly: ``executemany`` on
  SQLite, ``COPY ... FROM STDIN`` on PostgreSQL, one commit per chunk of ``BASELINE_CHUNK`` rows.
  Only the inserts and commits are timed. The figure is its rows/second, and the ratio is
  phase B's rows/second over it (target: at least 1/3).
* SQL statements sent during phases A and B, counted with SQLAlchemy's ``before_cursor_execute``
  (one ``executemany`` counts as one round trip; psycopg pipelines it), reported per invoice and
  by statement kind with the statements the database actually runs (an executemany of k rows
  runs k; a multi-row VALUES runs once) and the time spent in the driver, so per-row SQL shows.
* Peak RSS of the process after each phase (``resource.getrusage``).

Results go to a Rich table and to ``bench-output/issue_invoices.json``. The issue's figure is
n=100,000 (``--n 100000``); the default n=20,000 keeps ``make bench`` to a few minutes.
``--profile`` wraps phase B in cProfile (its throughput is then not representative) and writes
the top 25 by cumulative time and the raw ``.prof`` next to the JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.benchlib import (
    SELLER,
    Databases,
    cpu_reference_seconds,
    in_process,
    initialise_seller,
    peak_rss_mib,
    postgres_admin,
    postgres_databases,
    psycopg_connect,
    rate,
    sqlite_databases,
    statement_kind,
)

from billfold.formats.invoice_json import InvoiceRequest, LineRequest
from billfold.services import catalog, entities, invoicing
from billfold.services.context import Billfold
from billfold.services.customers import import_customers
from billfold.store.tables import accounts, audit_head, audit_log, invoices, journal_entries
from billfold.store.tables import postings as postings_table

DEFAULT_N = 20_000
DEFAULT_BATCH = 2_000
CUSTOMERS = 1_000
BASELINE_CHUNK = 10_000
TARGET_INVOICES_PER_S = 5_000
TARGET_RATIO = 1 / 3
ENTITY = SELLER
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
FIRST_DAY = date(2026, 11, 2)
OUT = Path("bench-output") / "issue_invoices.json"

console = Console()


# --- seed data -------------------------------------------------------------------------------

# Valid VAT numbers (python-stdnum checks them on import); several customers share one.
VAT_IDS: dict[str, tuple[str, ...]] = {
    "DE": ("DE136695976", "DE282741168"),
    "FR": ("FR40303265045", "FR03512803495"),
    "NL": ("NL004495445B01", "NL853746333B01"),
    "AT": ("ATU13585627",),
    "BE": ("BE0411905847",),
}
PLACES: dict[str, tuple[str, str, str]] = {
    "DE": ("Berlin", "10115", "de"),
    "FR": ("Paris", "75002", "fr"),
    "NL": ("Amsterdam", "1012 AB", "en"),
    "AT": ("Wien", "1010", "de"),
    "BE": ("Bruxelles", "1000", "fr"),
}
# 60 % domestic DE, the rest other EU; every tenth foreign customer is a consumer (no VAT ID).
COUNTRY_CYCLE = ("DE",) * 12 + ("FR",) * 3 + ("NL",) * 3 + ("AT", "BE")
TERMS = ("NET30", "NET14", "2/10 NET30", "EOM+30")
PRODUCTS_CSV = """sku,description,unit_code,kind,tax_class,exemption_reason,revenue_account,family
SUB-PRO,Pro subscription,MON,services,standard,,4000,subscriptions
SUPPORT,Support plan,MON,services,standard,,4000,subscriptions
BOOK,Printed handbook,C62,goods,reduced,,4300,goods
WIDGET,Widget,C62,goods,standard,,4300,goods
TRAIN,Accredited training,HUR,services,exempt,Exempt under Article 132(1)(i) of Directive \
2006/112/EC,4100,services
"""
LIST_PRICES = {"SUB-PRO": "49.00", "SUPPORT": "19.00", "BOOK": "19.90", "WIDGET": "12.3456"}
SKUS = (*LIST_PRICES, "TRAIN")


def customer_numbers() -> list[str]:
    return [f"C{i:05d}" for i in range(CUSTOMERS)]


def customers_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "number",
            "name",
            "currency",
            "payment_terms",
            "bill_to_line1",
            "bill_to_city",
            "bill_to_postal_code",
            "bill_to_country",
            "tax_id",
            "billing_email",
            "language",
        ]
    )
    for i, number in enumerate(customer_numbers()):
        country = COUNTRY_CYCLE[i % len(COUNTRY_CYCLE)]
        city, postal, language = PLACES[country]
        ids = VAT_IDS[country]
        consumer = country != "DE" and (i // len(COUNTRY_CYCLE)) % 10 == 0
        w.writerow(
            [
                number,
                f"Customer {i} {country}",
                "EUR",
                TERMS[i % len(TERMS)],
                f"Street {i}",
                city,
                postal,
                country,
                "" if consumer else ids[i % len(ids)],
                f"ap{i}@customer.example",
                language,
            ]
        )
    return out.getvalue().encode()


def prices_csv() -> bytes:
    rows = ["sku,currency,unit_price,customer_number,valid_from,valid_to"]
    rows += [f"{sku},EUR,{price},,2026-01-01," for sku, price in LIST_PRICES.items()]
    rows.append("TRAIN,EUR,120.00,,2026-01-01,")
    rows += [f"SUB-PRO,EUR,45.00,{num},2026-01-01," for num in customer_numbers()[::25]]
    return ("\n".join(rows) + "\n").encode()


def seed(url: str) -> None:
    """Schema, chart, entity (with a bank account), customers, catalog and prices."""
    app = initialise_seller(url)
    app.clock = lambda: NOW
    with app.transaction() as tx:
        entities.add_bank_account(tx, ENTITY, "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
        import_customers(tx, customers_csv(), "customers.csv")
        catalog.import_products(tx, PRODUCTS_CSV.encode(), "products.csv")
        catalog.import_prices(tx, prices_csv(), "prices.csv")
    app.engine.dispose()


def invoice_requests(start: int, count: int, numbers: Sequence[str]) -> list[InvoiceRequest]:
    """Invoice ``i``: a customer in rotation, two catalog lines and one free-text line."""
    result = []
    for i in range(start, start + count):
        lines = (
            LineRequest(quantity=Decimal(1 + i % 4), sku=SKUS[i % len(SKUS)]),
            LineRequest(quantity=Decimal(1 + i % 7), sku=SKUS[(i + 2) % len(SKUS)]),
            LineRequest(
                quantity=Decimal("2.5"),
                description="Consulting hours",
                unit_price=Decimal("95.00"),
                unit_code="HUR",
            ),
        )
        result.append(
            InvoiceRequest(
                entity=ENTITY,
                customer=numbers[i % len(numbers)],
                issue_date=FIRST_DAY + timedelta(days=i % 20),
                lines=lines,
                ref=f"bench-{i}",
                where=f"bench invoice {i}",
            )
        )
    return result


# --- measuring -------------------------------------------------------------------------------


def parameter_sets(parameters: Any, executemany: bool) -> int:
    """How often the database runs the statement: once per parameter set of an executemany
    (sqlite3 steps it per row; psycopg pipelines it per row), once for a multi-row VALUES."""
    many = executemany and isinstance(parameters, list | tuple) and bool(parameters)
    return len(parameters) if many and isinstance(parameters[0], list | tuple | dict) else 1


@dataclass
class KindStats:
    statements: int = 0
    db_statements: int = 0
    seconds: float = 0.0


@dataclass
class StatementCounter:
    """What SQLAlchemy hands the driver while ``active``: statements (an executemany counts once),
    parameter sets (rows of an executemany) and time spent in the driver, by statement kind."""

    active: bool = False
    executions: int = 0
    executemany: int = 0
    kinds: dict[str, KindStats] = field(default_factory=dict)
    _started: list[tuple[str, float]] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        if not self.active:
            return
        kind = statement_kind(statement)
        stats = self.kinds.setdefault(kind, KindStats())
        stats.statements += 1
        stats.db_statements += parameter_sets(parameters, executemany)
        self.executions += 1
        self.executemany += int(executemany)
        self._started.append((kind, time.perf_counter()))

    def _after(self, *_args: Any) -> None:
        if self.active and self._started:
            kind, started = self._started.pop()
            self.kinds[kind].seconds += time.perf_counter() - started

    def reset(self) -> None:
        self.executions = self.executemany = 0
        self.kinds = {}
        self._started = []

    def summary(self, invoices: int) -> dict[str, Any]:
        ranked = sorted(self.kinds.items(), key=lambda kv: -kv[1].seconds)
        return {
            "statements": self.executions,
            "executemany": self.executemany,
            "per_invoice": round(self.executions / max(invoices, 1), 4),
            "db_statements": sum(k.db_statements for k in self.kinds.values()),
            "driver_seconds": round(sum(k.seconds for k in self.kinds.values()), 3),
            "by_kind": {
                kind: {
                    "statements": k.statements,
                    "db_statements": k.db_statements,
                    "seconds": round(k.seconds, 3),
                }
                for kind, k in ranked
            },
        }


# --- databases -------------------------------------------------------------------------------


# --- the phases ------------------------------------------------------------------------------


def open_app(url: str, counter: StatementCounter) -> Billfold:
    app = Billfold.open(url, actor="bench")
    app.clock = lambda: NOW
    counter.attach(app.engine)
    return app


def phase_a(
    app: Billfold, n: int, batch: int, counter: StatementCounter
) -> tuple[list[int], float]:
    numbers = customer_numbers()
    ids: list[int] = []
    counter.active = True
    started = time.perf_counter()
    for start in range(0, n, batch):
        requests = invoice_requests(start, min(batch, n - start), numbers)
        with app.transaction() as tx:
            result = invoicing.create_drafts(tx, requests, source="bench")
        ids += result.created
    elapsed = time.perf_counter() - started
    counter.active = False
    if len(ids) != n:
        raise RuntimeError(f"phase A created {len(ids)} drafts, expected {n}")
    return ids, elapsed


def backend_cpu_reader(conn: Any) -> Callable[[], float] | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (user + system, from
    ``/proc``), when the server runs on this machine; ``None`` otherwise (or on SQLite, whose
    work is the process's own CPU time)."""
    if conn.dialect.name != "postgresql":
        return None
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    stat = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        read()
    except (OSError, ValueError, IndexError):
        return None
    return read


@dataclass
class PhaseTimes:
    """Wall seconds, this process's CPU seconds, and the PostgreSQL backend's CPU seconds
    (``None`` when it cannot be read): on a shared machine the CPU seconds compare between runs
    where the wall time does not."""

    wall: float = 0.0
    client_cpu: float = 0.0
    planner_cpu: float = 0.0  # the planner processes' own (not their PostgreSQL backends')
    server_cpu: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        server = None if self.server_cpu is None else round(self.server_cpu, 3)
        return {
            "wall": round(self.wall, 3),
            "client_cpu": round(self.client_cpu, 3),
            "planner_cpu": round(self.planner_cpu, 3),
            "server_cpu": server,
        }


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the planners of an issue)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def phase_b(
    app: Billfold,
    ids: list[int],
    per_call: int,
    planners: int | None,
    counter: StatementCounter,
    profiler: cProfile.Profile | None,
) -> PhaseTimes:
    counter.active = True
    if profiler:
        profiler.enable()
    times = PhaseTimes()
    server = 0.0
    readable = True
    started, cpu_started, planners_started = (
        time.perf_counter(),
        time.process_time(),
        children_cpu(),
    )
    for start in range(0, len(ids), per_call):
        with app.transaction() as tx:
            reader = backend_cpu_reader(tx.conn)
            before = reader() if reader else 0.0
            invoicing.issue(tx, ids[start : start + per_call], planners=planners)
            if reader:
                server += reader() - before
            readable = readable and reader is not None
    times.wall = time.perf_counter() - started
    times.client_cpu = time.process_time() - cpu_started
    times.planner_cpu = children_cpu() - planners_started
    times.server_cpu = server if readable else None
    if profiler:
        profiler.disable()
    counter.active = False
    return times


@dataclass(frozen=True)
class Written:
    invoices_issued: int
    journal_entries: int
    postings: int
    audit_rows: int
    accounts: int

    @property
    def total(self) -> int:
        return (
            self.invoices_issued
            + self.journal_entries
            + self.postings
            + self.audit_rows
            + self.accounts
        )


def table_counts(app: Billfold) -> dict[str, int]:
    with app.reading() as conn:
        return {
            "issued": conn.execute(
                select(func.count()).select_from(invoices).where(invoices.c.status == "issued")
            ).scalar_one(),
            "journal_entries": conn.execute(
                select(func.count()).select_from(journal_entries)
            ).scalar_one(),
            "postings": conn.execute(select(func.count()).select_from(postings_table)).scalar_one(),
            "audit_rows": conn.execute(
                select(audit_head.c.last_id).where(audit_head.c.id == 1)
            ).scalar_one(),
            "accounts": conn.execute(select(func.count()).select_from(accounts)).scalar_one(),
        }


def check_ledger(app: Billfold) -> None:
    """Every posting balances: the sums of amounts and functional amounts are zero."""
    with app.reading() as conn:
        amount, functional = conn.execute(
            select(
                func.coalesce(func.sum(postings_table.c.amount_minor), 0),
                func.coalesce(func.sum(postings_table.c.functional_minor), 0),
            )
        ).one()
    if amount or functional:
        raise RuntimeError(f"the ledger does not balance: {amount} / {functional}")


# --- baseline --------------------------------------------------------------------------------

BASELINE_TABLES = (journal_entries, postings_table, audit_log)


def baseline_sqlite(main_url: str, scratch_url: str, audit_from: int) -> tuple[int, float]:
    """executemany of the rows phase B wrote into the scratch copy; returns (rows, seconds)."""
    src = sqlite3.connect(make_url(main_url).database or "")
    dst = sqlite3.connect(make_url(scratch_url).database or "", isolation_level=None)
    for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = NORMAL"):
        dst.execute(f"PRAGMA {pragma}")
    # The tax accounts phase B created after the snapshot (not timed).
    names = ", ".join(c.name for c in accounts.columns)
    have = dst.execute("SELECT coalesce(max(id), 0) FROM accounts").fetchone()[0]
    dst.executemany(
        f"INSERT INTO accounts ({names}) VALUES ({', '.join('?' * len(accounts.columns))})",
        src.execute(f"SELECT {names} FROM accounts WHERE id > ?", (have,)).fetchall(),
    )
    rows = 0
    elapsed = 0.0
    for table in BASELINE_TABLES:
        cols = [c.name for c in table.columns]
        where = f" WHERE id > {audit_from}" if table is audit_log else ""
        cur = src.execute(f"SELECT {', '.join(cols)} FROM {table.name}{where} ORDER BY id")
        insert = (
            f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        )
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


def baseline_postgres(main_url: str, scratch_url: str, audit_from: int) -> tuple[int, float]:
    """COPY of the rows phase B wrote into the scratch copy; returns (rows, seconds)."""
    rows = 0
    elapsed = 0.0
    with psycopg_connect(main_url) as src, psycopg_connect(scratch_url) as dst:
        # The tax accounts phase B created after the snapshot (not timed).
        cols = ", ".join(c.name for c in accounts.columns)
        have = dst.execute("SELECT coalesce(max(id), 0) FROM accounts").fetchone()
        new_accounts = src.execute(
            f"SELECT {cols} FROM accounts WHERE id > %s", (have[0] if have else 0,)
        ).fetchall()
        if new_accounts:
            marks = ", ".join(["%s"] * len(accounts.columns))
            with dst.cursor() as cur:
                cur.executemany(f"INSERT INTO accounts ({cols}) VALUES ({marks})", new_accounts)
        dst.commit()
        for table in BASELINE_TABLES:
            cols = ", ".join(c.name for c in table.columns)
            where = f" WHERE id > {audit_from}" if table is audit_log else ""
            with src.cursor(name=f"read_{table.name}") as cur:
                cur.execute(f"SELECT {cols} FROM {table.name}{where} ORDER BY id")
                while chunk := cur.fetchmany(BASELINE_CHUNK):
                    started = time.perf_counter()
                    with (
                        dst.cursor() as out,
                        out.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy,
                    ):
                        for row in chunk:
                            copy.write_row(row)
                    dst.commit()
                    elapsed += time.perf_counter() - started
                    rows += len(chunk)
            src.commit()
    return rows, elapsed


# --- one engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    n: int
    batch: int  # drafts per transaction in phase A
    per_call: int  # documents per issue call (transaction) in phase B; 0: all in one
    planners: int | None  # None: issuing's own choice
    profile: bool


def run_engine(engine: str, opts: Options, pid: int) -> dict[str, Any]:
    """Seed, phase A, snapshot, phase B, baseline on one engine; runs in its own process."""
    if engine == "sqlite":
        dbs = sqlite_databases("bench_issue_")
    else:
        admin, problem = postgres_admin()
        if admin is None:
            return {"engine": engine, "skipped": f"PostgreSQL not reachable: {problem}"}
        dbs = postgres_databases(admin, pid)
    try:
        return _run(dbs, opts)
    finally:
        dbs.cleanup()


def _run(dbs: Databases, opts: Options) -> dict[str, Any]:
    n, batch, profile = opts.n, opts.batch, opts.profile
    per_call = opts.per_call or n
    planners = 0 if profile else opts.planners
    result: dict[str, Any] = {
        "engine": dbs.engine,
        "n": n,
        "batch": batch,
        "per_call": per_call,
        "planners": planners,
    }
    started = time.perf_counter()
    seed(dbs.url)
    result["seed_seconds"] = round(time.perf_counter() - started, 2)
    counter = StatementCounter()

    app = open_app(dbs.url, counter)
    console.log(f"[{dbs.engine}] phase A: {n:,} drafts")
    ids, seconds_a = phase_a(app, n, batch, counter)
    result["drafts"] = {
        "seconds": round(seconds_a, 3),
        "per_second": rate(n, seconds_a),
        "sql": counter.summary(n),
        "peak_rss_mib": peak_rss_mib(),
    }
    app.engine.dispose()
    dbs.snapshot()

    app = open_app(dbs.url, counter)
    before = table_counts(app)
    counter.reset()
    profiler = cProfile.Profile() if profile else None
    console.log(f"[{dbs.engine}] phase B: issuing {n:,} invoices")
    times_b = phase_b(app, ids, per_call, planners, counter, profiler)
    seconds_b = times_b.wall
    after = table_counts(app)
    written = Written(*(after[k] - before[k] for k in before))
    if written.invoices_issued != n:
        raise RuntimeError(f"phase B issued {written.invoices_issued} invoices, expected {n}")
    check_ledger(app)
    app.engine.dispose()
    result["issue"] = {
        "seconds": round(seconds_b, 3),
        "invoices_per_second": rate(n, seconds_b),
        "times": times_b.as_dict(),
        "invoices_per_cpu_second": rate(
            n, times_b.client_cpu + times_b.planner_cpu + (times_b.server_cpu or 0.0)
        ),
        "rows_written": vars(written) | {"total": written.total},
        "rows_per_second": rate(written.total, seconds_b),
        "sql": counter.summary(n),
        "peak_rss_mib": peak_rss_mib(),
        "profiled": profile,
    }
    if profiler:
        result["profile_top25"] = profile_text(profiler, dbs.engine)

    console.log(f"[{dbs.engine}] baseline: plain bulk insert of the same rows")
    baseline = baseline_sqlite if dbs.engine == "sqlite" else baseline_postgres
    rows, seconds = baseline(dbs.url, dbs.scratch_url, before["audit_rows"])
    expected = written.journal_entries + written.postings + written.audit_rows
    if rows != expected:
        raise RuntimeError(f"baseline inserted {rows} rows, expected {expected}")
    base_rate = rate(rows, seconds)
    result["baseline"] = {
        "method": "executemany (sqlite3)" if dbs.engine == "sqlite" else "COPY (psycopg)",
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": base_rate,
        "invoices_per_second_equivalent": rate(n, seconds),
    }
    issue_rate = result["issue"]["rows_per_second"]
    result["ratio_to_baseline"] = round(issue_rate / base_rate, 3) if base_rate else None
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def profile_text(profiler: cProfile.Profile, engine: str) -> str:
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(25)
    report = buf.getvalue()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    (OUT.parent / f"issue_invoices_profile_{engine}.txt").write_text(report)
    profiler.dump_stats(OUT.parent / f"issue_invoices_profile_{engine}.prof")
    return report


# --- reporting -------------------------------------------------------------------------------


def show(results: list[dict[str, Any]]) -> None:
    done = [r for r in results if "skipped" not in r]
    for r in results:
        if "skipped" in r:
            console.print(f"[yellow]{r['engine']}: skipped ({r['skipped']})[/yellow]")
    if not done:
        return
    n = done[0]["n"]
    table = Table(title=f"Issue {n:,} invoices of 3 lines each")
    table.add_column("figure")
    for r in done:
        table.add_column(r["engine"], justify="right")

    def row(label: str, get: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(get(r) for r in done))

    def verdict(ok: bool) -> str:
        return "[green]ok[/green]" if ok else "[red]below target[/red]"

    row("phase A drafts/s", lambda r: f"{r['drafts']['per_second']:,.0f}")
    row("phase A SQL statements/draft", lambda r: f"{r['drafts']['sql']['per_invoice']:.3f}")
    row(
        f"phase B invoices/s (target {TARGET_INVOICES_PER_S:,})",
        lambda r: (
            f"{r['issue']['invoices_per_second']:,.0f} "
            + verdict(r["issue"]["invoices_per_second"] >= TARGET_INVOICES_PER_S)
        ),
    )
    row("phase B seconds", lambda r: f"{r['issue']['seconds']:.1f}")
    row(
        "phase B documents per call / planners",
        lambda r: f"{r['per_call']:,} / {'auto' if r['planners'] is None else r['planners']}",
    )
    row(
        "phase B CPU s (this process / planners / PG backend)",
        lambda r: (
            f"{r['issue']['times']['client_cpu']:.1f} / "
            f"{r['issue']['times']['planner_cpu']:.1f} / "
            + (
                "-"
                if r["issue"]["times"]["server_cpu"] is None
                else f"{r['issue']['times']['server_cpu']:.1f}"
            )
        ),
    )
    row(
        "phase B invoices per CPU second",
        lambda r: f"{r['issue']['invoices_per_cpu_second']:,.0f}",
    )
    row("phase B rows written", lambda r: f"{r['issue']['rows_written']['total']:,}")
    row("phase B rows/s", lambda r: f"{r['issue']['rows_per_second']:,.0f}")
    row("phase B SQL statements/invoice", lambda r: f"{r['issue']['sql']['per_invoice']:.4f}")
    row(
        "phase B statements run by the DB/invoice",
        lambda r: f"{r['issue']['sql']['db_statements'] / r['n']:.2f}",
    )
    row("baseline method", lambda r: r["baseline"]["method"])
    row("baseline rows/s", lambda r: f"{r['baseline']['rows_per_second']:,.0f}")
    row(
        "ratio issue/baseline (target >= 0.33)",
        lambda r: (
            f"{r['ratio_to_baseline']:.2f} "
            + verdict((r["ratio_to_baseline"] or 0) >= TARGET_RATIO)
        ),
    )
    row(
        "peak RSS MiB (after A / B)",
        lambda r: f"{r['drafts']['peak_rss_mib']:.0f} / {r['issue']['peak_rss_mib']:.0f}",
    )
    console.print(table)
    for r in done:
        for phase, label in (("issue", "phase B"), ("drafts", "phase A")):
            sql = r[phase]["sql"]
            top = ", ".join(
                f"{kind} x{k['statements']} (db {k['db_statements']}, {k['seconds']:.2f}s)"
                for kind, k in list(sql["by_kind"].items())[:6]
            )
            console.print(
                f"{r['engine']} {label}: {sql['driver_seconds']:.1f}s in the driver; "
                f"slowest statements: {top}",
                highlight=False,
            )
        if r["issue"]["profiled"]:
            console.print(f"[yellow]{r['engine']}: phase B ran under cProfile[/yellow]")
            console.print(r["profile_top25"], markup=False, highlight=False)


def meets_targets(results: list[dict[str, Any]]) -> bool:
    return all(
        r["issue"]["invoices_per_second"] >= TARGET_INVOICES_PER_S
        and (r["ratio_to_baseline"] or 0) >= TARGET_RATIO
        for r in results
        if "skipped" not in r
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="invoices (issue figure: 100000)")
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="drafts per transaction (phase A)"
    )
    parser.add_argument(
        "--per-call", type=int, default=0, help="documents per issue transaction (0: all)"
    )
    parser.add_argument("--planners", type=int, help="planner processes (default: issuing's)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--profile", action="store_true", help="cProfile phase B (top 25)")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - {"sqlite", "postgresql"})
    if unknown or args.n < 1 or args.batch < 1 or args.per_call < 0:
        parser.error(
            f"engines are sqlite and postgresql (got {unknown}); n and batch >= 1, per-call >= 0"
        )
    opts = Options(args.n, args.batch, args.per_call, args.planners, args.profile)

    # a fresh process per engine (RSS of its own), not a daemon: issuing starts planners
    results = [in_process(run_engine, engine, opts, os.getpid()) for engine in engines]
    show(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": "issue_invoices",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "cpu_reference_seconds": cpu_reference_seconds(),
        "targets": {"invoices_per_second": TARGET_INVOICES_PER_S, "ratio": round(TARGET_RATIO, 3)},
    }
    args.out.write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    console.print(f"results written to {args.out}")
    if args.n != 100_000:
        console.print(
            "the issue's figure is n=100,000: "
            f".venv/bin/python {sys.argv[0]} --n 100000 --out bench-output/issue_invoices_100k.json"
        )
    return 1 if args.check and not meets_targets(results) else 0


if __name__ == "__main__":
    sys.exit(main())
