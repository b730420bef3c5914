"""NACHA ACH files: bytes in, ``BankFile`` out.

Records are 94 characters (positions below are the 1-based ones of the NACHA rules): 1 file
header, 5 batch header, 6 entry detail, 7 addenda, 8 batch control, 9 file control, and lines of
all nines that pad the last block. A file without line breaks is cut into 94-character records.

Each batch becomes one ``Statement`` (``statement_id`` = creation date + file id modifier / batch
number, e.g. ``190816A/0000001``; ``account`` = the batch's company identification; ``bank_id`` the
originating DFI). Each entry becomes one ``BankEntry`` in USD with the trace number as reference
and the SEC code as ``type_code``. Sign, seen from the receiver of the money: credit transaction
codes (22, 32 ..., and their returns 21, 31 ...) are positive, debit codes (27, 37 ..., 26, 36 ...)
negative. The payer is the originating company for CCD/CTX and the individual for PPD, WEB and the
other consumer SEC codes. Prenotes (23, 28 ...) and notifications of change (98 addenda) carry no
money: they are left out with a warning. Returns (99 addenda) set ``is_return`` and
``return_reason`` (R01 ...). Payment-related addenda (05) are joined in sequence order; when they
hold ANSI X12 (a whole 820 in CTX, ``RMR*IV*...\\`` in CCD+) ``x12_820.read_x12`` turns them into
``RemittanceLine``s, otherwise they are kept as text.

Checked, each as a ``RowError`` naming the line and field: record lengths and types, record order,
numeric fields, dates, the RDFI check digit, transaction codes against the service class, addenda
indicators, counts and sequence numbers, and every control: batch entry/addenda count, entry hash
(sum of the 8-digit RDFI routing numbers, last 10 digits), total debits and credits; file batch
count, block count, entry/addenda count, entry hash and totals. With ``strict=False`` the controls
(and embedded X12 totals) become warnings, and a short line whose trailing blanks were stripped is
padded back with a warning: for files known to be inconsistent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import FileRejected, RowError
from billfold.formats.x12_820 import looks_like_x12, read_x12

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
PAYMENT_INFO_LENGTH = 80
CREDIT_CODES = frozenset({21, 22, 23, 24, 31, 32, 33, 34, 41, 42, 43, 44, 51, 52, 53, 54})
DEBIT_CODES = frozenset({26, 27, 28, 29, 36, 37, 38, 39, 46, 47, 48, 49, 55, 56})
PRENOTE_CODES = frozenset({23, 28, 33, 38, 43, 48, 53})
RETURN_CODES = frozenset({21, 26, 31, 36, 41, 46, 51, 56})
SERVICE_CLASSES = {"200": "mixed", "220": "credits only", "225": "debits only", "280": "advice"}
COMPANY_PAYER_SECS = frozenset({"CCD", "CTX"})
MULTI_ADDENDA_SECS = frozenset({"CTX", "ENR", "TRX", "ATX"})
UNSUPPORTED_SECS = frozenset({"IAT", "ADV"})
_FILLER = "9" * RECORD_LENGTH
_ID_MODIFIER = re.compile(r"[A-Z0-9]")


@dataclass(frozen=True, slots=True)
class _Record:
    """One 94-character record and its line number."""

    line: int
    text: str

    def f(self, start: int, end: int) -> str:
        """Positions ``start`` to ``end`` inclusive, 1-based as in the NACHA rules."""
        return self.text[start - 1 : end]

    @property
    def kind(self) -> str:
        return self.text[:1]


@dataclass
class _Problems:
    """Every problem found; controls go to warnings when not strict."""

    strict: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, rec: _Record, column: str, value: str, reason: str) -> None:
        self.errors.append(RowError(rec.line, column, value.strip(), reason))

    def control(self, rec: _Record, column: str, value: str, reason: str) -> None:
        if self.strict:
            self.error(rec, column, value, reason)
        else:
            self.warnings.append(f"line {rec.line}, {column} '{value.strip()}': {reason}")

    def number(self, rec: _Record, start: int, end: int, column: str) -> int | None:
        raw = rec.f(start, end)
        if not raw.isdigit():
            self.error(rec, column, raw, f"positions {start}-{end} must be digits")
            return None
        return int(raw)

    def yymmdd(self, rec: _Record, start: int, end: int, column: str) -> date | None:
        raw = rec.f(start, end)
        try:
            return datetime.strptime(raw, "%y%m%d").date()
        except ValueError:
            self.error(rec, column, raw, "not a date (YYMMDD)")
            return None

    def expect(self, rec: _Record, column: str, found: int, stated: int | None, what: str) -> None:
        if stated is not None and stated != found:
            self.control(rec, column, str(stated), f"{what} is {found} in the file")


@dataclass
class _Entry:
    record: _Record
    addenda: list[_Record] = field(default_factory=list)


@dataclass
class _Batch:
    header: _Record
    entries: list[_Entry] = field(default_factory=list)
    control: _Record | None = None


@dataclass
class _File:
    header: _Record | None = None
    batches: list[_Batch] = field(default_factory=list)
    control: _Record | None = None
    record_count: int = 0


# -- records and structure ----------------------------------------------------------------------


def _decode(data: bytes, filename: str, p: _Problems) -> str:
    """UTF-8 (NACHA is ASCII); anything else is read as Windows-1252 with a warning."""
    if not data.strip():
        raise FileRejected(filename, [], f"{filename}: the file is empty; nothing imported")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        p.warnings.append("the file is not UTF-8; it was read as Windows-1252/Latin-1")
        return data.decode("cp1252", errors="replace")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines; a file without line breaks is cut into 94-character records."""
    if "\n" not in text.strip("\r\n") and len(text.strip("\r\n")) > RECORD_LENGTH:
        body = text.strip("\r\n")
        for n, start in enumerate(range(0, len(body), RECORD_LENGTH), 1):
            yield n, body[start : start + RECORD_LENGTH]
        return
    for n, raw in enumerate(text.split("\n"), 1):
        yield n, raw.rstrip("\r")


def _records(text: str, p: _Problems) -> list[_Record]:
    """Every non-blank line as a 94-character record; wrong lengths are reported."""
    records = []
    for n, raw in _lines(text):
        if not raw.strip():
            continue
        rec = _Record(n, raw)
        if len(raw) != RECORD_LENGTH:
            trimmed = len(raw) < RECORD_LENGTH and not raw.endswith(" ")
            reason = f"record is {len(raw)} characters; NACHA records are {RECORD_LENGTH}"
            if trimmed and not p.strict:
                p.warnings.append(f"line {n}: {reason}; trailing blanks restored")
            else:
                p.error(rec, "(record length)", str(len(raw)), reason)
            rec = _Record(n, raw.ljust(RECORD_LENGTH)[:RECORD_LENGTH])
        records.append(rec)
    return records


def _structure(records: list[_Record], p: _Problems) -> _File:
    """Group records into header, batches, entries with their addenda, and file control."""
    out = _File(record_count=len(records))
    batch: _Batch | None = None
    if records and records[0].kind != "1":
        p.error(records[0], "record type", records[0].kind, "the file must start with a 1 header")
    for rec in records:
        if out.control is None:
            batch = _place(rec, out, batch, p)
        elif rec.text != _FILLER:
            p.error(rec, "record type", rec.kind, "only 9999... filler may follow the file control")
    if batch is not None:
        p.error(batch.header, "batch control", "", "the batch has no 8 batch control record")
    if out.control is None:
        last = records[-1] if records else _Record(1, "")
        p.error(last, "file control", "", "no 9 file control record: the file is cut short")
    return out


def _place(rec: _Record, out: _File, batch: _Batch | None, p: _Problems) -> _Batch | None:
    """Put one record where it belongs; return the batch still open afterwards."""
    kind = rec.kind
    if kind == "1":
        if out.header is not None or out.batches:
            p.error(rec, "record type", kind, "a 1 file header after the start of the file")
        out.header = out.header or rec
    elif kind == "5":
        if batch is not None:
            p.error(batch.header, "batch control", "", "the batch has no 8 batch control record")
        batch = _Batch(rec)
        out.batches.append(batch)
    elif kind in "678" and batch is None:
        p.error(rec, "record type", kind, "outside a batch (no 5 batch header before it)")
    elif kind == "6" and batch is not None:
        batch.entries.append(_Entry(rec))
    elif kind == "7" and batch is not None:
        if not batch.entries:
            p.error(rec, "record type", kind, "an addenda record before any entry")
        else:
            batch.entries[-1].addenda.append(rec)
    elif kind == "8" and batch is not None:
        batch.control = rec
        return None
    elif kind == "9" and rec.text != _FILLER:
        if batch is not None:
            p.error(batch.header, "batch control", "", "the batch has no 8 batch control record")
        out.control = rec
        return None
    elif kind != "9":
        p.error(rec, "record type", kind, "unknown record type (expected 1, 5, 6, 7, 8 or 9)")
    return batch


# -- header -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    created: date | None
    file_id: str


def _file_header(rec: _Record, p: _Problems) -> _Header:
    """Check the 1 record; the file id is creation date + file id modifier."""
    created = p.yymmdd(rec, 24, 29, "file creation date")
    modifier = rec.f(34, 34)
    if not _ID_MODIFIER.fullmatch(modifier):
        p.error(rec, "file id modifier", modifier, "must be A-Z or 0-9")
    for start, end, column, expected in (
        (35, 37, "record size", "094"),
        (38, 39, "blocking factor", "10"),
        (40, 40, "format code", "1"),
    ):
        if rec.f(start, end) != expected:
            p.error(rec, column, rec.f(start, end), f"must be {expected}")
    return _Header(created, f"{rec.f(24, 29)}{modifier}")


# -- entries ------------------------------------------------------------------------------------


def check_digit(routing8: str) -> int:
    """The ABA check digit of an 8-digit routing prefix (weights 3, 7, 1)."""
    total = sum(int(d) * w for d, w in zip(routing8, (3, 7, 1) * 3, strict=False))
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class _BatchInfo:
    line: int
    service_class: str
    company_name: str
    company_id: str
    sec: str
    description: str
    effective: date
    odfi: str
    number: str
    statement_id: str


@dataclass
class _Totals:
    """What the batch or file controls must say, counted from the records themselves."""

    records: int = 0
    hash: int = 0
    debit: int = 0
    credit: int = 0

    def add(self, other: _Totals) -> None:
        self.records += other.records
        self.hash += other.hash
        self.debit += other.debit
        self.credit += other.credit


def _entry(entry: _Entry, info: _BatchInfo, totals: _Totals, p: _Problems) -> BankEntry | None:
    """Check one entry and its addenda; return it as a ``BankEntry`` (None if no money moves)."""
    rec = entry.record
    totals.records += 1 + len(entry.addenda)
    code = p.number(rec, 2, 3, "transaction code")
    routing = rec.f(4, 11)
    cents = p.number(rec, 30, 39, "amount")
    if routing.isdigit():
        totals.hash += int(routing)
        digit = rec.f(12, 12)
        if digit != str(check_digit(routing)):
            p.error(
                rec,
                "RDFI check digit",
                digit,
                f"routing {routing}{digit} fails the check digit (expected {check_digit(routing)})",
            )
    else:
        p.error(rec, "RDFI routing", routing, "positions 4-11 must be digits")
    if code is None or cents is None:
        return None
    if code not in CREDIT_CODES | DEBIT_CODES:
        p.error(rec, "transaction code", str(code), "unknown transaction code")
        return None
    credit = code in CREDIT_CODES
    if credit:
        totals.credit += cents
    else:
        totals.debit += cents
    _check_service_class(rec, info, credit, p)
    _check_addenda(entry, info, code, p)
    return _bank_entry(entry, info, code, Decimal(cents).scaleb(-2), p)


def _check_service_class(rec: _Record, info: _BatchInfo, credit: bool, p: _Problems) -> None:
    """Service class 220 carries only credits, 225 only debits."""
    if info.service_class == "220" and not credit:
        p.error(rec, "transaction code", rec.f(2, 3), "a debit in a credits-only (220) batch")
    if info.service_class == "225" and credit:
        p.error(rec, "transaction code", rec.f(2, 3), "a credit in a debits-only (225) batch")


def _check_addenda(entry: _Entry, info: _BatchInfo, code: int, p: _Problems) -> None:
    """Indicator, count, kind and sequence numbers of an entry's addenda records."""
    rec, addenda = entry.record, entry.addenda
    indicator = rec.f(79, 79)
    if indicator not in ("0", "1") or (indicator == "1") != bool(addenda):
        p.error(
            rec,
            "addenda record indicator",
            indicator,
            f"says {'addenda follow' if indicator == '1' else 'no addenda'} "
            f"but {len(addenda)} addenda record(s) follow",
        )
    if info.sec == "CTX":
        stated = p.number(rec, 55, 58, "number of addenda records")
        if stated is not None and stated != len(addenda):
            p.error(
                rec,
                "number of addenda records",
                str(stated),
                f"{len(addenda)} addenda record(s) follow the entry",
            )
    elif len(addenda) > 1 and info.sec not in MULTI_ADDENDA_SECS:
        p.error(addenda[1], "addenda", "", f"{info.sec} allows one addenda record per entry")
    kinds = {a.f(2, 3) for a in addenda}
    for add in addenda:
        reason = add.f(4, 6)
        if add.f(2, 3) in ("98", "99") and not re.fullmatch(r"[CR]\d\d", reason):
            p.error(add, "return/change reason code", reason, "expected R01 ... or C01 ...")
    if code in RETURN_CODES and not kinds & {"98", "99"}:
        p.error(rec, "transaction code", str(code), "a return/NOC code without a 98 or 99 addenda")
    if kinds & {"98", "99"} and code not in RETURN_CODES:
        p.error(rec, "transaction code", str(code), "a return/NOC addenda on a forward entry")
    trace = rec.f(80, 94)
    for n, add in enumerate((a for a in addenda if a.f(2, 3) == "05"), 1):
        if add.f(84, 87) != f"{n:04d}":
            p.error(add, "addenda sequence number", add.f(84, 87), f"expected {n:04d}")
        if add.f(88, 94) != trace[-7:]:
            p.error(
                add,
                "entry detail sequence number",
                add.f(88, 94),
                f"differs from the entry's trace number {trace}",
            )
    for add in addenda:
        if add.f(2, 3) not in ("02", "05", "98", "99"):
            p.error(add, "addenda type code", add.f(2, 3), "unsupported (expected 02, 05, 98, 99)")


def _bank_entry(
    entry: _Entry, info: _BatchInfo, code: int, amount: Decimal, p: _Problems
) -> BankEntry | None:
    """The entry as the receiver sees it; prenotes and NOCs move no money (None)."""
    rec = entry.record
    trace = rec.f(80, 94).strip()
    kinds = {a.f(2, 3): a for a in entry.addenda}
    if code in PRENOTE_CODES:
        p.warnings.append(f"line {rec.line}: prenote (transaction code {code}) {trace} ignored")
        return None
    if "98" in kinds:
        noc = kinds["98"]
        p.warnings.append(
            f"line {noc.line}: notification of change {noc.f(4, 6)} for trace "
            f"{noc.f(7, 21).strip()}: corrected data '{noc.f(36, 64).strip()}'; no money moved"
        )
        return None
    name, ident = _names(rec, info.sec)
    text, lines, details = _payment_info(entry, amount, p)
    details = [*_party_details(rec, info, name), *details]
    ret = kinds.get("99")
    if ret is not None:
        details += [("original_trace", ret.f(7, 21).strip()), ("original_rdfi", ret.f(28, 35))]
        details += [("return_information", ret.f(36, 79).strip())]
    company = info.sec in COMPANY_PAYER_SECS
    return BankEntry(
        amount=amount if code in CREDIT_CODES else -amount,
        currency="USD",
        value_date=info.effective,
        reference=trace,
        payer_name=(info.company_name if company else name) or None,
        payer_account=None if company else rec.f(13, 29).strip() or None,
        payer_bank=info.odfi if company else rec.f(4, 12),
        end_to_end=ident or None,
        text=text,
        lines=lines,
        type_code=info.sec,
        is_return=ret is not None,
        return_reason=ret.f(4, 6) if ret is not None else None,
        batch=info.statement_id,
        details=tuple((k, v) for k, v in details if v),
    )


def _names(rec: _Record, sec: str) -> tuple[str, str]:
    """(receiver name, identification number) as laid out for the SEC code."""
    if sec == "CTX":
        return rec.f(59, 74).strip(), rec.f(40, 54).strip()
    if sec == "CIE":
        return rec.f(40, 54).strip(), rec.f(55, 76).strip()
    return rec.f(55, 76).strip(), rec.f(40, 54).strip()


def _party_details(rec: _Record, info: _BatchInfo, name: str) -> list[tuple[str, str]]:
    """Who sent and who received the entry, for a clerk to read."""
    pairs = [("transaction_code", rec.f(2, 3)), ("company_name", info.company_name)]
    pairs += [("company_id", info.company_id), ("entry_description", info.description)]
    if info.sec in COMPANY_PAYER_SECS:
        pairs += [("receiver_name", name), ("receiver_account", rec.f(13, 29).strip())]
        pairs += [("receiver_bank", rec.f(4, 12))]
    return pairs


def _payment_info(
    entry: _Entry, amount: Decimal, p: _Problems
) -> tuple[tuple[str, ...], tuple[RemittanceLine, ...], list[tuple[str, str]]]:
    """Join the 05 addenda; X12 becomes remittance lines, anything else text."""
    addenda = [a for a in entry.addenda if a.f(2, 3) == "05"]
    if not addenda:
        return (), (), []
    payload = "".join(a.f(4, 83) for a in addenda).rstrip()
    if not looks_like_x12(payload):
        return tuple(t for a in addenda if (t := a.f(4, 83).strip())), (), []
    result = read_x12(
        payload,
        lambda off: addenda[min(off // PAYMENT_INFO_LENGTH, len(addenda) - 1)].line,
        strict=p.strict,
    )
    p.errors += [
        RowError(e.line, f"addenda X12 {e.column}", e.value, e.reason) for e in result.errors
    ]
    p.warnings += list(result.warnings)
    details: list[tuple[str, str]] = []
    for rem in result.remittances:
        details += [
            ("remittance_payer", rem.payer_name or ""),
            ("remittance_trace", rem.trace or ""),
        ]
        if abs(rem.amount) != amount:
            p.warnings.append(
                f"line {addenda[0].line}: the X12 payment amount {abs(rem.amount)} (BPR02) "
                f"differs from the entry amount {amount}"
            )
    text = (payload,) if len(addenda) == 1 else ()
    return text, result.lines, details


# -- batches and file ---------------------------------------------------------------------------


def _batch_info(batch: _Batch, header: _Header, p: _Problems) -> _BatchInfo | None:
    """Check a 5 batch header and keep what its entries need (None: unsupported SEC)."""
    rec = batch.header
    service = rec.f(2, 4)
    if service not in SERVICE_CLASSES:
        p.error(rec, "service class code", service, "expected 200, 220, 225 or 280")
    sec = rec.f(51, 53)
    if sec in UNSUPPORTED_SECS:
        p.error(rec, "SEC code", sec, f"{sec} batches are not supported")
        return None
    number = rec.f(88, 94)
    if not number.isdigit():
        p.error(rec, "batch number", number, "positions 88-94 must be digits")
    effective = _effective_date(rec, header, p) or header.created or date.min
    return _BatchInfo(
        line=rec.line,
        service_class=service,
        company_name=rec.f(5, 20).strip(),
        company_id=rec.f(41, 50).strip(),
        sec=sec,
        description=rec.f(54, 63).strip(),
        effective=effective,
        odfi=rec.f(80, 87),
        number=number,
        statement_id=f"{header.file_id}/{number}",
    )


def _effective_date(rec: _Record, header: _Header, p: _Problems) -> date | None:
    """The effective entry date; a blank one falls back to the file creation date."""
    if not rec.f(70, 75).strip() and header.created is not None:
        p.warnings.append(f"line {rec.line}: no effective entry date; the file date is used")
        return header.created
    return p.yymmdd(rec, 70, 75, "effective entry date")


def _batch_control(batch: _Batch, info: _BatchInfo, totals: _Totals, p: _Problems) -> None:
    """The 8 record must repeat the header's keys and state the batch's true totals."""
    rec = batch.control
    if rec is None:
        return
    for start, end, column, expected in (
        (2, 4, "service class code", info.service_class),
        (45, 54, "company identification", info.company_id),
        (80, 87, "originating DFI", info.odfi),
        (88, 94, "batch number", info.number),
    ):
        if rec.f(start, end).strip() != expected:
            p.error(rec, column, rec.f(start, end), f"differs from the batch header ({expected})")
    _check_totals(rec, totals, p, "batch", ((5, 10), (11, 20), (21, 32), (33, 44)))


def _check_totals(
    rec: _Record, totals: _Totals, p: _Problems, what: str, at: tuple[tuple[int, int], ...]
) -> None:
    """Count, entry hash (last 10 digits) and debit/credit totals at positions ``at``."""
    found = (totals.records, totals.hash % 10**10, totals.debit, totals.credit)
    names = ("entry/addenda count", "entry hash", "total debit amount", "total credit amount")
    for (start, end), column, value in zip(at, names, found, strict=True):
        stated = p.number(rec, start, end, f"{what} {column}")
        p.expect(rec, f"{what} {column}", value, stated, f"the {column} of the {what}")


def _file_control(out: _File, totals: _Totals, p: _Problems) -> None:
    """The 9 record must state the file's batches, blocks and totals."""
    rec = out.control
    if rec is None:
        return
    batches = p.number(rec, 2, 7, "batch count")
    p.expect(rec, "batch count", len(out.batches), batches, "the number of batches")
    blocks = p.number(rec, 8, 13, "block count")
    expected_blocks = math.ceil(out.record_count / BLOCKING_FACTOR)
    p.expect(
        rec,
        "block count",
        expected_blocks,
        blocks,
        f"the number of {BLOCKING_FACTOR}-record blocks ({out.record_count} records)",
    )
    _check_totals(rec, totals, p, "file", ((14, 21), (22, 31), (32, 43), (44, 55)))
    if out.record_count % BLOCKING_FACTOR:
        p.warnings.append(f"the file has {out.record_count} records, not whole blocks of 10")


def parse_nacha(data: bytes, filename: str = "ach.txt", *, strict: bool = True) -> BankFile:
    """Parse a NACHA ACH file; raise ``FileRejected`` listing every problem."""
    p = _Problems(strict)
    records = _records(_decode(data, filename, p), p)
    out = _structure(records, p)
    header = _file_header(out.header, p) if out.header is not None else _Header(None, "")
    statements: list[Statement] = []
    file_totals = _Totals()
    seen: dict[str, int] = {}
    for batch in out.batches:
        totals = _Totals()
        info = _batch_info(batch, header, p)
        if info is None:
            continue
        if info.number in seen:
            p.error(
                batch.header,
                "batch number",
                info.number,
                f"duplicate batch number (first on line {seen[info.number]})",
            )
        seen.setdefault(info.number, info.line)
        entries = [e for x in batch.entries if (e := _entry(x, info, totals, p)) is not None]
        _batch_control(batch, info, totals, p)
        file_totals.add(totals)
        statements.append(
            Statement(
                statement_id=info.statement_id,
                account=info.company_id,
                currency="USD",
                entries=tuple(entries),
                statement_date=info.effective,
                bank_id=info.odfi,
            )
        )
    _file_control(out, file_totals, p)
    if p.errors:
        raise FileRejected(filename, p.errors)
    return BankFile(
        format="nacha",
        statements=tuple(statements),
        file_id=header.file_id,
        created=header.created,
        warnings=tuple(p.warnings),
    )
