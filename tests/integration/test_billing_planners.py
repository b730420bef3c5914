"""Billing runs with planner processes write what a run in one process writes, on both engines."""

from datetime import date
from typing import Any

import pytest

from billfold.services import billing_run
from billfold.services.billing_run import PLANNERS_FROM_BATCHES
from billfold.services.context import Billfold
from billfold.services.planners import planners_for
from billfold.store.tables import audit_log, billed_charges, invoice_line_taxes, invoice_lines
from billfold.store.tables import invoices as invoices_t

from .billing_setup import SUB, billed_per_contract, contract, keys, kill_run, load, make_world
from .helpers import rows_of

pytestmark = pytest.mark.integration

PAYERS = [("DE1", {}), ("FR1", {}), ("FR2", {"bill_to": "DE1"}), ("GB1", {"currency": "GBP"})]
BOOK = [  # 36 contracts of four payers, each payer's in three invoice groups
    contract(
        f"K-{n:03d}", c, {**SUB, "quantity": str(n % 7 + 1)}, grouping_key=f"g{n % 3}", **extra
    )
    for n, (c, extra) in zip(range(100, 136), PAYERS * 9, strict=True)
]


def contents(bf: Billfold) -> dict[str, list[Any]]:
    """What a run wrote, row by row, ids and audit chain included."""
    return rows_of(bf, invoices_t, invoice_lines, invoice_line_taxes, billed_charges, audit_log)


def test_planners_write_what_one_process_writes(bf: Billfold, twin: Billfold) -> None:
    for app in (bf, twin):
        make_world(app)
        load(app, *BOOK)
    serial = billing_run.run_billing(bf, date(2026, 3, 1), batch=2, planners=0)
    parallel = billing_run.run_billing(twin, date(2026, 3, 1), batch=2, planners=2)
    assert (parallel.contracts, parallel.drafts, parallel.lines) == (
        serial.contracts,
        serial.drafts,
        serial.lines,
    )
    # DE1 (K-1, K-2 and 18 of the book), FR1 and GB1 (K-3): a draft per payer and group
    assert (serial.drafts, serial.lines) == (4 + 3 + 4, 36 * 3 + 3 + 2 + 2)
    assert contents(twin) == contents(bf)
    again = billing_run.run_billing(twin, date(2026, 3, 1), batch=2, planners=2)
    assert (again.drafts, again.lines) == (0, 0)  # exactly once, planned elsewhere or not


def test_a_payer_that_cannot_be_billed_is_held_back_by_a_planner_too(
    bf: Billfold, twin: Billfold
) -> None:
    """A USD contract without an exchange rate: its payer is reported, the others billed."""
    for app in (bf, twin):
        make_world(app)
        load(app, *BOOK, contract("K-USD", "DE1", SUB, currency="USD", grouping_key="us"))
    serial = billing_run.run_billing(bf, date(2026, 2, 1), batch=3, planners=0)
    parallel = billing_run.run_billing(twin, date(2026, 2, 1), batch=3, planners=2)
    assert parallel.errors == serial.errors and len(serial.errors) == 1
    assert "DE1" in serial.errors[0][0] and "USD" in serial.errors[0][1]
    assert contents(twin) == contents(bf)


def test_short_runs_and_private_databases_plan_in_process(bf: Billfold) -> None:
    assert planners_for(bf.engine, None, PLANNERS_FROM_BATCHES - 1, PLANNERS_FROM_BATCHES) == 0
    assert planners_for(bf.engine, 3, 1, PLANNERS_FROM_BATCHES) == 3
    memory = Billfold.open("sqlite://", check_schema=False)
    assert planners_for(memory.engine, 2, 100, 1) == 0  # other processes cannot see it
    with pytest.raises(ValueError, match="0 or more"):
        planners_for(bf.engine, -1, 100, 1)


def test_a_killed_run_with_planners_finishes_every_charge_once(bf: Billfold, db_url: str) -> None:
    make_world(bf)
    load(bf, *BOOK)
    kill_run(db_url, date(2026, 3, 1), 2, batch=3, planners=2)
    partial = keys(bf)
    assert partial
    billing_run.run_billing(bf, date(2026, 3, 1), planners=2)
    done = keys(bf)
    assert set(partial) < set(done) and len(done) == len(set(done))
    assert len(billed_per_contract(bf)) == 3 + len(BOOK)
