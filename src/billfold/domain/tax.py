"""Tax determination: which taxes apply to a line, at which rate, with which legal note.

Pure rules over rate tables; no I/O. The service layer loads the tables (the shipped VAT/GST
table in ``data/tax/vat_rates.csv`` plus user overrides, and the user's US sales-tax file).

Rules (B2B and B2C, goods and services), in order:

1. A category given on the line (override) wins: ``S`` takes the given rate, or the table rate for
   the product's tax class; ``E`` needs an exemption reason.
2. A product whose tax class is ``exempt`` is ``E`` with the product's exemption reason.
3. EU seller: domestic sale -> ``S`` (or ``Z``) at the seller country's rate for the tax class;
   another EU country with a buyer VAT ID -> ``AE`` reverse charge for services, ``K``
   intra-community supply for goods; a consumer there -> the seller's rate, or the buyer
   country's rate when the seller is registered for OSS; outside the EU -> ``G`` export.
4. Other VAT/GST countries (GB, NO, CH, AU, NZ, SG ...): domestic -> their rate; abroad -> ``G``.
5. Canada: place of supply is the buyer's province: HST where it applies, else GST plus the
   province's PST/QST/RST as a second component; abroad -> ``G``.
6. US seller: a buyer with a valid exemption certificate for its state -> ``E``; otherwise the
   state, county, city and district rates of the user's rate file for the buyer's address;
   a state without rates in the file (no nexus) -> ``O``; abroad -> ``G``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from billfold.errors import FileRejected, InvalidInput, RowError

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
TAX_CLASSES = ("standard", "reduced", "reduced2", "super_reduced", "parking", "zero", "exempt")
PRODUCT_KINDS = ("goods", "services")
CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M")

NOTE_REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196 of Council Directive 2006/112/EC)."
)
NOTE_INTRA_COMMUNITY = (
    "Intra-Community supply of goods, exempt from VAT "
    "(Article 138 of Council Directive 2006/112/EC)."
)
NOTE_EXPORT = (
    "Export outside the EU, exempt from VAT (Article 146 of Council Directive 2006/112/EC)."
)
NOTE_EXPORT_GENERIC = "Export: zero-rated / no tax charged (supply to a customer abroad)."

_VATEX = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "K": ("VATEX-EU-IC", "Intra-Community supply"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}


class TaxError(InvalidInput):
    code = "tax_error"


@dataclass(frozen=True, slots=True)
class TaxComponent:
    """One tax on a line: ``jurisdiction`` (DE, CA-QC, US-WA-SEATTLE), category, rate (%)."""

    jurisdiction: str
    category: str
    rate: Decimal
    tax_type: str = "VAT"
    exemption_reason: str | None = None
    exemption_code: str | None = None


@dataclass(frozen=True, slots=True)
class TaxDetermination:
    components: tuple[TaxComponent, ...]
    note: str | None = None

    @property
    def total_rate(self) -> Decimal:
        return sum((c.rate for c in self.components), Decimal(0))


# --- rate tables -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateRow:
    country: str
    region: str
    tax_type: str
    rate_name: str
    category: str
    rate: Decimal
    valid_from: date
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def _parse_date(value: str, line: int, column: str, errors: list[RowError]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(line, column, value, "not a date (YYYY-MM-DD)"))
        return None


def _parse_rate(value: str, line: int, errors: list[RowError]) -> Decimal | None:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        errors.append(RowError(line, "rate", value, "not a number"))
        return None
    if not rate.is_finite() or rate < 0 or rate > 100:
        errors.append(RowError(line, "rate", value, "a rate is a percentage from 0 to 100"))
        return None
    return rate


class VatRateTable:
    """Effective-dated VAT/GST rates per country (and region), by rate name."""

    def __init__(self, rows: Iterable[RateRow]) -> None:
        self.rows = tuple(rows)
        self._by_key: dict[tuple[str, str, str], list[RateRow]] = {}
        for r in self.rows:
            self._by_key.setdefault((r.country, r.region, r.rate_name), []).append(r)

    @classmethod
    def from_csv(cls, data: bytes, filename: str) -> VatRateTable:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        need = (
            "country",
            "region",
            "tax_type",
            "rate_name",
            "category",
            "rate",
            "valid_from",
            "valid_to",
        )
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise FileRejected(
                filename, [RowError(1, c, "", "required column is missing") for c in missing]
            )
        rows = []
        errors: list[RowError] = []
        for n, rec in enumerate(reader, start=2):
            rate = _parse_rate(rec["rate"], n, errors)
            start = _parse_date(rec["valid_from"], n, "valid_from", errors)
            end = _parse_date(rec["valid_to"], n, "valid_to", errors) if rec["valid_to"] else None
            if rec["category"] not in CATEGORIES:
                errors.append(RowError(n, "category", rec["category"], "not an EN 16931 category"))
            if rate is None or start is None or rec["category"] not in CATEGORIES:
                continue
            rows.append(
                RateRow(
                    rec["country"].upper(),
                    (rec["region"] or "").upper(),
                    rec["tax_type"],
                    rec["rate_name"],
                    rec["category"],
                    rate,
                    start,
                    end,
                )
            )
        if errors:
            raise FileRejected(filename, errors)
        return cls(rows)

    def overlay(self, overrides: Sequence[RateRow]) -> VatRateTable:
        """The table with ``overrides`` replacing every shipped row of the same key."""
        keys = {(r.country, r.region, r.rate_name) for r in overrides}
        kept = [r for r in self.rows if (r.country, r.region, r.rate_name) not in keys]
        return VatRateTable([*kept, *overrides])

    def find(self, country: str, rate_name: str, day: date, region: str = "") -> RateRow | None:
        for r in self._by_key.get((country, region, rate_name), ()):
            if r.valid_on(day):
                return r
        return None

    def rate(self, country: str, rate_name: str, day: date, region: str = "") -> RateRow:
        found = self.find(country, rate_name, day, region)
        if found is None:
            where = f"{country}-{region}" if region else country
            raise TaxError(f"no {rate_name} tax rate for {where} on {day} in the rate table")
        return found

    def has_country(self, country: str) -> bool:
        return any(k[0] == country for k in self._by_key)


@dataclass(frozen=True, slots=True)
class SalesTaxRow:
    state: str
    county: str
    city: str
    district: str
    zip_from: str
    zip_to: str
    code: str
    level: str
    rate: Decimal
    valid_from: date
    valid_to: date | None


class SalesTaxTable:
    """US sales-tax jurisdictions from the user's CSV (see data/tax/us_sales_tax_example.csv)."""

    COLUMNS = (
        "state",
        "county",
        "city",
        "special_district",
        "zip_from",
        "zip_to",
        "jurisdiction_code",
        "jurisdiction_level",
        "rate",
        "valid_from",
        "valid_to",
    )

    def __init__(self, rows: Iterable[SalesTaxRow]) -> None:
        self.rows = tuple(rows)

    @classmethod
    def from_csv(cls, data: bytes, filename: str) -> SalesTaxTable:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in cls.COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FileRejected(
                filename, [RowError(1, c, "", "required column is missing") for c in missing]
            )
        rows = []
        errors: list[RowError] = []
        for n, rec in enumerate(reader, start=2):
            rate = _parse_rate(rec["rate"], n, errors)
            start = _parse_date(rec["valid_from"], n, "valid_from", errors)
            end = _parse_date(rec["valid_to"], n, "valid_to", errors) if rec["valid_to"] else None
            level = rec["jurisdiction_level"].lower()
            if level not in ("state", "county", "city", "special"):
                errors.append(
                    RowError(
                        n, "jurisdiction_level", level, "expected state, county, city or special"
                    )
                )
            if len(rec["state"]) != 2:
                errors.append(RowError(n, "state", rec["state"], "expected a two-letter state"))
            if rate is None or start is None:
                continue
            rows.append(
                SalesTaxRow(
                    rec["state"].upper(),
                    rec["county"].strip(),
                    rec["city"].strip(),
                    rec["special_district"].strip(),
                    rec["zip_from"].strip(),
                    rec["zip_to"].strip(),
                    rec["jurisdiction_code"].strip(),
                    level,
                    rate,
                    start,
                    end,
                )
            )
        if errors:
            raise FileRejected(filename, errors)
        return cls(rows)

    def components(
        self,
        state: str,
        day: date,
        postal_code: str | None = None,
        city: str | None = None,
        county: str | None = None,
    ) -> list[SalesTaxRow]:
        """Every jurisdiction whose rate applies at the address on ``day``."""
        zip5 = (postal_code or "").strip()[:5]
        found = []
        for r in self.rows:
            if r.state != state or not (
                r.valid_from <= day and (r.valid_to is None or day <= r.valid_to)
            ):
                continue
            if r.zip_from and zip5:
                if r.zip_from <= zip5 <= (r.zip_to or r.zip_from):
                    found.append(r)
                continue
            if (
                r.level == "state"
                or (r.level == "county" and county and r.county.lower() == county.lower())
                or (r.level in ("city", "special") and city and r.city.lower() == city.lower())
            ):
                found.append(r)
        return found

    def has_state(self, state: str) -> bool:
        return any(r.state == state for r in self.rows)


# --- determination ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exemption:
    jurisdiction: str  # US-CA, CA, DE ...
    certificate: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True, slots=True)
class TaxContext:
    """Who sells to whom, where, when."""

    seller_country: str
    buyer_country: str
    tax_date: date
    seller_region: str = ""
    seller_oss: bool = False
    buyer_vat_id: str | None = None
    buyer_region: str = ""
    buyer_postal_code: str | None = None
    buyer_city: str | None = None
    buyer_county: str | None = None
    exemptions: tuple[Exemption, ...] = ()


class TaxEngine:
    def __init__(self, vat: VatRateTable, sales: SalesTaxTable | None = None) -> None:
        self.vat = vat
        self.sales = sales or SalesTaxTable(())

    def determine(
        self,
        ctx: TaxContext,
        kind: str,
        tax_class: str,
        category: str | None = None,
        rate: Decimal | None = None,
        exemption_reason: str | None = None,
    ) -> TaxDetermination:
        if tax_class not in TAX_CLASSES:
            raise TaxError(f"unknown tax class {tax_class!r} (expected {', '.join(TAX_CLASSES)})")
        if category is not None:
            return self._override(ctx, tax_class, category, rate, exemption_reason)
        if tax_class == "exempt":
            return TaxDetermination(
                (
                    TaxComponent(
                        ctx.seller_country,
                        "E",
                        Decimal(0),
                        exemption_reason=exemption_reason or "Exempt from VAT",
                    ),
                )
            )
        if ctx.seller_country == "US":
            return self._us(ctx, tax_class)
        if ctx.seller_country == "CA":
            return self._canada(ctx, tax_class)
        if ctx.seller_country in EU_COUNTRIES:
            return self._eu(ctx, kind, tax_class)
        return self._domestic_or_export(ctx, tax_class)

    # -- cases ------------------------------------------------------------------------------
    def _rate_component(
        self, country: str, tax_class: str, day: date, region: str = "", tax_type: str | None = None
    ) -> TaxComponent:
        name = "zero" if tax_class == "zero" else tax_class
        row = self.vat.rate(country, name, day, region)
        jurisdiction = f"{country}-{region}" if region else country
        return TaxComponent(
            jurisdiction, "Z" if row.rate == 0 else row.category, row.rate, tax_type or row.tax_type
        )

    def _eu(self, ctx: TaxContext, kind: str, tax_class: str) -> TaxDetermination:
        seller, buyer = ctx.seller_country, ctx.buyer_country
        if buyer == seller:
            return TaxDetermination((self._rate_component(seller, tax_class, ctx.tax_date),))
        if buyer in EU_COUNTRIES:
            if ctx.buyer_vat_id:
                cat = "K" if kind == "goods" else "AE"
                note = NOTE_INTRA_COMMUNITY if cat == "K" else NOTE_REVERSE_CHARGE
                return TaxDetermination((_exempt(buyer, cat),), note)
            country = buyer if ctx.seller_oss else seller
            return TaxDetermination((self._rate_component(country, tax_class, ctx.tax_date),))
        return TaxDetermination((_exempt(buyer, "G"),), NOTE_EXPORT)

    def _domestic_or_export(self, ctx: TaxContext, tax_class: str) -> TaxDetermination:
        if ctx.buyer_country == ctx.seller_country:
            if not self.vat.has_country(ctx.seller_country):
                raise TaxError(f"no VAT/GST rates for {ctx.seller_country} in the rate table")
            return TaxDetermination(
                (self._rate_component(ctx.seller_country, tax_class, ctx.tax_date),)
            )
        return TaxDetermination((_exempt(ctx.buyer_country, "G", "Export"),), NOTE_EXPORT_GENERIC)

    def _canada(self, ctx: TaxContext, tax_class: str) -> TaxDetermination:
        if ctx.buyer_country != "CA":
            return TaxDetermination(
                (_exempt(ctx.buyer_country, "G", "Export (zero-rated)"),), NOTE_EXPORT_GENERIC
            )
        province = ctx.buyer_region.upper()
        if not province:
            raise TaxError("a Canadian buyer needs a province (bill-to region) for GST/HST")
        if tax_class == "zero":
            return TaxDetermination((TaxComponent("CA", "Z", Decimal(0), "GST"),))
        hst = self.vat.find("CA", "standard", ctx.tax_date, province)
        if hst is not None and hst.tax_type == "HST":
            return TaxDetermination((TaxComponent(f"CA-{province}", "S", hst.rate, "HST"),))
        parts = [self._rate_component("CA", "standard", ctx.tax_date, tax_type="GST")]
        if hst is not None:  # PST, QST or RST on top of GST
            parts.append(TaxComponent(f"CA-{province}", "S", hst.rate, hst.tax_type))
        return TaxDetermination(tuple(parts))

    def _us(self, ctx: TaxContext, tax_class: str) -> TaxDetermination:
        if ctx.buyer_country != "US":
            return TaxDetermination(
                (_exempt(ctx.buyer_country, "G", "Export"),), NOTE_EXPORT_GENERIC
            )
        state = ctx.buyer_region.upper()
        if not state:
            raise TaxError("a US buyer needs a state (bill-to or ship-to region) for sales tax")
        for ex in ctx.exemptions:
            if (
                ex.jurisdiction.upper() in (state, f"US-{state}")
                and ex.valid_from <= ctx.tax_date
                and (ex.valid_to is None or ctx.tax_date <= ex.valid_to)
            ):
                reason = f"Exempt: resale/exemption certificate {ex.certificate} ({state})"
                return TaxDetermination(
                    (TaxComponent(f"US-{state}", "E", Decimal(0), "SALES", reason),), reason
                )
        if tax_class == "zero":
            return TaxDetermination((TaxComponent(f"US-{state}", "Z", Decimal(0), "SALES"),))
        rows = self.sales.components(
            state, ctx.tax_date, ctx.buyer_postal_code, ctx.buyer_city, ctx.buyer_county
        )
        if not rows:
            reason = f"No sales tax collected: not registered in {state}"
            return TaxDetermination(
                (TaxComponent(f"US-{state}", "O", Decimal(0), "SALES", reason, "VATEX-EU-O"),)
            )
        return TaxDetermination(
            tuple(TaxComponent(f"US-{r.code}", "S", r.rate, "SALES") for r in rows)
        )

    def _override(
        self,
        ctx: TaxContext,
        tax_class: str,
        category: str,
        rate: Decimal | None,
        reason: str | None,
    ) -> TaxDetermination:
        if category not in CATEGORIES:
            raise TaxError(f"unknown tax category {category!r} (expected {', '.join(CATEGORIES)})")
        where = ctx.seller_country
        if category in ("S", "L", "M"):
            if rate is None:
                if category != "S":
                    raise TaxError(f"category {category} needs an explicit rate")
                return TaxDetermination(
                    (
                        self._rate_component(
                            where,
                            "standard" if tax_class in ("zero", "exempt") else tax_class,
                            ctx.tax_date,
                        ),
                    )
                )
            if rate <= 0:
                raise TaxError(f"category {category} needs a rate above zero")
            return TaxDetermination(
                (
                    TaxComponent(
                        where,
                        category,
                        rate,
                        "IGIC" if category == "L" else "IPSI" if category == "M" else "VAT",
                    ),
                )
            )
        if rate not in (None, Decimal(0)):
            raise TaxError(f"category {category} is charged at 0 %, not {rate} %")
        if category == "AE" and not ctx.buyer_vat_id:
            raise TaxError("reverse charge (AE) needs the buyer's VAT ID")
        if category == "K" and not ctx.buyer_vat_id:
            raise TaxError("an intra-community supply (K) needs the buyer's VAT ID")
        if category == "E" and not reason:
            raise TaxError("an exempt line (E) needs an exemption reason")
        if category == "Z":
            return TaxDetermination((TaxComponent(where, "Z", Decimal(0)),))
        note = {"AE": NOTE_REVERSE_CHARGE, "K": NOTE_INTRA_COMMUNITY, "G": NOTE_EXPORT}.get(
            category
        )
        comp = _exempt(ctx.buyer_country, category, reason)
        return TaxDetermination((comp,), note)


def _exempt(jurisdiction: str, category: str, reason: str | None = None) -> TaxComponent:
    code, default = _VATEX.get(category, (None, "Exempt from VAT"))
    return TaxComponent(jurisdiction, category, Decimal(0), "VAT", reason or default, code)
