"""A dunning run over many past-due customers, mailing a local SMTP server: messages per second.

What is measured, per engine (SQLite file, PostgreSQL database), each in a fresh process and a
fresh database:

* Seeding (timed, not part of the figure): one German legal entity with a bank account, N
  customers (``import_customers``, languages en/de/fr/es/nl in rotation, one billing e-mail
  each) and one open item per customer (``import_open_items``, the bulk path for open
  receivables) with due dates spread so that every level of the DEFAULT policy is due for
  some customers; the DEFAULT policy and its 25 templates.
* The run (``run_dunning``) on the run date with ``SmtpSender`` against an aiosmtpd server in
  a separate process (so that it does not share the GIL with the run) that counts what it
  accepted. Figures: messages/second of the send phase (time inside ``sender.send`` only:
  building the message and the SMTP dialogue), and of the full run (planning from the ledger,
  rendering, sending, and one recording transaction per message: notice, items, audit row;
  credit hold for the final level).
* Checks: the server received exactly the notices the run reports as sent; a second run on the
  same date sends nothing (and how long it takes to find that out).

Results go to a Rich table and ``bench-output/dunning.json``. The issue's figure is n=100,000
(``--n 100000``, about half an hour for both engines on two cores); the default n=10,000 keeps
``make bench`` to a few minutes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import platform
import resource
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.benchlib import SELLER, cpu_reference_seconds, initialise_seller

from billfold.services import entities
from billfold.services.context import Billfold
from billfold.services.customers import import_customers
from billfold.services.dunning import ensure_default_dunning, run_dunning
from billfold.services.mailer import SmtpSender, SmtpSettings
from billfold.services.open_items import import_open_items
from billfold.store.tables import dunning_items

PG_SERVER_URL = os.environ.get(
    "BILLFOLD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_N = 10_000
ENTITY = SELLER
RUN_DATE = date(2026, 12, 31)
NOW = datetime(2026, 12, 31, 6, 0, tzinfo=UTC)
LANGUAGES = ("en", "de", "fr", "es", "nl")
# days past due on the run date, in rotation: levels 1 (before due), 2, 3, 4 and 5
DAYS_PAST_DUE = (-2, 5, 20, 45, 75)
OPEN_ITEMS_FILE = 20_000
OUT = Path("bench-output") / "dunning.json"

console = Console()


# --- seed data -------------------------------------------------------------------------------


def customers_csv(n: int) -> bytes:
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
            "billing_email",
            "language",
        ]
    )
    for i in range(n):
        w.writerow(
            [
                f"C{i:06d}",
                f"Customer {i}",
                "EUR",
                "NET30",
                f"Street {i}",
                "Berlin",
                "10115",
                "DE",
                f"ap{i}@customer.example",
                LANGUAGES[i % len(LANGUAGES)],
            ]
        )
    return out.getvalue().encode()


def open_items_csv(start: int, count: int) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["number", "customer_number", "issue_date", "due_date", "currency", "open_amount"])
    for i in range(start, start + count):
        due = RUN_DATE - timedelta(days=DAYS_PAST_DUE[i % len(DAYS_PAST_DUE)])
        w.writerow(
            [
                f"OB-{i:06d}",
                f"C{i:06d}",
                (due - timedelta(days=30)).isoformat(),
                due.isoformat(),
                "EUR",
                f"{100 + i % 900}.{i % 100:02d}",
            ]
        )
    return out.getvalue().encode()


def seed(url: str, n: int) -> dict[str, float]:
    timings = {}
    started = time.perf_counter()
    app = initialise_seller(url)
    app.clock = lambda: NOW
    with app.transaction() as tx:
        entities.add_bank_account(tx, ENTITY, "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
        entities.configure_entity(tx, ENTITY, email="billing@acme.example", phone="+49 30 1")
        ensure_default_dunning(tx)
    timings["setup"] = time.perf_counter() - started
    started = time.perf_counter()
    with app.transaction() as tx:
        import_customers(tx, customers_csv(n), "customers.csv")
    timings["customers"] = time.perf_counter() - started
    started = time.perf_counter()
    # files of OPEN_ITEMS_FILE rows: import_open_items looks all of a file's customers up in
    # one IN list, which PostgreSQL refuses beyond 65,535 parameters
    for start in range(0, n, OPEN_ITEMS_FILE):
        count = min(OPEN_ITEMS_FILE, n - start)
        with app.transaction() as tx:
            import_open_items(tx, open_items_csv(start, count), f"open_items_{start}.csv")
    timings["open_items"] = time.perf_counter() - started
    app.engine.dispose()
    return {k: round(v, 2) for k, v in timings.items()}


# --- the SMTP server, in its own process -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_smtp(port: int, counter: Any, ready: Any, stop: Any) -> None:
    """An aiosmtpd server that counts accepted messages (and keeps none)."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


# --- databases -------------------------------------------------------------------------------


def make_database(engine: str, workdir: Path) -> tuple[str, Any]:
    if engine == "sqlite":
        return f"sqlite:///{workdir / 'dunning.db'}", lambda: None
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"bf_bench_dunning_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    return url, drop


def postgres_problem() -> str | None:
    try:
        with create_engine(PG_SERVER_URL, connect_args={"connect_timeout": 3}).connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


# --- one engine ------------------------------------------------------------------------------


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_engine(engine: str, n: int) -> dict[str, Any]:
    if engine == "postgresql" and (problem := postgres_problem()):
        return {"engine": engine, "skipped": f"PostgreSQL not reachable: {problem}"}
    result: dict[str, Any] = {"engine": engine, "n": n}
    with tempfile.TemporaryDirectory(prefix="bench-dunning-") as tmp:
        url, cleanup = make_database(engine, Path(tmp))
        try:
            console.log(f"[{engine}] seeding {n:,} customers with one open item each")
            started = time.perf_counter()
            result["seed_seconds"] = seed(url, n)
            result["seed_seconds"]["total"] = round(time.perf_counter() - started, 2)
            result.update(_run(url, n))
        finally:
            cleanup()
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def _engine_process(engine: str, n: int, pipe: Any) -> None:
    try:
        pipe.send(run_engine(engine, n))
    except Exception as exc:
        pipe.send(RuntimeError(f"{engine}: {type(exc).__name__}: {str(exc)[:2000]}"))


def _run(url: str, n: int) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    counter, ready, stop = ctx.Value("q", 0), ctx.Event(), ctx.Event()
    port = free_port()
    server = ctx.Process(target=serve_smtp, args=(port, counter, ready, stop), daemon=True)
    server.start()
    if not ready.wait(30):
        raise RuntimeError("the SMTP server did not start")
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, sender="billing@acme.example")
        app = Billfold.open(url, actor="bench")
        app.clock = lambda: NOW
        console.log(f"dunning run over {n:,} past-due customers")
        summary = run_dunning(app, RUN_DATE, sender=SmtpSender(settings))
        received = counter.value
        console.log("second run on the same date")
        started = time.perf_counter()
        again = run_dunning(app, RUN_DATE, sender=SmtpSender(settings))
        rerun_seconds = time.perf_counter() - started
        with app.reading() as conn:
            recorded = conn.execute(select(func.count()).select_from(dunning_items)).scalar_one()
        app.engine.dispose()
    finally:
        stop.set()
        server.join(10)
    sent = len(summary.contacted)
    if received != sent or summary.failed or recorded != sent:
        raise RuntimeError(
            f"sent {sent}, server received {received}, recorded {recorded}, "
            f"failed {len(summary.failed)}"
        )
    if again.contacted or counter.value != received:
        raise RuntimeError("the second run on the same date sent messages")
    levels: dict[int, int] = {}
    for o in summary.contacted:
        levels[o.level] = levels.get(o.level, 0) + 1
    return {
        "messages": sent,
        "levels": dict(sorted(levels.items())),
        "credit_holds": len(summary.credit_holds),
        "plan_seconds": round(summary.plan_seconds, 2),
        "send_seconds": round(summary.send_seconds, 2),
        "run_seconds": round(summary.seconds, 2),
        "send_messages_per_second": rate(sent, summary.send_seconds),
        "run_messages_per_second": rate(sent, summary.seconds),
        "rerun_seconds": round(rerun_seconds, 2),
        "server_received": received,
    }


# --- reporting -------------------------------------------------------------------------------


def show(results: list[dict[str, Any]]) -> None:
    done = [r for r in results if "skipped" not in r]
    for r in results:
        if "skipped" in r:
            console.print(f"[yellow]{r['engine']}: skipped ({r['skipped']})[/yellow]")
    if not done:
        return
    table = Table(title=f"Dunning run over {done[0]['n']:,} past-due customers, local SMTP")
    table.add_column("figure")
    for r in done:
        table.add_column(r["engine"], justify="right")
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("seed: customers import s", lambda r: f"{r['seed_seconds']['customers']:.1f}"),
        ("seed: open items import s", lambda r: f"{r['seed_seconds']['open_items']:.1f}"),
        ("messages sent (= received)", lambda r: f"{r['messages']:,}"),
        ("plan (ledger -> notices) s", lambda r: f"{r['plan_seconds']:.1f}"),
        ("send phase s", lambda r: f"{r['send_seconds']:.1f}"),
        ("send phase messages/s", lambda r: f"{r['send_messages_per_second']:,.0f}"),
        ("full run s", lambda r: f"{r['run_seconds']:.1f}"),
        ("full run messages/s", lambda r: f"{r['run_messages_per_second']:,.0f}"),
        ("same-date rerun s (sends 0)", lambda r: f"{r['rerun_seconds']:.1f}"),
        ("credit holds set", lambda r: f"{r['credit_holds']:,}"),
        ("peak RSS MiB", lambda r: f"{r['peak_rss_mib']:.0f}"),
    ]
    for label, get in rows:
        table.add_row(label, *(get(r) for r in done))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="past-due customers")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(engines) - {"sqlite", "postgresql"} or args.n < 1:
        parser.error("engines are sqlite and postgresql; n >= 1")
    results = []
    spawn = multiprocessing.get_context("spawn")
    for engine in engines:  # a fresh process per engine: RSS of its own
        receiver, sender = spawn.Pipe(duplex=False)
        worker = spawn.Process(target=_engine_process, args=(engine, args.n, sender))
        worker.start()
        while not receiver.poll(1):  # read before join: a large result would block the worker
            if not worker.is_alive():
                raise RuntimeError(f"the {engine} run died (exit code {worker.exitcode})")
        outcome = receiver.recv()
        worker.join()
        if isinstance(outcome, BaseException):
            raise outcome
        results.append(outcome)
    show(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "benchmark": "dunning",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "cpu_reference_seconds": cpu_reference_seconds(),
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],  # a shared machine?
    }
    args.out.write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    console.print(f"results written to {args.out}")
    if args.n != 100_000:
        console.print(
            "the issue's figure is n=100,000: "
            f".venv/bin/python {sys.argv[0]} --n 100000 --out bench-output/dunning_100k.json"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
