"""What bank, lockbox, ACH, remittance and payout files say, as plain records.

Every importer in ``formats/`` turns its file into one ``BankFile``; the cash-application service
turns the credits in it into receipts. Amounts are Decimal in the entry's currency, positive for
money received (credits) and negative for money leaving the account (debits, returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One item a payer says it pays: a reference (invoice number, PO ...) and maybe amounts."""

    reference: str
    kind: str = "invoice"  # invoice, po, credit_note, other
    amount: Decimal | None = None  # amount paid for this item
    invoiced_amount: Decimal | None = None  # the item's original amount, when given
    discount: Decimal | None = None  # discount taken, when given
    note: str | None = None


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One movement on the account, with everything the bank told about it.

    ``reference`` is the bank's own reference for the entry (camt ``AcctSvcrRef``/``NtryRef``,
    MT940 ``:61:`` bank reference, BAI2 bank reference, NACHA trace number); ``end_to_end``
    the payer's end-to-end id; ``structured_refs`` creditor references (ISO 11649 RF, QRR, ...);
    ``text`` the unstructured remittance lines; ``lines`` structured remittance per item.
    """

    amount: Decimal
    currency: str
    value_date: date
    reference: str
    booking_date: date | None = None
    payer_name: str | None = None
    payer_account: str | None = None  # IBAN, account number, or routing/account
    payer_bank: str | None = None  # BIC or routing number
    end_to_end: str | None = None
    structured_refs: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    lines: tuple[RemittanceLine, ...] = ()
    charges: Decimal = Decimal(0)  # bank or processor fee deducted from this entry (positive)
    gross: Decimal | None = None  # amount before charges, when the file gives it
    type_code: str | None = None  # BAI2 type, camt BkTxCd, MT940 transaction type, SEC code
    is_return: bool = False  # a returned/reversed payment (R01, camt reversal)
    return_reason: str | None = None
    batch: str | None = None  # batch/payout id when entries arrived grouped
    details: tuple[tuple[str, str], ...] = ()  # anything else worth showing a clerk

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement (or notification, or batch) in a file."""

    statement_id: str  # unique per account: camt Stmt/Id, MT940 :20:/:28C:, BAI2 group ...
    account: str  # IBAN or bank account number as the file gives it
    currency: str
    entries: tuple[BankEntry, ...]
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    statement_date: date | None = None
    bank_id: str | None = None  # BIC / routing number of the account's bank


@dataclass(frozen=True, slots=True)
class BankFile:
    """A parsed file. ``format`` is bai2, camt.053, camt.054, mt940, mt942, nacha, x12_820 or
    payout_csv; ``file_id`` the file's own identifier when it has one (BAI2 file id, camt
    GrpHdr/MsgId, NACHA file id modifier and creation date ...)."""

    format: str
    statements: tuple[Statement, ...]
    file_id: str | None = None
    created: date | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def entries(self) -> tuple[BankEntry, ...]:
        return tuple(e for s in self.statements for e in s.entries)
