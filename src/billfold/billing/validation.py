"""Checks on a contract, its charges, changes, milestones and timesheets before anything is billed.

Each check raises on the first problem it finds, with a message naming the contract and the
charge (or both charges, for an overlap). ``due_lines`` runs them all; the service may call
``validate_contract`` when a contract or charge is saved, to refuse bad input at the door.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from billfold.billing.errors import (
    BillingError,
    InvalidContract,
    MilestoneCompletedTwice,
    OverlappingCharges,
)
from billfold.billing.model import (
    Charge,
    ChargeChange,
    Contract,
    Milestone,
    OneTimeCharge,
    PeriodicCharge,
    RecurringCharge,
    TimeAndMaterials,
    TimesheetEntry,
    UsageCharge,
)
from billfold.billing.schedule import ONE_DAY, charge_interval


def service_interval(
    charge: PeriodicCharge, contract: Contract, changes: Sequence[ChargeChange]
) -> tuple[date, date | None]:
    """First and last day a charge serves, after its cancellation if it has one."""
    start, end = charge_interval(charge, contract)
    cancels = [c.effective for c in changes if c.charge_id == charge.id and c.cancel]
    if cancels:
        last = min(cancels) - ONE_DAY
        end = last if end is None else min(end, last)
    return start, end


def validate_contract(
    contract: Contract,
    charges: Sequence[Charge],
    changes: Sequence[ChargeChange] = (),
    milestones: Sequence[Milestone] = (),
) -> None:
    """Refuse a contract whose charges, changes or milestones contradict each other.

    Raises ``MilestoneCompletedTwice`` for a milestone completed more than once,
    ``OverlappingCharges`` for two charges of one product (SKU) whose service overlaps (after
    cancellations), and ``InvalidContract`` for anything else: duplicate ids, charges outside
    the contract's dates, changes to unknown charges, two changes of a charge on one day,
    changes after a cancellation, amounts in another currency.
    """
    where = f"contract {contract.label}"
    _check_milestones(contract, milestones)
    ids = [c.id for c in charges] + sorted({m.id for m in milestones})
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidContract(f"{where}: charge id(s) used twice: {', '.join(dupes)}")
    by_id = {c.id: c for c in charges}
    for charge in charges:
        _check_charge(contract, charge)
    _check_changes(contract, by_id, changes)
    _check_overlaps(contract, charges, changes)


def _check_charge(contract: Contract, charge: Charge) -> None:
    where = f"contract {contract.label}, charge '{charge.id}'"
    fixed_end = None if contract.auto_renew else contract.end
    if isinstance(charge, OneTimeCharge):
        if charge.bill_date < contract.start or (fixed_end and charge.bill_date > fixed_end):
            raise InvalidContract(f"{where}: billed {charge.bill_date}, outside the contract")
        if charge.amount is not None and charge.amount.currency != contract.currency:
            raise InvalidContract(f"{where}: {charge.amount} is not in {contract.currency}")
        return
    start, end = charge_interval(charge, contract)
    if start < contract.start:
        raise InvalidContract(f"{where}: starts {start}, before the contract ({contract.start})")
    if end is not None and end < start:
        raise InvalidContract(f"{where}: ends {end} before it starts {start}")
    if fixed_end is not None and (end is None or end > fixed_end):
        raise InvalidContract(f"{where}: runs past the contract's end {fixed_end}")
    if (
        isinstance(charge, UsageCharge)
        and charge.minimum is not None
        and charge.minimum.currency != contract.currency
    ):
        raise InvalidContract(f"{where}: minimum {charge.minimum} is not in {contract.currency}")


def _check_changes(
    contract: Contract, by_id: dict[str, Charge], changes: Sequence[ChargeChange]
) -> None:
    seen: dict[tuple[str, date], ChargeChange] = {}
    cancelled: dict[str, date] = {}
    for change in sorted(changes, key=lambda c: (c.charge_id, c.effective)):
        where = (
            f"contract {contract.label}, change of charge '{change.charge_id}' "
            f"on {change.effective}"
        )
        charge = by_id.get(change.charge_id)
        if charge is None:
            raise InvalidContract(f"{where}: the contract has no such charge")
        if (change.charge_id, change.effective) in seen:
            raise InvalidContract(f"{where}: the charge already has a change that day")
        seen[(change.charge_id, change.effective)] = change
        if change.charge_id in cancelled:
            raise InvalidContract(
                f"{where}: the charge is cancelled from {cancelled[change.charge_id]}"
            )
        if not isinstance(charge, RecurringCharge) and not change.cancel:
            raise InvalidContract(
                f"{where}: only recurring charges change quantity or price; "
                "end this charge and add a new one"
            )
        if isinstance(charge, OneTimeCharge):
            continue
        start, end = charge_interval(charge, contract)
        if change.effective < start or (end is not None and change.effective > end):
            raise InvalidContract(f"{where}: outside the charge's service ({start} to {end})")
        if change.cancel:
            cancelled[change.charge_id] = change.effective


def _check_overlaps(
    contract: Contract, charges: Sequence[Charge], changes: Sequence[ChargeChange]
) -> None:
    spans: dict[str, list[tuple[str, date, date | None]]] = {}
    for charge in charges:
        if isinstance(charge, OneTimeCharge):
            continue
        start, end = service_interval(charge, contract, changes)
        if end is not None and end < start:
            continue  # cancelled before it started: serves nothing
        for other in spans.get(charge.sku, []):
            if (end is None or other[1] <= end) and (other[2] is None or start <= other[2]):
                raise OverlappingCharges(contract.label, charge.sku, other, (charge.id, start, end))
        spans.setdefault(charge.sku, []).append((charge.id, start, end))


def _check_milestones(contract: Contract, milestones: Sequence[Milestone]) -> None:
    done: dict[str, date] = {}
    for m in milestones:
        where = f"contract {contract.label}, milestone '{m.id}'"
        if m.completed_on is not None:
            if m.id in done:
                raise MilestoneCompletedTwice(contract.label, m.id, done[m.id], m.completed_on)
            done[m.id] = m.completed_on
            if m.completed_on < contract.start:
                raise InvalidContract(f"{where}: completed before the contract started")
        if m.percent is not None and contract.value is None:
            raise InvalidContract(f"{where}: a percentage milestone needs the contract's value")
        if m.amount is not None and m.amount.currency != contract.currency:
            raise InvalidContract(f"{where}: {m.amount} is not in {contract.currency}")


def complete_milestone(contract: Contract, milestone: Milestone, on: date) -> Milestone:
    """The milestone marked complete on ``on``; refused if it was completed already."""
    if milestone.completed_on is not None:
        raise MilestoneCompletedTwice(contract.label, milestone.id, milestone.completed_on, on)
    if on < contract.start:
        raise InvalidContract(
            f"contract {contract.label}, milestone '{milestone.id}': completed before the "
            "contract started"
        )
    return replace(milestone, completed_on=on)


def check_timesheets(
    contract: Contract,
    charges: Sequence[Charge],
    changes: Sequence[ChargeChange],
    entries: Sequence[TimesheetEntry],
) -> None:
    """Refuse timesheet entries for unknown charges or roles, outside the charge's service,
    with hours that are not positive, or with an id used twice."""
    tm = {c.id: c for c in charges if isinstance(c, TimeAndMaterials)}
    seen: set[str] = set()
    for e in entries:
        where = f"contract {contract.label}, timesheet entry '{e.id}'"
        if e.id in seen:
            raise BillingError(f"{where}: the entry is given twice")
        seen.add(e.id)
        charge = tm.get(e.charge_id)
        if charge is None:
            raise BillingError(f"{where}: no time-and-materials charge '{e.charge_id}'")
        if e.role not in charge.rate_card:
            roles = ", ".join(sorted(charge.rate_card))
            raise BillingError(f"{where}: role {e.role!r} is not on the rate card ({roles})")
        if e.hours <= 0:
            raise BillingError(f"{where}: hours must be positive, got {e.hours}")
        start, end = service_interval(charge, contract, changes)
        if e.day < start or (end is not None and e.day > end):
            raise BillingError(f"{where}: {e.day} is outside the charge's service")
