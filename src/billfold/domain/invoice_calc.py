"""Invoice arithmetic: line nets, discounts, tax per line and per rate, totals; credit notes.

One explicit rounding policy, chosen per legal entity:

* ``line``: each line's tax is rounded on its own; the breakdown per rate is the sum of lines;
* ``total``: the tax of each rate is rounded once on the sum of its lines, then spread back over
  the lines by the largest-remainder method (so every line still carries its share, and the
  shares add up exactly to the rate's tax).

Prices may be tax-exclusive (net) or tax-inclusive (gross); with inclusive prices the tax is
taken out of the gross (``gross x rate / (100 + rate)``) and the net is what remains, so the
customer pays exactly the gross they were quoted.

Credit notes reuse the arithmetic of the invoice they credit: the tax credited on a line is the
invoice line's tax in proportion to the net credited, never more than what is left, and the last
credit takes exactly what is left. A full credit therefore nets the invoice to exactly zero, and
partial credits never add up to more than the invoice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from billfold.domain.tax import TaxComponent
from billfold.errors import InvalidInput
from billfold.money import Currency, Money, Rounding

HUNDRED = Decimal(100)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    components: tuple[TaxComponent, ...]
    unit_code: str = "C62"
    sku: str | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    revenue_account: str = "4000"
    deferred: bool = False  # billed in advance: revenue is deferred over the service period
    period_start: date | None = None
    period_end: date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LineTax:
    component: TaxComponent
    amount: Money


@dataclass(frozen=True, slots=True)
class ComputedLine:
    line_no: int
    input: LineInput
    discount: Money  # line discount plus its share of an invoice-level discount
    net: Money
    taxes: tuple[LineTax, ...]

    @property
    def tax(self) -> Money:
        total = Money.zero(self.net.currency)
        for t in self.taxes:
            total = total + t.amount
        return total


@dataclass(frozen=True, slots=True)
class TaxGroup:
    component: TaxComponent
    taxable: Money
    tax: Money


@dataclass(frozen=True, slots=True)
class ComputedInvoice:
    currency: str
    lines: tuple[ComputedLine, ...]
    groups: tuple[TaxGroup, ...]
    net_total: Money
    tax_total: Money
    gross_total: Money
    notes: tuple[str, ...] = field(default=())


def allocate_signed(total: int, weights: Sequence[int]) -> list[int]:
    """Split integer ``total`` by integer weights of any sign; the parts sum to ``total``."""
    wsum = sum(weights)
    if wsum == 0:
        if total != 0:
            raise InvalidInput("cannot spread an amount over lines that net to zero")
        return [0 for _ in weights]
    exact = [Decimal(total) * w / wsum for w in weights]
    floors = [int(x.to_integral_value(rounding="ROUND_FLOOR")) for x in exact]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _group_key(c: TaxComponent) -> tuple[str, str, Decimal, str | None]:
    return (c.jurisdiction, c.category, c.rate, c.exemption_reason)


@dataclass(frozen=True, slots=True)
class InvoiceAmounts:
    """An invoice's arithmetic in integer minor units, line by line (what is stored).

    ``discounts[i]``, ``nets[i]`` and ``taxes[i][j]`` (one per tax component of line ``i``)
    are in minor units of ``currency``; ``net_total + tax_total`` is the gross total.
    """

    currency: str
    discounts: list[int]
    nets: list[int]
    taxes: list[list[int]]
    net_total: int
    tax_total: int

    @property
    def gross_total(self) -> int:
        return self.net_total + self.tax_total


def compute_invoice(
    lines: Sequence[LineInput],
    currency: str,
    *,
    rounding: Rounding = Rounding.HALF_UP,
    tax_rounding: str = "line",
    price_mode: str = "exclusive",
    invoice_discount_percent: Decimal | None = None,
    invoice_discount_amount: Decimal | None = None,
) -> ComputedInvoice:
    amounts = compute_amounts(
        lines,
        currency,
        rounding=rounding,
        tax_rounding=tax_rounding,
        price_mode=price_mode,
        invoice_discount_percent=invoice_discount_percent,
        invoice_discount_amount=invoice_discount_amount,
    )
    computed = tuple(
        ComputedLine(
            n,
            ln,
            Money.from_minor(amounts.discounts[n - 1], currency),
            Money.from_minor(amounts.nets[n - 1], currency),
            tuple(
                LineTax(c, Money.from_minor(t, currency))
                for c, t in zip(ln.components, amounts.taxes[n - 1], strict=True)
            ),
        )
        for n, ln in enumerate(lines, start=1)
    )
    return _totals(computed, currency)


def compute_amounts(
    lines: Sequence[LineInput],
    currency: str,
    *,
    rounding: Rounding = Rounding.HALF_UP,
    tax_rounding: str = "line",
    price_mode: str = "exclusive",
    invoice_discount_percent: Decimal | None = None,
    invoice_discount_amount: Decimal | None = None,
) -> InvoiceAmounts:
    """``compute_invoice`` without the ``Money`` objects: the volume paths (billing runs,
    drafts) store these integers as they are."""
    if not lines:
        raise InvalidInput("an invoice needs at least one line")
    if tax_rounding not in ("line", "total"):
        raise InvalidInput(f"tax rounding {tax_rounding!r}: expected line or total")
    if price_mode not in ("exclusive", "inclusive"):
        raise InvalidInput(f"price mode {price_mode!r}: expected exclusive or inclusive")
    cur = Currency.of(currency)
    quantum, exponent, mode = cur.quantum, cur.exponent, rounding.decimal_mode
    amounts = [
        int((ln.quantity * ln.unit_price).quantize(quantum, rounding=mode).scaleb(exponent))
        for ln in lines
    ]
    discounts = [
        0
        if ln.discount_percent is None and ln.discount_amount is None
        else _line_discount(ln, a, cur, rounding)
        for ln, a in zip(lines, amounts, strict=True)
    ]
    after = [a - d for a, d in zip(amounts, discounts, strict=True)]
    extra = _invoice_discount(
        sum(after), currency, rounding, invoice_discount_percent, invoice_discount_amount
    )
    if extra:
        shares = allocate_signed(extra, [max(v, 0) for v in after])
        discounts = [d + s for d, s in zip(discounts, shares, strict=True)]
        after = [v - s for v, s in zip(after, shares, strict=True)]
    # ``after`` is now each line's amount in its pricing mode (net, or gross when inclusive).
    if price_mode == "exclusive":
        nets, taxes = after, _taxes_on_net(lines, after, rounding, tax_rounding)
    else:
        nets, taxes = _split_gross(lines, after, rounding, tax_rounding)
    return InvoiceAmounts(
        currency, discounts, nets, taxes, sum(nets), sum(t for ts in taxes for t in ts)
    )


def _line_discount(ln: LineInput, amount: int, cur: Currency, rounding: Rounding) -> int:
    """The line's own discount in minor units of ``amount`` (the line before discounts)."""
    if ln.discount_percent is not None and ln.discount_amount is not None:
        raise InvalidInput(
            f"line '{ln.description}': give a discount percent or an amount, not both"
        )
    if ln.discount_percent is not None:
        if not (0 <= ln.discount_percent <= 100):
            raise InvalidInput(f"line '{ln.description}': discount must be 0 to 100 %")
        return _round_minor(Decimal(amount) * (ln.discount_percent / HUNDRED), rounding)
    if ln.discount_amount is not None:
        disc = Money.of(ln.discount_amount, cur.code)
        if disc.amount < 0 or disc.minor > abs(amount):
            raise InvalidInput(f"line '{ln.description}': discount {disc} is more than the line")
        return disc.minor
    return 0


def _invoice_discount(
    base: int, currency: str, rounding: Rounding, percent: Decimal | None, amount: Decimal | None
) -> int:
    if percent is not None and amount is not None:
        raise InvalidInput("invoice discount: give a percent or an amount, not both")
    if percent is not None:
        if not (0 <= percent <= 100):
            raise InvalidInput("invoice discount must be 0 to 100 %")
        return _round_minor(Decimal(base) * (percent / HUNDRED), rounding)
    if amount is not None:
        disc = Money.of(amount, currency)
        if disc.amount < 0 or disc.minor > base:
            raise InvalidInput(f"invoice discount {disc} is more than the invoice")
        return disc.minor
    return 0


def _round_minor(value: Decimal, rounding: Rounding) -> int:
    """Round a Decimal amount expressed in minor units to a whole number of them."""
    return int(value.quantize(ONE, rounding=rounding.decimal_mode))


def _taxes_on_net(
    lines: Sequence[LineInput], nets: list[int], rounding: Rounding, mode: str
) -> list[list[int]]:
    if mode == "line":
        return [
            [_round_minor(Decimal(net) * c.rate / HUNDRED, rounding) for c in ln.components]
            for ln, net in zip(lines, nets, strict=True)
        ]
    taxes = [[0] * len(ln.components) for ln in lines]
    groups: dict[tuple[str, str, Decimal, str | None], list[tuple[int, int]]] = {}
    for i, ln in enumerate(lines):
        for j, c in enumerate(ln.components):
            groups.setdefault(_group_key(c), []).append((i, j))
    for key, members in groups.items():
        base = sum(nets[i] for i, _ in members)
        total = _round_minor(Decimal(base) * key[2] / HUNDRED, rounding)
        shares = (
            allocate_signed(total, [nets[i] for i, _ in members]) if base else [0] * len(members)
        )
        for (i, j), s in zip(members, shares, strict=True):
            taxes[i][j] = s
    return taxes


def _split_gross(
    lines: Sequence[LineInput], gross: list[int], rounding: Rounding, mode: str
) -> tuple[list[int], list[list[int]]]:
    """Inclusive prices: take the tax out of each gross amount; the net is what remains."""
    nets = list(gross)
    taxes = [[0] * len(ln.components) for ln in lines]

    def split(total_tax: int, ln: LineInput) -> list[int]:
        rates = [int(c.rate * 10**6) for c in ln.components]
        return allocate_signed(total_tax, rates) if sum(rates) else [0] * len(rates)

    if mode == "line":
        for i, ln in enumerate(lines):
            r = sum((c.rate for c in ln.components), Decimal(0))
            total_tax = _round_minor(Decimal(gross[i]) * r / (HUNDRED + r), rounding)
            taxes[i] = split(total_tax, ln)
            nets[i] = gross[i] - total_tax
        return nets, taxes
    groups: dict[tuple[tuple[str, str, Decimal, str | None], ...], list[int]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(tuple(_group_key(c) for c in ln.components), []).append(i)
    for members in groups.values():
        ln0 = lines[members[0]]
        r = sum((c.rate for c in ln0.components), Decimal(0))
        base = sum(gross[i] for i in members)
        total_tax = _round_minor(Decimal(base) * r / (HUNDRED + r), rounding)
        shares = (
            allocate_signed(total_tax, [gross[i] for i in members]) if base else [0] * len(members)
        )
        for i, s in zip(members, shares, strict=True):
            taxes[i] = split(s, lines[i])
            nets[i] = gross[i] - s
    return nets, taxes


def _totals(computed: tuple[ComputedLine, ...], currency: str) -> ComputedInvoice:
    groups: dict[tuple[str, str, Decimal, str | None], list[int]] = {}
    comps: dict[tuple[str, str, Decimal, str | None], TaxComponent] = {}
    for line in computed:
        for t in line.taxes:
            key = _group_key(t.component)
            comps.setdefault(key, t.component)
            acc = groups.setdefault(key, [0, 0])
            acc[0] += line.net.minor
            acc[1] += t.amount.minor
    net = sum(line.net.minor for line in computed)
    tax = sum(acc[1] for acc in groups.values())
    return ComputedInvoice(
        currency,
        computed,
        tuple(
            TaxGroup(comps[k], Money.from_minor(v[0], currency), Money.from_minor(v[1], currency))
            for k, v in groups.items()
        ),
        Money.from_minor(net, currency),
        Money.from_minor(tax, currency),
        Money.from_minor(net + tax, currency),
    )


# --- credit notes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoicedLine:
    """What an issued invoice line carries, and how much of it was already credited."""

    line_no: int
    net: Money
    taxes: tuple[LineTax, ...]
    credited_net: Money
    credited_taxes: tuple[Money, ...]
    input: LineInput


def credit_line(line: InvoicedLine, net_to_credit: Money, credit_line_no: int) -> ComputedLine:
    """The credit for ``net_to_credit`` of an invoice line, with its proportional tax."""
    remaining = line.net - line.credited_net
    if net_to_credit.amount <= 0:
        raise InvalidInput(f"line {line.line_no}: the amount to credit must be positive")
    if net_to_credit > remaining:
        raise InvalidInput(
            f"line {line.line_no}: crediting {net_to_credit} is more than the "
            f"{remaining} not yet credited"
        )
    full = net_to_credit == remaining
    taxes = []
    for t, done in zip(line.taxes, line.credited_taxes, strict=True):
        left = t.amount - done
        if full:
            amount = left
        else:
            cumulative = (line.credited_net + net_to_credit).minor
            target = allocate_signed(t.amount.minor, [cumulative, line.net.minor - cumulative])[0]
            amount = Money.from_minor(
                min(max(target - done.minor, 0), left.minor), t.amount.currency
            )
        taxes.append(LineTax(t.component, amount))
    return ComputedLine(
        credit_line_no, line.input, Money.zero(net_to_credit.currency), net_to_credit, tuple(taxes)
    )


def credit_note_totals(lines: Sequence[ComputedLine], currency: str) -> ComputedInvoice:
    return _totals(tuple(replace(ln, line_no=n) for n, ln in enumerate(lines, start=1)), currency)
