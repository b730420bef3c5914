"""Customer master data: import (all-or-nothing, idempotent, audited), list and show."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from billfold.domain.customers import (
    Address,
    Contact,
    CustomerRecord,
    Exemption,
    TaxIdRecord,
)
from billfold.errors import FileRejected, NotFound, RowError
from billfold.formats.customers_csv import ParsedCustomer, parse_customers_csv
from billfold.money import Money
from billfold.services.context import Tx
from billfold.store.bulk import insert_rows
from billfold.store.tables import (
    customer_addresses,
    customer_aliases,
    customer_contacts,
    customer_exemptions,
    customer_tax_ids,
    customers,
    import_batches,
)

CHUNK = 500
_CHILDREN = (
    customer_addresses,
    customer_contacts,
    customer_tax_ids,
    customer_exemptions,
    customer_aliases,
)


@dataclass(frozen=True, slots=True)
class ImportResult:
    filename: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_imported: bool = False


def file_fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def previous_import(tx: Tx, kind: str, fingerprint: str) -> str | None:
    """When the same file was imported before, say when (re-imports change nothing)."""
    row = tx.conn.execute(
        select(import_batches.c.imported_at, import_batches.c.filename).where(
            import_batches.c.kind == kind, import_batches.c.fingerprint == fingerprint
        )
    ).first()
    return None if row is None else f"{row.filename} at {row.imported_at}"


def record_import(
    tx: Tx, kind: str, filename: str, fingerprint: str, rows: int, summary: str
) -> None:
    tx.conn.execute(
        insert(import_batches).values(
            kind=kind,
            filename=filename,
            fingerprint=fingerprint,
            rows=rows,
            summary=summary,
            imported_at=tx.now,
            actor=tx.actor,
        )
    )
    tx.audit(
        "import",
        "file",
        f"{kind}:{filename}",
        after={"fingerprint": fingerprint, "rows": rows, "summary": summary},
    )


def import_customers(tx: Tx, data: bytes, filename: str) -> ImportResult:
    """Create or update every customer in the file, or nothing at all."""
    fingerprint = file_fingerprint(data)
    if previous_import(tx, "customers", fingerprint):
        rows = tx.conn.execute(
            select(import_batches.c.rows).where(
                import_batches.c.kind == "customers", import_batches.c.fingerprint == fingerprint
            )
        ).scalar_one()
        return ImportResult(filename, rows, unchanged=rows, already_imported=True)
    parsed = parse_customers_csv(data, filename)
    existing = _existing(tx.conn, [p.record.number for p in parsed])
    parent_ids = _resolve_parents(tx.conn, filename, parsed, existing)

    new = [p for p in parsed if p.record.number not in existing]
    changed = [
        p
        for p in parsed
        if p.record.number in existing and existing[p.record.number][1] != p.record.fingerprint()
    ]
    before = load_records(tx.conn, [existing[p.record.number][0] for p in changed])

    ids = {num: id_ for num, (id_, _) in existing.items()}
    if new:
        new_ids = insert_rows(tx.conn, customers, [_customer_row(p.record, tx) for p in new])
        for p, id_ in zip(new, new_ids, strict=True):
            ids[p.record.number] = id_
    for p in changed:
        values = _customer_row(p.record, tx)
        del values["created_at"]
        # a credit hold (set by hand or by dunning) is released on purpose, never by a re-import
        values["on_hold"] = p.record.on_hold or before[ids[p.record.number]].on_hold
        tx.conn.execute(
            update(customers).where(customers.c.id == ids[p.record.number]).values(**values)
        )
    touched = [*new, *changed]
    _set_parents(tx.conn, touched, ids, parent_ids)
    _replace_children(tx.conn, [ids[p.record.number] for p in changed])
    _insert_children(tx.conn, [(ids[p.record.number], p.record) for p in touched])

    for p in new:
        tx.audit("create", "customer", p.record.number, after=p.record.as_dict())
    for p in changed:
        old = before[existing[p.record.number][0]]
        tx.audit(
            "update", "customer", p.record.number, before=old.as_dict(), after=p.record.as_dict()
        )
    result = ImportResult(
        filename, len(parsed), len(new), len(changed), len(parsed) - len(new) - len(changed)
    )
    record_import(
        tx,
        "customers",
        filename,
        fingerprint,
        len(parsed),
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged",
    )
    return result


def _existing(conn: Connection, numbers: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = list(numbers[start : start + CHUNK])
        q = select(customers.c.number, customers.c.id, customers.c.fingerprint).where(
            customers.c.number.in_(chunk)
        )
        found.update({num: (id_, fp) for num, id_, fp in conn.execute(q)})
    return found


def _resolve_parents(
    conn: Connection,
    filename: str,
    parsed: Sequence[ParsedCustomer],
    existing: dict[str, tuple[int, str]],
) -> dict[str, str | None]:
    """Check every parent exists (in the file or the database) and that no loop is formed."""
    in_file = {p.record.number: p for p in parsed}
    wanted = {p.record.parent_number for p in parsed if p.record.parent_number} - in_file.keys()
    known = _existing(conn, sorted(wanted))
    errors = [
        RowError(p.line, "parent_number", p.record.parent_number, "unknown parent customer")
        for p in parsed
        if p.record.parent_number
        and p.record.parent_number not in in_file
        and p.record.parent_number not in known
    ]
    # The hierarchy after the import: the file's links over the database's.
    parent_of: dict[str, str | None] = dict(_db_parent_links(conn))
    parent_of.update({p.record.number: p.record.parent_number for p in parsed})
    for p in parsed:
        seen, node = {p.record.number}, parent_of.get(p.record.number)
        while node is not None:
            if node in seen:
                errors.append(
                    RowError(
                        p.line,
                        "parent_number",
                        p.record.parent_number or "",
                        "the customer hierarchy would loop back to this customer",
                    )
                )
                break
            seen.add(node)
            node = parent_of.get(node)
    if errors:
        raise FileRejected(filename, errors)
    return {p.record.number: p.record.parent_number for p in parsed}


def _db_parent_links(conn: Connection) -> list[tuple[str, str]]:
    parent = customers.alias("parent")
    q = select(customers.c.number, parent.c.number).join(
        parent, parent.c.id == customers.c.parent_id
    )
    return [(a, b) for a, b in conn.execute(q)]


def _customer_row(r: CustomerRecord, tx: Tx) -> dict[str, object]:
    return {
        "number": r.number,
        "name": r.name,
        "legal_form": r.legal_form,
        "currency": r.currency,
        "payment_terms": r.payment_terms,
        "credit_limit_minor": None
        if r.credit_limit is None
        else Money.of(r.credit_limit, r.currency).minor,
        "delivery_channel": r.delivery_channel,
        "language": r.language,
        "on_hold": r.on_hold,
        "einvoice_address": r.einvoice_address,
        "fingerprint": r.fingerprint(),
        "created_at": tx.now,
        "updated_at": tx.now,
    }


def _set_parents(
    conn: Connection,
    touched: Sequence[ParsedCustomer],
    ids: dict[str, int],
    parents: dict[str, str | None],
) -> None:
    wanted = {parents[p.record.number] for p in touched}
    missing = sorted(n for n in wanted if n is not None and n not in ids)
    ids.update({n: i for n, (i, _) in _existing(conn, missing).items()})
    rows = [
        {"cid": ids[p.record.number], "pid": ids[parent] if parent else None}
        for p in touched
        for parent in [parents[p.record.number]]
    ]
    if rows:
        stmt = (
            update(customers)
            .where(customers.c.id == bindparam("cid"))
            .values(parent_id=bindparam("pid"))
        )
        conn.execute(stmt, rows)


def _replace_children(conn: Connection, customer_ids: list[int]) -> None:
    for start in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[start : start + CHUNK]
        for table in _CHILDREN:
            conn.execute(delete(table).where(table.c.customer_id.in_(chunk)))


def _insert_children(conn: Connection, records: list[tuple[int, CustomerRecord]]) -> None:
    rows: dict[str, list[dict[str, object]]] = {t.name: [] for t in _CHILDREN}
    for cid, r in records:
        rows["customer_addresses"] += [
            {
                "customer_id": cid,
                "role": a.role,
                "country": a.country,
                "line1": a.line1,
                "line2": a.line2,
                "city": a.city,
                "postal_code": a.postal_code,
                "region": a.region,
            }
            for a in r.addresses
        ]
        rows["customer_contacts"] += [
            {"customer_id": cid, "role": c.role, "name": c.name, "email": c.email}
            for c in r.contacts
        ]
        rows["customer_tax_ids"] += [
            {"customer_id": cid, "country": t.country, "scheme": t.scheme, "number": t.number}
            for t in r.tax_ids
        ]
        rows["customer_exemptions"] += [
            {
                "customer_id": cid,
                "jurisdiction": e.jurisdiction,
                "certificate": e.certificate,
                "valid_from": e.valid_from,
                "valid_to": e.valid_to,
            }
            for e in r.exemptions
        ]
        rows["customer_aliases"] += [{"customer_id": cid, "alias": a} for a in r.aliases]
    for table in _CHILDREN:
        if rows[table.name]:
            conn.execute(insert(table), rows[table.name])


def load_records(conn: Connection, ids: Sequence[int]) -> dict[int, CustomerRecord]:
    """Rebuild CustomerRecords from the database (for show, audit before-images, documents)."""
    result: dict[int, CustomerRecord] = {}
    parent = customers.alias("parent")
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        kids: dict[str, dict[int, list[Any]]] = {}
        for table in _CHILDREN:
            per: dict[int, list[Any]] = {}
            for row in conn.execute(
                select(table).where(table.c.customer_id.in_(chunk)).order_by(table.c.id)
            ):
                per.setdefault(row.customer_id, []).append(row)
            kids[table.name] = per
        q = (
            select(customers, parent.c.number.label("parent_number"))
            .outerjoin(parent, parent.c.id == customers.c.parent_id)
            .where(customers.c.id.in_(chunk))
        )
        for c in conn.execute(q):
            result[c.id] = _record_from_rows(c, {k: v.get(c.id, []) for k, v in kids.items()})
    return result


def _record_from_rows(row: Any, kids: dict[str, list[Any]]) -> CustomerRecord:
    credit = (
        None
        if row.credit_limit_minor is None
        else (Money.from_minor(row.credit_limit_minor, row.currency).amount)
    )
    return CustomerRecord(
        number=row.number,
        name=row.name,
        currency=row.currency,
        payment_terms=row.payment_terms,
        legal_form=row.legal_form,
        parent_number=row.parent_number,
        credit_limit=credit,
        delivery_channel=row.delivery_channel,
        language=row.language,
        on_hold=bool(row.on_hold),
        einvoice_address=row.einvoice_address,
        addresses=tuple(
            Address(a.role, a.country, a.line1, a.line2, a.city, a.postal_code, a.region)
            for a in kids["customer_addresses"]
        ),
        contacts=tuple(Contact(k.role, k.email, k.name) for k in kids["customer_contacts"]),
        tax_ids=tuple(TaxIdRecord(t.country, t.scheme, t.number) for t in kids["customer_tax_ids"]),
        exemptions=tuple(
            Exemption(e.jurisdiction, e.certificate, e.valid_from, e.valid_to)
            for e in kids["customer_exemptions"]
        ),
        aliases=tuple(a.alias for a in kids["customer_aliases"]),
    )


def get_customer(conn: Connection, number: str) -> CustomerRecord:
    cid = conn.execute(select(customers.c.id).where(customers.c.number == number)).scalar()
    if cid is None:
        raise NotFound(f"no customer {number!r}")
    return load_records(conn, [cid])[cid]


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    number: str
    name: str
    country: str | None
    currency: str
    payment_terms: str
    tax_id: str | None
    on_hold: bool


def list_customers(
    conn: Connection, search: str | None = None, limit: int = 500
) -> list[CustomerSummary]:
    tax = (
        select(customer_tax_ids.c.customer_id, func.min(customer_tax_ids.c.number).label("tid"))
        .group_by(customer_tax_ids.c.customer_id)
        .subquery()
    )
    q = (
        select(
            customers.c.number,
            customers.c.name,
            customer_addresses.c.country,
            customers.c.currency,
            customers.c.payment_terms,
            tax.c.tid,
            customers.c.on_hold,
        )
        .outerjoin(
            customer_addresses,
            (customer_addresses.c.customer_id == customers.c.id)
            & (customer_addresses.c.role == "bill_to"),
        )
        .outerjoin(tax, tax.c.customer_id == customers.c.id)
        .order_by(customers.c.number)
        .limit(limit)
    )
    if search:
        pattern = f"%{search.lower()}%"
        q = q.where(
            func.lower(customers.c.name).like(pattern)
            | func.lower(customers.c.number).like(pattern)
        )
    return [
        CustomerSummary(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in conn.execute(q)
    ]
