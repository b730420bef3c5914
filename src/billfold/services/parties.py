"""Sellers and buyers as invoices need them: tax context, printed party, payment details.

Loaded in bulk (a handful of queries for any number of customers) and frozen into the invoice as
JSON when it is issued, so later master-data changes never alter an issued document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, select

from billfold.domain.documents import Party, PaymentInstructions
from billfold.domain.tax import Exemption
from billfold.errors import NotFound
from billfold.store.tables import (
    customer_addresses,
    customer_contacts,
    customer_exemptions,
    customer_tax_ids,
    customers,
    entity_bank_accounts,
    entity_tax_registrations,
    legal_entities,
)

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Buyer:
    id: int
    number: str
    currency: str
    payment_terms: str
    language: str
    on_hold: bool
    party: Party
    tax_country: str  # where the supply is taxed: ship-to when given, else bill-to
    tax_region: str
    tax_postal_code: str | None
    tax_city: str | None
    vat_id: str | None
    exemptions: tuple[Exemption, ...]


@dataclass(frozen=True, slots=True)
class Seller:
    id: int
    code: str
    country: str
    region: str
    functional_currency: str
    rounding: str
    tax_rounding: str
    price_decimals: int
    quantity_decimals: int
    oss: bool
    fiscal_year_start_month: int
    party: Party
    banks: tuple[PaymentInstructions, ...]
    bank_currencies: tuple[str | None, ...]

    def payment_for(self, currency: str, reference: str) -> PaymentInstructions | None:
        """The bank account for ``currency`` (or one without a currency) with the reference."""
        best = None
        for bank, cur in zip(self.banks, self.bank_currencies, strict=True):
            if cur == currency:
                best = bank
                break
            if cur is None and best is None:
                best = bank
        if best is None and self.banks:
            best = self.banks[0]
        if best is None:
            return None
        return PaymentInstructions(
            best.iban, best.bic, best.bank_name, self.party.name, reference, best.means_code
        )


def load_buyers(conn: Connection, numbers: Iterable[str]) -> dict[str, Buyer]:
    wanted = sorted(set(numbers))
    result: dict[str, Buyer] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = {
            r.id: r for r in conn.execute(select(customers).where(customers.c.number.in_(chunk)))
        }
        missing = set(chunk) - {r.number for r in rows.values()}
        if missing:
            raise NotFound(f"unknown customer(s) {', '.join(sorted(missing))}")
        ids = list(rows)
        addresses: dict[int, dict[str, Any]] = {}
        for a in conn.execute(
            select(customer_addresses).where(customer_addresses.c.customer_id.in_(ids))
        ):
            addresses.setdefault(a.customer_id, {})[a.role] = a
        vat: dict[int, str] = {}
        other_tax: dict[int, str] = {}
        for t in conn.execute(
            select(customer_tax_ids)
            .where(customer_tax_ids.c.customer_id.in_(ids))
            .order_by(customer_tax_ids.c.id)
        ):
            target = vat if t.scheme == "VAT" else other_tax
            target.setdefault(t.customer_id, t.number)
        emails: dict[int, tuple[str, str, str | None]] = {}  # first billing contact wins
        for c in conn.execute(
            select(customer_contacts)
            .where(customer_contacts.c.customer_id.in_(ids))
            .order_by(customer_contacts.c.id)
        ):
            current = emails.get(c.customer_id)
            if current is None or (c.role == "billing" and current[0] != "billing"):
                emails[c.customer_id] = (c.role, c.email, c.name)
        exemptions: dict[int, list[Exemption]] = {}
        for e in conn.execute(
            select(customer_exemptions).where(customer_exemptions.c.customer_id.in_(ids))
        ):
            exemptions.setdefault(e.customer_id, []).append(
                Exemption(e.jurisdiction, e.certificate, e.valid_from, e.valid_to)
            )
        for cid, r in rows.items():
            addr = addresses.get(cid, {})
            bill = addr.get("bill_to")
            if bill is None:
                raise NotFound(f"customer {r.number} has no bill-to address")
            place = addr.get("ship_to") or bill
            _, email, contact = emails.get(cid, ("", None, None))
            party = Party(
                name=r.name,
                country=bill.country,
                line1=bill.line1,
                line2=bill.line2,
                city=bill.city,
                postal_code=bill.postal_code,
                region=bill.region,
                vat_id=vat.get(cid),
                tax_id=other_tax.get(cid),
                email=email,
                contact_name=contact,
                endpoint=_endpoint(r.einvoice_address),
            )
            result[r.number] = Buyer(
                cid,
                r.number,
                r.currency,
                r.payment_terms,
                r.language,
                bool(r.on_hold),
                party,
                place.country,
                (place.region or "").upper(),
                place.postal_code,
                place.city,
                vat.get(cid),
                tuple(exemptions.get(cid, [])),
            )
    return result


def load_seller(conn: Connection, entity_id: int) -> Seller:
    e = conn.execute(select(legal_entities).where(legal_entities.c.id == entity_id)).one()
    regs = conn.execute(
        select(entity_tax_registrations).where(entity_tax_registrations.c.entity_id == entity_id)
    ).all()
    vat = next((r.number for r in regs if r.scheme == "VAT"), None)
    other = next((r.number for r in regs if r.scheme != "VAT"), None)
    banks = conn.execute(
        select(entity_bank_accounts)
        .where(entity_bank_accounts.c.entity_id == entity_id)
        .order_by(entity_bank_accounts.c.id)
    ).all()
    party = Party(
        name=e.name,
        country=e.country,
        line1=e.address_line1,
        line2=e.address_line2,
        city=e.city,
        postal_code=e.postal_code,
        region=e.region,
        vat_id=vat,
        tax_id=other,
        email=e.email,
        contact_name=e.contact_name,
        phone=e.phone,
    )
    sepa = e.country not in ("US", "CA", "AU", "NZ", "SG", "JP")
    return Seller(
        e.id,
        e.code,
        e.country,
        (e.region or "").upper(),
        e.functional_currency,
        e.rounding,
        e.tax_rounding,
        e.price_decimals,
        e.quantity_decimals,
        bool(e.oss_registered),
        e.fiscal_year_start_month,
        party,
        tuple(
            PaymentInstructions(b.iban, b.bic, b.bank_name, e.name, None, "58" if sepa else "30")
            for b in banks
        ),
        tuple(b.currency for b in banks),
    )


def _endpoint(address: str | None) -> tuple[str, str] | None:
    if not address:
        return None
    scheme, value = address.split(":", 1)
    return (scheme, value)


def party_to_json(p: Party) -> dict[str, Any]:
    data = {f.name: getattr(p, f.name) for f in fields(p)}  # flat: no deep copies
    data["endpoint"] = list(p.endpoint) if p.endpoint else None
    return data


def party_from_json(data: dict[str, Any]) -> Party:
    endpoint = data.get("endpoint")
    return Party(**{**data, "endpoint": tuple(endpoint) if endpoint else None})
