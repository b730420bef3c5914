"""Resolving user-facing keys (entity code, account code, customer number) to row ids.

Results are cached on the unit of work, so a bulk use case asks the database once per key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from billfold.errors import NotFound
from billfold.money import Rounding
from billfold.services.context import Tx
from billfold.store.tables import accounts, customers, legal_entities


@dataclass(frozen=True, slots=True)
class EntityRow:
    id: int
    code: str
    name: str
    country: str
    functional_currency: str
    rounding: Rounding
    fiscal_year_start_month: int


def _entity(row: Any) -> EntityRow:
    return EntityRow(
        row.id,
        row.code,
        row.name,
        row.country,
        row.functional_currency,
        Rounding(row.rounding),
        row.fiscal_year_start_month,
    )


def entity(conn: Connection | Tx, code: str) -> EntityRow:
    c = conn.conn if isinstance(conn, Tx) else conn
    if isinstance(conn, Tx) and ("entity", code) in conn.cache:
        return conn.cache[("entity", code)]  # type: ignore[no-any-return]
    row = c.execute(select(legal_entities).where(legal_entities.c.code == code)).first()
    if row is None:
        known = c.execute(select(legal_entities.c.code).order_by(legal_entities.c.code)).scalars()
        raise NotFound(f"no legal entity {code!r} (known: {', '.join(known) or 'none'})")
    result = _entity(row)
    if isinstance(conn, Tx):
        conn.cache[("entity", code)] = result
    return result


def entity_by_id(conn: Connection, entity_id: int) -> EntityRow:
    return _entity(
        conn.execute(select(legal_entities).where(legal_entities.c.id == entity_id)).one()
    )


def all_entities(conn: Connection) -> list[EntityRow]:
    rows = conn.execute(select(legal_entities).order_by(legal_entities.c.code))
    return [_entity(r) for r in rows]


def default_entity(conn: Connection) -> EntityRow:
    """The only legal entity, when there is just one (commands may then omit --entity)."""
    found = all_entities(conn)
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFound("there is no legal entity yet: run `billfold init` first")
    raise NotFound(
        f"there are {len(found)} legal entities ({', '.join(e.code for e in found)}): "
        "name one with --entity"
    )


def account_ids(tx: Tx, codes: Iterable[str]) -> dict[str, int]:
    """Map account codes to ids; raise ``NotFound`` naming every unknown or inactive code."""
    cache: dict[str, int] = tx.cache.setdefault("account_ids", {})
    missing = {c for c in codes if c not in cache}
    if missing:
        rows = tx.conn.execute(
            select(accounts.c.code, accounts.c.id, accounts.c.active).where(
                accounts.c.code.in_(sorted(missing))
            )
        )
        inactive = []
        for code, id_, active in rows:
            if not active:
                inactive.append(code)
            cache[code] = id_
        unknown = sorted(missing - cache.keys())
        if unknown or inactive:
            parts = []
            if unknown:
                parts.append(f"unknown account(s) {', '.join(unknown)}")
            if inactive:
                parts.append(f"inactive account(s) {', '.join(sorted(inactive))}")
            raise NotFound("; ".join(parts) + " (see `billfold accounts list`)")
    return cache


def existing_account_ids(
    tx: Tx, codes: Iterable[str], *, created: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The ids of those of ``codes`` that are accounts (the others left out, no error), into
    the cache ``account_ids`` reads: ``created`` names accounts that exist but that this
    connection may not see yet (made by a transaction it does not read, as a planner's)."""
    cache: dict[str, int] = tx.cache.setdefault("account_ids", {})
    wanted = set(codes)
    for code, id_ in (created or {}).items():
        if code in wanted:
            cache.setdefault(code, id_)
    missing = sorted(wanted - cache.keys())
    if missing:
        cache.update(
            tx.conn.execute(  # type: ignore[arg-type]
                select(accounts.c.code, accounts.c.id).where(accounts.c.code.in_(missing))
            ).all()
        )
    return {code: cache[code] for code in wanted if code in cache}


def account_by_role(conn: Connection | Tx, role: str) -> tuple[int, str]:
    """The (id, code) of the account that plays ``role`` in the chart (e.g. ``ar_control``)."""
    c = conn.conn if isinstance(conn, Tx) else conn
    key = ("role", role)
    if isinstance(conn, Tx) and key in conn.cache:
        return conn.cache[key]  # type: ignore[no-any-return]
    row = c.execute(select(accounts.c.id, accounts.c.code).where(accounts.c.role == role)).first()
    if row is None:
        raise NotFound(f"the chart of accounts has no account with role {role!r}")
    result = (row.id, row.code)
    if isinstance(conn, Tx):
        conn.cache[key] = result
    return result


def customer_ids(tx: Tx, numbers: Iterable[str]) -> dict[str, int]:
    cache: dict[str, int] = tx.cache.setdefault("customer_ids", {})
    missing = sorted({n for n in numbers if n not in cache})
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        rows = tx.conn.execute(
            select(customers.c.number, customers.c.id).where(customers.c.number.in_(chunk))
        )
        cache.update({num: id_ for num, id_ in rows})
    unknown = [n for n in missing if n not in cache]
    if unknown:
        raise NotFound(f"unknown customer(s) {', '.join(unknown[:10])}")
    return cache
