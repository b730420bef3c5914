"""Render generated receipts into the bank files Billfold imports, one set per business day.

Per day, in import order:

* ``camt054-main-<day>.xml`` -- camt.054.001.08 notifications of the main EUR account's entries
  flagged ``also_notified`` (the same AcctSvcrRef, value date and amount reappear in the camt.053:
  the importer must keep one receipt);
* ``camt053-<account>-<day>.xml`` -- camt.053 statements with opening/closing balances that
  balance: version 08 for the main EUR and the USD account, version 02 for the GBP account;
  charges (``Chrgs``) and the instructed amount when a fee is reported; structured remittance
  (``RfrdDocInf`` + ``RfrdDocAmt`` with discounts, ``CdtrRefInf`` RF references); a few debits;
* ``mt940-spk-<day>.sta`` -- MT940 with German structured ``:86:`` subfields (GVC 166,
  ``?20`` ``EREF+``/``SVWZ+`` purpose chunks of 27 characters, ``?30`` BIC, ``?31`` IBAN,
  ``?32``/``?33`` name), lines of at most 65 characters;
* ``bai2-<day>.txt`` -- BAI2 with wires (195) and lockbox cheques (115), text in ``88``
  continuations, and correct 49/98/99 control totals and record counts;
* ``x12-820-<day>.edi`` -- standalone X12 820 advices (one ``ST`` per payment) whose ``TRN02`` is
  the identification number of a CCD entry without addenda, so the advice joins its payment;
* ``nacha-<day>.ach`` -- NACHA with one batch per originating company: CCD+ (one ``RMR`` or text
  addenda), CCD without addenda (paired with the 820 above) and CTX (a whole 820 in the addenda),
  with entry hashes, batch and file controls and 10-record blocks;
* ``payouts-<day>.csv`` -- a card processor payout (gross, fee, net per charge).

Every writer produces what the project's parser accepts in strict mode.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from benchmarks.cashgen import (
    ACCOUNTS,
    EVAL_DAYS_LIST,
    DocLine,
    GenReceipt,
    OwnAccount,
    World,
    aba,
)
from lxml import etree

OUR_NAME_US = "ACME AMERICAS INC"
OUR_NAME_EU = "Acme Europe GmbH"
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.{msg}.001.{version}"
CAMT_VERSIONS = {"DE-EUR-MAIN": "08", "DE-USD": "08", "DE-GBP": "02"}


@dataclass(frozen=True, slots=True)
class Debit:
    """Money leaving one of our accounts (fees, supplier payments): not a receipt."""

    amount_minor: int
    text: str
    bank_ref: str
    name: str


@dataclass(frozen=True, slots=True)
class OutFile:
    name: str
    fmt: str
    data: bytes
    receipts: int


def dec(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


# --- camt ------------------------------------------------------------------------------------


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _path(
    parent: etree._Element, path: str, text: str | None = None, **attrs: str
) -> etree._Element:
    node = parent
    parts = path.split("/")
    for part in parts[:-1]:
        node = _el(node, part)
    return _el(node, parts[-1], text, **attrs)


def _amount(parent: etree._Element, tag: str, minor: int, ccy: str) -> None:
    _el(parent, tag, dec(minor), Ccy=ccy)


def camt(
    msg: str,
    acct: OwnAccount,
    day: date,
    receipts: Sequence[GenReceipt],
    debits: Sequence[Debit],
    opening_minor: int,
    seq: int,
    version: str = "08",
) -> bytes:
    """A camt.053 statement (``msg="053"``, with balances) or camt.054 notification."""
    ns = CAMT_NS.format(msg=msg, version=version)
    root = etree.Element(etree.QName(ns, "Document"), nsmap={None: ns})  # type: ignore[dict-item]
    body = _el(root, "BkToCstmrStmt" if msg == "053" else "BkToCstmrDbtCdtNtfctn")
    header = _el(body, "GrpHdr")
    _el(header, "MsgId", f"{acct.key}-{msg}-{day:%Y%m%d}-{seq}")
    _el(header, "CreDtTm", f"{day:%Y-%m-%d}T18:00:00+01:00")
    stmt = _el(body, "Stmt" if msg == "053" else "Ntfctn")
    _el(stmt, "Id", f"{acct.key}-{msg}-{day:%Y%m%d}")
    _el(stmt, "ElctrncSeqNb", str(seq))
    _el(stmt, "CreDtTm", f"{day:%Y-%m-%d}T18:00:00+01:00")
    account = _el(stmt, "Acct")
    _path(account, "Id/IBAN", acct.iban)
    _el(account, "Ccy", acct.currency)
    _path(account, "Svcr/FinInstnId/" + ("BIC" if version == "02" else "BICFI"), acct.bic)
    if msg == "053":
        closing = opening_minor + sum(r.credited_minor for r in receipts)
        closing -= sum(d.amount_minor for d in debits)
        _balance(stmt, "OPBD", opening_minor, acct.currency, day - timedelta(days=1))
        _balance(stmt, "CLBD", closing, acct.currency, day)
    for r in receipts:
        _credit(stmt, r, version)
    for d in debits:
        _debit(stmt, d, acct.currency, day, version)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _balance(stmt: etree._Element, code: str, minor: int, ccy: str, day: date) -> None:
    bal = _el(stmt, "Bal")
    _path(bal, "Tp/CdOrPrtry/Cd", code)
    _amount(bal, "Amt", abs(minor), ccy)
    _el(bal, "CdtDbtInd", "CRDT" if minor >= 0 else "DBIT")
    _path(bal, "Dt/Dt", f"{day:%Y-%m-%d}")


def _entry_head(
    stmt: etree._Element, minor: int, ccy: str, sign: str, day: date, ref: str, version: str
) -> etree._Element:
    ntry = _el(stmt, "Ntry")
    _amount(ntry, "Amt", minor, ccy)
    _el(ntry, "CdtDbtInd", sign)
    if version == "02":
        _el(ntry, "Sts", "BOOK")
    else:
        _path(ntry, "Sts/Cd", "BOOK")
    _path(ntry, "BookgDt/Dt", f"{day:%Y-%m-%d}")
    _path(ntry, "ValDt/Dt", f"{day:%Y-%m-%d}")
    _el(ntry, "AcctSvcrRef", ref)
    domain = _path(ntry, "BkTxCd/Domn/Cd", "PMNT").getparent()
    assert domain is not None
    family = _el(domain, "Fmly")
    _el(family, "Cd", "RCDT" if sign == "CRDT" else "ICDT")
    _el(family, "SubFmlyCd", "ESCT")
    return ntry


def _credit(stmt: etree._Element, r: GenReceipt, version: str) -> None:
    ccy = r.currency
    ntry = _entry_head(stmt, r.credited_minor, ccy, "CRDT", r.value_date, r.bank_ref, version)
    tx = _path(ntry, "NtryDtls/TxDtls")
    refs = _el(tx, "Refs")
    _el(refs, "AcctSvcrRef", r.bank_ref)
    _el(refs, "EndToEndId", r.end_to_end or "NOTPROVIDED")
    if version != "02":
        _amount(tx, "Amt", r.credited_minor, ccy)
        _el(tx, "CdtDbtInd", "CRDT")
    details = _el(tx, "AmtDtls")
    if r.fee_reported and r.fee_minor:
        _amount(_el(details, "InstdAmt"), "Amt", r.paid_minor, ccy)
    _amount(_el(details, "TxAmt"), "Amt", r.credited_minor, ccy)
    if r.fee_reported and r.fee_minor:
        charges = _el(tx, "Chrgs")
        if version == "02":
            _amount(charges, "Amt", r.fee_minor, ccy)
        else:
            record = _el(charges, "Rcrd")
            _amount(record, "Amt", r.fee_minor, ccy)
            _el(record, "CdtDbtInd", "DBIT")
    parties = _el(tx, "RltdPties")
    if r.payer_name:
        _path(parties, "Dbtr/Nm" if version == "02" else "Dbtr/Pty/Nm", r.payer_name)
    if r.payer_account:
        _path(parties, "DbtrAcct/Id/IBAN", r.payer_account)
    if r.payer_bank:
        _path(
            tx,
            "RltdAgts/DbtrAgt/FinInstnId/" + ("BIC" if version == "02" else "BICFI"),
            r.payer_bank,
        )
    if r.text or r.doc_lines or r.creditor_refs:
        rmt = _el(tx, "RmtInf")
        for line in r.text:
            _el(rmt, "Ustrd", line)
        for doc in r.doc_lines:
            _document(_el(rmt, "Strd"), doc, ccy, version)
        for ref in r.creditor_refs:
            cdtr = _el(_el(rmt, "Strd"), "CdtrRefInf")
            _path(cdtr, "Tp/CdOrPrtry/Cd", "SCOR")
            _el(cdtr, "Ref", ref)


def _document(strd: etree._Element, doc: DocLine, ccy: str, version: str) -> None:
    info = _el(strd, "RfrdDocInf")
    _path(info, "Tp/CdOrPrtry/Cd", "CINV")
    _el(info, "Nb", doc.number)
    if doc.paid_minor is None:
        return
    amounts = _el(strd, "RfrdDocAmt")
    if doc.invoiced_minor is not None:
        _amount(amounts, "DuePyblAmt", doc.invoiced_minor, ccy)
    if doc.discount_minor:
        if version == "02":
            _amount(amounts, "DscntApldAmt", doc.discount_minor, ccy)
        else:
            _amount(_el(amounts, "DscntApldAmt"), "Amt", doc.discount_minor, ccy)
    _amount(amounts, "RmtdAmt", doc.paid_minor, ccy)


def _debit(stmt: etree._Element, d: Debit, ccy: str, day: date, version: str) -> None:
    ntry = _entry_head(stmt, d.amount_minor, ccy, "DBIT", day, d.bank_ref, version)
    tx = _path(ntry, "NtryDtls/TxDtls")
    _el(_el(tx, "Refs"), "EndToEndId", "NOTPROVIDED")
    _path(tx, "RltdPties/Cdtr/Nm" if version == "02" else "RltdPties/Cdtr/Pty/Nm", d.name)
    _path(tx, "RmtInf/Ustrd", d.text)


# --- MT940 -----------------------------------------------------------------------------------

_MT_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):")
_MT_TRAILER = re.compile(r"^-(\}.*|[A-Z]{0,3})$")
_SWIFT_SAFE = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def swift_text(text: str) -> str:
    """SWIFT x character set; ``?`` is the :86: subfield separator, so it goes too."""
    from benchmarks.cashgen import TRANSLIT

    return _SWIFT_SAFE.sub(" ", text.translate(TRANSLIT)).replace("?", " ")


def mt_amount(minor: int) -> str:
    return f"{abs(minor) // 100},{abs(minor) % 100:02d}"


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def wrap_field(value: str, width: int = 65) -> list[str]:
    """Cut a field value into lines of ``width``; no continuation line may look like a tag or a
    trailer (the cut moves one character back when it would)."""
    lines, rest = [], value
    first = True
    while rest:
        cut = min(width - (4 if first else 0), len(rest))
        while (
            cut > 1
            and cut < len(rest)
            and (
                _MT_TAG.match(rest[cut:])
                or _MT_TRAILER.match(rest[cut : cut + width])
                or rest[cut] in ":-"
            )
        ):
            cut -= 1
        lines.append(rest[:cut])
        rest = rest[cut:]
        first = False
    return lines


def german_86(r: GenReceipt) -> str:
    """GVC 166 with EREF+, SVWZ+ purpose chunks (27 characters), BIC, IBAN and name."""
    purpose: list[str] = []
    if r.end_to_end:
        purpose += chunks("EREF+" + swift_text(r.end_to_end), 27)
    text = swift_text(" ".join(r.text))[:140].strip()
    if text:
        purpose += chunks("SVWZ+" + text, 27)
    codes = [f"{n:02d}" for n in (*range(20, 30), *range(60, 64))]
    out = "166?00SEPA-GUTSCHRIFT?109310"
    for code, chunk in zip(codes, purpose, strict=False):
        out += f"?{code}{chunk}"
    if r.payer_bank:
        out += f"?30{r.payer_bank}"
    if r.payer_account:
        out += f"?31{r.payer_account}"
    if r.payer_name:
        name = chunks(swift_text(r.payer_name), 27)
        out += f"?32{name[0]}" + (f"?33{name[1]}" if len(name) > 1 else "")
    return out


def mt940(
    acct: OwnAccount,
    day: date,
    receipts: Sequence[GenReceipt],
    debits: Sequence[Debit],
    opening_minor: int,
    seq: int,
) -> bytes:
    ccy = acct.currency
    lines = [f":20:STMT{day:%y%m%d}{seq:04d}", f":25:{acct.iban}", f":28C:{seq}/1"]
    mark = "C" if opening_minor >= 0 else "D"
    prev = day - timedelta(days=1)
    lines.append(f":60F:{mark}{prev:%y%m%d}{ccy}{mt_amount(opening_minor)}")
    balance = opening_minor
    for r in receipts:
        lines.append(
            f":61:{day:%y%m%d}{day:%m%d}C{mt_amount(r.credited_minor)}NTRFNONREF//{r.bank_ref}"
        )
        lines += wrap_field(":86:" + german_86(r))
        balance += r.credited_minor
    for d in debits:
        lines.append(
            f":61:{day:%y%m%d}{day:%m%d}D{mt_amount(d.amount_minor)}NMSCNONREF//{d.bank_ref}"
        )
        lines += wrap_field(
            f":86:805?00ENTGELT?20{swift_text(d.text)[:27]}?32{swift_text(d.name)[:27]}"
        )
        balance -= d.amount_minor
    mark = "C" if balance >= 0 else "D"
    lines.append(f":62F:{mark}{day:%y%m%d}{ccy}{mt_amount(balance)}")
    lines.append("-")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


# --- BAI2 ------------------------------------------------------------------------------------


def bai2_text(text: str) -> str:
    return text.translate({ord("\n"): " ", ord("\r"): " "}).encode("ascii", "replace").decode()


def bai2(
    acct: OwnAccount,
    day: date,
    receipts: Sequence[GenReceipt],
    debits: Sequence[Debit],
    opening_minor: int,
    file_no: int,
) -> bytes:
    """One file, one group, one account: 16 details with 88 text, controls and counts."""
    details: list[list[str]] = []
    total = 0
    for r in receipts:
        code = "195" if r.channel == "bai2_wire" else "115"
        text = [bai2_text(t)[:76] for t in r.text] or [""]
        details.append(
            [
                f"16,{code},{r.credited_minor},0,{r.bank_ref},,{text[0]}",
                *(f"88,{t}" for t in text[1:]),
            ]
        )
        total += r.credited_minor
    debit_total = 0
    for d in debits:
        details.append(
            [f"16,495,{d.amount_minor},0,{d.bank_ref},,OUTGOING WIRE {bai2_text(d.name)[:40]}"]
        )
        debit_total += d.amount_minor
    closing = opening_minor + total - debit_total
    summary = [opening_minor, closing, total, debit_total]
    head = (
        f"03,{acct.account_number},{acct.currency},010,{opening_minor},,,015,{closing},,,"
        f"100,{total},{len(receipts)},,400,{debit_total},{len(debits)},/"
    )
    account_records = [head, *(line for d in details for line in d)]
    account_total = sum(summary) + total + debit_total
    account_count = len(account_records) + 1
    account_records.append(f"49,{account_total},{account_count}/")
    day_s = f"{day:%y%m%d}"
    group = [f"02,ACMEUS,{acct.routing_number},1,{day_s},2400,{acct.currency},2/", *account_records]
    group.append(f"98,{account_total},1,{len(group) + 1}/")
    records = [f"01,{acct.routing_number},ACMEUS,{day_s},0600,{day:%m%d}{file_no:02d},,,2/", *group]
    records.append(f"99,{account_total},1,{len(records) + 1}/")
    return ("\n".join(records) + "\n").encode("ascii")


# --- X12 820 ---------------------------------------------------------------------------------


def x12_safe(text: str) -> str:
    return text.replace("*", " ").replace("~", " ").replace(">", " ").replace("\\", " ")


def x12_amount(minor: int | None) -> str:
    return "" if minor is None else dec(minor)


def transaction_820(r: GenReceipt, control: int, trace: str, our: OwnAccount) -> list[str]:
    """One ST ... SE for receipt ``r`` (BPR02 = the RMR04 total when every line has one)."""
    company = r.payer_name or "PAYER"
    amount = r.paid_minor
    segments = [
        f"ST*820*{control:04d}",
        f"BPR*C*{dec(amount)}*C*ACH*CCP*01*{aba((r.payer_bank or '09100001')[:8])}*DA*"
        f"{r.key:010d}*1{r.key:09d}**01*{our.routing_number}*DA*{our.account_number}*"
        f"{r.value_date:%Y%m%d}",
        f"TRN*1*{trace}*1{r.key:09d}",
        "CUR*PR*USD",
        f"N1*PR*{x12_safe(company)}",
        f"N1*PE*{OUR_NAME_US}",
    ]
    if r.doc_lines:
        segments.append("ENT*1")
        for line in r.doc_lines:
            elements = [
                "RMR",
                "IV",
                x12_safe(line.number),
                "",
                x12_amount(line.paid_minor),
                x12_amount(line.invoiced_minor),
                x12_amount(line.discount_minor),
            ]
            while elements[-1] == "":
                elements.pop()
            segments.append("*".join(elements))
    segments.append(f"SE*{len(segments) + 1}*{control:04d}")
    return segments


def interchange(transactions: list[list[str]], control: int, day: date) -> str:
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{'PAYERS':<15}*ZZ*{'ACMEUS':<15}*{day:%y%m%d}*1200*U*00401*"
        f"{control:09d}*0*P*>"
    )
    segments = [isa, f"GS*RA*PAYERS*ACMEUS*{day:%Y%m%d}*1200*{control}*X*004010"]
    for t in transactions:
        segments += t
    segments += [f"GE*{len(transactions)}*{control}", f"IEA*1*{control:09d}"]
    return "~".join(segments) + "~"


def x12_820_file(receipts: Sequence[GenReceipt], day: date, control: int) -> bytes:
    our = ACCOUNTS["US-USD"]
    txs = [transaction_820(r, n, r.end_to_end or "", our) for n, r in enumerate(receipts, 1)]
    return (interchange(txs, control, day).replace("~", "~\n")).encode("ascii", "replace")


# --- NACHA -----------------------------------------------------------------------------------


def _fit(text: str, width: int, right: bool = False) -> str:
    text = text.encode("ascii", "replace").decode()[:width]
    return text.rjust(width) if right else text.ljust(width)


def _num(value: int, width: int) -> str:
    return f"{value:0{width}d}"[-width:]


@dataclass
class _Batch:
    company: str
    company_id: str
    odfi: str
    sec: str
    entries: list[GenReceipt] = field(default_factory=list)


def nacha(acct: OwnAccount, day: date, receipts: Sequence[GenReceipt], modifier: str) -> bytes:
    """Incoming ACH credits to our account, one batch per originating company and SEC code."""
    routing = acct.routing_number or "021000021"
    rdfi8, rdfi_check = routing[:8], routing[8]
    batches: dict[tuple[str, str, str], _Batch] = {}
    for r in receipts:
        sec = "CTX" if r.channel == "ctx" else "CCD"
        odfi = r.bank_ref[:8]
        key = (r.payer_name or "", odfi, sec)
        if key not in batches:
            company_id = f"1{zlib.crc32(key[0].encode()) % 10**9:09d}"
            batches[key] = _Batch(r.payer_name or "UNKNOWN", company_id, odfi, sec)
        batches[key].entries.append(r)
    records = [
        "101"
        + _fit(" " + routing, 10)
        + _fit(" 123456789", 10)
        + f"{day:%y%m%d}"
        + "0700"
        + modifier
        + "094101"
        + _fit("JPMORGAN CHASE BANK", 23)
        + _fit(OUR_NAME_US, 23)
        + _fit("", 8)
    ]
    file_count = file_hash = file_credit = 0
    for number, batch in enumerate(batches.values(), 1):
        count = hash_sum = credit = 0
        records.append(
            "5220"
            + _fit(batch.company, 16)
            + _fit("", 20)
            + _fit(batch.company_id, 10)
            + batch.sec
            + _fit("PAYMENT", 10)
            + _fit("", 6)
            + f"{day:%y%m%d}"
            + "   "
            + "1"
            + batch.odfi
            + _num(number, 7)
        )
        for r in batch.entries:
            addenda = _addenda(r, batch.sec)
            trace = r.bank_ref
            ident = _fit(r.end_to_end or "", 15)
            if batch.sec == "CTX":
                party = ident + _num(len(addenda), 4) + _fit(OUR_NAME_US, 16) + "  " + "  "
            else:
                party = ident + _fit(OUR_NAME_US, 22) + "  "
            records.append(
                "622"
                + rdfi8
                + rdfi_check
                + _fit(acct.account_number or "", 17)
                + _num(r.credited_minor, 10)
                + party
                + ("1" if addenda else "0")
                + trace
            )
            for seq, payload in enumerate(addenda, 1):
                records.append("705" + _fit(payload, 80) + _num(seq, 4) + trace[-7:])
            count += 1 + len(addenda)
            hash_sum += int(rdfi8)
            credit += r.credited_minor
        records.append(
            "8220"
            + _num(count, 6)
            + _num(hash_sum % 10**10, 10)
            + _num(0, 12)
            + _num(credit, 12)
            + _fit(batch.company_id, 10)
            + _fit("", 19)
            + _fit("", 6)
            + batch.odfi
            + _num(number, 7)
        )
        file_count += count
        file_hash += hash_sum
        file_credit += credit
    total_records = len(records) + 1
    blocks = math.ceil(total_records / 10)
    records.append(
        "9"
        + _num(len(batches), 6)
        + _num(blocks, 6)
        + _num(file_count, 8)
        + _num(file_hash % 10**10, 10)
        + _num(0, 12)
        + _num(file_credit, 12)
        + _fit("", 39)
    )
    records += ["9" * 94] * (blocks * 10 - total_records)
    assert all(len(x) == 94 for x in records), [x for x in records if len(x) != 94][:1]
    return ("\n".join(records) + "\n").encode("ascii")


def _addenda(r: GenReceipt, sec: str) -> list[str]:
    if sec == "CTX":
        our = ACCOUNTS["US-USD"]
        text = interchange(
            [transaction_820(r, 1, r.end_to_end or r.bank_ref, our)], r.key % 10**9, r.value_date
        )
        return chunks(text, 80)
    if r.channel == "ccd_plus" and r.text:
        return [r.text[0][:80]]
    return []


# --- payout CSV ------------------------------------------------------------------------------

PAYOUT_HEADER = (
    "payout_id",
    "payout_date",
    "currency",
    "charge_id",
    "customer_name",
    "customer_email",
    "description",
    "invoice_number",
    "gross",
    "fee",
    "net",
)


def payout_csv(receipts: Sequence[GenReceipt], day: date) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(PAYOUT_HEADER)
    for r in receipts:
        name = r.payer_name or ""
        email = f"ap@{re.sub(r'[^a-z0-9]', '', name.lower())[:20] or 'customer'}.example"
        w.writerow(
            (
                f"po_{day:%Y%m%d}",
                f"{day:%Y-%m-%d}",
                r.currency,
                r.bank_ref,
                name,
                email,
                r.text[0] if r.text else "",
                ";".join(d.number for d in r.doc_lines),
                dec(r.paid_minor),
                dec(r.fee_minor),
                dec(r.credited_minor),
            )
        )
    return out.getvalue().encode()


# --- a whole day -------------------------------------------------------------------------------


@dataclass
class FileWriter:
    """Writes each day's files in import order, carrying balances and sequence numbers."""

    world: World
    balances: dict[str, int] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        rng = random.Random(self.world.config.seed + 1)
        for key in ACCOUNTS:
            self.balances[key] = rng.randint(-500_000, 50_000_000)

    def debits(self, account: str, day: date) -> list[Debit]:
        rng = random.Random(f"{self.world.config.seed}/{account}/{day}")
        names = ("Bueromarkt Schmidt GmbH", "Lufthansa AG", "Amazon Web Services", "Telekom AG")
        out = []
        for n in range(rng.randint(0, 3)):
            out.append(
                Debit(
                    rng.randint(1_000, 2_500_000),
                    rng.choice(("Kontofuehrung", "Lieferantenzahlung", "Wire out", "Fee")),
                    f"DB{day:%y%m%d}{account[-3:]}{n}",
                    rng.choice(names),
                )
            )
        return out

    def day(self, day: date, receipts: Sequence[GenReceipt]) -> list[OutFile]:
        by_account: dict[str, list[GenReceipt]] = defaultdict(list)
        for r in receipts:
            by_account[r.account].append(r)
        files: list[OutFile] = []
        main = ACCOUNTS["DE-EUR-MAIN"]
        notified = [r for r in by_account.get(main.key, []) if r.also_notified]
        if notified:
            self.seq["054"] += 1
            data = camt("054", main, day, notified, (), 0, self.seq["054"])
            files.append(OutFile(f"camt054-main-{day:%Y%m%d}.xml", "camt.054", data, len(notified)))
        for acct in ACCOUNTS.values():
            got = by_account.get(acct.key, [])
            if acct.fmt == "camt053":
                files.append(self._statement(acct, day, got))
            elif acct.fmt == "mt940":
                files.append(self._mt940(acct, day, got))
            elif acct.fmt == "bai2":
                files += self._us(acct, day, got)
            elif acct.fmt == "payout" and got:
                files.append(
                    OutFile(
                        f"payouts-{day:%Y%m%d}.csv", "payout_csv", payout_csv(got, day), len(got)
                    )
                )
        return files

    def _statement(self, acct: OwnAccount, day: date, got: list[GenReceipt]) -> OutFile:
        debits = self.debits(acct.key, day)
        self.seq[acct.key] += 1
        opening = self.balances[acct.key]
        data = camt(
            "053", acct, day, got, debits, opening, self.seq[acct.key], CAMT_VERSIONS[acct.key]
        )
        self.balances[acct.key] = (
            opening + sum(r.credited_minor for r in got) - sum(d.amount_minor for d in debits)
        )
        return OutFile(f"camt053-{acct.key.lower()}-{day:%Y%m%d}.xml", "camt.053", data, len(got))

    def _mt940(self, acct: OwnAccount, day: date, got: list[GenReceipt]) -> OutFile:
        debits = self.debits(acct.key, day)
        self.seq[acct.key] += 1
        opening = self.balances[acct.key]
        data = mt940(acct, day, got, debits, opening, self.seq[acct.key])
        self.balances[acct.key] = (
            opening + sum(r.credited_minor for r in got) - sum(d.amount_minor for d in debits)
        )
        return OutFile(f"mt940-spk-{day:%Y%m%d}.sta", "mt940", data, len(got))

    def _us(self, acct: OwnAccount, day: date, got: list[GenReceipt]) -> list[OutFile]:
        files = []
        bank = [r for r in got if r.channel.startswith("bai2")]
        debits = self.debits(acct.key, day)
        self.seq[acct.key] += 1
        opening = self.balances[acct.key]
        files.append(
            OutFile(
                f"bai2-{day:%Y%m%d}.txt",
                "bai2",
                bai2(acct, day, bank, debits, opening, self.seq[acct.key]),
                len(bank),
            )
        )
        self.balances[acct.key] = (
            opening + sum(r.credited_minor for r in bank) - sum(d.amount_minor for d in debits)
        )
        advices = [r for r in got if r.channel == "ccd_820"]
        if advices:
            files.append(
                OutFile(
                    f"x12-820-{day:%Y%m%d}.edi",
                    "x12_820",
                    x12_820_file(advices, day, self.seq[acct.key]),
                    0,
                )
            )
        ach = [r for r in got if r.channel in ("ccd_plus", "ctx", "ccd_820")]
        if ach:
            modifier = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[self.seq[acct.key] % 26]
            files.append(
                OutFile(
                    f"nacha-{day:%Y%m%d}.ach", "nacha", nacha(acct, day, ach, modifier), len(ach)
                )
            )
        return files


def all_files(world: World) -> list[tuple[date, list[OutFile]]]:
    """Every evaluation day's files, in order."""
    writer = FileWriter(world)
    by_day: dict[date, list[GenReceipt]] = defaultdict(list)
    for r in world.receipts:
        by_day[r.value_date].append(r)
    return [(d, writer.day(d, by_day.get(d, []))) for d in EVAL_DAYS_LIST]
