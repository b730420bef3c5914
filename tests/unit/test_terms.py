from datetime import date
from decimal import Decimal

import pytest

from billfold.domain.terms import parse_terms
from billfold.errors import InvalidInput


@pytest.mark.parametrize(
    ("code", "invoice", "due"),
    [
        ("NET30", date(2026, 1, 15), date(2026, 2, 14)),
        ("net 45", date(2026, 12, 20), date(2027, 2, 3)),
        ("DUE", date(2026, 3, 3), date(2026, 3, 3)),
        ("due on receipt", date(2026, 3, 3), date(2026, 3, 3)),
        ("EOM", date(2024, 2, 10), date(2024, 2, 29)),
        ("EOM+15", date(2026, 1, 31), date(2026, 2, 15)),
        ("EOM+30", date(2026, 2, 1), date(2026, 3, 30)),
    ],
)
def test_due_dates(code: str, invoice: date, due: date) -> None:
    assert parse_terms(code).due_date(invoice) == due


def test_early_payment_discount() -> None:
    terms = parse_terms("2/10 net 30")
    assert terms.code == "2/10 NET30"
    assert terms.discount_percent == Decimal("2")
    assert terms.discount_date(date(2026, 1, 1)) == date(2026, 1, 11)
    assert terms.due_date(date(2026, 1, 1)) == date(2026, 1, 31)
    assert parse_terms("1.5/15 EOM+30").code == "1.5/15 EOM+30"
    assert parse_terms("NET30").discount_date(date(2026, 1, 1)) is None


@pytest.mark.parametrize("code", ["", "NET", "30", "NET-5", "2/40 NET30", "120/10 NET30", "soon"])
def test_bad_terms_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput):
        parse_terms(code)
