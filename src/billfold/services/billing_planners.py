"""A billing run's batches planned in worker processes while the run writes.

A batch is planned with reads only (``billing_run.plan_batch``: contracts, usage, timesheets,
prices, tax, the rows of its drafts) and written in a transaction of its own (``write_batch``).
Planning is most of a run's work, and Python runs it on one core per process: with planners,
worker processes (each with its own connection, reading the last commit) plan the next batches
while the run writes the current one. The run still writes the batches one by one, in payer
order, so the drafts, their ids and the audit chain are those of a run without planners.

Batches never share a payer or a contract, so a batch planned while the one before it is
being written reads nothing that write changes; ``billed_charges``' primary key still refuses a
charge billed twice. At most two plans per planner wait to be written: memory stays flat however
long the run. A planner only reads; if the run dies (even by SIGKILL), its planners notice their
parent is gone and exit.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from multiprocessing.pool import AsyncResult, Pool
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from billfold.services.context import Billfold, Tx, collector_paused

if TYPE_CHECKING:
    from billfold.services.billing_run import BatchPlan

MAX_PLANNERS = 4
PLANNERS_FROM_BATCHES = 16  # a shorter run plans in its own process (it would gain little)
WAITING_PER_PLANNER = 2

_app: Billfold | None = None
_parent_engine: Engine | None = None


def planners_for(app: Billfold, requested: int | None, batches: int) -> int:
    """How many planner processes a run of ``batches`` uses: ``requested`` if given (0: plan in
    this process), else one per core up to ``MAX_PLANNERS`` for a run of at least
    ``PLANNERS_FROM_BATCHES`` batches on more than one core. A database only this process can
    see (SQLite in memory), or a daemonic process (which may not start any), plans here."""
    if not _shared_database(app) or multiprocessing.current_process().daemon:
        return 0  # a daemonic process (a pool's worker) may not start processes
    if requested is not None:
        if requested < 0:
            raise ValueError("planners must be 0 or more")
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or batches < PLANNERS_FROM_BATCHES:
        return 0
    return min(cores or 1, MAX_PLANNERS)


def _shared_database(app: Billfold) -> bool:
    url = app.engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


@contextmanager
def planned(
    app: Billfold, run_id: int, run_date: date, batches: Sequence[list[int]], planners: int
) -> Iterator[Iterator[BatchPlan | None]]:
    """The plans of ``batches`` in order: with ``planners`` 0, ``None`` for each (the caller
    plans in its own transaction); otherwise each ``BatchPlan`` as worker processes finish it."""
    if planners == 0:
        yield iter([None] * len(batches))
        return
    global _parent_engine
    # fork where there is one: a planner starts at once, with the modules already loaded (spawn
    # would import them again, and the caller's main module with them); it never touches the
    # connections it inherits (_start drops them unclosed) and opens its own
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    url = app.engine.url.render_as_string(hide_password=False)
    _parent_engine = app.engine
    try:
        with multiprocessing.get_context(method).Pool(
            planners, _start, (url, app.actor, os.getpid())
        ) as pool:
            yield _in_order(pool, run_id, run_date, batches, planners * WAITING_PER_PLANNER)
    finally:
        _parent_engine = None


def _in_order(
    pool: Pool, run_id: int, run_date: date, batches: Sequence[list[int]], window: int
) -> Iterator[BatchPlan]:
    pending: deque[AsyncResult[BatchPlan]] = deque()
    todo = iter(batches)
    for chunk in todo:
        pending.append(pool.apply_async(_plan, (run_id, run_date, chunk)))
        if len(pending) >= window:
            break
    while pending:
        plan = pending.popleft().get()
        following = next(todo, None)
        if following is not None:
            pending.append(pool.apply_async(_plan, (run_id, run_date, following)))
        yield plan


def _start(url: str, actor: str, parent: int) -> None:
    global _app
    if _parent_engine is not None:  # forked: the run's pooled connections are not ours to use
        _parent_engine.dispose(close=False)
    _app = Billfold.open(url, actor=actor, check_schema=False)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)  # the run is gone: nobody will write what this process plans


def _plan(run_id: int, run_date: date, ids: list[int]) -> BatchPlan:
    from billfold.services.billing_run import plan_batch

    assert _app is not None
    with collector_paused(), _app.reading() as conn:
        return plan_batch(Tx(conn, _app.actor, _app.clock()), run_id, run_date, ids)
