"""The billing tests' sample book: three contracts of two payers in EUR and GBP."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import func, select

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


def billed_per_contract(bf: Billfold) -> dict[int, int]:
    """How many exactly-once keys each contract has consumed."""
    c = billed_charges.c
    with bf.reading() as conn:
        query = select(c.contract_id, func.count()).group_by(c.contract_id)
        return {cid: n for cid, n in conn.execute(query).all()}


def kill_run(db_url: str, day: date, after_batches: int, **arguments: int) -> None:
    """A billing run to ``day`` in another process, killed with SIGKILL (for real) once it has
    written ``after_batches`` batches; ``arguments`` go to ``run_billing`` (batch, planners)."""
    extra = "".join(f", {name}={value}" for name, value in arguments.items())
    script = (
        "import sys; from datetime import date; from billfold.services.context import "
        "Billfold; from billfold.services.billing_run import run_billing; "
        f"run_billing(Billfold.open(sys.argv[1]), date({day.year}, {day.month}, {day.day}){extra})"
    )
    env = {**os.environ, "BILLFOLD_TEST_KILL_AFTER_BATCHES": str(after_batches)}
    killed = subprocess.run(
        [sys.executable, "-c", script, db_url], env=env, check=False, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
