"""Catalog: products and services, price lists per currency, customer-specific prices."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from billfold.domain.tax import PRODUCT_KINDS, TAX_CLASSES
from billfold.errors import FileRejected, NotFound, RowError
from billfold.formats.customers_csv import decode_text
from billfold.money import Currency
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.store.bulk import in_chunks
from billfold.store.tables import accounts, customers, prices, products

PRODUCT_COLUMNS = (
    "sku",
    "description",
    "unit_code",
    "kind",
    "tax_class",
    "exemption_reason",
    "revenue_account",
    "family",
)
PRICE_COLUMNS = ("sku", "currency", "unit_price", "customer_number", "valid_from", "valid_to")


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    description: str
    unit_code: str
    kind: str
    tax_class: str
    exemption_reason: str | None
    revenue_account: str
    family: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_imported: bool = False


def read_csv_rows(
    data: bytes, filename: str, required: tuple[str, ...], known: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    text = decode_text(data, filename)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    errors = [RowError(1, c, "", "required column is missing") for c in required if c not in header]
    errors += [
        RowError(1, c, c, f"unknown column (expected: {', '.join(known)})")
        for c in header
        if c not in known
    ]
    if errors:
        raise FileRejected(filename, errors)
    out, line = [], 1
    for rec in reader:
        start, line = line + 1, reader.line_num
        out.append((start, {k: (v or "").strip() for k, v in rec.items() if k is not None}))
    if not out:
        raise FileRejected(filename, [], f"{filename}: no rows below the header")
    return out


def parse_products(tx: Tx, data: bytes, filename: str) -> list[Product]:
    rows = read_csv_rows(data, filename, ("sku", "description", "revenue_account"), PRODUCT_COLUMNS)
    chart = {r.code: r.type for r in tx.conn.execute(select(accounts.c.code, accounts.c.type))}
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    result = []
    for line, r in rows:
        bad = len(errors)
        sku = r.get("sku", "")
        if not sku:
            errors.append(RowError(line, "sku", "", "required value is missing"))
        elif sku in seen:
            errors.append(RowError(line, "sku", sku, f"duplicate SKU (first on line {seen[sku]})"))
        if not r.get("description"):
            errors.append(RowError(line, "description", "", "required value is missing"))
        kind = (r.get("kind") or "services").lower()
        if kind not in PRODUCT_KINDS:
            errors.append(RowError(line, "kind", kind, "expected goods or services"))
        tax_class = (r.get("tax_class") or "standard").lower()
        if tax_class not in TAX_CLASSES:
            errors.append(
                RowError(line, "tax_class", tax_class, f"expected one of {', '.join(TAX_CLASSES)}")
            )
        if tax_class == "exempt" and not r.get("exemption_reason"):
            errors.append(
                RowError(
                    line,
                    "exemption_reason",
                    "",
                    "an exempt product needs the legal reason for the exemption",
                )
            )
        account = r.get("revenue_account", "")
        if chart.get(account) != "revenue":
            reason = "unknown account" if account not in chart else "not a revenue account"
            errors.append(RowError(line, "revenue_account", account, reason))
        if len(errors) == bad:
            seen[sku] = line
            result.append(
                Product(
                    sku,
                    r["description"],
                    (r.get("unit_code") or "C62").upper(),
                    kind,
                    tax_class,
                    r.get("exemption_reason") or None,
                    account,
                    r.get("family") or None,
                )
            )
    if errors:
        raise FileRejected(filename, errors)
    return result


def _fingerprint(p: Product) -> str:
    return hashlib.sha256(repr(p).encode()).hexdigest()


def import_products(tx: Tx, data: bytes, filename: str) -> CatalogImport:
    fp = file_fingerprint(data)
    if previous_import(tx, "products", fp):
        return CatalogImport(already_imported=True)
    items = parse_products(tx, data, filename)
    existing = {r.sku: r for r in tx.conn.execute(select(products))}
    new = [p for p in items if p.sku not in existing]
    changed = [
        p for p in items if p.sku in existing and existing[p.sku].fingerprint != _fingerprint(p)
    ]
    if new:
        tx.conn.execute(insert(products), [_product_row(p) for p in new])
    if changed:
        stmt = (
            update(products)
            .where(products.c.sku == bindparam("key"))
            .values({c: bindparam(c) for c in (*PRODUCT_COLUMNS[1:], "fingerprint")})
        )
        tx.conn.execute(stmt, [{**_product_row(p), "key": p.sku} for p in changed])
    for p in new:
        tx.audit("create", "product", p.sku, after=_product_row(p))
    for p in changed:
        old = existing[p.sku]
        tx.audit(
            "update",
            "product",
            p.sku,
            before={c: getattr(old, c) for c in PRODUCT_COLUMNS},
            after=_product_row(p),
        )
    result = CatalogImport(len(new), len(changed), len(items) - len(new) - len(changed))
    record_import(
        tx,
        "products",
        filename,
        fp,
        len(items),
        f"{result.created} created, {result.updated} updated",
    )
    return result


def _product_row(p: Product) -> dict[str, object]:
    return {
        "sku": p.sku,
        "description": p.description,
        "unit_code": p.unit_code,
        "kind": p.kind,
        "tax_class": p.tax_class,
        "exemption_reason": p.exemption_reason,
        "revenue_account": p.revenue_account,
        "family": p.family,
        "fingerprint": _fingerprint(p),
    }


def import_prices(tx: Tx, data: bytes, filename: str) -> CatalogImport:
    """Price-list rows; a row for an existing (sku, currency, customer, valid_from) replaces it."""
    fp = file_fingerprint(data)
    if previous_import(tx, "prices", fp):
        return CatalogImport(already_imported=True)
    required = ("sku", "currency", "unit_price", "valid_from")
    rows = read_csv_rows(data, filename, required, PRICE_COLUMNS)
    skus = set(tx.conn.execute(select(products.c.sku)).scalars())
    numbers = {r.get("customer_number") for _, r in rows if r.get("customer_number")}
    cust = (
        {
            number: id_
            for chunk in in_chunks(n for n in numbers if n)  # files of any size
            for number, id_ in tx.conn.execute(
                select(customers.c.number, customers.c.id).where(customers.c.number.in_(chunk))
            )
        }
        if numbers
        else {}
    )
    errors: list[RowError] = []
    parsed = []
    for line, r in rows:
        bad = len(errors)
        if r["sku"] not in skus:
            errors.append(RowError(line, "sku", r["sku"], "unknown SKU"))
        try:
            currency = Currency.of(r["currency"]).code
        except Exception as exc:
            errors.append(RowError(line, "currency", r["currency"], str(exc)))
            currency = ""
        try:
            price = Decimal(r["unit_price"])
            if not price.is_finite() or price < 0:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(
                RowError(line, "unit_price", r["unit_price"], "not a non-negative number")
            )
            price = Decimal(0)
        customer_id = None
        if r.get("customer_number"):
            customer_id = cust.get(r["customer_number"])
            if customer_id is None:
                errors.append(
                    RowError(line, "customer_number", r["customer_number"], "unknown customer")
                )
        dates = []
        for col in ("valid_from", "valid_to"):
            try:
                dates.append(date.fromisoformat(r[col]) if r.get(col) else None)
            except ValueError:
                errors.append(RowError(line, col, r[col], "not a date (YYYY-MM-DD)"))
                dates.append(None)
        if len(errors) == bad:
            parsed.append(
                {
                    "sku": r["sku"],
                    "currency": currency,
                    "customer_id": customer_id,
                    "unit_price": str(price),
                    "valid_from": dates[0],
                    "valid_to": dates[1],
                }
            )
    if errors:
        raise FileRejected(filename, errors)
    created = updated = 0
    for row in parsed:
        key = and_(
            prices.c.sku == row["sku"],
            prices.c.currency == row["currency"],
            prices.c.valid_from == row["valid_from"],
            prices.c.customer_id.is_(None)
            if row["customer_id"] is None
            else prices.c.customer_id == row["customer_id"],
        )
        if tx.conn.execute(select(prices.c.id).where(key)).first():
            tx.conn.execute(
                update(prices)
                .where(key)
                .values(unit_price=row["unit_price"], valid_to=row["valid_to"])
            )
            updated += 1
        else:
            tx.conn.execute(insert(prices).values(**row))
            created += 1
        tx.audit("set_price", "product", row["sku"], after=row)
    record_import(tx, "prices", filename, fp, len(parsed), f"{created} new, {updated} replaced")
    return CatalogImport(created, updated, 0)


def load_products(conn: Connection, skus: set[str]) -> dict[str, Product]:
    if not skus:
        return {}
    rows = conn.execute(select(products).where(products.c.sku.in_(sorted(skus))))
    found = {
        r.sku: Product(
            r.sku,
            r.description,
            r.unit_code,
            r.kind,
            r.tax_class,
            r.exemption_reason,
            r.revenue_account,
            r.family,
        )
        for r in rows
    }
    unknown = sorted(skus - found.keys())
    if unknown:
        raise NotFound(f"unknown SKU(s) {', '.join(unknown)} (see `billfold catalog list`)")
    return found


@dataclass(frozen=True, slots=True)
class PriceRow:
    customer_id: int | None
    valid_from: date
    valid_to: date | None
    unit_price: Decimal


class PriceBook:
    """Every price of some SKUs, loaded in one query; lookups then cost no SQL."""

    def __init__(self, conn: Connection, skus: set[str]) -> None:
        self.rows: dict[tuple[str, str], list[PriceRow]] = {}
        if not skus:
            return
        q = select(prices).where(prices.c.sku.in_(sorted(skus)))
        for r in conn.execute(q):
            self.rows.setdefault((r.sku, r.currency), []).append(
                PriceRow(r.customer_id, r.valid_from, r.valid_to, Decimal(r.unit_price))
            )

    def price(self, sku: str, currency: str, customer_id: int, day: date) -> Decimal:
        """The customer's own price if there is one, else the list price, valid on ``day``;
        of several valid rows, the one that took effect last."""
        valid = [
            r
            for r in self.rows.get((sku, currency), ())
            if r.valid_from <= day
            and (r.valid_to is None or day <= r.valid_to)
            and r.customer_id in (None, customer_id)
        ]
        if not valid:
            raise NotFound(
                f"no {currency} price for {sku} on {day} (import one with "
                "`billfold catalog prices`) or give unit_price on the line"
            )
        best = max(valid, key=lambda r: (r.customer_id is not None, r.valid_from))
        return best.unit_price


def list_products(conn: Connection) -> list[Product]:
    rows = conn.execute(select(products).order_by(products.c.sku))
    return [
        Product(
            r.sku,
            r.description,
            r.unit_code,
            r.kind,
            r.tax_class,
            r.exemption_reason,
            r.revenue_account,
            r.family,
        )
        for r in rows
    ]
