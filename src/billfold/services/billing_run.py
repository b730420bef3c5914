"""The billing run: every charge due up to a date, across all contracts, as draft invoices.

Exactly once by construction and by the database: every line carries the keys it consumes
(contract charge and service period, usage period, timesheet entries, milestone, shipment), and
``billed_charges`` takes each key once (primary key). A run skips what is billed, so re-running
a date bills nothing twice, a run after skipped dates catches up every missed period once, and
a backfill bills only what is missing. Contracts are processed in batches, each batch one
transaction (drafts and keys together), ordered by bill-to so a payer's lines consolidate: a
run killed half-way keeps its finished batches, and the next run finishes the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, insert, select, update

from billfold.billing.engine import due_lines, usage_requests
from billfold.billing.errors import PurchaseOrderExceeded
from billfold.billing.model import BillableLine
from billfold.errors import BillfoldError
from billfold.formats.invoice_json import InvoiceRequest, LineRequest
from billfold.money import Money
from billfold.services import lookups
from billfold.services.billing_inputs import approved_timesheets, usage_totals
from billfold.services.context import Billfold, Tx, collector_paused
from billfold.services.contracts import ContractModel, billed_keys, load_models
from billfold.services.invoicing import DraftPlan, plan_drafts, write_drafts
from billfold.services.ledger import ensure_open
from billfold.services.planners import planned, planners_for
from billfold.store.bulk import in_chunks, insert_tuples, values_in
from billfold.store.tables import (
    billed_charges,
    billing_runs,
    contracts,
    customers,
    products,
    shipments,
)

BATCH = 500
PLANNERS_FROM_BATCHES = 16  # a shorter run plans in its own process (it would gain little)


@dataclass
class RunResult:
    run_id: int
    contracts: int = 0
    drafts: int = 0
    lines: int = 0
    holds: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def run_billing(
    app: Billfold,
    run_date: date,
    entity: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
    planners: int | None = None,
) -> RunResult:
    """Bill everything due up to ``run_date``; returns what the run created and held.

    ``planners``: worker processes that plan the next batches while this one writes (see
    ``planners``; default: one per core for a long run, none for a short one; 0: none).
    """
    with app.transaction() as tx:
        ent = lookups.entity(tx, entity) if entity else None
        entities = [ent] if ent else lookups.all_entities(tx.conn)
        for e in entities:  # invoices dated in a closed period: refuse before doing anything
            ensure_open(tx, e.id, e.code, [run_date])
        run_id = int(
            tx.conn.execute(
                insert(billing_runs)
                .values(
                    run_date=run_date,
                    entity_id=ent.id if ent else None,
                    status="running",
                    started_at=tx.now,
                    actor=tx.actor,
                )
                .returning(billing_runs.c.id)
            ).scalar_one()
        )
        q = (
            select(contracts.c.id, contracts.c.bill_to_id)
            .where(contracts.c.status == "active", contracts.c.start_date <= run_date)
            .order_by(contracts.c.bill_to_id, contracts.c.id)
        )
        if ent:
            q = q.where(contracts.c.entity_id == ent.id)
        pairs = [(r[0], r[1]) for r in tx.conn.execute(q)]
        ids = [cid for cid, _ in pairs]
        tx.audit("start", "billing_run", run_id, after={"date": run_date, "contracts": len(ids)})
    result = RunResult(run_id)
    kill_after = int(os.environ.get("BILLFOLD_TEST_KILL_AFTER_BATCHES", "0"))
    batches = _payer_batches(pairs, batch)
    workers = planners_for(app.engine, planners, len(batches), PLANNERS_FROM_BATCHES)
    tasks = [(run_id, run_date, chunk) for chunk in batches]
    with planned(app.engine, app.actor, app.clock(), plan_batch, tasks, workers) as plans:
        for n, (chunk, plan) in enumerate(zip(batches, plans, strict=True), start=1):
            with collector_paused(), app.transaction() as tx:
                if plan is None:  # no planners: plan in the batch's own transaction
                    plan = plan_batch(tx, run_id, run_date, chunk)
                write_batch(tx, run_id, plan, result)
            if n & (n - 1) == 0 and app.engine.dialect.name == "postgresql":
                _refresh_statistics(app, READ_BACK)  # after batches 1, 2, 4, 8, ...
            if progress is not None:
                progress(len(chunk))
            if kill_after and n >= kill_after:  # tests: a real crash in the middle of a run
                os.kill(os.getpid(), signal.SIGKILL)
    if pairs and app.engine.dialect.name == "postgresql":
        _refresh_statistics(app, WRITTEN_ONLY)  # for the review and the issue that follow
    with app.transaction() as tx:
        tx.conn.execute(
            update(billing_runs)
            .where(billing_runs.c.id == run_id)
            .values(
                status="completed",
                finished_at=tx.now,
                contracts=result.contracts,
                drafts=result.drafts,
                lines=result.lines,
                holds=json.dumps(result.holds + result.errors)
                if result.holds or result.errors
                else None,
            )
        )
        tx.audit(
            "finish",
            "billing_run",
            run_id,
            after={
                "drafts": result.drafts,
                "lines": result.lines,
                "holds": result.holds,
                "errors": result.errors,
            },
        )
    return result


# The tables a run grows: those it reads back while it runs, and those only the review and
# the issue after it read.
READ_BACK = ("billed_charges", "invoices")
WRITTEN_ONLY = ("invoice_lines", "invoice_line_taxes")


def _refresh_statistics(app: Billfold, tables: tuple[str, ...]) -> None:
    """PostgreSQL: ``ANALYZE`` tables the run grows: those it reads back as their size
    doubles, the others once at the end.

    The run reads back what it writes (billed keys per contract, draft refs); planned on the
    statistics of the tables as they were before the run (often empty), those reads become
    sequential scans, and the run slows down batch after batch. Autovacuum would analyze them
    eventually; a run does not wait for it. A role that does not own the tables gets a warning
    from PostgreSQL, not an error.
    """
    with app.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE " + ", ".join(tables)
        )


def _payer_batches(pairs: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Batches of contracts (ordered by payer) that never split one payer's contracts."""
    payer = dict(pairs)
    ids = [cid for cid, _ in pairs]
    batches: list[list[int]] = []
    current: list[int] = []
    for cid in ids:
        if len(current) >= size and payer[cid] != payer[current[-1]]:
            batches.append(current)
            current = []
        current.append(cid)
    if current:
        batches.append(current)
    return batches


@dataclass(slots=True)
class BatchPlan:
    """One batch of a run as computed with reads only (``plan_batch``): its drafts, the
    exactly-once keys each consumes as ``(stored key, contract id, draft, amount)`` rows (the
    draft by its position in ``drafts``), and what was held back. ``write_batch`` stores it."""

    contracts: int
    drafts: DraftPlan = field(default_factory=DraftPlan)
    lines: int = 0
    keys: list[tuple[str, int, int, int]] = field(default_factory=list)
    holds: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def plan_batch(tx: Tx, run_id: int, run_date: date, ids: list[int]) -> BatchPlan:
    """Everything due on the contracts ``ids``, priced and taxed as drafts; reads only."""
    rows = tx.conn.execute(
        select(contracts)
        .where(values_in(tx.conn, contracts.c.id, ids))
        .order_by(contracts.c.bill_to_id, contracts.c.id)
    ).all()
    models = load_models(tx.conn, rows)
    plan = BatchPlan(len(models))
    billed = billed_keys(tx.conn, ids)
    with_po = [m.row_id for m in models if m.contract.po_amount is not None]
    po_billed = (
        dict(
            tx.conn.execute(
                select(billed_charges.c.contract_id, func.sum(billed_charges.c.amount_minor))
                .where(values_in(tx.conn, billed_charges.c.contract_id, with_po))
                .group_by(billed_charges.c.contract_id)
            ).all()
        )
        if with_po
        else {}
    )
    wanted = {
        m.row_id: reqs
        for m in models
        if (reqs := usage_requests(m.contract, m.charges, m.changes, run_date, billed[m.row_id]))
    }
    usage = usage_totals(tx, run_date, wanted) if wanted else {}
    sheets = approved_timesheets(tx, ids)
    lines_by_contract: dict[int, list[BillableLine]] = {}
    for m in models:
        try:
            lines = due_lines(
                m.contract,
                m.charges,
                m.changes,
                usage.get(m.row_id, {}),
                sheets.get(m.row_id, []),
                m.milestones,
                run_date,
                billed[m.row_id],
                po_billed=Money.from_minor(int(po_billed.get(m.row_id, 0)), m.contract.currency)
                if m.contract.po_amount is not None
                else None,
            )
            lines += _shipment_lines(tx, m, run_date, billed[m.row_id])
        except PurchaseOrderExceeded as exc:
            plan.holds.append((m.contract.label, str(exc)))
            continue
        except BillfoldError as exc:
            plan.errors.append((m.contract.label, str(exc)))
            continue
        if lines:
            lines_by_contract[m.row_id] = lines
    _plan_drafts(tx, run_id, run_date, models, lines_by_contract, plan)
    return plan


def write_batch(tx: Tx, run_id: int, plan: BatchPlan, result: RunResult) -> None:
    """Store a batch's drafts and the keys they consume, and count them in ``result``."""
    created = write_drafts(tx, plan.drafts).created
    insert_tuples(  # the key is the primary key: a charge billed twice fails the batch
        tx.conn,
        billed_charges,
        ("charge_key", "contract_id", "run_id", "invoice_id", "amount_minor"),
        [(key, cid, run_id, created[d], amount) for key, cid, d, amount in plan.keys],
    )
    result.contracts += plan.contracts
    result.drafts += len(created)
    result.lines += plan.lines
    result.holds += plan.holds
    result.errors += plan.errors


def _shipment_lines(
    tx: Tx, m: ContractModel, run_date: date, billed: set[str]
) -> list[BillableLine]:
    """Accepted shipments not yet billed: shipped quantity x the contract's unit price."""
    if not m.shipments:
        return []
    by_id = {s.id: s for s in m.shipments}
    lines = []
    for s in tx.conn.execute(
        select(shipments).where(
            shipments.c.contract_id == m.row_id, shipments.c.ship_date <= run_date
        )
    ):
        key = f"shipment:{s.shipment_id}"
        charge = by_id.get(s.charge_id)
        if key in billed or charge is None:
            continue
        qty = Decimal(s.quantity)
        lines.append(
            BillableLine(
                key,
                (key,),
                m.contract.id,
                charge.id,
                "shipment",
                charge.sku,
                f"{charge.description} (shipment {s.shipment_id})",
                qty,
                charge.unit_price,
                Fraction(1),
                Money.rounded(qty * charge.unit_price, m.contract.currency),
                s.ship_date,
                s.ship_date,
                s.ship_date,
                False,
                m.contract.invoice_group,
            )
        )
    return lines


def _plan_drafts(
    tx: Tx,
    run_id: int,
    run_date: date,
    models: list[ContractModel],
    lines_by_contract: dict[int, list[BillableLine]],
    plan: BatchPlan,
) -> None:
    """One draft per invoice group (payer, entity, currency, terms, PO, grouping key)."""
    by_model = {m.row_id: m for m in models}
    known_skus = set(tx.conn.execute(select(products.c.sku)).scalars())
    ends = sorted(
        {
            m.contract.customer
            for m in models
            if m.contract.bill_to and m.contract.bill_to != m.contract.customer
        }
    )
    names = (
        dict(
            tx.conn.execute(
                select(customers.c.number, customers.c.name).where(
                    values_in(tx.conn, customers.c.number, ends)
                )
            ).all()
        )
        if ends
        else {}
    )
    groups: dict[Any, list[tuple[int, BillableLine]]] = defaultdict(list)
    for cid, lines in lines_by_contract.items():
        for ln in lines:
            groups[ln.group].append((cid, ln))
    requests, members = [], []
    for group, items in groups.items():
        total = sum(ln.amount.minor for _, ln in items)
        if total < 0:  # only credits due (a cancellation): that is a credit memo, not a bill
            plan.errors.append(
                (
                    group.bill_to,
                    f"{Money.from_minor(-total, group.currency)} "
                    "of credits due and nothing to bill: issue a credit memo",
                )
            )
            continue
        ref = (
            "run:"
            + hashlib.sha256(
                f"{run_id}|{group}|{[ln.key for _, ln in items]}".encode()
            ).hexdigest()[:32]
        )
        line_requests = []
        for cid, ln in items:
            contract = by_model[cid].contract
            label = contract.label
            if contract.bill_to and contract.bill_to != contract.customer:
                note = f"End customer: {names.get(contract.customer, contract.customer)}"
                label = f"{note} - {label}" if label else note
            qty, price = _quantity_price(ln)
            line_requests.append(
                LineRequest(
                    quantity=qty,
                    sku=ln.sku if ln.sku in known_skus else None,
                    description=ln.description,
                    unit_price=price,
                    unit_code=ln.unit_code,
                    period_start=ln.service_start,
                    period_end=ln.service_end,
                    note=label,
                    deferred=ln.billed_in_advance,
                )
            )
        requests.append(
            InvoiceRequest(
                entity=group.entity,
                customer=group.bill_to,
                issue_date=run_date,
                lines=tuple(line_requests),
                ref=ref,
                currency=group.currency,
                po_number=group.po_number,
                payment_terms=group.payment_terms,
                where=f"billing run {run_id}, {group.bill_to}",
            )
        )
        members.append(items)
    if not requests:
        return
    made = _plan_isolated(tx, run_id, requests, members, plan)
    rows: dict[str, list[Any]] = {}  # tier lines of one usage period share its key
    for draft, items in enumerate(made):
        for cid, ln in items:
            for n, key in enumerate(ln.covers):
                stored = stored_key(cid, key)
                row = rows.get(stored)
                if row is None:
                    row = rows[stored] = [stored, cid, draft, 0]
                if n == 0:
                    row[3] += ln.amount.minor
        plan.lines += len(items)
    plan.keys = [tuple(row) for row in rows.values()]


def stored_key(contract_id: int, key: str) -> str:
    """Charge ids are per contract, so the stored key names the contract too."""
    return f"{contract_id}/{key}"[:200]


def _plan_isolated(
    tx: Tx,
    run_id: int,
    requests: list[InvoiceRequest],
    members: list[list[tuple[int, BillableLine]]],
    plan: BatchPlan,
) -> list[list[tuple[int, BillableLine]]]:
    """All drafts of the batch in one go; if one cannot be made (a missing exchange rate, a
    tax rule that needs data), make them one by one so only that payer is held back. Returns
    the members of the drafts made, in their order."""
    source = f"run:{run_id}"
    try:
        plan.drafts = plan_drafts(tx, requests, source=source)
    except BillfoldError:
        plan.drafts = DraftPlan()
        for n, request in enumerate(requests):
            try:
                plan.drafts.extend(plan_drafts(tx, [request], source=source), n)
            except BillfoldError as exc:
                plan.errors.append((request.customer, str(exc)))
    return [members[n] for n in plan.drafts.made]


def _quantity_price(ln: BillableLine) -> tuple[Decimal, Decimal]:
    """Unprorated lines keep quantity x price; prorated ones are 1 x their exact amount."""
    if ln.proration == 1:
        return ln.quantity, ln.unit_price
    return (Decimal(-1) if ln.amount.amount < 0 else Decimal(1)), abs(ln.amount.amount)


@dataclass(frozen=True, slots=True)
class DraftReview:
    invoice_id: int
    customer: str
    currency: str
    total: Money
    lines: int
    anomalies: tuple[str, ...]


def review_run(conn: Any, run_id: int | None = None) -> list[DraftReview]:
    """Drafts of a run (default: the last) with totals and what a reviewer should look at: an
    invoice far above the customer's usual, a zero invoice, a PO about to be exhausted."""
    from billfold.store.tables import invoice_lines, invoices

    if run_id is None:
        run_id = conn.execute(select(func.max(billing_runs.c.id))).scalar()
        if run_id is None:
            return []
    # the run's drafts as a subquery, not a list of ids: a run of a million invoices would not
    # fit in one statement's parameters (PostgreSQL takes at most 65,535)
    drafts = select(billed_charges.c.invoice_id).where(billed_charges.c.run_id == run_id)
    heads = conn.execute(
        select(invoices, customers.c.number.label("cnum"))
        .join(customers, customers.c.id == invoices.c.customer_id)
        .where(invoices.c.id.in_(drafts), invoices.c.status == "draft")
        .order_by(invoices.c.id)
    ).all()
    if not heads:
        return []
    counts = dict(
        conn.execute(
            select(invoice_lines.c.invoice_id, func.count())
            .where(invoice_lines.c.invoice_id.in_(drafts))
            .group_by(invoice_lines.c.invoice_id)
        ).all()
    )
    usual = dict(
        conn.execute(
            select(invoices.c.customer_id, func.avg(invoices.c.total_minor))
            .where(invoices.c.status == "issued", invoices.c.doc_type == "invoice")
            .group_by(invoices.c.customer_id)
            .having(func.count() >= 2)
        ).all()
    )
    po_use = _po_usage(conn, run_id)
    result = []
    for h in heads:
        notes = []
        if h.total_minor == 0:
            notes.append("zero invoice")
        avg = usual.get(h.customer_id)
        if avg and h.total_minor > 3 * float(avg):  # float-ok: a ratio for a warning only
            ratio = h.total_minor / float(avg)  # float-ok: a ratio for a warning only
            notes.append(f"{ratio:.1f}x the customer's usual invoice")
        notes += po_use.get(h.id, [])
        result.append(
            DraftReview(
                h.id,
                h.cnum,
                h.currency,
                Money.from_minor(h.total_minor, h.currency),
                int(counts.get(h.id, 0)),
                tuple(notes),
            )
        )
    return result


def _po_usage(conn: Any, run_id: int) -> dict[int, list[str]]:
    """Drafts of the run whose contract's PO will be 90 % used or more once they are issued."""
    rows = conn.execute(
        select(billed_charges.c.invoice_id, contracts.c.number, contracts.c.spec, contracts.c.id)
        .join(contracts, contracts.c.id == billed_charges.c.contract_id)
        .where(billed_charges.c.run_id == run_id)
        .distinct()
    ).all()
    notes: dict[int, list[str]] = defaultdict(list)
    with_po = [(i, n, json.loads(s), c) for i, n, s, c in rows]
    with_po = [row for row in with_po if row[2].get("po_amount")]
    po_ids = sorted({c for *_, c in with_po})
    used_by_contract: dict[int, Any] = {}
    for chunk in in_chunks(po_ids):
        used_by_contract |= dict(
            conn.execute(
                select(billed_charges.c.contract_id, func.sum(billed_charges.c.amount_minor))
                .where(billed_charges.c.contract_id.in_(chunk))
                .group_by(billed_charges.c.contract_id)
            ).all()
        )
    for invoice_id, number, raw, cid in with_po:
        limit = Decimal(str(raw["po_amount"]))
        used_minor = used_by_contract.get(cid) or 0
        used = Money.from_minor(int(used_minor), raw["currency"]).amount
        if limit and used >= limit * Decimal("0.9"):
            notes[invoice_id].append(
                f"PO {raw.get('po_number') or ''} of {number} {used / limit:.0%} used"
            )
    return notes


def run_draft_ids(conn: Any, run_id: int) -> list[int]:
    from billfold.store.tables import invoices

    drafts = select(billed_charges.c.invoice_id).where(billed_charges.c.run_id == run_id)
    return [
        r[0]
        for r in conn.execute(
            select(invoices.c.id)
            .where(invoices.c.id.in_(drafts), invoices.c.status == "draft")
            .order_by(invoices.c.id)
        )
    ]
