"""Billing runs with planner processes write what a run in one process writes, on both engines."""

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from billfold.services import billing_run
from billfold.services.billing_planners import PLANNERS_FROM_BATCHES, planners_for
from billfold.services.context import Billfold
from billfold.store.tables import audit_log, billed_charges, invoice_line_taxes, invoice_lines
from billfold.store.tables import invoices as invoices_t

from ..conftest import FIXED_NOW
from .billing_setup import SUB, billed_per_contract, contract, keys, kill_run, load, make_world

pytestmark = pytest.mark.integration

PAYERS = [("DE1", {}), ("FR1", {}), ("FR2", {"bill_to": "DE1"}), ("GB1", {"currency": "GBP"})]
BOOK = [  # 36 contracts of four payers, each payer's in three invoice groups
    contract(
        f"K-{n:03d}", c, {**SUB, "quantity": str(n % 7 + 1)}, grouping_key=f"g{n % 3}", **extra
    )
    for n, (c, extra) in zip(range(100, 136), PAYERS * 9, strict=True)
]


@pytest.fixture
def twin(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    """A second seeded database of the engine under test, for a run to compare with."""
    if engine_name == "sqlite":
        target = tmp_path / "twin.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        pg = request.getfixturevalue("_postgres")
        if pg is None:
            pytest.skip("PostgreSQL not reachable")
        url = pg.fresh()
    app = Billfold.open(url, actor="tester")
    app.clock = lambda: FIXED_NOW
    yield app
    app.engine.dispose()


def contents(bf: Billfold) -> dict[str, list[Any]]:
    """What a run wrote, row by row, ids and audit chain included."""
    tables = {
        "invoices": invoices_t,
        "lines": invoice_lines,
        "taxes": invoice_line_taxes,
        "billed": billed_charges,
        "audit": audit_log,
    }
    with bf.reading() as conn:
        return {
            name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for name, t in tables.items()
        }


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
    assert planners_for(bf, None, PLANNERS_FROM_BATCHES - 1) == 0
    assert planners_for(bf, 3, 1) == 3
    memory = Billfold.open("sqlite://", check_schema=False)
    assert planners_for(memory, 2, 100) == 0  # other processes cannot see it
    with pytest.raises(ValueError, match="0 or more"):
        planners_for(bf, -1, 100)


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
