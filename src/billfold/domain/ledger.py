"""Double-entry rules: what a journal entry is, and when it may be posted.

Sign convention: a posting's amount is positive for a debit and negative for a credit. An entry
balances when, for every currency, its amounts sum to zero, and its functional-currency amounts
sum to zero too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billfold.errors import CurrencyError, UnbalancedEntry
from billfold.money import Money

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One line of a journal entry.

    Fields: ``account`` (code), ``amount`` (transaction currency, debit > 0), ``functional``
    (the same in the entity's functional currency), and for AR lines the ``customer`` number and
    the open item (``item_type`` such as ``invoice``, ``item_ref`` such as ``INV-2026-000001``).
    """

    account: str
    amount: Money
    functional: Money
    customer: str | None = None
    item_type: str | None = None
    item_ref: str | None = None
    memo: str | None = None


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """A journal entry before posting. Fields: entity code, date, description, lines, source."""

    entity: str
    entry_date: date
    description: str
    lines: tuple[PostingLine, ...]
    source_type: str = "manual"
    source_ref: str | None = None
    reverses_id: int | None = None
    meta: dict[str, str] = field(default_factory=dict)


def period_of(day: date) -> str:
    """The accounting period (calendar month) a date falls in, as ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def check_balanced(draft: EntryDraft, functional_currency: str) -> None:
    """Raise ``UnbalancedEntry`` unless debits equal credits per currency and in functional."""
    if len(draft.lines) < 2:
        raise UnbalancedEntry(f"journal entry '{draft.description}' needs at least two lines")
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    functional = Decimal(0)
    for n, line in enumerate(draft.lines, start=1):
        if line.functional.currency != functional_currency:
            raise CurrencyError(
                f"line {n}: functional amount is in {line.functional.currency}, "
                f"the entity's functional currency is {functional_currency}"
            )
        if line.amount.currency == functional_currency and line.amount != line.functional:
            raise UnbalancedEntry(
                f"line {n}: amount {line.amount} and functional amount {line.functional} differ "
                "although both are in the functional currency"
            )
        if (line.amount.amount > 0 > line.functional.amount) or (
            line.amount.amount < 0 < line.functional.amount
        ):
            raise UnbalancedEntry(f"line {n}: amount and functional amount have opposite signs")
        per_currency[line.amount.currency] += line.amount.amount
        functional += line.functional.amount
    problems = [f"{cur} off by {diff}" for cur, diff in sorted(per_currency.items()) if diff != 0]
    if functional != 0:
        problems.append(f"functional {functional_currency} off by {functional}")
    if problems:
        raise UnbalancedEntry(
            f"journal entry '{draft.description}' does not balance: {'; '.join(problems)} "
            "(debits must equal credits)"
        )


def reversal_lines(lines: Iterable[PostingLine]) -> tuple[PostingLine, ...]:
    """The lines of an entry with every amount negated: the entry that undoes it."""
    return tuple(
        PostingLine(
            account=ln.account,
            amount=-ln.amount,
            functional=-ln.functional,
            customer=ln.customer,
            item_type=ln.item_type,
            item_ref=ln.item_ref,
            memo=ln.memo,
        )
        for ln in lines
    )
