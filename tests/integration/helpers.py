"""Small builders shared by the integration tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Table, func, select

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


def aging_by_item(conn: Any, as_of: date, buckets: tuple[int, ...], basis: str = "due") -> Any:
    """The aging's rows worked out item by item in Python, from the open items as of ``as_of``
    (``open_items_as_of``, which other reports read): (customer, entity, currency) -> bucket
    amounts, total, functional total, number of items -- all in minor units."""
    from billfold.reports.aging import open_items_as_of
    from billfold.store.tables import customers, legal_entities

    items = open_items_as_of(conn, as_of, None)
    q = (
        select(customers.c.number, legal_entities.c.code, items)
        .join_from(items, customers, customers.c.id == items.c.customer_id)
        .join(legal_entities, legal_entities.c.id == items.c.entity_id)
    )
    out: dict[tuple[str, str, str], list[Any]] = {}
    for r in conn.execute(q).mappings():
        day = (r["due_date"] if basis == "due" else r["doc_date"]) or r["first_date"]
        late = (as_of - day).days
        k = sum(1 for b in buckets if late > b)  # 0 = current, 1 = first bucket, ...
        row = out.setdefault(
            (r["number"], r["code"], r["currency"]), [[0] * (len(buckets) + 1), 0, 0, 0]
        )
        row[0][k] += int(r["open"])
        row[1] += int(r["open"])
        row[2] += int(r["fopen"])
        row[3] += 1
    return {k: (tuple(v[0]), v[1], v[2], v[3]) for k, v in out.items()}


def aging_rows_minor(report: Any) -> Any:
    """An ``AgingReport`` by customer in the shape of :func:`aging_by_item`."""
    return {
        (r.key, r.entity, r.currency): (
            tuple(Money.of(b, r.currency).minor for b in r.buckets),
            Money.of(r.total, r.currency).minor,
            Money.of(r.functional_total, r.functional_currency).minor,
            r.items,
        )
        for r in report.rows
    }


def rows_of(bf: Billfold, *tables: Table) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables`` in primary-key order, ids included: what two databases that
    must have been written alike are compared by."""
    with bf.reading() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in tables
        }
