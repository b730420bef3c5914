"""Billing periods: which service periods a charge bills, when, and what fraction of a full one.

Periods are cut at *boundaries* ``b(n) = add_months(anchor, n x months)`` for every integer
``n`` (``months`` is 1, 3 or 12). Each boundary is computed from the anchor itself, never from
the previous boundary, and the day is clamped to the end of a shorter month. So a Jan 31 anchor
gives Feb 28 (Feb 29 in a leap year), then Mar 31, Apr 30, May 31 ...: it never drifts to the
28th. A Feb 29 annual anchor gives Feb 28 in common years and Feb 29 again in leap years.

* anniversary alignment: the anchor is the charge's anchor (default: its first day);
* calendar alignment: the anchor is January 1, so periods are calendar months, quarters
  (Jan/Apr/Jul/Oct) or years.

The full period ``[b(n), b(n+1) - 1 day]`` is cut to the charge's active interval. A cut period
is prorated by day::

    factor = days served in the period / days in the full period

counted in actual days (a February has 28 or 29, a leap year 366), as an exact ``Fraction``.
Advance periods bill on their first day, arrears periods on the day after their last.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache

from billfold.billing.model import Alignment, Contract, PeriodicCharge, Timing

ONE_DAY = timedelta(days=1)
WHOLE = Fraction(1)  # the factor of a full period (Fractions are immutable: one is shared)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    if day.day <= 28:  # every month has it
        return date(year, month0 + 1, day.day)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def days_between(start: date, end: date) -> int:
    """Days in the inclusive range ``start..end``."""
    return (end - start).days + 1


@dataclass(frozen=True, slots=True)
class Period:
    """One service period of a charge.

    ``start``..``end`` (inclusive) is the part served; ``full_period_days`` the length of the
    full period it is cut from; ``factor`` the exact share billed (``days /
    full_period_days``, or 1 when the charge does not prorate). ``bill_date`` is the first day
    it may be billed. ``key`` is the exactly-once key of the period.
    """

    charge_id: str
    start: date
    end: date
    bill_date: date
    factor: Fraction
    full_period_days: int

    @property
    def days(self) -> int:
        """Days served in the period."""
        return days_between(self.start, self.end)

    @property
    def key(self) -> str:
        """``"<charge id>:<start>:<end>"``: stable, so re-running a date bills nothing twice."""
        return period_key(self.charge_id, self.start, self.end)

    @property
    def is_partial(self) -> bool:
        """True when the period is shorter than a full one."""
        return self.days != self.full_period_days


def period_key(charge_id: str, start: date, end: date) -> str:
    """The exactly-once key of a charge's service period."""
    return f"{charge_id}:{start.isoformat()}:{end.isoformat()}"


def periods(
    charge_id: str,
    start: date,
    end: date | None,
    *,
    anchor: date,
    months: int,
    timing: Timing,
    up_to: date,
    prorate: bool = True,
) -> list[Period]:
    """The periods of ``start..end`` (``end=None``: open) whose bill date is on or before
    ``up_to``, cut at the boundaries of ``anchor`` every ``months`` months."""
    return list(_periods(charge_id, start, end, anchor, months, timing, up_to, prorate))


@lru_cache(maxsize=65_536)
def _periods(
    charge_id: str,
    start: date,
    end: date | None,
    anchor: date,
    months: int,
    timing: Timing,
    up_to: date,
    prorate: bool,
) -> tuple[Period, ...]:
    # A billing run asks the same question for many contracts (the same plan started on the
    # same day, billed up to the same date); periods are immutable, so the answer is shared.
    return tuple(
        _iter_periods(charge_id, start, end, anchor, months, timing, up_to, prorate=prorate)
    )


def _iter_periods(
    charge_id: str,
    start: date,
    end: date | None,
    anchor: date,
    months: int,
    timing: Timing,
    up_to: date,
    *,
    prorate: bool,
) -> Iterator[Period]:
    if end is not None and end < start:
        return
    n = ((start.year - anchor.year) * 12 + start.month - anchor.month) // months
    while add_months(anchor, n * months) > start:
        n -= 1
    while add_months(anchor, (n + 1) * months) <= start:
        n += 1
    while True:
        full_start = add_months(anchor, n * months)
        full_end = add_months(anchor, (n + 1) * months) - ONE_DAY
        first = max(full_start, start)
        last = full_end if end is None else min(full_end, end)
        if first > last:
            return
        bill = first if timing is Timing.ADVANCE else last + ONE_DAY
        if bill > up_to:
            return
        full_days = days_between(full_start, full_end)
        days = days_between(first, last)
        factor = Fraction(days, full_days) if prorate and days != full_days else WHOLE
        yield Period(charge_id, first, last, bill, factor, full_days)
        if end is not None and full_end >= end:
            return
        n += 1


def charge_interval(charge: PeriodicCharge, contract: Contract) -> tuple[date, date | None]:
    """First and last day a charge serves, before any cancellation (``None``: open-ended).

    A charge without an end follows the contract: it ends with the contract, or runs on while
    the contract auto-renews.
    """
    start = charge.start or contract.start
    if charge.end is not None:
        return start, charge.end
    return start, None if contract.auto_renew else contract.end


def charge_anchor(charge: PeriodicCharge, contract: Contract) -> date:
    """The day boundaries are counted from (January 1 for calendar alignment)."""
    start = charge.start or contract.start
    if charge.alignment is Alignment.CALENDAR:
        return date(start.year, 1, 1)
    return charge.anchor or start


def billing_periods(
    charge: PeriodicCharge, contract: Contract, up_to: date, *, service_end: date | None = None
) -> list[Period]:
    """The periods of ``charge`` under ``contract`` that are billable on or before ``up_to``.

    ``service_end`` cuts the service short (the day before a cancellation takes effect); the
    last period then ends on it and is prorated. Auto-renewal extends an open charge for as
    long as the contract renews; the uplift is a price change (see ``renewal_changes``).
    """
    start, end = charge_interval(charge, contract)
    if service_end is not None:
        end = service_end if end is None else min(end, service_end)
    return periods(
        charge.id,
        start,
        end,
        anchor=charge_anchor(charge, contract),
        months=charge.frequency.months,
        timing=charge.timing,
        up_to=up_to,
        prorate=charge.prorate,
    )


def renewal_dates(contract: Contract, up_to: date) -> list[date]:
    """First days of the renewal terms that start on or before ``up_to``.

    Renewal ``k`` starts ``k - 1`` terms after the day following the initial end; each date is
    computed from that first renewal day, so month-end renewals do not drift.
    """
    if not contract.auto_renew or contract.end is None:
        return []
    first = contract.end + ONE_DAY
    dates = []
    k = 0
    while (day := add_months(first, k * contract.renewal_term_months)) <= up_to:
        dates.append(day)
        k += 1
    return dates
