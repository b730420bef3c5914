"""Tax identifiers: validated and normalised with python-stdnum.

``normalize_tax_id("de 136 695 976")`` gives
``TaxId(country="DE", scheme="VAT", number="DE136695976")``.
EU VAT numbers carry their country prefix (``EL`` for Greece, ``XI`` for Northern Ireland); other
numbers are read by the country given (the customer's country when the number has no prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from billfold.errors import TaxIdError

# country -> (scheme name, stdnum module path, prefix kept in the normalised number)
_SCHEMES: dict[str, tuple[str, str, str]] = {
    "GB": ("VAT", "gb.vat", "GB"),
    "CH": ("VAT", "ch.vat", ""),
    "NO": ("VAT", "no.mva", "NO"),
    "AU": ("ABN", "au.abn", ""),
    "NZ": ("GST", "nz.ird", ""),
    "IN": ("GSTIN", "in_.gstin", ""),
    "US": ("EIN", "us.ein", ""),
    "CA": ("BN", "ca.bn", ""),
    "SG": ("UEN", "sg.uen", ""),
}
_EU_PREFIX_TO_COUNTRY = {"EL": "GR", "XI": "GB"}
_COUNTRY_NAMES = {
    "GB": "UK",
    "CH": "Swiss",
    "NO": "Norwegian",
    "AU": "Australian",
    "NZ": "New Zealand",
    "IN": "Indian",
    "US": "US",
    "CA": "Canadian",
    "SG": "Singapore",
}


@dataclass(frozen=True, slots=True)
class TaxId:
    country: str
    scheme: str
    number: str

    def __str__(self) -> str:
        return self.number


def _module(path: str) -> Any:
    cc, name = path.split(".")
    module = get_cc_module(cc.rstrip("_"), name)
    assert module is not None, path
    return module


def _validate(module: Any, number: str, what: str, raw: str) -> str:
    try:
        return str(module.validate(number))
    except ValidationError as exc:
        raise TaxIdError(f"tax ID {raw!r} is not a valid {what}: {exc}") from None


def normalize_tax_id(value: str, country: str | None = None) -> TaxId:
    """Validate ``value`` and return it in canonical form; raises ``TaxIdError`` if it is wrong."""
    raw = str(value).strip()
    if not raw:
        raise TaxIdError("tax ID is empty")
    compact = "".join(ch for ch in raw.upper() if ch.isalnum())
    prefix = compact[:2]
    cc = (country or "").strip().upper()
    if prefix.lower() in eu_vat.MEMBER_STATES or prefix == "EL":
        number = _validate(eu_vat, compact, "EU VAT number", raw)
        return TaxId(_EU_PREFIX_TO_COUNTRY.get(prefix, prefix), "VAT", number)
    if prefix in _SCHEMES and prefix in ("GB", "NO") and compact[2:3].isdigit():
        cc = prefix
    if compact.startswith("CHE"):
        cc = "CH"
    if cc in _SCHEMES:
        scheme, path, keep_prefix = _SCHEMES[cc]
        body = compact[2:] if keep_prefix and compact.startswith(keep_prefix) else compact
        number = _validate(_module(path), body, f"{_COUNTRY_NAMES[cc]} {scheme} number", raw)
        if keep_prefix and not number.startswith(keep_prefix):
            number = keep_prefix + number
        return TaxId(cc, scheme, number)
    if cc and cc.lower() in eu_vat.MEMBER_STATES:
        number = _validate(eu_vat, cc + compact, "EU VAT number", raw)
        return TaxId(cc, "VAT", number)
    if cc:
        module = get_cc_module(cc.lower(), "vat")
        if module is not None:
            return TaxId(cc, "VAT", _validate(module, compact, f"{cc} VAT number", raw))
    raise TaxIdError(
        f"tax ID {raw!r}: cannot tell which country's scheme it follows; "
        "prefix it with the country code (e.g. DE...) or give the customer's country"
    )
