"""What ``bench_billing_run`` can wrap around the real run on request: stage timers
(``--breakdown``), not part of the default run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from billfold.services import billing_run, context, invoicing

# What ``--breakdown`` times: (module, function name, label). Exclusive times (a stage's own
# time without the stages it calls), so they add up to the run.
STAGES: tuple[tuple[Any, str, str], ...] = (
    (billing_run, "load_models", "load_models: contract rows -> billing models (JSON parse)"),
    (billing_run, "billed_keys", "billed_keys: exactly-once keys of the batch"),
    (billing_run, "usage_totals", "usage_totals: usage summed in SQL per meter and period"),
    (billing_run, "approved_timesheets", "approved_timesheets: fetch approved entries"),
    (billing_run, "due_lines", "engine.due_lines: schedules, proration, rating"),
    (billing_run, "plan_drafts", "plan_drafts: the rest (refs, sellers, products, heads)"),
    (invoicing, "load_buyers", "plan_drafts: load_buyers (5 queries per batch)"),
    (invoicing, "_build", "plan_drafts: _build (price, tax, totals per invoice)"),
    (billing_run, "write_drafts", "write_drafts: the rest (audit events)"),
    (invoicing, "insert_rows", "write_drafts: insert invoices (ids + bulk insert)"),
    (invoicing, "insert_tuples", "write_drafts: bulk insert lines and line taxes"),
    (billing_run, "insert_tuples", "bulk insert billed_charges"),
    (context, "append_events", "audit: hash chain + bulk insert (per transaction)"),
)


@dataclass
class StageTimer:
    """Exclusive wall time per stage, with a stack so nested stages are not counted twice."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    _stack: list[list[float]] = field(default_factory=list)

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                started, children = self._stack.pop()
                spent = time.perf_counter() - started
                self.seconds[label] = self.seconds.get(label, 0.0) + spent - children
                self.calls[label] = self.calls.get(label, 0) + 1
                if self._stack:
                    self._stack[-1][1] += spent

        return timed

    def install(self) -> None:
        for module, name, label in STAGES:
            setattr(module, name, self.wrap(label, getattr(module, name)))
