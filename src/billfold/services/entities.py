"""Legal entities: the companies that bill, their tax registrations and bank accounts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, insert, select

from billfold.domain.bank import normalize_bic, normalize_iban
from billfold.domain.taxids import normalize_tax_id
from billfold.errors import Conflict, InvalidInput
from billfold.money import Currency, Rounding
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.store.tables import entity_bank_accounts, entity_tax_registrations, legal_entities


@dataclass(frozen=True, slots=True)
class NewEntity:
    code: str
    name: str
    country: str
    functional_currency: str
    rounding: str = "half-up"
    fiscal_year_start_month: int = 1
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    email: str | None = None
    contact_name: str | None = None
    phone: str | None = None


def create_entity(tx: Tx, new: NewEntity, tax_ids: list[str] | None = None) -> int:
    code = new.code.strip().upper()
    if not code or len(code) > 32:
        raise InvalidInput(f"entity code {new.code!r} must be 1 to 32 characters")
    country = new.country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidInput(f"country {new.country!r} is not a two-letter ISO 3166 code")
    currency = Currency.of(new.functional_currency).code
    try:
        rounding = Rounding(new.rounding).value
    except ValueError:
        raise InvalidInput(f"rounding {new.rounding!r}: expected half-up or half-even") from None
    if not 1 <= new.fiscal_year_start_month <= 12:
        raise InvalidInput("fiscal year start month must be 1 to 12")
    if tx.conn.execute(select(legal_entities.c.id).where(legal_entities.c.code == code)).first():
        raise Conflict(f"legal entity {code} already exists")
    normalized = [normalize_tax_id(t, country) for t in tax_ids or []]
    values = {
        **asdict(new),
        "code": code,
        "country": country,
        "functional_currency": currency,
        "rounding": rounding,
    }
    entity_id = tx.conn.execute(
        insert(legal_entities).values(**values, created_at=tx.now).returning(legal_entities.c.id)
    ).scalar_one()
    for tid in normalized:
        tx.conn.execute(
            insert(entity_tax_registrations).values(
                entity_id=entity_id, country=tid.country, scheme=tid.scheme, number=tid.number
            )
        )
    tx.audit(
        "create", "legal_entity", code, after={**values, "tax_ids": [t.number for t in normalized]}
    )
    return int(entity_id)


def add_bank_account(
    tx: Tx,
    entity_code: str,
    iban: str | None = None,
    bic: str | None = None,
    bank_name: str | None = None,
    currency: str | None = None,
    account_number: str | None = None,
    routing_number: str | None = None,
) -> str:
    """Add an IBAN account, or (where IBANs are not used) an account and routing number."""
    ent = lookups.entity(tx, entity_code)
    if not iban and not account_number:
        raise InvalidInput("a bank account needs an IBAN or an account number")
    clean_iban = normalize_iban(iban) if iban else None
    clean_bic = normalize_bic(bic) if bic else None
    cur = Currency.of(currency).code if currency else None
    number = "".join(account_number.split()) if account_number else None
    routing = "".join(routing_number.split()) if routing_number else None
    if routing is not None and not (routing.isdigit() and len(routing) == 9 and _aba_ok(routing)):
        raise InvalidInput(f"routing number {routing_number!r} is not a valid 9-digit ABA number")
    key = (
        entity_bank_accounts.c.iban == clean_iban
        if clean_iban
        else entity_bank_accounts.c.account_number == number
    )
    exists = tx.conn.execute(
        select(entity_bank_accounts.c.id).where(entity_bank_accounts.c.entity_id == ent.id, key)
    ).first()
    shown = clean_iban or number or ""
    if exists:
        raise Conflict(f"{ent.code} already has bank account {shown}")
    row = {
        "entity_id": ent.id,
        "iban": clean_iban,
        "bic": clean_bic,
        "bank_name": bank_name,
        "currency": cur,
        "account_number": number,
        "routing_number": routing,
    }
    tx.conn.execute(insert(entity_bank_accounts).values(**row))
    tx.audit("add_bank_account", "legal_entity", ent.code, after=row)
    return shown


def _aba_ok(routing: str) -> bool:
    """ABA routing number check digit (weights 3, 7, 1)."""
    digits = [int(d) for d in routing]
    return sum(d * w for d, w in zip(digits, [3, 7, 1] * 3, strict=True)) % 10 == 0


def entity_details(conn: Connection, code: str) -> dict[str, object]:
    ent = lookups.entity(conn, code)
    row = conn.execute(select(legal_entities).where(legal_entities.c.id == ent.id)).mappings().one()
    taxes = conn.execute(
        select(entity_tax_registrations.c.scheme, entity_tax_registrations.c.number).where(
            entity_tax_registrations.c.entity_id == ent.id
        )
    ).all()
    banks = (
        conn.execute(select(entity_bank_accounts).where(entity_bank_accounts.c.entity_id == ent.id))
        .mappings()
        .all()
    )
    return {
        **dict(row),
        "tax_ids": [f"{s} {n}" for s, n in taxes],
        "bank_accounts": [dict(b) for b in banks],
    }


CONFIGURABLE = {
    "tax_rounding": ("line", "total"),
    "rounding": ("half-up", "half-even"),
}


def configure_entity(tx: Tx, code: str, **changes: object) -> dict[str, object]:
    """Change an entity's invoicing policy or contact details (audited; issued documents keep
    what they were issued with)."""
    ent = lookups.entity(tx, code)
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise InvalidInput("nothing to change: give at least one option")
    for key, allowed in CONFIGURABLE.items():
        if key in changes and changes[key] not in allowed:
            raise InvalidInput(f"{key} {changes[key]!r}: expected {' or '.join(allowed)}")
    for key in ("price_decimals", "quantity_decimals"):
        value = changes.get(key)
        if value is not None and not (isinstance(value, int) and 0 <= value <= 8):
            raise InvalidInput(f"{key} must be 0 to 8")
    row = tx.conn.execute(select(legal_entities).where(legal_entities.c.id == ent.id)).mappings()
    before = dict(row.one())
    tx.conn.execute(legal_entities.update().where(legal_entities.c.id == ent.id).values(**changes))
    tx.audit(
        "configure", "legal_entity", ent.code, before={k: before[k] for k in changes}, after=changes
    )
    tx.cache.pop(("entity", code), None)
    return changes
