from datetime import date

import pytest

from billfold.domain.ledger import EntryDraft, PostingLine, check_balanced, reversal_lines
from billfold.errors import CurrencyError, UnbalancedEntry
from billfold.money import Money


def eur(v: str) -> Money:
    return Money.of(v, "EUR")


def line(
    account: str, amount: str, currency: str = "EUR", functional: str | None = None
) -> PostingLine:
    return PostingLine(account, Money.of(amount, currency), eur(functional or amount))


def draft(*lines: PostingLine) -> EntryDraft:
    return EntryDraft("ACME", date(2026, 1, 1), "test", tuple(lines))


def test_balanced_entry_passes() -> None:
    check_balanced(
        draft(line("1100", "119.00"), line("4000", "-100.00"), line("2200", "-19.00")), "EUR"
    )


def test_unbalanced_entry_names_the_difference() -> None:
    with pytest.raises(UnbalancedEntry, match="EUR off by 0.01"):
        check_balanced(draft(line("1100", "100.01"), line("4000", "-100.00")), "EUR")


def test_foreign_currency_must_balance_in_both_currencies() -> None:
    ok = draft(line("1100", "110.00", "USD", "100.00"), line("4000", "-110.00", "USD", "-100.00"))
    check_balanced(ok, "EUR")
    bad = draft(line("1100", "110.00", "USD", "100.00"), line("4000", "-110.00", "USD", "-99.99"))
    with pytest.raises(UnbalancedEntry, match="functional EUR off by 0.01"):
        check_balanced(bad, "EUR")


def test_functional_amount_must_be_in_functional_currency() -> None:
    bad = draft(
        PostingLine("1100", eur("1"), Money.of("1", "USD")),
        PostingLine("4000", eur("-1"), Money.of("-1", "USD")),
    )
    with pytest.raises(CurrencyError, match="functional currency is EUR"):
        check_balanced(bad, "EUR")


def test_single_line_entry_is_refused() -> None:
    with pytest.raises(UnbalancedEntry, match="at least two lines"):
        check_balanced(draft(line("1100", "0.00")), "EUR")


def test_reversal_negates_every_line() -> None:
    lines = (line("1100", "10.00"), line("4000", "-10.00"))
    assert [ln.amount.amount for ln in reversal_lines(lines)] == [
        eur("-10").amount,
        eur("10").amount,
    ]
