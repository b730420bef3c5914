"""Errors the billing engine raises on purpose.

They extend the tree in :mod:`billfold.errors`::

    BillfoldError
    ├── InvalidInput
    │   └── BillingError                 a contract, charge, change or input the engine refuses
    │       ├── InvalidContract          charges outside the contract, unknown or duplicate ids ...
    │       │   └── OverlappingCharges   two charges bill the same product over the same days
    │       ├── MilestoneCompletedTwice  a milestone marked complete a second time
    │       └── RetroactiveChange        a change that reaches back into periods already billed
    └── PurchaseOrderExceeded            billing would take a contract past its PO amount (a hold)

Every message names the contract and the charge (or milestone, or PO) it is about.
"""

from __future__ import annotations

from datetime import date

from billfold.errors import BillfoldError, InvalidInput
from billfold.money import Money


class BillingError(InvalidInput):
    """Bad billing input: a contract, charge, change, usage total or timesheet entry."""

    code = "billing_error"


class InvalidContract(BillingError):
    """A contract and its charges do not make sense together."""

    code = "invalid_contract"


class OverlappingCharges(InvalidContract):
    """Two charges of one contract bill the same product (SKU) over overlapping dates."""

    code = "overlapping_charges"

    def __init__(
        self,
        contract: str,
        sku: str,
        first: tuple[str, date, date | None],
        second: tuple[str, date, date | None],
    ) -> None:
        self.contract = contract
        self.sku = sku
        self.first = first
        self.second = second

        def span(item: tuple[str, date, date | None]) -> str:
            end = item[2].isoformat() if item[2] else "open-ended"
            return f"'{item[0]}' ({item[1].isoformat()} to {end})"

        super().__init__(
            f"contract {contract}: charges {span(first)} and {span(second)} bill the same "
            f"product {sku!r} over overlapping dates; end one before the other starts"
        )


class MilestoneCompletedTwice(BillingError):
    """A milestone is billable once; completing it again is refused."""

    code = "milestone_completed_twice"

    def __init__(self, contract: str, milestone: str, first: date, second: date) -> None:
        self.contract = contract
        self.milestone = milestone
        super().__init__(
            f"contract {contract}: milestone '{milestone}' was already completed on "
            f"{first.isoformat()}; it cannot be completed again on {second.isoformat()}"
        )


class RetroactiveChange(BillingError):
    """A change whose effective date falls before (or, in arrears, inside) a billed period.

    Periods already invoiced are corrected with a credit memo, not by re-rating them.
    """

    code = "retroactive_change"


class PurchaseOrderExceeded(BillfoldError):
    """Billing the due lines would take the contract past its purchase-order amount.

    It is a hold, not a crash: a billing run catches it, bills nothing for that contract and
    reports the contract with this message until the PO is raised (or lines are removed).
    """

    code = "po_limit_exceeded"

    def __init__(
        self, contract: str, po_number: str | None, limit: Money, billed: Money, due: Money
    ) -> None:
        self.contract = contract
        self.po_number = po_number
        self.limit = limit
        self.billed = billed
        self.due = due
        po = f"PO {po_number}" if po_number else "its PO"
        super().__init__(
            f"contract {contract}: billing {due} now would bring {po} to {billed + due}, "
            f"over its limit of {limit} ({billed} billed before); raise the PO amount or "
            "bill less"
        )
