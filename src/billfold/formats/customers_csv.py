"""Customer master-data CSV: bytes in, validated ``CustomerRecord``s out, or every bad value.

The columns are documented in the README ("Customers"). One row is one customer; addresses,
contacts, tax IDs and an exemption certificate are flattened into columns. Fields that may hold
several values (``tax_id``, ``billing_email``, ``ap_email``, ``aliases``) separate them with ``;``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from billfold.domain.customers import (
    DELIVERY_CHANNELS,
    Address,
    Contact,
    CustomerRecord,
    Exemption,
    TaxIdRecord,
    is_email,
    parse_einvoice_address,
)
from billfold.domain.taxids import normalize_tax_id
from billfold.domain.terms import parse_terms
from billfold.errors import BillfoldError, FileRejected, RowError
from billfold.money import Currency, Money

REQUIRED = ("number", "name", "currency", "payment_terms", "bill_to_country")
_ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "region", "country")
OPTIONAL = (
    "legal_form",
    "parent_number",
    "credit_limit",
    "delivery_channel",
    "language",
    "on_hold",
    "tax_id",
    *(f"{role}_{f}" for role in ("bill_to", "sold_to", "ship_to") for f in _ADDRESS_FIELDS),
    "billing_contact",
    "billing_email",
    "ap_contact",
    "ap_email",
    "exemption_jurisdiction",
    "exemption_certificate",
    "exemption_valid_from",
    "exemption_valid_to",
    "aliases",
    "einvoice_address",
)
COLUMNS = tuple(dict.fromkeys((*REQUIRED, *OPTIONAL)))
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ParsedCustomer:
    line: int
    record: CustomerRecord


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM); any other byte is reported with its line number."""
    if not data.strip():
        raise FileRejected(filename, [], f"{filename}: the file is empty; nothing imported")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    errors = []
    for n, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.end]
            errors.append(RowError(n, "(encoding)", bad.hex(" "), "byte is not valid UTF-8"))
    raise FileRejected(filename, errors, f"{filename}: not UTF-8 text; nothing imported")


class _Row:
    """One CSV row with helpers that record a RowError instead of raising."""

    def __init__(self, line: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.line, self.values, self.errors = line, values, errors

    def get(self, column: str) -> str | None:
        value = (self.values.get(column) or "").strip()
        return value or None

    def fail(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.line, column, self.values.get(column) or "", reason))

    def convert(self, column: str, fn: Callable[[str], T]) -> T | None:
        value = self.get(column)
        if value is None:
            return None
        try:
            return fn(value)
        except (BillfoldError, ValueError) as exc:
            self.fail(column, str(exc))
            return None

    def many(self, column: str) -> list[str]:
        return [v.strip() for v in (self.get(column) or "").split(";") if v.strip()]


def parse_customers_csv(data: bytes, filename: str) -> list[ParsedCustomer]:
    """Parse and validate the whole file; raise ``FileRejected`` listing every bad value."""
    text = decode_text(data, filename)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    header_errors = [
        RowError(1, col, "", "required column is missing") for col in REQUIRED if col not in header
    ]
    header_errors += [
        RowError(1, col, col, f"unknown column (expected: {', '.join(COLUMNS)})")
        for col in header
        if col not in COLUMNS
    ]
    if header_errors:
        raise FileRejected(filename, header_errors)

    errors: list[RowError] = []
    parsed: list[ParsedCustomer] = []
    first_seen: dict[str, int] = {}
    line = 1
    for values in reader:
        start, line = line + 1, reader.line_num
        if None in values:
            errors.append(RowError(start, "(row)", "", "more values than columns in the header"))
            continue
        row = _Row(start, values, errors)
        record = _record(row)
        number = row.get("number")
        if number is not None:
            if number in first_seen:
                row.fail(
                    "number", f"duplicate customer number (first on line {first_seen[number]})"
                )
            else:
                first_seen[number] = start
        if record is not None:
            parsed.append(ParsedCustomer(start, record))
    if not parsed and not errors:
        raise FileRejected(filename, [], f"{filename}: no customer rows below the header")
    if errors:
        raise FileRejected(filename, errors)
    return parsed


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def _record(row: _Row) -> CustomerRecord | None:
    before = len(row.errors)
    number, name = row.get("number"), row.get("name")
    for column in REQUIRED:
        if row.get(column) is None:
            row.fail(column, "required value is missing")
    currency = row.convert("currency", lambda v: Currency.of(v).code)
    terms = row.convert("payment_terms", lambda v: parse_terms(v).code)
    credit_limit = None
    if currency is not None:
        credit_limit = row.convert("credit_limit", lambda v: _credit_limit(v, currency))
    channel = row.convert("delivery_channel", _channel) or "email"
    on_hold = row.convert("on_hold", _bool) or False
    parent = row.get("parent_number")
    if parent is not None and parent == number:
        row.fail("parent_number", "a customer cannot be its own parent")
    addresses = _addresses(row)
    contacts = _contacts(row)
    country = row.get("bill_to_country")
    tax_ids = []
    for value in row.many("tax_id"):
        try:
            tid = normalize_tax_id(value, country)
            tax_ids.append(TaxIdRecord(tid.country, tid.scheme, tid.number))
        except BillfoldError as exc:
            row.errors.append(RowError(row.line, "tax_id", value, str(exc)))
    exemptions = _exemptions(row)
    if len(row.errors) > before:
        return None
    assert number and name and currency and terms
    return CustomerRecord(
        number=number,
        name=name,
        currency=currency,
        payment_terms=terms,
        legal_form=row.get("legal_form"),
        parent_number=parent,
        credit_limit=credit_limit,
        delivery_channel=channel,
        language=(row.get("language") or "en").lower(),
        on_hold=on_hold,
        einvoice_address=row.convert("einvoice_address", parse_einvoice_address),
        addresses=addresses,
        contacts=contacts,
        tax_ids=tuple(tax_ids),
        exemptions=exemptions,
        aliases=tuple(row.many("aliases")),
    )


def _credit_limit(value: str, currency: str) -> Decimal:
    amount = Money.of(value, currency).amount
    if amount < 0:
        raise ValueError("credit limit cannot be negative")
    return amount


def _channel(value: str) -> str:
    if value.lower() not in DELIVERY_CHANNELS:
        raise ValueError(
            f"unknown delivery channel (expected one of {', '.join(DELIVERY_CHANNELS)})"
        )
    return value.lower()


def _country(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError("expected a two-letter ISO 3166 country code")
    return value.upper()


def _addresses(row: _Row) -> tuple[Address, ...]:
    result = []
    for role in ("bill_to", "sold_to", "ship_to"):
        fields = {f: row.get(f"{role}_{f}") for f in _ADDRESS_FIELDS}
        if not any(fields.values()):
            continue
        country = row.convert(f"{role}_country", _country)
        if fields["country"] is None:
            row.fail(f"{role}_country", f"the {role.replace('_', '-')} address needs a country")
        if country is None:
            continue
        result.append(
            Address(
                role,
                country,
                fields["line1"],
                fields["line2"],
                fields["city"],
                fields["postal_code"],
                fields["region"],
            )
        )
    return tuple(result)


def _contacts(row: _Row) -> tuple[Contact, ...]:
    result = []
    for role in ("billing", "ap"):
        name = row.get(f"{role}_contact")
        for email in row.many(f"{role}_email"):
            if not is_email(email):
                row.errors.append(
                    RowError(row.line, f"{role}_email", email, "not an e-mail address")
                )
                continue
            result.append(Contact(role, email, name))
    return tuple(result)


def _exemptions(row: _Row) -> tuple[Exemption, ...]:
    jurisdiction, certificate = row.get("exemption_jurisdiction"), row.get("exemption_certificate")
    valid_from = row.convert("exemption_valid_from", date.fromisoformat)
    valid_to = row.convert("exemption_valid_to", date.fromisoformat)
    if not (jurisdiction or certificate or valid_from or valid_to):
        return ()
    for column, value in (
        ("exemption_jurisdiction", jurisdiction),
        ("exemption_certificate", certificate),
        ("exemption_valid_from", valid_from),
    ):
        if value is None and row.get(column) is None:
            row.fail(column, "an exemption certificate needs jurisdiction, number and valid_from")
    if valid_from and valid_to and valid_to < valid_from:
        row.fail("exemption_valid_to", "ends before it starts")
    if not (jurisdiction and certificate and valid_from):
        return ()
    return (Exemption(jurisdiction.upper(), certificate, valid_from, valid_to),)
