"""ANSI ASC X12 820 Payment Order / Remittance Advice: bytes in, ``BankFile`` out.

``read_x12(text)`` reads three shapes of X12 text and returns what it found with every problem:

* a whole interchange (``ISA ... IEA``): separators come from the ISA segment (element separator
  at position 3, component separator ISA16, segment terminator right after ISA16);
* a bare transaction set (``ST ... SE``, as carried in NACHA CTX addenda): the element separator is
  the character after ``ST`` (any character, also a non-ASCII one such as ``¦``) and the segment
  terminator the first character after ``ST01``/``ST02``/``ST03`` that is neither a letter, a
  digit nor the element separator;
* loose remittance segments (``RMR*IV*INV-1**100.00\\``, as in a CCD+ addenda).

One ``ST``/``SE`` transaction becomes one ``Remittance``: BPR (amount, credit/debit flag, payment
method, both banks and accounts, date), TRN (trace), CUR (currency), N1 PR/PE (payer, payee),
heading REF/DTM, ENT, RMR (one ``RemittanceLine`` each: IV invoice, PO, CR/CM credit memo; amount
paid, original amount, discount) and ADX adjustments (an ADX inside an RMR loop annotates that
line; one at entity level becomes a line of its own, kind ``other``).

Checked, each as a ``RowError`` (line = physical line of the segment; the reason names segment
numbers inside the transaction set): SE01 count and SE02 control number, GE01/GE02 and IEA01/IEA02
when present, missing trailers (a cut file), amounts, dates, currency, and that the RMR amounts
paid plus entity-level ADX adjustments add up to BPR02 (when every RMR has an amount). With
``strict=False`` the counts and the balance become warnings instead.

``parse_x12_820(data, filename)`` turns a standalone 820 file into a ``BankFile`` (format
``x12_820``): one ``Statement`` per payee account (BPR15, else ``REMITTANCE``) and currency, one
``BankEntry`` per transaction set.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import CurrencyError, FileRejected, RowError
from billfold.money import Currency

LineOf = Callable[[int], int]

_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_FIRST_SEGMENT = re.compile(r"([A-Z][A-Z0-9]{1,2})([^A-Za-z0-9\s])")
_AMOUNT = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_REMITTANCE_TAGS = frozenset({"ISA", "GS", "ST", "BPR", "TRN", "RMR", "ADX", "REF", "ENT", "NTE"})
_LOOSE_TAGS = frozenset({"RMR", "ADX", "REF", "DTM", "NTE", "TRN", "ENT", "N1", "IT1"})
_TERMINATOR_GUESSES = ("~", "\\", "'")
_KINDS = {"IV": "invoice", "R7": "invoice", "OI": "invoice", "PO": "po"}
_KINDS |= {"CR": "credit_note", "CM": "credit_note"}
DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class Separators:
    """The three X12 delimiters of one text."""

    element: str
    segment: str
    component: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: ``elements[0]`` is the tag; ``number`` counts segments from 1 in the text."""

    elements: tuple[str, ...]
    line: int
    number: int

    @property
    def tag(self) -> str:
        return self.elements[0]

    def el(self, n: int) -> str:
        """Element ``n`` (X12 numbering, 1-based) stripped, or '' when absent."""
        return self.elements[n].strip() if n < len(self.elements) else ""


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 820 transaction set. ``amount`` is BPR02, negative when BPR03 is D (debit)."""

    control_number: str
    line: int
    amount: Decimal
    currency: str
    handling: str
    method: str | None
    payment_date: date | None
    trace: str | None
    payer_name: str | None
    payee_name: str | None
    payer_account: str | None
    payer_bank: str | None
    payee_account: str | None
    payee_bank: str | None
    lines: tuple[RemittanceLine, ...]
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class X12Result:
    """Everything ``read_x12`` found: transactions, loose RMR lines, problems and notes."""

    remittances: tuple[Remittance, ...]
    loose_lines: tuple[RemittanceLine, ...]
    interchange_id: str | None
    created: date | None
    errors: tuple[RowError, ...]
    warnings: tuple[str, ...]

    @property
    def lines(self) -> tuple[RemittanceLine, ...]:
        """Every remittance line, from all transactions and loose segments."""
        return tuple(x for r in self.remittances for x in r.lines) + self.loose_lines


# -- separators and segments -------------------------------------------------------------------


def looks_like_x12(text: str) -> bool:
    """True when ``text`` starts like X12 remittance data (ISA, ST, RMR, ... + a separator)."""
    match = _FIRST_SEGMENT.match(text.lstrip("\ufeff \r\n\t"))
    return match is not None and match.group(1) in _REMITTANCE_TAGS | _LOOSE_TAGS


def detect_separators(text: str) -> Separators:
    """Find the element, segment (and component) separators; ``ValueError`` when not X12."""
    head = text.lstrip("\ufeff \r\n\t")
    if head.startswith("ISA") and len(head) > 3:
        return _isa_separators(head)
    match = _FIRST_SEGMENT.match(head)
    if not match:
        raise ValueError("the text does not start with an X12 segment (ISA, ST, RMR ...)")
    element = match.group(2)
    if match.group(1) == "ST":
        return Separators(element, _st_terminator(head, element))
    return Separators(element, _guess_terminator(head, element))


def _isa_separators(head: str) -> Separators:
    element = head[3]
    seen = 0
    for i, ch in enumerate(head):
        if ch == element:
            seen += 1
            if seen == 16:
                if i + 2 >= len(head):
                    break
                return Separators(element, _newline(head[i + 2]), head[i + 1])
    raise ValueError("the ISA segment is cut short: fewer than 16 elements and a terminator")


def _st_terminator(head: str, element: str) -> str:
    for ch in head[3:]:
        if not (ch.isalnum() or ch == element):
            return _newline(ch)
    return "\n"


def _guess_terminator(head: str, element: str) -> str:
    last = head.rstrip()[-1]
    if not last.isalnum() and last != element and last not in ".-/ ":
        return _newline(last)
    for guess in _TERMINATOR_GUESSES:
        if guess in head and guess != element:
            return guess
    return "\n"


def _newline(ch: str) -> str:
    return "\n" if ch in "\r\n" else ch


def line_counter(text: str) -> LineOf:
    """Map a character offset of ``text`` to its 1-based line number."""
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    return lambda offset: bisect_right(starts, offset)


def split_segments(text: str, seps: Separators, line_of: LineOf) -> list[Segment]:
    """Cut ``text`` into segments, remembering where each starts."""
    segments: list[Segment] = []
    start = 0
    while start < len(text):
        end = text.find(seps.segment, start)
        end = len(text) if end < 0 else end
        chunk = text[start:end]
        body = chunk.strip().replace("\r", "")
        if body:
            lead = len(chunk) - len(chunk.lstrip())
            segments.append(
                Segment(tuple(body.split(seps.element)), line_of(start + lead), len(segments) + 1)
            )
        start = end + 1
    return segments


# -- reading ------------------------------------------------------------------------------------


@dataclass
class _Problems:
    """Errors and warnings of one read; totals checks go to warnings when not strict."""

    strict: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, seg: Segment, column: str, value: str, reason: str) -> None:
        self.errors.append(RowError(seg.line, column, value, reason))

    def control(self, seg: Segment, column: str, value: str, reason: str) -> None:
        if self.strict:
            self.error(seg, column, value, reason)
        else:
            self.warnings.append(f"line {seg.line}, {column} '{value}': {reason}")


def _amount(p: _Problems, seg: Segment, n: int, *, required: bool = False) -> Decimal | None:
    raw = seg.el(n)
    column = f"{seg.tag}{n:02d}"
    if not raw:
        if required:
            p.error(seg, column, "", "required amount is missing")
        return None
    if not _AMOUNT.fullmatch(raw):
        p.error(seg, column, raw, "not a decimal amount")
        return None
    return Decimal(raw)


def _date(p: _Problems, seg: Segment, n: int) -> date | None:
    raw = seg.el(n)
    if not raw:
        return None
    for fmt, width in (("%Y%m%d", 8), ("%y%m%d", 6)):
        if len(raw) == width and raw.isdigit():
            try:
                return datetime.strptime(raw, fmt).date()
            except ValueError:
                break
    p.error(seg, f"{seg.tag}{n:02d}", raw, "not a date (CCYYMMDD)")
    return None


@dataclass
class _Lines:
    """Collects RMR lines (with the REF/DTM/ADX of their loops) and entity-level ADX lines."""

    p: _Problems
    origin: int = 0  # number of the segment before ST, so positions count from ST = 1
    built: list[tuple[Segment, RemittanceLine]] = field(default_factory=list)
    current: tuple[Segment, RemittanceLine, list[str]] | None = None
    missing_amounts: list[Segment] = field(default_factory=list)

    def add(self, seg: Segment) -> bool:
        """Take a segment of the detail area; False when it is not one of ours."""
        if seg.tag in ("RMR", "ENT"):
            self.close()
            if seg.tag == "RMR":
                self.current = self._rmr(seg)
        elif seg.tag == "ADX":
            self._adx(seg)
        elif seg.tag in ("REF", "DTM", "NTE") and self.current is not None:
            self.current[2].append(" ".join(e for e in seg.elements[1:] if e.strip()))
        else:
            return False
        return True

    def pos(self, seg: Segment) -> int:
        """The segment's position inside its transaction set (ST is 1)."""
        return seg.number - self.origin

    def close(self) -> None:
        if self.current is not None:
            seg, line, notes = self.current
            self.built.append((seg, replace(line, note="; ".join(notes) or None)))
            self.current = None

    def _rmr(self, seg: Segment) -> tuple[Segment, RemittanceLine, list[str]]:
        qualifier, reference = seg.el(1), seg.el(2)
        if not reference:
            self.p.error(seg, "RMR02", "", f"segment {self.pos(seg)}: RMR without a reference")
        amount = _amount(self.p, seg, 4)
        if amount is None and _AMOUNT.fullmatch(seg.el(3)):
            amount = _amount(self.p, seg, 3)  # amount written one element early (RMR*IV*1*9.50)
        if amount is None:
            self.missing_amounts.append(seg)
        kind = _KINDS.get(qualifier, "other")
        notes = [] if kind != "other" else [f"RMR01 {qualifier}"]
        if seg.el(8):
            notes.append(f"adjustment {seg.el(8)} reason {seg.el(7)}")
        invoiced, discount = _amount(self.p, seg, 5), _amount(self.p, seg, 6)
        return seg, RemittanceLine(reference, kind, amount, invoiced, discount), notes

    def _adx(self, seg: Segment) -> None:
        amount = _amount(self.p, seg, 1, required=True)
        reason = seg.el(2)
        if self.current is not None:
            self.current[2].append(f"adjustment {seg.el(1)} reason {reason}")
        elif amount is not None:
            reference = seg.el(4) or f"ADX {reason}".strip()
            line = RemittanceLine(reference, "other", amount, note=f"adjustment reason {reason}")
            self.built.append((seg, line))

    def lines(self) -> tuple[RemittanceLine, ...]:
        self.close()
        return tuple(line for _, line in self.built)


@dataclass
class _Transaction:
    """One ST ... SE transaction set being read."""

    st: Segment
    p: _Problems
    lines: _Lines
    count: int = 1
    bpr: Segment | None = None
    trace: str | None = None
    currency: str | None = None
    cur_seg: Segment | None = None
    dates: list[date] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    details: list[tuple[str, str]] = field(default_factory=list)
    seen_detail: bool = False

    def add(self, seg: Segment) -> None:
        self.count += 1
        if self.lines.add(seg):
            self.seen_detail = True
        elif seg.tag == "BPR" and self.bpr is not None:
            self.p.error(seg, "BPR", "", f"segment {self.lines.pos(seg)}: a second BPR")
        elif seg.tag == "BPR":
            self.bpr = seg
        elif seg.tag == "TRN":
            self.trace = self.trace or seg.el(2) or None
            if seg.el(3):
                self.details.append(("originating_company", seg.el(3)))
        elif seg.tag == "CUR":
            self.currency, self.cur_seg = seg.el(2).upper(), seg
        elif seg.tag == "N1":
            self.names.setdefault(seg.el(1), seg.el(2))
        elif seg.tag == "DTM" and not self.seen_detail:
            if (found := _date(self.p, seg, 2)) is not None:
                self.dates.append(found)
        elif seg.tag == "REF" and not self.seen_detail:
            self.details.append((f"REF {seg.el(1)}", seg.el(2) or seg.el(3)))


def _same_count(raw: str, count: int) -> bool:
    return raw.isdigit() and int(raw) == count


def _quantized(lines: tuple[RemittanceLine, ...], quantum: Decimal) -> tuple[RemittanceLine, ...]:
    def q(value: Decimal | None) -> Decimal | None:
        return None if value is None else value.quantize(quantum)

    return tuple(
        replace(x, amount=q(x.amount), invoiced_amount=q(x.invoiced_amount), discount=q(x.discount))
        for x in lines
    )


def _check_currency(p: _Problems, tx: _Transaction) -> str:
    code = tx.currency or DEFAULT_CURRENCY
    try:
        return Currency.of(code).code
    except CurrencyError as exc:
        seg = tx.cur_seg or tx.st
        p.error(seg, "CUR02", code, str(exc))
        return DEFAULT_CURRENCY


def _check_decimals(p: _Problems, seg: Segment, column: str, amount: Decimal, cur: str) -> None:
    exponent = Currency.of(cur).exponent
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        p.error(seg, column, str(amount), f"more decimals than {cur} allows ({exponent})")


def _check_balance(p: _Problems, tx: _Transaction, bpr: Segment, total: Decimal) -> None:
    if not any(s.tag == "RMR" for s, _ in tx.lines.built):
        return
    if tx.lines.missing_amounts:
        numbers = ", ".join(str(tx.lines.pos(s)) for s in tx.lines.missing_amounts)
        reason = f"transaction {tx.st.el(2)} has RMR segments without an amount paid"
        p.warnings.append(f"line {bpr.line}: {reason} (segment {numbers}); total not checked")
        return
    paid = sum((line.amount or Decimal(0) for _, line in tx.lines.built), Decimal(0))
    if paid != total:
        numbers = ", ".join(str(tx.lines.pos(s)) for s, _ in tx.lines.built)
        reason = f"transaction {tx.st.el(2)}: payment amount {total} (segment {tx.lines.pos(bpr)})"
        reason += f" differs from the remittance total {paid} (RMR04 amounts paid and ADX01"
        p.control(bpr, "BPR02", str(total), f"{reason} adjustments, segments {numbers})")


def _finish(tx: _Transaction, se: Segment | None) -> Remittance | None:
    """Check a complete transaction set and turn it into a ``Remittance``."""
    p, st = tx.p, tx.st
    control = st.el(2)
    if se is not None:
        count = se.el(1)
        if not _same_count(count, tx.count + 1):
            reason = f"segment count {count} but the transaction set {control} has"
            p.control(se, "SE01", count, f"{reason} {tx.count + 1} segments (ST to SE)")
        if se.el(2) != control:
            p.control(se, "SE02", se.el(2), f"control number differs from ST02 {control}")
    lines = tx.lines.lines()
    bpr = tx.bpr
    if bpr is None:
        p.error(st, "BPR", "", f"transaction set {control} has no BPR payment segment")
        return None
    amount = _amount(p, bpr, 2, required=True)
    flag = bpr.el(3) or "C"
    if flag not in ("C", "D"):
        p.error(bpr, "BPR03", flag, "credit/debit flag must be C or D")
    currency = _check_currency(p, tx)
    if amount is None:
        return None
    if amount < 0:
        p.error(bpr, "BPR02", str(amount), "the payment amount must not be negative")
    _check_decimals(p, bpr, "BPR02", amount, currency)
    for seg, line in tx.lines.built:
        for n, value in ((4, line.amount), (5, line.invoiced_amount), (6, line.discount)):
            if value is not None and seg.tag == "RMR":
                _check_decimals(p, seg, f"RMR{n:02d}", value, currency)
    _check_balance(p, tx, bpr, amount)
    quantum = Currency.of(currency).quantum
    amount = amount.quantize(quantum)
    paid = _date(p, bpr, 16)
    return Remittance(
        control_number=control,
        line=st.line,
        amount=-amount if flag == "D" else amount,
        currency=currency,
        handling=bpr.el(1),
        method=bpr.el(4) or None,
        payment_date=paid or (tx.dates[0] if tx.dates else None),
        trace=tx.trace,
        payer_name=tx.names.get("PR") or None,
        payee_name=tx.names.get("PE") or None,
        payer_account=bpr.el(9) or None,
        payer_bank=bpr.el(7) or None,
        payee_account=bpr.el(15) or None,
        payee_bank=bpr.el(13) or None,
        lines=_quantized(lines, quantum),
        details=_details(tx, bpr),
    )


def _details(tx: _Transaction, bpr: Segment) -> tuple[tuple[str, str], ...]:
    pairs = [("x12_control_number", tx.st.el(2)), ("handling", bpr.el(1))]
    pairs += [("payment_format", bpr.el(5)), ("payee_name", tx.names.get("PE", ""))]
    pairs += tx.details
    return tuple((k, v) for k, v in pairs if v)


@dataclass
class _Envelope:
    """Walks ISA/GS/ST/SE/GE/IEA, counting what each trailer must say."""

    p: _Problems
    isa: Segment | None = None
    gs: Segment | None = None
    groups: int = 0
    sets_in_group: int = 0
    tx: _Transaction | None = None
    remittances: list[Remittance] = field(default_factory=list)
    loose: _Lines | None = None
    interchange_id: str | None = None
    created: date | None = None

    def feed(self, seg: Segment) -> None:
        handlers = {
            "ISA": self._on_isa,
            "GS": self._on_gs,
            "ST": self._on_st,
            "SE": self._on_se,
            "GE": self._on_ge,
            "IEA": self._on_iea,
        }
        handler = handlers.get(seg.tag)
        if handler is not None:
            handler(seg)
        elif self.tx is not None:
            self.tx.add(seg)
        else:
            self._outside(seg)

    def _outside(self, seg: Segment) -> None:
        if self.isa is None and self.gs is None and seg.tag in _LOOSE_TAGS:
            self.loose = self.loose or _Lines(self.p)
            self.loose.add(seg)
            return
        self.p.error(seg, seg.tag, "", f"segment {seg.number} ({seg.tag}) is outside ST ... SE")

    def _on_isa(self, seg: Segment) -> None:
        if self.isa is not None:
            self.p.error(seg, "ISA", "", "an ISA inside an interchange (IEA missing before it)")
        self.isa, self.groups = seg, 0
        self.interchange_id = self.interchange_id or seg.el(13) or None
        self.created = self.created or _date(self.p, seg, 9)

    def _on_gs(self, seg: Segment) -> None:
        if self.gs is not None:
            self._missing(self.gs, "GE", f"functional group {self.gs.el(6)}")
        self.gs, self.sets_in_group = seg, 0
        self.groups += 1
        self.interchange_id = self.interchange_id or seg.el(6) or None
        if (created := _date(self.p, seg, 4)) is not None:
            self.created = created

    def _on_st(self, seg: Segment) -> None:
        self._close_open_set()
        if seg.el(1) != "820":
            self.p.error(seg, "ST01", seg.el(1), "not an 820 payment order/remittance advice")
        self.sets_in_group += 1
        self.tx = _Transaction(seg, self.p, _Lines(self.p, seg.number - 1))
        self.interchange_id = self.interchange_id or seg.el(2) or None

    def _on_se(self, seg: Segment) -> None:
        if self.tx is None:
            self.p.error(seg, "SE", "", f"segment {seg.number}: SE without a matching ST")
            return
        self._close(seg)

    def _close(self, se: Segment | None) -> None:
        assert self.tx is not None
        remittance = _finish(self.tx, se)
        if remittance is not None:
            self.remittances.append(remittance)
        self.tx = None

    def _on_ge(self, seg: Segment) -> None:
        self._close_open_set()
        if self.gs is None:
            self.p.error(seg, "GE", "", f"segment {seg.number}: GE without a matching GS")
            return
        if not _same_count(seg.el(1), self.sets_in_group):
            reason = f"the group has {self.sets_in_group} transaction set(s)"
            self.p.control(seg, "GE01", seg.el(1), reason)
        if seg.el(2) != self.gs.el(6):
            self.p.control(seg, "GE02", seg.el(2), f"differs from GS06 {self.gs.el(6)}")
        self.gs = None

    def _on_iea(self, seg: Segment) -> None:
        if self.gs is not None:
            self._missing(self.gs, "GE", f"functional group {self.gs.el(6)}")
            self.gs = None
        if self.isa is None:
            self.p.error(seg, "IEA", "", f"segment {seg.number}: IEA without a matching ISA")
            return
        if not _same_count(seg.el(1), self.groups):
            self.p.control(seg, "IEA01", seg.el(1), f"the interchange has {self.groups} group(s)")
        if seg.el(2) != self.isa.el(13):
            self.p.control(seg, "IEA02", seg.el(2), f"differs from ISA13 {self.isa.el(13)}")
        self.isa = None

    def _missing(self, opener: Segment, trailer: str, what: str) -> None:
        self.p.error(opener, trailer, "", f"{what} has no {trailer} trailer: the data is cut")

    def _close_open_set(self) -> None:
        if self.tx is not None:
            self._missing(self.tx.st, "SE", f"transaction set {self.tx.st.el(2)}")
            self._close(None)

    def finish(self) -> None:
        self._close_open_set()
        if self.gs is not None:
            self._missing(self.gs, "GE", f"functional group {self.gs.el(6)}")
        if self.isa is not None:
            self._missing(self.isa, "IEA", f"interchange {self.isa.el(13)}")


def read_x12(text: str, line_of: LineOf | None = None, *, strict: bool = True) -> X12Result:
    """Read X12 820 text; problems come back in the result, nothing is raised."""
    p = _Problems(strict)
    counter = line_of or line_counter(text)
    try:
        seps = detect_separators(text)
    except ValueError as exc:
        problem = RowError(counter(0), "(x12)", text[:20], str(exc))
        return X12Result((), (), None, None, (problem,), ())
    env = _Envelope(p)
    for seg in split_segments(text, seps, counter):
        if not _TAG.fullmatch(seg.tag):
            p.error(seg, "(segment)", seg.tag[:20], f"segment {seg.number}: not an X12 segment id")
            continue
        env.feed(seg)
    env.finish()
    loose = env.loose.lines() if env.loose is not None else ()
    found = (tuple(env.remittances), loose, env.interchange_id, env.created)
    return X12Result(*found, tuple(p.errors), tuple(p.warnings))


# -- standalone file ----------------------------------------------------------------------------


def _decode(data: bytes, filename: str) -> tuple[str, list[str]]:
    if not data.strip():
        raise FileRejected(filename, [], f"{filename}: the file is empty; nothing imported")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("latin-1"), ["the file is not UTF-8; it was read as Latin-1"]


def parse_x12_820(
    data: bytes, filename: str = "remittance.edi", *, strict: bool = True
) -> BankFile:
    """Parse a standalone X12 820 file; raise ``FileRejected`` listing every problem."""
    text, warnings = _decode(data, filename)
    result = read_x12(text, strict=strict)
    errors = list(result.errors)
    if not errors and not result.remittances:
        errors.append(RowError(1, "ST", "", "no 820 transaction set (ST ... SE) in the file"))
    if result.loose_lines:
        errors.append(RowError(1, "RMR", "", "RMR segments outside a transaction set"))
    file_id = result.interchange_id or "820"
    entries: dict[tuple[str, str], list[BankEntry]] = {}
    banks: dict[tuple[str, str], str | None] = {}
    for rem in result.remittances:
        value_date = rem.payment_date or result.created
        if value_date is None:
            errors.append(RowError(rem.line, "BPR16", "", "no payment date (BPR16, DTM or GS04)"))
            continue
        key = (rem.payee_account or "REMITTANCE", rem.currency)
        entries.setdefault(key, []).append(_entry(rem, value_date, file_id))
        banks.setdefault(key, rem.payee_bank)
    if errors:
        raise FileRejected(filename, errors)
    statements = tuple(
        Statement(
            statement_id=f"{file_id}/{account}",
            account=account,
            currency=currency,
            entries=tuple(items),
            statement_date=result.created,
            bank_id=banks[(account, currency)],
        )
        for (account, currency), items in entries.items()
    )
    return BankFile(
        format="x12_820",
        statements=statements,
        file_id=result.interchange_id,
        created=result.created,
        warnings=(*warnings, *result.warnings),
    )


def _entry(rem: Remittance, value_date: date, file_id: str) -> BankEntry:
    return BankEntry(
        amount=rem.amount,
        currency=rem.currency,
        value_date=value_date,
        reference=rem.trace or f"{file_id}/{rem.control_number}",
        payer_name=rem.payer_name,
        payer_account=rem.payer_account,
        payer_bank=rem.payer_bank,
        lines=rem.lines,
        type_code=rem.method or "820",
        details=rem.details,
    )
