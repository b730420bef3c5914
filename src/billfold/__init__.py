"""Billfold: invoice-to-cash with an AR sub-ledger that always reconciles to the general ledger."""

__version__ = "0.1.0"
