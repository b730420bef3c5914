"""The general ledger: chart of accounts, periods, posting, reversal, balances.

``post_entries`` is the one door into the ledger. It checks every entry balances (per currency and
in functional currency), that its period is open, that its accounts exist, and that every line on
the AR control account names a customer; then it writes all entries and postings in bulk.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, case, func, insert, select, tuple_, update

from billfold.domain.chart import DEFAULT_CHART, AccountSpec
from billfold.domain.ledger import (
    ACCOUNT_TYPES,
    EntryDraft,
    PostingLine,
    check_balanced,
    period_of,
    reversal_lines,
)
from billfold.errors import (
    ClosedPeriod,
    Conflict,
    FileRejected,
    InvalidInput,
    NotFound,
    RowError,
    UnbalancedEntry,
)
from billfold.formats.customers_csv import decode_text
from billfold.money import Money
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.store import ar_balances
from billfold.store.bulk import driver_form, insert_rows, insert_tuples, next_ids
from billfold.store.tables import (
    accounting_periods,
    accounts,
    customers,
    journal_entries,
    legal_entities,
    postings,
)

# --- chart of accounts -----------------------------------------------------------------------


def load_chart(tx: Tx, specs: Sequence[AccountSpec] = DEFAULT_CHART) -> int:
    """Create the accounts of ``specs`` that do not exist yet; returns how many were created."""
    existing = set(tx.conn.execute(select(accounts.c.code)).scalars())
    new = [s for s in specs if s.code not in existing]
    if new:
        tx.conn.execute(
            insert(accounts),
            [
                {
                    "code": s.code,
                    "name": s.name,
                    "type": s.type,
                    "role": s.role,
                    "parent_code": s.parent_code,
                    "active": True,
                }
                for s in new
            ],
        )
        for s in new:
            tx.audit("create", "account", s.code, after=_spec_dict(s))
    return len(new)


def _spec_dict(s: AccountSpec) -> dict[str, str | None]:
    return {
        "code": s.code,
        "name": s.name,
        "type": s.type,
        "role": s.role,
        "parent_code": s.parent_code,
    }


def parse_accounts_csv(data: bytes, filename: str) -> list[AccountSpec]:
    """Columns: code, name, type (asset/liability/equity/revenue/expense), role, parent_code."""
    text = decode_text(data, filename)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [
        RowError(1, c, "", "required column is missing")
        for c in ("code", "name", "type")
        if c not in header
    ]
    if missing:
        raise FileRejected(filename, missing)
    errors: list[RowError] = []
    specs: list[AccountSpec] = []
    seen: dict[str, int] = {}
    roles: dict[str, int] = {}
    line = 1
    for row in reader:
        start, line = line + 1, reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        code, name, typ = values.get("code", ""), values.get("name", ""), values.get("type", "")
        role = values.get("role") or None
        bad = len(errors)
        if not code:
            errors.append(RowError(start, "code", code, "required value is missing"))
        elif code in seen:
            errors.append(RowError(start, "code", code, f"duplicate (first on line {seen[code]})"))
        if not name:
            errors.append(RowError(start, "name", name, "required value is missing"))
        if typ.lower() not in ACCOUNT_TYPES:
            errors.append(
                RowError(start, "type", typ, f"expected one of {', '.join(ACCOUNT_TYPES)}")
            )
        if role and role in roles:
            errors.append(
                RowError(start, "role", role, f"role already given on line {roles[role]}")
            )
        if len(errors) == bad:
            seen[code] = start
            if role:
                roles[role] = start
            specs.append(
                AccountSpec(code, name, typ.lower(), role, values.get("parent_code") or None)
            )
    if errors:
        raise FileRejected(filename, errors)
    if not specs:
        raise FileRejected(filename, [], f"{filename}: no account rows below the header")
    return specs


@dataclass(frozen=True, slots=True)
class AccountsImport:
    created: int
    updated: int
    unchanged: int


def import_accounts(tx: Tx, specs: Sequence[AccountSpec]) -> AccountsImport:
    """Create new accounts and update names/roles of existing ones (audited); idempotent."""
    current = {r.code: r for r in tx.conn.execute(select(accounts))}
    created = updated = unchanged = 0
    # A role given to another account moves: clear it first (roles are unique in the chart).
    holder = {r.role: r.code for r in current.values() if r.role}
    moving = sorted({s.role for s in specs if s.role and holder.get(s.role) not in (None, s.code)})
    if moving:
        tx.conn.execute(update(accounts).where(accounts.c.role.in_(moving)).values(role=None))
        for role in moving:
            tx.audit("update", "account", holder[role], before={"role": role}, after={"role": None})
    for s in specs:
        old = current.get(s.code)
        if old is None:
            tx.conn.execute(insert(accounts).values(**_spec_dict(s), active=True))
            tx.audit("create", "account", s.code, after=_spec_dict(s))
            created += 1
            continue
        before = {
            "code": old.code,
            "name": old.name,
            "type": old.type,
            "role": old.role,
            "parent_code": old.parent_code,
        }
        if before == _spec_dict(s):
            unchanged += 1
            continue
        if old.type != s.type and _has_postings(tx.conn, old.id):
            raise Conflict(
                f"account {s.code} has postings: its type cannot change from {old.type} to {s.type}"
            )
        tx.conn.execute(update(accounts).where(accounts.c.id == old.id).values(**_spec_dict(s)))
        tx.audit("update", "account", s.code, before=before, after=_spec_dict(s))
        updated += 1
    return AccountsImport(created, updated, unchanged)


def _has_postings(conn: Connection, account_id: int) -> bool:
    return (
        conn.execute(
            select(postings.c.id).where(postings.c.account_id == account_id).limit(1)
        ).first()
        is not None
    )


def list_accounts(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(accounts).order_by(accounts.c.code)).mappings()
    return [dict(r) for r in rows]


# --- periods ---------------------------------------------------------------------------------


def _check_period_text(period: str) -> str:
    try:
        year, month = period.split("-")
        date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(f"period {period!r} is not a month in the form YYYY-MM") from None
    return f"{int(year):04d}-{int(month):02d}"


def set_period_status(tx: Tx, entity_code: str, period: str, status: str) -> None:
    """Close (or reopen) an accounting month of one legal entity."""
    period = _check_period_text(period)
    ent = lookups.entity(tx, entity_code)
    key = and_(accounting_periods.c.entity_id == ent.id, accounting_periods.c.period == period)
    old = tx.conn.execute(select(accounting_periods.c.status).where(key)).scalar()
    if (old or "open") == status:
        return
    values = {"status": status, "changed_at": tx.now, "changed_by": tx.actor}
    if old is None:
        tx.conn.execute(
            insert(accounting_periods).values(entity_id=ent.id, period=period, **values)
        )
    else:
        tx.conn.execute(update(accounting_periods).where(key).values(**values))
    tx.audit(
        "close" if status == "closed" else "reopen",
        "period",
        f"{ent.code}/{period}",
        before={"status": old or "open"},
        after={"status": status},
    )


def closed_periods(conn: Connection, entity_id: int | None = None) -> list[tuple[int, str]]:
    q = select(accounting_periods.c.entity_id, accounting_periods.c.period).where(
        accounting_periods.c.status == "closed"
    )
    if entity_id is not None:
        q = q.where(accounting_periods.c.entity_id == entity_id)
    return [(r[0], r[1]) for r in conn.execute(q)]


def ensure_open(tx: Tx, entity_id: int, entity_code: str, days: Sequence[date]) -> None:
    """Raise ``ClosedPeriod`` if any of ``days`` falls in a closed month of the entity."""
    wanted = {period_of(d) for d in days}
    closed = sorted(
        p
        for (e, p) in tx.conn.execute(
            select(accounting_periods.c.entity_id, accounting_periods.c.period).where(
                tuple_(accounting_periods.c.entity_id, accounting_periods.c.period).in_(
                    [(entity_id, p) for p in wanted]
                ),
                accounting_periods.c.status == "closed",
            )
        )
    )
    if closed:
        raise ClosedPeriod(
            f"period {', '.join(closed)} of {entity_code} is closed: nothing can be posted into it "
            "(reopen it with `billfold ledger open-period` or post in an open period)"
        )


# --- posting ---------------------------------------------------------------------------------


def post_entries(tx: Tx, drafts: Sequence[EntryDraft], *, audit: bool = True) -> list[int]:
    """Validate and write journal entries in bulk; returns their ids in order."""
    if not drafts:
        return []
    ar_id, _ = lookups.account_by_role(tx, "ar_control")
    acct = lookups.account_ids(tx, {ln.account for d in drafts for ln in d.lines})
    cust = lookups.customer_ids(tx, {ln.customer for d in drafts for ln in d.lines if ln.customer})
    by_entity: dict[str, list[EntryDraft]] = {}
    for d in drafts:
        by_entity.setdefault(d.entity, []).append(d)
    for code, group in by_entity.items():
        ent = lookups.entity(tx, code)
        for d in group:
            check_balanced(d, ent.functional_currency)
            for n, ln in enumerate(d.lines, start=1):
                if acct[ln.account] == ar_id and ln.customer is None:
                    raise InvalidInput(
                        f"journal entry '{d.description}' line {n}: a posting to the AR control "
                        f"account {ln.account} must name the customer (AR sub-ledger)"
                    )
                if ln.item_ref is not None and ln.customer is None:
                    raise InvalidInput(
                        f"journal entry '{d.description}' line {n}: open item {ln.item_ref} "
                        "needs a customer"
                    )
        ensure_open(tx, ent.id, ent.code, [d.entry_date for d in group])

    header_rows = []
    for d in drafts:
        ent = lookups.entity(tx, d.entity)
        header_rows.append(
            {
                "entity_id": ent.id,
                "entry_date": d.entry_date,
                "period": period_of(d.entry_date),
                "description": d.description[:400],
                "source_type": d.source_type,
                "source_ref": d.source_ref,
                "reverses_id": d.reverses_id,
                "created_at": tx.now,
                "actor": tx.actor,
            }
        )
    ids = insert_rows(tx.conn, journal_entries, header_rows)
    posting_rows = []
    for entry_id, d, head in zip(ids, drafts, header_rows, strict=True):
        for n, ln in enumerate(d.lines, start=1):
            posting_rows.append(
                {
                    "entry_id": entry_id,
                    "line_no": n,
                    "entity_id": head["entity_id"],
                    "entry_date": d.entry_date,
                    "account_id": acct[ln.account],
                    "currency": ln.amount.currency,
                    "amount_minor": ln.amount.minor,
                    "functional_minor": ln.functional.minor,
                    "customer_id": cust[ln.customer] if ln.customer else None,
                    "item_type": ln.item_type,
                    "item_ref": ln.item_ref,
                    "memo": ln.memo,
                }
            )
    _insert_postings(tx, posting_rows)
    if audit:
        for entry_id, d in zip(ids, drafts, strict=True):
            tx.audit("post", "journal_entry", entry_id, after=_entry_summary(d))
    return ids


POSTING_COLUMNS = (
    "entry_id",
    "line_no",
    "entity_id",
    "entry_date",
    "account_id",
    "currency",
    "amount_minor",
    "functional_minor",
    "customer_id",
    "item_type",
    "item_ref",
    "memo",
)
ENTRY_COLUMNS = (
    "id",
    "entity_id",
    "entry_date",
    "period",
    "description",
    "source_type",
    "source_ref",
    "reverses_id",
    "created_at",
    "actor",
)


def _insert_postings(tx: Tx, rows: list[dict[str, Any]]) -> None:
    """Postings given as dicts (``post_entries``): see :func:`_insert_posting_tuples`."""
    get = itemgetter(*POSTING_COLUMNS)
    _insert_posting_tuples(tx, [get(r) for r in rows])


def _insert_posting_tuples(tx: Tx, rows: list[tuple[Any, ...]], *, ready: bool = False) -> None:
    """The one place postings are written: in bulk (tuples in ``POSTING_COLUMNS`` order, with
    ``ready`` already in the driver's form), with the AR balances kept beside them from the rows
    just written."""
    after = ar_balances.last_posting_id(tx.conn)
    insert_tuples(tx.conn, postings, POSTING_COLUMNS, rows, ready=ready)
    ar_balances.keep(tx.conn, lookups.account_by_role(tx, "ar_control")[0], after)


class MinorLine(NamedTuple):
    """A posting line in integer minor units, for system entries built in bulk (debit > 0).
    A tuple in the order of the postings' columns from ``account_id`` on, so the posting row
    is the entry's part and this line put together."""

    account_id: int
    currency: str
    amount_minor: int
    functional_minor: int
    customer_id: int | None = None
    item_type: str | None = None
    item_ref: str | None = None
    memo: str | None = None


class MinorEntry(NamedTuple):
    entity_id: int
    entry_date: date
    description: str
    source_type: str
    source_ref: str | None
    lines: tuple[MinorLine, ...]


def post_minor_entries(
    tx: Tx,
    entries: Sequence[MinorEntry],
    ar_account_id: int,
    *,
    before_postings: Callable[[list[int]], None] | None = None,
) -> list[int]:
    """The bulk door into the ledger for entries the system builds itself (issuing): the same
    rules as ``post_entries`` - balanced per currency and in functional currency, AR lines name
    their customer, open periods - checked in integers, without building Money objects.

    ``before_postings`` is called with the new entries' ids once the entries are written and
    before their postings are (issuing freezes its documents there, so that the AR items the
    postings open find the document's number and dates at once)."""
    if not entries:
        return []
    dates: dict[int, set[date]] = {}
    for e in entries:
        if len(e.lines) < 2:
            raise UnbalancedEntry(f"journal entry '{e.description}' needs at least two lines")
        per_currency: dict[str, int] = {}
        functional = 0
        for n, ln in enumerate(e.lines, start=1):
            per_currency[ln.currency] = per_currency.get(ln.currency, 0) + ln.amount_minor
            functional += ln.functional_minor
            if ln.amount_minor * ln.functional_minor < 0:
                raise UnbalancedEntry(
                    f"journal entry '{e.description}' line {n}: amount and "
                    "functional amount have opposite signs"
                )
            if ln.customer_id is None and (
                ln.account_id == ar_account_id or ln.item_ref is not None
            ):
                raise InvalidInput(
                    f"journal entry '{e.description}' line {n}: a posting to "
                    "AR control (or an open item) must name the customer"
                )
        if functional or any(per_currency.values()):
            raise UnbalancedEntry(
                f"journal entry '{e.description}' does not balance "
                f"({per_currency}, functional {functional})"
            )
        days = dates.get(e.entity_id)
        if days is None:
            days = dates[e.entity_id] = set()
        days.add(e.entry_date)
    _refuse_inactive(tx, {ln.account_id for e in entries for ln in e.lines})
    for entity_id, days in dates.items():
        ent = lookups.entity_by_id(tx.conn, entity_id)
        ensure_open(tx, entity_id, ent.code, sorted(days))
    ids = next_ids(tx.conn, journal_entries, len(entries))
    periods = {d: period_of(d) for days in dates.values() for d in days}
    # the few dates and the one timestamp of the batch in the driver's form once each, so the
    # rows go to the driver as they are built (not each through the columns' processors)
    day_form = driver_form(tx.conn, journal_entries, "entry_date")
    days_in_form = {d: day_form(d) for d in periods}
    now = driver_form(tx.conn, journal_entries, "created_at")(tx.now)
    actor = tx.actor
    insert_tuples(
        tx.conn,
        journal_entries,
        ENTRY_COLUMNS,
        [
            (
                entry_id,
                e.entity_id,
                days_in_form[e.entry_date],
                periods[e.entry_date],
                e.description[:400],
                e.source_type,
                e.source_ref,
                None,
                now,
                actor,
            )
            for entry_id, e in zip(ids, entries, strict=True)
        ],
        ready=True,
    )
    if before_postings is not None:
        before_postings(ids)
    # a posting's columns hold ints and strings but for its date (the same form as the entry's)
    rows = []
    for entry_id, e in zip(ids, entries, strict=True):
        eid, day = e.entity_id, days_in_form[e.entry_date]
        for n, ln in enumerate(e.lines, start=1):
            rows.append((entry_id, n, eid, day, *ln))
    _insert_posting_tuples(tx, rows, ready=True)
    return ids


def _refuse_inactive(tx: Tx, account_ids: set[int]) -> None:
    """The bulk door keeps the rule of ``post_entries``: nothing posts to an inactive account."""
    known: dict[int, tuple[str, bool]] = tx.cache.setdefault("account_active", {})
    missing = sorted(account_ids - known.keys())
    if missing:
        for id_, code, active in tx.conn.execute(
            select(accounts.c.id, accounts.c.code, accounts.c.active).where(
                accounts.c.id.in_(missing)
            )
        ):
            known[id_] = (code, bool(active))
    inactive = sorted(known[i][0] for i in account_ids if i in known and not known[i][1])
    unknown = sorted(i for i in account_ids if i not in known)
    if unknown:
        raise NotFound(f"no account with id {unknown[0]}")
    if inactive:
        raise NotFound(f"inactive account(s) {', '.join(inactive)} (see `billfold accounts list`)")


def _entry_summary(d: EntryDraft) -> dict[str, object]:
    return {
        "entity": d.entity,
        "date": d.entry_date,
        "description": d.description,
        "source": f"{d.source_type}:{d.source_ref or ''}",
        "reverses": d.reverses_id,
        "lines": [
            [
                ln.account,
                str(ln.amount.amount),
                ln.amount.currency,
                str(ln.functional.amount),
                ln.customer,
                ln.item_ref,
            ]
            for ln in d.lines
        ],
    }


def post_entry(tx: Tx, draft: EntryDraft) -> int:
    return post_entries(tx, [draft])[0]


def load_entry(conn: Connection, entry_id: int) -> EntryDraft:
    head = conn.execute(
        select(
            journal_entries,
            legal_entities.c.code.label("entity_code"),
            legal_entities.c.functional_currency,
        )
        .join(legal_entities, legal_entities.c.id == journal_entries.c.entity_id)
        .where(journal_entries.c.id == entry_id)
    ).first()
    if head is None:
        raise NotFound(f"no journal entry {entry_id}")
    rows = conn.execute(
        select(
            postings,
            accounts.c.code.label("account_code"),
            customers.c.number.label("customer_number"),
        )
        .join(accounts, accounts.c.id == postings.c.account_id)
        .outerjoin(customers, customers.c.id == postings.c.customer_id)
        .where(postings.c.entry_id == entry_id)
        .order_by(postings.c.line_no)
    )
    lines = tuple(
        PostingLine(
            account=r.account_code,
            amount=Money.from_minor(r.amount_minor, r.currency),
            functional=Money.from_minor(r.functional_minor, head.functional_currency),
            customer=r.customer_number,
            item_type=r.item_type,
            item_ref=r.item_ref,
            memo=r.memo,
        )
        for r in rows
    )
    return EntryDraft(
        head.entity_code,
        head.entry_date,
        head.description,
        lines,
        head.source_type,
        head.source_ref,
        head.reverses_id,
    )


def reverse_entry(tx: Tx, entry_id: int, on: date | None = None, reason: str = "") -> int:
    """Post the mirror image of an entry (the only way to correct a posted entry)."""
    original = load_entry(tx.conn, entry_id)
    already = tx.conn.execute(
        select(journal_entries.c.id).where(journal_entries.c.reverses_id == entry_id)
    ).scalar()
    if already is not None:
        raise Conflict(f"journal entry {entry_id} was already reversed by entry {already}")
    if original.reverses_id is not None:
        raise Conflict(f"journal entry {entry_id} is itself a reversal; post a new entry instead")
    draft = EntryDraft(
        entity=original.entity,
        entry_date=on or tx.today,
        description=f"Reversal of entry {entry_id}" + (f": {reason}" if reason else ""),
        lines=reversal_lines(original.lines),
        source_type="reversal",
        source_ref=str(entry_id),
        reverses_id=entry_id,
    )
    return post_entry(tx, draft)


# --- balances --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    entity: str
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal
    currency: str


def trial_balance(
    conn: Connection, as_of: date, entity_code: str | None = None
) -> list[TrialBalanceRow]:
    """Balances per entity and account in functional currency, as of the end of ``as_of``."""
    total = func.sum(postings.c.functional_minor)
    q = (
        select(
            legal_entities.c.code.label("entity"),
            legal_entities.c.functional_currency,
            accounts.c.code,
            accounts.c.name,
            accounts.c.type,
            total.label("balance"),
        )
        .select_from(postings)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(legal_entities, legal_entities.c.id == postings.c.entity_id)
        .where(postings.c.entry_date <= as_of)
        .group_by(
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            accounts.c.code,
            accounts.c.name,
            accounts.c.type,
        )
        .order_by(legal_entities.c.code, accounts.c.code)
    )
    if entity_code:
        q = q.where(legal_entities.c.code == lookups.entity(conn, entity_code).code)
    result = []
    for r in conn.execute(q):
        bal = Money.from_minor(int(r.balance), r.functional_currency).amount
        zero = Money.zero(r.functional_currency).amount
        result.append(
            TrialBalanceRow(
                r.entity,
                r.code,
                r.name,
                r.type,
                max(bal, zero),
                max(-bal, zero),
                r.functional_currency,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class OpenItem:
    entity: str
    customer: str
    item_type: str | None
    item_ref: str | None
    amount: Money
    functional: Money


def ar_open_items(
    conn: Connection,
    as_of: date,
    entity_code: str | None = None,
    customer_number: str | None = None,
) -> list[OpenItem]:
    """The AR sub-ledger as of a date: postings on AR control summed per customer and item."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    amount, functional = func.sum(postings.c.amount_minor), func.sum(postings.c.functional_minor)
    q = (
        select(
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            customers.c.number,
            postings.c.item_type,
            postings.c.item_ref,
            postings.c.currency,
            amount.label("amount"),
            functional.label("functional"),
        )
        .select_from(postings)
        .join(customers, customers.c.id == postings.c.customer_id)
        .join(legal_entities, legal_entities.c.id == postings.c.entity_id)
        .where(postings.c.account_id == ar_id, postings.c.entry_date <= as_of)
        .group_by(
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            customers.c.number,
            postings.c.item_type,
            postings.c.item_ref,
            postings.c.currency,
        )
        .having((amount != 0) | (functional != 0))
        .order_by(legal_entities.c.code, customers.c.number, postings.c.item_ref)
    )
    if entity_code:
        q = q.where(legal_entities.c.code == entity_code)
    if customer_number:
        q = q.where(customers.c.number == customer_number)
    return [
        OpenItem(
            r.code,
            r.number,
            r.item_type,
            r.item_ref,
            Money.from_minor(int(r.amount), r.currency),
            Money.from_minor(int(r.functional), r.functional_currency),
        )
        for r in conn.execute(q)
    ]


def ar_subledger_balance(
    conn: Connection, as_of: date, entity_code: str | None = None
) -> dict[str, Money]:
    """Sum of open items per entity, in functional currency (the AR sub-ledger total)."""
    result: dict[str, Money] = {}
    for item in ar_open_items(conn, as_of, entity_code):
        prev = result.get(item.entity, Money.zero(item.functional.currency))
        result[item.entity] = prev + item.functional
    return result


def gl_control_balance(
    conn: Connection, as_of: date, entity_code: str | None = None
) -> dict[str, Money]:
    """Balance of the AR control account per entity, straight from the general ledger."""
    ar_id, _ = lookups.account_by_role(conn, "ar_control")
    q = (
        select(
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            func.sum(postings.c.functional_minor),
        )
        .join(legal_entities, legal_entities.c.id == postings.c.entity_id)
        .where(postings.c.account_id == ar_id, postings.c.entry_date <= as_of)
        .group_by(legal_entities.c.code, legal_entities.c.functional_currency)
    )
    if entity_code:
        q = q.where(legal_entities.c.code == entity_code)
    return {code: Money.from_minor(int(total), cur) for code, cur, total in conn.execute(q)}


@dataclass(frozen=True, slots=True)
class EntryListing:
    id: int
    entity: str
    entry_date: date
    description: str
    source: str
    reverses_id: int | None
    debit_total: Money


def list_entries(
    conn: Connection,
    *,
    entity_code: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
) -> list[EntryListing]:
    debit = func.sum(case((postings.c.functional_minor > 0, postings.c.functional_minor), else_=0))
    q = (
        select(
            journal_entries.c.id,
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            journal_entries.c.entry_date,
            journal_entries.c.description,
            journal_entries.c.source_type,
            journal_entries.c.source_ref,
            journal_entries.c.reverses_id,
            debit.label("debit"),
        )
        .join(legal_entities, legal_entities.c.id == journal_entries.c.entity_id)
        .join(postings, postings.c.entry_id == journal_entries.c.id)
        .group_by(
            journal_entries.c.id,
            legal_entities.c.code,
            legal_entities.c.functional_currency,
            journal_entries.c.entry_date,
            journal_entries.c.description,
            journal_entries.c.source_type,
            journal_entries.c.source_ref,
            journal_entries.c.reverses_id,
        )
        .order_by(journal_entries.c.entry_date.desc(), journal_entries.c.id.desc())
        .limit(limit)
    )
    if entity_code:
        q = q.where(legal_entities.c.code == entity_code)
    if since:
        q = q.where(journal_entries.c.entry_date >= since)
    if until:
        q = q.where(journal_entries.c.entry_date <= until)
    return [
        EntryListing(
            r.id,
            r.code,
            r.entry_date,
            r.description,
            f"{r.source_type}:{r.source_ref}" if r.source_ref else r.source_type,
            r.reverses_id,
            Money.from_minor(int(r.debit), r.functional_currency),
        )
        for r in conn.execute(q)
    ]
