"""The evaluation window's receipts, one builder per scenario of ``cashgen.MIX``: who pays, how
much, what the payer writes and where the channel carries it, and the truth (see ``cashgen``)."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from benchmarks.cashgen_model import (
    ACCOUNTS,
    ENTITY_EU,
    ENTITY_US,
    EU_CHANNELS,
    EVAL_DAYS_LIST,
    EVAL_START,
    STRUCTURED_CHANNELS,
    US_CHANNELS,
    DocLine,
    GenConfig,
    GenCustomer,
    GenInvoice,
    GenReceipt,
    GenState,
    Truth,
    account_for,
    next_key,
    payer_account,
)
from benchmarks.cashgen_text import (
    BANKS,
    CARD_HOLDERS,
    STRANGER_TEXTS,
    STRANGERS,
    aba,
    abbreviate,
    bank_name,
    bban,
    compressed,
    creditor_reference,
    draw_amount,
    iban,
    missing_prefix,
    typo,
    typo_name,
    weighted,
)


def evaluation_receipts(st: GenState) -> list[GenReceipt]:
    rng, cfg = st.rng, st.cfg
    _pools(st)
    counts = _scenario_counts(cfg)
    plan = [s for s, k in counts.items() for _ in range(k)]
    rng.shuffle(plan)
    out: list[GenReceipt] = []
    for scenario in plan:
        for _attempt in range(50):
            r = _SCENARIO_BUILDERS[scenario](st)
            if r is not None:
                out.append(r)
                break
        else:  # nothing left for this scenario: a clean payment instead
            r = _clean(st)
            if r is not None:
                out.append(r)
    return out


def _scenario_counts(cfg: GenConfig) -> dict[str, int]:
    """Largest-remainder split of ``n_receipts`` by the mix (the shares add up exactly)."""
    mix = dict(cfg.mix)
    total = sum(mix.values())
    exact = {k: cfg.n_receipts * v / total for k, v in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = cfg.n_receipts - sum(counts.values())
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:rest]:
        counts[k] += 1
    return counts


def _pools(st: GenState) -> None:
    """Open invoices by what a scenario needs, sorted by issue date (pick: issued before)."""
    pools: dict[str, list[GenInvoice]] = defaultdict(list)
    for inv in st.invoices:
        if inv.history:
            continue
        c = st.by_number[inv.customer]
        home = "EUR" if c.is_eu else "USD"
        if inv.currency != home:
            pools["foreign"].append(inv)
            continue
        pools["domestic"].append(inv)
        if inv.discount_date is not None and inv.discount_date >= EVAL_START:
            pools["discount"].append(inv)
    for name, items in pools.items():
        items.sort(key=lambda i: (i.issue_date, i.entity, i.number))
        st.pool[name] = items
        st.pool_dates[name] = [i.issue_date for i in items]


def _pick(st: GenState, pool: str, before: date) -> GenInvoice | None:
    """A random untargeted invoice of ``pool`` issued before ``before``."""
    items, dates = st.pool.get(pool, []), st.pool_dates.get(pool, [])
    end = bisect_left(dates, before)
    for _ in range(30):
        if end == 0:
            return None
        inv = items[st.rng.randrange(end)]
        if inv.key not in st.targeted:
            return inv
    return None


def _value_day(st: GenState, after: date | None = None, until: date | None = None) -> date | None:
    days = [
        d for d in EVAL_DAYS_LIST if (after is None or d > after) and (until is None or d <= until)
    ]
    return st.rng.choice(days) if days else None


def _open_items(st: GenState, c: GenCustomer, currency: str, before: date) -> list[GenInvoice]:
    return [
        i
        for i in st.open_by_customer.get(c.number, [])
        if i.currency == currency and i.key not in st.targeted and i.issue_date < before
    ]


@dataclass
class _Payer:
    name: str | None
    account: str | None
    kind: str


def _payer(st: GenState, c: GenCustomer) -> _Payer:
    """Who pays for ``c``: itself (usual or second account) or its parent."""
    rng = st.rng
    if c.parent and rng.random() < 0.6:
        p = st.by_number[c.parent]
        return _Payer(p.name, payer_account(rng, p, second_ok=False), "parent")
    account = payer_account(rng, c)
    kind = "second_account" if c.ibans and account != c.ibans[0] else "self"
    return _Payer(c.name, account, kind)


def _new(
    st: GenState,
    scenario: str,
    variant: str,
    inv: GenInvoice | None,
    c: GenCustomer | None,
    day: date,
    paid: int,
    payer: _Payer,
    truth: tuple[Truth, ...],
    currency: str | None = None,
    channel: str | None = None,
) -> GenReceipt:
    entity = inv.entity if inv else (c.entity if c else ENTITY_EU)
    cur = currency or (inv.currency if inv else "EUR")
    ch = channel or (c.channel if c else "camt")
    if ch == "camt_fx" and cur in ("EUR",) and entity == ENTITY_EU:
        ch = "camt"
    account = account_for(entity, cur, ch)
    if ACCOUNTS[account].currency != cur or ACCOUNTS[account].entity != entity:
        raise AssertionError(f"{ch} {cur} {entity} -> {account}")
    r = GenReceipt(
        key=next_key(st),
        scenario=scenario,
        variant=variant,
        payer_kind=payer.kind,
        entity=entity,
        account=account,
        channel=ch,
        currency=cur,
        value_date=day,
        paid_minor=paid,
        payer_account=payer.account if ch in ("camt", "mt940", "camt_fx") else None,
        customer=c.number if c else None,
        truth=truth,
        also_notified=ch == "camt" and st.rng.random() < 0.35,
    )
    _render_payer(st, r, payer.name, c)
    if ch == "payout":
        r.fee_minor = round(paid * 0.029) + 30
        r.fee_reported = True
    return r


def _render_payer(st: GenState, r: GenReceipt, name: str | None, c: GenCustomer | None) -> None:
    rng = st.rng
    if name is None:
        return
    ch = r.channel
    if ch in ("ccd_plus", "ctx", "ccd_820"):
        r.payer_name = bank_name(name, 16)
        r.payer_bank = (c.ach[0] if c and c.ach else aba(f"{rng.randint(1, 12):02d}000001"))[:8]
    elif ch == "mt940":
        r.payer_name = bank_name(name, 54)
    elif ch in ("bai2_wire", "bai2_lockbox"):
        r.payer_name = bank_name(name, 35)
    elif ch == "payout":
        r.payer_name = name if rng.random() < 0.7 else rng.choice(CARD_HOLDERS)
    else:
        r.payer_name = name if rng.random() < 0.7 else bank_name(name, 70)
    if r.payer_account and r.payer_account[:2] in ("DE", "AT", "FR", "NL", "BE", "GB", "CH"):
        r.payer_bank = rng.choice(BANKS)


# --- how payers write references ---------------------------------------------------------------

TEMPLATES = {
    "de": ("{ref}", "Rechnung {ref}", "RE {ref}", "Rg.-Nr. {ref}", "Zahlung {ref} Kd-Nr {cust}",
           "{ref} vom {date}", "Ihre Rechnung {ref} Danke"),
    "en": ("{ref}", "Invoice {ref}", "INV {ref}", "Payment for invoice {ref}",
           "{ref} cust {cust}", "{ref} dated {date}", "Payment {ref} thank you"),
}  # fmt: skip


def _phrase(
    st: GenState, c: GenCustomer | None, refs: Sequence[str], inv: GenInvoice | None
) -> str:
    rng = st.rng
    lang = "de" if c is not None and c.language == "de" else "en"
    template = rng.choice(TEMPLATES[lang])
    issued = inv.issue_date if inv else EVAL_START
    when = f"{issued:%Y-%m-%d}" if rng.random() < 0.3 else f"{issued:%d.%m.%Y}"
    joined = ", ".join(refs)
    return template.format(ref=joined, cust=c.number if c else "", date=when)[:140]


def _end_to_end(st: GenState, number: str | None, day: date) -> str | None:
    x = st.rng.random()
    if x < 0.4:
        return None
    if x < 0.6:
        return f"PR-{day:%Y%m%d}-{st.rng.randint(1, 9999):06d}"
    if x < 0.8:
        return "".join(st.rng.choice("0123456789abcdef") for _ in range(32))
    return number


def _remit(
    st: GenState,
    r: GenReceipt,
    c: GenCustomer | None,
    refs: Sequence[str],
    lines: Sequence[DocLine],
    inv: GenInvoice | None,
    *,
    structured_share: float = 0.25,
    extra: str | None = None,
) -> None:
    """Put the references where the channel carries them: text, structured lines, RF."""
    rng = st.rng
    ch = r.channel
    r.end_to_end = _end_to_end(st, refs[0] if len(refs) == 1 else None, r.value_date)
    if ch in STRUCTURED_CHANNELS or (ch == "payout" and refs):
        r.doc_lines = tuple(lines)
        if ch == "payout" and rng.random() < 0.5:
            r.text = (f"Invoice {', '.join(refs)}",)
        if ch == "ccd_820":
            r.end_to_end = f"PAY{r.key:09d}"
        return
    if not refs:
        r.text = (extra,) if extra else ()
        return
    structured = ch in ("camt", "camt_fx") and rng.random() < structured_share
    if structured:
        if len(lines) == 1 and rng.random() < 0.4:
            r.creditor_refs = (creditor_reference(refs[0]),)
        else:
            r.doc_lines = tuple(lines)
        if rng.random() < 0.3:
            r.text = (_phrase(st, c, refs, inv),)
        return
    if ch == "ccd_plus":
        full = len(lines) == 1 and rng.random() < 0.6
        rmr = "".join(_rmr(ln, full) for ln in lines)
        if rng.random() < 0.7 and len(rmr) <= 80:
            r.text = (rmr,)
            r.doc_lines = tuple(lines)
        else:
            r.text = (_phrase(st, c, refs, inv)[:80],)
        return
    phrase = _phrase(st, c, refs, inv)
    if ch == "bai2_wire":
        r.text = (
            f"WIRE TRANSFER IN FED REF {r.value_date:%Y%m%d}{r.key:06d}",
            "OBI: " + phrase[:70],
        )
    elif ch == "bai2_lockbox":
        r.text = (f"LOCKBOX 4471 CHECK {rng.randint(1000, 99999)}", *refs)
    else:
        r.text = (phrase,)
    if extra:
        r.text = (*r.text, extra)


def _rmr(ln: DocLine, full: bool) -> str:
    """``RMR*IV*<number>**<paid>[*<invoiced>*<discount>]\\`` as a CCD+ addenda carries it."""
    elements = ["RMR", "IV", ln.number, "", _dec(ln.paid_minor)]
    if full:
        elements += [_dec(ln.invoiced_minor), _dec(ln.discount_minor)]
    while elements[-1] == "":
        elements.pop()
    return "*".join(elements) + "\\"


def _dec(minor: int | None) -> str:
    return "" if minor is None else f"{Decimal(minor).scaleb(-2):.2f}"


def _with_payer_name_in_text(r: GenReceipt) -> None:
    """BAI2 carries the payer only in the text (``B/O:``, ``REMITTER:``)."""
    if r.channel == "bai2_wire" and r.payer_name:
        r.text = (r.text[0] if r.text else "WIRE TRANSFER IN", f"B/O: {r.payer_name}", *r.text[1:])
    elif r.channel == "bai2_lockbox" and r.payer_name:
        head = r.text[0] if r.text else "LOCKBOX 4471 CHECK"
        r.text = (head, f"REMITTER: {r.payer_name}", *r.text[1:])


def _finish(r: GenReceipt) -> GenReceipt:
    """What the channel can carry: BAI2 has the payer only in the text, ACH ids are 15
    characters, cheques, wires and card payouts have no end-to-end id."""
    _with_payer_name_in_text(r)
    if r.channel in ("ccd_plus", "ctx", "ccd_820") and r.end_to_end:
        r.end_to_end = r.end_to_end[:15]
    elif r.channel in ("bai2_wire", "bai2_lockbox", "payout"):
        r.end_to_end = None
    return r


# --- scenarios ---------------------------------------------------------------------------------


def _simple(
    st: GenState, scenario: str, pool: str = "domestic"
) -> tuple[GenInvoice, GenCustomer, date] | None:
    day = _value_day(st)
    if day is None:
        return None
    inv = _pick(st, pool, day)
    if inv is None:
        return None
    st.targeted.add(inv.key)
    return inv, st.by_number[inv.customer], day


def _full(inv: GenInvoice) -> tuple[Truth, ...]:
    return (Truth("invoice", inv.number, inv.amount_minor),)


def _line(
    inv: GenInvoice, paid: int | None = None, ref: str | None = None, discount: int | None = None
) -> DocLine:
    return DocLine(
        ref or inv.number, inv.amount_minor if paid is None else paid, inv.amount_minor, discount
    )


def _clean(st: GenState) -> GenReceipt | None:
    got = _simple(st, "clean")
    if got is None:
        return None
    inv, c, day = got
    r = _new(st, "clean", "exact", inv, c, day, inv.amount_minor, _payer(st, c), _full(inv))
    _remit(st, r, c, [inv.number], [_line(inv)], inv)
    return _finish(r)


def _typo(st: GenState) -> GenReceipt | None:
    got = _simple(st, "typo")
    if got is None:
        return None
    inv, c, day = got
    ref, how = typo(st.rng, inv.number)
    r = _new(st, "typo", how, inv, c, day, inv.amount_minor, _payer(st, c), _full(inv))
    _remit(st, r, c, [ref], [_line(inv, ref=ref)], inv)
    if r.channel == "bai2_lockbox" and st.rng.random() < 0.5:
        r.text = (r.text[0], *(t.replace("0", "O", 1) for t in r.text[1:]))
    return _finish(r)


def _missing_prefix(st: GenState) -> GenReceipt | None:
    got = _simple(st, "missing_prefix")
    if got is None:
        return None
    inv, c, day = got
    ref, variant = missing_prefix(st.rng, inv)
    r = _new(
        st, "missing_prefix", variant, inv, c, day, inv.amount_minor, _payer(st, c), _full(inv)
    )
    _remit(st, r, c, [ref], [_line(inv, ref=ref)], inv, structured_share=0.1)
    return _finish(r)


def _multi(st: GenState) -> GenReceipt | None:
    got = _simple(st, "multi_invoice")
    if got is None:
        return None
    anchor, c, day = got
    others = _open_items(st, c, anchor.currency, day)
    want = int(weighted(st.rng, (("2", 50), ("3", 25), ("4", 15), ("5", 10)))) - 1
    if len(others) < 1:
        st.targeted.discard(anchor.key)
        return None
    chosen = [anchor, *st.rng.sample(others, min(want, len(others)))]
    chosen.sort(key=lambda i: i.number)
    for i in chosen:
        st.targeted.add(i.key)
    total = sum(i.amount_minor for i in chosen)
    truth = tuple(t for i in chosen for t in _full(i))
    numbers = [i.number for i in chosen]
    x = st.rng.random()
    variant = (
        "structured"
        if x < 0.4
        else "list"
        if x < 0.75
        else "compressed"
        if x < 0.9
        else "no_reference"
    )
    r = _new(st, "multi_invoice", variant, anchor, c, day, total, _payer(st, c), truth)
    lines = [_line(i) for i in chosen]
    if variant == "structured":
        _remit(st, r, c, numbers, lines, anchor, structured_share=1.0)
    elif variant == "list":
        _remit(st, r, c, numbers, lines, anchor, structured_share=0.0)
    elif variant == "compressed":
        _remit(st, r, c, [compressed(numbers)], lines, anchor, structured_share=0.0)
    else:
        _remit(
            st,
            r,
            c,
            [],
            lines if r.channel in STRUCTURED_CHANNELS else [],
            anchor,
            extra="Sammelzahlung" if c.language == "de" else "Payment",
        )
    return _finish(r)


def _tolerance(st: GenState, open_minor: int) -> int:
    pct = int(Decimal(open_minor) * st.cfg.tolerance_percent / 100)
    return min(pct, st.cfg.tolerance_units * 100)


def _short_truth(st: GenState, inv: GenInvoice, paid: int) -> tuple[Truth, ...]:
    """What the policy makes of ``paid`` against ``inv``: full, written-off short, or partial."""
    short = inv.amount_minor - paid
    if short <= 0:
        extra = -short
        on_account = (Truth("on_account", inv.customer, extra),) if extra else ()
        return (Truth("invoice", inv.number, inv.amount_minor), *on_account)
    if short <= _tolerance(st, inv.amount_minor):
        return (Truth("invoice", inv.number, paid), Truth("write_off", inv.number, short))
    return (Truth("invoice", inv.number, paid),)


def _partial(st: GenState) -> GenReceipt | None:
    got = _simple(st, "partial_short")
    if got is None:
        return None
    inv, c, day = got
    rng = st.rng
    x = rng.random()
    if x < 0.55:
        variant = "partial"
        paid = max(100, round(inv.amount_minor * rng.uniform(0.2, 0.8) / 100) * 100)
    elif x < 0.85:
        variant = "short_in_tolerance"
        tol = _tolerance(st, inv.amount_minor)
        if tol < 2:
            st.targeted.discard(inv.key)
            return None
        paid = inv.amount_minor - rng.randint(1, tol)
    else:
        variant = "overpaid"
        paid = inv.amount_minor + rng.choice((500, 1000, 2500, 5000, inv.amount_minor // 10 or 100))
    if paid >= inv.amount_minor and variant != "overpaid":
        paid = inv.amount_minor - 1
    truth = _short_truth(st, inv, paid)
    r = _new(st, "partial_short", variant, inv, c, day, paid, _payer(st, c), truth)
    words = {"partial": "Teilzahlung" if c.language == "de" else "partial payment"}.get(variant)
    _remit(st, r, c, [inv.number], [_line(inv, paid)], inv, extra=words)
    return _finish(r)


def discount_of(amount_minor: int, percent: Decimal = Decimal(2)) -> int:
    return int((Decimal(amount_minor) * percent / 100).to_integral_value())


def _discount(st: GenState) -> GenReceipt | None:
    rng = st.rng
    late = rng.random() < 0.15
    for _ in range(30):
        items = st.pool.get("discount", [])
        if not items:
            return None
        inv = items[rng.randrange(len(items))]
        if inv.key in st.targeted or inv.discount_date is None:
            continue
        if late:
            day = _value_day(st, after=inv.discount_date)
        else:
            day = _value_day(st, after=inv.issue_date, until=inv.discount_date)
        if day is not None:
            break
    else:
        return None
    st.targeted.add(inv.key)
    c = st.by_number[inv.customer]
    disc = discount_of(inv.amount_minor)
    paid = inv.amount_minor - disc
    if late:
        truth = _short_truth(st, inv, paid)
    else:
        truth = (Truth("invoice", inv.number, paid), Truth("discount", inv.number, disc))
    channel = "ccd_plus" if c.channel == "payout" else c.channel  # card payers take no discount
    variant = "late" if late else "in_terms"
    r = _new(st, "discount", variant, inv, c, day, paid, _payer(st, c), truth, channel=channel)
    words = "abzgl. 2% Skonto" if c.language == "de" else "less 2% discount"
    _remit(
        st,
        r,
        c,
        [inv.number],
        [_line(inv, paid, discount=disc)],
        inv,
        structured_share=0.35,
        extra=words,
    )
    return _finish(r)


def _bank_fee(st: GenState) -> GenReceipt | None:
    got = _simple(st, "bank_fee")
    if got is None:
        return None
    inv, c, day = got
    rng = st.rng
    channel = c.channel
    if channel in ("ccd_plus", "ctx", "ccd_820", "bai2_lockbox"):
        channel = rng.choice(("bai2_wire", "payout"))  # ACH and cheques arrive without fees
    fee = min(rng.choice((250, 500, 750, 1000, 1500, 2000, 2500, 3500)), inv.amount_minor // 5)
    reported = channel == "payout" or (channel == "camt" and rng.random() < 0.5)
    receipt = inv.amount_minor if reported else inv.amount_minor - fee
    truth = _full(inv) if reported else _short_truth(st, inv, receipt)
    r = _new(
        st,
        "bank_fee",
        "reported" if reported else "unreported",
        inv,
        c,
        day,
        inv.amount_minor,
        _payer(st, c),
        truth,
        channel=channel,
    )
    if channel != "payout":
        r.fee_minor, r.fee_reported = fee, reported
    else:
        r.truth = _full(inv)
    _remit(st, r, c, [inv.number], [_line(inv)], inv)
    return _finish(r)


def _unique_amount(st: GenState, c: GenCustomer, day: date, family: bool) -> GenInvoice | None:
    members = [c, *(st.by_number[n] for n in st.children.get(c.number, []))] if family else [c]
    items = [
        i
        for m in members
        for i in st.open_by_customer.get(m.number, [])
        if i.currency == m.currency
    ]
    counts: dict[int, int] = defaultdict(int)
    for i in items:
        counts[i.amount_minor] += 1
    own = [
        i
        for i in items
        if i.key not in st.targeted and i.issue_date < day and counts[i.amount_minor] == 1
    ]
    own = [
        i
        for i in own
        if st.by_number[i.customer].currency == ("EUR" if st.by_number[i.customer].is_eu else "USD")
    ]
    return st.rng.choice(own) if own else None


def _payer_name(st: GenState) -> GenReceipt | None:
    rng = st.rng
    day = _value_day(st)
    if day is None:
        return None
    x = rng.random()
    if x < 0.25:
        parents = [p for p in st.children if st.children[p]]
        if not parents:
            return None
        parent = st.by_number[rng.choice(parents)]
        inv = _unique_amount(st, parent, day, family=True)
        if inv is None:
            return None
        c = st.by_number[inv.customer]
        payer = _Payer(parent.name, payer_account(rng, parent, second_ok=False), "parent")
    else:
        candidates = st.customers if x >= 0.55 else [c for c in st.customers if c.trade_name]
        c = rng.choice(candidates)
        inv = _unique_amount(st, c, day, family=False)
        if inv is None:
            return None
        if x < 0.55 and c.trade_name:
            kind = "alias_registered" if c.alias_registered else "alias_unregistered"
            suffix = " " + c.legal_form if rng.random() < 0.3 else ""
            payer = _Payer(c.trade_name + suffix, payer_account(rng, c), kind)
        elif x < 0.8:
            payer = _Payer(typo_name(rng, c.name), payer_account(rng, c), "typo_name")
        else:
            payer = _Payer(abbreviate(c.name), payer_account(rng, c), "abbreviated_name")
    st.targeted.add(inv.key)
    r = _new(st, "payer_name", payer.kind, inv, c, day, inv.amount_minor, payer, _full(inv))
    _generic_text(st, r, c)
    return _finish(r)


def _generic_text(st: GenState, r: GenReceipt, c: GenCustomer) -> None:
    rng = st.rng
    x = rng.random()
    de = c.language == "de"
    month = r.value_date.strftime("%m/%Y")
    text = (
        (f"Kd-Nr. {c.number}" if de else f"Customer {c.number}")
        if x < 0.3
        else ("Zahlung" if de else "Payment")
        if x < 0.6
        else (f"Rechnung {month}" if de else f"Invoice {month}")
        if x < 0.8
        else ""
    )
    r.end_to_end = None
    if r.channel in STRUCTURED_CHANNELS:
        r.doc_lines = ()  # an 820 without RMR: just the payment
        if r.channel == "ccd_820":
            r.end_to_end = f"PAY{r.key:09d}"
    elif r.channel == "bai2_wire":
        r.text = (f"WIRE TRANSFER IN FED REF {r.value_date:%Y%m%d}{r.key:06d}",) + (
            (f"OBI: {text}",) if text else ()
        )
    elif r.channel == "bai2_lockbox":
        r.text = (f"LOCKBOX 4471 CHECK {rng.randint(1000, 99999)}",) + ((text,) if text else ())
    else:
        r.text = (text[:80],) if text else ()


def _no_reference(st: GenState) -> GenReceipt | None:
    day = _value_day(st)
    if day is None:
        return None
    c = st.rng.choice(st.customers)
    inv = _unique_amount(st, c, day, family=False)
    if inv is None:
        return None
    st.targeted.add(inv.key)
    payer = _Payer(c.name, c.ibans[0] if c.ibans else None, "self")
    r = _new(st, "no_reference", "known_payer", inv, c, day, inv.amount_minor, payer, _full(inv))
    _generic_text(st, r, c)
    return _finish(r)


def _foreign(st: GenState) -> GenReceipt | None:
    got = _simple(st, "foreign_currency", pool="foreign")
    if got is None:
        return None
    inv, c, day = got
    rng = st.rng
    short = rng.random() < 0.4
    fee = min(rng.choice((500, 1000, 1500, 2000, 2500)), inv.amount_minor // 5) if short else 0
    receipt = inv.amount_minor - fee
    truth = _short_truth(st, inv, receipt)
    r = _new(
        st,
        "foreign_currency",
        "correspondent_fee" if short else "exact",
        inv,
        c,
        day,
        inv.amount_minor,
        _payer(st, c),
        truth,
        channel="camt_fx",
    )
    r.fee_minor = fee
    _remit(st, r, c, [inv.number], [_line(inv)], inv)
    return _finish(r)


def _unmatchable(st: GenState) -> GenReceipt | None:
    rng = st.rng
    day = _value_day(st)
    if day is None:
        return None
    eu = rng.random() < 0.72
    entity = ENTITY_EU if eu else ENTITY_US
    channel = weighted(rng, EU_CHANNELS if eu else US_CHANNELS)
    amount = draw_amount(rng, 19 if eu and rng.random() < 0.5 else 0)
    name = rng.choice(STRANGERS)
    account = iban("DE", bban(rng, "DE")) if eu else None
    payer = _Payer(name, account, "stranger")
    fake = GenCustomer(
        "",
        name,
        "",
        "DE" if eu else "US",
        entity,
        "EUR" if eu else "USD",
        "NET30",
        "de" if eu else "en",
        channel=channel,
    )
    r = _new(
        st,
        "unmatchable",
        "stranger",
        None,
        fake,
        day,
        amount,
        payer,
        (),
        currency=fake.currency,
        channel=channel,
    )
    r.customer = None
    text = rng.choice(STRANGER_TEXTS).format(n=rng.randint(10_000, 999_999), k=rng.randint(1, 400))
    _generic_text(st, r, fake)
    if r.channel not in STRUCTURED_CHANNELS:
        r.text = (
            tuple(t for t in (*r.text[:1], text) if t)
            if r.channel.startswith("bai2")
            else ((text,) if text else ())
        )
    return _finish(r)


_SCENARIO_BUILDERS = {
    "clean": _clean,
    "typo": _typo,
    "missing_prefix": _missing_prefix,
    "multi_invoice": _multi,
    "partial_short": _partial,
    "discount": _discount,
    "bank_fee": _bank_fee,
    "payer_name": _payer_name,
    "no_reference": _no_reference,
    "foreign_currency": _foreign,
    "unmatchable": _unmatchable,
}
