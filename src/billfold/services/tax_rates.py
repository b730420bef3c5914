"""Tax rate tables: the shipped VAT/GST table, the user's overrides and US sales-tax file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib.resources import files

from sqlalchemy import Connection, delete, insert, select

from billfold.domain.tax import RateRow, SalesTaxRow, SalesTaxTable, TaxEngine, VatRateTable
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint, previous_import, record_import
from billfold.store.tables import sales_tax_rates, vat_rate_overrides


@cache
def shipped_vat_table() -> VatRateTable:
    data = (files("billfold") / "data" / "tax" / "vat_rates.csv").read_bytes()
    return VatRateTable.from_csv(data, "vat_rates.csv")


def load_engine(conn: Connection) -> TaxEngine:
    overrides = [
        RateRow(
            r.country,
            r.region,
            r.tax_type,
            r.rate_name,
            r.category,
            Decimal(r.rate),
            r.valid_from,
            r.valid_to,
        )
        for r in conn.execute(select(vat_rate_overrides))
    ]
    vat = shipped_vat_table().overlay(overrides) if overrides else shipped_vat_table()
    sales = SalesTaxTable(
        SalesTaxRow(
            r.state,
            r.county,
            r.city,
            r.special_district,
            r.zip_from,
            r.zip_to,
            r.jurisdiction_code,
            r.jurisdiction_level,
            Decimal(r.rate),
            r.valid_from,
            r.valid_to,
        )
        for r in conn.execute(select(sales_tax_rates))
    )
    return TaxEngine(vat, sales)


@dataclass(frozen=True, slots=True)
class RatesImport:
    rows: int
    already_imported: bool = False


def import_us_rates(tx: Tx, data: bytes, filename: str) -> RatesImport:
    """Replace the US sales-tax jurisdiction table with the file's (all rows or none)."""
    fp = file_fingerprint(data)
    if previous_import(tx, "us_sales_tax", fp):
        return RatesImport(0, True)
    table = SalesTaxTable.from_csv(data, filename)
    tx.conn.execute(delete(sales_tax_rates))
    tx.conn.execute(
        insert(sales_tax_rates),
        [
            {
                "state": r.state,
                "county": r.county,
                "city": r.city,
                "special_district": r.district,
                "zip_from": r.zip_from,
                "zip_to": r.zip_to,
                "jurisdiction_code": r.code,
                "jurisdiction_level": r.level,
                "rate": str(r.rate),
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
            }
            for r in table.rows
        ],
    )
    record_import(tx, "us_sales_tax", filename, fp, len(table.rows), "table replaced")
    return RatesImport(len(table.rows))


def import_vat_overrides(tx: Tx, data: bytes, filename: str) -> RatesImport:
    """Rows in the shipped table's layout that replace its rows for the same country/rate."""
    fp = file_fingerprint(data)
    if previous_import(tx, "vat_rates", fp):
        return RatesImport(0, True)
    table = VatRateTable.from_csv(data, filename)
    tx.conn.execute(delete(vat_rate_overrides))
    tx.conn.execute(
        insert(vat_rate_overrides),
        [
            {
                "country": r.country,
                "region": r.region,
                "tax_type": r.tax_type,
                "rate_name": r.rate_name,
                "category": r.category,
                "rate": str(r.rate),
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
            }
            for r in table.rows
        ],
    )
    record_import(tx, "vat_rates", filename, fp, len(table.rows), "overrides replaced")
    return RatesImport(len(table.rows))


def rates_on(conn: Connection, country: str, day: date) -> list[RateRow]:
    engine = load_engine(conn)
    return [r for r in engine.vat.rows if r.country == country and r.valid_on(day)]
