"""The billing model: contracts, what they charge, changes to them, and the lines they produce.

Every record is a frozen dataclass, so records are values: they can be hashed, compared and put
in sets. Conventions:

* money totals (a PO amount, a contract value, a milestone amount, a minimum commitment) are
  ``Money``; unit prices and rates are ``Decimal`` in the contract currency and may carry more
  decimals than the currency (``0.0015`` per API call). A line is rounded once, when its amount
  is built.
* dates are ``datetime.date`` and every range is inclusive at both ends;
* ids are strings chosen by the caller (database ids rendered as text are fine); they appear in
  exactly-once keys, so they must not change once something was billed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import ClassVar

from billfold.billing.errors import BillingError
from billfold.billing.rating import Pricing
from billfold.domain.invoice_calc import LineInput
from billfold.domain.tax import TaxComponent
from billfold.money import Currency, Money, Rounding

ZERO = Decimal(0)
ONE = Fraction(1)


class Frequency(StrEnum):
    """How often a charge is billed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Length of one period in months: 1, 3 or 12."""
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]


class Timing(StrEnum):
    """Advance: bill on the first day of the period. Arrears: bill the day after it ends."""

    ADVANCE = "advance"
    ARREARS = "arrears"


class Alignment(StrEnum):
    """Calendar: periods are calendar months, quarters or years. Anniversary: they start on the
    anchor day (by default the charge's first day)."""

    CALENDAR = "calendar"
    ANNIVERSARY = "anniversary"


@dataclass(frozen=True, slots=True)
class InvoiceGroup:
    """What lines must share to go on one invoice: seller entity, payer, currency, terms, PO
    and the contract's grouping key."""

    entity: str
    bill_to: str
    currency: str
    payment_terms: str | None
    po_number: str | None
    grouping_key: str | None


@dataclass(frozen=True, slots=True)
class Contract:
    """A customer's agreement with one legal entity, in one currency.

    ``end`` is the last day of the initial term (``None``: open-ended). With ``auto_renew`` the
    contract renews every ``renewal_term_months`` after ``end`` until it is told otherwise (the
    caller turns ``auto_renew`` off on notice of non-renewal); ``uplift_percent`` raises the
    recurring prices at each renewal. ``bill_to`` is the party invoiced (a parent company or a
    reseller), ``customer`` when not given. ``po_amount`` caps what may be billed under
    ``po_number``; ``value`` is the total contract value that percentage milestones refer to.
    ``rounding`` is the legal entity's rounding mode.
    """

    id: str
    customer: str
    entity: str
    currency: str
    start: date
    end: date | None = None
    number: str | None = None
    bill_to: str | None = None
    auto_renew: bool = False
    renewal_term_months: int = 12
    uplift_percent: Decimal | None = None
    po_number: str | None = None
    po_amount: Money | None = None
    payment_terms: str | None = None
    grouping_key: str | None = None
    value: Money | None = None
    rounding: Rounding = Rounding.HALF_UP

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", Currency.of(self.currency).code)
        where = f"contract {self.label}"
        if self.end is not None and self.end < self.start:
            raise BillingError(f"{where}: ends {self.end} before it starts {self.start}")
        if self.auto_renew and self.end is None:
            raise BillingError(f"{where}: auto-renewal needs an end date for the first term")
        if self.renewal_term_months < 1:
            raise BillingError(f"{where}: the renewal term must be at least one month")
        if self.uplift_percent is not None and self.uplift_percent <= -100:
            raise BillingError(f"{where}: an uplift of {self.uplift_percent} % is impossible")
        for name, amount in (("PO amount", self.po_amount), ("contract value", self.value)):
            if amount is not None and amount.currency != self.currency:
                raise BillingError(f"{where}: {name} {amount} is not in {self.currency}")
            if amount is not None and amount.amount < 0:
                raise BillingError(f"{where}: {name} {amount} must not be negative")

    @property
    def label(self) -> str:
        """How messages name the contract: its number, else its id."""
        return self.number or self.id

    @property
    def payer(self) -> str:
        """The party invoiced: ``bill_to`` or the customer."""
        return self.bill_to or self.customer

    @property
    def invoice_group(self) -> InvoiceGroup:
        """The invoice this contract's lines go on."""
        return InvoiceGroup(
            self.entity,
            self.payer,
            self.currency,
            self.payment_terms,
            self.po_number,
            self.grouping_key,
        )


@dataclass(frozen=True, slots=True)
class Terms:
    """Quantity and unit price of a recurring charge at some point in time."""

    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class RecurringCharge:
    """A fixed fee billed every period: ``quantity x unit_price`` per full period.

    ``start``/``end`` default to the contract's (an open ``end`` follows the contract's
    renewals). ``anchor`` is the day anniversary periods are counted from (default: ``start``;
    give the contract start to co-term a charge added later). With ``prorate`` (the default)
    partial periods are billed by day; without it they are billed in full and mid-period
    changes take effect from the next period.
    """

    id: str
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    frequency: Frequency = Frequency.MONTHLY
    timing: Timing = Timing.ADVANCE
    alignment: Alignment = Alignment.CALENDAR
    start: date | None = None
    end: date | None = None
    anchor: date | None = None
    prorate: bool = True

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise BillingError(f"charge '{self.id}': quantity must be positive")
        if self.start and self.end and self.end < self.start:
            raise BillingError(f"charge '{self.id}': ends {self.end} before it starts")

    @property
    def terms(self) -> Terms:
        """The terms the charge starts with."""
        return Terms(self.quantity, self.unit_price)


@dataclass(frozen=True, slots=True)
class OneTimeCharge:
    """A fee billed once on ``bill_date``: ``amount``, or ``quantity x unit_price``."""

    id: str
    sku: str
    description: str
    bill_date: date
    amount: Money | None = None
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.unit_price is None):
            raise BillingError(f"charge '{self.id}': give an amount or a unit price, not both")
        if self.amount is not None and self.quantity != 1:
            raise BillingError(f"charge '{self.id}': an amount is for a quantity of 1")


@dataclass(frozen=True, slots=True)
class Milestone:
    """A fee billable once, when the milestone is complete (``completed_on`` is set).

    The fee is ``amount``, or ``percent`` of the contract's ``value``.
    """

    id: str
    sku: str
    description: str
    amount: Money | None = None
    percent: Decimal | None = None
    completed_on: date | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.percent is None):
            raise BillingError(f"milestone '{self.id}': give an amount or a percent, not both")
        if self.percent is not None and not (0 < self.percent <= 100):
            raise BillingError(f"milestone '{self.id}': percent must be above 0 and up to 100")


@dataclass(frozen=True, slots=True)
class UsageCharge:
    """Metered usage of ``meter``, rated per period with ``pricing``, always billed in arrears.

    ``included`` units per period are free; ``minimum`` is the minimum commitment per full
    period (prorated by day for a partial period, like a fee).
    """

    id: str
    sku: str
    description: str
    meter: str
    pricing: Pricing
    included: Decimal = ZERO
    minimum: Money | None = None
    frequency: Frequency = Frequency.MONTHLY
    alignment: Alignment = Alignment.CALENDAR
    start: date | None = None
    end: date | None = None
    anchor: date | None = None
    unit_code: str = "C62"

    timing: ClassVar[Timing] = Timing.ARREARS
    prorate: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class TimeAndMaterials:
    """Approved timesheet hours times the rate of the worker's role, billed in arrears.

    ``rate_card`` maps a role ("engineer") to its hourly rate; it is frozen on construction.
    """

    id: str
    sku: str
    description: str
    rate_card: Mapping[str, Decimal] = field(hash=False)
    frequency: Frequency = Frequency.MONTHLY
    alignment: Alignment = Alignment.CALENDAR
    start: date | None = None
    end: date | None = None
    anchor: date | None = None

    timing: ClassVar[Timing] = Timing.ARREARS
    prorate: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_card", MappingProxyType(dict(self.rate_card)))
        if not self.rate_card:
            raise BillingError(f"charge '{self.id}': the rate card is empty")


@dataclass(frozen=True, slots=True)
class TimesheetEntry:
    """Hours one person worked in one role on one day for a time-and-materials charge.

    Only ``approved`` entries are billed; an entry is billed exactly once, even when it is
    approved after its period was invoiced (it then goes on the next invoice).
    """

    id: str
    charge_id: str
    role: str
    day: date
    hours: Decimal
    person: str | None = None
    approved: bool = True


Charge = RecurringCharge | OneTimeCharge | UsageCharge | TimeAndMaterials
PeriodicCharge = RecurringCharge | UsageCharge | TimeAndMaterials


@dataclass(frozen=True, slots=True)
class ChargeChange:
    """New terms for a charge from ``effective`` on (the first day they apply).

    Give a new ``quantity`` and/or ``unit_price``, or ``cancel``: then ``effective`` is the
    first day *no longer* served (the service ends the day before). Quantity and price changes
    apply to recurring charges; usage and time-and-materials charges can only be cancelled.
    """

    charge_id: str
    effective: date
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    cancel: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        what = f"change of charge '{self.charge_id}' on {self.effective}"
        if self.cancel and (self.quantity is not None or self.unit_price is not None):
            raise BillingError(f"{what}: a cancellation takes no new quantity or price")
        if not self.cancel and self.quantity is None and self.unit_price is None:
            raise BillingError(f"{what}: give a new quantity, a new unit price, or cancel")
        if self.quantity is not None and self.quantity <= 0:
            raise BillingError(f"{what}: the new quantity must be positive (or cancel)")

    def apply(self, terms: Terms) -> Terms | None:
        """The terms after this change (``None`` once cancelled)."""
        if self.cancel:
            return None
        return Terms(
            terms.quantity if self.quantity is None else self.quantity,
            terms.unit_price if self.unit_price is None else self.unit_price,
        )


@dataclass(frozen=True, slots=True)
class BillableLine:
    """One line the billing engine says is due; the service turns it into an invoice line.

    ``key`` identifies the line. ``covers`` lists every exactly-once key the line consumes (for
    most lines just ``key``; for time and materials, one key per timesheet entry): the caller
    records all of them as billed, and passes them back as ``already_billed_keys``.
    ``quantity`` x ``unit_price`` x ``proration`` is the exact amount; ``amount`` is that,
    rounded once to the currency (negative for a credit, whose quantity is negative).
    ``source`` is ``charge``, ``usage:<meter>``, ``timesheets`` or ``milestone``.
    ``billed_in_advance`` lines are posted to deferred revenue and recognised over
    ``service_start``..``service_end``. ``bill_date`` is the first day the line may be billed.
    """

    key: str
    covers: tuple[str, ...]
    contract_id: str
    charge_id: str
    source: str
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    proration: Fraction
    amount: Money
    service_start: date
    service_end: date
    bill_date: date
    billed_in_advance: bool
    group: InvoiceGroup
    unit_code: str = "C62"

    def to_line_input(
        self, components: tuple[TaxComponent, ...], revenue_account: str = "4000"
    ) -> LineInput:
        """The invoice line, whose amount is this line's ``amount``.

        Unprorated lines keep their quantity and unit price (the invoice rounds
        ``quantity x unit_price`` once, as the engine did, given the same rounding mode);
        prorated ones become 1 x the amount (-1 x for a credit) with the proration spelled
        out in the note, e.g. ``10 x 99.00 x 22/31``."""
        if self.proration == ONE:
            qty, price, note = self.quantity, self.unit_price, None
        else:
            qty = Decimal(-1) if self.amount.amount < 0 else Decimal(1)
            price = abs(self.amount.amount)
            note = (
                f"{_num(abs(self.quantity))} x {_price(self.unit_price)} x "
                f"{self.proration.numerator}/{self.proration.denominator}"
            )
        return LineInput(
            description=self.description,
            quantity=qty,
            unit_price=price,
            components=components,
            unit_code=self.unit_code if note is None else "C62",
            sku=self.sku,
            revenue_account=revenue_account,
            period_start=self.service_start,
            period_end=self.service_end,
            note=note,
        )


def _price(value: Decimal) -> str:
    """A price as given: 0.10 stays 0.10."""
    return f"{value:f}"


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def money_of(exact: Fraction, currency: str, rounding: Rounding) -> Money:
    """Round an exact rational amount to the currency's minor unit, once, with ``rounding``.

    Integer arithmetic throughout, so 1/3 of a cent is decided exactly, never by a float.
    """
    return _round_ratio(exact.numerator, exact.denominator, currency, rounding)


def _round_ratio(numerator: int, denominator: int, currency: str, rounding: Rounding) -> Money:
    """``numerator / denominator`` (denominator > 0) rounded to the minor unit."""
    cur = Currency.of(currency)
    scaled = numerator * 10**cur.exponent
    floor, rest = divmod(scaled, denominator)  # rest in [0, denominator)
    twice = 2 * rest
    if twice > denominator:
        floor += 1
    elif twice == denominator:
        # half-up rounds away from zero; half-even goes to the even neighbour
        up = scaled > 0 if rounding is Rounding.HALF_UP else floor % 2 == 1
        floor += 1 if up else 0
    return Money.from_minor(floor, cur.code)


def prorated(terms: Terms, factor: Fraction, currency: str, rounding: Rounding) -> Money:
    """``quantity x unit_price x factor``, exact, rounded once."""
    qn, qd = terms.quantity.as_integer_ratio()
    pn, pd = terms.unit_price.as_integer_ratio()
    return _round_ratio(
        qn * pn * factor.numerator, qd * pd * factor.denominator, currency, rounding
    )
