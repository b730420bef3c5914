"""Every error Billfold raises on purpose.

Each error has a stable ``code`` (for scripts and the API) and a message that says what went wrong
and where. The CLI prints the message on one line and exits with status 2; it never shows a
traceback for these.

    BillfoldError
    ├── InvalidInput                  bad value from a user, file or caller
    │   ├── CurrencyError             unknown currency, mixed currencies, too many decimals
    │   ├── TaxIdError                malformed or checksum-invalid tax ID
    │   ├── BankAccountError          invalid IBAN or BIC
    │   └── FileRejected              an import file with bad rows; carries every RowError
    ├── NotFound                      unknown customer, entity, account, entry ...
    ├── Conflict                      duplicate key, document already in a final state
    ├── LedgerError
    │   ├── UnbalancedEntry           debits and credits differ (per currency or functional)
    │   ├── ClosedPeriod              posting into a closed accounting period
    │   └── ImmutableRecord           an attempt to change something already posted or issued
    ├── DatabaseUnavailable           the database URL cannot be reached
    ├── NotInitialised                the database has no Billfold schema yet
    └── AuditChainBroken              the audit log was changed behind Billfold's back
"""

from __future__ import annotations

from dataclasses import dataclass


class BillfoldError(Exception):
    """Base class: a message fit for a user, and a stable machine-readable code."""

    code = "billfold_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(BillfoldError):
    code = "invalid_input"


class CurrencyError(InvalidInput):
    code = "currency_error"


class TaxIdError(InvalidInput):
    code = "invalid_tax_id"


class BankAccountError(InvalidInput):
    code = "invalid_bank_account"


@dataclass(frozen=True)
class RowError:
    """One bad value in an imported file."""

    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}, value '{self.value}': {self.reason}"


class FileRejected(InvalidInput):
    """An import file was refused as a whole; ``errors`` lists every bad row."""

    code = "file_rejected"

    def __init__(self, filename: str, errors: list[RowError], summary: str | None = None) -> None:
        self.filename = filename
        self.errors = list(errors)
        head = summary or f"{filename}: rejected, {len(self.errors)} bad value(s); nothing imported"
        lines = [head, *(f"  {filename}: {err}" for err in self.errors)]
        super().__init__("\n".join(lines))


class NotFound(BillfoldError):
    code = "not_found"


class Conflict(BillfoldError):
    code = "conflict"


class LedgerError(BillfoldError):
    code = "ledger_error"


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"


class ClosedPeriod(LedgerError):
    code = "closed_period"


class ImmutableRecord(LedgerError):
    code = "immutable_record"


class DatabaseUnavailable(BillfoldError):
    code = "database_unavailable"


class NotInitialised(BillfoldError):
    code = "not_initialised"


class AuditChainBroken(BillfoldError):
    code = "audit_chain_broken"
