"""Cash application on generated bank files: quality against ground truth, two baselines, speed.

Data: ``cashgen.generate`` (seeded) -- two legal entities, customers with groups and aliases,
invoices issued over the months before a four-week window (those paid before it are history),
legacy open items, and receipts in the standard messy mix of ``cashgen.MIX``; ``cashgen_files``
renders the window's receipts as daily camt.053/054, MT940, BAI2, NACHA CCD+/CTX, X12 820 and
payout CSV files.

1. Quality, through the real path, on a fresh SQLite database (default 5,000 receipts against
   10,000 open invoices): customers by ``import_customers``; every invoice by
   ``invoicing.create_drafts`` + ``issue`` (gapless numbers, journal entries; 2/10 NET30 terms
   where the customer has them), carried-over items by ``open_items.import_open_items``; bank
   accounts by ``entities.add_bank_account``. The history's payments are booked
   (``import_parsed``) and matched first, so the invoices they pay close and payer accounts are
   learned. Then, day by day, the day's files go through ``import_bank_file`` and
   ``match_receipts`` runs. The automatic applications (table ``cash_applications``) and open
   suggestions (``cash_suggestions``) are compared with the truth: automatic share (receipts with
   an automatic application / all receipts; target >= 95 %), wrong automatic applications
   (allocations that differ from the truth / automatic receipts; target < 0.1 %), suggestions
   and how often they are right; overall and per scenario, variant, channel and payer kind.
2. Baselines on the same receipts (the parsed files, de-duplicated like the importer does) and
   open items, pure Python: amount only (exactly one open item of anyone has the amount) and
   exact reference and amount (invoice numbers written exactly, amount equal to their open
   amount). The pure matcher on the same data is reported next to them.
3. Throughput (default 20,000 receipts against 40,000 open items; the issue's figure is
   ``--receipts 100000 --invoices 200000``): ``MatchIndex.build`` + ``match`` over every receipt
   in-process, receipts per second and the projected time for 100,000; and the whole
   ``match_receipts`` service (DB reads, postings, audit) in one run over every receipt, on a
   fresh database per ``--engines`` (SQLite, PostgreSQL when reachable at
   ``BILLFOLD_BENCH_POSTGRES_URL``) seeded with the open items, at ``--service-receipts / 2`` and
   ``--service-receipts`` (default 10,000); the growth between the two sizes gives the exponent
   of the projection to 100,000 (a linear projection would hide the quadratic parts).

``cashbench_eval.run_matcher`` and ``build_indexes`` take a variant of ``match`` and
``MatchIndex.build``, so a change to the matcher can be measured on the same data before it is
made (``--check`` exits 1 when a target is missed).

Results: a Rich table and ``bench-output/cash_matching.json`` (with per-scenario breakdowns, the
most frequent reasons behind misses and wrong applications, and examples of the wrong ones).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_issue_invoices import postgres_admin, postgres_databases
from benchmarks.benchlib import cpu_reference_seconds, initialise_seller
from benchmarks.cashbench_eval import (
    Outcome,
    amount_only,
    build_indexes,
    exact_reference,
    parse_files,
    run_matcher,
    score,
)
from benchmarks.cashgen import (
    ACCOUNTS,
    ENTITY_US,
    MIX,
    GenConfig,
    World,
    generate,
)
from benchmarks.cashgen_files import OutFile, all_files
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from billfold.domain.matching import Policy
from billfold.domain.payments import BankEntry, BankFile, Statement
from billfold.formats.invoice_json import InvoiceRequest, LineRequest
from billfold.services import cash_apply, catalog, entities, fx, invoicing
from billfold.services.cash_import import import_bank_file, import_parsed
from billfold.services.context import Billfold
from billfold.services.customers import import_customers
from billfold.services.entities import NewEntity
from billfold.services.open_items import import_open_items
from billfold.store.tables import (
    cash_applications,
    cash_suggestions,
    customers,
    invoices,
    receipts,
)

TARGET_AUTO = 0.95
TARGET_WRONG = 0.001
TARGET_SECONDS_100K = 60.0
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
OUT = Path("bench-output") / "cash_matching.json"
BATCH = 2_000

console = Console(width=None if sys.stdout.isatty() else 120)


# --- seeding -----------------------------------------------------------------------------------

PRODUCTS_CSV = (
    "sku,description,unit_code,kind,tax_class,exemption_reason,revenue_account,family\n"
    "SVC,Services,C62,services,exempt,Exempt supply (benchmark data),4000,services\n"
)


def customers_csv(world: World) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "number",
            "name",
            "legal_form",
            "currency",
            "payment_terms",
            "parent_number",
            "language",
            "bill_to_country",
            "bill_to_city",
            "bill_to_region",
            "aliases",
        ]
    )
    # parents first is not required, but keeps the file readable
    for c in sorted(world.customers, key=lambda c: (c.parent is not None, c.number)):
        alias = c.trade_name if c.trade_name and c.alias_registered else ""
        region = "WA" if c.country == "US" else ""
        w.writerow(
            [
                c.number,
                c.name,
                c.legal_form,
                c.currency,
                c.terms,
                c.parent or "",
                c.language,
                c.country,
                "Seattle" if c.country == "US" else "Berlin",
                region,
                alias,
            ]
        )
    return out.getvalue().encode()


def rates_csv() -> bytes:
    rows = ["date,base,quote,rate"]
    day = date(2025, 12, 1)
    while day <= date(2026, 12, 31):
        if day.weekday() < 5:
            rows += [f"{day},EUR,USD,1.0850", f"{day},EUR,GBP,0.8640"]
        day += timedelta(days=1)
    return ("\n".join(rows) + "\n").encode()


def open_items_csv(world: World, *, all_open: bool) -> bytes:
    """Carried-over items (``all_open``: every open item, for the throughput database)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "number",
            "customer_number",
            "issue_date",
            "due_date",
            "currency",
            "open_amount",
            "po_number",
            "entity",
        ]
    )
    for inv in world.open_invoices:
        if inv.origin == "carried_over" or all_open:
            w.writerow(
                [
                    inv.number,
                    inv.customer,
                    inv.issue_date,
                    inv.due_date,
                    inv.currency,
                    f"{Decimal(inv.amount_minor).scaleb(-2):.2f}",
                    inv.po_number or "",
                    inv.entity,
                ]
            )
    return out.getvalue().encode()


def seed_master_data(url: str, world: World) -> Billfold:
    app = initialise_seller(url)
    app.clock = lambda: NOW
    with app.transaction() as tx:
        entities.create_entity(
            tx,
            NewEntity(
                ENTITY_US,
                "Acme Americas Inc.",
                "US",
                "USD",
                address_line1="1 Pine St",
                city="Seattle",
                postal_code="98101",
                region="WA",
            ),
            ["12-3456789"],
        )
        for a in ACCOUNTS.values():
            entities.add_bank_account(
                tx,
                a.entity,
                a.iban,
                a.bic,
                a.bank_name,
                a.currency,
                a.account_number,
                a.routing_number,
            )
        fx.import_rates(tx, rates_csv(), "rates.csv")
        catalog.import_products(tx, PRODUCTS_CSV.encode(), "products.csv")
        import_customers(tx, customers_csv(world), "customers.csv")
    return app


def issue_invoices(app: Billfold, world: World) -> dict[str, Any]:
    """Every issued invoice (history and open) by create_drafts + issue, in the generator's
    order, so the gapless numbers are the ones the receipts quote; then the legacy items."""
    issued = [i for i in world.invoices if i.origin == "issued"]
    started = time.perf_counter()
    mismatches = 0
    for start in range(0, len(issued), BATCH):
        chunk = issued[start : start + BATCH]
        requests = [
            InvoiceRequest(
                entity=i.entity,
                customer=i.customer,
                issue_date=i.issue_date,
                lines=(
                    LineRequest(
                        quantity=Decimal(1),
                        sku="SVC",
                        unit_price=Decimal(i.amount_minor).scaleb(-2),
                        description="Services",
                    ),
                ),
                ref=f"bench:{i.entity}:{i.number}",
                currency=i.currency,
                payment_terms=i.terms,
                po_number=i.po_number,
                where=f"invoice {i.number}",
            )
            for i in chunk
        ]
        with app.transaction() as tx:
            ids = invoicing.create_drafts(tx, requests, source="bench").created
            invoicing.issue(tx, ids)
            got = tx.conn.execute(
                select(invoices.c.draft_ref, invoices.c.number).where(invoices.c.id.in_(ids))
            ).all()
        mismatches += sum(ref.rsplit(":", 1)[1] != number for ref, number in got)
    seconds = time.perf_counter() - started
    if mismatches:
        raise RuntimeError(f"{mismatches} issued numbers differ from the generator's")
    with app.transaction() as tx:
        legacy = import_open_items(tx, open_items_csv(world, all_open=False), "open-items.csv")
    return {"issued": len(issued), "carried_over": legacy.created, "seconds": round(seconds, 2)}


def history_files(world: World) -> list[tuple[str, BankFile]]:
    """The history's payments as one in-memory statement per account and week."""
    by_account: dict[str, dict[str, list[BankEntry]]] = defaultdict(lambda: defaultdict(list))
    for r in world.history:
        week = r.value_date.strftime("%G-W%V")
        by_account[r.account][week].append(
            BankEntry(
                amount=Decimal(r.credited_minor).scaleb(-2),
                currency=r.currency,
                value_date=r.value_date,
                reference=r.bank_ref,
                payer_name=r.payer_name,
                payer_account=r.payer_account,
                text=r.text,
            )
        )
    out = []
    for key, weeks in by_account.items():
        acct = ACCOUNTS[key]
        statements = tuple(
            Statement(f"HIST-{key}-{week}", acct.id, acct.currency, tuple(entries))
            for week, entries in sorted(weeks.items())
        )
        out.append((f"history-{key}", BankFile("camt.053", statements, f"HIST-{key}")))
    return out


def warm_up(app: Billfold, world: World) -> dict[str, Any]:
    """Book and match the history; check it closed exactly the history invoices."""
    started = time.perf_counter()
    for name, parsed in history_files(world):
        with app.transaction() as tx:
            import_parsed(tx, parsed, name, name)
    with app.transaction() as tx:
        run = cash_apply.match_receipts(tx)
    seconds = time.perf_counter() - started
    with app.reading() as conn:
        ids = dict(conn.execute(select(customers.c.id, customers.c.number)).all())
        items, _ = cash_apply.load_open_items(conn)
    found = {(ids[i.customer_id], i.number, i.open_minor) for i in items}
    expected = {(i.customer, i.number, i.amount_minor) for i in world.open_invoices}
    return {
        "receipts": run.receipts,
        "applied": run.applied,
        "suggested": run.suggested,
        "unmatched": run.unmatched,
        "open_items_as_expected": found == expected,
        "open_items_missing": len(expected - found),
        "open_items_unexpected": len(found - expected),
        "seconds": round(seconds, 2),
    }


# --- the evaluation window through the service ------------------------------------------------


@dataclass
class WindowRun:
    files: int = 0
    receipts: int = 0
    duplicates: int = 0
    already_imported: int = 0
    advices: int = 0
    import_seconds: float = 0.0
    match_seconds: float = 0.0
    match_runs: int = 0
    receipts_matched: int = 0  # over all runs (unapplied receipts are matched again each day)
    by_format: dict[str, int] = field(default_factory=dict)


def run_window(app: Billfold, days: Sequence[tuple[date, Sequence[OutFile]]]) -> WindowRun:
    out = WindowRun()
    for _day, files in days:
        started = time.perf_counter()
        for f in files:
            with app.transaction() as tx:
                result = import_bank_file(tx, f.data, f.name)
            out.files += 1
            out.receipts += result.receipts
            out.duplicates += result.duplicates
            out.advices += result.advices
            out.by_format[result.format] = out.by_format.get(result.format, 0) + 1
        out.import_seconds += time.perf_counter() - started
        started = time.perf_counter()
        with app.transaction() as tx:
            run = cash_apply.match_receipts(tx)
        out.match_seconds += time.perf_counter() - started
        out.match_runs += 1
        out.receipts_matched += run.receipts
    first = next(f for _d, fs in days for f in fs if f.fmt == "camt.053")
    with app.transaction() as tx:  # the bank sends a statement again
        out.already_imported += import_bank_file(
            tx, first.data, "resent-" + first.name
        ).already_imported
    return out


def db_outcomes(app: Billfold, world: World) -> tuple[dict[int, Outcome], int]:
    """Automatic applications and open suggestions per generated receipt; and how many
    receipts in the database are no generated receipt (must be 0)."""
    by_ref = {r.bank_ref: r.key for r in world.receipts}
    out: dict[int, Outcome] = {}
    unknown = 0
    with app.reading() as conn:
        numbers = dict(conn.execute(select(customers.c.id, customers.c.number)).all())
        key_of: dict[int, int] = {}
        for rid, ref in conn.execute(select(receipts.c.id, receipts.c.reference)):
            if ref in by_ref:
                key_of[rid] = by_ref[ref]
                out[by_ref[ref]] = Outcome()
            elif not ref.startswith("HI"):
                unknown += 1
        apps = conn.execute(
            select(cash_applications).where(
                cash_applications.c.automatic.is_(True), cash_applications.c.reverses_id.is_(None)
            )
        ).all()
        for a in apps:
            if a.receipt_id not in key_of:
                continue
            o = out[key_of[a.receipt_id]]
            ref = numbers[a.customer_id] if a.kind == "on_account" else a.item_ref
            o.auto.append((a.kind, ref, a.amount_minor))
            o.reason, o.confidence = a.reason, a.confidence
        for s in conn.execute(select(cash_suggestions).where(cash_suggestions.c.status == "open")):
            if s.receipt_id not in key_of:
                continue
            o = out[key_of[s.receipt_id]]
            if o.auto:
                continue
            o.suggestion = [
                (
                    a["kind"],
                    numbers.get(a["customer_id"], "?")
                    if a["kind"] == "on_account"
                    else a["item_ref"],
                    a["amount_minor"],
                )
                for a in json.loads(s.proposal)
            ]
            o.reason, o.confidence = s.reason, s.confidence
    return out, unknown


def quality(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cfg = GenConfig(args.customers, args.invoices, args.receipts_quality, args.seed)
    started = time.perf_counter()
    world = generate(cfg)
    days = all_files(world)
    gen_seconds = time.perf_counter() - started
    console.log(
        f"quality: {len(world.receipts):,} receipts, {len(world.open_invoices):,} open invoices "
        f"({len(world.history):,} paid before the window), {sum(len(f) for _, f in days)} files"
    )
    url = f"sqlite:///{tmp / 'quality.db'}"
    app = seed_master_data(url, world)
    invoices = issue_invoices(app, world)
    console.log(f"quality: {invoices['issued']:,} invoices issued in {invoices['seconds']} s")
    history = warm_up(app, world)
    console.log(
        f"quality: history of {history['receipts']:,} payments matched in {history['seconds']} s"
    )
    window = run_window(app, days)
    console.log(
        f"quality: {window.files} files imported in {window.import_seconds:.1f} s, "
        f"{window.match_runs} match runs in {window.match_seconds:.1f} s"
    )
    outcomes, unknown = db_outcomes(app, world)
    app.engine.dispose()
    parsed = parse_files(world, days)
    indexes = build_indexes(world)
    pure = run_matcher(parsed.receipts, indexes, world)
    expected_duplicates = sum(r.also_notified for r in world.receipts)
    return {
        "config": {
            "customers": cfg.n_customers,
            "open_invoices": cfg.n_invoices,
            "receipts": cfg.n_receipts,
            "seed": cfg.seed,
            "mix": MIX,
        },
        "generate_seconds": round(gen_seconds, 2),
        "invoices": invoices,
        "history": history,
        "window": vars(window)
        | {
            "expected_duplicates": expected_duplicates,
            "receipts_expected": len(world.receipts),
            "unknown_receipts": unknown,
        },
        "matcher": score(world, outcomes),
        "pure_matcher_same_data": score(world, pure)["overall"],
        "baselines": {
            "amount_only": score(world, amount_only(parsed.receipts, world)),
            "exact_reference_and_amount": score(world, exact_reference(parsed.receipts, world)),
        },
        "parsed": {
            "receipts": len(parsed.receipts),
            "duplicates": parsed.duplicates,
            "advices": parsed.advices,
            "advices_joined": parsed.advices_joined,
            "unknown": parsed.unknown,
            "files": parsed.files,
        },
    }


# --- throughput --------------------------------------------------------------------------------


def throughput_pure(args: argparse.Namespace) -> dict[str, Any]:
    cfg = GenConfig(max(args.invoices // 10, 100), args.invoices, args.receipts, args.seed + 7)
    started = time.perf_counter()
    world = generate(cfg)
    days = all_files(world)
    parsed = parse_files(world, days)
    prep = time.perf_counter() - started
    console.log(
        f"throughput: {len(parsed.receipts):,} receipts parsed, "
        f"{len(world.open_invoices):,} open items ({prep:.0f} s to generate, write and parse)"
    )
    started = time.perf_counter()
    indexes = build_indexes(world)
    build = time.perf_counter() - started
    started = time.perf_counter()
    outcomes = run_matcher(parsed.receipts, indexes, world)
    seconds = time.perf_counter() - started
    n = len(parsed.receipts)
    total = build + seconds
    scored = score(world, outcomes)["overall"]
    return {
        "receipts": n,
        "open_items": len(world.open_invoices),
        "customers": cfg.n_customers,
        "build_index_seconds": round(build, 3),
        "match_seconds": round(seconds, 3),
        "total_seconds": round(total, 3),
        "receipts_per_second": round(n / total, 1),
        "projected_seconds_100k": round(total * 100_000 / n, 1),
        "prepare_seconds": round(prep, 1),
        "quality": {k: scored[k] for k in ("auto_share", "wrong_share", "suggested_share")},
    }


def service_once(url: str, n: int, seed: int) -> dict[str, Any]:
    """``match_receipts`` over ``n`` receipts at once, on a fresh database seeded with ``2 n``
    open items (by ``import_open_items``) and the receipts imported from the generated files."""
    world = generate(GenConfig(max(2 * n // 10, 100), 2 * n, n, seed))
    days = all_files(world)
    app = seed_master_data(url, world)
    with app.transaction() as tx:
        import_open_items(tx, open_items_csv(world, all_open=True), "open-items.csv")
    started = time.perf_counter()
    for _day, files in days:
        for f in files:
            with app.transaction() as tx:
                import_bank_file(tx, f.data, f.name)
    imported = time.perf_counter() - started
    started = time.perf_counter()
    with app.transaction() as tx:
        run = cash_apply.match_receipts(tx)
    seconds = time.perf_counter() - started
    app.engine.dispose()
    return {
        "receipts": run.receipts,
        "open_items": len(world.open_invoices),
        "applied": run.applied,
        "suggested": run.suggested,
        "import_seconds": round(imported, 2),
        "seconds": round(seconds, 2),
        "receipts_per_second": round(run.receipts / seconds, 1),
    }


def throughput_service(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The service at ``n / 2`` and ``n`` receipts per engine; the growth between the two gives
    the exponent used to project 100,000 (a linear projection would hide quadratic parts)."""
    n = args.service_receipts
    out: dict[str, Any] = {}
    for engine in args.engines:
        if engine == "sqlite":
            urls = [f"sqlite:///{tmp / f'service-{k}.db'}" for k in (1, 2)]
            cleanup: list[Any] = []
        else:
            admin, problem = postgres_admin()
            if admin is None:
                out[engine] = {"skipped": f"PostgreSQL not reachable: {problem}"}
                continue
            dbs = [postgres_databases(admin, os.getpid() * 10 + k) for k in (1, 2)]
            urls, cleanup = [d.url for d in dbs], [d.cleanup for d in dbs]
        try:
            console.log(f"service throughput on {engine}: {n // 2:,} and {n:,} receipts")
            half, full = (
                service_once(u, size, args.seed + 11)
                for u, size in zip(urls, (n // 2, n), strict=True)
            )
        finally:
            for done in cleanup:
                done()
        growth = full["seconds"] / max(half["seconds"], 1e-9)
        exponent = max(
            math.log(growth) / math.log(full["receipts"] / max(half["receipts"], 1)), 1.0
        )
        out[engine] = {
            "half": half,
            "full": full,
            "exponent": round(exponent, 2),
            "projected_seconds_100k": round(
                full["seconds"] * (100_000 / full["receipts"]) ** exponent, 1
            ),
        }
    return out


# --- reporting ---------------------------------------------------------------------------------


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f} %"


def show(result: dict[str, Any]) -> None:
    q = result["quality"]
    m = q["matcher"]
    table = Table(
        title=f"Cash matching on the standard mix: {q['config']['receipts']:,} receipts, "
        f"{q['config']['open_invoices']:,} open invoices (SQLite, real import + match)"
    )
    for col in ("", "receipts", "automatic", "wrong of automatic", "suggested", "suggestion right"):
        table.add_column(col, justify="right" if col else "left")

    def row(label: str, d: dict[str, Any], style: str | None = None) -> None:
        table.add_row(
            label,
            f"{d['receipts']:,}",
            pct(d["auto_share"]),
            f"{pct(d['wrong_share'], 2)} ({d['wrong']})",
            pct(d["suggested_share"]),
            pct(d["suggestion_right_share"]),
            style=style,
        )

    row("matcher (all)", m["overall"], "bold")
    for name in MIX:
        if name in m["scenario"]:
            row(f"  {name} ({100 * MIX[name]:.0f} %)", m["scenario"][name])
    row("pure matcher, same data", q["pure_matcher_same_data"])
    for name, b in q["baselines"].items():
        row(f"baseline: {name.replace('_', ' ')}", b["overall"])
    console.print(table)
    auto, wrong = m["overall"]["auto_share"], m["overall"]["wrong_share"] or 0
    console.print(
        f"automatic {pct(auto)} (target >= {pct(TARGET_AUTO, 0)}): "
        f"{'[green]ok[/green]' if auto >= TARGET_AUTO else '[red]below target[/red]'}; "
        f"wrong {pct(wrong, 2)} (target < {pct(TARGET_WRONG, 1)}): "
        f"{'[green]ok[/green]' if wrong < TARGET_WRONG else '[red]above target[/red]'}"
    )
    t = Table(title="Throughput")
    for col in ("path", "receipts", "open items", "seconds", "receipts/s", "projected 100k"):
        t.add_column(col, justify="right" if col != "path" else "left")
    p = result.get("throughput_pure")
    if p is not None:
        t.add_row(
            "build_index + match (in-process)",
            f"{p['receipts']:,}",
            f"{p['open_items']:,}",
            f"{p['total_seconds']:.1f}",
            f"{p['receipts_per_second']:,.0f}",
            f"{p['projected_seconds_100k']:.1f} s "
            + (
                "[green]ok[/green]"
                if p["projected_seconds_100k"] <= TARGET_SECONDS_100K
                else "[red]over 60 s[/red]"
            ),
        )
    for engine, s in result.get("throughput_service", {}).items():
        if "skipped" in s:
            console.print(f"[yellow]service throughput on {engine}: {s['skipped']}[/yellow]")
            continue
        for size in ("half", "full"):
            x = s[size]
            projected = (
                f"{s['projected_seconds_100k']:.0f} s (n^{s['exponent']:.2f})"
                if size == "full"
                else ""
            )
            t.add_row(
                f"match_receipts service ({engine})",
                f"{x['receipts']:,}",
                f"{x['open_items']:,}",
                f"{x['seconds']:.1f}",
                f"{x['receipts_per_second']:,.0f}",
                projected,
            )
    w = q["window"]
    t.add_row(
        f"daily match_receipts x{w['match_runs']} (quality run)",
        f"{w['receipts_matched']:,}",
        f"{q['config']['open_invoices']:,}",
        f"{w['match_seconds']:.1f}",
        f"{w['receipts_matched'] / max(w['match_seconds'], 1e-9):,.0f}",
        "",
    )
    console.print(t)
    console.print("[bold]Most frequent reasons behind misses and wrong applications[/bold]")
    for scenario, reasons in m["miss_reasons"].items():
        console.print(f"  {scenario}:", highlight=False)
        for reason, count in reasons[:3]:
            console.print(f"    {count:4d}  {reason}", highlight=False, markup=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2_000, help="quality run customers")
    parser.add_argument("--quality-invoices", dest="invoices_quality", type=int, default=10_000)
    parser.add_argument("--quality-receipts", dest="receipts_quality", type=int, default=5_000)
    parser.add_argument("--receipts", type=int, default=20_000, help="throughput receipts")
    parser.add_argument("--invoices", type=int, default=40_000, help="throughput open items")
    parser.add_argument(
        "--service-receipts",
        type=int,
        default=10_000,
        help="match_receipts service throughput (0: skip)",
    )
    parser.add_argument("--engines", default="sqlite,postgresql", help="service throughput engines")
    parser.add_argument("--seed", type=int, default=20_261_102)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(args.engines) - {"sqlite", "postgresql"}:
        parser.error("engines are sqlite and postgresql")
    quality_args = argparse.Namespace(**{**vars(args), "invoices": args.invoices_quality})
    tmp = Path(tempfile.mkdtemp(prefix="bench_cash_"))
    result: dict[str, Any] = {
        "benchmark": "cash_matching",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "cpu_reference_seconds": cpu_reference_seconds(),
        "policy": {k: str(v) for k, v in asdict(Policy()).items()},
        "targets": {
            "auto_share": TARGET_AUTO,
            "wrong_share": TARGET_WRONG,
            "seconds_100k": TARGET_SECONDS_100K,
        },
    }
    try:
        if not args.skip_quality:
            result["quality"] = quality(quality_args, tmp)
        if args.receipts:  # 0: quality only
            result["throughput_pure"] = throughput_pure(args)
        if args.service_receipts:
            result["throughput_service"] = throughput_service(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if "quality" in result:
        show(result)
    console.print(f"results written to {args.out}")
    if args.receipts and args.receipts != 100_000:
        console.print(
            "the issue's throughput figure: .venv/bin/python benchmarks/bench_cash_matching.py "
            "--receipts 100000 --invoices 200000"
        )
    ok = _meets(result)
    return 1 if args.check and not ok else 0


def _meets(result: dict[str, Any]) -> bool:
    pure = result.get("throughput_pure")
    ok = pure is None or bool(pure["projected_seconds_100k"] <= TARGET_SECONDS_100K)
    if "quality" in result:
        m = result["quality"]["matcher"]["overall"]
        ok = ok and m["auto_share"] >= TARGET_AUTO and (m["wrong_share"] or 0) < TARGET_WRONG
    return ok


if __name__ == "__main__":
    sys.exit(main())
