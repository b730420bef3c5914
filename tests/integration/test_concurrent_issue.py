"""Two processes issuing at once never produce a gap or a duplicate number."""

import multiprocessing as mp

import pytest
from sqlalchemy import select

from billfold.services import invoicing
from billfold.services.context import Billfold
from billfold.store.tables import invoices

from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration
PER_WORKER = 15


def _issue_each(url: str, ids: list[int], barrier: "mp.synchronize.Barrier") -> None:
    bf = Billfold.open(url, actor="worker")
    barrier.wait()
    for draft in ids:  # one transaction per invoice: maximum interleaving
        with bf.transaction() as tx:
            invoicing.issue(tx, [draft])
    bf.engine.dispose()


def test_concurrent_workers_number_without_gaps_or_duplicates(bf: Billfold, db_url: str) -> None:
    seed_invoicing(bf)
    ids = create(
        bf,
        *[invoice("DE1", {"sku": "SUB-PRO"}, ref=f"c{n}") for n in range(2 * PER_WORKER)],
        issue=False,
    )
    bf.engine.dispose()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_issue_each, args=(db_url, ids[w::2], barrier)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    with bf.reading() as conn:
        numbers = sorted(conn.execute(select(invoices.c.number)).scalars())
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 2 * PER_WORKER + 1)]
