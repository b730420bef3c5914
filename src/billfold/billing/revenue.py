"""Revenue recognition for lines billed in advance.

A line billed in advance is posted to deferred revenue when it is invoiced and recognised
month by month over its service period, in proportion to the days of service in each calendar
month. The monthly parts are whole minor units split with the largest-remainder method, so they
always add up exactly to the line's amount (credits, being negative, split the same way).
"""

from __future__ import annotations

from datetime import date

from billfold.billing.errors import BillingError
from billfold.billing.schedule import ONE_DAY, add_months
from billfold.money import Money, allocate


def month_days(service_start: date, service_end: date) -> list[tuple[str, int]]:
    """Days of ``service_start..service_end`` (inclusive) per calendar month, as
    ``("YYYY-MM", days)`` in date order."""
    if service_end < service_start:
        raise BillingError(f"service period ends {service_end} before it starts {service_start}")
    result = []
    day = service_start
    while day <= service_end:
        next_month = add_months(day.replace(day=1), 1)
        last = min(next_month - ONE_DAY, service_end)
        result.append((f"{day.year:04d}-{day.month:02d}", (last - day).days + 1))
        day = next_month
    return result


def recognition_schedule(
    amount: Money, service_start: date, service_end: date
) -> list[tuple[str, Money]]:
    """``amount`` spread over the calendar months of the service period by days of service.

    Returns ``[("YYYY-MM", part), ...]`` in date order; the parts sum exactly to ``amount``.
    """
    months = month_days(service_start, service_end)
    parts = allocate(amount, [days for _, days in months])
    return [(month, part) for (month, _), part in zip(months, parts, strict=True)]


def served_and_unserved(
    amount: Money, service_start: date, service_end: date, credited_on: date
) -> tuple[Money, list[tuple[str, Money]]]:
    """A credit of ``amount`` on a line billed in advance, issued on ``credited_on``, split by
    the line's own schedule: the months before the credit's month were served (their revenue
    is earned, so the credit takes it back from revenue at once), the months from the credit's
    month on were not (the credit takes them back from deferred revenue, and they are
    scheduled again, negatively, so that nothing is recognised for them).

    Returns ``(served, [("YYYY-MM", part), ...])``; ``served`` plus the parts is ``amount``.
    """
    cut = f"{credited_on.year:04d}-{credited_on.month:02d}"
    months = recognition_schedule(amount, service_start, service_end)
    served = Money.zero(amount.currency)
    for month, part in months:
        if month < cut:
            served = served + part
    return served, [(month, part) for month, part in months if month >= cut]
