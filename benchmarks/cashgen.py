"""Deterministic benchmark data for cash application: customers, open invoices, receipts, truth.

``generate(GenConfig(n_customers, n_invoices, n_receipts, seed))`` builds a ``World``: two legal
entities (ACME-DE billing Europe in EUR, a few GBP/USD; ACME-US billing in USD), customers with
legal forms, trade names, groups (a parent company paying for its subsidiaries), IBANs or ACH
routing/account numbers; invoices issued over the months before the evaluation window (the ones
paid before it are the *history*: their numbers exist, they are not open, and their payments
teach the system which account belongs to whom); carried-over open items from a previous system
with other number formats (``RE-104711``, ``90012345``); and ``n_receipts`` receipts in a
four-week evaluation window, each with its ground truth: the ``(kind, invoice, amount)``
allocations a careful clerk following the policy would post (kinds ``invoice``, ``discount``,
``write_off``, ``on_account``), or none at all ("unapplied").

The standard mix (``MIX``, shares of receipts):

================  =====  =========================================================================
scenario          share  what the payer did
================  =====  =========================================================================
clean              55 %  named the invoice exactly (text, structured remittance, RF creditor
                         reference, X12 RMR, payout column) and paid its open amount
typo                8 %  one wrong character in the number: substitution 45 %, adjacent
                         transposition 30 %, dropped or doubled digit 20 %, OCR O-for-0 5 %
missing_prefix      8 %  ``2026-000123``, ``2026000123``, ``INV 2026 123``, ``000123``, the legacy
                         number's digits, or the PO number instead of the invoice number
multi_invoice       6 %  one payment for 2-5 invoices of one customer: structured lines, a list
                         in the text, a compressed list (``INV-2026-000123/124``) or no
                         reference at all (the amount is the sum)
partial_short       5 %  partial payment 55 % (the rest stays open), short within the tolerance
                         30 % (written off), paid more 15 % (the rest kept on account)
discount            4 %  2/10 NET30 invoice paid within 10 days less 2 %; 15 % pay after the
                         discount date and still deduct it (unearned: the short stays open)
bank_fee            4 %  an intermediary/bank fee deducted from the transfer: reported in the
                         file (camt charges, payout fee: the receipt is the gross) or not (the
                         receipt is short: written off within the tolerance, else left open)
payer_name          4 %  no reference; the payer is an alias, the parent company, or writes the
                         name with a typo or abbreviated; the amount equals exactly one open item
                         of the customer (of its group, for a parent)
no_reference        3 %  no reference; the customer pays under its own name and account; the
                         amount equals exactly one of its open items
foreign_currency    2 %  GBP/USD invoice paid in its currency to the GBP/USD account; 40 % short
                         by an unreported correspondent-bank fee
unmatchable         1 %  nothing to apply: tax office, insurer, supplier refund, a person
================  =====  =========================================================================

Across all scenarios (independent of the above): group members' payments come from the parent
company 60 % of the time (its name, its account); bank names are rendered as banks show them
(upper case, umlauts transliterated, cut to 16 characters in NACHA and 54 in MT940); 15 % of a
customer's transfers come from a second account nobody has seen; texts carry customer numbers,
dates (``14.11.2026``, now and then ``2026-11-14``) and payment-run ids; end-to-end ids are
``NOTPROVIDED``, payment-run ids, UUIDs or the invoice number; 35 % of the entries on the main EUR
account are also notified in a camt.054 before the camt.053 statement (duplicates across files).

The policy the truth follows is the matcher's default ``Policy``: a short payment within
``min(1 %, 25 units)`` of the open amount is written off, a larger one leaves the rest open, an
early-payment discount counts only within the terms. Everything is drawn from one
``random.Random(seed)``: the same config gives byte-identical files.

Modules: ``cashgen`` (this: the world, customers, invoices, history), ``cashgen_model`` (the
records), ``cashgen_text`` (names, account numbers, amounts, how payers write numbers),
``cashgen_scenarios`` (the window's receipts, one builder per scenario), ``cashgen_files`` (the
bank-file writers), ``cashbench_eval`` (parsing them back, the matcher, baselines, scoring).
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict
from datetime import date, timedelta

from benchmarks.cashgen_model import (
    ACCOUNTS,
    CHANNEL_ACCOUNT,
    ENTITY_EU,
    ENTITY_US,
    EU_CHANNELS,
    EVAL_DAYS_LIST,
    EVAL_START,
    HISTORY_START,
    LAST_ISSUE,
    MIX,
    OWN_ACCOUNTS,
    SCENARIOS,
    US_CHANNELS,
    DocLine,
    GenConfig,
    GenCustomer,
    GenInvoice,
    GenReceipt,
    GenState,
    OwnAccount,
    Truth,
    World,
    account_for,
    business_days,
    next_key,
    payer_account,
)
from benchmarks.cashgen_text import (
    DE_PREFIX,
    DE_SUFFIX,
    DE_TYPES,
    EU_COUNTRIES,
    FORMS,
    SURNAMES,
    TERMS_EU,
    TERMS_US,
    TRANSLIT,
    US_PREFIX,
    US_SUFFIX,
    US_TYPES,
    aba,
    bank_name,
    bban,
    compressed,
    creditor_reference,
    draw_amount,
    iban,
    missing_prefix,
    typo,
    weighted,
)

__all__ = [
    "ACCOUNTS", "CHANNEL_ACCOUNT", "ENTITY_EU", "ENTITY_US", "EVAL_DAYS_LIST", "EVAL_START", "MIX",
    "OWN_ACCOUNTS", "SCENARIOS", "TRANSLIT", "DocLine", "GenConfig", "GenCustomer", "GenInvoice",
    "GenReceipt", "OwnAccount", "Truth", "World", "aba", "bank_name", "business_days", "compressed",
    "creditor_reference", "generate", "iban", "missing_prefix", "typo",
]  # fmt: skip


def generate(cfg: GenConfig) -> World:
    """The whole world for ``cfg``: customers, invoices, history and the window's receipts."""
    from benchmarks.cashgen_scenarios import evaluation_receipts

    rng = random.Random(cfg.seed)
    st = GenState(rng, cfg)
    _customers(st)
    _invoices(st)
    history = _history_receipts(st)
    receipts = evaluation_receipts(st)
    receipts.sort(key=lambda r: (r.value_date, r.key))
    for r in (*history, *receipts):
        r.bank_ref = bank_reference(r)
    return World(cfg, st.customers, st.invoices, receipts, history)


def bank_reference(r: GenReceipt) -> str:
    """The bank's own reference of the entry: unique, and how the benchmark finds the receipt
    again (camt AcctSvcrRef, MT940 ``//``, BAI2 bank reference, NACHA trace, payout charge id)."""
    if r.channel in ("ccd_plus", "ctx", "ccd_820"):
        return f"{(r.payer_bank or '09100001')[:8]}{r.key:07d}"
    if r.channel == "payout":
        return f"ch_{r.key:08d}"
    prefix = {"camt": "CB", "mt940": "SK", "camt_fx": "FX", "history": "HI"}.get(r.channel, "BA")
    return f"{prefix}{r.value_date:%y%m%d}{r.key:07d}"


def _customers(st: GenState) -> None:
    rng, n = st.rng, st.cfg.n_customers
    seen: set[str] = set()
    full_names: set[str] = set()
    eu_count = round(n * 0.72)
    for i in range(n):
        eu = i < eu_count
        country = weighted(rng, EU_COUNTRIES) if eu else "US"
        form = weighted(rng, FORMS[country])
        near_duplicate = rng.random() < 0.01  # "Weber Bau GmbH" next to "Weber Bau AG"
        for _attempt in range(30):
            base, trade = _company_base(rng, eu)
            kind = rng.choice(DE_TYPES if eu else US_TYPES)
            if country in ("FR", "NL", "BE", "GB", "CH") and eu and rng.random() < 0.5:
                kind = rng.choice(US_TYPES)
            if (f"{base} {kind}" in seen) == near_duplicate:
                break
        name = f"{base} {kind} {form}"
        if name in full_names:
            name = f"{base} {kind} {rng.choice(('Nord', 'Süd', 'West', 'Ost', 'Mitte'))} {form}"
        seen.add(f"{base} {kind}")
        full_names.add(name)
        currency = "EUR" if eu else "USD"
        if country == "GB":
            currency = "GBP"
        elif country == "CH" and rng.random() < 0.6:
            currency = "USD"
        number = f"C-{10001 + i}"
        has_trade = rng.random() < 0.25
        ach = None
        ibans: tuple[str, ...] = ()
        if eu:
            ibans = (iban(country, bban(rng, country)),)
            if rng.random() < 0.15:
                ibans += (iban(country, bban(rng, country)),)
        else:
            ach = (
                aba(f"{rng.randint(1, 12):02d}{rng.randint(0, 999999):06d}"),
                str(rng.randint(10**7, 10**12)),
            )
        channel = (
            "camt_fx"
            if currency != ("EUR" if eu else "USD")
            else (weighted(rng, EU_CHANNELS if eu else US_CHANNELS))
        )
        cust = GenCustomer(
            number=number,
            name=name,
            legal_form=form,
            country=country,
            entity=ENTITY_EU if eu else ENTITY_US,
            currency=currency,
            terms=weighted(rng, TERMS_EU if eu else TERMS_US),
            language={"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "NL": "nl"}.get(
                country, "en"
            ),
            trade_name=trade if has_trade else None,
            alias_registered=has_trade and rng.random() < 0.6,
            ibans=ibans,
            ach=ach,
            company_id=f"{rng.choice('139')}{rng.randint(0, 999_999_999):09d}",
            channel=channel,
            late_payer=rng.random() < 0.2,
            uses_po=rng.random() < 0.3,
        )
        st.customers.append(cust)
    _groups(st)
    st.by_number = {c.number: c for c in st.customers}


def _company_base(rng: random.Random, eu: bool) -> tuple[str, str]:
    """(base name, trade name): ``Nordwind`` / ``Nordwind``, ``Weber`` / ``Weber & Söhne``."""
    if eu:
        if rng.random() < 0.7:
            base = rng.choice(DE_PREFIX) + rng.choice(DE_SUFFIX)
            return base, rng.choice((base, f"{base} Gruppe", f"{base} Service"))
        base = rng.choice(SURNAMES)
        if rng.random() < 0.3:
            base = f"{base} & {rng.choice(SURNAMES)}"
        return base, rng.choice((f"{base} & Söhne", f"{base} Partner", base))
    base = rng.choice(US_PREFIX) + rng.choice(US_SUFFIX)
    return base, rng.choice((base, f"{base} Group", f"{base} Direct"))


def _groups(st: GenState) -> None:
    """4 % of customers are parents of 2-5 subsidiaries in the same region."""
    rng = st.rng
    n = len(st.customers)
    order = list(range(n))
    rng.shuffle(order)
    free = set(order)
    parents = order[: max(1, n // 25)]
    for p in parents:
        if p not in free:
            continue
        free.discard(p)
        parent = st.customers[p]
        base = parent.name.split()[0]
        holding = f"{base} Holding {'AG' if parent.is_eu else 'Inc.'}"
        st.customers[p] = _replace(
            parent, name=holding, legal_form="AG" if parent.is_eu else "Inc."
        )
        same = [i for i in order if i in free and st.customers[i].entity == parent.entity]
        for c in same[: rng.randint(2, 5)]:
            free.discard(c)
            st.customers[c] = _replace(st.customers[c], parent=parent.number)
            st.children[parent.number].append(st.customers[c].number)


def _replace(c: GenCustomer, **changes: object) -> GenCustomer:
    from dataclasses import replace

    return replace(c, **changes)  # type: ignore[arg-type]


def _due(terms: str, issued: date) -> date:
    if terms.startswith("EOM"):
        nxt = (issued.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1) + timedelta(days=int(terms.split("+")[1]))
    return issued + timedelta(days=int(terms.rsplit("NET", 1)[1]))


def _vat(c: GenCustomer) -> int:
    return 19 if c.country == "DE" else 20 if c.country == "AT" else 0


def _invoices(st: GenState) -> None:
    """Issue invoices over the months before the window until ``n_invoices`` are open at its
    start; the ones paid before it are history. Then the carried-over legacy items."""
    rng, cfg = st.rng, st.cfg
    weights = [rng.paretovariate(1.3) for _ in st.customers]
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    span = (LAST_ISSUE - HISTORY_START).days
    legacy = round(cfg.n_invoices * cfg.legacy_share)
    drafts: list[tuple[date, int, GenCustomer, int, str | None, bool, date]] = []
    open_count = 0
    n = 0
    while open_count < cfg.n_invoices - legacy:
        c = st.customers[bisect_left(cum, rng.random() * total)]
        issued = HISTORY_START + timedelta(days=rng.randrange(span + 1))
        while issued.weekday() >= 5:
            issued -= timedelta(days=1)
        paid = _paid_on(rng, c, issued)
        history = paid < EVAL_START
        amount = draw_amount(rng, _vat(c))
        po = f"4500{rng.randint(0, 999_999):06d}" if c.uses_po else None
        drafts.append((issued, n, c, amount, po, history, paid))
        open_count += not history
        n += 1
    drafts.sort(key=lambda d: (d[2].entity, d[0], d[1]))
    counters: dict[str, int] = defaultdict(int)
    for issued, _n, c, amount, po, history, paid in drafts:
        counters[c.entity] += 1
        inv = GenInvoice(
            entity=c.entity,
            number=f"INV-{issued.year}-{counters[c.entity]:06d}",
            customer=c.number,
            issue_date=issued,
            due_date=_due(c.terms, issued),
            currency=c.currency,
            amount_minor=amount,
            terms=c.terms,
            po_number=po,
            origin="issued",
            history=history,
            paid_on=paid if history else None,
        )
        st.invoices.append(inv)
    used: set[str] = set()
    for _ in range(legacy):
        c = rng.choice(st.customers)
        while True:
            number = (
                f"RE-{rng.randint(100_000, 199_999)}"
                if c.is_eu
                else str(rng.randint(90_000_000, 90_999_999))
            )
            if number not in used:
                used.add(number)
                break
        issued = date(2026, 1, 5) + timedelta(days=rng.randrange(150))
        st.invoices.append(
            GenInvoice(
                entity=c.entity,
                number=number,
                customer=c.number,
                issue_date=issued,
                due_date=issued,
                currency=c.currency,
                amount_minor=draw_amount(rng, _vat(c)),
                terms="DUE",
                po_number=None,
                origin="carried_over",
                history=False,
            )
        )
    for inv in st.invoices:
        if not inv.history:
            st.open_by_customer[inv.customer].append(inv)


def _paid_on(rng: random.Random, c: GenCustomer, issued: date) -> date:
    if c.terms.startswith("2/10") and rng.random() < 0.7:
        return issued + timedelta(days=rng.randint(3, 10))
    if rng.random() < 0.04:
        return date(2027, 6, 30)  # long overdue: still open
    due = _due(c.terms, issued)
    late = rng.randint(10, 60) if c.late_payer else round(rng.gauss(0, 5))
    return due + timedelta(days=late)


# --- history payments --------------------------------------------------------------------------


def _history_receipts(st: GenState) -> list[GenReceipt]:
    """One clean payment per history invoice: exact number, exact amount, own or parent name."""
    rng = st.rng
    out = []
    for inv in st.invoices:
        if not inv.history or inv.paid_on is None:
            continue
        c = st.by_number[inv.customer]
        payer = c
        kind = "self"
        if c.parent and rng.random() < 0.6:
            payer, kind = st.by_number[c.parent], "parent"
        account = payer_account(rng, payer, second_ok=False)
        paid_on = min(inv.paid_on, EVAL_START - timedelta(days=3))
        out.append(
            GenReceipt(
                key=next_key(st),
                scenario="history",
                variant="clean",
                payer_kind=kind,
                entity=inv.entity,
                account=account_for(inv.entity, inv.currency, "history"),
                channel="history",
                currency=inv.currency,
                value_date=paid_on,
                paid_minor=inv.amount_minor,
                payer_name=payer.name,
                payer_account=account,
                text=(inv.number,),
                customer=c.number,
                truth=(Truth("invoice", inv.number, inv.amount_minor),),
                history=True,
            )
        )
    return out
