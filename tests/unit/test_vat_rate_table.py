"""Integrity and spot checks for the bundled VAT/GST rate table.

The table lives in ``src/billfold/data/tax/vat_rates.csv``. It is read here with the
``csv`` module and ``decimal.Decimal`` only: no float ever touches a rate.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parents[2] / "src/billfold/data/tax"
VAT_CSV = DATA_DIR / "vat_rates.csv"
US_CSV = DATA_DIR / "us_sales_tax_example.csv"

COLUMNS = [
    "country",
    "region",
    "tax_type",
    "rate_name",
    "category",
    "rate",
    "valid_from",
    "valid_to",
    "note",
]
US_COLUMNS = [
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
]

EU27 = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip
REQUIRED_COUNTRIES = EU27 | {"GB", "NO", "CH", "AU", "NZ", "SG", "CA"}
RATE_NAMES = {"standard", "reduced", "reduced2", "super_reduced", "parking", "zero"}
TAX_TYPES = {"VAT", "GST", "HST", "PST", "QST", "RST", "MWST"}
COVERAGE_START = dt.date(2015, 1, 1)
COMPILED_ON = dt.date(2026, 11, 25)

# Percent as a plain decimal string: "19", "8.1", "9.975". No sign, exponent or
# trailing-zero noise such as "19.0".
RATE_RE = re.compile(r"^(0|[1-9]\d?)(\.\d*[1-9])?$")


def _load(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _end(row: dict[str, str]) -> dt.date | None:
    return _date(row["valid_to"]) if row["valid_to"] else None


def _valid_on(row: dict[str, str], day: dt.date) -> bool:
    end = _end(row)
    return _date(row["valid_from"]) <= day and (end is None or day <= end)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    header, data = _load(VAT_CSV)
    assert header == COLUMNS
    assert data, "vat_rates.csv is empty"
    return data


def _matches(
    rows: list[dict[str, str]],
    day: dt.date,
    country: str,
    rate_name: str,
    region: str = "",
    tax_type: str | None = None,
) -> list[dict[str, str]]:
    return [
        r
        for r in rows
        if r["country"] == country
        and r["region"] == region
        and r["rate_name"] == rate_name
        and (tax_type is None or r["tax_type"] == tax_type)
        and _valid_on(r, day)
    ]


def test_header_is_exact() -> None:
    header, _ = _load(VAT_CSV)
    assert header == COLUMNS


def test_every_required_country_is_present(rows: list[dict[str, str]]) -> None:
    present = {r["country"] for r in rows}
    assert sorted(REQUIRED_COUNTRIES - present) == []


def test_country_codes_are_iso_alpha2(rows: list[dict[str, str]]) -> None:
    for r in rows:
        assert re.fullmatch(r"[A-Z]{2}", r["country"]), r
        # Greece is GR (ISO 3166-1), not its VAT prefix EL; the UK is GB, not UK.
        assert r["country"] not in {"EL", "UK"}, r


def test_greece_notes_mention_el_prefix(rows: list[dict[str, str]]) -> None:
    greek = [r for r in rows if r["country"] == "GR"]
    assert greek
    assert all("EL" in r["note"] for r in greek)


def test_canary_islands_igic_is_not_in_the_vat_table(rows: list[dict[str, str]]) -> None:
    assert all(r["region"] == "" for r in rows if r["country"] == "ES")


def test_enumerated_fields(rows: list[dict[str, str]]) -> None:
    for r in rows:
        assert r["rate_name"] in RATE_NAMES, r
        assert r["tax_type"] in TAX_TYPES, r
        expected_category = "Z" if r["rate_name"] == "zero" else "S"
        assert r["category"] == expected_category, r
        assert r["region"] == r["region"].strip(), r


def test_rates_are_exact_decimals(rows: list[dict[str, str]]) -> None:
    for r in rows:
        text = r["rate"]
        assert RATE_RE.fullmatch(text), f"badly formatted rate {text!r} in {r}"
        try:
            rate = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex already guards this
            pytest.fail(f"rate {text!r} is not a decimal: {r}")
        assert rate.is_finite()
        assert Decimal(0) <= rate < Decimal(100), r
        if r["rate_name"] == "zero":
            assert rate == 0, r
        else:
            assert rate > 0, r


def test_dates_are_valid_and_ordered(rows: list[dict[str, str]]) -> None:
    for r in rows:
        start = _date(r["valid_from"])  # raises on a malformed date
        assert start >= COVERAGE_START, r
        end = _end(r)
        if end is not None:
            assert start < end, r


def test_no_overlapping_validity(rows: list[dict[str, str]]) -> None:
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[(r["country"], r["region"], r["tax_type"], r["rate_name"])].append(r)
    for key, members in groups.items():
        members.sort(key=lambda r: _date(r["valid_from"]))
        for earlier, later in itertools.pairwise(members):
            end = _end(earlier)
            assert end is not None, f"{key}: open-ended row followed by another row"
            assert end < _date(later["valid_from"]), f"{key}: overlap {earlier} / {later}"


CHECK_DATES = [
    COVERAGE_START,
    dt.date(2016, 6, 1),
    dt.date(2020, 9, 1),
    dt.date(2021, 6, 1),
    dt.date(2023, 6, 1),
    dt.date(2024, 6, 1),
    dt.date(2025, 8, 1),
    COMPILED_ON,
]


@pytest.mark.parametrize("day", CHECK_DATES, ids=str)
def test_exactly_one_standard_rate_per_country(rows: list[dict[str, str]], day: dt.date) -> None:
    for country in sorted(REQUIRED_COUNTRIES):
        found = _matches(rows, day, country, "standard")
        assert len(found) == 1, f"{country} on {day}: {found}"


@pytest.mark.parametrize("day", CHECK_DATES, ids=str)
def test_exactly_one_standard_rate_per_region(rows: list[dict[str, str]], day: dt.date) -> None:
    regions = {(r["country"], r["region"]) for r in rows if r["region"]}
    assert regions
    for country, region in sorted(regions):
        found = _matches(rows, day, country, "standard", region=region)
        assert len(found) == 1, f"{country}/{region} on {day}: {found}"


D = dt.date
SPOT_CHECKS = [
    # (country, region, tax_type, rate_name, date, expected rate)
    ("DE", "", "VAT", "standard", D(2020, 6, 30), "19"),
    ("DE", "", "VAT", "standard", D(2020, 9, 1), "16"),
    ("DE", "", "VAT", "reduced", D(2020, 9, 1), "5"),
    ("DE", "", "VAT", "standard", D(2021, 1, 1), "19"),
    ("DE", "", "VAT", "reduced", COMPILED_ON, "7"),
    ("CH", "", "VAT", "standard", D(2023, 12, 31), "7.7"),
    ("CH", "", "VAT", "standard", D(2024, 1, 1), "8.1"),
    ("CH", "", "VAT", "reduced", COMPILED_ON, "2.6"),
    ("FI", "", "VAT", "standard", D(2024, 8, 31), "24"),
    ("FI", "", "VAT", "standard", D(2024, 9, 1), "25.5"),
    ("FI", "", "VAT", "reduced", COMPILED_ON, "13.5"),
    ("EE", "", "VAT", "standard", D(2023, 12, 31), "20"),
    ("EE", "", "VAT", "standard", D(2024, 1, 1), "22"),
    ("EE", "", "VAT", "standard", D(2025, 6, 30), "22"),
    ("EE", "", "VAT", "standard", D(2025, 7, 1), "24"),
    ("SK", "", "VAT", "standard", D(2024, 12, 31), "20"),
    ("SK", "", "VAT", "standard", D(2025, 1, 1), "23"),
    ("RO", "", "VAT", "standard", D(2015, 6, 1), "24"),
    ("RO", "", "VAT", "standard", D(2025, 7, 31), "19"),
    ("RO", "", "VAT", "standard", D(2025, 8, 1), "21"),
    ("RO", "", "VAT", "reduced", COMPILED_ON, "11"),
    ("SG", "", "GST", "standard", D(2022, 12, 31), "7"),
    ("SG", "", "GST", "standard", D(2023, 1, 1), "8"),
    ("SG", "", "GST", "standard", D(2024, 1, 1), "9"),
    ("GB", "", "VAT", "standard", COMPILED_ON, "20"),
    ("GB", "", "VAT", "reduced2", D(2021, 1, 1), "5"),
    ("GB", "", "VAT", "reduced2", D(2022, 1, 1), "12.5"),
    ("LU", "", "VAT", "standard", D(2023, 6, 1), "16"),
    ("LU", "", "VAT", "standard", D(2024, 1, 1), "17"),
    ("IE", "", "VAT", "standard", D(2020, 12, 1), "21"),
    ("IE", "", "VAT", "standard", D(2021, 3, 1), "23"),
    ("CZ", "", "VAT", "reduced", D(2023, 12, 31), "15"),
    ("CZ", "", "VAT", "reduced", D(2024, 1, 1), "12"),
    ("GR", "", "VAT", "standard", D(2016, 5, 31), "23"),
    ("GR", "", "VAT", "standard", D(2016, 6, 1), "24"),
    ("HU", "", "VAT", "standard", COMPILED_ON, "27"),
    ("NO", "", "VAT", "standard", COMPILED_ON, "25"),
    ("AU", "", "GST", "standard", COMPILED_ON, "10"),
    ("NZ", "", "GST", "standard", COMPILED_ON, "15"),
    ("FR", "971", "VAT", "standard", COMPILED_ON, "8.5"),
    ("CA", "", "GST", "standard", COMPILED_ON, "5"),
    ("CA", "ON", "HST", "standard", COMPILED_ON, "13"),
    ("CA", "NS", "HST", "standard", D(2025, 3, 31), "15"),
    ("CA", "NS", "HST", "standard", D(2025, 4, 1), "14"),
    ("CA", "NB", "HST", "standard", D(2016, 7, 1), "15"),
    ("CA", "NL", "HST", "standard", COMPILED_ON, "15"),
    ("CA", "PE", "HST", "standard", COMPILED_ON, "15"),
    ("CA", "QC", "QST", "standard", COMPILED_ON, "9.975"),
    ("CA", "BC", "PST", "standard", COMPILED_ON, "7"),
    ("CA", "MB", "RST", "standard", COMPILED_ON, "7"),
    ("CA", "SK", "PST", "standard", COMPILED_ON, "6"),
]


@pytest.mark.parametrize(
    ("country", "region", "tax_type", "rate_name", "day", "expected"),
    SPOT_CHECKS,
    ids=[f"{c}{'-' + r if r else ''}-{n}-{d}" for c, r, _, n, d, _ in SPOT_CHECKS],
)
def test_known_rates(
    rows: list[dict[str, str]],
    country: str,
    region: str,
    tax_type: str,
    rate_name: str,
    day: dt.date,
    expected: str,
) -> None:
    found = _matches(rows, day, country, rate_name, region=region, tax_type=tax_type)
    assert len(found) == 1, found
    assert Decimal(found[0]["rate"]) == Decimal(expected)


def test_us_sales_tax_example_is_well_formed() -> None:
    header, data = _load(US_CSV)
    assert header == US_COLUMNS
    assert data
    for r in data:
        assert r["jurisdiction_level"] in {"state", "county", "city", "special"}, r
        assert RATE_RE.fullmatch(r["rate"]), r
        assert Decimal(r["rate"]) > 0, r
        assert r["zip_from"] <= r["zip_to"], r
        start = _date(r["valid_from"])
        if r["valid_to"]:
            assert start < _date(r["valid_to"]), r
