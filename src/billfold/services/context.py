"""The application context and its unit of work.

``Billfold`` holds the engine, who is acting and a clock (tests decide what "now" is).
``app.transaction()`` opens one database transaction: everything a use case writes, its journal
entries and its audit rows commit together or not at all.
"""

from __future__ import annotations

import gc
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from billfold.config import Settings, load_settings
from billfold.errors import Conflict, DatabaseUnavailable, ImmutableRecord
from billfold.store.audit import AuditEvent, append_events
from billfold.store.db import make_engine, read_only, safe_url
from billfold.store.migrate import require_current_schema


def utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def collector_paused() -> Iterator[None]:
    """For a bulk step (a cash-matching run, a billing batch): Python's cyclic garbage collector
    paused. Such a step builds millions of small objects (rows, index entries, proposals, lines),
    almost none of them in reference cycles; the collector would walk them, and everything else
    the process holds, again and again (a third of a cash run at 10,000 receipts). Reference
    counting still frees them at once; the collector resumes when the step is over, on this
    thread or any other (the pause is process-wide, and as long as the step)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Tx:
    """One unit of work: a connection inside a transaction, plus the audit events it produced."""

    conn: Connection
    actor: str
    now: datetime
    events: list[AuditEvent] = field(default_factory=list)
    cache: dict[object, Any] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_ref: object,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self.events.append(
            AuditEvent(self.actor, action, entity_type, str(entity_ref), before, after)
        )

    def flush_audit(self) -> None:
        """Chain the audit events so far onto the log now, inside the transaction (the rows and
        hashes are those the commit would have written): for a bulk step, whose events would
        otherwise all wait in memory until the end."""
        append_events(self.conn, self.now.isoformat(), self.events)
        self.events.clear()


@dataclass
class Billfold:
    """What every service needs: the database, the acting user and the clock."""

    engine: Engine
    actor: str = "system"
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        actor: str | None = None,
        check_schema: bool = True,
        settings: Settings | None = None,
    ) -> Billfold:
        settings = settings or load_settings()
        engine = make_engine(url or settings.database_url)
        if check_schema:
            require_current_schema(engine)
        return cls(engine, actor or settings.actor or _os_user())

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Commit if the block finishes, roll back if it raises; audit rows commit with it."""
        try:
            with self.engine.begin() as conn:
                tx = Tx(conn, self.actor, self.clock())
                yield tx
                tx.flush_audit()
        except DBAPIError as exc:
            raise _database_error(exc, str(self.engine.url)) from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection for reports (no audit, no writes): it sees the last commit and
        never holds up a writer (SQLite: no write lock; PostgreSQL: a READ ONLY transaction)."""
        with self.engine.connect() as conn, read_only(conn):
            yield conn


def _database_error(exc: DBAPIError, url: str) -> Exception:
    """Turn a driver error into a BillfoldError a user can act on (or re-raise it unchanged)."""
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "append-only" in message:
        return ImmutableRecord(message.removeprefix("ERROR:").strip())
    if isinstance(exc, IntegrityError):
        return Conflict(f"the database refused the change: {message}")
    if exc.connection_invalidated:
        return DatabaseUnavailable(f"lost the database {safe_url(url)}: {message}")
    return exc


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user database in some containers
        return "unknown"
