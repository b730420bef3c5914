"""Billing: contracts and their charges -> billing periods -> rated, prorated billable lines.

Pure domain logic (no database): the service layer loads a contract, its charges, changes,
milestones, usage totals and approved timesheets, asks ``due_lines`` what is due up to a date
and not yet billed, turns the lines into draft invoices (``BillableLine.to_line_input``), and
records the lines' exactly-once keys. Modules:

``model``       contracts, charges, changes, timesheet entries, billable lines
``schedule``    billing periods, month arithmetic with end-of-month clamping, proration factors
``rating``      usage pricing: per unit, graduated and volume tiers, packages, minimums
``changes``     mid-period changes: prorated credits and charges, arrears pieces, renewals
``validation``  overlapping charges, milestones completed twice, dates outside the contract
``engine``      ``due_lines``: exactly-once selection of what is due; the PO limit
``revenue``     recognition schedules for lines billed in advance
``errors``      the billing errors
"""

from billfold.billing.changes import change_lines, effective_changes, validate_change
from billfold.billing.engine import UsageKey, UsageRequest, due_lines, usage_requests
from billfold.billing.errors import (
    BillingError,
    InvalidContract,
    MilestoneCompletedTwice,
    OverlappingCharges,
    PurchaseOrderExceeded,
    RetroactiveChange,
)
from billfold.billing.model import (
    Alignment,
    BillableLine,
    Charge,
    ChargeChange,
    Contract,
    Frequency,
    InvoiceGroup,
    Milestone,
    OneTimeCharge,
    RecurringCharge,
    Terms,
    TimeAndMaterials,
    TimesheetEntry,
    Timing,
    UsageCharge,
)
from billfold.billing.rating import (
    GraduatedTiers,
    Package,
    PerUnit,
    Pricing,
    RatedLine,
    Tier,
    VolumeTiers,
    rate_usage,
)
from billfold.billing.revenue import recognition_schedule
from billfold.billing.schedule import Period, add_months, billing_periods
from billfold.billing.validation import complete_milestone, validate_contract

__all__ = [
    "Alignment",
    "BillableLine",
    "BillingError",
    "Charge",
    "ChargeChange",
    "Contract",
    "Frequency",
    "GraduatedTiers",
    "InvalidContract",
    "InvoiceGroup",
    "Milestone",
    "MilestoneCompletedTwice",
    "OneTimeCharge",
    "OverlappingCharges",
    "Package",
    "PerUnit",
    "Period",
    "Pricing",
    "PurchaseOrderExceeded",
    "RatedLine",
    "RecurringCharge",
    "RetroactiveChange",
    "Terms",
    "Tier",
    "TimeAndMaterials",
    "TimesheetEntry",
    "Timing",
    "UsageCharge",
    "UsageKey",
    "UsageRequest",
    "VolumeTiers",
    "add_months",
    "billing_periods",
    "change_lines",
    "complete_milestone",
    "due_lines",
    "effective_changes",
    "rate_usage",
    "recognition_schedule",
    "usage_requests",
    "validate_change",
    "validate_contract",
]
