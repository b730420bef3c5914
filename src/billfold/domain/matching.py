"""Explainable cash matching: which customer paid, which open items, and why.

Pure rules over an in-memory index of open items; no I/O. Every proposal carries a confidence
(0-100) and a reason a clerk can read, e.g. "invoice INV-2026-000123 named in remittance,
amount equal". The service posts proposals at or above the auto threshold and keeps the rest as
suggestions.

Evidence, strongest first:

1. remittance lines that name invoices with amounts (camt RfrdDocInf, X12 RMR, payout rows);
2. invoice numbers found in the references and free text, tolerant to separators, missing
   prefixes, leading zeros and one-character typos; PO numbers;
3. the payer's account, learned from earlier confirmed matches; the payer's name against
   customer names and aliases (exact after normalisation, else fuzzy with rapidfuzz);
4. amounts: equal to the open amount, to open amount minus an early-payment discount taken in
   time, short within tolerance (written off), over (the rest kept on account), or a set of the
   customer's open items that adds up to the payment (bounded search).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz, process

from billfold.domain.payments import RemittanceLine


@dataclass(frozen=True, slots=True)
class OpenItem:
    customer_id: int
    number: str
    currency: str
    open_minor: int
    total_minor: int
    due_date: date
    discount_date: date | None = None
    discount_percent: Decimal | None = None
    po_number: str | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    number: str
    name: str
    aliases: tuple[str, ...] = ()
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReceiptView:
    id: int
    currency: str
    amount_minor: int  # what the payer paid (fees already added back)
    value_date: date
    payer_name: str | None = None
    payer_account: str | None = None
    refs: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    lines: tuple[RemittanceLine, ...] = ()
    minor_per_unit: int = 100


@dataclass(frozen=True, slots=True)
class Allocation:
    """``kind``: invoice (cash to an open item), discount, write_off (no cash), on_account."""

    kind: str
    customer_id: int
    item_ref: str | None
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Proposal:
    customer_id: int | None
    allocations: tuple[Allocation, ...]
    confidence: int
    reason: str

    @property
    def cash_minor(self) -> int:
        return sum(a.amount_minor for a in self.allocations if a.kind in ("invoice", "on_account"))


@dataclass(frozen=True, slots=True)
class Policy:
    auto_threshold: int = 90
    short_tolerance_percent: Decimal = Decimal("1")  # of the open amount ...
    short_tolerance_units: int = 25  # ... and at most this many currency units
    name_score: int = 88  # rapidfuzz WRatio needed to accept a payer name
    subset_max_items: int = 20
    subset_max_size: int = 4


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.# ]{2,40}[A-Za-z0-9]|[0-9]{3,}")
_YEAR_SEQ = re.compile(r"(?<![0-9])(20[0-9]{2})[^0-9A-Za-z]{0,3}0*([0-9]{1,9})(?![0-9])")
_OWN_NUMBER = re.compile(r"^[A-Z]{1,8}-(20[0-9]{2})-0*([0-9]+)$")
_LEGAL_FORMS = re.compile(
    r"\b(GMBH|AG|KG|SARL|SAS|SA|BV|NV|LTD|LIMITED|LLC|INC|CORP|CO|PLC|AB|AS|OY|KK|PTY|SRL|SPA)\b"
)


_NOT_ALNUM_ASCII = re.compile(r"[^A-Z0-9]+")


def normalize(text: str) -> str:
    """Upper case, letters and digits only: ``inv-2026/000123`` -> ``INV2026000123``."""
    upper = text.upper()
    if upper.isascii():  # the common case, in C: the same as the loop below for ASCII
        return _NOT_ALNUM_ASCII.sub("", upper)
    return "".join(ch for ch in upper if ch.isalnum())


_NOT_DIGIT_ASCII = re.compile(r"[^0-9]+")


def digits_of(text: str) -> str:
    """The digits of ``text``, in order."""
    if text.isascii():
        return _NOT_DIGIT_ASCII.sub("", text)
    return "".join(ch for ch in text if ch.isdigit())


_MORE_FORMS = re.compile(
    r"\b(GMBH|AG|KG|SARL|SAS|SA|BV|NV|LTD|LIMITED|LLC|LLP|LP|INC|INCORPORATED|CORP|CORPORATION|"
    r"CO|COMPANY|PLC|AB|AS|OY|KK|PTY|SRL|SPA|SE|OHG|UG|EK|HAFTUNGSBESCHRAENKT)\b"
)
_TRANSLIT = str.maketrans(
    {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "É": "E", "È": "E", "Ç": "C"}
)


def normalize_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9 ]", " ", name.upper().translate(_TRANSLIT))
    return " ".join(_MORE_FORMS.sub(" ", cleaned).split())


def _gaps(key: str) -> list[str]:
    """``key`` with the character at position i left out, for every i."""
    return [key[:i] + key[i + 1 :] for i in range(len(key))]


@dataclass
class MatchIndex:
    """Open items and customers, indexed the ways a payer may refer to them."""

    items: dict[str, OpenItem] = field(default_factory=dict)
    by_norm: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_year_seq: dict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    by_digits: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # by_gap[i][norm without its character i]: numbers of at least 8 characters, so a number
    # one substitution, insertion or deletion away is found by lookups, without comparing
    by_gap: list[dict[str, list[str]]] = field(default_factory=list)
    by_po: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_customer: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_amount: dict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    customers: dict[int, Customer] = field(default_factory=dict)
    names: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    accounts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        items: Iterable[OpenItem],
        customers: Iterable[Customer],
        accounts: dict[str, int] | None = None,
    ) -> MatchIndex:
        index = cls()
        for c in customers:
            index.customers[c.id] = c
            for name in (c.name, *c.aliases):
                index.names[normalize_name(name)].add(c.id)
        for item in items:
            index.add(item)
        index.accounts = {normalize(k): v for k, v in (accounts or {}).items()}
        return index

    def add(self, item: OpenItem) -> None:
        key = item.number
        self.items[key] = item
        norm = normalize(key)
        self.by_norm[norm].append(key)
        m = _OWN_NUMBER.match(key.upper())
        if m:
            self.by_year_seq[(m.group(1), int(m.group(2)))].append(key)
        digits = digits_of(key)
        if len(digits) >= 5:
            self.by_digits[digits].append(key)
        if len(norm) >= 8:
            gaps = self.by_gap
            while len(gaps) < len(norm):
                gaps.append({})
            for i, gap in enumerate(_gaps(norm)):
                at = gaps[i]
                if gap in at:
                    at[gap].append(key)
                else:
                    at[gap] = [key]
        if item.po_number:
            self.by_po[normalize(item.po_number)].append(key)
        self.by_customer[item.customer_id].append(key)
        self.by_amount[(item.currency, item.open_minor)].append(key)

    def consume(self, key: str, minor: int) -> None:
        """Lower an item's open amount after an application (later receipts see the rest)."""
        item = self.items[key]
        self.items[key] = replace(item, open_minor=item.open_minor - minor)
        self.by_amount[(item.currency, item.open_minor - minor)].append(key)

    # -- lookups ---------------------------------------------------------------------------
    def find_invoices(self, token: str) -> list[tuple[str, str]]:
        """Open items a token may name, with how: exact, format, missing prefix, typo, PO."""
        norm = normalize(token)
        if len(norm) < 3:
            return []
        if norm in self.by_norm:
            return [(k, "named") for k in self.by_norm[norm]]
        found: list[tuple[str, str]] = []
        for m in _YEAR_SEQ.finditer(token):
            for k in self.by_year_seq.get((m.group(1), int(m.group(2))), []):
                found.append((k, "named (separators, prefix or leading zeros differ)"))
        if found:
            return found
        digits = digits_of(token)
        if len(digits) >= 5 and digits in self.by_digits and len(digits) >= len(norm) - 4:
            return [(k, "named without its prefix") for k in self.by_digits[digits]]
        if norm in self.by_po:
            return [(k, "PO number named") for k in self.by_po[norm]]
        if len(norm) >= 8:
            found = [(k, "named with a one-character typo") for k in self._one_edit(norm)]
        return found

    def _one_edit(self, norm: str) -> list[str]:
        """Numbers (8+ characters) at most one substitution, insertion or deletion from
        ``norm`` (Levenshtein distance <= 1), in a stable order."""
        gaps, found = self.by_gap, list[str]()
        for i, gap in enumerate(_gaps(norm)):
            if i < len(gaps):  # same length: one character differs (or none)
                found.extend(gaps[i].get(gap, ()))
            if len(gap) >= 8:  # one character shorter
                found.extend(self.by_norm.get(gap, ()))
        for j in range(min(len(norm) + 1, len(gaps))):  # one character longer
            found.extend(gaps[j].get(norm, ()))
        return list(dict.fromkeys(found))

    def neighbours(self, token: str) -> set[str]:
        """Open items one edit or one adjacent transposition away from ``token``."""
        norm = normalize(token)
        if len(norm) < 8:
            return set()
        found = set(self._one_edit(norm))
        for i in range(len(norm) - 1):
            swapped = norm[:i] + norm[i + 1] + norm[i] + norm[i + 2 :]
            found.update(self.by_norm.get(swapped, ()))
        return found

    def customer_by_name(self, name: str | None, score: int) -> tuple[int | None, str]:
        cache = self.__dict__.setdefault("_name_cache", {})
        key = (name, score)
        if key not in cache:
            cache[key] = self._customer_by_name(name, score)
        return cache[key]  # type: ignore[no-any-return]

    def _customer_by_name(self, name: str | None, score: int) -> tuple[int | None, str]:
        if not name:
            return None, ""
        norm = normalize_name(name)
        ids = self.names.get(norm)
        if ids and len(ids) == 1:
            return next(iter(ids)), f"payer name '{name}' is the customer's name"
        if not norm or not self.names:
            return None, ""
        if len(norm) >= 12:  # cut by the channel (NACHA 16, BAI2 35)
            ordered = self.__dict__.get("_sorted")
            if ordered is None:
                ordered = self.__dict__["_sorted"] = sorted(self.names)
            starts = set()
            for k in ordered[bisect_left(ordered, norm) :]:
                if not k.startswith(norm):
                    break
                if len(k) > len(norm):
                    starts.add(k)
            if len(starts) == 1:
                ids = self.names[next(iter(starts))]
                if len(ids) == 1:
                    cid = next(iter(ids))
                    return cid, f"payer name '{name}' is the start of '{self.customers[cid].name}'"
        words = self.__dict__.get("_words")
        if words is None:
            words = defaultdict(set)
            for k in self.names:
                for w in k.split():
                    if len(w) >= 3:
                        words[w].add(k)
            self.__dict__["_words"] = words
        # fuzzy-match only against names that share an uncommon word with the payer's
        limit = max(50, len(self.names) // 20)
        pool = [
            words[w] for w in norm.split() if len(w) >= 3 and 0 < len(words.get(w, ())) <= limit
        ]
        if not pool:
            return None, ""
        keys = list(set().union(*pool))
        best = process.extract(
            norm,
            keys,
            scorer=fuzz.WRatio,
            limit=2,
            score_cutoff=score - 4,
        )
        if best and best[0][1] >= score and (len(best) == 1 or best[1][1] < best[0][1] - 3):
            ids = self.names[best[0][0]]
            if len(ids) == 1:
                return next(iter(ids)), (
                    f"payer name '{name}' resembles "
                    f"'{self.customers[next(iter(ids))].name}' "
                    f"({best[0][1]:.0f}%)"
                )
        return None, ""


_COMPRESSED = re.compile(r"\b([A-Z]{1,8}-20[0-9]{2}-[0-9]{3,9})((?:\s?[/+&]\s?[0-9]{1,4}\b)+)")


def _expand(line: str) -> list[str]:
    """``INV-2026-000123/124/130`` -> the three numbers."""
    out = []
    for m in _COMPRESSED.finditer(line):
        first = m.group(1)
        out.append(first)
        for tail in re.findall(r"[0-9]{1,4}", m.group(2)):
            out.append(first[: len(first) - len(tail)] + tail)
    return out


def tokens(receipt: ReceiptView) -> list[str]:
    """Candidate references: structured refs, remittance lines, then words of the free text."""
    found = [*receipt.refs, *(ln.reference for ln in receipt.lines)]
    for line in receipt.text:
        found.extend(_expand(line))
        found.extend(t.strip() for t in _TOKEN.findall(line))
        found.extend(line.replace(",", " ").replace(";", " ").split())
    return [t for t in dict.fromkeys(found) if any(ch.isdigit() for ch in t)]


def _units(minor: int, unit: int) -> str:
    """Minor units as an amount with the currency's decimals (1030 -> '1030.00')."""
    places = len(str(unit)) - 1
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def _tolerance(item_open: int, policy: Policy, unit: int) -> int:
    pct = int(Decimal(item_open) * policy.short_tolerance_percent / 100)
    return min(pct, policy.short_tolerance_units * unit)


def _discount(item: OpenItem, on: date) -> int:
    """The early-payment discount the payer may take on ``on`` (0 when out of terms)."""
    if item.discount_percent is None or item.discount_date is None or on > item.discount_date:
        return 0
    if item.open_minor != item.total_minor:
        return 0
    return int((Decimal(item.total_minor) * item.discount_percent / 100).to_integral_value())


def match(receipt: ReceiptView, index: MatchIndex, policy: Policy = Policy()) -> Proposal | None:
    """The best explanation of a receipt, or None when nothing points anywhere."""
    found = tokens(receipt)
    named = _named_items(receipt, index, found)
    customer_id, why_customer = _identify_customer(receipt, index, named)
    payer = customer_id if why_customer.startswith("payer") else None
    corrected = _confirm_by_amount(receipt, index, named, payer, found)
    if corrected is not named:
        named = corrected
        customer_id, why_customer = _identify_customer(receipt, index, named)
    if receipt.lines and any(ln.amount is not None for ln in receipt.lines):
        payer = customer_id if why_customer.startswith("payer") else None
        proposal = _by_remittance_lines(receipt, index, policy, payer)
        if proposal is not None:
            return proposal
    if named:
        return _by_named_items(receipt, index, named, customer_id, why_customer, policy)
    if customer_id is not None:
        return _by_amount(receipt, index, customer_id, why_customer, policy)
    return _amount_only(receipt, index)


_HOW_RANK = ("named", "PO number named", "named (separators", "named without", "named with a one")


def _rank(how: str) -> int:
    if how == "named":
        return 0
    return next(
        (n for n, prefix in enumerate(_HOW_RANK) if n and how.startswith(prefix)), len(_HOW_RANK)
    )


def _named_items(
    receipt: ReceiptView, index: MatchIndex, found: Sequence[str] | None = None
) -> dict[str, str]:
    """Open items the receipt names (``found``: its tokens), each with the most certain way it
    was named."""
    named: dict[str, str] = {}
    for token in tokens(receipt) if found is None else found:
        for key, how in index.find_invoices(token):
            item = index.items[key]
            if item.currency != receipt.currency or item.open_minor <= 0:
                continue
            if key not in named or _rank(how) < _rank(named[key]):
                named[key] = how
    return named


def _confirm_by_amount(
    receipt: ReceiptView,
    index: MatchIndex,
    named: dict[str, str],
    payer: int | None,
    found: Sequence[str] | None = None,
) -> dict[str, str]:
    """When the items named do not add up to the payment, an open item one character away from
    a reference whose open amount is the payment (less its discount in terms) is the one meant:
    ``INV-2026-011866`` written, ``INV-2026-011876`` of exactly that amount open."""
    amount = receipt.amount_minor
    items = [index.items[k] for k in named]
    if items and sum(i.open_minor for i in items) == amount:
        return named

    def fits(i: OpenItem) -> bool:
        if i.currency != receipt.currency or i.open_minor <= 0:
            return False
        if payer is not None and not _same_family(index, payer, i.customer_id):
            return False
        d = _discount(i, receipt.value_date)
        return i.open_minor == amount or (d > 0 and i.open_minor - d == amount)

    candidates: set[str] = set(named)
    for t in tokens(receipt) if found is None else found:
        candidates |= index.neighbours(t)
    ok = [k for k in candidates if fits(index.items[k])]
    if len(ok) != 1 or (ok[0] in named and len(named) == 1):
        return named
    if any(h == "named" for h in named.values()) and payer is None:
        return named  # an invoice named exactly and nobody to tell it is not meant
    return {ok[0]: "named with one character wrong; the amount confirms it"}


def _identify_customer(
    receipt: ReceiptView, index: MatchIndex, named: dict[str, str]
) -> tuple[int | None, str]:
    if receipt.payer_account:
        cid = index.accounts.get(normalize(receipt.payer_account))
        if cid is not None:
            return cid, f"payer account {receipt.payer_account} paid this customer before"
    if receipt.payer_name:
        cid, why = index.customer_by_name(receipt.payer_name, Policy().name_score)
        if cid is not None:
            return cid, why
    owners = {index.items[k].customer_id for k in named}
    if len(owners) == 1:
        cid = owners.pop()
        return cid, f"the invoices named belong to {index.customers[cid].name}"
    return index.customer_by_name(receipt.payer_name, Policy().name_score)


def _same_family(index: MatchIndex, a: int, b: int) -> bool:
    ca, cb = index.customers.get(a), index.customers.get(b)
    if (
        ca is not None
        and cb is not None
        and ca.parent_id is not None
        and ca.parent_id == cb.parent_id
    ):
        return True  # siblings: one group, one payment factory
    return (
        a == b or (ca is not None and ca.parent_id == b) or (cb is not None and cb.parent_id == a)
    )


def _family(index: MatchIndex, cid: int) -> list[int]:
    """The customer, its parent, the parent's other children and its own children."""
    c = index.customers.get(cid)
    top = c.parent_id if c is not None and c.parent_id is not None else cid
    kids = index.__dict__.get("_children")
    if kids is None:
        kids = defaultdict(list)
        for x in index.customers.values():
            if x.parent_id is not None:
                kids[x.parent_id].append(x.id)
        index.__dict__["_children"] = kids
    return [top, *kids.get(top, [])]


_PARTIAL_WORDS = re.compile(
    r"TEILZAHL|PARTIAL|ABSCHLAG|RATE\b|INSTAL|ANZAHL|RESTZAHL|SKONTO|DISCOUNT|ABZGL|LESS", re.I
)


def _by_remittance_lines(
    receipt: ReceiptView, index: MatchIndex, policy: Policy, payer: int | None = None
) -> Proposal | None:
    caution: list[str] = []
    allocations: list[Allocation] = []
    reasons: list[str] = []
    unit = receipt.minor_per_unit
    for ln in receipt.lines:
        if ln.amount is None:
            continue
        hits = [
            k
            for k, _ in index.find_invoices(ln.reference)
            if index.items[k].currency == receipt.currency and index.items[k].open_minor > 0
        ]
        if len(hits) != 1:
            return None
        item = index.items[hits[0]]
        paid = int((ln.amount * unit).to_integral_value())
        if (
            ln.invoiced_amount is not None
            and int((ln.invoiced_amount * unit).to_integral_value()) != item.total_minor
        ):
            return None  # the line describes another document than the one found
        allocations.append(
            Allocation("invoice", item.customer_id, item.number, min(paid, item.open_minor))
        )
        rest = item.open_minor - paid
        disc = int((ln.discount or 0) * unit)
        if rest > 0 and not disc:
            in_terms = _discount(item, receipt.value_date)
            if in_terms and abs(rest - in_terms) <= 1:
                disc = rest
        if disc and _discount(item, receipt.value_date) == 0 and rest > 0:
            caution.append("discount outside the terms")
        if paid > item.open_minor:
            caution.append("paid more than open")
        if (
            rest > _tolerance(item.open_minor, policy, unit)
            and not disc
            and ln.invoiced_amount is None
            and payer is None
        ):
            caution.append("part payment of an invoice nobody confirms")
        if rest > 0 and disc and abs(rest - disc) <= 1:
            allocations.append(Allocation("discount", item.customer_id, item.number, rest))
            reasons.append(
                f"{item.number} paid {ln.amount} with discount {ln.discount} per remittance"
            )
        elif 0 < rest <= _tolerance(item.open_minor, policy, unit):
            allocations.append(Allocation("write_off", item.customer_id, item.number, rest))
            reasons.append(f"{item.number} short by {_units(rest, unit)} (within tolerance)")
        elif paid > item.open_minor:
            reasons.append(f"{item.number} paid more than open")
        else:
            reasons.append(f"{item.number} {ln.amount} per remittance")
    if not allocations:
        return None
    customers = {a.customer_id for a in allocations}
    cid = allocations[0].customer_id
    used = sum(a.amount_minor for a in allocations if a.kind == "invoice")
    over = used - receipt.amount_minor
    tol = sum(
        _tolerance(index.items[a.item_ref].open_minor, policy, unit)
        for a in allocations
        if a.kind == "invoice" and a.item_ref
    )
    if 0 < over <= tol and not any(a.kind != "invoice" for a in allocations):
        last = allocations[-1]
        allocations[-1] = Allocation(
            "invoice", last.customer_id, last.item_ref, last.amount_minor - over
        )
        allocations.append(Allocation("write_off", last.customer_id, last.item_ref, over))
        reasons.append(f"{_units(over, unit)} less than the lines (a fee deducted): written off")
        used -= over
    if used > receipt.amount_minor:
        return Proposal(
            cid,
            tuple(allocations),
            60,
            "remittance lines add up to more than the payment: " + "; ".join(reasons),
        )
    extra = receipt.amount_minor - used
    if extra:
        allocations.append(Allocation("on_account", cid, None, extra))
        reasons.append(f"{_units(extra, unit)} more than the items: kept on account")
    confidence = 99 if len(customers) == 1 else 80
    if payer is not None and not all(_same_family(index, payer, c) for c in customers):
        confidence = 68
        reasons.append("but the payer looks like another customer")
    if caution:
        confidence = min(confidence, 85)
        reasons.append("a human should look: " + ", ".join(dict.fromkeys(caution)))
    return Proposal(cid, tuple(allocations), confidence, "remittance names " + "; ".join(reasons))


def _by_named_items(
    receipt: ReceiptView,
    index: MatchIndex,
    named: dict[str, str],
    customer_id: int | None,
    why: str,
    policy: Policy,
) -> Proposal:
    items = sorted((index.items[k] for k in named), key=lambda i: (i.due_date, i.number))
    owners = {i.customer_id for i in items}
    cid = items[0].customer_id if customer_id is None else customer_id
    penalty = 0
    if customer_id is not None and not all(_same_family(index, customer_id, o) for o in owners):
        penalty = 30  # the payer looks like someone else: a human should look
    exact_named = all(h == "named" for h in named.values())
    base = (98 if exact_named else 93) - penalty
    how = "; ".join(f"{k} {named[k]}" for k in named)
    total = sum(i.open_minor for i in items)
    amount, unit = receipt.amount_minor, receipt.minor_per_unit
    alloc = [Allocation("invoice", i.customer_id, i.number, i.open_minor) for i in items]
    if amount == total:
        return Proposal(cid, tuple(alloc), base, f"{how}; amount equal")
    discount = sum(_discount(i, receipt.value_date) for i in items)
    if discount and amount == total - discount:
        allocs = []
        for i in items:
            d = _discount(i, receipt.value_date)
            allocs += [
                Allocation("invoice", i.customer_id, i.number, i.open_minor - d),
                Allocation("discount", i.customer_id, i.number, d),
            ]
        return Proposal(
            cid,
            tuple(a for a in allocs if a.amount_minor),
            base - 2,
            f"{how}; early-payment discount of {_units(discount, unit)} taken within terms",
        )
    independent = why.startswith("payer") and penalty == 0
    hinted = any(_PARTIAL_WORDS.search(t) for t in receipt.text)
    if amount > total:
        extra = amount - total
        if not independent:
            base = min(base, 90)  # over-paid and nobody to confirm the payer: a human decides
        return Proposal(
            cid,
            (*alloc, Allocation("on_account", cid, None, extra)),
            base - 5,
            f"{how}; paid {_units(extra, unit)} more: kept on account",
        )
    short = total - amount
    tolerance = sum(_tolerance(i.open_minor, policy, unit) for i in items)
    if short <= tolerance:
        last = items[-1]
        alloc[-1] = Allocation("invoice", last.customer_id, last.number, last.open_minor - short)
        return Proposal(
            cid,
            (*alloc, Allocation("write_off", last.customer_id, last.number, short)),
            base - 6,
            f"{how}; short by {_units(short, unit)}, within tolerance: written off",
        )
    if not independent and not hinted:
        base = min(base, 93)  # a short payment nobody explains: a human decides
    # partial payment: oldest first, the rest stays open with a reason
    left, partial = amount, []
    for i in items:
        take = min(left, i.open_minor)
        if take > 0:
            partial.append(Allocation("invoice", i.customer_id, i.number, take))
        left -= take
    return Proposal(
        cid,
        tuple(partial),
        base - 8,
        f"{how}; short by {_units(short, unit)}: applied oldest first, the rest "
        "left open (short payment)",
    )


def _by_amount(
    receipt: ReceiptView, index: MatchIndex, cid: int, why: str, policy: Policy
) -> Proposal | None:
    members = _family(index, cid)
    items = sorted(
        (
            index.items[k]
            for m in members
            for k in index.by_customer.get(m, ())
            if index.items[k].currency == receipt.currency and index.items[k].open_minor > 0
        ),
        key=lambda i: (i.due_date, i.number),
    )
    amount, unit = receipt.amount_minor, receipt.minor_per_unit
    equal = [i for i in items if i.open_minor == amount]
    if len(equal) == 1:
        i = equal[0]
        return Proposal(
            cid,
            (Allocation("invoice", i.customer_id, i.number, amount),),
            91,
            f"{why}; the only open item of {_units(amount, unit)}: {i.number}",
        )
    if len(equal) > 1:
        i = equal[0]
        return Proposal(
            cid,
            (Allocation("invoice", i.customer_id, i.number, amount),),
            70,
            f"{why}; {len(equal)} open items of {_units(amount, unit)}, oldest {i.number} proposed",
        )
    with_discount = [
        i
        for i in items
        if _discount(i, receipt.value_date)
        and i.open_minor - _discount(i, receipt.value_date) == amount
    ]
    if len(with_discount) == 1:
        i = with_discount[0]
        d = _discount(i, receipt.value_date)
        return Proposal(
            cid,
            (
                Allocation("invoice", i.customer_id, i.number, amount),
                Allocation("discount", i.customer_id, i.number, d),
            ),
            90,
            f"{why}; {i.number} less its early-payment discount",
        )
    combo = _subset(items[: policy.subset_max_items], amount, policy.subset_max_size)
    if combo:  # exactly one set adds up ([] when several do: a human decides)
        numbers = ", ".join(i.number for i in combo)
        return Proposal(
            cid,
            tuple(Allocation("invoice", i.customer_id, i.number, i.open_minor) for i in combo),
            90,
            f"{why}; open items {numbers} add up to the payment",
        )
    if why:
        return Proposal(
            cid,
            (Allocation("on_account", cid, None, amount),),
            50,
            f"{why}; no open item or set of items matches {_units(amount, unit)}",
        )
    return None


def _subset(items: Sequence[OpenItem], target: int, max_size: int) -> list[OpenItem] | None:
    """The unique set of 2..max_size items adding up to ``target``; [] if several; None if none."""
    found: list[list[OpenItem]] = []
    amounts = [i.open_minor for i in items]

    def search(start: int, left: int, chosen: list[int]) -> None:
        if len(found) > 1:
            return
        if left == 0 and len(chosen) >= 2:
            found.append([items[i] for i in chosen])
            return
        if len(chosen) == max_size:
            return
        for j in range(start, len(items)):
            if 0 < amounts[j] <= left:
                search(j + 1, left - amounts[j], [*chosen, j])

    search(0, target, [])
    if not found:
        return None
    return found[0] if len(found) == 1 else []


def _amount_only(receipt: ReceiptView, index: MatchIndex) -> Proposal | None:
    """No reference, no known payer: an equal amount is only ever a suggestion."""
    keys = dict.fromkeys(index.by_amount.get((receipt.currency, receipt.amount_minor), ()))
    hits = [index.items[k] for k in keys if index.items[k].open_minor == receipt.amount_minor]
    if len(hits) == 1:
        i = hits[0]
        name = index.customers[i.customer_id].name if i.customer_id in index.customers else ""
        if receipt.payer_name and name:
            similar = fuzz.token_set_ratio(normalize_name(receipt.payer_name), normalize_name(name))
            if similar >= 85:
                return Proposal(
                    i.customer_id,
                    (Allocation("invoice", i.customer_id, i.number, receipt.amount_minor),),
                    90,
                    f"the only open item of the amount, {i.number}, belongs to {name}, "
                    f"whom the payer name '{receipt.payer_name}' resembles ({similar:.0f}%)",
                )
        return Proposal(
            i.customer_id,
            (Allocation("invoice", i.customer_id, i.number, receipt.amount_minor),),
            60,
            f"only the amount matches {i.number} of {name}; payer unknown",
        )
    return None
