"""Contracts as JSON (``billfold contracts import contracts.json``): one contract or a list.

Documented in the README ("Contracts and billing"). A contract::

    {"number": "K-1001", "entity": "ACME-DE", "customer": "C-1001", "bill_to": "C-1001",
     "currency": "EUR", "start": "2026-01-15", "end": "2026-12-31", "auto_renew": true,
     "renewal_term_months": 12, "uplift_percent": "3", "po_number": "PO-1", "po_amount": "50000.00",
     "payment_terms": "NET30", "grouping_key": "cloud", "value": "24000.00",
     "charges": [
       {"id": "sub", "kind": "recurring", "sku": "SUB-PRO", "description": "Pro plan",
        "quantity": "10", "unit_price": "49.00", "frequency": "monthly", "timing": "advance",
        "alignment": "calendar"},
       {"id": "setup", "kind": "one_time", "sku": "ONBOARD", "bill_date": "2026-01-15",
        "quantity": "8", "unit_price": "150.00"},
       {"id": "go-live", "kind": "milestone", "sku": "ONBOARD", "percent": "10"},
       {"id": "api", "kind": "usage", "sku": "API", "meter": "api_calls", "included": "10000",
        "pricing": {"type": "graduated", "tiers": [{"up_to": "100000", "unit_price": "0.002"},
                                                   {"up_to": null, "unit_price": "0.001"}]},
        "minimum": "20.00"},
       {"id": "consulting", "kind": "time_and_materials", "sku": "CONSULT",
        "rate_card": {"consultant": "150.00", "architect": "210.00"}},
       {"id": "hardware", "kind": "shipment", "sku": "SCANNER", "unit_price": "249.00",
        "ordered_quantity": "40"}]}

Pricing types: ``per_unit`` (``unit_price``), ``graduated`` and ``volume`` (``tiers`` with
inclusive ``up_to``, the last one ``null``), ``package`` (``size``, ``price``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from billfold.billing.model import (
    Alignment,
    Contract,
    Frequency,
    Milestone,
    OneTimeCharge,
    RecurringCharge,
    TimeAndMaterials,
    Timing,
    UsageCharge,
)
from billfold.billing.rating import GraduatedTiers, Package, PerUnit, Pricing, Tier, VolumeTiers
from billfold.errors import BillfoldError, InvalidInput
from billfold.money import Money, Rounding

KINDS = ("recurring", "one_time", "milestone", "usage", "time_and_materials", "shipment")


@dataclass(frozen=True, slots=True)
class ShipmentCharge:
    """Goods delivered against the contract's PO: billed per accepted shipment."""

    id: str
    sku: str
    description: str
    unit_price: Decimal
    ordered_quantity: Decimal


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """A parsed contract: the billing model plus what only the service needs."""

    number: str
    entity: str
    customer: str
    bill_to: str
    currency: str
    start: date
    end: date | None
    raw: dict[str, Any]
    where: str


class _F:
    def __init__(self, obj: dict[str, Any], where: str) -> None:
        self.obj, self.where = obj, where

    def fail(self, key: str, reason: str) -> InvalidInput:
        return InvalidInput(f"{self.where}, field '{key}', value '{self.obj.get(key)}': {reason}")

    def text(self, key: str, required: bool = False) -> str | None:
        v = self.obj.get(key)
        if v is None or v == "":
            if required:
                raise InvalidInput(f"{self.where}: field '{key}' is missing")
            return None
        return str(v)

    def dec(self, key: str, required: bool = False) -> Decimal | None:
        v = self.obj.get(key)
        if v is None:
            if required:
                raise InvalidInput(f"{self.where}: field '{key}' is missing")
            return None
        if isinstance(v, float | bool):
            raise self.fail(key, 'write numbers as strings, e.g. "49.00"')
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise self.fail(key, "not a number") from None
        if not d.is_finite():
            raise self.fail(key, "not a finite number")
        return d

    def day(self, key: str, required: bool = False) -> date | None:
        v = self.text(key, required)
        if v is None:
            return None
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise self.fail(key, "not a date (YYYY-MM-DD)") from None

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        v = self.text(key) or default
        if v not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}")
        return v


def parse_contracts_json(data: bytes, filename: str) -> list[ContractSpec]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{filename}: not valid JSON: {exc}") from None
    items = doc if isinstance(doc, list) else [doc]
    specs = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidInput(f"{filename}: contract {n}: expected an object")
        where = f"{filename}: contract {n}" + (
            f" ({item.get('number')})" if item.get("number") else ""
        )
        f = _F(item, where)
        spec = ContractSpec(
            number=f.text("number", True) or "",
            entity=f.text("entity", True) or "",
            customer=f.text("customer", True) or "",
            bill_to=f.text("bill_to") or f.text("customer", True) or "",
            currency=(f.text("currency", True) or "").upper(),
            start=f.day("start", True) or date.min,
            end=f.day("end"),
            raw=item,
            where=where,
        )
        # build the model once now, so every error is reported at import time
        to_model(spec, "0", Rounding.HALF_UP)
        specs.append(spec)
    return specs


def to_model(
    spec: ContractSpec, contract_id: str, rounding: Rounding
) -> tuple[Contract, list[Any], list[Milestone], list[ShipmentCharge]]:
    """The billing model of a contract: the contract, its charges, milestones, shipments."""
    f = _F(spec.raw, spec.where)
    cur = spec.currency
    try:
        po_amount = f.dec("po_amount")
        value = f.dec("value")
        contract = Contract(
            id=contract_id,
            customer=spec.customer,
            entity=spec.entity,
            currency=cur,
            start=spec.start,
            end=spec.end,
            number=spec.number,
            bill_to=spec.bill_to,
            auto_renew=bool(spec.raw.get("auto_renew", False)),
            renewal_term_months=int(spec.raw.get("renewal_term_months", 12)),
            uplift_percent=f.dec("uplift_percent"),
            po_number=f.text("po_number"),
            po_amount=Money.of(po_amount, cur) if po_amount is not None else None,
            payment_terms=f.text("payment_terms"),
            grouping_key=f.text("grouping_key"),
            value=Money.of(value, cur) if value is not None else None,
            rounding=rounding,
        )
    except BillfoldError as exc:
        raise InvalidInput(f"{spec.where}: {exc}") from None
    raw_charges = spec.raw.get("charges") or []
    if not isinstance(raw_charges, list) or not raw_charges:
        raise InvalidInput(f"{spec.where}: 'charges' must be a non-empty list")
    try:  # contracts share their charge terms: build each distinct set once (models are frozen)
        shared = _shared_charges(json.dumps(raw_charges, sort_keys=True), cur)
    except (BillfoldError, TypeError, ValueError):  # built again to name the contract
        return (contract, *_charges(raw_charges, spec.where, cur))
    return contract, list(shared[0]), list(shared[1]), list(shared[2])


@lru_cache(maxsize=4096)
def _shared_charges(
    raw_charges: str, cur: str
) -> tuple[tuple[Any, ...], tuple[Milestone, ...], tuple[ShipmentCharge, ...]]:
    charges, milestones, shipments = _charges(json.loads(raw_charges), "", cur)
    return tuple(charges), tuple(milestones), tuple(shipments)


def _charges(
    raw_charges: list[Any], where: str, cur: str
) -> tuple[list[Any], list[Milestone], list[ShipmentCharge]]:
    charges: list[Any] = []
    milestones: list[Milestone] = []
    shipments: list[ShipmentCharge] = []
    seen: set[str] = set()
    for n, ch in enumerate(raw_charges, start=1):
        cf = _F(ch, f"{where}, charge {n}")
        cid = cf.text("id", True) or ""
        if cid in seen:
            raise cf.fail("id", "duplicate charge id in this contract")
        seen.add(cid)
        kind = cf.choice("kind", KINDS, "recurring")
        try:
            built = _charge(cf, kind, cid, cur)
        except InvalidInput:
            raise
        except BillfoldError as exc:
            raise InvalidInput(f"{cf.where}: {exc}") from None
        if isinstance(built, Milestone):
            milestones.append(built)
        elif isinstance(built, ShipmentCharge):
            shipments.append(built)
        else:
            charges.append(built)
    return charges, milestones, shipments


def _charge(f: _F, kind: str, cid: str, cur: str) -> Any:
    sku = f.text("sku", True) or ""
    desc = f.text("description") or sku
    if kind == "recurring":
        return RecurringCharge(
            cid,
            sku,
            desc,
            f.dec("quantity") or Decimal(1),
            f.dec("unit_price", True) or Decimal(0),
            Frequency(f.choice("frequency", tuple(x.value for x in Frequency), "monthly")),
            Timing(f.choice("timing", tuple(x.value for x in Timing), "advance")),
            Alignment(f.choice("alignment", tuple(x.value for x in Alignment), "calendar")),
            f.day("start"),
            f.day("end"),
            f.day("anchor"),
            bool(f.obj.get("prorate", True)),
        )
    if kind == "one_time":
        amount = f.dec("amount")
        return OneTimeCharge(
            cid,
            sku,
            desc,
            f.day("bill_date", True) or date.min,
            Money.of(amount, cur) if amount is not None else None,
            f.dec("quantity") or Decimal(1),
            f.dec("unit_price"),
        )
    if kind == "milestone":
        amount = f.dec("amount")
        return Milestone(
            cid, sku, desc, Money.of(amount, cur) if amount is not None else None, f.dec("percent")
        )
    if kind == "usage":
        minimum = f.dec("minimum")
        return UsageCharge(
            cid,
            sku,
            desc,
            f.text("meter", True) or "",
            _pricing(f),
            f.dec("included") or Decimal(0),
            Money.of(minimum, cur) if minimum is not None else None,
            Frequency(f.choice("frequency", tuple(x.value for x in Frequency), "monthly")),
            Alignment(f.choice("alignment", tuple(x.value for x in Alignment), "calendar")),
            f.day("start"),
            f.day("end"),
            f.day("anchor"),
            f.text("unit") or "C62",
        )
    if kind == "time_and_materials":
        card = f.obj.get("rate_card")
        if not isinstance(card, dict) or not card:
            raise f.fail("rate_card", 'expected {"role": "rate", ...}')
        rates = {str(k): _F(card, f.where).dec(str(k), True) or Decimal(0) for k in card}
        return TimeAndMaterials(
            cid,
            sku,
            desc,
            rates,
            Frequency(f.choice("frequency", tuple(x.value for x in Frequency), "monthly")),
            Alignment(f.choice("alignment", tuple(x.value for x in Alignment), "calendar")),
            f.day("start"),
            f.day("end"),
            f.day("anchor"),
        )
    return ShipmentCharge(
        cid,
        sku,
        desc,
        f.dec("unit_price", True) or Decimal(0),
        f.dec("ordered_quantity", True) or Decimal(0),
    )


def _pricing(f: _F) -> Pricing:
    raw = f.obj.get("pricing")
    if not isinstance(raw, dict):
        raise f.fail(
            "pricing", 'expected {"type": "per_unit" | "graduated" | "volume" | "package", ...}'
        )
    p = _F(raw, f"{f.where}, pricing")
    kind = p.choice("type", ("per_unit", "graduated", "volume", "package"), "per_unit")
    if kind == "per_unit":
        return PerUnit(p.dec("unit_price", True) or Decimal(0))
    if kind == "package":
        return Package(p.dec("size", True) or Decimal(1), p.dec("price", True) or Decimal(0))
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise p.fail("tiers", 'expected a list of {"up_to": ..., "unit_price": ...}')
    tiers = tuple(
        Tier(
            _F(t, f"{p.where}, tier {i}").dec("up_to"),
            _F(t, f"{p.where}, tier {i}").dec("unit_price", True) or Decimal(0),
        )
        for i, t in enumerate(tiers_raw, start=1)
    )
    return GraduatedTiers(tiers) if kind == "graduated" else VolumeTiers(tiers)
