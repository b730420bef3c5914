"""A seeded invoicing world: customers in six countries, a catalog, prices, ECB rates, US rates."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from billfold.formats.invoice_json import parse_invoice_json
from billfold.services import catalog, entities, fx, invoicing, tax_rates
from billfold.services.context import Billfold
from billfold.services.customers import import_customers

FIX = Path(__file__).parents[1] / "fixtures" / "invoicing"


def seed_invoicing(bf: Billfold) -> None:
    with bf.transaction() as tx:
        import_customers(tx, (FIX / "customers.csv").read_bytes(), "customers.csv")
        catalog.import_products(tx, (FIX / "products.csv").read_bytes(), "products.csv")
        catalog.import_prices(tx, (FIX / "prices.csv").read_bytes(), "prices.csv")
        fx.import_rates(tx, (FIX / "ecb.csv").read_bytes(), "ecb.csv")
        tax_rates.import_us_rates(tx, (FIX / "us_rates.csv").read_bytes(), "us_rates.csv")
        entities.add_bank_account(tx, "ACME-DE", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX")
        entities.configure_entity(
            tx,
            "ACME-DE",
            email="billing@acme.example",
            contact_name="Erika Muster",
            phone="+49 30 1234567",
        )
        entities.create_entity(
            tx,
            entities.NewEntity(
                "ACME-US",
                "Acme Americas Inc.",
                "US",
                "USD",
                address_line1="1 Pine St",
                city="Seattle",
                postal_code="98101",
                region="WA",
            ),
            ["12-3456789"],
        )


def invoice(
    customer: str,
    *lines: dict[str, Any],
    entity: str = "ACME-DE",
    day: str = "2026-11-02",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "entity": entity,
        "customer": customer,
        "issue_date": day,
        "lines": list(lines),
        **extra,
    }


def create(bf: Billfold, *docs: dict[str, Any], issue: bool = True) -> list[str] | list[int]:
    """Create (and issue) invoices from JSON-like dicts; returns numbers (or draft ids)."""
    data = json.dumps(list(docs)).encode()
    requests = parse_invoice_json(data, "test.json")
    with bf.transaction() as tx:
        result = invoicing.create_drafts(tx, requests, source=invoicing.file_ref_prefix(data))
        if not issue:
            return result.created
        return invoicing.issue(tx, result.created).numbers


TODAY = date(2026, 11, 25)
