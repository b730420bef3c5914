"""Invoice arithmetic: rounding policy, inclusive prices, and the credit-note guarantees."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.domain.invoice_calc import (
    InvoicedLine,
    LineInput,
    compute_invoice,
    credit_line,
)
from billfold.domain.tax import TaxComponent
from billfold.errors import InvalidInput
from billfold.money import Money, Rounding

VAT19 = (TaxComponent("DE", "S", Decimal(19)),)
VAT7 = (TaxComponent("DE", "S", Decimal(7)),)
US = (
    TaxComponent("US-WA", "S", Decimal("6.5"), "SALES"),
    TaxComponent("US-SEA", "S", Decimal("3.85"), "SALES"),
)


def line(qty: str, price: str, comps: tuple[TaxComponent, ...] = VAT19, **kw: object) -> LineInput:
    return LineInput("item", Decimal(qty), Decimal(price), comps, **kw)  # type: ignore[arg-type]


def test_line_rounding_vs_total_rounding() -> None:
    lines = [line("1", "0.05"), line("1", "0.05"), line("1", "0.05")]
    per_line = compute_invoice(lines, "EUR", tax_rounding="line")
    per_total = compute_invoice(lines, "EUR", tax_rounding="total")
    assert str(per_line.tax_total) == "0.03 EUR"  # 3 x round(0.0095) = 3 x 0.01
    assert str(per_total.tax_total) == "0.03 EUR"  # round(0.0285) = 0.03
    lines = [line("1", "0.02")] * 3
    assert str(compute_invoice(lines, "EUR", tax_rounding="line").tax_total) == "0.00 EUR"
    total = compute_invoice(lines, "EUR", tax_rounding="total")
    assert str(total.tax_total) == "0.01 EUR"  # round(0.0114)
    assert sum(ln.tax.minor for ln in total.lines) == 1  # spread back over the lines


def test_inclusive_prices_keep_the_quoted_gross() -> None:
    inv = compute_invoice(
        [line("1", "119.00"), line("3", "9.99", VAT7)], "EUR", price_mode="inclusive"
    )
    assert str(inv.gross_total) == "148.97 EUR"
    assert [str(g.tax) for g in inv.groups] == ["19.00 EUR", "1.96 EUR"]


def test_invoice_discount_is_spread_over_lines() -> None:
    inv = compute_invoice(
        [line("1", "100.00"), line("1", "50.00", VAT7)],
        "EUR",
        invoice_discount_amount=Decimal("15.00"),
    )
    assert [str(ln.discount) for ln in inv.lines] == ["10.00 EUR", "5.00 EUR"]
    assert str(inv.net_total) == "135.00 EUR"


def test_multi_jurisdiction_tax() -> None:
    inv = compute_invoice([line("10", "150.00", US)], "USD")
    assert [str(t.amount) for t in inv.lines[0].taxes] == ["97.50 USD", "57.75 USD"]


def test_bad_discounts() -> None:
    with pytest.raises(InvalidInput, match="more than the line"):
        compute_invoice([line("1", "10", discount_amount=Decimal("11"))], "EUR")
    with pytest.raises(InvalidInput, match="0 to 100"):
        compute_invoice([line("1", "10", discount_percent=Decimal("101"))], "EUR")


rates = st.sampled_from(
    [
        Decimal(0),
        Decimal(5),
        Decimal("5.5"),
        Decimal(7),
        Decimal(19),
        Decimal(20),
        Decimal("9.975"),
        Decimal("25.5"),
    ]
)
lines_st = st.lists(
    st.tuples(st.integers(1, 500), st.integers(1, 10**7), rates, rates), min_size=1, max_size=8
)
currencies = st.sampled_from(["EUR", "JPY", "KWD"])


def _inputs(raw: list[tuple[int, int, Decimal, Decimal]], multi: bool) -> list[LineInput]:
    result = []
    for qty, price_units, r1, r2 in raw:
        comps = (TaxComponent("A", "S", r1),) + ((TaxComponent("B", "S", r2),) if multi else ())
        result.append(LineInput("x", Decimal(qty), Decimal(price_units) / 100, comps))
    return result


@settings(max_examples=150)
@given(
    lines_st,
    currencies,
    st.sampled_from(["line", "total"]),
    st.sampled_from(["exclusive", "inclusive"]),
    st.booleans(),
    st.sampled_from(list(Rounding)),
)
def test_totals_are_consistent(
    raw: list,
    currency: str,
    mode: str,
    price_mode: str,  # type: ignore[type-arg]
    multi: bool,
    rounding: Rounding,
) -> None:
    inv = compute_invoice(
        _inputs(raw, multi), currency, tax_rounding=mode, price_mode=price_mode, rounding=rounding
    )
    assert inv.net_total + inv.tax_total == inv.gross_total
    assert sum(ln.net.minor for ln in inv.lines) == inv.net_total.minor
    assert sum(ln.tax.minor for ln in inv.lines) == inv.tax_total.minor
    assert sum(g.tax.minor for g in inv.groups) == inv.tax_total.minor
    # Each rate's tax is its base x rate give or take the roundings that made it: one per rate
    # with total rounding on net prices, at most one per line otherwise (EN 16931 BR-CO-17
    # allows one currency unit).
    slack = 1 if (mode, price_mode) == ("total", "exclusive") else len(inv.lines)
    for g in inv.groups:
        exact = Decimal(g.taxable.minor) * g.component.rate / 100
        assert abs(Decimal(g.tax.minor) - exact) <= slack


@settings(max_examples=150)
@given(
    lines_st,
    currencies,
    st.sampled_from(["line", "total"]),
    st.booleans(),
    st.lists(st.integers(1, 100), min_size=1, max_size=6),
)
def test_credits_never_exceed_and_a_full_credit_nets_to_zero(
    raw: list, currency: str, mode: str, multi: bool, parts: list[int]
) -> None:  # type: ignore[type-arg]
    inv = compute_invoice(_inputs(raw, multi), currency, tax_rounding=mode)
    for cl in inv.lines:
        state = InvoicedLine(
            cl.line_no,
            cl.net,
            cl.taxes,
            Money.zero(currency),
            tuple(Money.zero(currency) for _ in cl.taxes),
            cl.input,
        )
        if cl.net.minor <= 0:
            continue
        for pct in parts:  # credit a percentage of what is left, then the rest
            left = cl.net - state.credited_net
            amount = Money.from_minor(max(1, left.minor * pct // 100), currency)
            if left.minor <= 0:
                break
            credit = credit_line(state, min(amount, left), 1)
            state = InvoicedLine(
                state.line_no,
                state.net,
                state.taxes,
                state.credited_net + credit.net,
                tuple(
                    a + t.amount for a, t in zip(state.credited_taxes, credit.taxes, strict=True)
                ),
                state.input,
            )
            for done, orig in zip(state.credited_taxes, cl.taxes, strict=True):
                assert abs(done.minor) <= abs(orig.amount.minor)
        left = cl.net - state.credited_net
        if left.minor > 0:
            last = credit_line(state, left, 1)
            finals = [a + t.amount for a, t in zip(state.credited_taxes, last.taxes, strict=True)]
        else:
            finals = list(state.credited_taxes)
        assert [f.minor for f in finals] == [t.amount.minor for t in cl.taxes]
        with pytest.raises(InvalidInput):
            credit_line(state, cl.net, 1) if left.minor == 0 else credit_line(
                state, left + Money.from_minor(1, currency), 1
            )


@settings(max_examples=300)
@given(
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.sampled_from(list(Rounding)),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3),
    st.decimals(min_value=Decimal("-999.999"), max_value=Decimal("9999.999"), places=3),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)),
    st.sampled_from([Decimal(0), Decimal("5.5"), Decimal(19), Decimal("8.875")]),
)
def test_minor_unit_arithmetic_is_decimal_money_arithmetic(
    currency: str,
    rounding: Rounding,
    qty: Decimal,
    price: Decimal,
    percent: Decimal | None,
    rate: Decimal,
) -> None:
    """The integer path rounds exactly as Money does: the line amount, its discount and its
    tax (line rounding) equal the Decimal formulas rounded to the currency's minor unit."""
    ln = LineInput("item", qty, price, (TaxComponent("XX", "S", rate),), discount_percent=percent)
    inv = compute_invoice([ln], currency, rounding=rounding)
    amount = Money.rounded(qty * price, currency, rounding)
    discount = (
        amount.times(percent / 100, rounding) if percent is not None else Money.zero(currency)
    )
    net = amount - discount
    assert inv.lines[0].discount == discount
    assert inv.lines[0].net == net
    assert inv.lines[0].tax == net.times(rate / 100, rounding)
    assert inv.gross_total == net + inv.lines[0].tax
