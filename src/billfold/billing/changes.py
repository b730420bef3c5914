"""Changes during a period: quantity and price changes, upgrades, downgrades, cancellations.

A change takes effect on its ``effective`` day. When that day falls strictly inside a service
period (after its first day), the period is split there:

* **billed in advance** -- the whole period was (or will be) billed at the old terms on its
  first day. On the effective day two lines become due, both for the service period
  ``[effective, period end]`` and prorated over the same days of the same full period:
  a **credit** for the unused part of the old terms (negative quantity and amount) and a
  **charge** for the new terms. A cancellation gives the credit alone.
* **billed in arrears** -- nothing was billed yet, so the period is billed in pieces:
  ``[start, effective - 1]`` at the old terms and ``[effective, end]`` at the new ones, each
  prorated by day and keyed by its own service period. A cancellation bills only up to the day
  before it takes effect, and that bill is due on the effective day.

A change on a period's first day simply gives that period (and the next ones) the new terms.
Charges that do not prorate ignore mid-period changes until the next period. Keys:

=============================  ================================================================
``<charge>:<start>:<end>``     a period, an arrears piece, or the new-terms line of a change
``<charge>:<eff>:<end>:credit``  the credit for the old terms of an advance-billed period
=============================  ================================================================

Auto-renewal with an uplift is modelled as a price change on each renewal day
(``effective_changes``), so renewals that fall inside a period are prorated the same way.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from billfold.billing.errors import BillingError, RetroactiveChange
from billfold.billing.model import (
    BillableLine,
    Charge,
    ChargeChange,
    Contract,
    OneTimeCharge,
    RecurringCharge,
    Terms,
    Timing,
    prorated,
)
from billfold.billing.schedule import ONE_DAY, Period, days_between, period_key, renewal_dates
from billfold.money import Currency

HUNDRED = Decimal(100)


def _price(value: Decimal) -> str:
    """A price as given: 0.10 stays 0.10."""
    return f"{value:f}"


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _days(start: date, end: date, full_days: int) -> str:
    return f"{start.isoformat()} to {end.isoformat()}, {days_between(start, end)}/{full_days} days"


def effective_changes(
    charge: RecurringCharge, contract: Contract, changes: Sequence[ChargeChange], up_to: date
) -> list[ChargeChange]:
    """The changes of ``charge`` in date order, with a renewal uplift on each renewal day.

    The uplift applies to charges that follow the contract's renewals (no end of their own)
    and started before the renewal day. It multiplies the price in effect the day before by
    ``1 + uplift / 100``, rounded to the currency's minor unit (or to the price's own decimals
    when it has more). A change on the renewal day that sets its own price replaces the
    uplift (a negotiated renewal price); one that changes only the quantity gets the uplift too.
    """
    own = sorted((c for c in changes if c.charge_id == charge.id), key=lambda c: c.effective)
    uplift = contract.uplift_percent
    start = charge.start or contract.start
    if not uplift or charge.end is not None:
        return own
    renewals = [d for d in renewal_dates(contract, up_to) if d > start]
    by_day = {c.effective: c for c in own}
    result: list[ChargeChange] = []
    terms: Terms | None = charge.terms
    for day in sorted(set(by_day) | set(renewals)):
        change = by_day.get(day)
        if day in renewals and terms is not None and (change is None or change.unit_price is None):
            price = _uplifted(terms.unit_price, uplift, contract.currency)
            reason = f"renewal uplift {_num(uplift)} %"
            if change is None:
                change = ChargeChange(charge.id, day, unit_price=price, reason=reason)
            elif not change.cancel:
                change = replace(change, unit_price=price, reason=change.reason or reason)
        if change is None:
            continue
        result.append(change)
        terms = change.apply(terms) if terms is not None else None
    return result


def _uplifted(price: Decimal, uplift: Decimal, currency: str) -> Decimal:
    exponent = min(-Currency.of(currency).exponent, _exponent(price))
    quantum = Decimal(1).scaleb(exponent)
    return (price * (HUNDRED + uplift) / HUNDRED).quantize(quantum)


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def terms_on(charge: RecurringCharge, changes: Sequence[ChargeChange], day: date) -> Terms | None:
    """The terms in effect on ``day`` after the (date-ordered) ``changes``; ``None`` once
    cancelled."""
    terms: Terms | None = charge.terms
    for change in changes:
        if change.effective > day or terms is None:
            break
        terms = change.apply(terms)
    return terms


def period_lines(
    charge: RecurringCharge,
    contract: Contract,
    period: Period,
    changes: Sequence[ChargeChange],
) -> list[BillableLine]:
    """Every line of one period of a recurring charge, given all its date-ordered changes.

    Advance: the period at the terms of its first day, then a credit and a charge for each
    change inside it. Arrears: the period in pieces at the terms of each piece.
    """
    terms = terms_on(charge, changes, period.start)
    if terms is None:
        return []
    inside = [c for c in changes if period.start < c.effective <= period.end]
    if charge.timing is Timing.ADVANCE:
        base = _line(charge, contract, period.key, period, period.start, period.end, terms)
        lines = [base]
        for change in inside if charge.prorate else []:
            lines += _advance_adjustment(charge, contract, period, change, terms)
            after = change.apply(terms)
            if after is None:
                break
            terms = after
        return lines
    if not inside or not charge.prorate:
        return [_line(charge, contract, period.key, period, period.start, period.end, terms)]
    return _arrears_pieces(charge, contract, period, inside, terms)


def change_lines(
    charge: RecurringCharge,
    period: Period,
    change: ChargeChange,
    *,
    contract: Contract,
    before: Terms | None = None,
) -> list[BillableLine]:
    """The lines one change makes in one period (``before``: the old terms, by default the
    charge's own).

    Advance: the credit for the old terms and the charge for the new ones over
    ``[effective, period end]``, in addition to the period already billed. Arrears: the pieces
    that replace the period's own line. A change outside ``(period start, period end]`` makes
    no lines.
    """
    if change.charge_id != charge.id:
        raise BillingError(f"change of charge '{change.charge_id}' given for '{charge.id}'")
    if not period.start < change.effective <= period.end:
        return []
    terms = before or charge.terms
    if charge.timing is Timing.ADVANCE:
        return (
            _advance_adjustment(charge, contract, period, change, terms) if charge.prorate else []
        )
    if not charge.prorate:
        return [_line(charge, contract, period.key, period, period.start, period.end, terms)]
    return _arrears_pieces(charge, contract, period, [change], terms)


def _advance_adjustment(
    charge: RecurringCharge,
    contract: Contract,
    period: Period,
    change: ChargeChange,
    old: Terms,
) -> list[BillableLine]:
    eff, end = change.effective, period.end
    span = _days(eff, end, period.full_period_days)
    why = f" ({change.reason})" if change.reason else ""
    if change.cancel:
        label = f"{charge.description}: cancelled from {eff.isoformat()}, credit {span}{why}"
    else:
        label = (
            f"{charge.description}: credit for {_num(old.quantity)} x {_price(old.unit_price)}, "
            f"{span}{why}"
        )
    credit_terms = Terms(-old.quantity, old.unit_price)
    credit_key = f"{period_key(charge.id, eff, end)}:credit"
    lines = [_line(charge, contract, credit_key, period, eff, end, credit_terms, eff, label)]
    new = change.apply(old)
    if new is not None:
        label = (
            f"{charge.description}: {_num(new.quantity)} x {_price(new.unit_price)}, {span}{why}"
        )
        key = period_key(charge.id, eff, end)
        lines.append(_line(charge, contract, key, period, eff, end, new, eff, label))
    return lines


def _arrears_pieces(
    charge: RecurringCharge,
    contract: Contract,
    period: Period,
    inside: Sequence[ChargeChange],
    terms: Terms,
) -> list[BillableLine]:
    cuts = [c.effective for c in inside]
    cancelled = next((c.effective for c in inside if c.cancel), None)
    bill = cancelled or period.bill_date
    lines = []
    piece_start = period.start
    current: Terms | None = terms
    for change, cut in [*zip(inside, cuts, strict=True), (None, period.end + ONE_DAY)]:
        if current is None:
            break
        piece_end = cut - ONE_DAY
        label = (
            f"{charge.description}: {_num(current.quantity)} x {_price(current.unit_price)}, "
            f"{_days(piece_start, piece_end, period.full_period_days)}"
        )
        key = period_key(charge.id, piece_start, piece_end)
        lines.append(
            _line(charge, contract, key, period, piece_start, piece_end, current, bill, label)
        )
        if change is not None:
            current = change.apply(current)
        piece_start = cut
    return lines


def _line(
    charge: RecurringCharge,
    contract: Contract,
    key: str,
    period: Period,
    start: date,
    end: date,
    terms: Terms,
    bill_date: date | None = None,
    description: str | None = None,
) -> BillableLine:
    whole = start == period.start and end == period.end
    factor = period.factor if whole else Fraction(days_between(start, end), period.full_period_days)
    if description is None:
        description = charge.description
        if factor != 1:
            description += f" ({_days(start, end, period.full_period_days)})"
    return BillableLine(
        key=key,
        covers=(key,),
        contract_id=contract.id,
        charge_id=charge.id,
        source="charge",
        sku=charge.sku,
        description=description,
        quantity=terms.quantity,
        unit_price=terms.unit_price,
        proration=factor,
        amount=prorated(terms, factor, contract.currency, contract.rounding),
        service_start=start,
        service_end=end,
        bill_date=bill_date or period.bill_date,
        billed_in_advance=charge.timing is Timing.ADVANCE,
        group=contract.invoice_group,
    )


def _key_span(charge_id: str, key: str) -> tuple[date, date] | None:
    prefix = f"{charge_id}:"
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix) :].split(":")
    try:
        return date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except (IndexError, ValueError):
        return None


def validate_change(charge: Charge, change: ChargeChange, already_billed_keys: Set[str]) -> None:
    """Refuse a new change that would re-rate something already billed.

    Call it when a change is recorded. Advance-billed charges accept a change inside the last
    billed period (it is credited and re-charged) but not on or before the first day of any
    billed service; arrears-billed charges accept no change on or before the last billed day.
    Such corrections are made with a credit memo instead.
    """
    if change.charge_id != charge.id:
        raise BillingError(f"change of charge '{change.charge_id}' given for '{charge.id}'")
    if isinstance(charge, OneTimeCharge):
        if not change.cancel:
            raise BillingError(f"charge '{charge.id}': a one-time fee can only be cancelled")
        if any(k.startswith(f"{charge.id}:") for k in already_billed_keys):
            raise RetroactiveChange(f"charge '{charge.id}' is already billed; issue a credit memo")
        return
    advance = isinstance(charge, RecurringCharge) and charge.timing is Timing.ADVANCE
    for key in already_billed_keys:
        span = _key_span(charge.id, key)
        if span is None:
            continue
        reached = span[0] if advance else span[1]
        if change.effective <= reached:
            raise RetroactiveChange(
                f"charge '{charge.id}': a change effective {change.effective.isoformat()} "
                f"reaches back into service already billed ({span[0]} to {span[1]}); "
                "correct it with a credit memo"
            )
