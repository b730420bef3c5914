"""The generated AR history of the aging benchmark, written straight to the database.

``items`` invoices issued day by day from 2025-01-01 to the as-of date, ~50 per customer, each
with its journal entry and its debit on the AR control account; ``postings - items`` receipts
(one entry, one AR credit each) spread over the items in a fixed rotation (0, 2, 4, 6 or 8
payments when the average is 4), so 20 % of the items are unpaid and half of the items with the
most payments are settled in full: ~90 % of the items are open on the as-of date. One customer in
ten bills in USD, one in ten in GBP (functional amounts in EUR at a fixed rate), terms of 14 to
60 days. Rows go in chunks, in date order within a chunk, with the driver directly (SQLite:
``executemany`` with ``synchronous=OFF`` and foreign keys off; PostgreSQL: ``COPY`` with
``session_replication_role = replica``, i.e. no foreign-key triggers): the data is consistent
by construction, and the load is not what is measured.
"""

from __future__ import annotations

import importlib
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import psycopg
from benchmarks.benchlib import SELLER, initialise_seller
from sqlalchemy import Table, select
from sqlalchemy.engine import make_url

from billfold.services.context import Billfold
from billfold.store.tables import (
    accounts,
    customers,
    invoices,
    journal_entries,
    legal_entities,
    postings,
)

ENTITY = SELLER
START = date(2025, 1, 1)
AS_OF = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
SPAN_DAYS = (AS_OF - START).days
ITEMS_PER_CUSTOMER = 50
CHUNK_ITEMS = 50_000
TERMS_DAYS = (14, 30, 30, 45, 60)
RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}  # EUR per unit, fixed


def customer_count(items: int) -> int:
    return max(1, items // ITEMS_PER_CUSTOMER)


def currency_of(customer: int) -> str:
    return "USD" if customer % 10 == 0 else "GBP" if customer % 10 == 1 else "EUR"


def split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` that add up to it (the remainder on the first ones)."""
    base, rest = divmod(total, parts)
    return [base + (1 if k < rest else 0) for k in range(parts)]


@dataclass(frozen=True)
class Plan:
    """How many payments each item gets: ``avg + offset[i % 5] (+1 for the first ones)``."""

    items: int
    postings: int

    @property
    def extra(self) -> int:
        return max(0, self.postings - self.items)

    def payments(self, i: int) -> int:
        avg, rest = divmod(self.extra, self.items)
        half = avg // 2
        offsets = (-avg, -half, 0, half, avg)
        k = avg + offsets[i % 5] + (1 if i < rest else 0)
        if i == self.items - 1:  # whatever the rotation left over, so the total is exact
            k += self.extra - self._rotation_total()
        return max(0, k)

    def settled(self, i: int, k: int) -> bool:
        """Half of the items with the most payments are paid in full (10 % of all items)."""
        return k > 0 and i % 5 == 4 and i % 2 == 0

    def _rotation_total(self) -> int:
        avg, rest = divmod(self.extra, self.items)
        half = avg // 2
        offsets = (-avg, -half, 0, half, avg)
        return self.items * avg + rest + sum(offsets[: self.items % 5])


@dataclass
class Rows:
    invoices: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    postings: list[tuple[Any, ...]] = field(default_factory=list)


INVOICE_COLUMNS = [
    "id",
    "entity_id",
    "customer_id",
    "doc_type",
    "status",
    "series",
    "number",
    "draft_ref",
    "currency",
    "functional_currency",
    "fx_rate",
    "rounding",
    "tax_rounding",
    "price_mode",
    "issue_date",
    "due_date",
    "payment_terms",
    "language",
    "net_minor",
    "tax_minor",
    "total_minor",
    "functional_total_minor",
    "entry_id",
    "created_at",
    "issued_at",
]
ENTRY_COLUMNS = [
    "id",
    "entity_id",
    "entry_date",
    "period",
    "description",
    "source_type",
    "source_ref",
    "created_at",
    "actor",
]
POSTING_COLUMNS = [
    "id",
    "entry_id",
    "line_no",
    "entity_id",
    "entry_date",
    "account_id",
    "currency",
    "amount_minor",
    "functional_minor",
    "customer_id",
    "item_type",
    "item_ref",
]
CUSTOMER_COLUMNS = [
    "id",
    "number",
    "name",
    "currency",
    "payment_terms",
    "fingerprint",
    "created_at",
    "updated_at",
]


class Ids:
    def __init__(self) -> None:
        self.entry = 0
        self.posting = 0


def history(plan: Plan, entity_id: int, ar_id: int, sqlite: bool) -> Iterator[Rows]:
    """The rows, ``CHUNK_ITEMS`` items at a time (dates as ISO text for SQLite)."""
    rng = random.Random(20261124)
    n_customers = customer_count(plan.items)
    ids = Ids()

    def day(d: date) -> Any:
        return d.isoformat() if sqlite else d

    now: Any = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else NOW
    for first in range(0, plan.items, CHUNK_ITEMS):
        rows = Rows()
        # (date, order, kind, item, customer, currency, amount, functional)
        events: list[tuple[date, int, str, int, int, str, int, int]] = []
        for i in range(first, min(plan.items, first + CHUNK_ITEMS)):
            customer = (i * 7919) % n_customers
            currency = currency_of(customer)
            issued = START + timedelta(days=i * SPAN_DAYS // plan.items)
            due = issued + timedelta(days=TERMS_DAYS[customer % len(TERMS_DAYS)])
            amount = rng.randint(5_000, 2_000_000)
            functional = round(amount * RATES[currency])
            number = f"INV-{i + 1:08d}"
            events.append((issued, 0, "invoice", i, customer, currency, amount, functional))
            rows.invoices.append(
                (
                    i + 1,
                    entity_id,
                    customer + 1,
                    "invoice",
                    "issued",
                    "INV",
                    number,
                    f"bench:{i}",
                    currency,
                    "EUR",
                    str(RATES[currency]),
                    "half-up",
                    "line",
                    "net",
                    day(issued),
                    day(due),
                    f"NET{TERMS_DAYS[customer % len(TERMS_DAYS)]}",
                    "en",
                    amount,
                    0,
                    amount,
                    functional,
                    None,  # entry id, filled in below
                    now,
                    now,
                )
            )
            k = plan.payments(i)
            if k == 0:
                continue
            share = 1.0 if plan.settled(i, k) else rng.uniform(0.3, 0.95)
            paid = amount if share == 1.0 else int(amount * share)
            fpaid = functional if share == 1.0 else round(paid * RATES[currency])
            left = (AS_OF - issued).days  # paid 3-120 days later, never after the as-of date
            days = sorted(
                issued + timedelta(days=rng.randint(min(3, left), min(120, left))) for _ in range(k)
            )
            for d, a, f in zip(days, split(paid, k), split(fpaid, k), strict=True):
                events.append((d, 1, "receipt", i, customer, currency, -a, -f))
        events.sort(key=lambda e: (e[0], e[1], e[3]))
        invoice_entry: dict[int, int] = {}
        for d, _, kind, i, customer, currency, amount, functional in events:
            ids.entry += 1
            ids.posting += 1
            ref = f"INV-{i + 1:08d}"
            rows.entries.append(
                (
                    ids.entry,
                    entity_id,
                    day(d),
                    d.strftime("%Y-%m"),
                    f"{kind} {ref}",
                    kind,
                    ref if kind == "invoice" else f"R-{ids.entry}",
                    now,
                    "bench",
                )
            )
            rows.postings.append(
                (
                    ids.posting,
                    ids.entry,
                    1,
                    entity_id,
                    day(d),
                    ar_id,
                    currency,
                    amount,
                    functional,
                    customer + 1,
                    "invoice",
                    ref,
                )
            )
            if kind == "invoice":
                invoice_entry[i + 1] = ids.entry
        rows.invoices = [(*r[:22], invoice_entry[r[0]], *r[23:]) for r in rows.invoices]
        yield rows


def customer_rows(n: int, sqlite: bool) -> list[tuple[Any, ...]]:
    now: Any = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else NOW
    return [
        (
            c + 1,
            f"C{c:06d}",
            f"Customer {c}",
            currency_of(c),
            f"NET{TERMS_DAYS[c % len(TERMS_DAYS)]}",
            f"{c:064d}",
            now,
            now,
        )
        for c in range(n)
    ]


class Loader(Protocol):
    def insert(self, table: Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


def ar_backfill() -> list[str]:
    """The SQL with which migrations 0007 and 0010 fill the AR balances of an existing
    database (per item and day, then per customer and currency)."""
    statements: list[str] = []
    for name in ("0007_ar_balances", "0010_ar_customer_balances"):
        migration = importlib.import_module(f"billfold.store.migrations.versions.{name}")
        statements += migration.BACKFILL
    return statements


class SqliteLoader:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode = WAL",
            "synchronous = OFF",
            "foreign_keys = OFF",
            "cache_size = -1000000",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN")

    def insert(self, table: Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.execute("COMMIT")
        # written with the driver, past the ledger that keeps the AR balances on SQLite
        for statement in ar_backfill():
            self.conn.execute(statement)
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


class PostgresLoader:
    def __init__(self, url: str) -> None:
        u = make_url(url)
        self.conn = psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
        )
        self.conn.execute("SET session_replication_role = replica")  # no triggers: FKs, AR balances

    def insert(self, table: Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.commit()
        self.conn.autocommit = True
        for table in (customers, invoices, journal_entries, postings):
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
        # the loader bypassed the triggers (replica role) that keep the AR balances
        for statement in ar_backfill():
            self.conn.execute(statement)
        self.conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
        self.conn.close()


def generate(url: str, items: int, n_postings: int) -> dict[str, Any]:
    """Create the schema and load the history; returns counts and timings."""
    started = time.perf_counter()
    app: Billfold = initialise_seller(url)
    with app.reading() as conn:
        entity_id = conn.execute(
            select(legal_entities.c.id).where(legal_entities.c.code == ENTITY)
        ).scalar_one()
        ar_id = conn.execute(
            select(accounts.c.id).where(accounts.c.role == "ar_control")
        ).scalar_one()
    sqlite = app.engine.dialect.name == "sqlite"
    app.engine.dispose()
    loader: Loader = SqliteLoader(make_url(url).database or "") if sqlite else PostgresLoader(url)
    counts = {"customers": customer_count(items), "invoices": 0, "entries": 0, "postings": 0}
    loader.insert(customers, CUSTOMER_COLUMNS, customer_rows(counts["customers"], sqlite))
    for rows in history(Plan(items, n_postings), entity_id, ar_id, sqlite):
        loader.insert(journal_entries, ENTRY_COLUMNS, rows.entries)
        loader.insert(postings, POSTING_COLUMNS, rows.postings)
        loader.insert(invoices, INVOICE_COLUMNS, rows.invoices)
        loader.commit()
        counts["invoices"] += len(rows.invoices)
        counts["entries"] += len(rows.entries)
        counts["postings"] += len(rows.postings)
    loader.close()
    return {"seconds": round(time.perf_counter() - started, 1), "rows": counts, "ar_id": ar_id}
