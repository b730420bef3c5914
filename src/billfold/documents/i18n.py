"""Words and number formats for printed documents, in English, German, French, Spanish and Dutch.

Three tables hold every word a printed invoice, credit note or debit note needs:

* ``LABELS``: language -> label key -> text; the texts may hold ``{placeholders}``;
* ``TAX_CATEGORY_NAMES``: language -> EN 16931 VAT category code (see
  ``billfold.domain.documents.VAT_CATEGORIES``) -> name;
* ``UNIT_NAMES``: language -> UN/ECE Recommendation 20 unit code -> (singular, plural).
  Units written as symbols everywhere (kg, m, kWh, GB ...) are in ``UNIT_SYMBOLS``.

Every language holds the same keys (a unit test checks it). ``Localizer`` picks the language of a
document and formats dates, numbers, money and percentages with Babel in that locale.
A language Billfold has no labels for falls back to English, labels and formats alike, so a
document never mixes languages. A regional tag such as ``de-AT`` or ``fr_BE`` keeps the labels of
its language and the number formats of its region.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

DEFAULT_LANGUAGE: Final = "en"

_EN: Final[dict[str, str]] = {
    "title.invoice": "Invoice",
    "title.credit_note": "Credit note",
    "title.debit_note": "Debit note",
    "number.invoice": "Invoice number",
    "number.credit_note": "Credit note number",
    "number.debit_note": "Debit note number",
    "amount_due.invoice": "Amount due",
    "amount_due.credit_note": "Amount credited",
    "amount_due.debit_note": "Amount due",
    "issue_date": "Issue date",
    "supply_date": "Delivery date",
    "service_period": "Service period",
    "due_date": "Due date",
    "po_number": "Purchase order",
    "buyer_reference": "Your reference",
    "corrects": "Corrects invoice",
    "corrects_value": "{number} dated {date}",
    "customer": "Customer",
    "vat_id": "VAT ID",
    "tax_id": "Tax ID",
    "legal_id": "Registration no.",
    "email": "Email",
    "col_pos": "#",
    "col_description": "Description",
    "col_quantity": "Quantity",
    "col_unit_price": "Unit price",
    "col_discount": "Discount",
    "col_tax": "VAT",
    "col_net": "Net amount",
    "sku": "Item no.",
    "line_period": "Period",
    "tax_breakdown": "VAT breakdown",
    "col_category": "Category",
    "col_rate": "Rate",
    "col_taxable": "Taxable amount",
    "col_tax_amount": "VAT amount",
    "total_net": "Total net",
    "total_tax": "Total VAT",
    "total_gross": "Total",
    "prepaid": "Paid in advance",
    "notes": "Notes",
    "payment": "Payment",
    "payment_terms": "Payment terms",
    "account_name": "Account holder",
    "bank": "Bank",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Reference to quote",
    "pay_by": "Please pay {amount} by {date}.",
    "early_discount": "{percent} early payment discount if paid by {date}.",
    "tax_currency_total": "VAT total in {currency}",
    "exchange_rate": "Exchange rate",
    "page": "Page {page} of {pages}",
}

_DE: Final[dict[str, str]] = {
    "title.invoice": "Rechnung",
    "title.credit_note": "Rechnungskorrektur",
    "title.debit_note": "Nachberechnung",
    "number.invoice": "Rechnungsnummer",
    "number.credit_note": "Korrekturnummer",
    "number.debit_note": "Nachberechnungsnummer",
    "amount_due.invoice": "Zahlbetrag",
    "amount_due.credit_note": "Gutschriftsbetrag",
    "amount_due.debit_note": "Zahlbetrag",
    "issue_date": "Rechnungsdatum",
    "supply_date": "Leistungsdatum",
    "service_period": "Leistungszeitraum",
    "due_date": "Fällig am",
    "po_number": "Bestellnummer",
    "buyer_reference": "Ihre Referenz",
    "corrects": "Korrektur zur Rechnung",
    "corrects_value": "{number} vom {date}",
    "customer": "Kunde",
    "vat_id": "USt-IdNr.",
    "tax_id": "Steuernummer",
    "legal_id": "Registernummer",
    "email": "E-Mail",
    "col_pos": "Pos.",
    "col_description": "Beschreibung",
    "col_quantity": "Menge",
    "col_unit_price": "Einzelpreis",
    "col_discount": "Rabatt",
    "col_tax": "USt.",
    "col_net": "Nettobetrag",
    "sku": "Art.-Nr.",
    "line_period": "Zeitraum",
    "tax_breakdown": "Umsatzsteuer",
    "col_category": "Kategorie",
    "col_rate": "Satz",
    "col_taxable": "Nettobetrag",
    "col_tax_amount": "Steuerbetrag",
    "total_net": "Summe netto",
    "total_tax": "Umsatzsteuer",
    "total_gross": "Gesamtbetrag",
    "prepaid": "Bereits gezahlt",
    "notes": "Hinweise",
    "payment": "Zahlung",
    "payment_terms": "Zahlungsbedingungen",
    "account_name": "Kontoinhaber",
    "bank": "Bank",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Verwendungszweck",
    "pay_by": "Bitte überweisen Sie {amount} bis zum {date}.",
    "early_discount": "{percent} Skonto bei Zahlung bis zum {date}.",
    "tax_currency_total": "Umsatzsteuer in {currency}",
    "exchange_rate": "Wechselkurs",
    "page": "Seite {page} von {pages}",
}

_FR: Final[dict[str, str]] = {
    "title.invoice": "Facture",
    "title.credit_note": "Avoir",
    "title.debit_note": "Note de débit",
    "number.invoice": "Numéro de facture",
    "number.credit_note": "Numéro d'avoir",
    "number.debit_note": "Numéro de note de débit",
    "amount_due.invoice": "Net à payer",
    "amount_due.credit_note": "Montant de l'avoir",
    "amount_due.debit_note": "Net à payer",
    "issue_date": "Date d'émission",
    "supply_date": "Date de livraison",
    "service_period": "Période de prestation",
    "due_date": "Date d'échéance",
    "po_number": "Bon de commande",
    "buyer_reference": "Votre référence",
    "corrects": "Facture rectifiée",
    "corrects_value": "{number} du {date}",
    "customer": "Client",
    "vat_id": "N° TVA intracom.",
    "tax_id": "Identifiant fiscal",
    "legal_id": "N° d'immatriculation",
    "email": "E-mail",
    "col_pos": "N°",
    "col_description": "Désignation",
    "col_quantity": "Quantité",
    "col_unit_price": "Prix unitaire HT",
    "col_discount": "Remise",
    "col_tax": "TVA",
    "col_net": "Montant HT",
    "sku": "Réf.",
    "line_period": "Période",
    "tax_breakdown": "Récapitulatif TVA",
    "col_category": "Catégorie",
    "col_rate": "Taux",
    "col_taxable": "Base HT",
    "col_tax_amount": "Montant TVA",
    "total_net": "Total HT",
    "total_tax": "Total TVA",
    "total_gross": "Total TTC",
    "prepaid": "Acompte versé",
    "notes": "Mentions",
    "payment": "Règlement",
    "payment_terms": "Conditions de paiement",
    "account_name": "Titulaire du compte",
    "bank": "Banque",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Référence à rappeler",
    "pay_by": "Merci de régler {amount} au plus tard le {date}.",
    "early_discount": "Escompte de {percent} pour paiement avant le {date}.",
    "tax_currency_total": "Total TVA en {currency}",
    "exchange_rate": "Taux de change",
    "page": "Page {page} sur {pages}",
}

_ES: Final[dict[str, str]] = {
    "title.invoice": "Factura",
    "title.credit_note": "Factura rectificativa",
    "title.debit_note": "Nota de cargo",
    "number.invoice": "Número de factura",
    "number.credit_note": "Número de factura rectificativa",
    "number.debit_note": "Número de nota de cargo",
    "amount_due.invoice": "Importe a pagar",
    "amount_due.credit_note": "Importe a abonar",
    "amount_due.debit_note": "Importe a pagar",
    "issue_date": "Fecha de expedición",
    "supply_date": "Fecha de operación",
    "service_period": "Periodo de prestación",
    "due_date": "Fecha de vencimiento",
    "po_number": "N.º de pedido",
    "buyer_reference": "Su referencia",
    "corrects": "Factura rectificada",
    "corrects_value": "{number} de fecha {date}",
    "customer": "Cliente",
    "vat_id": "NIF-IVA",
    "tax_id": "NIF",
    "legal_id": "N.º de registro",
    "email": "Correo electrónico",
    "col_pos": "N.º",
    "col_description": "Descripción",
    "col_quantity": "Cantidad",
    "col_unit_price": "Precio unitario",
    "col_discount": "Descuento",
    "col_tax": "IVA",
    "col_net": "Importe neto",
    "sku": "Ref.",
    "line_period": "Periodo",
    "tax_breakdown": "Desglose del IVA",
    "col_category": "Categoría",
    "col_rate": "Tipo",
    "col_taxable": "Base imponible",
    "col_tax_amount": "Cuota de IVA",
    "total_net": "Base imponible",
    "total_tax": "Total IVA",
    "total_gross": "Total factura",
    "prepaid": "Anticipos",
    "notes": "Observaciones",
    "payment": "Pago",
    "payment_terms": "Condiciones de pago",
    "account_name": "Titular de la cuenta",
    "bank": "Banco",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Concepto a indicar",
    "pay_by": "Le rogamos abone {amount} antes del {date}.",
    "early_discount": "Descuento por pronto pago del {percent} si se abona antes del {date}.",
    "tax_currency_total": "Total IVA en {currency}",
    "exchange_rate": "Tipo de cambio",
    "page": "Página {page} de {pages}",
}

_NL: Final[dict[str, str]] = {
    "title.invoice": "Factuur",
    "title.credit_note": "Creditnota",
    "title.debit_note": "Debetnota",
    "number.invoice": "Factuurnummer",
    "number.credit_note": "Creditnotanummer",
    "number.debit_note": "Debetnotanummer",
    "amount_due.invoice": "Te betalen",
    "amount_due.credit_note": "Te crediteren",
    "amount_due.debit_note": "Te betalen",
    "issue_date": "Factuurdatum",
    "supply_date": "Leveringsdatum",
    "service_period": "Prestatieperiode",
    "due_date": "Vervaldatum",
    "po_number": "Inkoopordernummer",
    "buyer_reference": "Uw referentie",
    "corrects": "Correctie op factuur",
    "corrects_value": "{number} van {date}",
    "customer": "Klant",
    "vat_id": "Btw-nummer",
    "tax_id": "Fiscaal nummer",
    "legal_id": "Handelsregisternummer",
    "email": "E-mail",
    "col_pos": "Nr.",
    "col_description": "Omschrijving",
    "col_quantity": "Aantal",
    "col_unit_price": "Prijs per eenheid",
    "col_discount": "Korting",
    "col_tax": "Btw",
    "col_net": "Bedrag excl. btw",
    "sku": "Art.nr.",
    "line_period": "Periode",
    "tax_breakdown": "Btw-specificatie",
    "col_category": "Categorie",
    "col_rate": "Tarief",
    "col_taxable": "Grondslag",
    "col_tax_amount": "Btw-bedrag",
    "total_net": "Totaal excl. btw",
    "total_tax": "Btw",
    "total_gross": "Totaal incl. btw",
    "prepaid": "Reeds betaald",
    "notes": "Opmerkingen",
    "payment": "Betaling",
    "payment_terms": "Betalingsvoorwaarden",
    "account_name": "Rekeninghouder",
    "bank": "Bank",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Betalingskenmerk",
    "pay_by": "Graag {amount} uiterlijk {date} overmaken.",
    "early_discount": "{percent} betalingskorting bij betaling uiterlijk {date}.",
    "tax_currency_total": "Btw in {currency}",
    "exchange_rate": "Wisselkoers",
    "page": "Pagina {page} van {pages}",
}

LABELS: Final[dict[str, dict[str, str]]] = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES, "nl": _NL}

# Sellers without a VAT ID (a US seller charging sales tax, a small business exempt from VAT)
# print "tax" where the others print "VAT".
NON_VAT_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "col_tax": "Tax",
        "tax_breakdown": "Tax breakdown",
        "col_tax_amount": "Tax amount",
        "total_tax": "Total tax",
        "tax_currency_total": "Tax total in {currency}",
    },
    "de": {
        "col_tax": "Steuer",
        "tax_breakdown": "Steuer",
        "col_tax_amount": "Steuerbetrag",
        "total_tax": "Steuer",
        "tax_currency_total": "Steuer in {currency}",
    },
    "fr": {
        "col_tax": "Taxe",
        "tax_breakdown": "Récapitulatif des taxes",
        "col_tax_amount": "Montant de la taxe",
        "total_tax": "Total taxes",
        "tax_currency_total": "Total taxes en {currency}",
    },
    "es": {
        "col_tax": "Impuesto",
        "tax_breakdown": "Desglose de impuestos",
        "col_tax_amount": "Cuota",
        "total_tax": "Total impuestos",
        "tax_currency_total": "Total impuestos en {currency}",
    },
    "nl": {
        "col_tax": "Belasting",
        "tax_breakdown": "Belastingspecificatie",
        "col_tax_amount": "Belastingbedrag",
        "total_tax": "Belasting",
        "tax_currency_total": "Belasting in {currency}",
    },
}

TAX_CATEGORY_NAMES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "S": "Taxable",
        "Z": "Zero rated",
        "E": "Exempt",
        "AE": "Reverse charge",
        "K": "Intra-community supply",
        "G": "Export outside the EU",
        "O": "Outside the scope of VAT",
        "L": "Canary Islands IGIC",
        "M": "IPSI Ceuta and Melilla",
    },
    "de": {
        "S": "Steuerpflichtig",
        "Z": "Nullsatz",
        "E": "Steuerbefreit",
        "AE": "Steuerschuldnerschaft des Leistungsempfängers",
        "K": "Innergemeinschaftliche Lieferung",
        "G": "Ausfuhrlieferung",
        "O": "Nicht steuerbar",
        "L": "IGIC Kanarische Inseln",
        "M": "IPSI Ceuta und Melilla",
    },
    "fr": {
        "S": "Taxable",
        "Z": "Taux zéro",
        "E": "Exonéré",
        "AE": "Autoliquidation",
        "K": "Livraison intracommunautaire",
        "G": "Exportation hors UE",
        "O": "Hors champ d'application de la TVA",
        "L": "IGIC îles Canaries",
        "M": "IPSI Ceuta et Melilla",
    },
    "es": {
        "S": "Operación sujeta",
        "Z": "Tipo cero",
        "E": "Exento",
        "AE": "Inversión del sujeto pasivo",
        "K": "Entrega intracomunitaria",
        "G": "Exportación",
        "O": "No sujeto",
        "L": "IGIC Canarias",
        "M": "IPSI Ceuta y Melilla",
    },
    "nl": {
        "S": "Belast",
        "Z": "Nultarief",
        "E": "Vrijgesteld",
        "AE": "Btw verlegd",
        "K": "Intracommunautaire levering",
        "G": "Uitvoer buiten de EU",
        "O": "Niet onderworpen aan btw",
        "L": "IGIC Canarische Eilanden",
        "M": "IPSI Ceuta en Melilla",
    },
}

# Written as a symbol in every language.
UNIT_SYMBOLS: Final[dict[str, str]] = {
    "KGM": "kg",
    "GRM": "g",
    "TNE": "t",
    "MTR": "m",
    "KMT": "km",
    "CMT": "cm",
    "LTR": "l",
    "MTK": "m²",
    "MTQ": "m³",
    "KWH": "kWh",
    "MWH": "MWh",
    "2P": "KB",
    "4L": "MB",
    "E34": "GB",
    "E35": "TB",
}

UNIT_NAMES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "en": {
        "C62": ("pc", "pcs"),
        "H87": ("pc", "pcs"),
        "EA": ("each", "each"),
        "SEC": ("second", "seconds"),
        "MIN": ("minute", "minutes"),
        "HUR": ("hour", "hours"),
        "DAY": ("day", "days"),
        "WEE": ("week", "weeks"),
        "MON": ("month", "months"),
        "QAN": ("quarter", "quarters"),
        "ANN": ("year", "years"),
        "LS": ("lump sum", "lump sums"),
        "SET": ("set", "sets"),
    },
    "de": {
        "C62": ("Stk.", "Stk."),
        "H87": ("Stk.", "Stk."),
        "EA": ("Stk.", "Stk."),
        "SEC": ("Sekunde", "Sekunden"),
        "MIN": ("Minute", "Minuten"),
        "HUR": ("Stunde", "Stunden"),
        "DAY": ("Tag", "Tage"),
        "WEE": ("Woche", "Wochen"),
        "MON": ("Monat", "Monate"),
        "QAN": ("Quartal", "Quartale"),
        "ANN": ("Jahr", "Jahre"),
        "LS": ("pauschal", "pauschal"),
        "SET": ("Satz", "Sätze"),
    },
    "fr": {
        "C62": ("pièce", "pièces"),
        "H87": ("pièce", "pièces"),
        "EA": ("unité", "unités"),
        "SEC": ("seconde", "secondes"),
        "MIN": ("minute", "minutes"),
        "HUR": ("heure", "heures"),
        "DAY": ("jour", "jours"),
        "WEE": ("semaine", "semaines"),
        "MON": ("mois", "mois"),
        "QAN": ("trimestre", "trimestres"),
        "ANN": ("an", "ans"),
        "LS": ("forfait", "forfaits"),
        "SET": ("lot", "lots"),
    },
    "es": {
        "C62": ("ud.", "uds."),
        "H87": ("ud.", "uds."),
        "EA": ("ud.", "uds."),
        "SEC": ("segundo", "segundos"),
        "MIN": ("minuto", "minutos"),
        "HUR": ("hora", "horas"),
        "DAY": ("día", "días"),
        "WEE": ("semana", "semanas"),
        "MON": ("mes", "meses"),
        "QAN": ("trimestre", "trimestres"),
        "ANN": ("año", "años"),
        "LS": ("tanto alzado", "tanto alzado"),
        "SET": ("juego", "juegos"),
    },
    "nl": {
        "C62": ("st.", "st."),
        "H87": ("st.", "st."),
        "EA": ("st.", "st."),
        "SEC": ("seconde", "seconden"),
        "MIN": ("minuut", "minuten"),
        "HUR": ("uur", "uur"),
        "DAY": ("dag", "dagen"),
        "WEE": ("week", "weken"),
        "MON": ("maand", "maanden"),
        "QAN": ("kwartaal", "kwartalen"),
        "ANN": ("jaar", "jaar"),
        "LS": ("forfait", "forfait"),
        "SET": ("set", "sets"),
    },
}

DateFormat = Literal["short", "medium", "long", "full"]


def resolve_locale(language: str | None) -> Locale:
    """The Babel locale for a document language tag (``de``, ``de-AT``, ``fr_BE``).

    The language part must be one Billfold has labels for, else the result is English; an
    unknown region is dropped (``de-US`` gives ``de``).
    """
    tag = (language or "").strip().replace("-", "_")
    base = tag.split("_", 1)[0].lower()
    if base not in LABELS:
        return Locale.parse(DEFAULT_LANGUAGE)
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(base)


def plain_number(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent: 2.500 -> 2.5, 10.00 -> 10."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@dataclass(frozen=True, slots=True)
class Localizer:
    """Labels and Babel formats for one document language.

    ``vat`` chooses between the VAT wording (the default) and the generic "tax" wording.
    """

    locale: Locale
    vat: bool = True

    @classmethod
    def for_language(cls, language: str | None, *, vat: bool = True) -> Localizer:
        return cls(resolve_locale(language), vat)

    @property
    def language(self) -> str:
        """The two-letter language whose labels are used (``de`` for ``de_AT``)."""
        return str(self.locale.language)

    @property
    def tag(self) -> str:
        """A BCP 47 tag for the HTML ``lang`` attribute, e.g. ``de-AT``."""
        return str(self.locale).replace("_", "-")

    def label(self, key: str, **values: str) -> str:
        """The label ``key`` in this language, with ``{placeholders}`` filled from ``values``."""
        text = self.labels()[key]
        return text.format(**values) if values else text

    def labels(self) -> dict[str, str]:
        """Every label in this language (a fresh dict, safe to hand to a template)."""
        merged = dict(LABELS[self.language])
        if not self.vat:
            merged.update(NON_VAT_LABELS[self.language])
        return merged

    def tax_category(self, code: str) -> str:
        """The name of an EN 16931 VAT category code; the code itself when unknown."""
        return TAX_CATEGORY_NAMES[self.language].get(code, code)

    def unit(self, code: str, quantity: Decimal) -> str:
        """A readable name for a UN/ECE Rec. 20 unit code, in the plural form ``quantity`` needs.

        Unknown codes are returned as they are, so nothing is hidden from the reader.
        """
        if code in UNIT_SYMBOLS:
            return UNIT_SYMBOLS[code]
        names = UNIT_NAMES[self.language].get(code)
        if names is None:
            return code
        singular, plural = names
        return singular if self.locale.plural_form(plain_number(quantity)) == "one" else plural

    def quantity(self, value: Decimal, unit_code: str) -> str:
        """A quantity and its unit, without trailing zeros: ``2,5 Stunden``, ``1 month``."""
        number = format_decimal(plain_number(value), locale=self.locale, decimal_quantization=False)
        return f"{number}\u00a0{self.unit(unit_code, value)}"

    def number(self, value: Decimal) -> str:
        """A plain number as written exactly, with the locale's separators."""
        return str(format_decimal(value, locale=self.locale, decimal_quantization=False))

    def money(self, amount: Decimal, currency: str) -> str:
        """An amount with its currency, in the locale's pattern: ``1.234,56 €``, ``€1,234.56``.

        Amounts with more decimals than the currency (a unit price of 0.0125 EUR) keep them;
        trailing zeros beyond the currency's decimals are dropped.
        """
        return str(
            format_currency(amount, currency, locale=self.locale, decimal_quantization=False)
        )

    def percent(self, rate: Decimal) -> str:
        """A rate given in percent (19, 5.5) written the locale's way: ``19 %``, ``5.5%``."""
        return str(
            format_percent(plain_number(rate) / 100, locale=self.locale, decimal_quantization=False)
        )

    def date(self, value: dt.date, fmt: DateFormat = "long") -> str:
        """A date in the locale: ``25. November 2026``, ``November 25, 2026``.

        Its spaces are no-break spaces, so a line never ends in the middle of a date.
        """
        return str(format_date(value, format=fmt, locale=self.locale)).replace(" ", "\u00a0")

    def period(self, start: dt.date | None, end: dt.date | None, fmt: DateFormat = "long") -> str:
        """A service period ``start – end``; an open end shows only the known date."""
        parts = [self.date(d, fmt) for d in (start, end) if d is not None]
        return " – ".join(parts)

    def country(self, code: str) -> str:
        """The country's name in this language (``FR`` -> ``Frankreich``), else the code."""
        return str(self.locale.territories.get(code.upper(), code))
