"""Payment terms: when an invoice falls due, and until when an early-payment discount applies.

Terms are written as short codes, parsed here and stored in canonical form:

=================  =====================================================
``DUE``            due on receipt (due date = invoice date)
``NET30``          net 30 days after the invoice date
``EOM+15``         end of the invoice month plus 15 days (``EOM`` = EOM+0)
``2/10 NET30``     2 % discount if paid within 10 days, else net 30
``2/10 EOM+15``    the same with an end-of-month due date
=================  =====================================================
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from billfold.errors import InvalidInput

_BASE = re.compile(
    r"^(?:(?P<due>DUE|RECEIPT|DUE ?ON ?RECEIPT|COD)|N(?:ET)? ?(?P<net>\d{1,3})|"
    r"EOM ?(?:\+ ?(?P<eom>\d{1,3}))?)$"
)
_DISCOUNT = re.compile(r"^(?P<pct>\d{1,2}(?:\.\d{1,2})?)/(?P<days>\d{1,3})[ ,]*(?P<rest>.+)$")


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """Parsed terms. ``kind`` is ``due``, ``net`` or ``eom``."""

    kind: str
    days: int = 0
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    @property
    def code(self) -> str:
        base = {"due": "DUE", "net": f"NET{self.days}", "eom": f"EOM+{self.days}"}[self.kind]
        if self.discount_percent is None:
            return base
        return f"{self.discount_percent.normalize():f}/{self.discount_days} {base}"

    def due_date(self, invoice_date: date) -> date:
        if self.kind == "due":
            return invoice_date
        if self.kind == "net":
            return invoice_date + timedelta(days=self.days)
        last = calendar.monthrange(invoice_date.year, invoice_date.month)[1]
        return invoice_date.replace(day=last) + timedelta(days=self.days)

    def discount_date(self, invoice_date: date) -> date | None:
        if self.discount_days is None:
            return None
        return invoice_date + timedelta(days=self.discount_days)

    def describe(self, language: str = "en") -> str:
        """The terms in words, in English, German, French, Spanish or Dutch."""
        words = _WORDS.get(language.split("-")[0].lower(), _WORDS["en"])
        base = words[self.kind].format(days=self.days)
        if self.discount_percent is None:
            return base
        pct = f"{self.discount_percent.normalize():f}"
        if language.split("-")[0].lower() in ("de", "fr", "es", "nl"):
            pct = pct.replace(".", ",")
        return words["discount"].format(pct=pct, days=self.discount_days, base=base)


_WORDS = {
    "en": {
        "due": "due on receipt",
        "net": "net {days} days",
        "eom": "end of month + {days} days",
        "discount": "{pct}% discount if paid within {days} days, otherwise {base}",
    },
    "de": {
        "due": "sofort fällig",
        "net": "{days} Tage netto",
        "eom": "Monatsende + {days} Tage",
        "discount": "{pct} % Skonto bei Zahlung innerhalb von {days} Tagen, sonst {base}",
    },
    "fr": {
        "due": "payable à réception",
        "net": "{days} jours net",
        "eom": "fin de mois + {days} jours",
        "discount": "escompte de {pct} % pour paiement sous {days} jours, sinon {base}",
    },
    "es": {
        "due": "pago a la recepción",
        "net": "{days} días netos",
        "eom": "fin de mes + {days} días",
        "discount": "{pct} % de descuento por pago en {days} días; si no, {base}",
    },
    "nl": {
        "due": "direct te voldoen",
        "net": "{days} dagen netto",
        "eom": "einde maand + {days} dagen",
        "discount": "{pct}% korting bij betaling binnen {days} dagen, anders {base}",
    },
}


@lru_cache(maxsize=512)  # a run parses the same few codes for every invoice; terms are frozen
def parse_terms(text: str) -> PaymentTerms:
    """Parse a terms code such as ``NET30``, ``EOM+15``, ``DUE`` or ``2/10 NET30``."""
    raw = " ".join(str(text).upper().replace("_", " ").split())
    if not raw:
        raise InvalidInput("payment terms are empty (expected e.g. NET30, EOM+15, DUE, 2/10 NET30)")
    discount_pct: Decimal | None = None
    discount_days: int | None = None
    m = _DISCOUNT.match(raw)
    if m:
        try:
            discount_pct = Decimal(m["pct"])
        except InvalidOperation:  # pragma: no cover - the regex admits only digits
            raise InvalidInput(f"payment terms {text!r}: bad discount percentage") from None
        discount_days = int(m["days"])
        raw = m["rest"].strip()
    b = _BASE.match(raw)
    if not b:
        raise InvalidInput(
            f"payment terms {text!r} not understood (expected e.g. NET30, EOM+15, DUE, 2/10 NET30)"
        )
    if b["due"]:
        terms = PaymentTerms("due")
    elif b["net"] is not None:
        terms = PaymentTerms("net", int(b["net"]))
    else:
        terms = PaymentTerms("eom", int(b["eom"] or 0))
    if discount_pct is not None:
        assert discount_days is not None
        if not (0 < discount_pct < 100):
            raise InvalidInput(f"payment terms {text!r}: discount must be between 0 and 100 %")
        if terms.kind != "due" and terms.kind == "net" and discount_days >= terms.days:
            raise InvalidInput(
                f"payment terms {text!r}: discount period must be shorter than the net period"
            )
        terms = PaymentTerms(terms.kind, terms.days, discount_pct, discount_days)
    return terms
