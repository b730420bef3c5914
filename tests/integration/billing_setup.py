"""The billing tests' sample book: three contracts of two payers in EUR and GBP."""

import json
from datetime import date, timedelta

from sqlalchemy import select

from billfold.services import contracts, fx
from billfold.services.context import Billfold
from billfold.store.tables import billed_charges

from .invoicing_setup import seed_invoicing


def contract(number: str, customer: str, *charges: dict, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "number": number,
        "entity": "ACME-DE",
        "customer": customer,
        "currency": "EUR",
        "start": "2026-01-15",
        "charges": list(charges),
        **extra,
    }


SUB = {
    "id": "sub",
    "kind": "recurring",
    "sku": "SUB-PRO",
    "description": "Pro plan",
    "quantity": "10",
    "unit_price": "49.00",
}


def load(bf: Billfold, *docs: dict) -> None:  # type: ignore[type-arg]
    with bf.transaction() as tx:
        contracts.import_contracts(tx, json.dumps(list(docs)).encode(), "c.json")


def keys(bf: Billfold) -> list[str]:
    with bf.reading() as conn:
        return sorted(conn.execute(select(billed_charges.c.charge_key)).scalars())


def make_world(bf: Billfold) -> Billfold:
    """K-1 (DE1, in advance), K-2 (FR1 billed to DE1, in arrears), K-3 (GB1, GBP, from
    February), on the invoicing seed with EUR/GBP rates."""
    seed_invoicing(bf)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(120)]
    rates = "date,base,quote,rate\n" + "".join(f"{d},EUR,GBP,0.8600\n" for d in days)
    with bf.transaction() as tx:
        fx.import_rates(tx, rates.encode(), "gbp.csv")
    load(
        bf,
        contract("K-1", "DE1", SUB),
        contract("K-2", "FR1", {**SUB, "timing": "arrears"}, bill_to="DE1"),
        contract("K-3", "GB1", {**SUB, "quantity": "1"}, currency="GBP", start="2026-02-01"),
    )
    return bf
