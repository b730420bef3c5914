"""BAI2 (Cash Management Balance Reporting Specifications, version 2): bytes in, ``BankFile`` out.

Records: 01 file header, 02 group header, 03 account identifier with its status and summary
amounts, 16 transaction detail, 88 continuation, 49 account trailer, 98 group trailer, 99 file
trailer. Fields are separated by commas; a ``/`` ends a record's data and is optional at the end
of a line. An 88 record continues the fields of the record before it: when that record stopped
before its last field, the 88 supplies the next fields; when a 16 record's text had begun, every
88 adds a line of text. The 16 text field is the rest of its record, commas and slashes included
(one trailing ``/`` is dropped).

Amounts are integers with the currency's implied decimals (USD cents, JPY units); the currency is
the account's, else the group's, else USD. Funds types 0, 1, 2, Z, and S (three availability
amounts), V (value date and time) and D (a count of day/amount pairs) are read, V giving the value
date. Type codes 100-399 and 920-959 are credits (positive), 400-699 and 960-999 debits
(negative); other 16 codes (loan, informational) carry no cash and are left out with a warning.

Each 03 account becomes a ``Statement`` (``statement_id`` = ``file id/group number/account``, with
``#2``, ``#3`` ... when one group reports an account more than once; opening and closing balances
from summary codes 010 and 015), each credit or debit 16 a ``BankEntry`` (reference = bank
reference, else customer reference, else ``statement id/n`` for the n-th detail of the account).

Checked, each as a ``RowError`` with line and field: record codes and order, numbers, dates,
currencies, and every control: the 49 account control total (the sum of all 03 and 16 amounts,
availability amounts excluded) and record count, the 98 group total, account count and record
count, the 99 file total, group count and record count; a file that ends early is reported at its
last line. With ``strict=False`` totals and counts become warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from billfold.domain.payments import BankEntry, BankFile, Statement
from billfold.errors import CurrencyError, FileRejected, RowError
from billfold.money import Currency

RECORD_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
FUNDS_TYPES = frozenset({"", "0", "1", "2", "Z", "S", "V", "D"})
RETURN_TYPE_CODES = frozenset({"555"})
DEFAULT_CURRENCY = "USD"
OPENING_LEDGER, CLOSING_LEDGER = "010", "015"
_SIGNED = re.compile(r"[+-]?\d+")
_PAYER = re.compile(
    r"\b(?:ORIG(?:INATOR)? CO NAME|ORIGINATOR|REMITTER|PAYER|B/O|BY ORDER OF)\s*[:=]\s*"
    r"(?P<name>.+?)(?=\s+[A-Z][A-Z0-9/]*(?: [A-Z][A-Z0-9/]*)?\s*[:=]|$)"
)


def is_credit_code(code: int) -> bool:
    """BAI2 credit type codes: 100-399 and the customised 920-959."""
    return 100 <= code <= 399 or 920 <= code <= 959


def is_debit_code(code: int) -> bool:
    """BAI2 debit type codes: 400-699 and the customised 960-999."""
    return 400 <= code <= 699 or 960 <= code <= 999


def payer_from_text(lines: tuple[str, ...]) -> str | None:
    """The payer a detail's text names (``ORIG CO NAME:``, ``REMITTER:``, ``B/O:`` ...)."""
    for line in lines:
        match = _PAYER.search(line.upper())
        if match is not None:
            start, end = match.span("name")
            return line[start:end].strip() or None
    return None


@dataclass(frozen=True, slots=True)
class _Physical:
    line: int
    body: str  # everything after "NN,"


@dataclass
class _Record:
    """One logical record: its physical line and the 88 continuations after it."""

    code: str
    parts: list[_Physical]

    @property
    def line(self) -> int:
        return self.parts[0].line

    def fields(self) -> _Fields:
        return _Fields(self.parts)


class _Fields:
    """Reads the fields of one logical record, across its 88 continuations."""

    def __init__(self, parts: list[_Physical]) -> None:
        self._parts = parts
        self._i = 0
        self._pos = 0
        self.line = parts[0].line

    def next(self) -> str | None:
        """The next field ('' when empty), or None when the record has no more."""
        while self._i < len(self._parts):
            part = self._parts[self._i]
            if self._pos > len(part.body):
                self._i, self._pos = self._i + 1, 0
                continue
            self.line = part.line
            body, start = part.body, self._pos
            ends = [i for i in (body.find(",", start), body.find("/", start)) if i >= 0]
            end = min(ends) if ends else len(body)
            stop = end >= len(body) or body[end] == "/"
            self._pos = len(body) + 1 if stop else end + 1
            return body[start:end].strip()
        return None

    def rest_as_text(self) -> list[str]:
        """Everything not read yet, one item per physical record (the 16 text field)."""
        pieces = []
        for i in range(self._i, len(self._parts)):
            body = self._parts[i].body
            piece = body[self._pos :] if i == self._i else body
            if piece.endswith("/"):
                piece = piece[:-1]
            pieces.append(piece.strip())
        self._i = len(self._parts)
        return [p for p in pieces if p]


@dataclass
class _Problems:
    strict: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, line: int, column: str, value: str, reason: str) -> None:
        self.errors.append(RowError(line, column, value, reason))

    def control(self, line: int, column: str, value: str, reason: str) -> None:
        if self.strict:
            self.error(line, column, value, reason)
        else:
            self.warnings.append(f"line {line}, {column} '{value}': {reason}")

    def amount(self, f: _Fields, column: str, *, signed: bool = True) -> int | None:
        raw = f.next() or ""
        if not raw:
            return None
        if not _SIGNED.fullmatch(raw) or (not signed and raw[0] in "+-"):
            kind = "a signed whole number" if signed else "an unsigned whole number"
            self.error(f.line, column, raw, f"must be {kind} (implied decimals)")
            return None
        return int(raw)

    def yymmdd(self, f: _Fields, column: str, *, required: bool = False) -> date | None:
        raw = f.next() or ""
        if not raw and not required:
            return None
        try:
            return datetime.strptime(raw, "%y%m%d").date()
        except ValueError:
            self.error(f.line, column, raw, "not a date (YYMMDD)")
            return None


def _records(text: str, p: _Problems) -> list[_Record]:
    """Every non-blank line as a record; 88 lines join the record before them."""
    records: list[_Record] = []
    for n, raw in enumerate(text.splitlines(), 1):
        raw = raw.rstrip()
        if not raw:
            continue
        code = raw[:2]
        if code not in RECORD_CODES or raw[2:3] not in (",", "/", ""):
            p.error(
                n, "record code", raw[:2], "unknown record code (expected 01 02 03 16 49 88 98 99)"
            )
            continue
        part = _Physical(n, raw[3:])
        if code != "88":
            records.append(_Record(code, [part]))
        elif records:
            records[-1].parts.append(part)
        else:
            p.error(n, "record code", code, "an 88 continuation with no record before it")
    return records


@dataclass
class _Account:
    number: str
    currency: str
    exponent: int
    statement_id: str
    line: int
    computed: int = 0  # sum of 03 and 16 amounts
    records: int = 0
    details: int = 0
    entries: list[BankEntry] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class _Group:
    number: int
    line: int
    originator: str
    as_of: date | None
    currency: str
    computed: int = 0
    records: int = 0
    accounts: int = 0
    seen: dict[str, int] = field(default_factory=dict)


@dataclass
class _Reader:
    """The BAI2 state machine: file, group, account, and the counts their trailers must match."""

    p: _Problems
    file_id: str = ""
    created: date | None = None
    header_seen: bool = False
    trailer_seen: bool = False
    group: _Group | None = None
    account: _Account | None = None
    groups: int = 0
    computed: int = 0
    records: int = 0
    statements: list[Statement] = field(default_factory=list)

    def feed(self, rec: _Record) -> None:
        if self.trailer_seen:
            self.p.error(rec.line, "record code", rec.code, "a record after the 99 file trailer")
            return
        if not self.header_seen and rec.code != "01":
            self.p.error(rec.line, "record code", rec.code, "the file must start with 01")
            self.header_seen = True
        handler = {
            "01": self._file_header,
            "02": self._group_header,
            "03": self._account_header,
            "16": self._detail,
            "49": self._account_trailer,
            "98": self._group_trailer,
            "99": self._file_trailer,
        }[rec.code]
        handler(rec)

    def _count(self, rec: _Record) -> None:
        """Count the record's physical lines in every open container."""
        n = len(rec.parts)
        self.records += n
        if self.group is not None:
            self.group.records += n
        if self.account is not None:
            self.account.records += n

    # -- file ---------------------------------------------------------------------------------

    def _file_header(self, rec: _Record) -> None:
        """01: sender, receiver, creation date and time, file id, version 2."""
        if self.header_seen:
            self.p.error(rec.line, "record code", "01", "a second 01 file header")
        self.header_seen = True
        self._count(rec)
        f = rec.fields()
        f.next(), f.next()  # sender, receiver
        self.created = self.p.yymmdd(f, "file creation date", required=True)
        f.next()  # creation time
        self.file_id = f.next() or ""
        if not self.file_id:
            self.p.error(rec.line, "file identification number", "", "required")
        f.next(), f.next()  # physical record length, block size
        version = f.next() or ""
        if version != "2":
            self.p.error(f.line, "version number", version, "only BAI version 2 is supported")

    def _file_trailer(self, rec: _Record) -> None:
        """99: file total, number of groups, number of records."""
        self._close_group(rec.line)
        self._count(rec)
        self.trailer_seen = True
        f = rec.fields()
        total = self.p.amount(f, "file control total")
        self._expect(rec.line, "file control total", total, self.computed, "the groups")
        stated = self.p.amount(f, "number of groups", signed=False)
        self._expect(rec.line, "number of groups", stated, self.groups, "the groups in the file")
        stated = self.p.amount(f, "number of records", signed=False)
        self._expect(rec.line, "number of records", stated, self.records, "the file's records")

    def finish(self, last_line: int) -> None:
        """Report every container the file left open (a cut file)."""
        if self.account is not None:
            self._missing(last_line, "49 account trailer", f"account {self.account.number}")
        if self.group is not None:
            self._missing(last_line, "98 group trailer", f"group {self.group.number}")
        if not self.trailer_seen:
            self._missing(last_line, "99 file trailer", "the file")

    def _missing(self, line: int, trailer: str, what: str) -> None:
        self.p.error(line, "record code", "", f"{what} ends without its {trailer}: the file is cut")

    def _expect(self, line: int, column: str, stated: int | None, found: int, what: str) -> None:
        if stated is not None and stated != found:
            self.p.control(line, column, str(stated), f"{what} come to {found}")
        elif stated is None:
            self.p.error(line, column, "", "required")

    # -- group --------------------------------------------------------------------------------

    def _group_header(self, rec: _Record) -> None:
        """02: originator (the bank), group status, as-of date, currency."""
        self._close_group(rec.line)
        f = rec.fields()
        f.next()  # ultimate receiver
        originator = f.next() or ""
        status = f.next() or ""
        if status in ("2", "4"):
            kind = "a deletion" if status == "2" else "test data only"
            self.p.warnings.append(f"line {rec.line}: group status {status}: {kind}")
        as_of = self.p.yymmdd(f, "as-of date", required=True)
        f.next()  # as-of time
        currency = self._currency(f, DEFAULT_CURRENCY)
        self.groups += 1
        self.group = _Group(self.groups, rec.line, originator, as_of, currency)
        self._count(rec)

    def _close_group(self, line: int) -> None:
        """Close a group (and account) whose trailer never came."""
        if self.account is not None:
            self._missing(line, "49 account trailer", f"account {self.account.number}")
            self.account = None
        if self.group is not None:
            self._missing(line, "98 group trailer", f"group {self.group.number}")
            self.computed += self.group.computed
            self.group = None

    def _group_trailer(self, rec: _Record) -> None:
        """98: group total, number of accounts, number of records."""
        group = self.group
        if group is None:
            self.p.error(rec.line, "record code", "98", "a 98 group trailer outside a group")
            return
        if self.account is not None:
            self._missing(rec.line, "49 account trailer", f"account {self.account.number}")
            self.account = None
        self._count(rec)
        f = rec.fields()
        total = self.p.amount(f, "group control total")
        self._expect(rec.line, "group control total", total, group.computed, "the accounts")
        stated = self.p.amount(f, "number of accounts", signed=False)
        self._expect(rec.line, "number of accounts", stated, group.accounts, "the accounts")
        stated = self.p.amount(f, "number of records", signed=False)
        self._expect(rec.line, "number of records", stated, group.records, "the group's records")
        self.computed += group.computed
        self.group = None

    def _currency(self, f: _Fields, default: str) -> str:
        """An ISO 4217 code, or ``default`` when the field is empty."""
        raw = (f.next() or "").upper()
        if not raw:
            return default
        try:
            return Currency.of(raw).code
        except CurrencyError as exc:
            self.p.error(f.line, "currency code", raw, str(exc))
            return default

    # -- account ------------------------------------------------------------------------------

    def _account_header(self, rec: _Record) -> None:
        """03: account number, currency, then status and summary amounts."""
        group = self.group
        if group is None:
            self.p.error(rec.line, "record code", "03", "an 03 account outside a group (no 02)")
            return
        if self.account is not None:
            self._missing(rec.line, "49 account trailer", f"account {self.account.number}")
        f = rec.fields()
        number = f.next() or ""
        if not number:
            self.p.error(rec.line, "customer account number", "", "required")
        currency = self._currency(f, group.currency)
        group.seen[number] = group.seen.get(number, 0) + 1
        suffix = f"#{group.seen[number]}" if group.seen[number] > 1 else ""
        statement_id = f"{self.file_id}/{group.number}/{number}{suffix}"
        exponent = Currency.of(currency).exponent
        self.account = _Account(number, currency, exponent, statement_id, rec.line)
        group.accounts += 1
        self._count(rec)
        self._summaries(f, self.account)

    def _summaries(self, f: _Fields, account: _Account) -> None:
        """Type code, amount, item count, funds type (+ availability), repeated."""
        while (code := f.next()) is not None:
            if not code:
                if f.next() is None:
                    break
                self.p.error(f.line, "type code", "", "a summary amount without a type code")
                continue
            if not (len(code) == 3 and code.isdigit()):
                self.p.error(f.line, "type code", code, "must be three digits")
            amount = self.p.amount(f, f"amount ({code})")
            self.p.amount(f, f"item count ({code})", signed=False)
            self._availability(f, code)
            if amount is not None:
                account.computed += amount
                if code in (OPENING_LEDGER, CLOSING_LEDGER):
                    account.balances[code] = Decimal(amount).scaleb(-account.exponent)

    def _availability(self, f: _Fields, code: str) -> date | None:
        """Read the funds type and its extra fields; return the value date of a V."""
        funds = (f.next() or "").upper()
        if funds not in FUNDS_TYPES:
            self.p.error(f.line, f"funds type ({code})", funds, "expected 0, 1, 2, Z, S, V or D")
        if funds == "S":
            for what in ("immediate", "one-day", "two-or-more-day"):
                self.p.amount(f, f"{what} availability ({code})")
        elif funds == "V":
            value_date = self.p.yymmdd(f, f"value date ({code})", required=True)
            f.next()  # value time
            return value_date
        elif funds == "D":
            count = self.p.amount(f, f"number of distributions ({code})", signed=False) or 0
            for _ in range(count):
                self.p.amount(f, f"availability days ({code})", signed=False)
                self.p.amount(f, f"availability amount ({code})")
        return None

    def _account_trailer(self, rec: _Record) -> None:
        """49: account total and record count; the account becomes a ``Statement``."""
        account, group = self.account, self.group
        if account is None or group is None:
            self.p.error(rec.line, "record code", "49", "a 49 account trailer outside an account")
            return
        self._count(rec)
        f = rec.fields()
        total = self.p.amount(f, "account control total")
        self._expect(
            rec.line, "account control total", total, account.computed, "the 03 and 16 amounts"
        )
        stated = self.p.amount(f, "number of records", signed=False)
        self._expect(
            rec.line,
            "number of records",
            stated,
            account.records,
            "the account's records (03, 16, 88, 49)",
        )
        group.computed += account.computed
        self.statements.append(
            Statement(
                statement_id=account.statement_id,
                account=account.number,
                currency=account.currency,
                entries=tuple(account.entries),
                opening_balance=account.balances.get(OPENING_LEDGER),
                closing_balance=account.balances.get(CLOSING_LEDGER),
                statement_date=group.as_of,
                bank_id=group.originator or None,
            )
        )
        self.account = None

    # -- transaction detail -------------------------------------------------------------------

    def _detail(self, rec: _Record) -> None:
        """16: one transaction; credits and debits become ``BankEntry``s."""
        account, group = self.account, self.group
        if account is None or group is None:
            self.p.error(rec.line, "record code", "16", "a 16 detail outside an account (no 03)")
            return
        self._count(rec)
        account.details += 1
        f = rec.fields()
        code = f.next() or ""
        if not (len(code) == 3 and code.isdigit()):
            self.p.error(rec.line, "type code", code, "must be three digits")
        amount = self.p.amount(f, "amount", signed=False)
        value_date = self._availability(f, code)
        bank_ref, customer_ref = f.next() or "", f.next() or ""
        text = tuple(f.rest_as_text())
        if amount is not None:
            account.computed += amount
        if not code.isdigit() or len(code) != 3:
            return
        number = int(code)
        if not (is_credit_code(number) or is_debit_code(number)):
            self.p.warnings.append(f"line {rec.line}: type code {code} moves no cash; skipped")
            return
        if amount is None:
            self.p.error(rec.line, "amount", "", f"a type {code} detail needs an amount")
            return
        value = Decimal(amount).scaleb(-account.exponent)
        details = [("customer_reference", customer_ref)] if bank_ref and customer_ref else []
        account.entries.append(
            BankEntry(
                amount=value if is_credit_code(number) else -value,
                currency=account.currency,
                value_date=value_date or group.as_of or date.min,
                reference=bank_ref or customer_ref or f"{account.statement_id}/{account.details}",
                booking_date=group.as_of,
                payer_name=payer_from_text(text),
                text=text,
                type_code=code,
                is_return=code in RETURN_TYPE_CODES,
                details=tuple(details),
            )
        )


def _decode(data: bytes, filename: str) -> str:
    """UTF-8 (BAI2 is ASCII); anything else is read as Latin-1."""
    if not data.strip():
        raise FileRejected(filename, [], f"{filename}: the file is empty; nothing imported")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_bai2(data: bytes, filename: str = "bai2.txt", *, strict: bool = True) -> BankFile:
    """Parse a BAI2 file; raise ``FileRejected`` listing every problem."""
    p = _Problems(strict)
    text = _decode(data, filename)
    records = _records(text, p)
    reader = _Reader(p)
    for rec in records:
        reader.feed(rec)
    last_line = records[-1].parts[-1].line if records else 1
    reader.finish(last_line)
    if p.errors:
        raise FileRejected(filename, p.errors)
    return BankFile(
        format="bai2",
        statements=tuple(reader.statements),
        file_id=reader.file_id or None,
        created=reader.created,
        warnings=tuple(p.warnings),
    )
