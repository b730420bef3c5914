"""ISO 20022 camt.053 statements and camt.054 debit/credit notifications: bytes in, BankFile out.

``parse_camt(data, filename)`` reads versions 02 to 08 of both messages, recognised by the XML
namespace (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` ... ``.08``); any other namespace is
refused with its name. The XML is parsed without entity expansion, DTDs or network access, and a
document with a DOCTYPE is refused outright.

One ``Stmt``/``Ntfctn`` becomes one ``Statement``; one ``Ntry`` one ``BankEntry``, except a batch
(``NtryDtls`` with several ``TxDtls`` carrying their own amounts): one entry per transaction, whose
amounts must add up to the booked entry amount. Debits are negative.

Checks, each reported as a ``RowError`` (line = XML source line, column = element path such as
``Ntry/Amt``) in one ``FileRejected``: well-formed amounts, currencies and dates; required elements;
``opening + booked entries == closing`` per statement; batch transactions adding up to their entry.
With ``strict=False`` the two totals checks become warnings on the ``BankFile`` instead, for files
known to be inconsistent (anonymised samples, some test exports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import NoReturn

from lxml import etree
from stdnum import iso11649
from stdnum.ch import esr

from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import CurrencyError, FileRejected, RowError
from billfold.money import Currency

Element = etree._Element

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
# message number -> (BankFile.format, body element, statement element)
MESSAGES = {
    "053": ("camt.053", "BkToCstmrStmt", "Stmt"),
    "054": ("camt.054", "BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
VERSIONS = tuple(f"{v:02d}" for v in range(2, 9))
SUPPORTED_NAMESPACES = frozenset(
    f"{NAMESPACE_PREFIX}camt.{m}.001.{v}" for m in MESSAGES for v in VERSIONS
)

_OPENING_CODES = ("OPBD", "PRCD")
_CLOSING_CODES = ("CLBD",)
_PATH_ROOTS = frozenset({"Ntry", "Stmt", "Ntfctn", "GrpHdr"})
_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
_REF_TAGS = ("MsgId", "PmtInfId", "InstrId", "TxId", "MndtId", "ChqNb", "UETR", "ClrSysRef")
_DOC_KINDS = {  # RfrdDocInf/Tp/CdOrPrtry/Cd -> RemittanceLine.kind; other codes are "other"
    **dict.fromkeys(("CINV", "DEBN", "HIRI", "SBIN", "CMCN", "DNFA"), "invoice"),
    **dict.fromkeys(("CREN", "CNFA", "CdtNote"), "credit_note"),
    "PUOR": "po",
}
_RF_IN_TEXT = re.compile(r"\bRF\d{2}(?: ?[0-9A-Z]{1,4}){1,6}", re.IGNORECASE)
_QRR_IN_TEXT = re.compile(r"(?<!\d)(\d{27}|\d{2}(?: \d{5}){5})(?!\d)")


# -- public helpers ------------------------------------------------------------------------------


def creditor_reference_kind(reference: str) -> str | None:
    """``"RF"`` for a valid ISO 11649 creditor reference, ``"QRR"`` for a valid Swiss QR
    reference (27 digits, recursive mod 10), else None."""
    compact = "".join(reference.split()).upper()
    if compact.startswith("RF") and iso11649.is_valid(compact):
        return "RF"
    if len(compact) == 27 and compact.isdigit() and esr.is_valid(compact):
        return "QRR"
    return None


def creditor_references_in(text: str) -> tuple[str, ...]:
    """Valid RF and QRR references written in free text, compacted (no spaces, upper case)."""
    found: list[str] = []
    for match in _RF_IN_TEXT.finditer(text):
        groups = match.group(0).split(" ")
        # the pattern is greedy: drop trailing groups until the checksum holds
        for end in range(len(groups), 0, -1):
            candidate = "".join(groups[:end]).upper()
            if creditor_reference_kind(candidate) == "RF":
                found.append(candidate)
                break
    for match in _QRR_IN_TEXT.finditer(text):
        candidate = match.group(0).replace(" ", "")
        if creditor_reference_kind(candidate) == "QRR":
            found.append(candidate)
    return tuple(dict.fromkeys(found))


# -- plumbing ------------------------------------------------------------------------------------


@dataclass
class _Context:
    """Errors and warnings collected while reading one file."""

    strict: bool
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, el: Element, reason: str, value: str | None = None) -> None:
        shown = value if value is not None else (el.text or "").strip()
        self.errors.append(RowError(_line(el), _path(el), shown, reason))

    def inconsistency(self, el: Element, reason: str, value: str) -> None:
        """A totals check failed: an error when strict, otherwise a warning."""
        if self.strict:
            self.error(el, reason, value)
        else:
            self.warnings.append(f"line {_line(el)}, {_path(el)}: {reason}")


@dataclass(frozen=True, slots=True)
class _Amount:
    value: Decimal  # signed when it came with a CdtDbtInd
    currency: str
    el: Element

    def __str__(self) -> str:
        return f"{self.currency} {self.value}"


def _line(el: Element) -> int:
    line: int | None = getattr(el, "sourceline", None)  # the stubs do not type it
    return line or 0


def _path(el: Element) -> str:
    """Element names from the nearest Ntry/Stmt/Ntfctn/GrpHdr down to ``el``: ``Ntry/Amt``."""
    names: list[str] = []
    node: Element | None = el
    while node is not None:
        names.append(node.tag)
        if node.tag in _PATH_ROOTS:
            break
        node = node.getparent()
    return "/".join(reversed(names))


def _text(el: Element | None, path: str) -> str | None:
    """Whitespace-normalised text of ``path`` below ``el``, or None when absent or empty."""
    if el is None:
        return None
    found = el.find(path)
    if found is None or found.text is None:
        return None
    value = " ".join(found.text.split())
    return value or None


def _texts(el: Element | None, path: str) -> list[str]:
    if el is None:
        return []
    return [v for f in el.findall(path) if f.text and (v := " ".join(f.text.split()))]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# -- entry point ---------------------------------------------------------------------------------


def parse_camt(data: bytes, filename: str = "camt.xml", *, strict: bool = True) -> BankFile:
    """Parse a camt.053 or camt.054 file; raise ``FileRejected`` listing every problem."""
    root = _parse_xml(data, filename)
    fmt, body_tag, item_tag = _message_kind(root, filename)
    for el in root.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    ctx = _Context(strict)
    body = root.find(body_tag)
    if body is None:
        _reject(filename, root, "Document", f"no {body_tag}: this is not a {fmt} message")
    header = body.find("GrpHdr")
    file_id = _text(header, "MsgId")
    if file_id is None:
        ctx.error(header if header is not None else body, "GrpHdr/MsgId is missing", "")
    created = _date_of(ctx, header.find("CreDtTm")) if header is not None else None
    items = body.findall(item_tag)
    if not items:
        ctx.error(body, f"the file has no {item_tag}: no {fmt} content to import", "")
    statements = [s for el in items if (s := _statement(ctx, el)) is not None]
    if ctx.errors:
        raise FileRejected(filename, ctx.errors)
    return BankFile(
        format=fmt,
        statements=tuple(statements),
        file_id=file_id,
        created=created,
        warnings=tuple(ctx.warnings),
    )


def _reject(
    filename: str, el: Element | None, column: str, reason: str, line: int = 1, value: str = ""
) -> NoReturn:
    where = _line(el) if el is not None else line
    raise FileRejected(filename, [RowError(where, column, value, reason)]) from None


def _parse_xml(data: bytes, filename: str) -> Element:
    """Parse without entities, DTDs or network; refuse a DOCTYPE (XXE, billion laughs)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        _reject(filename, None, "(xml)", f"not well-formed XML: {exc}", exc.lineno or 1)
    if root is None:
        _reject(filename, None, "(xml)", "empty XML document")
    doctype = str(getattr(root.getroottree().docinfo, "doctype", "") or "")
    if doctype:
        _reject(filename, root, "(xml)", f"a DOCTYPE is not allowed: {doctype}")
    return root


def _message_kind(root: Element, filename: str) -> tuple[str, str, str]:
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    if namespace not in SUPPORTED_NAMESPACES or qname.localname != "Document":
        known = f"camt.053 or camt.054, versions 001.{VERSIONS[0]} to 001.{VERSIONS[-1]}"
        reason = f"unknown namespace {namespace!r}: expected {known}"
        if namespace in SUPPORTED_NAMESPACES:
            reason = f"the root element is {qname.localname}, expected Document"
        _reject(filename, root, f"{qname.localname}/@xmlns", reason, value=namespace)
    message = namespace[len(NAMESPACE_PREFIX) :].split(".")[1]
    return MESSAGES[message]


# -- values --------------------------------------------------------------------------------------


def _money(ctx: _Context, el: Element | None, *, sign: int = 1) -> _Amount | None:
    """An ``Amt``-like element: non-negative decimal with a known ``Ccy`` and at most as many
    decimals as the currency has."""
    if el is None:
        return None
    raw = (el.text or "").strip()
    code = (el.get("Ccy") or "").strip()
    if not _AMOUNT.match(raw):
        ctx.error(el, "amount must be a non-negative decimal number with '.' (e.g. 1250.00)", raw)
        return None
    try:
        currency = Currency.of(code)
    except CurrencyError:
        ctx.error(el, f"Ccy {code!r} is not an ISO 4217 currency code", code)
        return None
    value = Decimal(raw)
    quantized = value.quantize(currency.quantum)
    if quantized != value:
        ctx.error(el, f"more decimals than {currency.code} allows ({currency.exponent})", raw)
        return None
    return _Amount(quantized * sign, currency.code, el)


def _required_money(ctx: _Context, parent: Element, path: str, *, sign: int = 1) -> _Amount | None:
    el = parent.find(path)
    if el is None:
        ctx.error(parent, f"{path} is missing", "")
        return None
    return _money(ctx, el, sign=sign)


def _sign(ctx: _Context, parent: Element) -> int | None:
    """+1 for CRDT, -1 for DBIT, from ``parent/CdtDbtInd``."""
    el = parent.find("CdtDbtInd")
    value = _text(parent, "CdtDbtInd")
    if el is None or value not in ("CRDT", "DBIT"):
        ctx.error(el if el is not None else parent, "CdtDbtInd must be CRDT or DBIT", value or "")
        return None
    return 1 if value == "CRDT" else -1


def _date_of(ctx: _Context, el: Element | None) -> date | None:
    """An ISODate (optionally with zone) or ISODateTime; the date as the bank wrote it."""
    if el is None:
        return None
    raw = (el.text or "").strip()
    try:
        if "T" in raw:
            return datetime.fromisoformat(raw).date()
        match = _DATE.match(raw)
        if match:
            return date.fromisoformat(match.group(1))
    except ValueError:
        pass
    ctx.error(el, "not a valid ISO date (YYYY-MM-DD) or date-time", raw)
    return None


def _date_choice(ctx: _Context, parent: Element, path: str) -> date | None:
    """``path`` holding ``Dt`` or ``DtTm`` (BookgDt, ValDt, Bal/Dt)."""
    holder = parent.find(path)
    found = [*holder.findall("Dt"), *holder.findall("DtTm")] if holder is not None else []
    el = found[0] if found else None
    if holder is not None and el is None:
        ctx.error(holder, "needs Dt or DtTm", "")
    return _date_of(ctx, el)


def _account_id(acct: Element | None) -> str | None:
    return _text(acct, "Id/IBAN") or _text(acct, "Id/Othr/Id")


def _agent_id(agent: Element | None) -> str | None:
    return (
        _text(agent, "FinInstnId/BIC")
        or _text(agent, "FinInstnId/BICFI")
        or _text(agent, "FinInstnId/ClrSysMmbId/MmbId")
    )


def _bank_tx_code(bktxcd: Element | None) -> tuple[str | None, str | None]:
    """(``Domn/Cd/Fmly/Cd/SubFmlyCd`` joined by ``/`` or else ``Prtry/Cd``, the Prtry code)."""
    domain = _text(bktxcd, "Domn/Cd")
    prtry = _text(bktxcd, "Prtry/Cd")
    if domain:
        parts = [domain, _text(bktxcd, "Domn/Fmly/Cd"), _text(bktxcd, "Domn/Fmly/SubFmlyCd")]
        return "/".join(p for p in parts if p), prtry
    return prtry, None


# -- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Booked:
    """What one Ntry contributes: its entries and its booked (entry-level) amount."""

    entries: tuple[BankEntry, ...]
    amount: _Amount
    booked: bool


def _statement(ctx: _Context, el: Element) -> Statement | None:
    known_errors = len(ctx.errors)
    stmt_id = _text(el, "Id")
    if stmt_id is None:
        ctx.error(el, f"{el.tag}/Id is missing", "")
        stmt_id = f"{el.tag}@line{_line(el)}"
    acct = el.find("Acct")
    account = _account_id(acct)
    if account is None:
        where = acct if acct is not None else el
        ctx.error(where, "account id (Acct/Id/IBAN or Acct/Id/Othr/Id) is missing", "")
    opening, closing = _balances(ctx, el)
    booked = [
        b for n, ntry in enumerate(el.findall("Ntry"), 1) if (b := _entry(ctx, ntry, stmt_id, n))
    ]
    currency = _text(acct, "Ccy") or next(
        (a.currency for a in (opening, closing, *(b.amount for b in booked)) if a), None
    )
    if currency is None:
        if len(ctx.errors) == known_errors:  # else the entries that would tell it were bad
            ctx.error(el, "no currency: neither Acct/Ccy, a balance nor an entry gives one", "")
        return None
    if opening is not None and closing is not None:
        _check_balance(ctx, stmt_id, currency, opening, closing, booked)
    to_date = el.find("FrToDt/ToDtTm")
    statement_date = _date_of(ctx, to_date if to_date is not None else el.find("CreDtTm"))
    return Statement(
        statement_id=stmt_id,
        account=account or "",
        currency=currency,
        entries=tuple(e for b in booked for e in b.entries),
        opening_balance=opening.value if opening else None,
        closing_balance=closing.value if closing else None,
        statement_date=statement_date,
        bank_id=_agent_id(acct.find("Svcr")) if acct is not None else None,
    )


def _balances(ctx: _Context, stmt: Element) -> tuple[_Amount | None, _Amount | None]:
    """The first opening (OPBD, else PRCD) and closing (CLBD) booked balance, signed."""
    found: dict[str, _Amount] = {}
    for bal in stmt.findall("Bal"):
        code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
        if code not in (*_OPENING_CODES, *_CLOSING_CODES) or code in found:
            continue
        sign = _sign(ctx, bal)
        amount = _required_money(ctx, bal, "Amt", sign=sign or 1)
        if amount is not None and sign is not None:
            found[code] = amount
    opening = next((found[c] for c in _OPENING_CODES if c in found), None)
    closing = next((found[c] for c in _CLOSING_CODES if c in found), None)
    return opening, closing


def _check_balance(
    ctx: _Context,
    stmt_id: str,
    currency: str,
    opening: _Amount,
    closing: _Amount,
    booked: list[_Booked],
) -> None:
    """opening + booked entry amounts == closing, all in the statement currency."""
    odd = [a for a in (opening, closing, *(b.amount for b in booked)) if a.currency != currency]
    for amount in odd:
        reason = (
            f"statement {stmt_id!r}: amount in {amount.currency} but the statement is in "
            f"{currency}; the balance cannot be checked"
        )
        ctx.inconsistency(amount.el, reason, str(amount))
    if odd:
        return
    total = sum((b.amount.value for b in booked if b.booked), Decimal(0))
    expected = opening.value + total
    if expected != closing.value:
        reason = (
            f"statement {stmt_id!r} does not balance: opening {opening.value} + entries {total} = "
            f"{expected}, but the closing balance is {closing.value} "
            f"(difference {closing.value - expected} {currency})"
        )
        ctx.inconsistency(closing.el, reason, str(closing.value))


# -- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TxInfo:
    """What one TxDtls adds to an entry."""

    reference: str | None = None
    end_to_end: str | None = None
    payer_name: str | None = None
    payer_account: str | None = None
    payer_bank: str | None = None
    structured_refs: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    lines: tuple[RemittanceLine, ...] = ()
    charges: Decimal | None = None
    gross: Decimal | None = None
    type_code: str | None = None
    is_return: bool = False
    return_reason: str | None = None
    details: tuple[tuple[str, str], ...] = ()


def _entry(ctx: _Context, ntry: Element, stmt_id: str, n: int) -> _Booked | None:
    """One Ntry: one BankEntry, or one per transaction of a batch."""
    sign = _sign(ctx, ntry)
    amount = _required_money(ctx, ntry, "Amt", sign=sign or 1)
    booking = _date_choice(ctx, ntry, "BookgDt")
    value = _date_choice(ctx, ntry, "ValDt") or booking
    if value is None and ntry.find("ValDt") is None and ntry.find("BookgDt") is None:
        ctx.error(ntry, "the entry has neither ValDt nor BookgDt", "")
    if amount is None or sign is None or value is None:
        return None
    status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts") or "BOOK"
    acct_ref, ntry_ref = _text(ntry, "AcctSvcrRef"), _text(ntry, "NtryRef")
    type_code, prtry = _bank_tx_code(ntry.find("BkTxCd"))
    details = [("AcctSvcrRef", acct_ref), ("NtryRef", ntry_ref), ("BkTxCd/Prtry", prtry)]
    if status != "BOOK":
        details.append(("Sts", status))
        ctx.warnings.append(f"line {_line(ntry)}: entry has status {status}, not booked")
    batch = ntry.find("NtryDtls/Btch")
    txs = ntry.findall("NtryDtls/TxDtls")
    infos = [_tx_info(ctx, tx, credit=sign > 0, currency=amount.currency) for tx in txs]
    single_ref = infos[0].reference if len(infos) == 1 else None
    base = BankEntry(
        amount=amount.value,
        currency=amount.currency,
        value_date=value,
        reference=acct_ref or ntry_ref or single_ref or f"{stmt_id}/{n}",
        booking_date=booking,
        type_code=type_code,
        is_return=_text(ntry, "RvslInd") in ("true", "1"),
        charges=_charges(ctx, ntry, amount.currency) or Decimal(0),
        batch=_text(batch, "PmtInfId") or _text(batch, "MsgId"),
        details=tuple((k, v) for k, v in details if v),
    )
    entry_text = _texts(ntry, "AddtlNtryInf")
    if len(txs) > 1:
        split = _split_batch(ctx, base, amount, txs, infos)
        if split is not None:
            split = tuple(replace(e, text=_unique((*e.text, *entry_text))) for e in split)
            return _Booked(split, amount, status == "BOOK")
        ctx.warnings.append(
            f"line {_line(ntry)}: entry {base.reference} of {len(txs)} transactions kept as one"
        )
    entry = base
    for info in infos:  # Ntry-level charges are the total: the transactions' would repeat them
        entry = _absorb(entry, replace(info, charges=None) if base.charges else info)
    entry = replace(entry, text=_unique((*entry.text, *entry_text)))
    return _Booked((entry,), amount, status == "BOOK")


def _split_batch(
    ctx: _Context, base: BankEntry, amount: _Amount, txs: list[Element], infos: list[_TxInfo]
) -> tuple[BankEntry, ...] | None:
    """One entry per TxDtls when each has an amount and they add up to the entry amount."""
    amounts = [_tx_amount(ctx, tx, 1 if amount.value > 0 else -1) for tx in txs]
    if all(a is None for a in amounts):
        return None  # nothing to split by: the bank gave no per-transaction amounts
    present = [a for a in amounts if a is not None]
    currencies = {a.currency for a in present}
    total = sum((a.value for a in present), Decimal(0))
    if len(present) < len(amounts) or currencies != {amount.currency} or total != amount.value:
        shown = ", ".join(str(a) if a else "(none)" for a in amounts)
        reason = (
            f"the entry amount is {amount} but its {len(txs)} transactions say {shown}: "
            f"they must add up to it in the same currency"
        )
        ctx.inconsistency(amount.el, reason, str(amount.value))
        return None
    batch = base.batch or base.reference
    entries = []
    for i, (tx_amount, info) in enumerate(zip(present, infos, strict=True), 1):
        part = replace(
            base,
            amount=tx_amount.value,
            reference=info.reference or f"{base.reference}/{i}",
            batch=batch,
            charges=Decimal(0),
        )
        entries.append(_absorb(part, info))
    if base.charges:
        ctx.warnings.append(f"line {_line(amount.el)}: batch charges {base.charges} not split")
    return tuple(entries)


def _tx_amount(ctx: _Context, tx: Element, entry_sign: int) -> _Amount | None:
    """AmtDtls/TxAmt/Amt, else TxDtls/Amt (v3+), signed by TxDtls/CdtDbtInd or the entry's."""
    el = tx.find("AmtDtls/TxAmt/Amt")
    if el is None:
        el = tx.find("Amt")
    if el is None:
        return None
    indicator = _text(tx, "CdtDbtInd")
    sign = {"CRDT": 1, "DBIT": -1}.get(indicator or "", entry_sign)
    return _money(ctx, el, sign=sign)


def _charges(ctx: _Context, parent: Element, currency: str) -> Decimal | None:
    """Chrgs/TtlChrgsAndTaxAmt, else the sum of Chrgs/Amt (v2) and Chrgs/Rcrd/Amt (v3+)."""
    total = parent.find("Chrgs/TtlChrgsAndTaxAmt")
    holders: list[tuple[Element | None, str | None]] = [(total, None)]
    if total is None:
        records = [*parent.findall("Chrgs"), *parent.findall("Chrgs/Rcrd")]
        holders = [(r.find("Amt"), _text(r, "CdtDbtInd")) for r in records]
    result: Decimal | None = None
    for el, indicator in holders:
        amount = _money(ctx, el)
        if amount is None or indicator == "CRDT":
            continue
        if amount.currency != currency:
            ctx.warnings.append(f"line {_line(amount.el)}: charges {amount} not in {currency}")
            continue
        result = (result or Decimal(0)) + amount.value
    return result


def _tx_info(ctx: _Context, tx: Element, *, credit: bool, currency: str) -> _TxInfo:
    """Parties, references, remittance, return and charges of one TxDtls."""
    refs = tx.find("Refs")
    end_to_end = _text(refs, "EndToEndId")
    primary, other = ("Dbtr", "Cdtr") if credit else ("Cdtr", "Dbtr")
    party = _party(tx, primary)
    if not any(party):
        party = _party(tx, other)
    texts, creditor_refs, lines = _remittance(ctx, tx.find("RmtInf"), currency)
    type_code, prtry = _bank_tx_code(tx.find("BkTxCd"))
    rtr = tx.find("RtrInf")
    details: list[tuple[str, str | None]] = [(tag, _text(refs, tag)) for tag in _REF_TAGS]
    details += [
        ("TxAcctSvcrRef", _text(refs, "AcctSvcrRef")),
        ("BkTxCd/Prtry", prtry),
        ("UltmtDbtr", _name(tx.find("RltdPties/UltmtDbtr"))),
        ("UltmtCdtr", _name(tx.find("RltdPties/UltmtCdtr"))),
        ("RtrInf/AddtlInf", " ".join(_texts(rtr, "AddtlInf")) or None),
    ]
    instructed = _money(ctx, tx.find("AmtDtls/InstdAmt/Amt"))
    return _TxInfo(
        reference=_text(refs, "AcctSvcrRef"),
        end_to_end=None if end_to_end in (None, "NOTPROVIDED") else end_to_end,
        payer_name=party[0],
        payer_account=party[1],
        payer_bank=party[2],
        structured_refs=_unique(creditor_refs),
        text=_unique((*texts, *_texts(tx, "AddtlTxInf"))),
        lines=tuple(lines),
        charges=_charges(ctx, tx, currency),
        gross=instructed.value if instructed and instructed.currency == currency else None,
        type_code=type_code,
        is_return=rtr is not None,
        return_reason=_text(rtr, "Rsn/Cd") or _text(rtr, "Rsn/Prtry"),
        details=tuple((k, v) for k, v in details if v),
    )


def _party(tx: Element, role: str) -> tuple[str | None, str | None, str | None]:
    """(name, account, agent) of Dbtr or Cdtr; v08 nests the name in ``Pty``."""
    name = _name(tx.find(f"RltdPties/{role}"))
    account = _account_id(tx.find(f"RltdPties/{role}Acct"))
    return name, account, _agent_id(tx.find(f"RltdAgts/{role}Agt"))


def _name(party: Element | None) -> str | None:
    """``Nm`` of a party, or ``Pty/Nm`` (v08)."""
    return _text(party, "Nm") or _text(party, "Pty/Nm")


def _remittance(
    ctx: _Context, rmt: Element | None, currency: str
) -> tuple[list[str], list[str], list[RemittanceLine]]:
    """Text lines, creditor references (RF and QRR compacted, also found in the text) and
    referred documents of one RmtInf."""
    texts, refs, lines = _texts(rmt, "Ustrd"), [], []
    for strd in rmt.findall("Strd") if rmt is not None else []:
        qrr = _text(strd, "CdtrRefInf/Tp/CdOrPrtry/Prtry") == "QRR"
        for ref in _texts(strd, "CdtrRefInf/Ref"):
            compact = "".join(ref.split()).upper()
            refs.append(compact if qrr or creditor_reference_kind(ref) else ref)
        lines.extend(_referred_documents(ctx, strd, currency))
        texts.extend(_texts(strd, "AddtlRmtInf"))
    refs.extend(r for line in texts for r in creditor_references_in(line))
    return texts, refs, lines


def _referred_documents(ctx: _Context, strd: Element, currency: str) -> list[RemittanceLine]:
    """RfrdDocInf/Nb with the Strd's RfrdDocAmt (amounts only when one document is referred)."""
    docs = [(doc, nb) for doc in strd.findall("RfrdDocInf") if (nb := _text(doc, "Nb"))]
    amounts = strd.find("RfrdDocAmt")
    due = _money(ctx, amounts.find("DuePyblAmt")) if amounts is not None else None
    paid = _money(ctx, amounts.find("RmtdAmt")) if amounts is not None else None
    discount = _discount(ctx, amounts)
    single = len(docs) == 1
    result = []
    for doc, number in docs:
        code = _text(doc, "Tp/CdOrPrtry/Cd") or _text(doc, "Tp/CdOrPrtry/Prtry")
        kind = "invoice" if code is None else _DOC_KINDS.get(code, "other")
        notes = [f"type {code}" if kind == "other" else None]
        notes.append(f"dated {d}" if (d := _text(doc, "RltdDt")) else None)
        foreign = {a.currency for a in (due, paid) if a is not None} - {currency}
        notes.append(f"amounts in {'/'.join(sorted(foreign))}" if foreign else None)
        result.append(
            RemittanceLine(
                reference=number,
                kind=kind,
                amount=paid.value if single and paid else None,
                invoiced_amount=due.value if single and due else None,
                discount=discount if single else None,
                note="; ".join(n for n in notes if n) or None,
            )
        )
    return result


def _discount(ctx: _Context, amounts: Element | None) -> Decimal | None:
    """DscntApldAmt: an amount in v02, a list of DscntApldAmt/Amt from v03 on."""
    if amounts is None:
        return None
    total: Decimal | None = None
    for el in amounts.findall("DscntApldAmt"):
        holder = el if el.get("Ccy") is not None else el.find("Amt")
        amount = _money(ctx, holder)
        if amount is not None:
            total = (total or Decimal(0)) + amount.value
    return total


def _absorb(entry: BankEntry, info: _TxInfo) -> BankEntry:
    """``entry`` completed by one of its transactions; several transactions kept as one entry
    (no amounts of their own) add up their texts, references, documents and details."""
    sign = 1 if entry.amount >= 0 else -1
    return replace(
        entry,
        end_to_end=entry.end_to_end or info.end_to_end,
        payer_name=entry.payer_name or info.payer_name,
        payer_account=entry.payer_account or info.payer_account,
        payer_bank=entry.payer_bank or info.payer_bank,
        structured_refs=_unique((*entry.structured_refs, *info.structured_refs)),
        text=_unique((*entry.text, *info.text)),
        lines=(*entry.lines, *info.lines),
        charges=entry.charges + (info.charges or Decimal(0)),
        gross=info.gross * sign if info.gross is not None else entry.gross,
        type_code=entry.type_code or info.type_code,
        is_return=entry.is_return or info.is_return,
        return_reason=entry.return_reason or info.return_reason,
        details=_unique_pairs((*entry.details, *info.details)),
    )


def _unique_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(pairs))
