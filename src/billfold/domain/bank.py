"""Bank account identifiers, validated with schwifty (IBAN check digits, BIC structure)."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from billfold.errors import BankAccountError


def normalize_iban(value: str) -> str:
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise BankAccountError(f"IBAN {value!r} is not valid: {exc}") from None


def normalize_bic(value: str) -> str:
    try:
        return str(BIC(value).compact)
    except SchwiftyException as exc:
        raise BankAccountError(f"BIC {value!r} is not valid: {exc}") from None
