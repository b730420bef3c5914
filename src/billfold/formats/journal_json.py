"""Manual journal entries as JSON (``billfold ledger post --file entry.json``).

One entry, or a list of entries::

    {"entity": "ACME-DE", "date": "2026-11-30", "description": "Accrual",
     "lines": [
        {"account": "1100", "debit": "119.00", "customer": "C-1001", "item": "OB-17"},
        {"account": "4000", "credit": "100.00"},
        {"account": "2200", "credit": "19.00"}]}

A line gives ``debit`` or ``credit`` (a positive amount as a string), optionally ``currency``
(default: the entity's functional currency) and, for a foreign-currency line, ``functional``: the
same amount in the functional currency. ``customer``/``item``/``item_type`` name the AR open item.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from billfold.domain.ledger import EntryDraft, PostingLine
from billfold.errors import BillfoldError, InvalidInput
from billfold.money import Money


def parse_journal_json(
    data: bytes, filename: str, functional_currency_of: Callable[[str], str]
) -> list[EntryDraft]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{filename}: not valid JSON: {exc}") from None
    items = doc if isinstance(doc, list) else [doc]
    return [
        _entry(item, f"{filename}: entry {i}", functional_currency_of)
        for i, item in enumerate(items, start=1)
    ]


def _entry(item: Any, where: str, functional_currency_of: Callable[[str], str]) -> EntryDraft:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: expected an object")
    for key in ("entity", "date", "description", "lines"):
        if key not in item:
            raise InvalidInput(f"{where}: field '{key}' is missing")
    try:
        day = date.fromisoformat(str(item["date"]))
    except ValueError:
        raise InvalidInput(
            f"{where}, field 'date', value '{item['date']}': not a date (YYYY-MM-DD)"
        ) from None
    entity = str(item["entity"])
    functional = functional_currency_of(entity)
    lines = item["lines"]
    if not isinstance(lines, list):
        raise InvalidInput(f"{where}: 'lines' must be a list")
    parsed = tuple(
        _line(ln, f"{where}, line {n}", functional) for n, ln in enumerate(lines, start=1)
    )
    return EntryDraft(
        entity, day, str(item["description"]), parsed, source_type=str(item.get("source", "manual"))
    )


def _line(ln: Any, where: str, functional_currency: str) -> PostingLine:
    if not isinstance(ln, dict):
        raise InvalidInput(f"{where}: expected an object")
    if ("debit" in ln) == ("credit" in ln):
        raise InvalidInput(f"{where}: give exactly one of 'debit' or 'credit'")
    side = "debit" if "debit" in ln else "credit"
    sign = 1 if side == "debit" else -1
    currency = str(ln.get("currency", functional_currency))
    try:
        amount = Money.of(str(ln[side]), currency)
        if amount.amount < 0:
            raise InvalidInput("must not be negative (use the other side)")
        if currency == functional_currency:
            fn = amount
        elif "functional" in ln:
            fn = Money.of(str(ln["functional"]), functional_currency)
        else:
            raise InvalidInput(
                f"a {currency} line needs its 'functional' {functional_currency} amount"
            )
    except BillfoldError as exc:
        raise InvalidInput(f"{where}, field '{side}', value '{ln[side]}': {exc}") from None
    if "account" not in ln:
        raise InvalidInput(f"{where}: field 'account' is missing")
    return PostingLine(
        account=str(ln["account"]),
        amount=amount if sign > 0 else -amount,
        functional=fn if sign > 0 else -fn,
        customer=ln.get("customer"),
        item_type=ln.get("item_type", "manual" if ln.get("item") else None),
        item_ref=ln.get("item"),
        memo=ln.get("memo"),
    )
