"""Statements of account: ``Statement`` -> PDF (localized, like the invoice) or CSV.

A statement shows, per currency the customer deals in, the balance at the start of the period,
every movement of the period (invoices, debit and credit notes, payments, discounts, write-offs,
refunds ...) with a running balance, the balance at the end, the aging of what is open at the
end, and where to pay. ``billfold.reports.statement.statement_data`` gathers it from the ledger.

Rendering is a pure function of the ``Statement`` (and a logo), in the customer's language:
the PDF reuses the invoice's letterhead, stylesheet and formats (``billfold.documents.pdf``,
``billfold.documents.i18n``); the words only a statement needs are in ``STATEMENT_LABELS`` (every
language holds the same keys). The CSV is for machines: ISO dates, plain decimals, English type
codes (``opening_balance``, ``invoice``, ``payment`` ... ``closing_balance``, ``aging``,
``pay_to``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Final

import jinja2
from markupsafe import Markup
from weasyprint import HTML  # type: ignore[import-untyped, unused-ignore]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped, unused-ignore]

from billfold.documents.i18n import Localizer
from billfold.documents.pdf import (
    STYLESHEET_NAME,
    TEMPLATE_PACKAGE,
    PartyView,
    Row,
    _address,
    _page_parts,
    _party,
    format_iban,
    logo_data_uri,
)
from billfold.domain.documents import Party, PaymentInstructions
from billfold.money import Money

TEMPLATE_NAME: Final = "statement.html.j2"
EXTRA_STYLESHEET: Final = "statement.css"

KINDS: Final = (
    "invoice",
    "debit_note",
    "credit_note",
    "payment",
    "payment_on_account",
    "discount",
    "write_off",
    "recovery",
    "refund",
    "opening",
    "reversal",
    "adjustment",
)


# -- the statement ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement on the account, in the section's currency: debit (the customer owes more)
    positive, credit negative; ``balance`` is the running balance after it.

    ``kind`` is one of ``KINDS``; ``reference`` the document (or the bank reference of a
    payment); ``applies_to`` the invoice it relates to; ``reversed`` marks an undone payment or
    a voided document.
    """

    day: date
    kind: str
    reference: str
    applies_to: str | None
    due_date: date | None
    amount: Decimal
    balance: Decimal
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class StatementSection:
    """The account in one currency: opening, movements, closing, aging at the end, bank."""

    currency: str
    opening: Decimal
    lines: tuple[StatementLine, ...]
    closing: Decimal
    aging_labels: tuple[str, ...]  # as ``billfold.reports.aging.bucket_labels`` gives them
    aging: tuple[Decimal, ...]
    payment: PaymentInstructions | None

    @property
    def debits(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.amount > 0), Decimal(0))

    @property
    def credits(self) -> Decimal:
        return -sum((ln.amount for ln in self.lines if ln.amount < 0), Decimal(0))


@dataclass(frozen=True, slots=True)
class Statement:
    """A customer's statement of account with one legal entity for ``start`` to ``end``."""

    entity: str
    seller: Party
    customer: str
    buyer: Party
    language: str
    start: date
    end: date
    sections: tuple[StatementSection, ...]


# -- words ----------------------------------------------------------------------------------------
STATEMENT_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Statement of account",
        "customer_number": "Customer number",
        "period": "Period",
        "statement_date": "Statement date",
        "section": "Account in {currency}",
        "col_date": "Date",
        "col_text": "Transaction",
        "col_reference": "Reference",
        "col_due": "Due date",
        "col_debit": "Debit",
        "col_credit": "Credit",
        "col_balance": "Balance",
        "opening_balance": "Opening balance on {date}",
        "closing_balance": "Closing balance on {date}",
        "total_debits": "Total debits",
        "total_credits": "Total credits",
        "balance_due": "Balance due",
        "balance_credit": "Credit balance in your favour",
        "no_movements": "No transactions in this period.",
        "aging": "Open items by age on {date}",
        "aging_current": "Not yet due",
        "aging_range": "{lo}–{hi} days overdue",
        "aging_over": "More than {days} days overdue",
        "remittance": "Payment instructions",
        "remit_text": "Please pay the balance due to the account below, quoting your customer "
        "number {number}.",
        "reversed": "{text} (reversed)",
        "kind.invoice": "Invoice",
        "kind.debit_note": "Debit note",
        "kind.credit_note": "Credit note",
        "kind.payment": "Payment",
        "kind.payment_on_account": "Payment on account",
        "kind.discount": "Early payment discount",
        "kind.write_off": "Written off",
        "kind.recovery": "Reinstated",
        "kind.refund": "Refund",
        "kind.opening": "Balance carried over",
        "kind.reversal": "Reversal",
        "kind.adjustment": "Adjustment",
    },
    "de": {
        "title": "Kontoauszug",
        "customer_number": "Kundennummer",
        "period": "Zeitraum",
        "statement_date": "Stichtag",
        "section": "Konto in {currency}",
        "col_date": "Datum",
        "col_text": "Vorgang",
        "col_reference": "Referenz",
        "col_due": "Fällig am",
        "col_debit": "Soll",
        "col_credit": "Haben",
        "col_balance": "Saldo",
        "opening_balance": "Anfangssaldo am {date}",
        "closing_balance": "Endsaldo am {date}",
        "total_debits": "Summe Soll",
        "total_credits": "Summe Haben",
        "balance_due": "Offener Saldo",
        "balance_credit": "Guthaben zu Ihren Gunsten",
        "no_movements": "Keine Buchungen in diesem Zeitraum.",
        "aging": "Offene Posten nach Fälligkeit am {date}",
        "aging_current": "Noch nicht fällig",
        "aging_range": "{lo}–{hi} Tage überfällig",
        "aging_over": "Mehr als {days} Tage überfällig",
        "remittance": "Zahlungsinformationen",
        "remit_text": "Bitte überweisen Sie den offenen Saldo auf das unten genannte Konto und "
        "geben Sie Ihre Kundennummer {number} an.",
        "reversed": "{text} (storniert)",
        "kind.invoice": "Rechnung",
        "kind.debit_note": "Nachberechnung",
        "kind.credit_note": "Rechnungskorrektur",
        "kind.payment": "Zahlung",
        "kind.payment_on_account": "Zahlung ohne Zuordnung",
        "kind.discount": "Skonto",
        "kind.write_off": "Ausgebucht",
        "kind.recovery": "Wiedereingebucht",
        "kind.refund": "Erstattung",
        "kind.opening": "Saldovortrag",
        "kind.reversal": "Storno",
        "kind.adjustment": "Korrektur",
    },
    "fr": {
        "title": "Relevé de compte",
        "customer_number": "Numéro client",
        "period": "Période",
        "statement_date": "Date du relevé",
        "section": "Compte en {currency}",
        "col_date": "Date",
        "col_text": "Opération",
        "col_reference": "Référence",
        "col_due": "Échéance",
        "col_debit": "Débit",
        "col_credit": "Crédit",
        "col_balance": "Solde",
        "opening_balance": "Solde d'ouverture au {date}",
        "closing_balance": "Solde de clôture au {date}",
        "total_debits": "Total débit",
        "total_credits": "Total crédit",
        "balance_due": "Solde dû",
        "balance_credit": "Solde créditeur en votre faveur",
        "no_movements": "Aucune opération sur la période.",
        "aging": "Échéancier des postes ouverts au {date}",
        "aging_current": "Non échu",
        "aging_range": "{lo}–{hi} jours de retard",
        "aging_over": "Plus de {days} jours de retard",
        "remittance": "Instructions de paiement",
        "remit_text": "Merci de régler le solde dû sur le compte ci-dessous en rappelant votre "
        "numéro client {number}.",
        "reversed": "{text} (annulé)",
        "kind.invoice": "Facture",
        "kind.debit_note": "Note de débit",
        "kind.credit_note": "Avoir",
        "kind.payment": "Paiement",
        "kind.payment_on_account": "Paiement non affecté",
        "kind.discount": "Escompte",
        "kind.write_off": "Passé en perte",
        "kind.recovery": "Réintégré",
        "kind.refund": "Remboursement",
        "kind.opening": "Report de solde",
        "kind.reversal": "Annulation",
        "kind.adjustment": "Ajustement",
    },
    "es": {
        "title": "Extracto de cuenta",
        "customer_number": "Número de cliente",
        "period": "Periodo",
        "statement_date": "Fecha del extracto",
        "section": "Cuenta en {currency}",
        "col_date": "Fecha",
        "col_text": "Operación",
        "col_reference": "Referencia",
        "col_due": "Vencimiento",
        "col_debit": "Cargo",
        "col_credit": "Abono",
        "col_balance": "Saldo",
        "opening_balance": "Saldo inicial a {date}",
        "closing_balance": "Saldo final a {date}",
        "total_debits": "Total cargos",
        "total_credits": "Total abonos",
        "balance_due": "Saldo pendiente",
        "balance_credit": "Saldo a su favor",
        "no_movements": "Sin movimientos en este periodo.",
        "aging": "Antigüedad de las partidas abiertas a {date}",
        "aging_current": "No vencido",
        "aging_range": "{lo}–{hi} días vencido",
        "aging_over": "Más de {days} días vencido",
        "remittance": "Instrucciones de pago",
        "remit_text": "Le rogamos abone el saldo pendiente en la cuenta indicada, citando su "
        "número de cliente {number}.",
        "reversed": "{text} (anulado)",
        "kind.invoice": "Factura",
        "kind.debit_note": "Nota de cargo",
        "kind.credit_note": "Factura rectificativa",
        "kind.payment": "Pago",
        "kind.payment_on_account": "Pago a cuenta",
        "kind.discount": "Descuento por pronto pago",
        "kind.write_off": "Cancelado como incobrable",
        "kind.recovery": "Reincorporado",
        "kind.refund": "Reembolso",
        "kind.opening": "Saldo traspasado",
        "kind.reversal": "Anulación",
        "kind.adjustment": "Ajuste",
    },
    "nl": {
        "title": "Rekeningoverzicht",
        "customer_number": "Klantnummer",
        "period": "Periode",
        "statement_date": "Datum overzicht",
        "section": "Rekening in {currency}",
        "col_date": "Datum",
        "col_text": "Omschrijving",
        "col_reference": "Referentie",
        "col_due": "Vervaldatum",
        "col_debit": "Debet",
        "col_credit": "Credit",
        "col_balance": "Saldo",
        "opening_balance": "Beginsaldo per {date}",
        "closing_balance": "Eindsaldo per {date}",
        "total_debits": "Totaal debet",
        "total_credits": "Totaal credit",
        "balance_due": "Openstaand saldo",
        "balance_credit": "Tegoed in uw voordeel",
        "no_movements": "Geen boekingen in deze periode.",
        "aging": "Openstaande posten naar ouderdom per {date}",
        "aging_current": "Nog niet vervallen",
        "aging_range": "{lo}–{hi} dagen vervallen",
        "aging_over": "Meer dan {days} dagen vervallen",
        "remittance": "Betalingsinstructies",
        "remit_text": "Graag het openstaande saldo overmaken naar onderstaande rekening onder "
        "vermelding van uw klantnummer {number}.",
        "reversed": "{text} (tegengeboekt)",
        "kind.invoice": "Factuur",
        "kind.debit_note": "Debetnota",
        "kind.credit_note": "Creditnota",
        "kind.payment": "Betaling",
        "kind.payment_on_account": "Betaling op rekening",
        "kind.discount": "Betalingskorting",
        "kind.write_off": "Afgeboekt",
        "kind.recovery": "Heropgenomen",
        "kind.refund": "Terugbetaling",
        "kind.opening": "Overgenomen saldo",
        "kind.reversal": "Tegenboeking",
        "kind.adjustment": "Correctie",
    },
}


# -- the view the template fills in ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineView:
    """One movement as printed."""

    date: str
    text: str
    reference: str
    due: str
    debit: str
    credit: str
    balance: str


@dataclass(frozen=True, slots=True)
class SectionView:
    """One currency's account as printed."""

    title: str
    opening: Row
    lines: list[LineView]
    empty: str | None
    closing: Row
    totals: list[Row]
    balance: Row
    aging_title: str
    aging: list[Row]
    remit_texts: list[str]
    bank: list[Row]


@dataclass(frozen=True, slots=True)
class StatementView:
    """Everything the template prints, as strings in the customer's language."""

    lang: str
    t: dict[str, str]
    title: str
    seller: PartyView
    buyer: PartyView
    sender_line: str
    meta: list[Row]
    sections: list[SectionView]
    footer_columns: list[list[str]]
    page_parts: list[tuple[str, str]]
    logo: str | None
    css: Markup


# -- public API --------------------------------------------------------------------------------
def render_statement_html(statement: Statement, logo: bytes | None = None) -> str:
    """The statement as one self-contained HTML page."""
    view = build_statement_view(statement, logo)
    return _environment().get_template(TEMPLATE_NAME).render(v=view)


def render_statement_pdf(statement: Statement, *, logo: bytes | None = None) -> bytes:
    """The statement as an A4 PDF (WeasyPrint may fetch nothing but ``data:`` URLs)."""
    html = HTML(
        string=render_statement_html(statement, logo),
        url_fetcher=URLFetcher(allowed_protocols=("data",)),
    )
    pdf: bytes = html.write_pdf()
    return pdf


CSV_COLUMNS: Final = (
    "customer",
    "entity",
    "currency",
    "date",
    "type",
    "reference",
    "applies_to",
    "due_date",
    "debit",
    "credit",
    "balance",
)


def statement_csv(statement: Statement) -> bytes:
    """Per currency: the opening balance, every movement with its running balance, the
    closing balance, the aging buckets at the end and the bank account to pay into."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    head = [statement.customer, statement.entity]
    for s in statement.sections:
        zero = Money.zero(s.currency).amount
        w.writerow(
            [*head, s.currency, statement.start, "opening_balance", "", "", "", "", "", s.opening]
        )
        for ln in s.lines:
            debit = ln.amount if ln.amount > 0 else zero
            credit = -ln.amount if ln.amount < 0 else zero
            kind = f"{ln.kind}_reversed" if ln.reversed else ln.kind
            w.writerow(
                [
                    *head,
                    s.currency,
                    ln.day,
                    kind,
                    ln.reference,
                    ln.applies_to or "",
                    ln.due_date or "",
                    debit,
                    credit,
                    ln.balance,
                ]
            )
        w.writerow(
            [*head, s.currency, statement.end, "closing_balance", "", "", "", "", "", s.closing]
        )
        for label, amount in zip(s.aging_labels, s.aging, strict=True):
            w.writerow([*head, s.currency, statement.end, "aging", label, "", "", "", "", amount])
        if s.payment is not None:
            pay = s.payment
            w.writerow(
                [*head, s.currency, "", "pay_to", pay.iban or "", pay.bic or "", "", "", "", ""]
            )
    return buf.getvalue().encode("utf-8")


# -- building the view -------------------------------------------------------------------------
def statement_labels(loc: Localizer) -> dict[str, str]:
    """The invoice's labels merged with the statement's, in the localizer's language."""
    return {**loc.labels(), **STATEMENT_LABELS[loc.language]}


def aging_label(label: str, t: dict[str, str]) -> str:
    """``current``, ``1-30``, ``91+`` (the aging's bucket labels) in words."""
    if label == "current":
        return t["aging_current"]
    if label.endswith("+"):
        return t["aging_over"].format(days=int(label[:-1]) - 1)
    lo, hi = label.split("-")
    return t["aging_range"].format(lo=lo, hi=hi)


def build_statement_view(statement: Statement, logo: bytes | None = None) -> StatementView:
    """Format every field of ``statement`` for printing, in the customer's language."""
    loc = Localizer.for_language(statement.language, vat=statement.seller.vat_id is not None)
    t = statement_labels(loc)
    seller = statement.seller
    meta = [
        Row(t["customer_number"], statement.customer),
        Row(t["period"], loc.period(statement.start, statement.end)),
        Row(t["statement_date"], loc.date(statement.end)),
    ]
    return StatementView(
        lang=loc.tag,
        t=t,
        title=t["title"],
        seller=_party(seller, loc),
        buyer=_party(statement.buyer, loc),
        sender_line=" · ".join([seller.name, *_address(seller, loc, with_country=False)]),
        meta=meta,
        sections=[_section(statement, s, loc, t) for s in statement.sections],
        footer_columns=_footer(statement, loc),
        page_parts=_page_parts(t["page"]),
        logo=logo_data_uri(logo) if logo else None,
        css=_stylesheet(),
    )


def _section(
    statement: Statement, s: StatementSection, loc: Localizer, t: dict[str, str]
) -> SectionView:
    cur = s.currency

    def money(value: Decimal) -> str:
        return loc.money(value, cur)

    lines = []
    for ln in s.lines:
        text = t[f"kind.{ln.kind}"]
        if ln.reversed:
            text = t["reversed"].format(text=text)
        reference = ln.reference
        if ln.applies_to and ln.applies_to != ln.reference:
            reference = f"{reference} → {ln.applies_to}" if reference else ln.applies_to
        lines.append(
            LineView(
                date=loc.date(ln.day, "medium"),
                text=text,
                reference=reference,
                due=loc.date(ln.due_date, "medium") if ln.due_date else "",
                debit=money(ln.amount) if ln.amount > 0 else "",
                credit=money(-ln.amount) if ln.amount < 0 else "",
                balance=money(ln.balance),
            )
        )
    balance_label = t["balance_credit"] if s.closing < 0 else t["balance_due"]
    remit = [t["remit_text"].format(number=statement.customer)] if s.closing > 0 else []
    return SectionView(
        title=t["section"].format(currency=cur),
        opening=Row(t["opening_balance"].format(date=loc.date(statement.start)), money(s.opening)),
        lines=lines,
        empty=None if lines else t["no_movements"],
        closing=Row(t["closing_balance"].format(date=loc.date(statement.end)), money(s.closing)),
        totals=[Row(t["total_debits"], money(s.debits)), Row(t["total_credits"], money(s.credits))],
        balance=Row(balance_label, money(abs(s.closing))),
        aging_title=t["aging"].format(date=loc.date(statement.end)),
        aging=[
            Row(aging_label(label, t), money(amount))
            for label, amount in zip(s.aging_labels, s.aging, strict=True)
        ],
        remit_texts=remit,
        bank=_bank(s.payment, t),
    )


def _bank(pay: PaymentInstructions | None, t: dict[str, str]) -> list[Row]:
    if pay is None:
        return []
    rows = [
        Row(t["account_name"], pay.account_name) if pay.account_name else None,
        Row(t["bank"], pay.bank_name) if pay.bank_name else None,
        Row(t["iban"], format_iban(pay.iban)) if pay.iban else None,
        Row(t["bic"], pay.bic) if pay.bic else None,
        Row(t["payment_reference"], pay.reference) if pay.reference else None,
    ]
    return [row for row in rows if row is not None]


def _footer(statement: Statement, loc: Localizer) -> list[list[str]]:
    """The seller's details at the foot of every page, as on its invoices."""
    seller = statement.seller
    columns = [[seller.name, *_address(seller, loc)]]
    ids = [f"{row.label}: {row.value}" for row in _party(seller, loc).ids]
    if seller.email:
        ids.append(f"{loc.label('email')}: {seller.email}")
    columns.append(ids)
    pay = next((s.payment for s in statement.sections if s.payment is not None), None)
    if pay is not None:
        bank = [pay.bank_name or ""]
        if pay.iban:
            bank.append(f"IBAN {format_iban(pay.iban)}")
        if pay.bic:
            bank.append(f"BIC {pay.bic}")
        columns.append([text for text in bank if text])
    return [column for column in columns if column]


@cache
def _stylesheet() -> Markup:
    """The invoice's stylesheet and the statement's additions, inlined."""
    folder = files(TEMPLATE_PACKAGE) / "templates"
    css = (folder / STYLESHEET_NAME).read_text("utf-8") + "\n"
    return Markup(css + (folder / EXTRA_STYLESHEET).read_text("utf-8"))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
