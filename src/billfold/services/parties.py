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
from billfold.store.bulk import in_chunks, values_in
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

CHUNK = 2000  # customers per round of queries


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
    """The customers of ``numbers`` as invoices need them, in a handful of queries per
    ``CHUNK`` customers (rows read as tuples: it runs for every customer of a billing run)."""
    wanted = sorted(set(numbers))
    result: dict[str, Buyer] = {}
    c, ad, tx_, ct, ex = (
        customers.c,
        customer_addresses.c,
        customer_tax_ids.c,
        customer_contacts.c,
        customer_exemptions.c,
    )
    for chunk in in_chunks(wanted, CHUNK):
        rows = {
            r[0]: r
            for r in conn.execute(
                select(
                    c.id,
                    c.number,
                    c.name,
                    c.currency,
                    c.payment_terms,
                    c.language,
                    c.on_hold,
                    c.einvoice_address,
                ).where(values_in(conn, c.number, chunk))
            )
        }
        missing = set(chunk) - {r[1] for r in rows.values()}
        if missing:
            raise NotFound(f"unknown customer(s) {', '.join(sorted(missing))}")
        ids = list(rows)
        addresses: dict[int, dict[str, tuple[Any, ...]]] = {}
        for cid, role, *address in conn.execute(
            select(ad.customer_id, ad.role, ad.country, ad.line1, ad.line2, ad.city)
            .add_columns(ad.postal_code, ad.region)
            .where(values_in(conn, ad.customer_id, ids))
        ):
            addresses.setdefault(cid, {})[role] = tuple(address)
        vat: dict[int, str] = {}
        other_tax: dict[int, str] = {}
        for cid, scheme, number in conn.execute(
            select(tx_.customer_id, tx_.scheme, tx_.number)
            .where(values_in(conn, tx_.customer_id, ids))
            .order_by(tx_.id)
        ):
            (vat if scheme == "VAT" else other_tax).setdefault(cid, number)
        emails: dict[int, tuple[str, str, str | None]] = {}  # first billing contact wins
        for cid, role, email, name in conn.execute(
            select(ct.customer_id, ct.role, ct.email, ct.name)
            .where(values_in(conn, ct.customer_id, ids))
            .order_by(ct.id)
        ):
            current = emails.get(cid)
            if current is None or (role == "billing" and current[0] != "billing"):
                emails[cid] = (role, email, name)
        exemptions: dict[int, list[Exemption]] = {}
        for cid, *exemption in conn.execute(
            select(
                ex.customer_id, ex.jurisdiction, ex.certificate, ex.valid_from, ex.valid_to
            ).where(values_in(conn, ex.customer_id, ids))
        ):
            exemptions.setdefault(cid, []).append(Exemption(*exemption))
        for cid, (_, number, name, currency, terms, language, on_hold, einvoice) in rows.items():
            addr = addresses.get(cid, {})
            bill = addr.get("bill_to")
            if bill is None:
                raise NotFound(f"customer {number} has no bill-to address")
            country, line1, line2, city, postal_code, region = bill
            place = addr.get("ship_to") or bill
            _, email, contact = emails.get(cid, ("", None, None))
            party = Party(
                name=name,
                country=country,
                line1=line1,
                line2=line2,
                city=city,
                postal_code=postal_code,
                region=region,
                vat_id=vat.get(cid),
                tax_id=other_tax.get(cid),
                email=email,
                contact_name=contact,
                endpoint=_endpoint(einvoice),
            )
            result[number] = Buyer(
                cid,
                number,
                currency,
                terms,
                language,
                bool(on_hold),
                party,
                place[0],
                (place[5] or "").upper(),
                place[4],
                place[3],
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
