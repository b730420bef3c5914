"""The default chart of accounts that `billfold init` loads.

Roles name the accounts Billfold posts to by itself (AR control, tax payable, unapplied cash ...);
a user's own chart (``billfold accounts import``) may renumber them but keeps the roles.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    name: str
    type: str
    role: str | None = None
    parent_code: str | None = None


DEFAULT_CHART: tuple[AccountSpec, ...] = (
    AccountSpec("1000", "Bank", "asset", "bank"),
    AccountSpec("1010", "Bank clearing", "asset", "bank_clearing"),
    AccountSpec("1100", "Accounts receivable - trade (control)", "asset", "ar_control"),
    AccountSpec("1150", "Intercompany receivable", "asset", "intercompany_receivable"),
    AccountSpec("1190", "Unbilled receivables", "asset", "unbilled_receivables"),
    AccountSpec("2100", "Deferred revenue", "liability", "deferred_revenue"),
    AccountSpec("2150", "Unapplied cash receipts", "liability", "unapplied_cash"),
    AccountSpec("2200", "Tax payable", "liability", "tax_payable"),
    AccountSpec("2300", "Refunds payable", "liability", "refunds_payable"),
    AccountSpec("2400", "Intercompany payable", "liability", "intercompany_payable"),
    AccountSpec("3900", "Opening balance equity", "equity", "opening_balance"),
    AccountSpec("4000", "Revenue - subscriptions", "revenue", "revenue"),
    AccountSpec("4100", "Revenue - professional services", "revenue", "revenue_services"),
    AccountSpec("4200", "Revenue - usage", "revenue", "revenue_usage"),
    AccountSpec("4300", "Revenue - goods", "revenue", "revenue_goods"),
    AccountSpec("4900", "Discounts allowed", "revenue", "discounts_allowed"),
    AccountSpec("6100", "Bad-debt expense", "expense", "bad_debt"),
    AccountSpec("6200", "Bank fees", "expense", "bank_fees"),
    AccountSpec("6300", "Short-payment write-offs", "expense", "write_off"),
    AccountSpec("7100", "Realized FX gain", "revenue", "fx_gain"),
    AccountSpec("7200", "Realized FX loss", "expense", "fx_loss"),
)
