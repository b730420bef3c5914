"""The generated world of the billing-run benchmark: customers and contracts of a realistic
mix (see ``bench_billing_run``), written with bulk inserts in chunks so memory stays flat."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.benchlib import SELLER, console, initialise_seller
from sqlalchemy import select, text

from billfold.services import catalog, entities
from billfold.store.bulk import bulk_insert
from billfold.store.db import make_engine
from billfold.store.tables import (
    contracts,
    customer_addresses,
    customer_contacts,
    customer_tax_ids,
    customers,
    legal_entities,
    milestone_completions,
    timesheet_entries,
    usage_records,
)

ENTITY = SELLER
RUN_DATE = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
OCTOBER = date(2026, 10, 1)
SEED_CHUNK = 20_000  # contracts per seeding transaction


# --- the generated world ---------------------------------------------------------------------

# Valid VAT numbers (the tax engine reads them; several customers share one).
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
LICENSE,Annual licence,ANN,services,standard,,4000,subscriptions
PLATFORM,Platform fee,MON,services,standard,,4000,subscriptions
API,API calls,C62,services,standard,,4000,usage
CONSULT,Consulting,HUR,services,standard,,4100,services
ONBOARD,Implementation project,C62,services,standard,,4100,services
"""
PRICINGS: tuple[dict[str, Any], ...] = (
    {"type": "per_unit", "unit_price": "0.002"},
    {
        "type": "graduated",
        "tiers": [
            {"up_to": "100000", "unit_price": "0.002"},
            {"up_to": None, "unit_price": "0.001"},
        ],
    },
    {
        "type": "volume",
        "tiers": [
            {"up_to": "50000", "unit_price": "0.003"},
            {"up_to": "250000", "unit_price": "0.002"},
            {"up_to": None, "unit_price": "0.0015"},
        ],
    },
    {"type": "package", "size": "1000", "price": "1.50"},
)
ROLES = ("consultant", "architect")


def customer_count(n: int) -> int:
    return max(1, n * 4 // 5)


def customer_of(i: int) -> int:
    """Contract ``i`` (0-based) belongs to customer ``4i // 5``: one payer in four has two."""
    return i * 4 // 5


def payer_of(i: int) -> int:
    """Every 25th contract is billed to another customer's account (a group parent)."""
    return customer_of(i - 13) if i % 25 == 24 else customer_of(i)


def kind_of(i: int) -> str:
    slot = i % 10
    if slot < 7:
        return "recurring"
    if slot < 9:
        return "usage"
    return "milestone" if (i // 10) % 2 == 0 else "time_and_materials"


@dataclass
class Chunk:
    """Rows for the seed, one chunk of contracts (with their customers)."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    tax_ids: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)
    timesheets: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)


def customer_rows(chunk: Chunk, first: int, last: int) -> None:
    """Customers ``first`` .. ``last - 1`` (ids are index + 1)."""
    for c in range(first, last):
        cid = c + 1
        country = COUNTRY_CYCLE[c % len(COUNTRY_CYCLE)]
        city, postal, language = PLACES[country]
        consumer = country != "DE" and (c // len(COUNTRY_CYCLE)) % 10 == 0
        chunk.customers.append(
            {
                "id": cid,
                "number": f"C{c:07d}",
                "name": f"Customer {c} {country}",
                "currency": "EUR",
                "payment_terms": TERMS[c % len(TERMS)],
                "delivery_channel": "email",
                "language": language,
                "on_hold": False,
                "in_collections": False,
                "fingerprint": hashlib.sha256(f"customer {c}".encode()).hexdigest(),
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        chunk.addresses.append(
            {
                "customer_id": cid,
                "role": "bill_to",
                "line1": f"Street {c}",
                "city": city,
                "postal_code": postal,
                "country": country,
            }
        )
        if not consumer:
            ids = VAT_IDS[country]
            chunk.tax_ids.append(
                {
                    "customer_id": cid,
                    "country": country,
                    "scheme": "VAT",
                    "number": ids[c % len(ids)],
                }
            )
        chunk.contacts.append(
            {
                "customer_id": cid,
                "role": "billing",
                "name": f"AP {c}",
                "email": f"ap{c}@customer.example",
            }
        )


def contract_spec(i: int, rng: random.Random, chunk: Chunk) -> tuple[dict[str, Any], date]:
    """The spec of contract ``i`` (as ``contracts_json`` reads it) and its start; usage
    records, timesheet entries and milestone completions go into ``chunk``."""
    cid = i + 1
    kind = kind_of(i)
    charges: list[dict[str, Any]]
    extra: dict[str, Any] = {}
    if kind == "recurring":
        start = date(2026, 10, 15) if i % 5 == 0 else RUN_DATE
        charges = [
            {
                "id": "sub",
                "kind": "recurring",
                "sku": "SUB-PRO",
                "description": "Pro subscription",
                "quantity": str(1 + i % 20),
                "unit_price": ("49.00", "29.00", "99.00")[i % 3],
                "frequency": "monthly",
                "timing": "advance",
                "alignment": "calendar",
            }
        ]
        if i % 3 == 0:
            charges.append(
                {
                    "id": "support",
                    "kind": "recurring",
                    "sku": "SUPPORT",
                    "description": "Support plan",
                    "unit_price": "19.00",
                    "frequency": "monthly",
                }
            )
        if i % 7 == 0:
            charges.append(
                {
                    "id": "licence",
                    "kind": "recurring",
                    "sku": "LICENSE",
                    "description": "Annual licence",
                    "unit_price": "1200.00",
                    "frequency": "annual",
                    "alignment": "anniversary",
                }
            )
    elif kind == "usage":
        start = OCTOBER
        usage: dict[str, Any] = {
            "id": "api",
            "kind": "usage",
            "sku": "API",
            "description": "API calls",
            "meter": "api_calls",
            "pricing": PRICINGS[(i // 10) % len(PRICINGS)],
        }
        if i % 3 == 0:
            usage["included"] = "10000"
        if i % 4 == 0:
            usage["minimum"] = "20.00"
        charges = [
            {
                "id": "platform",
                "kind": "recurring",
                "sku": "PLATFORM",
                "description": "Platform fee",
                "unit_price": "99.00",
                "start": RUN_DATE.isoformat(),
            },
            usage,
        ]
        for n in range(rng.randint(10, 200)):
            chunk.usage.append(
                {
                    "event_id": f"u{cid}-{n}",
                    "contract_id": cid,
                    "meter": "api_calls",
                    "quantity": str(rng.randint(1, 5_000)),
                    "usage_date": OCTOBER + timedelta(days=rng.randrange(31)),
                    "source_file": "usage-2026-10.csv",
                    "created_at": NOW,
                }
            )
    elif kind == "milestone":
        start = date(2026, 9, 1)
        extra["value"] = ("12000.00", "24000.00", "60000.00")[i % 3]
        charges = [
            {"id": m, "kind": "milestone", "sku": "ONBOARD", "description": m, "percent": p}
            for m, p in (("kickoff", "20"), ("go-live", "50"), ("acceptance", "30"))
        ]
        for m, day in (("kickoff", date(2026, 9, 20)), ("go-live", date(2026, 10, 25))):
            chunk.milestones.append(
                {
                    "contract_id": cid,
                    "charge_id": m,
                    "completed_on": day,
                    "created_at": NOW,
                    "actor": "bench",
                }
            )
    else:
        start = OCTOBER
        charges = [
            {
                "id": "consulting",
                "kind": "time_and_materials",
                "sku": "CONSULT",
                "description": "Consulting",
                "rate_card": {"consultant": "150.00", "architect": "210.00"},
            }
        ]
        for n in range(rng.randint(5, 20)):
            chunk.timesheets.append(
                {
                    "entry_id": f"t{cid}-{n}",
                    "contract_id": cid,
                    "charge_id": "consulting",
                    "person": f"Person {n % 4}",
                    "role": ROLES[rng.randrange(2)],
                    "work_date": OCTOBER + timedelta(days=rng.randrange(31)),
                    "hours": ("1.5", "4", "6.25", "8")[rng.randrange(4)],
                    "approved_by": "pm@acme.example",
                    "source_file": "timesheets-2026-10.csv",
                    "created_at": NOW,
                }
            )
    spec = {
        "number": f"K{i:07d}",
        "entity": ENTITY,
        "customer": f"C{customer_of(i):07d}",
        "bill_to": f"C{payer_of(i):07d}",
        "currency": "EUR",
        "start": start.isoformat(),
        "charges": charges,
        **extra,
    }
    return spec, start


def seed_chunks(n: int, entity_id: int) -> Iterator[Chunk]:
    rng = random.Random(20261101)
    done_customers = 0
    for first in range(0, n, SEED_CHUNK):
        last = min(n, first + SEED_CHUNK)
        chunk = Chunk()
        wanted = customer_count(n) if last == n else customer_of(last - 1) + 1
        customer_rows(chunk, done_customers, wanted)
        done_customers = wanted
        for i in range(first, last):
            spec, start = contract_spec(i, rng, chunk)
            raw = json.dumps(spec, sort_keys=True)
            chunk.contracts.append(
                {
                    "id": i + 1,
                    "number": spec["number"],
                    "entity_id": entity_id,
                    "customer_id": customer_of(i) + 1,
                    "bill_to_id": payer_of(i) + 1,
                    "currency": "EUR",
                    "start_date": start,
                    "end_date": None,
                    "status": "active",
                    "spec": raw,
                    "fingerprint": hashlib.sha256(raw.encode()).hexdigest(),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        yield chunk


# --- seeding (own process) -------------------------------------------------------------------


def seed(url: str, n: int) -> dict[str, Any]:
    """Schema, entity, catalog through the services; customers, contracts and their usage,
    timesheets and milestone completions with bulk inserts. Returns counts and timings."""
    started = time.perf_counter()
    app = initialise_seller(url)
    app.clock = lambda: NOW
    with app.transaction() as tx:
        entities.add_bank_account(tx, ENTITY, "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
        catalog.import_products(tx, PRODUCTS_CSV.encode(), "products.csv")
        entity_id = tx.conn.execute(
            select(legal_entities.c.id).where(legal_entities.c.code == ENTITY)
        ).scalar_one()
    app.engine.dispose()
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    counts: dict[str, int] = {}
    tables = (
        ("customers", customers),
        ("addresses", customer_addresses),
        ("tax_ids", customer_tax_ids),
        ("contacts", customer_contacts),
        ("contracts", contracts),
        ("usage", usage_records),
        ("timesheets", timesheet_entries),
        ("milestones", milestone_completions),
    )
    with engine.connect() as conn:
        if sqlite:  # the seed is not what is measured: no fsync
            dbapi = conn.connection.driver_connection
            assert dbapi is not None
            dbapi.execute("PRAGMA synchronous = OFF")
        for done, chunk in enumerate(seed_chunks(n, entity_id), start=1):
            with conn.begin():
                for attr, table in tables:
                    rows = getattr(chunk, attr)
                    bulk_insert(conn, table, rows)
                    counts[table.name] = counts.get(table.name, 0) + len(rows)
            if done % 10 == 0:
                console.log(f"seeded {done * SEED_CHUNK:,} contracts")
        with conn.begin():
            if sqlite:
                conn.exec_driver_sql("PRAGMA optimize")
            else:
                for table in (customers, contracts):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
        if not sqlite:
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"seconds": round(time.perf_counter() - started, 1), "rows": counts}
