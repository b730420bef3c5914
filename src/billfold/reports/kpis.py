"""Receivables KPIs per legal entity, in its functional currency: DSO, CEI, rates, rollforward.

Every figure is one entity's, in that entity's functional currency; entities are never summed.
The definitions (the README states them too, and the tests check them on hand-computed data):

* **Days past due** = as-of date minus due date; **current** = not yet past due (an item due on
  the as-of date is current). Current AR comes from the aging's own open items
  (``billfold.reports.aging``), so the KPIs and the aging can never disagree.
* **Functional-currency amounts** of an open item use the invoice-date rate: the functional side
  of its AR postings, which payments and credits relieve at that same rate.
* **AR** at a date = the balance of the GL AR control account at the end of that day.
  **Opening AR** of a period = AR at the end of the day before it starts.
* **Credit sales** of a period = invoices and debit notes issued in it, tax included, before
  credit memos, at the invoice-date rate. Voided documents and open items carried over from a
  previous system (``origin = 'import'``) are not sales. Early-payment discounts taken count as
  credits (see the rollforward), never as a reduction of sales.
* **DSO standard** = closing AR / credit sales of the period x days in the period.
* **DSO countback** walks back month by month from the period end: while closing AR lasts, it
  subtracts each month's credit sales and adds that month's days (the period end's month counts
  the days up to the period end); the remainder then counts as a fraction of the next month's
  sales times its days. It is 0 when closing AR is not positive, and ``None`` when the credit
  sales of the last ``COUNTBACK_MONTHS`` months do not use AR up.
* **Best possible DSO** = current AR / credit sales x days; **average days delinquent** (ADD) =
  DSO standard - best possible DSO.
* **CEI** = (opening AR + credit sales - closing AR) / (opening AR + credit sales - closing
  current AR) x 100.
* **Invoice dispute rate** = invoices issued in the period with at least one dispute / invoices
  issued in the period. **Invoice accuracy rate** = invoices issued in the period that were
  never credited (no issued credit note with ``corrects_id`` pointing at them) and never
  rebilled (no debit note correcting them, no dispute resolved by ``rebill``) / invoices issued.
  Both count documents of type ``invoice`` that are issued (not voided) and not imported.
* **Rollforward**: opening + invoiced - collected - credited - written off + other = closing,
  each component being the AR control postings of the period classified by what posted them
  (see ``rollforward``). The closing balance is read from the GL separately and compared.

Rounding: DSO, best possible DSO and ADD in days with 1 decimal; CEI and the rates in percent
with 1 decimal; all ROUND_HALF_UP from exact Decimal quotients. ADD is the difference of the
rounded DSO and best possible DSO, so the printed figures add up. A figure whose denominator is
zero is ``None`` (printed "n/a").
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, exists, extract, func, literal_column, or_, select

from billfold.errors import InvalidInput
from billfold.money import Money
from billfold.reports.aging import open_items_as_of
from billfold.services import lookups
from billfold.services.ledger import gl_control_balance
from billfold.services.lookups import EntityRow
from billfold.store.tables import cash_applications, disputes, invoices, journal_entries, postings

SALES_DOCUMENTS = ("invoice", "debit_note")
COUNTBACK_MONTHS = 24
DAYS_PLACES = Decimal("0.1")
PERCENT_PLACES = Decimal("0.1")


# --- periods and entities --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A range of days, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(f"period {self.start} to {self.end}: the end is before the start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """``2026-11`` for a whole calendar month, else ``2026-11-01..2026-11-15``."""
        if self.start.day == 1 and self.end == month_end(self.start):
            return f"{self.start:%Y-%m}"
        return f"{self.start}..{self.end}"

    @classmethod
    def month(cls, text: str, today: date | None = None) -> Period:
        """The calendar month ``YYYY-MM``; the current month ends at ``today`` (month to date),
        a month after ``today`` is refused."""
        try:
            year, month = (int(p) for p in text.strip().split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise InvalidInput(f"period {text!r} is not a month in the form YYYY-MM") from None
        last = month_end(first)
        if today is not None:
            if first > today:
                raise InvalidInput(f"period {text} is in the future (today is {today})")
            last = min(last, today)
        return cls(first, last)


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def month_start(day: date, months_back: int = 0) -> date:
    """The first day of the month ``months_back`` months before the month of ``day``."""
    year, month = divmod(day.year * 12 + day.month - 1 - months_back, 12)
    return date(year, month + 1, 1)


def report_entities(conn: Connection, entity: str | None) -> list[EntityRow]:
    """The legal entity named, or every one: figures are per entity, never summed across."""
    if entity:
        return [lookups.entity(conn, entity.strip().upper())]
    return lookups.all_entities(conn)


def _entity(conn: Connection, entity: str | EntityRow) -> EntityRow:
    return entity if isinstance(entity, EntityRow) else lookups.entity(conn, entity.upper())


def _money(minor: Any, currency: str) -> Decimal:
    return Money.from_minor(int(minor or 0), currency).amount


# --- the building blocks ---------------------------------------------------------------------


def _sales_filter(entity_id: int, start: date, end: date) -> Any:
    return and_(
        invoices.c.entity_id == entity_id,
        invoices.c.doc_type.in_(SALES_DOCUMENTS),
        invoices.c.status == "issued",
        invoices.c.origin != "import",
        invoices.c.issue_date >= start,
        invoices.c.issue_date <= end,
    )


def credit_sales(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Money:
    """Invoices and debit notes issued from ``start`` to ``end``, tax included, before credit
    memos, in functional currency at the invoice-date rate."""
    ent = _entity(conn, entity)
    total = conn.execute(
        select(func.coalesce(func.sum(invoices.c.functional_total_minor), 0)).where(
            _sales_filter(ent.id, start, end)
        )
    ).scalar_one()
    return Money.from_minor(int(total), ent.functional_currency)


def monthly_credit_sales(
    conn: Connection, entity: str | EntityRow, start: date, end: date
) -> dict[tuple[int, int], Decimal]:
    """Credit sales per calendar month (year, month) from ``start`` to ``end``, one query."""
    ent = _entity(conn, entity)
    year, month = extract("year", invoices.c.issue_date), extract("month", invoices.c.issue_date)
    q = (
        select(year, month, func.sum(invoices.c.functional_total_minor))
        .where(_sales_filter(ent.id, start, end))
        .group_by(year, month)
    )
    return {
        (int(y), int(m)): _money(total, ent.functional_currency) for y, m, total in conn.execute(q)
    }


def ar_balance(conn: Connection, entity: str | EntityRow, day: date) -> Money:
    """The GL AR control balance at the end of ``day``, in functional currency."""
    ent = _entity(conn, entity)
    found = gl_control_balance(conn, day, ent.code).get(ent.code)
    return found if found is not None else Money.zero(ent.functional_currency)


def current_ar(conn: Connection, entity: str | EntityRow, day: date) -> Money:
    """AR not yet past due at the end of ``day`` (due on ``day`` or later), in functional
    currency at the invoice-date rate: the aging's open items and its due-date rule (items
    without an invoice date from their first posting), summed in SQL."""
    ent = _entity(conn, entity)
    items = open_items_as_of(conn, day, ent.id)
    due = func.coalesce(items.c.due_date, items.c.first_date)
    total = conn.execute(
        select(func.coalesce(func.sum(items.c.fopen), 0)).where(due >= day)
    ).scalar_one()
    return Money.from_minor(int(total), ent.functional_currency)


# --- the arithmetic (pure) -------------------------------------------------------------------


def _days(value: Decimal) -> Decimal:
    return value.quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)


def _percent(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def days_of_sales(ar: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """``ar / sales x days`` rounded to 0.1 day; ``None`` without sales."""
    if sales == 0:
        return None
    return _days(ar / sales * days)


def countback_days(ar: Decimal, months: Sequence[tuple[Decimal, int]]) -> Decimal | None:
    """The countback DSO: ``months`` are (credit sales, days) from the period end backwards."""
    if ar <= 0:
        return _days(Decimal(0))
    left, total = ar, Decimal(0)
    for sales, days in months:
        if sales > 0 and left <= sales:
            return _days(total + left / sales * days)
        left -= max(sales, Decimal(0))
        total += days
    return None


def days_delinquent(dso: Decimal | None, best: Decimal | None) -> Decimal | None:
    """Average days delinquent: DSO minus best possible DSO (both already rounded)."""
    if dso is None or best is None:
        return None
    return dso - best


def collection_effectiveness(
    opening: Decimal, sales: Decimal, closing: Decimal, closing_current: Decimal
) -> Decimal | None:
    """CEI in percent, 1 decimal; ``None`` when the denominator is zero."""
    denominator = opening + sales - closing_current
    if denominator == 0:
        return None
    return _percent((opening + sales - closing) / denominator * 100)


# --- DSO, best possible DSO, ADD, CEI ---------------------------------------------------------


def _inputs(
    conn: Connection, entity: str | EntityRow, start: date, end: date
) -> tuple[EntityRow, Decimal, Decimal, int]:
    """The entity, its closing AR, its credit sales and the days of the period."""
    ent = _entity(conn, entity)
    sales = credit_sales(conn, ent, start, end).amount
    return ent, ar_balance(conn, ent, end).amount, sales, Period(start, end).days


def dso_standard(
    conn: Connection, entity: str | EntityRow, start: date, end: date
) -> Decimal | None:
    """Closing AR / credit sales x days in the period (0.1 day)."""
    _, closing, sales, days = _inputs(conn, entity, start, end)
    return days_of_sales(closing, sales, days)


def _countback_series(
    sales: dict[tuple[int, int], Decimal], end: date
) -> list[tuple[Decimal, int]]:
    """(credit sales, days) per month from the month of ``end`` backwards; that month counts
    its days up to ``end``."""
    months = [month_start(end, n) for n in range(COUNTBACK_MONTHS)]
    return [
        (sales.get((m.year, m.month), Decimal(0)), end.day if n == 0 else month_end(m).day)
        for n, m in enumerate(months)
    ]


def _countback_months(conn: Connection, ent: EntityRow, end: date) -> list[tuple[Decimal, int]]:
    start = month_start(end, COUNTBACK_MONTHS - 1)
    return _countback_series(monthly_credit_sales(conn, ent, start, end), end)


def dso_countback(conn: Connection, entity: str | EntityRow, end: date) -> Decimal | None:
    """The countback DSO at ``end`` (0.1 day), over at most ``COUNTBACK_MONTHS`` months."""
    ent = _entity(conn, entity)
    return countback_days(ar_balance(conn, ent, end).amount, _countback_months(conn, ent, end))


def best_possible_dso(
    conn: Connection, entity: str | EntityRow, start: date, end: date
) -> Decimal | None:
    """Current AR at the period end / credit sales x days (0.1 day)."""
    ent, _, sales, days = _inputs(conn, entity, start, end)
    return days_of_sales(current_ar(conn, ent, end).amount, sales, days)


def add(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Decimal | None:
    """Average days delinquent: DSO standard - best possible DSO (0.1 day)."""
    ent, closing, sales, days = _inputs(conn, entity, start, end)
    best = days_of_sales(current_ar(conn, ent, end).amount, sales, days)
    return days_delinquent(days_of_sales(closing, sales, days), best)


def cei(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Decimal | None:
    """Collection effectiveness index in percent (0.1)."""
    ent, closing, sales, _ = _inputs(conn, entity, start, end)
    opening = ar_balance(conn, ent, start - timedelta(days=1)).amount
    return collection_effectiveness(opening, sales, closing, current_ar(conn, ent, end).amount)


# --- dispute and accuracy rates --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``total`` documents, and the share in percent (0.1; ``None`` if none)."""

    count: int
    total: int

    @property
    def percent(self) -> Decimal | None:
        if self.total == 0:
            return None
        return _percent(Decimal(self.count) / self.total * 100)


def _rate(conn: Connection, entity: str | EntityRow, start: date, end: date, flag: Any) -> Rate:
    """How many invoices of the period (issued, not voided, not imported) ``flag`` holds for."""
    ent = _entity(conn, entity)
    total, count = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((flag, 1), else_=0)), 0)).where(
            invoices.c.entity_id == ent.id,
            invoices.c.doc_type == "invoice",
            invoices.c.status == "issued",
            invoices.c.origin != "import",
            invoices.c.issue_date >= start,
            invoices.c.issue_date <= end,
        )
    ).one()
    return Rate(int(count), int(total))


def dispute_rate(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Rate:
    """Invoices issued in the period with at least one dispute, of all invoices issued."""
    return _rate(conn, entity, start, end, exists().where(disputes.c.invoice_id == invoices.c.id))


def accuracy_rate(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Rate:
    """Invoices issued in the period never credited nor rebilled, of all invoices issued."""
    correction = invoices.alias("correction")
    corrected = exists().where(
        correction.c.corrects_id == invoices.c.id,
        correction.c.doc_type.in_(("credit_note", "debit_note")),
        correction.c.status == "issued",
    )
    rebilled = exists().where(
        disputes.c.invoice_id == invoices.c.id, disputes.c.resolution == "rebill"
    )
    return _rate(conn, entity, start, end, ~or_(corrected, rebilled))


# --- rollforward -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rollforward:
    """AR from ``start`` to ``end`` of one entity, functional currency.

    ``invoiced``: invoices and debit notes (voids, which reverse them, count negative);
    ``collected``: cash applied to invoices or kept on account, less refunds paid out of credit
    balances; ``credited``: credit notes and early-payment discounts taken; ``written_off``:
    write-off entries and short-payment write-offs at application, less recoveries
    (``recovered`` shows how much was reinstated); ``other``: opening balances carried over,
    manual entries, revaluations and anything else, signed as it moves AR. ``closing`` is read
    from the GL on its own; ``difference`` must be zero.
    """

    entity: str
    currency: str
    start: date
    end: date
    opening: Decimal
    invoiced: Decimal
    collected: Decimal
    credited: Decimal
    written_off: Decimal
    other: Decimal
    closing: Decimal
    recovered: Decimal

    @property
    def computed_closing(self) -> Decimal:
        """opening + invoiced - collected - credited - written off + other"""
        return self.opening + sum((amount for _, amount in self.steps()), Decimal(0))

    @property
    def difference(self) -> Decimal:
        return self.computed_closing - self.closing

    @property
    def balanced(self) -> bool:
        return self.difference == 0

    def steps(self) -> list[tuple[str, Decimal]]:
        """The movements as signed amounts, in the order of the identity (for charts)."""
        return [
            ("invoiced", self.invoiced),
            ("collected", -self.collected),
            ("credited", -self.credited),
            ("written off", -self.written_off),
            ("other", self.other),
        ]


def _text(value: str) -> Any:
    return literal_column(f"'{value}'")


def _posting_categories(ent_id: int, ar_id: int, start: date, end: date) -> Any:
    """AR postings of the period with a category from their entry's source (reversals take
    the category of what they reverse); entries with cash applications are 'applications'."""
    je, original = journal_entries, journal_entries.alias("original")
    source = case(
        (je.c.source_type == "reversal", func.coalesce(original.c.source_type, "other")),
        else_=je.c.source_type,
    )
    category = case(
        (exists().where(cash_applications.c.entry_id == je.c.id), _text("applications")),
        (source.in_(SALES_DOCUMENTS), _text("invoiced")),
        (source == "credit_note", _text("credited")),
        (source == "write_off", _text("written_off")),
        (source == "recovery", _text("recovered")),
        (source.in_(("cash_application", "refund")), _text("collected")),
        else_=_text("other"),
    )
    return (
        select(category.label("category"), postings.c.functional_minor.label("amount"))
        .select_from(postings)
        .join(je, je.c.id == postings.c.entry_id)
        .outerjoin(original, original.c.id == je.c.reverses_id)
        .where(
            postings.c.account_id == ar_id,
            postings.c.entity_id == ent_id,
            postings.c.entry_date >= start,
            postings.c.entry_date <= end,
        )
        .subquery("ar_moves")
    )


def _application_categories(ent_id: int, start: date, end: date) -> Any:
    """What each cash application of the period did to AR (functional), by category."""
    ca = cash_applications
    effect = case(
        (ca.c.kind.in_(("invoice", "on_account", "discount", "write_off")), -ca.c.functional_minor),
        (and_(ca.c.kind == "refund", ca.c.item_ref.isnot(None)), ca.c.functional_minor),
        else_=0,
    )
    category = case(
        (ca.c.kind.in_(("invoice", "on_account", "refund")), _text("collected")),
        (ca.c.kind == "discount", _text("credited")),
        (ca.c.kind == "write_off", _text("written_off")),
        else_=_text("other"),
    )
    return (
        select(category.label("category"), effect.label("amount"))
        .select_from(ca)
        .join(journal_entries, journal_entries.c.id == ca.c.entry_id)
        .where(
            journal_entries.c.entity_id == ent_id,
            journal_entries.c.entry_date >= start,
            journal_entries.c.entry_date <= end,
        )
        .subquery("application_moves")
    )


def _sum_by_category(conn: Connection, moves: Any) -> dict[str, int]:
    q = select(moves.c.category, func.sum(moves.c.amount)).group_by(moves.c.category)
    return {str(cat): int(total or 0) for cat, total in conn.execute(q)}


def rollforward(conn: Connection, entity: str | EntityRow, start: date, end: date) -> Rollforward:
    """Opening + invoiced - collected - credited - written off + other = closing, from the AR
    control postings of the period (two grouped queries) and two GL balances."""
    ent = _entity(conn, entity)
    Period(start, end)  # refuses an end before the start
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    moves = _sum_by_category(conn, _posting_categories(ent.id, ar_id, start, end))
    apps = _sum_by_category(conn, _application_categories(ent.id, start, end))
    # what entries with applications moved on AR, beyond what their application rows explain
    unexplained = moves.pop("applications", 0) - sum(apps.values())
    cur = ent.functional_currency

    def part(name: str) -> int:
        return moves.get(name, 0) + apps.get(name, 0)

    return Rollforward(
        ent.code,
        cur,
        start,
        end,
        ar_balance(conn, ent, start - timedelta(days=1)).amount,
        invoiced=_money(part("invoiced"), cur),
        collected=_money(-part("collected"), cur),
        credited=_money(-part("credited"), cur),
        written_off=_money(-(part("written_off") + part("recovered")), cur),
        other=_money(part("other") + unexplained, cur),
        closing=ar_balance(conn, ent, end).amount,
        recovered=_money(part("recovered"), cur),
    )


# --- the period summary and the trend --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiSummary:
    """Every KPI of one entity for one period (functional currency; see the module doc)."""

    entity: str
    currency: str
    start: date
    end: date
    days: int
    opening_ar: Decimal
    closing_ar: Decimal
    current_ar: Decimal
    credit_sales: Decimal
    dso_standard: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    cei: Decimal | None
    dispute_rate: Rate
    accuracy_rate: Rate

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)


def kpi_summary(conn: Connection, entity: str | EntityRow, period: Period) -> KpiSummary:
    """All KPIs of ``period``, each input read once."""
    ent = _entity(conn, entity)
    start, end = period.start, period.end
    opening = ar_balance(conn, ent, start - timedelta(days=1)).amount
    closing = ar_balance(conn, ent, end).amount
    current = current_ar(conn, ent, end).amount
    sales = credit_sales(conn, ent, start, end).amount
    dso = days_of_sales(closing, sales, period.days)
    best = days_of_sales(current, sales, period.days)
    return KpiSummary(
        *(ent.code, ent.functional_currency, start, end, period.days),
        *(opening, closing, current, sales),
        dso,
        countback_days(closing, _countback_months(conn, ent, end)),
        best,
        days_delinquent(dso, best),
        collection_effectiveness(opening, sales, closing, current),
        dispute_rate(conn, ent, start, end),
        accuracy_rate(conn, ent, start, end),
    )


@dataclass(frozen=True, slots=True)
class DsoPoint:
    """One month of the DSO trend (functional currency)."""

    period: str
    start: date
    end: date
    closing_ar: Decimal
    current_ar: Decimal
    credit_sales: Decimal
    dso_standard: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None


def dso_trend(conn: Connection, entity: str | EntityRow, months: int, last: date) -> list[DsoPoint]:
    """DSO (standard, countback, best possible) for ``months`` calendar months ending with the
    month of ``last``; that month ends at ``last`` (month to date). Credit sales for the whole
    window come from one grouped query; AR from one GL and one aging query per month."""
    if not 1 <= months <= 60:
        raise InvalidInput(f"--months {months}: expected 1 to 60")
    ent = _entity(conn, entity)
    first = month_start(last, months - 1)
    sales = monthly_credit_sales(conn, ent, month_start(first, COUNTBACK_MONTHS - 1), last)
    points = []
    cursor = first
    while cursor <= last:
        end = min(month_end(cursor), last)
        closing = ar_balance(conn, ent, end).amount
        current = current_ar(conn, ent, end).amount
        month_sales = sales.get((cursor.year, cursor.month), Decimal(0))
        days = (end - cursor).days + 1
        dso = days_of_sales(closing, month_sales, days)
        best = days_of_sales(current, month_sales, days)
        points.append(
            DsoPoint(
                Period(cursor, end).label,
                *(cursor, end, closing, current, month_sales, dso),
                countback_days(closing, _countback_series(sales, end)),
                best,
                days_delinquent(dso, best),
            )
        )
        cursor = month_end(cursor) + timedelta(days=1)
    return points
