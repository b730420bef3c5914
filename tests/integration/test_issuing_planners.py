"""Issuing with planner processes writes what issuing in one process writes, on both engines."""

import json
from typing import Any

import pytest

from billfold.formats.invoice_json import parse_invoice_json
from billfold.services import invoicing, issuing
from billfold.services.context import Billfold
from billfold.store.tables import (
    accounts,
    ar_items,
    audit_log,
    invoice_parties,
    invoices,
    journal_entries,
    number_sequences,
    postings,
)

from .helpers import rows_of
from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration

CUSTOMERS = ("DE1", "FR1", "FR2", "GB1", "JP1")


def docs(first: int, count: int) -> list[dict[str, Any]]:
    """Invoices to customers in five countries (domestic, reverse charge, consumer, export,
    foreign currencies), two rates and an exempt service, dated over four days."""
    return [
        invoice(
            CUSTOMERS[n % len(CUSTOMERS)],
            {"sku": "SUB-PRO", "quantity": str(n % 4 + 1)},
            {
                "sku": ("BOOK", "WIDGET", "TRAIN")[n % 3],
                "quantity": str(n % 5 + 1),
                "unit_price": str(20 + n),
            },
            day=f"2026-11-0{2 + (n * 7) % 4}",
            ref=f"order-{n}",
        )
        for n in range(first, first + count)
    ]


def contents(bf: Billfold) -> dict[str, list[Any]]:
    return rows_of(
        bf,
        invoices,
        invoice_parties,
        journal_entries,
        postings,
        ar_items,
        accounts,
        number_sequences,
        audit_log,
    )


def issue(bf: Billfold, ids: list[int], planners: int) -> list[str]:
    with bf.transaction() as tx:
        return invoicing.issue(tx, ids, planners=planners).numbers


def test_planners_issue_what_one_process_issues(
    bf: Billfold, twin: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issuing, "BATCH", 4)
    for app in (bf, twin):
        seed_invoicing(app)
    # first call: the tax accounts are new, made by the writer as the batches need them (the
    # batches planned before that are planned again in the writer); second call: all there,
    # and debit notes to invoices of the first call among the invoices
    debit_notes = [
        invoice(
            CUSTOMERS[n % len(CUSTOMERS)],
            {"description": "Late fee", "quantity": "1", "unit_price": "15"},
            doc_type="debit_note",
            corrects=f"INV-2026-{n + 1:06d}",
            ref=f"debit-{n}",
        )
        for n in range(0, 30, 6)
    ]
    for batch in (docs(0, 30), docs(30, 10) + debit_notes + docs(40, 11)):
        serial = issue(bf, list(create(bf, *batch, issue=False)), 0)
        parallel = issue(twin, list(create(twin, *batch, issue=False)), 2)
        assert parallel == serial and len(serial) == len(batch)
    assert "INV-2026-000051" in serial and "DN-2026-000005" in serial
    assert contents(twin) == contents(bf)
    with bf.reading() as conn:
        codes = {r[0] for r in conn.execute(accounts.select().with_only_columns(accounts.c.code))}
    assert {"2200-DE-19", "2200-DE-7"} <= codes


def test_drafts_of_the_issuing_transaction_are_planned_by_the_writer(
    bf: Billfold, twin: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planners read the last commit: drafts created in the same transaction are not there for
    them, so the writer plans those batches itself, and issues them all."""
    monkeypatch.setattr(issuing, "BATCH", 3)
    data = json.dumps(docs(0, 20)).encode()
    for app, planners in ((bf, 0), (twin, 2)):
        seed_invoicing(app)
        with app.transaction() as tx:
            drafts = invoicing.create_drafts(
                tx, parse_invoice_json(data, "docs.json"), source="test"
            )
            numbers = invoicing.issue(tx, drafts.created, planners=planners).numbers
        assert len(numbers) == 20
    assert contents(twin) == contents(bf)


def test_a_refused_issue_with_planners_changes_nothing(
    bf: Billfold, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issuing, "BATCH", 3)
    seed_invoicing(bf)
    [issued] = create(bf, *docs(100, 1))
    ids = list(create(bf, *docs(0, 12), issue=False))
    before = contents(bf)
    with bf.reading() as conn:
        issued_id = conn.execute(
            invoices.select().with_only_columns(invoices.c.id).where(invoices.c.number == issued)
        ).scalar_one()
    with pytest.raises(Exception, match=f"{issued} is already issued"):
        issue(bf, [*ids, issued_id], 2)
    assert contents(bf) == before
    # a draft named twice is issued once, and no number is skipped
    assert issue(bf, [*ids, ids[0]], 2) == [f"INV-2026-{n:06d}" for n in range(2, 14)]
