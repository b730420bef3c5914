"""The billing engine: every line of a contract that is due up to a date and not billed yet.

Exactly once, by construction. The lines a contract will ever produce are a pure function of
its terms (contract, charges, changes, milestones, usage totals, approved timesheets); each
line has a bill date and exactly-once keys. A run returns the lines whose bill date is on or
before ``up_to`` and whose keys are not in ``already_billed_keys``. Hence:

* re-running the same date bills nothing twice (every key is already billed);
* a run after skipped dates returns every missed period once;
* a backfill with an earlier ``up_to`` returns only what is missing up to that date;
* ``run(d1)`` plus ``run(d2)`` given the keys of ``run(d1)`` is exactly ``run(d2)``.

Exactly-once keys (``BillableLine.covers``; the caller records every one of them as billed):

==========================================  ======================================
``<charge>:<start>:<end>``                  a recurring period or piece, a one-time fee
                                            (start = end = bill date), a usage period
``<charge>:<eff>:<end>:credit``             credit for old terms (see ``changes``)
``<charge>:timesheet:<entry>``              one approved timesheet entry
``<milestone>:milestone``                   a milestone (billed once, whatever its date)
==========================================  ======================================

A line's own ``key`` is its first cover, except for usage lines (``<period key>:<n>``, one per
rated line of the period) and time-and-materials lines (``<period key>:<role>:<first entry>``).

Billing is shaped by the terms as they are *now*, so terms that shaped billed periods (a
charge's start, end, frequency, alignment; a contract's end) must not be edited afterwards:
later changes are ``ChargeChange`` records, checked with ``changes.validate_change``. In
particular an auto-renewing contract is open-ended here (its charges run on, renewal by
renewal), and a notice of non-renewal is recorded as a cancellation of its charges on the
renewal day -- turning ``auto_renew`` off only before anything past the term end is billed.

Usage totals are supplied per ``(meter, period start, period end)``; ``usage_requests`` lists
the ones a run needs. A due usage period without a total is skipped (not billed, still due
next run); a period with no billable usage gives one zero line, so it is settled.

Purchase-order limit: with ``contract.po_amount`` set, the caller passes ``po_billed`` (what is
already billed under the PO, credits deducted). When the due lines would take the total past
the limit, ``due_lines`` raises ``PurchaseOrderExceeded`` and bills nothing for the contract:
the run reports it as a hold and carries on with the other contracts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from billfold.billing.changes import effective_changes, period_lines
from billfold.billing.errors import BillingError, PurchaseOrderExceeded
from billfold.billing.model import (
    BillableLine,
    Charge,
    ChargeChange,
    Contract,
    Milestone,
    OneTimeCharge,
    RecurringCharge,
    TimeAndMaterials,
    TimesheetEntry,
    Timing,
    UsageCharge,
    money_of,
)
from billfold.billing.rating import rate_usage
from billfold.billing.schedule import ONE_DAY, Period, billing_periods, period_key
from billfold.billing.validation import check_timesheets, validate_contract
from billfold.money import Money, sum_money

UsageKey = tuple[str, date, date]
"""``(meter, period start, period end)``: the usage total of a meter over a service period."""

ONE = Fraction(1)


@dataclass(frozen=True, slots=True)
class UsageRequest:
    """A usage total the engine needs: the sum of ``meter`` from ``start`` to ``end``."""

    charge_id: str
    meter: str
    start: date
    end: date

    @property
    def usage_key(self) -> UsageKey:
        """The key to put the total under in ``usage_totals``."""
        return (self.meter, self.start, self.end)


def due_lines(
    contract: Contract,
    charges: Sequence[Charge],
    changes: Sequence[ChargeChange],
    usage_totals: Mapping[UsageKey, Decimal],
    timesheet_hours: Sequence[TimesheetEntry],
    milestones: Sequence[Milestone],
    up_to: date,
    already_billed_keys: Set[str],
    *,
    po_billed: Money | None = None,
) -> list[BillableLine]:
    """Every line of ``contract`` due on or before ``up_to`` and not yet billed.

    Validates the input first (``validate_contract``, timesheets). Lines come in charge
    order, then by service start, credits before charges. Raises ``PurchaseOrderExceeded``
    when the lines would exceed the PO amount (see the module docstring).
    """
    validate_contract(contract, charges, changes, milestones)
    check_timesheets(contract, charges, changes, timesheet_hours)
    billed = already_billed_keys
    order = {c.id: n for n, c in enumerate([*charges, *milestones])}
    due = [
        line
        for line in _all_lines(
            contract, charges, changes, usage_totals, timesheet_hours, milestones, up_to, billed
        )
        if line.bill_date <= up_to and not any(k in billed for k in line.covers)
    ]
    due.sort(key=lambda ln: (order[ln.charge_id], ln.service_start, ln.amount.amount >= 0, ln.key))
    check_po_limit(contract, due, po_billed)
    return due


def usage_requests(
    contract: Contract,
    charges: Sequence[Charge],
    changes: Sequence[ChargeChange],
    up_to: date,
    already_billed_keys: Set[str],
) -> list[UsageRequest]:
    """The usage totals a run up to ``up_to`` needs: due usage periods not billed yet."""
    requests = []
    for charge in charges:
        if isinstance(charge, UsageCharge):
            for p in _periods_served(charge, contract, changes, up_to):
                if p.key not in already_billed_keys:
                    requests.append(UsageRequest(charge.id, charge.meter, p.start, p.end))
    return requests


def check_po_limit(
    contract: Contract, lines: Sequence[BillableLine], po_billed: Money | None
) -> None:
    """Raise ``PurchaseOrderExceeded`` if ``po_billed`` plus ``lines`` exceeds the PO amount."""
    if contract.po_amount is None:
        return
    if po_billed is None:
        raise BillingError(
            f"contract {contract.label} has a PO amount: pass po_billed, the amount already "
            f"billed under PO {contract.po_number or '(no number)'}"
        )
    if po_billed.currency != contract.currency:
        raise BillingError(
            f"contract {contract.label}: po_billed {po_billed} is not in {contract.currency}"
        )
    due = sum_money([ln.amount for ln in lines], contract.currency)
    if po_billed + due > contract.po_amount:
        raise PurchaseOrderExceeded(
            contract.label, contract.po_number, contract.po_amount, po_billed, due
        )


def _all_lines(
    contract: Contract,
    charges: Sequence[Charge],
    changes: Sequence[ChargeChange],
    usage_totals: Mapping[UsageKey, Decimal],
    entries: Sequence[TimesheetEntry],
    milestones: Sequence[Milestone],
    up_to: date,
    billed: Set[str],
) -> Iterator[BillableLine]:
    for charge in charges:
        if isinstance(charge, RecurringCharge):
            yield from _recurring_lines(charge, contract, changes, up_to)
        elif isinstance(charge, OneTimeCharge):
            yield from _one_time_lines(charge, contract, changes)
        elif isinstance(charge, UsageCharge):
            yield from _usage_lines(charge, contract, changes, usage_totals, up_to)
        else:
            yield from _time_lines(charge, contract, changes, entries, up_to, billed)
    for milestone in milestones:
        yield from _milestone_lines(milestone, contract)


def _cancelled_from(charge_id: str, changes: Sequence[ChargeChange]) -> date | None:
    days = [c.effective for c in changes if c.charge_id == charge_id and c.cancel]
    return min(days) if days else None


def _periods_served(
    charge: UsageCharge | TimeAndMaterials,
    contract: Contract,
    changes: Sequence[ChargeChange],
    up_to: date,
) -> list[Period]:
    cancel = _cancelled_from(charge.id, changes)
    end = cancel - ONE_DAY if cancel else None
    return billing_periods(charge, contract, up_to, service_end=end)


def _recurring_lines(
    charge: RecurringCharge, contract: Contract, changes: Sequence[ChargeChange], up_to: date
) -> Iterator[BillableLine]:
    timeline = effective_changes(charge, contract, changes, up_to)
    cancel = _cancelled_from(charge.id, timeline)
    if charge.timing is Timing.ADVANCE:
        # periods that started before the cancellation; their unused part is credited
        horizon = up_to if cancel is None else min(up_to, cancel - ONE_DAY)
        periods = billing_periods(charge, contract, horizon)
    else:
        end = cancel - ONE_DAY if cancel else None
        periods = billing_periods(charge, contract, up_to, service_end=end)
    for period in periods:
        yield from period_lines(charge, contract, period, timeline)


def _one_time_lines(
    charge: OneTimeCharge, contract: Contract, changes: Sequence[ChargeChange]
) -> Iterator[BillableLine]:
    cancel = _cancelled_from(charge.id, changes)
    if cancel is not None and cancel <= charge.bill_date:
        return
    if charge.amount is not None:
        amount, price = charge.amount, charge.amount.amount
    else:
        price = charge.unit_price or Decimal(0)
        amount = Money.rounded(charge.quantity * price, contract.currency, contract.rounding)
    key = period_key(charge.id, charge.bill_date, charge.bill_date)
    yield _simple_line(
        contract,
        charge.id,
        key,
        "charge",
        charge.sku,
        charge.description,
        charge.quantity,
        price,
        amount,
        charge.bill_date,
    )


def _milestone_lines(milestone: Milestone, contract: Contract) -> Iterator[BillableLine]:
    day = milestone.completed_on
    if day is None:
        return
    if milestone.amount is not None:
        amount = milestone.amount
        description = milestone.description
    else:
        value = contract.value or Money.zero(contract.currency)
        share = Fraction(value.amount) * Fraction(milestone.percent or 0) / 100
        amount = money_of(share, contract.currency, contract.rounding)
        description = f"{milestone.description} ({milestone.percent} % of {value})"
    yield _simple_line(
        contract,
        milestone.id,
        f"{milestone.id}:milestone",
        "milestone",
        milestone.sku,
        description,
        Decimal(1),
        amount.amount,
        amount,
        day,
    )


def _simple_line(
    contract: Contract,
    charge_id: str,
    key: str,
    source: str,
    sku: str,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    amount: Money,
    day: date,
) -> BillableLine:
    return BillableLine(
        key=key,
        covers=(key,),
        contract_id=contract.id,
        charge_id=charge_id,
        source=source,
        sku=sku,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        proration=ONE,
        amount=amount,
        service_start=day,
        service_end=day,
        bill_date=day,
        billed_in_advance=False,
        group=contract.invoice_group,
    )


def _usage_lines(
    charge: UsageCharge,
    contract: Contract,
    changes: Sequence[ChargeChange],
    usage_totals: Mapping[UsageKey, Decimal],
    up_to: date,
) -> Iterator[BillableLine]:
    for p in _periods_served(charge, contract, changes, up_to):
        quantity = usage_totals.get((charge.meter, p.start, p.end))
        if quantity is None:
            continue  # usage not in yet: the period stays due
        minimum = None
        if charge.minimum is not None:
            exact = Fraction(charge.minimum.amount) * p.factor
            minimum = money_of(exact, contract.currency, contract.rounding)
        rated = rate_usage(
            charge.pricing,
            quantity,
            charge.included,
            minimum,
            currency=contract.currency,
            rounding=contract.rounding,
        )
        used = f"{quantity.normalize():f} used"
        if charge.included:
            used += f", {charge.included.normalize():f} included"
        span = f"{p.start.isoformat()} to {p.end.isoformat()}, {used}"
        parts = [(r.description, r.quantity, r.unit_price, r.amount) for r in rated] or [
            (
                "nothing billable",
                quantity,
                Decimal(0),
                Money.zero(contract.currency),
            ),
        ]
        for n, (text, qty, price, amount) in enumerate(parts, start=1):
            yield BillableLine(
                key=f"{p.key}:{n}",
                covers=(p.key,),
                contract_id=contract.id,
                charge_id=charge.id,
                source=f"usage:{charge.meter}",
                sku=charge.sku,
                description=f"{charge.description}, {span}: {text}",
                quantity=qty,
                unit_price=price,
                proration=ONE,
                amount=amount,
                service_start=p.start,
                service_end=p.end,
                bill_date=p.bill_date,
                billed_in_advance=False,
                group=contract.invoice_group,
                unit_code=charge.unit_code,
            )


def _time_lines(
    charge: TimeAndMaterials,
    contract: Contract,
    changes: Sequence[ChargeChange],
    entries: Sequence[TimesheetEntry],
    up_to: date,
    billed: Set[str],
) -> Iterator[BillableLine]:
    def entry_key(e: TimesheetEntry) -> str:
        return f"{charge.id}:timesheet:{e.id}"

    mine = sorted(
        (
            e
            for e in entries
            if e.charge_id == charge.id and e.approved and entry_key(e) not in billed
        ),
        key=lambda e: (e.day, e.id),
    )
    if not mine:
        return
    for p in _periods_served(charge, contract, changes, up_to):
        by_role: dict[str, list[TimesheetEntry]] = defaultdict(list)
        for e in mine:
            if p.start <= e.day <= p.end:
                by_role[e.role].append(e)
        for role in sorted(by_role):
            batch = by_role[role]
            hours = sum((e.hours for e in batch), Decimal(0))
            rate = charge.rate_card[role]
            key = f"{p.key}:{role}:{min(e.id for e in batch)}"
            yield BillableLine(
                key=key,
                covers=(key, *(entry_key(e) for e in batch)),
                contract_id=contract.id,
                charge_id=charge.id,
                source="timesheets",
                sku=charge.sku,
                description=(
                    f"{charge.description}: {role}, {hours.normalize():f} h at "
                    f"{rate:f}, {p.start.isoformat()} to {p.end.isoformat()}"
                ),
                quantity=hours,
                unit_price=rate,
                proration=ONE,
                amount=Money.rounded(hours * rate, contract.currency, contract.rounding),
                service_start=p.start,
                service_end=p.end,
                bill_date=p.bill_date,
                billed_in_advance=False,
                group=contract.invoice_group,
                unit_code="HUR",
            )
