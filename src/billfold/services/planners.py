"""Bulk jobs planned in worker processes while the job writes.

A bulk job (a billing run, issuing a run's drafts) is cut into batches that share nothing. Each
batch is planned with reads only (``billing_run.plan_batch``, ``issuing.plan_batch``: what to
write, computed) and written in a fixed order (``write_batch``). Planning is most of such a
job's work, and Python runs it on one core per process: with planners, worker processes (each
with its own connection, reading the last commit) plan the next batches while the job writes
the current one. The job still writes the batches one by one, in order, so what it stores, ids
and audit chain included, is what it stores without planners.

A planner sees the last commit, not the writer's transaction: a plan function reads only what
the batches written before it cannot change (batches share no payer, no contract, no
document), and says so when it meets something it cannot see (the writer then plans that batch
itself). The database's keys still guard what must happen once. At most two plans per planner
wait to be written, so memory stays flat however long the job. A planner only reads; if the
job dies (even by SIGKILL), its planners notice their parent is gone and exit.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from multiprocessing.pool import AsyncResult, Pool
from typing import Any, TypeVar

from sqlalchemy import Engine

from billfold.services.context import Billfold, Tx, collector_paused

MAX_PLANNERS = 4
WAITING_PER_PLANNER = 2

T = TypeVar("T")
# plan(tx, *task) -> a plan: a module-level function (a planner gets it pickled by name)
PlanFunction = Callable[..., T]

_app: Billfold | None = None
_cache: dict[object, Any] = {}  # a planner's lookups (accounts, parties), for its job's length
_parent_engine: Engine | None = None


def planners_for(engine: Engine, requested: int | None, batches: int, from_batches: int) -> int:
    """How many planner processes a job of ``batches`` uses: ``requested`` if given (0: plan in
    this process), else one per core up to ``MAX_PLANNERS`` for a job of at least
    ``from_batches`` batches on more than one core (a shorter one would gain less than starting
    them costs). A database only this process can see (SQLite in memory), or a daemonic process
    (which may not start any), plans here."""
    if not _shared_database(engine) or multiprocessing.current_process().daemon:
        return 0  # a daemonic process (a pool's worker) may not start processes
    if requested is not None:
        if requested < 0:
            raise ValueError("planners must be 0 or more")
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or batches < from_batches:
        return 0
    return min(cores or 1, MAX_PLANNERS)


def _shared_database(engine: Engine) -> bool:
    url = engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


@contextmanager
def planned(
    engine: Engine,
    actor: str,
    now: datetime,
    plan: PlanFunction[T],
    tasks: Iterable[tuple[Any, ...]],
    planners: int,
) -> Iterator[Iterator[T | None]]:
    """The plans of ``tasks`` in order, each ``plan(tx, *task)`` on a planner's read-only
    connection (``tx.now`` is ``now``): with ``planners`` 0, ``None`` for each (the caller plans
    in its own transaction); otherwise each plan as worker processes finish it. A task is taken
    from ``tasks`` when it is handed to a planner, a few batches ahead of the writer (so a
    generator can pass on what the writer has done by then)."""
    if planners == 0:
        yield (None for _ in tasks)
        return
    global _parent_engine
    # fork where there is one: a planner starts at once, with the modules already loaded (spawn
    # would import them again, and the caller's main module with them); it never touches the
    # connections it inherits (_start drops them unclosed) and opens its own
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    url = engine.url.render_as_string(hide_password=False)
    _parent_engine = engine
    try:
        with multiprocessing.get_context(method).Pool(
            planners, _start, (url, actor, os.getpid())
        ) as pool:
            yield _in_order(pool, plan, now, tasks, planners * WAITING_PER_PLANNER)
    finally:
        _parent_engine = None


def _in_order(
    pool: Pool, plan: PlanFunction[T], now: datetime, tasks: Iterable[tuple[Any, ...]], window: int
) -> Iterator[T]:
    pending: deque[AsyncResult[T]] = deque()
    todo = iter(tasks)
    for task in todo:
        pending.append(pool.apply_async(_plan, (plan, now, task)))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().get()
        following = next(todo, None)
        if following is not None:
            pending.append(pool.apply_async(_plan, (plan, now, following)))
        yield result


def _start(url: str, actor: str, parent: int) -> None:
    global _app
    if _parent_engine is not None:  # forked: the job's pooled connections are not ours to use
        _parent_engine.dispose(close=False)
    _app = Billfold.open(url, actor=actor, check_schema=False)
    _cache.clear()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)  # the job is gone: nobody will write what this process plans


def _plan(plan: PlanFunction[T], now: datetime, task: tuple[Any, ...]) -> T:
    assert _app is not None
    with collector_paused(), _app.reading() as conn:
        return plan(Tx(conn, _app.actor, now, cache=_cache), *task)
