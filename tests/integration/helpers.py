"""Small builders shared by the integration tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.money import Money
from billfold.services.context import Billfold
from billfold.store.tables import metadata

CUSTOMERS_CSV = (
    b"number,name,currency,payment_terms,bill_to_country,tax_id\n"
    b"C1,Alpha AG,EUR,NET30,DE,DE136695976\n"
    b"C2,Beta SARL,EUR,NET30,FR,FR40303265045\n"
    b"C3,Gamma Ltd,GBP,NET30,GB,GB980780684\n"
)


def eur(v: str) -> Money:
    return Money.of(v, "EUR")


def line(
    account: str,
    amount: str,
    customer: str | None = None,
    item: str | None = None,
    currency: str = "EUR",
    functional: str | None = None,
) -> PostingLine:
    return PostingLine(
        account,
        Money.of(amount, currency),
        eur(functional or amount),
        customer,
        "invoice" if item else None,
        item,
    )


def sale(customer: str, item: str, amount: str, day: date = date(2026, 11, 2)) -> EntryDraft:
    """An invoice-like entry: Dr AR / Cr revenue."""
    return EntryDraft(
        "ACME-DE",
        day,
        f"Sale {item}",
        (line("1100", amount, customer, item), line("4000", f"-{amount}")),
    )


def load_customers(bf: Billfold) -> None:
    from billfold.services.customers import import_customers

    with bf.transaction() as tx:
        import_customers(tx, CUSTOMERS_CSV, "base.csv")


def row_counts(bf: Billfold) -> dict[str, int]:
    """Rows per table: 'nothing was written' means these do not change."""
    with bf.reading() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
