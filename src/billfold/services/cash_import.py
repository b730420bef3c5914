"""Bank files in: every credit becomes a receipt, booked Dr bank clearing / Cr unapplied cash.

All or nothing per file, and idempotent three ways: the same file (fingerprint), the same
statement of an account (statement key), and the same entry arriving in two files (a camt.054
notification, then the camt.053 statement: entry key) are each recognised and change nothing.
A standalone X12 820 carries no money: its remittance is kept and joins the payment it
describes when that arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, tuple_

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.domain.payments import BankEntry, BankFile, RemittanceLine, Statement
from billfold.errors import FileRejected, NotFound, RowError
from billfold.formats.detect import parse_bank_file
from billfold.money import Currency, Money, Rounding
from billfold.services import fx, lookups
from billfold.services.context import Tx
from billfold.services.customers import file_fingerprint
from billfold.services.ledger import post_entries
from billfold.store.bulk import insert_rows
from billfold.store.tables import (
    bank_files,
    bank_statements,
    entity_bank_accounts,
    legal_entities,
    receipts,
    remittance_advices,
)


@dataclass
class CashImport:
    filename: str
    format: str
    statements: int = 0
    statements_known: int = 0
    receipts: int = 0
    duplicates: int = 0
    debits: int = 0
    returns: int = 0
    advices: int = 0
    already_imported: bool = False
    unmatched_returns: int = 0
    returned_receipts: list[int] = field(default_factory=list)
    receipt_ids: list[int] = field(default_factory=list)
    total: dict[str, Decimal] = field(default_factory=dict)


def remittance_json(e: BankEntry) -> str:
    return json.dumps(
        {
            "refs": list(e.structured_refs),
            "text": list(e.text),
            "end_to_end": e.end_to_end,
            "lines": [
                {
                    "reference": ln.reference,
                    "kind": ln.kind,
                    "amount": None if ln.amount is None else str(ln.amount),
                    "invoiced_amount": None
                    if ln.invoiced_amount is None
                    else str(ln.invoiced_amount),
                    "discount": None if ln.discount is None else str(ln.discount),
                    "note": ln.note,
                }
                for ln in e.lines
            ],
            "details": [list(d) for d in e.details],
        },
        ensure_ascii=False,
    )


def lines_from_json(raw: list[dict[str, Any]]) -> tuple[RemittanceLine, ...]:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(v)

    return tuple(
        RemittanceLine(
            ln["reference"],
            ln.get("kind", "invoice"),
            dec(ln.get("amount")),
            dec(ln.get("invoiced_amount")),
            dec(ln.get("discount")),
            ln.get("note"),
        )
        for ln in raw
    )


def import_bank_file(tx: Tx, data: bytes, filename: str, fmt: str = "auto") -> CashImport:
    fingerprint = file_fingerprint(data)
    known = tx.conn.execute(
        select(bank_files.c.format, bank_files.c.imported_at).where(
            bank_files.c.fingerprint == fingerprint
        )
    ).first()
    if known is not None:
        return CashImport(filename, known.format, already_imported=True)
    return import_parsed(tx, parse_bank_file(data, filename, fmt), filename, fingerprint)


def import_parsed(tx: Tx, parsed: BankFile, filename: str, fingerprint: str) -> CashImport:
    """Book a parsed file (the part of the import after parsing; tests and generators use it)."""
    result = CashImport(filename, parsed.format)
    file_id = tx.conn.execute(
        insert(bank_files)
        .values(
            format=parsed.format,
            filename=filename,
            fingerprint=fingerprint,
            file_ref=parsed.file_id,
            statements=len(parsed.statements),
            receipts=0,
            imported_at=tx.now,
            actor=tx.actor,
        )
        .returning(bank_files.c.id)
    ).scalar_one()
    if parsed.format == "x12_820":
        _store_advices(tx, file_id, parsed, result)
    else:
        _import_statements(tx, file_id, parsed, filename, result)
    tx.conn.execute(
        bank_files.update().where(bank_files.c.id == file_id).values(receipts=result.receipts)
    )
    tx.audit(
        "import",
        "bank_file",
        filename,
        after={
            "format": parsed.format,
            "fingerprint": fingerprint,
            "receipts": result.receipts,
            "statements": result.statements,
            "known_statements": result.statements_known,
            "duplicates": result.duplicates,
        },
    )
    return result


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    entity_id: int
    entity_code: str
    functional_currency: str
    rounding: str
    currency: str | None


def _accounts(conn: Connection) -> dict[str, _Account]:
    """Bank accounts by every key a file may use: IBAN, account number."""
    rows = conn.execute(
        select(
            entity_bank_accounts,
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            legal_entities.c.rounding,
        ).join(legal_entities, legal_entities.c.id == entity_bank_accounts.c.entity_id)
    )
    found: dict[str, _Account] = {}
    for r in rows:
        acct = _Account(r.id, r.entity_id, r.code, r.functional_currency, r.rounding, r.currency)
        for key in (r.iban, r.account_number):
            if key:
                found[_norm_account(key)] = acct
    return found


def _norm_account(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch.isalnum())


def _resolve(
    statement: Statement,
    accounts: dict[str, _Account],
    filename: str,
    errors: list[RowError],
    n: int,
) -> _Account | None:
    acct = accounts.get(_norm_account(statement.account))
    if acct is None:  # ACH batches name the originator; our account is the receiver's
        receivers = {
            v for e in statement.entries for k, v in e.details if k == "receiver_account" and v
        }
        found = {accounts.get(_norm_account(v)) for v in receivers} - {None}
        if len(found) == 1:
            acct = found.pop()
    if acct is None:
        errors.append(
            RowError(
                n,
                "account",
                statement.account,
                f"statement {statement.statement_id}: not a bank account of any "
                "legal entity (add it with `billfold entities add-bank-account`)",
            )
        )
        return None
    if acct.currency and statement.currency and acct.currency != statement.currency:
        errors.append(
            RowError(
                n,
                "currency",
                statement.currency,
                f"statement {statement.statement_id}: the account "
                f"{statement.account} is kept in {acct.currency}",
            )
        )
        return None
    for e in statement.entries:
        if acct.currency and e.currency != acct.currency:
            errors.append(
                RowError(
                    n,
                    "currency",
                    e.currency,
                    f"entry {e.reference}: the account {statement.account} is "
                    f"kept in {acct.currency}",
                )
            )
            return None
    return acct


def _entry_key(e: BankEntry) -> str:
    return f"{e.reference}|{e.value_date.isoformat()}|{e.amount}"[:200]


def _import_statements(
    tx: Tx, file_id: int, parsed: BankFile, filename: str, result: CashImport
) -> None:
    accounts = _accounts(tx.conn)
    errors: list[RowError] = []
    resolved = [
        (s, _resolve(s, accounts, filename, errors, n))
        for n, s in enumerate(parsed.statements, start=1)
    ]
    if errors:
        raise FileRejected(filename, errors)
    known = set(
        tx.conn.execute(
            select(bank_statements.c.bank_account_id, bank_statements.c.statement_key).where(
                tuple_(bank_statements.c.bank_account_id, bank_statements.c.statement_key).in_(
                    [(a.id, s.statement_id[:200]) for s, a in resolved if a]
                )
            )
        ).all()
    )
    receipt_rows: list[dict[str, Any]] = []
    drafts: list[EntryDraft] = []
    returns: list[tuple[_Account, BankEntry]] = []
    for statement, acct in resolved:
        assert acct is not None
        if (acct.id, statement.statement_id[:200]) in known:
            result.statements_known += 1
            continue
        result.statements += 1
        sid = tx.conn.execute(
            insert(bank_statements)
            .values(
                bank_file_id=file_id,
                bank_account_id=acct.id,
                statement_key=statement.statement_id[:200],
                currency=statement.currency,
                opening_minor=_minor(statement.opening_balance, statement.currency),
                closing_minor=_minor(statement.closing_balance, statement.currency),
                statement_date=statement.statement_date,
            )
            .returning(bank_statements.c.id)
        ).scalar_one()
        for e in statement.entries:
            if e.is_return:
                result.returns += 1
                returns.append((acct, e))
                continue
            if not e.is_credit:
                result.debits += 1
                continue
            receipt_rows.append(_receipt_row(tx, e, acct, sid, parsed.format))
    receipt_rows = _drop_duplicates(tx.conn, receipt_rows, result)
    by_id = accounts_by_id(accounts)
    roles = {
        r: lookups.account_by_role(tx, r)[1]
        for r in ("bank_clearing", "unapplied_cash", "bank_fees")
    }
    for row in receipt_rows:
        drafts.append(_receipt_entry(row, by_id[row["bank_account_id"]], roles))
    entry_ids = post_entries(tx, drafts, audit=False)
    for row, entry_id in zip(receipt_rows, entry_ids, strict=True):
        row["entry_id"] = entry_id
    result.receipt_ids = insert_rows(tx.conn, receipts, receipt_rows)
    for row, rid in zip(receipt_rows, result.receipt_ids, strict=True):
        amount = Money.from_minor(row["amount_minor"], row["currency"])
        result.total[row["currency"]] = (
            result.total.get(row["currency"], Decimal(0)) + amount.amount
        )
        tx.audit(
            "receive",
            "receipt",
            rid,
            after={
                "amount": str(amount),
                "value_date": row["value_date"],
                "reference": row["reference"],
                "payer": row["payer_name"],
            },
        )
    result.receipts = len(receipt_rows)
    for acct, e in returns:
        _book_return(tx, acct, e, result)


def _book_return(tx: Tx, acct: _Account, e: BankEntry, result: CashImport) -> None:
    """Find the receipt a returned payment undoes (same account and amount, and the same
    payer account, end-to-end id or reference) and return it; unknown returns are counted."""
    from billfold.services.cash_apply import return_receipt

    amount = Money.rounded(abs(e.amount), e.currency).minor
    candidates = tx.conn.execute(
        select(receipts)
        .where(
            receipts.c.bank_account_id == acct.id,
            receipts.c.amount_minor == amount,
            receipts.c.status != "returned",
            receipts.c.value_date <= e.value_date,
        )
        .order_by(receipts.c.value_date.desc())
    ).all()
    hints = {
        h for h in (e.payer_account, e.end_to_end, e.reference, *(v for _, v in e.details)) if h
    }
    for r in candidates:
        if hints & {r.payer_account, r.end_to_end, r.reference}:
            return_receipt(tx, r.id, e.return_reason or "returned by the bank", e.value_date)
            result.returned_receipts.append(r.id)
            return
    result.unmatched_returns += 1


def accounts_by_id(accounts: dict[str, _Account]) -> dict[int, _Account]:
    return {a.id: a for a in accounts.values()}


def _minor(value: Decimal | None, currency: str) -> int | None:
    if value is None:
        return None
    return Money.rounded(value, currency).minor


def _receipt_row(
    tx: Tx, e: BankEntry, acct: _Account, statement_id: int, fmt: str
) -> dict[str, Any]:
    """The receipt is what the payer paid: the credit plus any fee the bank deducted."""
    cur = Currency.of(e.currency).code
    gross = e.gross if e.gross is not None else e.amount + e.charges
    key = ("fx", cur, acct.functional_currency, e.value_date)
    if key not in tx.cache:
        tx.cache[key] = fx.rate_on(tx.conn, cur, acct.functional_currency, e.value_date)
    rate: Decimal = tx.cache[key]
    amount = Money.rounded(gross, cur)
    return {
        "entity_id": acct.entity_id,
        "bank_account_id": acct.id,
        "statement_id": statement_id,
        "entry_key": _entry_key(e),
        "currency": cur,
        "amount_minor": amount.minor,
        "charges_minor": Money.rounded(e.charges, cur).minor,
        "applied_minor": 0,
        "value_date": e.value_date,
        "booking_date": e.booking_date,
        "fx_rate": f"{rate:f}",
        "functional_minor": Money.rounded(
            amount.amount * rate, acct.functional_currency, Rounding(acct.rounding)
        ).minor,
        "payer_name": (e.payer_name or "")[:200] or None,
        "payer_account": (e.payer_account or "")[:80] or None,
        "payer_bank": (e.payer_bank or "")[:40] or None,
        "reference": e.reference[:120],
        "end_to_end": (e.end_to_end or "")[:120] or None,
        "remittance": remittance_json(e),
        "type_code": (e.type_code or "")[:40] or None,
        "format": fmt,
        "customer_id": None,
        "status": "unapplied",
        "created_at": tx.now,
    }


def _drop_duplicates(
    conn: Connection, rows: list[dict[str, Any]], result: CashImport
) -> list[dict[str, Any]]:
    """The same entry in two files (or twice in one) becomes one receipt."""
    keys = [(r["bank_account_id"], r["entry_key"]) for r in rows]
    existing: set[tuple[int, str]] = set()
    for start in range(0, len(keys), 500):
        existing |= set(
            conn.execute(
                select(receipts.c.bank_account_id, receipts.c.entry_key).where(
                    tuple_(receipts.c.bank_account_id, receipts.c.entry_key).in_(
                        keys[start : start + 500]
                    )
                )
            ).all()
        )
    kept = []
    for row, key in zip(rows, keys, strict=True):
        if key in existing:
            result.duplicates += 1
            continue
        existing.add(key)
        kept.append(row)
    return kept


def _receipt_entry(row: dict[str, Any], acct: _Account, roles: dict[str, str]) -> EntryDraft:
    cur, fcur = row["currency"], acct.functional_currency
    rate, mode = Decimal(row["fx_rate"]), Rounding(acct.rounding)
    gross = Money.from_minor(row["amount_minor"], cur)
    fee = Money.from_minor(row["charges_minor"], cur)
    net = gross - fee
    f_gross = Money.from_minor(row["functional_minor"], fcur)
    f_fee = Money.rounded(fee.amount * rate, fcur, mode)
    lines = [
        PostingLine(roles["bank_clearing"], net, f_gross - f_fee),
        PostingLine(roles["unapplied_cash"], -gross, -f_gross),
    ]
    if not fee.is_zero():
        lines.insert(1, PostingLine(roles["bank_fees"], fee, f_fee))
    return EntryDraft(
        acct.entity_code,
        row["value_date"],
        f"Receipt {row['reference']} {row['payer_name'] or ''}".strip(),
        tuple(lines),
        source_type="receipt",
        source_ref=row["entry_key"][:80],
    )


def _store_advices(tx: Tx, file_id: int, parsed: BankFile, result: CashImport) -> None:
    rows = []
    for e in parsed.entries:
        cur = Currency.of(e.currency).code
        rows.append(
            {
                "bank_file_id": file_id,
                "reference": e.reference[:120],
                "payer_name": e.payer_name,
                "currency": cur,
                "amount_minor": Money.rounded(e.amount, cur).minor,
                "payment_date": e.value_date,
                "lines": json.dumps(json.loads(remittance_json(e))["lines"]),
                "receipt_id": None,
            }
        )
    if not rows:
        raise NotFound(f"{result.filename}: no remittance in the file")
    tx.conn.execute(insert(remittance_advices), rows)
    result.advices = len(rows)
