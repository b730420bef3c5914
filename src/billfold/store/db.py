"""Engines for SQLite (default, a file) and PostgreSQL (psycopg 3), configured for ledger work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from billfold.errors import DatabaseUnavailable


def normalise_url(url: str) -> str:
    """Accept the URL forms users type (``postgres://``, ``postgresql://``) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def safe_url(url: str) -> str:
    """The URL with any password masked, fit for an error message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


READ_ONLY = "billfold_read_only"  # Connection.info flag set by read_only()


@contextmanager
def read_only(conn: Any) -> Iterator[Any]:
    """``conn`` (before its first statement) as a reader for the block: on SQLite its
    transactions begin without the write lock; on PostgreSQL they are READ ONLY, so a write is
    refused. The connection goes back to the pool a writer's again, whatever the block did."""
    conn.info[READ_ONLY] = True
    try:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        yield conn
    finally:
        conn.info.pop(READ_ONLY, None)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA cache_size = -65536")  # 64 MiB: bulk runs outgrow the 2 MiB default
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two writers never deadlock half-way through a unit of work.
        # A read-only connection (reports) begins deferred: WAL gives it a snapshot of the last
        # commit without the write lock, so a long report never holds up the writers.
        if conn.info.get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, check: bool = True) -> Engine:
    """Create an engine for ``url``; with ``check``, fail fast with a clear error if unreachable."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"database URL {url!r} is not a valid URL") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        else:
            # A file keeps one connection open between units of work (SQLAlchemy's QueuePool):
            # its page cache and parsed schema stay warm, and closing the last connection no
            # longer checkpoints and deletes the WAL after every transaction. Measured, issuing
            # 100,000 invoices in 50 transactions: 27.4 -> 22.8 CPU seconds. Connections past
            # the one kept open are made and closed as before (no limit, no waiting).
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = -1
    elif parsed.get_backend_name() == "postgresql":
        # prepare_threshold=None: no server-side prepared statements; their generic plans made
        # IN-list lookups 25x slower once a statement had run five times (measured).
        kwargs["connect_args"] = {"connect_timeout": 5, "prepare_threshold": None}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # missing driver, bad dialect name ...
        raise DatabaseUnavailable(f"cannot use database {safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    if check:
        try:
            # as a reader: on SQLite a check that took the write lock would fail while another
            # process writes (a planner opens its connection during its job's write transaction)
            with engine.connect() as conn, read_only(conn):
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"cannot reach database {safe_url(url)}: {reason}") from None
    return engine


def for_large_scan(conn: Any) -> None:
    """Settings for one report transaction that groups the whole receivables book (aging):
    on PostgreSQL enough ``work_mem`` to hash the groups in memory instead of sorting them on
    disk, and no JIT (compiling the expressions cost 80-200 ms per run, more than it saved, at a
    million rows). ``SET LOCAL`` ends with the transaction. SQLite needs nothing."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")


# What ``index_lookups`` sets for its block: no scan of a whole table, no parallel workers, no
# JIT. A scan the planner cannot avoid (a temporary table's) is costed at ``disable_cost``, which
# put every such statement far above ``jit_above_cost``: issuing's invoice update compiled its
# expressions each batch, 90-110 ms of the statement's 130-190 ms (EXPLAIN ANALYZE, 2,000 rows).
INDEX_LOOKUPS = {
    "enable_seqscan": "off",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}
# What ``hashed_joins`` sets for its block: no nested loops (hash or merge joins).
HASHED_JOINS = {"enable_nestloop": "off"}


@contextmanager
def index_lookups(conn: Any) -> Iterator[None]:
    """For the statements of a batch that reads and writes a few thousand rows by key out of
    tables of any size (issuing): on PostgreSQL the planner may not scan a whole table, only
    reach rows through an index, and starts no parallel workers. Without statistics (autovacuum
    off, or not yet run on freshly loaded tables; a transition table or a temporary table never
    has them) it costed 2,000 random index probes above a scan of the whole table and scanned
    100,000 invoices, or their 300,000 lines, for every batch: a batch's cost grew with every
    row ever written. With the scans off it chose parallel workers for 6,000 lines, whose start
    cost more than the read, and compiled with JIT any statement that still scanned (see
    ``INDEX_LOOKUPS``). SQLite needs nothing (its planner takes the index for ``IN``)."""
    with _planner_settings(conn, INDEX_LOOKUPS):
        yield


@contextmanager
def hashed_joins(conn: Any) -> Iterator[None]:
    """The statements inside join without nested loops on PostgreSQL (hash or merge joins).
    For reads that join every row of one side to the other (all of an entity's open items to
    their invoices): on tables without statistics (freshly loaded, autovacuum not come by yet)
    the planner estimates one row per side and probes an index once per row, 8 s instead of
    0.6 s for 75,000 items, and worse than linearly as they grow. SQLite needs nothing."""
    with _planner_settings(conn, HASHED_JOINS):
        yield


@contextmanager
def _planner_settings(conn: Any, settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL planner ``settings`` for the statements of the block, local to the
    transaction, and put back as they were when the block ends."""
    if conn.dialect.name != "postgresql":
        yield
        return
    names = list(settings)
    current = ", ".join(f"current_setting('{n}')" for n in names)
    before = conn.exec_driver_sql(f"SELECT {current}").one()
    _set_local(conn, settings)
    yield
    # Only after the block succeeded: a failed statement aborts the transaction, and rolling it
    # (or the savepoint around the block) back undoes the settings anyway.
    _set_local(conn, dict(zip(names, before, strict=True)))


def _set_local(conn: Any, settings: dict[str, str]) -> None:
    calls = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(settings)))
    params: dict[str, str] = {}
    for i, (name, value) in enumerate(settings.items()):
        params[f"n{i}"], params[f"v{i}"] = name, value
    conn.execute(text(f"SELECT {calls}"), params)
