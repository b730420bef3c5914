"""SWIFT MT940 customer statements and MT942 interim reports: bytes in, BankFile out.

``parse_mt940(data, filename)`` reads a file of one or more messages, with or without the SWIFT
envelope (``{1:...}{2:...}{4:`` ... ``-}``), bank header lines (``ABNANL2A``/``940``) and ``-``
trailers. One message becomes one ``Statement`` with ``statement_id = ":20:/:28C:"``; each ``:61:``
line with the ``:86:`` lines after it becomes one ``BankEntry``.

``:86:`` is read in the three shapes banks use: German structured subfields (``166?00GUTSCHRIFT?20
EREF+...?21SVWZ+...?30<BIC>?31<IBAN>?32<name>``), the Dutch slash format (``/EREF/.../CNTP/<IBAN>/
<BIC>/<name>/.../REMI/USTD//<text>/`` of ING and Rabobank, ``/TRTP/.../IBAN/.../NAME/.../REMI/...``
of ABN AMRO) and free text, kept as lines. Invoice numbers in the text are left to the matcher.

Every problem is reported with its line (``FileRejected``): malformed fields, missing mandatory
fields, a message cut short (no closing balance, a ``:61:`` cut in the middle), and a statement
whose ``opening + entries`` differs from its closing balance (MT942: the ``:90D:``/``:90C:``
counts and sums). With ``strict=False`` those totals checks become warnings instead.

The PyPI ``mt-940`` library was evaluated and not used: it merges all statements of a file into
one collection (per-statement balances are lost), reports no line numbers, silently reads
malformed or truncated amounts (``C1`` as 1.00, ``1x0,00`` as 1), and keeps RC entries positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from billfold.domain.payments import BankEntry, BankFile, Statement
from billfold.errors import CurrencyError, FileRejected, RowError
from billfold.formats.camt import creditor_references_in
from billfold.money import Currency

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_TRAILER = re.compile(r"^-(\}.*|[A-Z]{0,3})$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BALANCE = re.compile(r"^(?P<mark>[CD])(?P<date>\d{6})(?P<ccy>[A-Z]{3})(?P<amount>\d+,\d*)$")
_AMOUNT = re.compile(r"\d+,\d*")
_SUMS = re.compile(r"^(?P<count>\d{1,5})(?P<ccy>[A-Z]{3})(?P<amount>\d+,\d*)$")
_FLOOR = re.compile(r"^(?P<ccy>[A-Z]{3})[DC]?\d+,\d*$")
_DATETIME = re.compile(r"^(?P<date>\d{6})\d{4}([+-]\d{4})?$")
# RC is the reversal of a credit, so a debit; RD the reversal of a debit, a credit
_SIGNS = {"C": 1, "D": -1, "RC": -1, "RD": 1}
_MULTILINE = frozenset({"61", "86", "NS"})
_GVC = re.compile(r"^(?P<gvc>\d{3})(?P<sep>[^\w\s])\d\d")
_SEPA_KEY = re.compile(r"^(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|COAM|OAMT|PURP)\+")
_ID_KEYS = frozenset({"EREF", "KREF", "MREF", "CRED", "DEBT", "IBAN", "BIC", "COAM", "OAMT"})
_SLASH_KEYS = (
    "TRTP|IBAN|BIC|NAME|ADDR|REMI|EREF|MARF|CSID|CNTP|PREF|RTRN|BENM|ORDP|IREF|PURP|ULTC|ULTD|"
    "ULTB|EXCH|CHGS|ISDT|RTYP|SVCL|ORIG|COAM|OAMT|ACCW|BUSP"
)
_SLASH = re.compile(rf"/({_SLASH_KEYS})/")
_GERMAN_PARTY = frozenset({"30", "31", "32", "33"})
_RETURN_GVCS = frozenset({"108", "109", "159"})  # SEPA direct debit returns, transfer returns
_CHUNK = 27  # German :86: subfields are 27-character chunks of a longer text
_NO_REFERENCE = frozenset({"", "NOTPROVIDED", "NONREF"})


@dataclass
class _Field:
    tag: str
    line: int
    lines: list[str]  # the value: first line without the tag, then continuation lines

    @property
    def first(self) -> str:
        return self.lines[0].strip()

    @property
    def label(self) -> str:
        return f":{self.tag}:"


@dataclass
class _Message:
    line: int
    fields: list[_Field] = field(default_factory=list)
    last_line: int = 0
    bank_id: str | None = None

    def get(self, *tags: str) -> _Field | None:
        return next((f for f in self.fields if f.tag in tags), None)


@dataclass
class _Context:
    strict: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, line: int, column: str, value: str, reason: str) -> None:
        self.errors.append(RowError(line, column, value.strip(), reason))

    def inconsistency(self, line: int, column: str, value: str, reason: str) -> None:
        if self.strict:
            self.error(line, column, value, reason)
        else:
            self.warnings.append(f"line {line}, {column}: {reason}")


@dataclass
class _Info:
    """What a ``:86:`` says about one transaction."""

    payer_name: str | None = None
    payer_account: str | None = None
    payer_bank: str | None = None
    end_to_end: str | None = None
    text: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    return_reason: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)


# -- entry point ---------------------------------------------------------------------------------


def parse_mt940(data: bytes, filename: str = "statement.sta", *, strict: bool = True) -> BankFile:
    """Parse an MT940 or MT942 file; raise ``FileRejected`` listing every problem."""
    ctx = _Context(strict)
    text = _decode(ctx, data)
    messages = _split_messages(ctx, text)
    if not messages and not ctx.errors:
        ctx.error(1, "(file)", text[:20], "no MT940/MT942 message found (no :20: field)")
    kinds = {m.line: _kind(m) for m in messages}
    if len(set(kinds.values())) > 1:
        ctx.error(1, "(file)", "", "the file mixes MT940 statements and MT942 reports")
    statements = [s for m in messages if (s := _statement(ctx, m, kinds[m.line])) is not None]
    _make_ids_unique(statements)
    if ctx.errors:
        raise FileRejected(filename, ctx.errors)
    return BankFile(
        format=next(iter(kinds.values()), "mt940"),
        statements=tuple(statements),
        warnings=tuple(ctx.warnings),
    )


def _decode(ctx: _Context, data: bytes) -> str:
    """UTF-8 (BOM allowed); anything else is read as Latin-1, with a warning."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        ctx.warnings.append("the file is not UTF-8: read as Latin-1")
        return data.decode("latin-1")


def _split_messages(ctx: _Context, text: str) -> list[_Message]:
    """Fields grouped into messages; envelopes, header lines and trailers dropped."""
    messages: list[_Message] = []
    current: _Message | None = None
    header_bic: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = _CONTROL.sub(" ", raw)
        if "{4:" in line:
            header_bic = _sender_bic(line) or header_bic
            line = line.split("{4:", 1)[1]
            current = None
        stripped = line.strip()
        if not stripped:
            continue
        if _TRAILER.match(stripped):
            current = None
            continue
        tag = _TAG.match(line)
        if tag:
            if current is None or (tag.group(1) == "20" and current.fields):
                current = _Message(line=n, bank_id=header_bic)
                messages.append(current)
                header_bic = None
            current.fields.append(_Field(tag.group(1), n, [line[tag.end() :]]))
        elif current is not None and current.fields:
            last = current.fields[-1]
            if last.tag not in _MULTILINE:
                ctx.error(n, last.label, stripped, f"unexpected text after {last.label}")
            last.lines.append(line)
        else:
            header_bic = stripped if _BIC.match(stripped) else header_bic
        if current is not None:
            current.last_line = n
    return messages


def _sender_bic(line: str) -> str | None:
    """The sender of an output message: ``{2:O940<hhmm><yymmdd><BIC8><LT><branch>...``."""
    match = re.search(r"\{2:O\d{3}\d{10}([A-Z0-9]{8})[A-Z0-9]([A-Z0-9]{3})", line)
    if not match:
        return None
    return match.group(1) + ("" if match.group(2) == "XXX" else match.group(2))


def _kind(message: _Message) -> str:
    if message.get("60F", "60M", "62F", "62M") is None and message.get("34F", "13D", "90D", "90C"):
        return "mt942"
    return "mt940"


def _make_ids_unique(statements: list[Statement]) -> None:
    """Same :20:/:28C: twice in one file: the later ones get ``#2``, ``#3`` ..."""
    seen: dict[str, int] = {}
    for i, stmt in enumerate(statements):
        key = f"{stmt.account}|{stmt.statement_id}"
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            statements[i] = replace(stmt, statement_id=f"{stmt.statement_id}#{seen[key]}")


# -- values --------------------------------------------------------------------------------------


def _date(ctx: _Context, raw: str, f: _Field) -> date | None:
    """YYMMDD; years 80-99 are 19xx, the rest 20xx."""
    try:
        yy, mm, dd = int(raw[0:2]), int(raw[2:4]), int(raw[4:6])
        return date(1900 + yy if yy >= 80 else 2000 + yy, mm, dd)
    except ValueError:
        ctx.error(f.line, f.label, raw, "not a valid date (YYMMDD)")
        return None


def _entry_date(value: date, mmdd: str) -> date | None:
    """The booking date MMDD in the year that puts it closest to the value date."""
    candidates = []
    for year in (value.year - 1, value.year, value.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs((d - value).days), default=None)


def _amount(ctx: _Context, raw: str, currency: str | None, f: _Field) -> Decimal | None:
    """``1234,56`` (comma decimal, at most as many decimals as the currency has)."""
    if not _AMOUNT.fullmatch(raw):
        ctx.error(f.line, f.label, raw, "amount must be digits with a decimal comma (1234,56)")
        return None
    value = Decimal(raw.replace(",", "."))
    if currency is not None:
        exponent = Currency.of(currency).exponent
        if value != value.quantize(Decimal(1).scaleb(-exponent)):
            ctx.error(f.line, f.label, raw, f"more decimals than {currency} allows ({exponent})")
            return None
        value = value.quantize(Decimal(1).scaleb(-exponent))
    return value


def _currency(ctx: _Context, code: str, f: _Field) -> str | None:
    try:
        return Currency.of(code).code
    except CurrencyError:
        ctx.error(f.line, f.label, code, f"{code!r} is not an ISO 4217 currency code")
        return None


@dataclass(frozen=True, slots=True)
class _Balance:
    amount: Decimal
    currency: str
    date: date
    field: _Field


def _balance(ctx: _Context, f: _Field | None) -> _Balance | None:
    """:60F:/:60M:/:62F:/:62M: ``C230131EUR1234,56``."""
    if f is None:
        return None
    match = _BALANCE.match(f.first)
    if not match:
        ctx.error(f.line, f.label, f.first, "expected D/C mark, YYMMDD date, currency, amount")
        return None
    currency = _currency(ctx, match["ccy"], f)
    when = _date(ctx, match["date"], f)
    amount = _amount(ctx, match["amount"], currency, f)
    if currency is None or when is None or amount is None:
        return None
    return _Balance(amount if match["mark"] == "C" else -amount, currency, when, f)


# -- statements ----------------------------------------------------------------------------------


def _statement(ctx: _Context, msg: _Message, kind: str) -> Statement | None:
    """One message: required fields, transactions, then the totals checks."""
    ref, account, number = msg.get("20"), msg.get("25", "25P"), msg.get("28C", "28")
    for tag, present in ((":20:", ref), (":25:", account), (":28C:", number)):
        if present is None:
            ctx.error(msg.line, tag, "", f"the message starting here has no {tag} field")
    opening = _balance(ctx, msg.get("60F", "60M"))
    closing = _balance(ctx, msg.get("62F", "62M"))
    stmt_id = "/".join(f.first for f in (ref, number) if f is not None) or f"line {msg.line}"
    if kind == "mt940":
        _require_balances(ctx, msg, stmt_id, opening, closing)
    currency = _statement_currency(ctx, msg, kind, opening, closing)
    if currency is None:
        return None
    entries = _transactions(ctx, msg, stmt_id, currency)
    if opening and closing:
        _check_balance(ctx, stmt_id, msg, opening, closing, entries)
    _check_sums(ctx, stmt_id, msg, entries)
    when = closing.date if closing else _report_date(ctx, msg)
    return Statement(
        statement_id=stmt_id,
        account=_account(account, currency),
        currency=currency,
        entries=tuple(entries),
        opening_balance=opening.amount if opening else None,
        closing_balance=closing.amount if closing else None,
        statement_date=when or (entries[-1].value_date if entries else None),
        bank_id=msg.bank_id,
    )


def _account(f: _Field | None, currency: str) -> str:
    """:25: as given, less a trailing currency code (``NL12RABO0123456789EUR``)."""
    account = f.first if f is not None else ""
    return account.removesuffix(currency) or account


def _require_balances(
    ctx: _Context, msg: _Message, stmt_id: str, opening: _Balance | None, closing: _Balance | None
) -> None:
    if msg.get("60F", "60M") is None:
        ctx.error(msg.line, ":60F:", "", f"statement {stmt_id!r} has no opening balance :60F:")
    if msg.get("62F", "62M") is None:
        reason = f"statement {stmt_id!r} has no closing balance :62F:: the file looks truncated"
        ctx.error(msg.last_line, ":62F:", "", reason)
    elif opening and closing and opening.currency != closing.currency:
        reason = f"closing balance in {closing.currency}, opening balance in {opening.currency}"
        ctx.error(closing.field.line, closing.field.label, closing.field.first, reason)
    closed = False
    for f in msg.fields:
        closed = closed or f.tag in ("62F", "62M")
        if closed and f.tag == "61":
            ctx.error(f.line, f.label, f.first, "transaction after the closing balance")


def _statement_currency(
    ctx: _Context, msg: _Message, kind: str, opening: _Balance | None, closing: _Balance | None
) -> str | None:
    """From the balances (MT940) or the floor limit / sums lines (MT942)."""
    balance = opening or closing
    if balance is not None:
        return balance.currency
    for f in msg.fields:
        pattern = _FLOOR if f.tag == "34F" else _SUMS if f.tag in ("90D", "90C") else None
        match = pattern.match(f.first) if pattern else None
        if match:
            return _currency(ctx, match["ccy"], f)
    if kind == "mt942":  # an MT940 without balances is reported already
        ctx.error(msg.line, ":34F:", "", "no currency: no balance, :34F: or :90D:/:90C: field")
    return None


def _report_date(ctx: _Context, msg: _Message) -> date | None:
    f = msg.get("13D", "13")
    match = _DATETIME.match(f.first) if f else None
    return _date(ctx, match["date"], f) if match and f else None


def _check_balance(
    ctx: _Context,
    stmt_id: str,
    msg: _Message,
    opening: _Balance,
    closing: _Balance,
    entries: list[BankEntry],
) -> None:
    total = sum((e.amount for e in entries), Decimal(0))
    expected = opening.amount + total
    if expected != closing.amount:
        f = closing.field
        reason = (
            f"statement {stmt_id!r} (from line {msg.line}) does not balance: opening "
            f"{opening.amount} + entries {total} = {expected}, but the closing balance is "
            f"{closing.amount} (difference {closing.amount - expected} {closing.currency})"
        )
        ctx.inconsistency(f.line, f.label, f.first, reason)


def _check_sums(ctx: _Context, stmt_id: str, msg: _Message, entries: list[BankEntry]) -> None:
    """:90D:/:90C: number and sum of debit/credit entries, when the message has them."""
    for tag, sign in (("90D", -1), ("90C", 1)):
        f = msg.get(tag)
        if f is None:
            continue
        match = _SUMS.match(f.first)
        if not match:
            ctx.error(f.line, f.label, f.first, "expected number of entries, currency, amount")
            continue
        currency = _currency(ctx, match["ccy"], f)
        amount = _amount(ctx, match["amount"], currency, f) if currency else None
        mine = [e.amount * sign for e in entries if e.amount * sign > 0]
        count, total = len(mine), sum(mine, Decimal(0))
        if amount is not None and (int(match["count"]) != count or amount != total):
            reason = (
                f"statement {stmt_id!r}: {f.label} says {int(match['count'])} entries for "
                f"{amount}, the statement has {count} for {total}"
            )
            ctx.inconsistency(f.line, f.label, f.first, reason)


# -- transactions --------------------------------------------------------------------------------


def _transactions(ctx: _Context, msg: _Message, stmt_id: str, currency: str) -> list[BankEntry]:
    """Each :61: with the :86: fields that follow it."""
    groups: list[tuple[_Field, list[str]]] = []
    in_transaction = False  # since the last :61:, only :86: fields
    for f in msg.fields:
        if f.tag == "61":
            groups.append((f, []))
        elif f.tag == "86" and in_transaction:
            groups[-1][1].extend(f.lines)
        elif f.tag == "86":
            said = " ".join(" ".join(f.lines).split())
            ctx.warnings.append(f"line {f.line}: statement {stmt_id!r} information: {said}")
        in_transaction = f.tag == "61" or (in_transaction and f.tag == "86")
    entries = []
    for n, (f, info_lines) in enumerate(groups, 1):
        entry = _transaction(ctx, f, info_lines, currency, f"{stmt_id}/{n}")
        if entry is not None:
            entries.append(entry)
    return entries


_TX_PARTS = (
    ("value", r"\d{6}", "value date YYMMDD expected"),
    ("entry", r"(\d{4})?", ""),
    ("mark", r"RC|RD|C|D", "debit/credit mark C, D, RC or RD expected"),
    ("funds", r"[A-Z]?", ""),
    ("amount", r"\d+,\d*", "amount with a decimal comma expected (the line may be cut short)"),
    ("type", r"[NFS][A-Z0-9]{3}", "transaction type expected: N, F or S and 3 characters"),
)


def _split_61(ctx: _Context, f: _Field) -> dict[str, str] | None:
    """The subfields of a :61: line, or an error naming the first one that is wrong."""
    rest, parts = f.first, {}
    for name, pattern, reason in _TX_PARTS:
        match = re.match(pattern, rest)
        if match is None:
            ctx.error(f.line, f"{f.label} {name}", f.first, reason)
            return None
        parts[name], rest = match.group(0), rest[match.end() :]
    reference, _, bank_ref = rest.partition("//")
    if not bank_ref and len(reference) > 16:  # no //: the reference is 16 characters at most
        reference, parts["extra"] = reference[:16], reference[16:]
    parts["reference"], parts["bank_ref"] = reference.strip(), bank_ref.strip()
    more = " ".join(line.strip() for line in f.lines[1:] if line.strip())
    parts["extra"] = " ".join(p for p in (parts.get("extra", "").strip(), more) if p)
    return parts


def _transaction(
    ctx: _Context, f: _Field, info_lines: list[str], currency: str, fallback_ref: str
) -> BankEntry | None:
    parts = _split_61(ctx, f)
    if parts is None:
        return None
    value = _date(ctx, parts["value"], f)
    amount = _amount(ctx, parts["amount"], currency, f)
    if value is None or amount is None:
        return None
    booking = _entry_date(value, parts["entry"]) if parts["entry"] else None
    if parts["entry"] and booking is None:
        ctx.error(f.line, f"{f.label} entry date", parts["entry"], "not a valid date (MMDD)")
    info = _parse_86(info_lines)
    customer = parts["reference"]
    details = [
        ("customer reference", customer),
        ("supplementary details", parts["extra"]),
        ("funds code", parts["funds"]),
        *info.details,
    ]
    reversal = parts["mark"] in ("RC", "RD")
    return BankEntry(
        amount=amount * _SIGNS[parts["mark"]],
        currency=currency,
        value_date=value,
        reference=parts["bank_ref"] or fallback_ref,
        booking_date=booking,
        payer_name=info.payer_name,
        payer_account=info.payer_account,
        payer_bank=info.payer_bank,
        end_to_end=info.end_to_end,
        structured_refs=tuple(dict.fromkeys(info.refs)),
        text=tuple(dict.fromkeys(info.text)),
        type_code=parts["type"],
        is_return=reversal or info.return_reason is not None,
        return_reason=info.return_reason,
        details=tuple(dict.fromkeys((k, v) for k, v in details if v)),
    )


# -- :86: information ----------------------------------------------------------------------------


def _clean(text: str) -> str:
    return " ".join(text.split())


def _parse_86(lines: list[str]) -> _Info:
    """Structured German or Dutch subfields when present, else the lines as text."""
    joined = "".join(lines)
    gvc = _GVC.match(joined)
    if gvc:
        info = _german(gvc, joined)
    elif _SLASH.match(joined.lstrip()):
        info = _dutch(joined.strip())
    else:
        info = _Info(text=[c for line in lines if (c := _clean(line))])
    for line in info.text:
        info.refs.extend(creditor_references_in(line))
    return info


def _german(match: re.Match[str], joined: str) -> _Info:
    """``GVC?00posting text?10prima nota?20..?29 purpose?30 bank?31 account?32..?33 name?34 ...``;
    ?34 (Textschlüsselergänzung) is the return reason of the return GVCs 108, 109 and 159."""
    pieces = re.split(re.escape(match["sep"]) + r"(\d\d)", joined[3:])
    subfields: dict[str, str] = {}
    purpose: list[str] = []
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        if "20" <= code <= "29" or "60" <= code <= "63":
            purpose.append(value)
        else:
            subfields[code] = subfields.get(code, "") + value
    info = _Info(details=[("GVC", match["gvc"])])
    info.payer_bank = _clean(subfields.get("30", "")) or None
    info.payer_account = _clean(subfields.get("31", "")) or None
    info.payer_name = _clean(_join_chunks([subfields.get("32", ""), subfields.get("33", "")]))
    info.payer_name = info.payer_name or None
    if match["gvc"] in _RETURN_GVCS:
        info.return_reason = _clean(subfields.pop("34", "")) or None
    labels = {"00": "posting text", "10": "prima nota"}
    for code, value in subfields.items():
        if code not in _GERMAN_PARTY:
            info.details.append((labels.get(code, f"?{code}"), _clean(value)))
    for key, text in _sepa_segments(purpose):
        if key == "EREF":
            info.end_to_end = None if text in _NO_REFERENCE else text
        elif key in ("SVWZ", ""):
            info.text.append(text)
        else:
            info.details.append((key, text))
    return info


def _join_chunks(chunks: list[str]) -> str:
    """27-character chunks: a full chunk runs on into the next, a shorter one ends a word."""
    out, previous = "", _CHUNK
    for chunk in chunks:
        out += chunk if previous >= _CHUNK else " " + chunk
        previous = len(chunk)
    return out


def _sepa_segments(chunks: list[str]) -> list[tuple[str, str]]:
    """Purpose chunks as (keyword, text): ``EREF+``/``SVWZ+``... start a segment; an identifier
    ends at a chunk shorter than 27 characters; other text ("" keyword) goes on."""
    segments: list[tuple[str, str]] = []
    previous_full = False
    for chunk in chunks:
        key = _SEPA_KEY.match(chunk)
        if key:
            segments.append((key.group(1), chunk[key.end() :]))
        elif segments and (previous_full or segments[-1][0] not in _ID_KEYS):
            name, text = segments[-1]
            segments[-1] = (name, text + (chunk if previous_full else " " + chunk))
        else:
            segments.append(("", chunk))
        previous_full = len(chunk) >= _CHUNK
    return [(k, c) for k, t in segments if (c := _clean(t))]


def _dutch(joined: str) -> _Info:
    """``/KEY/value/KEY/value``: EREF, CNTP (account/BIC/name/city), REMI (USTD//text or
    STRD/CUR/reference), IBAN, BIC, NAME (ABN AMRO), RTRN (return reason) ..."""
    pieces = _SLASH.split(joined)
    values: dict[str, str] = {
        k: v.strip().rstrip("/").strip() for k, v in zip(pieces[1::2], pieces[2::2], strict=True)
    }
    info = _Info()
    account, bic, name, *_ = [*values.pop("CNTP", "").split("/"), "", "", ""]
    info.payer_account = values.pop("IBAN", "") or account or None
    info.payer_bank = values.pop("BIC", "") or bic or None
    info.payer_name = _clean(values.pop("NAME", "") or name) or None
    eref = values.pop("EREF", "")
    info.end_to_end = eref if eref not in _NO_REFERENCE else None
    info.return_reason = values.pop("RTRN", "").split("/")[0] or None
    remittance = values.pop("REMI", "")
    if remittance.startswith("STRD/"):
        info.refs.append(remittance.split("/")[-1])
    elif remittance:
        info.text.append(_clean(remittance.removeprefix("USTD//").removeprefix("USTD/")))
    info.details.extend((key, _clean(value)) for key, value in values.items() if _clean(value))
    return info
