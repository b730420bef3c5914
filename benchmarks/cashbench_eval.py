"""The pure-Python half of the cash-matching benchmark: no database.

* ``parse_files`` reads the generated files with the project's parsers (strict) and turns every
  credit into the ``ReceiptView`` the matcher would see, keyed by the generator's receipt (found
  by the bank reference), after the importer's de-duplication (same account and entry key) and
  with standalone X12 820 advices joined the way ``cash_apply`` joins them;
* ``build_indexes`` builds one ``MatchIndex`` per legal entity from the generator's open items,
  customers (registered aliases, parents) and the payer accounts the history taught;
* ``run_matcher`` applies ``match`` the way ``match_receipts`` does (value-date order, proposals
  at or above the threshold posted and consumed); ``amount_only`` and ``exact_reference`` are the
  two baselines;
* ``score`` compares outcomes with the truth: automatic share, wrong automatic applications (wrong
  invoice or customer, or the right items with another split), suggestions and how often they are
  right, overall and per scenario, variant, channel and payer kind.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from benchmarks.cashgen import GenInvoice, GenReceipt, World
from benchmarks.cashgen_files import OutFile

from billfold.domain.matching import (
    Customer,
    MatchIndex,
    OpenItem,
    Policy,
    Proposal,
    ReceiptView,
    match,
)
from billfold.domain.payments import BankEntry, RemittanceLine
from billfold.formats.detect import parse_bank_file

Alloc = tuple[str, str, int]  # (kind, invoice number or customer number for on_account, minor)


@dataclass(frozen=True, slots=True)
class Parsed:
    key: int
    entity: str
    view: ReceiptView


@dataclass
class ParseResult:
    receipts: list[Parsed]
    duplicates: int = 0
    advices: int = 0
    advices_joined: int = 0
    files: dict[str, int] = field(default_factory=dict)  # format -> files
    unknown: int = 0  # credits that are no generated receipt (must be 0)


def _entry_key(e: BankEntry) -> str:
    return f"{e.reference}|{e.value_date.isoformat()}|{e.amount}"[:200]


def _view(key: int, e: BankEntry, extra_lines: tuple[RemittanceLine, ...]) -> ReceiptView:
    gross = e.gross if e.gross is not None else e.amount + e.charges
    refs = tuple(x for x in (*e.structured_refs, e.end_to_end) if x)
    return ReceiptView(
        key,
        e.currency,
        int(gross * 100),
        e.value_date,
        e.payer_name,
        e.payer_account,
        refs,
        e.text,
        (*e.lines, *extra_lines),
        100,
    )


def parse_files(world: World, days: Sequence[tuple[date, Sequence[OutFile]]]) -> ParseResult:
    by_ref = world.by_reference()
    result = ParseResult([])
    advices: list[BankEntry] = []
    entries: list[tuple[str, BankEntry]] = []
    seen: set[tuple[str, str]] = set()
    for _day, files in days:
        for f in files:
            parsed = parse_bank_file(f.data, f.name)
            result.files[parsed.format] = result.files.get(parsed.format, 0) + 1
            if parsed.format == "x12_820":
                advices += parsed.entries
                continue
            for s in parsed.statements:
                for e in s.entries:
                    if not e.is_credit or e.is_return:
                        continue
                    dedupe = (s.account, _entry_key(e))
                    if dedupe in seen:
                        result.duplicates += 1
                        continue
                    seen.add(dedupe)
                    entries.append((s.account, e))
    result.advices = len(advices)
    by_trace = {a.reference: a for a in advices}
    for _account, e in entries:
        r = by_ref.get(e.reference)
        if r is None:
            result.unknown += 1
            continue
        keys = [e.reference, e.end_to_end, *e.structured_refs, *e.text]
        advice = next((by_trace.pop(k) for k in keys if k and k in by_trace), None)
        result.advices_joined += advice is not None
        lines = advice.lines if advice is not None else ()
        result.receipts.append(Parsed(r.key, r.entity, _view(r.key, e, lines)))
    return result


# --- indexes -----------------------------------------------------------------------------------


def customer_ids(world: World) -> dict[str, int]:
    return {c.number: n for n, c in enumerate(world.customers, 1)}


def open_item(inv: GenInvoice, cid: int) -> OpenItem:
    discount = inv.discount_date
    return OpenItem(
        cid,
        inv.number,
        inv.currency,
        inv.amount_minor,
        inv.amount_minor,
        inv.due_date,
        discount,
        Decimal(2) if discount else None,
        inv.po_number,
    )


def build_indexes(
    world: World,
    build: Callable[..., MatchIndex] = MatchIndex.build,
    accounts_of: Callable[[World], dict[str, str]] | None = None,
) -> dict[str, MatchIndex]:
    """One index per legal entity; ``build`` and ``accounts_of`` (payer account -> customer
    number; default: learned from the history, the last payment wins) let a variant of the
    matcher be measured on the same data."""
    ids = customer_ids(world)
    customers = [
        Customer(
            ids[c.number],
            c.number,
            c.name,
            (c.trade_name,) if c.trade_name and c.alias_registered else (),
            ids[c.parent] if c.parent else None,
        )
        for c in world.customers
    ]
    learned = (accounts_of or World.known_accounts)(world)
    accounts = {acct: ids[number] for acct, number in learned.items()}
    items: dict[str, list[OpenItem]] = defaultdict(list)
    for inv in world.open_invoices:
        items[inv.entity].append(open_item(inv, ids[inv.customer]))
    return {
        entity: build(entity_items, customers, accounts) for entity, entity_items in items.items()
    }


# --- outcomes ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    auto: list[Alloc] = field(default_factory=list)
    suggestion: list[Alloc] | None = None
    reason: str = ""
    confidence: int = 0


def allocations(p: Proposal, numbers: dict[int, str]) -> list[Alloc]:
    return [
        (
            a.kind,
            numbers.get(a.customer_id, "?") if a.kind == "on_account" else a.item_ref or "",
            a.amount_minor,
        )
        for a in p.allocations
    ]


def run_matcher(
    receipts: Sequence[Parsed],
    indexes: dict[str, MatchIndex],
    world: World,
    policy: Policy = Policy(),
    match_fn: Callable[[ReceiptView, MatchIndex, Policy], Proposal | None] = match,
) -> dict[int, Outcome]:
    """``match`` (or a variant) over the receipts in value-date order, posting (consuming) what
    is automatic, as ``match_receipts`` does."""
    numbers = {v: k for k, v in customer_ids(world).items()}
    out: dict[int, Outcome] = {}
    for p in sorted(receipts, key=lambda p: (p.view.value_date, p.key)):
        index = indexes[p.entity]
        proposal = match_fn(p.view, index, policy)
        outcome = Outcome()
        if proposal is not None:
            outcome.reason, outcome.confidence = proposal.reason, proposal.confidence
            allocs = allocations(proposal, numbers)
            if (
                proposal.confidence >= policy.auto_threshold
                and proposal.cash_minor <= p.view.amount_minor
            ):
                outcome.auto = allocs
                for a in proposal.allocations:
                    if a.kind != "on_account" and a.item_ref:
                        index.consume(a.item_ref, a.amount_minor)
            else:
                outcome.suggestion = allocs
        out[p.key] = outcome
    return out


# --- baselines ---------------------------------------------------------------------------------


def _open_amounts(world: World) -> dict[tuple[str, str], list[Any]]:
    """(entity, number) -> [currency, open] for every open item."""
    return {(i.entity, i.number): [i.currency, i.amount_minor] for i in world.open_invoices}


def amount_only(receipts: Sequence[Parsed], world: World) -> dict[int, Outcome]:
    """Apply when exactly one open item of anyone (same entity and currency) has the amount."""
    open_ = _open_amounts(world)
    by_amount: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for (entity, number), (cur, amount) in open_.items():
        by_amount[(entity, cur, amount)].add(number)
    out: dict[int, Outcome] = {}
    for p in sorted(receipts, key=lambda p: (p.view.value_date, p.key)):
        v = p.view
        hits = by_amount.get((p.entity, v.currency, v.amount_minor), set())
        outcome = Outcome()
        if len(hits) == 1:
            number = next(iter(hits))
            outcome.auto = [("invoice", number, v.amount_minor)]
            hits.discard(number)
            open_[(p.entity, number)][1] = 0
        out[p.key] = outcome
    return out


_SPLIT = re.compile(r"[\s,;]+")


def words(v: ReceiptView) -> list[str]:
    found = [*v.refs, *(ln.reference for ln in v.lines)]
    for line in v.text:
        found += [w.strip(".:()") for w in _SPLIT.split(line)]
    return [w for w in dict.fromkeys(found) if w]


def exact_reference(receipts: Sequence[Parsed], world: World) -> dict[int, Outcome]:
    """Apply when invoice numbers appear exactly (case aside) in the references or the text and
    the amount equals their open amount (the sum, when several are named)."""
    open_ = _open_amounts(world)
    numbers: dict[tuple[str, str], str] = {(e, n.upper()): n for e, n in open_}
    out: dict[int, Outcome] = {}
    for p in sorted(receipts, key=lambda p: (p.view.value_date, p.key)):
        v = p.view
        named = [
            numbers[(p.entity, w.upper())] for w in words(v) if (p.entity, w.upper()) in numbers
        ]
        named = [
            n
            for n in dict.fromkeys(named)
            if open_[(p.entity, n)][0] == v.currency and open_[(p.entity, n)][1] > 0
        ]
        outcome = Outcome()
        if named and sum(open_[(p.entity, n)][1] for n in named) == v.amount_minor:
            outcome.auto = [("invoice", n, open_[(p.entity, n)][1]) for n in named]
            for n in named:
                open_[(p.entity, n)][1] = 0
        out[p.key] = outcome
    return out


# --- scoring -----------------------------------------------------------------------------------


def truth_of(r: GenReceipt) -> list[Alloc]:
    return [(t.kind, t.ref, t.amount_minor) for t in r.truth]


@dataclass
class Tally:
    receipts: int = 0
    auto: int = 0
    correct: int = 0
    wrong: int = 0
    wrong_invoice: int = 0
    wrong_split: int = 0
    suggested: int = 0
    suggestion_right: int = 0
    left_alone: int = 0  # unmatchable receipts nobody touched

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = dict(vars(self))
        d["auto_share"] = _share(self.auto, self.receipts)
        d["wrong_share"] = _share(self.wrong, self.auto)
        d["suggested_share"] = _share(self.suggested, self.receipts)
        d["suggestion_right_share"] = _share(self.suggestion_right, self.suggested)
        return d


def _share(a: int, b: int) -> float | None:
    return round(a / b, 5) if b else None


def judge(r: GenReceipt, o: Outcome) -> str:
    """correct, wrong_invoice (an invoice or a customer the truth does not have), wrong_split
    (the right invoices and customer, other amounts or kinds), suggested_right, suggested_wrong,
    missed, left_alone (nothing to apply and nothing applied)."""
    truth = truth_of(r)
    if o.auto:
        if Counter(o.auto) == Counter(truth):
            return "correct"
        refs = {ref for k, ref, _ in o.auto}
        want = {ref for k, ref, _ in truth} | {r.customer or ""}
        return "wrong_split" if truth and refs <= want else "wrong_invoice"
    if o.suggestion is not None:
        return "suggested_right" if Counter(o.suggestion) == Counter(truth) else "suggested_wrong"
    return "left_alone" if not truth else "missed"


def score(world: World, outcomes: dict[int, Outcome]) -> dict[str, Any]:
    groups: dict[str, dict[str, Tally]] = {
        k: defaultdict(Tally) for k in ("scenario", "variant", "channel", "payer_kind")
    }
    total = Tally()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    examples: list[dict[str, Any]] = []
    for r in world.receipts:
        o = outcomes.get(r.key, Outcome())
        verdict = judge(r, o)
        tallies = [
            total,
            groups["scenario"][r.scenario],
            groups["variant"][f"{r.scenario}/{r.variant}"],
            groups["channel"][r.channel],
            groups["payer_kind"][r.payer_kind],
        ]
        for t in tallies:
            t.receipts += 1
            if o.auto:
                t.auto += 1
                t.correct += verdict == "correct"
                t.wrong += verdict != "correct"
                t.wrong_invoice += verdict == "wrong_invoice"
                t.wrong_split += verdict == "wrong_split"
            elif o.suggestion is not None:
                t.suggested += 1
                t.suggestion_right += verdict == "suggested_right"
            t.left_alone += verdict == "left_alone"
        if verdict not in ("correct", "left_alone"):
            reasons[r.scenario][f"{verdict}: {reason_kind(o.reason, o.confidence)}"] += 1
        if verdict in ("wrong_invoice", "wrong_split") and len(examples) < 40:
            examples.append(
                {
                    "receipt": r.key,
                    "scenario": f"{r.scenario}/{r.variant}",
                    "channel": r.channel,
                    "payer": r.payer_kind,
                    "truth": truth_of(r),
                    "applied": o.auto,
                    "reason": o.reason,
                }
            )
    return {
        "overall": total.as_dict(),
        **{k: {name: t.as_dict() for name, t in sorted(g.items())} for k, g in groups.items()},
        "miss_reasons": {s: c.most_common(6) for s, c in reasons.items()},
        "wrong_examples": examples,
    }


_QUOTED = re.compile(r"'[^']*'")
_REF = re.compile(r"\b[A-Z]{1,8}-\d{4}-\d+\b|\bRE-\d+\b|\b9\d{7}\b|\bC-\d+\b")
_NUMBER = re.compile(r"\d[\d.,]*")


def reason_kind(reason: str, confidence: int) -> str:
    """A matcher reason with names, numbers and amounts blanked, to count kinds of misses."""
    if not reason:
        return "no proposal"
    text = _NUMBER.sub("#", _REF.sub("<ref>", _QUOTED.sub("'…'", reason)))
    text = re.sub(r"(<ref> [^;]*?; )+", "<refs>; ", text)
    text = re.sub(r"(of |to |belong to )[A-Z][\w&.\- ]+?(;|$)", r"\1<name>\2", text)
    return f"{text[:110]} [{confidence}]"
