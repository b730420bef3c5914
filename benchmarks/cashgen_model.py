"""The cash-application benchmark's data model: our bank accounts, customers, invoices, receipts
with their ground truth, the world and the generator's configuration (see ``cashgen``)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billfold.domain.matching import Policy

ENTITY_EU = "ACME-DE"
ENTITY_US = "ACME-US"

MIX: dict[str, float] = {
    "clean": 0.55,
    "typo": 0.08,
    "missing_prefix": 0.08,
    "multi_invoice": 0.06,
    "partial_short": 0.05,
    "discount": 0.04,
    "bank_fee": 0.04,
    "payer_name": 0.04,
    "no_reference": 0.03,
    "foreign_currency": 0.02,
    "unmatchable": 0.01,
}
SCENARIOS = tuple(MIX)

EVAL_START = date(2026, 11, 2)  # a Monday; four weeks of business days
EVAL_DAYS = 20
HISTORY_START = date(2026, 7, 20)
LAST_ISSUE = date(2026, 11, 24)


# --- our bank accounts -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """A bank account of one of our legal entities and the file format its bank delivers."""

    key: str
    entity: str
    currency: str
    fmt: str  # camt053 (+ camt054), mt940, bai2 (+ nacha, x12_820), payout
    bank_name: str
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    routing_number: str | None = None

    @property
    def id(self) -> str:
        return self.iban or self.account_number or self.key


OWN_ACCOUNTS = (
    OwnAccount("DE-EUR-MAIN", ENTITY_EU, "EUR", "camt053", "Commerzbank",
               "DE89370400440532013000", "COBADEFFXXX"),
    OwnAccount("DE-EUR-SPK", ENTITY_EU, "EUR", "mt940", "Stadtsparkasse",
               "DE02120300000000202051", "BYLADEM1001"),
    OwnAccount("DE-GBP", ENTITY_EU, "GBP", "camt053", "Barclays", "GB33BUKB20201555555555",
               "BUKBGB22"),
    OwnAccount("DE-USD", ENTITY_EU, "USD", "camt053", "Societe Generale",
               "DE75512108001245126199", "SOGEDEFFXXX"),
    OwnAccount("US-USD", ENTITY_US, "USD", "bai2", "JPMorgan Chase",
               account_number="000123456789", routing_number="021000021"),
    OwnAccount("US-PAYOUTS", ENTITY_US, "USD", "payout", "Stripe", account_number="PAYOUTS"),
)  # fmt: skip
ACCOUNTS = {a.key: a for a in OWN_ACCOUNTS}

# channel -> our account it arrives on (foreign currency: the account of that currency)
CHANNEL_ACCOUNT = {
    "camt": "DE-EUR-MAIN",
    "mt940": "DE-EUR-SPK",
    "bai2_wire": "US-USD",
    "bai2_lockbox": "US-USD",
    "ccd_plus": "US-USD",
    "ctx": "US-USD",
    "ccd_820": "US-USD",
    "payout": "US-PAYOUTS",
}
EU_CHANNELS = (("camt", 0.62), ("mt940", 0.38))
US_CHANNELS = (
    ("bai2_wire", 0.15),
    ("bai2_lockbox", 0.20),
    ("ccd_plus", 0.25),
    ("ctx", 0.10),
    ("ccd_820", 0.10),
    ("payout", 0.20),
)
STRUCTURED_CHANNELS = frozenset({"ctx", "ccd_820"})  # the remittance is always an X12 820


# --- the world ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenCustomer:
    number: str
    name: str
    legal_form: str
    country: str
    entity: str
    currency: str
    terms: str
    language: str
    trade_name: str | None = None  # a name it also pays under
    alias_registered: bool = False  # the trade name is in the master data
    parent: str | None = None  # parent customer number
    ibans: tuple[str, ...] = ()  # accounts it pays from (EU); the first is the usual one
    ach: tuple[str, str] | None = None  # (routing, account) it pays from (US)
    company_id: str = ""  # NACHA company identification
    channel: str = "camt"
    late_payer: bool = False
    uses_po: bool = False

    @property
    def is_eu(self) -> bool:
        return self.entity == ENTITY_EU


@dataclass(frozen=True, slots=True)
class GenInvoice:
    entity: str
    number: str
    customer: str
    issue_date: date
    due_date: date
    currency: str
    amount_minor: int
    terms: str
    po_number: str | None
    origin: str  # issued (by Billfold) or carried_over (import-open)
    history: bool  # paid before the evaluation window (not open)
    paid_on: date | None = None  # history: when

    @property
    def key(self) -> tuple[str, str]:
        return (self.entity, self.number)

    @property
    def discount_date(self) -> date | None:
        return self.issue_date + timedelta(days=10) if self.terms.startswith("2/10") else None


@dataclass(frozen=True, slots=True)
class DocLine:
    """One document in a structured remittance (camt RfrdDocInf, X12 RMR, payout column)."""

    number: str
    paid_minor: int | None = None
    invoiced_minor: int | None = None
    discount_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Truth:
    """One allocation a receipt should produce; ``ref`` is the invoice number, or the customer
    number for ``on_account``."""

    kind: str
    ref: str
    amount_minor: int


@dataclass(slots=True)
class GenReceipt:
    """A payment as the payer sent it, as its channel delivers it, and what it should become."""

    key: int
    scenario: str
    variant: str
    payer_kind: str  # self, parent, second_account, alias, typo_name, ..., stranger
    entity: str
    account: str  # OwnAccount.key
    channel: str
    currency: str
    value_date: date
    paid_minor: int  # what the payer sent
    fee_minor: int = 0  # deducted on the way (bank, correspondent, card processor)
    fee_reported: bool = False  # the file says so (the receipt is then the gross)
    payer_name: str | None = None
    payer_account: str | None = None
    payer_bank: str | None = None
    end_to_end: str | None = None
    text: tuple[str, ...] = ()
    creditor_refs: tuple[str, ...] = ()
    doc_lines: tuple[DocLine, ...] = ()
    customer: str | None = None  # whose money it is
    truth: tuple[Truth, ...] = ()
    bank_ref: str = ""
    also_notified: bool = False  # in a camt.054 before the camt.053 (a duplicate to drop)
    history: bool = False

    @property
    def credited_minor(self) -> int:
        """What reaches our account."""
        return self.paid_minor - self.fee_minor

    @property
    def receipt_minor(self) -> int:
        """What the receipt is worth to the payer's account: the gross when the fee is known."""
        return self.paid_minor if self.fee_reported else self.credited_minor


@dataclass
class World:
    config: GenConfig
    customers: list[GenCustomer]
    invoices: list[GenInvoice]
    receipts: list[GenReceipt]  # the evaluation window, in value-date order
    history: list[GenReceipt]  # payments of the history invoices

    @property
    def open_invoices(self) -> list[GenInvoice]:
        return [i for i in self.invoices if not i.history]

    def by_reference(self) -> dict[str, GenReceipt]:
        return {r.bank_ref: r for r in (*self.receipts, *self.history)}

    def known_accounts(self) -> dict[str, str]:
        """Payer account -> customer, as learned from the history payments (the last wins)."""
        learned: dict[str, str] = {}
        for r in sorted(self.history, key=lambda r: (r.value_date, r.key)):
            if r.payer_account and r.customer:
                learned[r.payer_account] = r.customer
        return learned


@dataclass(frozen=True)
class GenConfig:
    n_customers: int = 2_000
    n_invoices: int = 10_000  # open at the start of the evaluation window
    n_receipts: int = 5_000
    seed: int = 20_261_102
    mix: tuple[tuple[str, float], ...] = tuple(MIX.items())
    tolerance_percent: Decimal = Policy().short_tolerance_percent
    tolerance_units: int = Policy().short_tolerance_units
    legacy_share: float = 0.06  # open items carried over from the previous system


def business_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    d = start
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


EVAL_DAYS_LIST = business_days(EVAL_START, EVAL_DAYS)


# --- generator state -------------------------------------------------------------------------


@dataclass
class GenState:
    rng: random.Random
    cfg: GenConfig
    customers: list[GenCustomer] = field(default_factory=list)
    by_number: dict[str, GenCustomer] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    invoices: list[GenInvoice] = field(default_factory=list)
    open_by_customer: dict[str, list[GenInvoice]] = field(default_factory=lambda: defaultdict(list))
    targeted: set[tuple[str, str]] = field(default_factory=set)
    pool: dict[str, list[GenInvoice]] = field(default_factory=dict)  # candidates by kind
    pool_dates: dict[str, list[date]] = field(default_factory=dict)
    next_key: int = 1


def next_key(st: GenState) -> int:
    st.next_key += 1
    return st.next_key - 1


def account_for(entity: str, currency: str, channel: str) -> str:
    if entity == ENTITY_EU:
        return {"GBP": "DE-GBP", "USD": "DE-USD"}.get(
            currency, CHANNEL_ACCOUNT.get(channel, "DE-EUR-MAIN")
        )
    return CHANNEL_ACCOUNT.get(channel, "US-USD")


def payer_account(rng: random.Random, c: GenCustomer, second_ok: bool = True) -> str | None:
    if not c.ibans:
        return None
    if second_ok and len(c.ibans) > 1 and rng.random() < 0.5:
        return c.ibans[1]
    return c.ibans[0]
