"""Customer master data as plain records, and the rules a customer must satisfy."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

DELIVERY_CHANNELS = ("email", "post", "peppol", "edi", "portal")
ADDRESS_ROLES = ("bill_to", "sold_to", "ship_to")
CONTACT_ROLES = ("billing", "ap")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


_PEPPOL_ID = re.compile(r"^(?P<scheme>[0-9]{4}|[A-Z]{2}):(?P<value>[^\s:]{1,100})$")


def parse_einvoice_address(value: str) -> str:
    """A Peppol participant id as ``scheme:value`` (ISO 6523 ICD or EAS code), e.g.
    ``0088:4012345000009`` (GLN) or ``9930:DE136695976``; the ``iso6523-actorid-upis::``
    prefix of a full Peppol id is accepted and dropped."""
    text = value.strip().removeprefix("iso6523-actorid-upis::")
    m = _PEPPOL_ID.match(text)
    if not m:
        raise ValueError("expected a Peppol participant id such as 0088:4012345000009")
    return f"{m['scheme']}:{m['value']}"


@dataclass(frozen=True, slots=True)
class Address:
    role: str
    country: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    role: str
    email: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TaxIdRecord:
    country: str
    scheme: str
    number: str


@dataclass(frozen=True, slots=True)
class Exemption:
    jurisdiction: str
    certificate: str
    valid_from: date
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer as imported. ``credit_limit`` is in the customer's currency."""

    number: str
    name: str
    currency: str
    payment_terms: str
    legal_form: str | None = None
    parent_number: str | None = None
    credit_limit: Decimal | None = None
    delivery_channel: str = "email"
    language: str = "en"
    on_hold: bool = False
    einvoice_address: str | None = None  # Peppol participant id, "scheme:value"
    addresses: tuple[Address, ...] = ()
    contacts: tuple[Contact, ...] = ()
    tax_ids: tuple[TaxIdRecord, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    aliases: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["credit_limit"] = None if self.credit_limit is None else str(self.credit_limit)
        return data

    def fingerprint(self) -> str:
        """A hash of every field: an unchanged row in a re-import is recognised by it."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def address(self, role: str) -> Address | None:
        return next((a for a in self.addresses if a.role == role), None)
