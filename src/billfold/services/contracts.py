"""Contracts: import (validated, idempotent, audited), changes, milestones, and the billing
model the engine runs on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from billfold.billing.errors import MilestoneCompletedTwice
from billfold.billing.model import ChargeChange, Contract, Milestone
from billfold.billing.validation import validate_contract
from billfold.errors import BillfoldError, InvalidInput, NotFound
from billfold.formats.contracts_json import (
    ContractSpec,
    ShipmentCharge,
    parse_contracts_json,
    to_model,
)
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.store.bulk import in_chunks, values_in
from billfold.store.tables import (
    billed_charges,
    contract_changes,
    contracts,
    customers,
    milestone_completions,
)


@dataclass(frozen=True, slots=True)
class ContractsImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_imported: bool = False


def _fingerprint(spec: ContractSpec) -> str:
    return hashlib.sha256(json.dumps(spec.raw, sort_keys=True).encode()).hexdigest()


def import_contracts(tx: Tx, data: bytes, filename: str) -> ContractsImport:
    """Create or update contracts; every one is validated (charges of one product may not
    overlap in time) before anything is written."""
    fp = file_fingerprint(data)
    if previous_import(tx, "contracts", fp):
        return ContractsImport(already_imported=True)
    specs = parse_contracts_json(data, filename)
    numbers = [s.number for s in specs]
    if len(set(numbers)) != len(numbers):
        dup = next(n for n in numbers if numbers.count(n) > 1)
        raise InvalidInput(f"{filename}: contract {dup} appears twice")
    cust = lookups.customer_ids(tx, {s.customer for s in specs} | {s.bill_to for s in specs})
    existing = {
        r.number: r
        for chunk in in_chunks(numbers)  # files of any size (parameter limits)
        for r in tx.conn.execute(select(contracts).where(contracts.c.number.in_(chunk)))
    }
    created = updated = unchanged = 0
    for s in specs:
        ent = lookups.entity(tx, s.entity)
        contract, charges, milestones, _ = to_model(s, "0", ent.rounding)
        try:
            validate_contract(contract, charges, (), milestones)
        except BillfoldError as exc:
            raise InvalidInput(f"{s.where}: {exc}") from None
        if contract.currency != s.currency:
            raise InvalidInput(f"{s.where}: currency {s.currency}")
        row = {
            "number": s.number,
            "entity_id": ent.id,
            "customer_id": cust[s.customer],
            "bill_to_id": cust[s.bill_to],
            "currency": contract.currency,
            "start_date": s.start,
            "end_date": s.end,
            "status": "active",
            "spec": json.dumps(s.raw, sort_keys=True),
            "fingerprint": _fingerprint(s),
            "updated_at": tx.now,
        }
        old = existing.get(s.number)
        if old is None:
            tx.conn.execute(insert(contracts).values(**row, created_at=tx.now))
            tx.audit("create", "contract", s.number, after=s.raw)
            created += 1
        elif old.fingerprint == row["fingerprint"]:
            unchanged += 1
        else:
            tx.conn.execute(update(contracts).where(contracts.c.id == old.id).values(**row))
            tx.audit("update", "contract", s.number, before=json.loads(old.spec), after=s.raw)
            updated += 1
    record_import(
        tx, "contracts", filename, fp, len(specs), f"{created} created, {updated} updated"
    )
    return ContractsImport(created, updated, unchanged)


@dataclass(frozen=True, slots=True)
class ContractModel:
    row_id: int
    entity_id: int
    contract: Contract
    charges: list[Any]
    changes: list[ChargeChange]
    milestones: list[Milestone]
    shipments: list[ShipmentCharge]


def load_models(conn: Connection, rows: Sequence[Any]) -> list[ContractModel]:
    """The billing model of contract rows, with their changes and completed milestones."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    changes: dict[int, list[ChargeChange]] = {}
    for c in conn.execute(
        select(contract_changes)
        .where(values_in(conn, contract_changes.c.contract_id, ids))
        .order_by(contract_changes.c.effective, contract_changes.c.id)
    ):
        changes.setdefault(c.contract_id, []).append(
            ChargeChange(
                c.charge_id,
                c.effective,
                Decimal(c.quantity) if c.quantity else None,
                Decimal(c.unit_price) if c.unit_price else None,
                bool(c.cancel),
                c.reason,
            )
        )
    done: dict[int, dict[str, date]] = {}
    for m in conn.execute(
        select(milestone_completions).where(
            values_in(conn, milestone_completions.c.contract_id, ids)
        )
    ):
        done.setdefault(m.contract_id, {})[m.charge_id] = m.completed_on
    numbers = dict(
        conn.execute(
            select(customers.c.id, customers.c.number).where(
                values_in(
                    conn,
                    customers.c.id,
                    {r.customer_id for r in rows} | {r.bill_to_id for r in rows},
                )
            )
        ).all()
    )
    entities = {}
    models = []
    for r in rows:
        if r.entity_id not in entities:
            entities[r.entity_id] = lookups.entity_by_id(conn, r.entity_id)
        ent = entities[r.entity_id]
        raw = json.loads(r.spec)
        spec = ContractSpec(
            r.number,
            ent.code,
            numbers[r.customer_id],
            numbers[r.bill_to_id],
            r.currency,
            r.start_date,
            r.end_date,
            raw,
            f"contract {r.number}",
        )
        contract, charges, milestones, shipments = to_model(spec, str(r.id), ent.rounding)
        completed = done.get(r.id, {})
        milestones = [replace(m, completed_on=completed.get(m.id)) for m in milestones]
        models.append(
            ContractModel(
                r.id, r.entity_id, contract, charges, changes.get(r.id, []), milestones, shipments
            )
        )
    return models


def _contract(conn: Connection, number: str) -> Any:
    row = conn.execute(select(contracts).where(contracts.c.number == number)).first()
    if row is None:
        raise NotFound(f"no contract {number!r}")
    return row


def add_change(
    tx: Tx,
    number: str,
    charge_id: str,
    effective: date,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    cancel: bool = False,
    reason: str | None = None,
) -> None:
    """A quantity or price change, an upgrade or downgrade, or a cancellation, effective on a
    day; the next invoice carries the prorated credit and charge."""
    row = _contract(tx.conn, number)
    [model] = load_models(tx.conn, [row])
    if charge_id not in {c.id for c in model.charges}:
        raise NotFound(f"contract {number} has no recurring charge {charge_id!r}")
    if not cancel and quantity is None and unit_price is None:
        raise InvalidInput("a change needs a new quantity, a new unit price, or --cancel")
    change = ChargeChange(charge_id, effective, quantity, unit_price, cancel, reason)
    try:
        validate_contract(model.contract, model.charges, [*model.changes, change], model.milestones)
    except BillfoldError as exc:
        raise InvalidInput(f"contract {number}: {exc}") from None
    tx.conn.execute(
        insert(contract_changes).values(
            contract_id=row.id,
            charge_id=charge_id,
            effective=effective,
            quantity=None if quantity is None else str(quantity),
            unit_price=None if unit_price is None else str(unit_price),
            cancel=cancel,
            reason=reason,
            created_at=tx.now,
            actor=tx.actor,
        )
    )
    tx.audit(
        "change",
        "contract",
        number,
        after={
            "charge": charge_id,
            "effective": effective,
            "quantity": quantity,
            "unit_price": unit_price,
            "cancel": cancel,
            "reason": reason,
        },
    )


def complete_milestone(tx: Tx, number: str, charge_id: str, on: date) -> None:
    """Mark a milestone complete (once: a second completion is refused)."""
    row = _contract(tx.conn, number)
    [model] = load_models(tx.conn, [row])
    milestone = next((m for m in model.milestones if m.id == charge_id), None)
    if milestone is None:
        raise NotFound(f"contract {number} has no milestone {charge_id!r}")
    if milestone.completed_on is not None:
        raise MilestoneCompletedTwice(number, charge_id, milestone.completed_on, on)
    if on < model.contract.start:
        raise InvalidInput(f"milestone {charge_id}: {on} is before the contract starts")
    tx.conn.execute(
        insert(milestone_completions).values(
            contract_id=row.id,
            charge_id=charge_id,
            completed_on=on,
            created_at=tx.now,
            actor=tx.actor,
        )
    )
    tx.audit(
        "complete_milestone", "contract", number, after={"milestone": charge_id, "completed_on": on}
    )


def billed_keys(conn: Connection, contract_ids: list[int]) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {i: set() for i in contract_ids}
    for cid, key in conn.execute(
        select(billed_charges.c.contract_id, billed_charges.c.charge_key).where(
            values_in(conn, billed_charges.c.contract_id, contract_ids)
        )
    ).all():
        result[cid].add(key.split("/", 1)[1])  # stored as "<contract id>/<engine key>"
    return result


def list_contracts(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(
                contracts.c.number,
                contracts.c.currency,
                contracts.c.start_date,
                contracts.c.end_date,
                contracts.c.status,
                customers.c.number.label("customer"),
            )
            .join(customers, customers.c.id == contracts.c.customer_id)
            .order_by(contracts.c.number)
        ).all()
    )
