"""Shared pieces of the benchmarks: scratch databases on both engines, statement counting,
memory, fresh processes."""

from __future__ import annotations

import multiprocessing
import os
import re
import resource
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from billfold.services.context import Billfold
from billfold.services.entities import NewEntity
from billfold.services.setup import initialise

PG_SERVER_URL = os.environ.get(
    "BILLFOLD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
console = Console(width=max(110, shutil.get_terminal_size().columns))


# --- databases -------------------------------------------------------------------------------


@dataclass
class Databases:
    """The database under test and its scratch copy (for the baseline), and how to drop them."""

    engine: str
    url: str
    scratch_url: str
    snapshot: Callable[[], None]
    cleanup: Callable[[], None]


def sqlite_databases(prefix: str = "bench_") -> Databases:
    """A temporary directory with the database file and its scratch copy's path."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    main, scratch = tmp / "billfold.db", tmp / "scratch.db"

    def snapshot() -> None:
        with sqlite3.connect(main) as src, sqlite3.connect(scratch) as dst:
            src.backup(dst)

    return Databases(
        "sqlite",
        f"sqlite:///{main}",
        f"sqlite:///{scratch}",
        snapshot,
        lambda: shutil.rmtree(tmp, ignore_errors=True),
    )


def postgres_admin() -> tuple[Engine | None, str | None]:
    admin = create_engine(
        PG_SERVER_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        return None, str(exc).strip().splitlines()[0]
    return admin, None


def postgres_databases(admin: Engine, pid: int) -> Databases:
    """A fresh database ``bench_<pid>`` (and the name of its scratch copy) on the server."""
    name, scratch = f"bench_{pid}", f"bench_{pid}_base"
    server = make_url(PG_SERVER_URL)

    def url(db: str) -> str:
        return server.set(database=db).render_as_string(hide_password=False)

    def ddl(sql: str) -> None:
        with admin.connect() as conn:
            conn.execute(text(sql))

    def cleanup() -> None:
        for db in (scratch, name):
            ddl(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()

    ddl(f'CREATE DATABASE "{name}"')
    return Databases(
        "postgresql",
        url(name),
        url(scratch),
        lambda: ddl(f'CREATE DATABASE "{scratch}" TEMPLATE "{name}"'),
        cleanup,
    )


def psycopg_connect(url: str) -> psycopg.Connection[Any]:
    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
    )


# --- measuring -------------------------------------------------------------------------------

_TABLE = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+\"?(\w+)", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    """``SELECT contracts``, ``INSERT invoices`` ...: verb and first table named."""
    words = statement.split(None, 1)
    verb = words[0].upper() if words else "?"
    found = _TABLE.search(statement)
    return f"{verb} {found.group(1)}" if found else verb


@dataclass
class KindStats:
    statements: int = 0
    parameters: int = 0
    seconds: float = 0.0


@dataclass
class StatementCounter:
    """Statements SQLAlchemy hands the driver while ``active`` (an executemany counts once),
    their bound parameters and the time spent in ``execute``, by statement kind; and the
    slowest execution of each kind (statement and parameters, to EXPLAIN it afterwards)."""

    active: bool = True
    executions: int = 0
    kinds: dict[str, KindStats] = field(default_factory=dict)
    slowest: dict[str, tuple[float, str, Any]] = field(default_factory=dict)
    _started: list[tuple[str, float, str, Any]] = field(default_factory=list)

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
        _executemany: bool,
    ) -> None:
        if not self.active:
            return
        kind = statement_kind(statement)
        stats = self.kinds.setdefault(kind, KindStats())
        stats.statements += 1
        stats.parameters += len(parameters) if isinstance(parameters, list | tuple | dict) else 0
        self.executions += 1
        self._started.append((kind, time.perf_counter(), statement, parameters))

    def _after(self, *_args: Any) -> None:
        if self.active and self._started:
            kind, started, statement, parameters = self._started.pop()
            spent = time.perf_counter() - started
            self.kinds[kind].seconds += spent
            if spent > self.slowest.get(kind, (0.0, "", None))[0]:
                self.slowest[kind] = (spent, statement, parameters)

    def summary(self, contracts_: int) -> dict[str, Any]:
        ranked = sorted(self.kinds.items(), key=lambda kv: -kv[1].seconds)
        return {
            "statements": self.executions,
            "per_contract": round(self.executions / max(contracts_, 1), 4),
            "driver_seconds": round(sum(k.seconds for k in self.kinds.values()), 3),
            "by_kind": {
                kind: {
                    "statements": k.statements,
                    "parameters": k.parameters,
                    "seconds": round(k.seconds, 3),
                    "slowest": round(self.slowest.get(kind, (0.0, "", None))[0], 4),
                }
                for kind, k in ranked
            },
        }


def explain(conn: Connection, statement: str, parameters: Any) -> str:
    """The plan: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL (it runs the statement),
    ``EXPLAIN QUERY PLAN`` as an indented tree on SQLite."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + str(detail))
        return "\n".join(lines)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
    return _LONG_ARRAY.sub(
        lambda m: f"'{{... {m.group(0).count(',') + 1} values}}'",
        "\n".join(str(r[0]) for r in rows),
    )


_LONG_ARRAY = re.compile(r"'\{[^}]{60,}\}'")


def cpu_reference_seconds() -> float:
    """Seconds a fixed pure-Python loop (ten million additions) takes now: this shared machine's
    speed varies by a factor of three from one hour to the next, so every result file records
    it, and figures from different runs compare only after scaling by it."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return round(time.perf_counter() - started, 3)


def rss_mib() -> float:
    """Current resident set size (Linux ``/proc``; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def in_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn`` in a fresh spawned process (its own peak RSS, nothing cached). Not a daemon
    (a pool's workers are): a billing run starts planner processes of its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result: dict[str, Any] = pool.submit(fn, *args).result()
    return result


def verdict(ok: bool) -> str:
    return "[green]ok[/green]" if ok else "[red]below target[/red]"


SELLER = "ACME-DE"


def initialise_seller(url: str) -> Billfold:
    """Schema, chart and the benchmarks' German seller (``SELLER``) with its VAT number."""
    return initialise(
        url,
        "bench",
        NewEntity(
            SELLER,
            "Acme Europe GmbH",
            "DE",
            "EUR",
            city="Berlin",
            postal_code="10115",
            address_line1="Friedrichstrasse 1",
        ),
        ["DE136695976"],
    )
