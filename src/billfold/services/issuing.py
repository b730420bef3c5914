"""Issuing drafts: gapless number, journal entry and postings, frozen parties, audit row.

``issue`` works on batches of ``BATCH`` documents at a fixed number of SQL statements each. The
per-document work is kept to plain tuples: the posting lines are built straight from the
invoice's net per revenue account and tax per jurisdiction and rate (summed in SQL), the
seller's snapshot is serialised once per entity and currency with a slot for the document's
number, and the audit row's canonical JSON is formatted directly. The write order is chosen
for the AR balances: the entries first, then the documents (number, status, entry), then the
postings, so the open items the postings create find their document's number and dates at
insert time instead of being updated again by the invoice triggers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from json.encoder import encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, NamedTuple

from sqlalchemy import Connection, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from billfold.billing.revenue import served_and_unserved
from billfold.errors import Conflict, NotFound
from billfold.money import Currency, Money, Rounding
from billfold.services import lookups
from billfold.services.context import Tx, collector_paused
from billfold.services.ledger import MinorEntry, MinorLine, ensure_open, post_minor_entries
from billfold.services.parties import Seller, load_buyers, load_seller, party_to_json
from billfold.services.planners import planned, planners_for
from billfold.services.revenue import schedule_deferred
from billfold.store.audit import CanonicalJson
from billfold.store.bulk import (
    driver_form,
    driver_rows,
    in_chunks,
    insert_tuples,
    update_tuples,
    values_in,
)
from billfold.store.db import index_lookups
from billfold.store.tables import (
    accounts,
    customers,
    invoice_line_taxes,
    invoice_lines,
    invoice_parties,
    invoices,
    number_sequences,
)

BATCH = 2000
PLANNERS_FROM_BATCHES = 4  # a shorter call plans in its own process (it would gain little)
KIND = {"invoice": "Invoice", "credit_note": "Credit note", "debit_note": "Debit note"}
ISSUED_COLUMNS = ("status", "number", "issued_at", "entry_id")
PARTY_COLUMNS = ("invoice_id", "seller_json", "buyer_json")


@dataclass(frozen=True, slots=True)
class IssueResult:
    numbers: list[str]


def issue(tx: Tx, invoice_ids: Sequence[int], *, planners: int | None = None) -> IssueResult:
    """Issue drafts: number, freeze, post, audit. All of them, or none.

    The drafts go in batches of ``BATCH``, numbered up front in this transaction (in each
    batch, by issue date and id). Each batch is planned with reads only (``plan_batch``: its
    journal entries, frozen parties and audit images) and written in order (``write_batch``).
    ``planners``: worker processes that plan the next batches while this one writes (see
    ``services.planners``; default: one per core for a long call, none for a short one)."""
    ids = list(dict.fromkeys(invoice_ids))  # a document named twice is issued once
    batches = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    # a batch's cost follows its documents, not the tables' size; and its hundreds of
    # thousands of small tuples (no reference cycles among them) are not walked by the cyclic
    # collector again and again (context.collector_paused)
    with collector_paused(), index_lookups(tx.conn):
        numbers, order = _number(tx, ids, batches)
        engine = tx.conn.engine
        workers = planners_for(engine, planners, len(batches), PLANNERS_FROM_BATCHES)
        here = Tx(tx.conn, tx.actor, tx.now)  # what planning here looks up, for this call only
        created: dict[str, int] = {}  # tax accounts this call created, which planners cannot see
        tasks = ((chunk, {i: numbers[i] for i in chunk}, dict(created)) for chunk in batches)
        with planned(engine, tx.actor, tx.now, plan_batch, tasks, workers) as plans:
            for chunk, plan in zip(batches, plans, strict=True):
                if plan is None or not plan.complete:
                    plan = _plan_here(tx, here, chunk, numbers, created)
                write_batch(tx, plan)
    return IssueResult([numbers[i] for i in order])


class _Head(NamedTuple):
    """What issuing reads of a draft (a plain tuple: SQLAlchemy rows answer attribute access
    an order of magnitude slower than a tuple, which shows at 100,000 documents)."""

    id: int
    entity_id: int
    customer_id: int
    doc_type: str
    status: str
    series: str
    number: str | None
    currency: str
    functional_currency: str
    fx_rate: str
    rounding: str
    issue_date: date
    tax_minor: int
    total_minor: int
    corrects_id: int | None


_HEAD_COLUMNS = [invoices.c[name] for name in _Head._fields]


class _Numbered(NamedTuple):
    """What numbering reads of each document of an issue call (all of them at once)."""

    id: int
    entity_id: int
    status: str
    series: str
    number: str | None
    issue_date: date


_NUMBERED_COLUMNS = [invoices.c[name] for name in _Numbered._fields]


def _heads(conn: Connection, ids: Sequence[int]) -> dict[int, _Head]:
    query = select(*_HEAD_COLUMNS).where(values_in(conn, invoices.c.id, ids))
    return {r[0]: _Head._make(r) for r in conn.execute(query)}


def _number(tx: Tx, ids: list[int], batches: list[list[int]]) -> tuple[dict[int, str], list[int]]:
    """Check that every one of ``ids`` is a draft whose date is in an open period, and give
    each its number: batch after batch, in each by issue date and id, from its entity's series
    and fiscal year (the sequences stay locked until the transaction ends: no gaps). Returns
    the numbers and the ids in the order they were numbered."""
    conn = tx.conn
    heads: dict[int, _Numbered] = {}
    for chunk in in_chunks(ids):
        query = select(*_NUMBERED_COLUMNS).where(values_in(conn, invoices.c.id, chunk))
        heads.update((r[0], _Numbered._make(r)) for r in conn.execute(query))
    missing = [i for i in ids if i not in heads]
    if missing:
        raise NotFound(f"no draft invoice with id {missing[0]}")
    not_draft = [heads[i] for i in ids if heads[i].status != "draft"]
    if not_draft:
        raise Conflict(
            f"invoice {not_draft[0].number} is already {not_draft[0].status}; "
            "issued documents never change"
        )
    sellers = {e: load_seller(conn, e) for e in {h.entity_id for h in heads.values()}}
    for entity_id, seller in sellers.items():
        ensure_open(
            tx,
            entity_id,
            seller.code,
            sorted({h.issue_date for h in heads.values() if h.entity_id == entity_id}),
        )
    wanted: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    order = [i for chunk in batches for i in _by_date(chunk, heads)]
    for iid in order:
        h = heads[iid]
        fy = fiscal_year(h.issue_date, sellers[h.entity_id].fiscal_year_start_month)
        wanted[(h.entity_id, h.series, fy)].append(iid)
    result: dict[int, str] = {}
    for (entity_id, series, fy), group in sorted(wanted.items()):
        last = _reserve(conn, entity_id, series, fy, len(group))
        for offset, iid in enumerate(group, start=1):
            result[iid] = f"{series}-{fy}-{last + offset:06d}"
    return result, order


def _by_date(ids: list[int], heads: Mapping[int, _Numbered | _Head]) -> list[int]:
    """A batch's documents in the order they are numbered and written."""
    return sorted(ids, key=lambda i: (heads[i].issue_date, i))


@dataclass(slots=True)
class IssuePlan:
    """One batch of documents to issue as computed with reads only (``plan_batch``), in the
    order they are numbered: their journal entries (``None``: a document of zero that posts
    nothing), frozen parties ``(invoice id, seller JSON, buyer JSON)`` and audit images.
    A plan is ``complete`` unless it met what its reader could not see: documents or credited
    invoices of the writer's transaction, or tax accounts it has not created yet (``missing``)."""

    ordered: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    entries: list[MinorEntry | None] = field(default_factory=list)
    parties: list[tuple[int, str, str]] = field(default_factory=list)
    audits: list[tuple[str, CanonicalJson]] = field(default_factory=list)  # doc type, image
    complete: bool = True
    missing: set[tuple[str, str]] = field(default_factory=set)


def _plan_here(
    tx: Tx, here: Tx, chunk: list[int], numbers: dict[int, str], created: dict[str, int]
) -> IssuePlan:
    """A batch planned on the writer's connection, which sees its own transaction (when no
    planner planned it, or one could not). The tax accounts the batch needs for the first time
    are created first, and named in ``created`` to the planners given a batch from then on."""
    task = (chunk, {i: numbers[i] for i in chunk}, created)
    plan = plan_batch(here, *task)
    if plan.missing:
        codes = ensure_tax_accounts(tx, plan.missing)
        created.update(lookups.account_ids(here, codes.values()))
        plan = plan_batch(here, *task)
    if not plan.complete:  # pragma: no cover - the writer's connection sees everything
        raise Conflict(f"documents {chunk[:3]}... could not be planned for issuing")
    return plan


def plan_batch(
    tx: Tx, ids: list[int], numbers: dict[int, str], created: dict[str, int]
) -> IssuePlan:
    """The entries, frozen parties and audit images of the documents ``ids`` numbered
    ``numbers``; reads only. ``created``: the ids of accounts the writer's transaction created
    (a planner does not see them)."""
    with index_lookups(tx.conn):  # a planner's connection too (see store.db.index_lookups)
        return _plan(tx, ids, numbers, created)


def _plan(tx: Tx, ids: list[int], numbers: dict[int, str], created: dict[str, int]) -> IssuePlan:
    conn = tx.conn
    heads = _heads(conn, ids)
    if len(heads) < len(ids) or any(h.status != "draft" for h in heads.values()):
        return IssuePlan(complete=False)  # drafts of a transaction this reader cannot see
    ordered = _by_date(ids, heads)
    party_json: dict[tuple[str, int], str] = tx.cache.setdefault("issue_party_json", {})
    sellers: dict[int, Seller] = tx.cache.setdefault("issue_sellers", {})
    for entity_id in {h.entity_id for h in heads.values()} - sellers.keys():
        seller = sellers[entity_id] = load_seller(conn, entity_id)
        party_json[("seller", entity_id)] = json.dumps(party_to_json(seller.party))
    cust_numbers: dict[int, str] = tx.cache.setdefault("issue_customers", {})
    new_customers = {h.customer_id for h in heads.values()} - cust_numbers.keys()
    if new_customers:
        cust_numbers.update(
            conn.execute(  # type: ignore[arg-type]
                select(customers.c.id, customers.c.number).where(
                    values_in(conn, customers.c.id, new_customers)
                )
            ).all()
        )
        for buyer in load_buyers(conn, [cust_numbers[c] for c in new_customers]).values():
            party_json[("buyer", buyer.id)] = json.dumps(party_to_json(buyer.party))
    deferred_account = lookups.account_by_role(tx, "deferred_revenue")[1]
    lines, taxes = _load_lines(conn, ids, deferred_account)
    credit_notes = [i for i in ids if heads[i].doc_type == "credit_note"]
    for iid, moves in _served_credits(conn, credit_notes, deferred_account).items():
        lines[iid] += moves
    tax_accounts = {
        k: tax_account_code(*k)
        for k in {(j, r) for rows in taxes.values() for j, r, t in rows if t}
    }
    known = lookups.existing_account_ids(tx, tax_accounts.values(), created=created)
    missing = {k for k, code in tax_accounts.items() if code not in known}
    if missing:
        return IssuePlan(complete=False, missing=missing)
    ar_account_id = lookups.account_by_role(tx, "ar_control")[0]
    accounts_by_code = lookups.account_ids(
        tx,
        {code for rows in lines.values() for code, _ in rows} | set(tax_accounts.values()),
    )
    credited = {h.corrects_id for h in heads.values() if h.corrects_id}
    corrected = _numbers_of(conn, credited)
    if any(corrected.get(i) is None for i in credited):
        return IssuePlan(complete=False)  # an invoice issued by the writer's transaction
    snapshots = _SellerSnapshots(party_json, sellers)
    plan = IssuePlan(ordered)
    for iid in ordered:
        h = heads[iid]
        number = numbers[iid]
        customer = cust_numbers[h.customer_id]
        if h.doc_type == "credit_note":  # posted against the invoice it credits
            assert h.corrects_id is not None  # drafts of credit notes always name it
            sign, item_type, item_ref = -1, "invoice", corrected[h.corrects_id]
        else:
            sign, item_type, item_ref = 1, h.doc_type, number
        plan.numbers.append(number)
        plan.entries.append(
            build_entry(
                h,
                number,
                customer,
                lines[iid],
                taxes[iid],
                tax_accounts,
                accounts_by_code,
                sign,
                item_type,
                item_ref,
                ar_account_id,
            )
        )
        plan.audits.append((h.doc_type, issue_image(h, customer)))
    plan.parties = [
        (iid, snapshots.of(heads[iid], numbers[iid]), party_json[("buyer", heads[iid].customer_id)])
        for iid in sorted(ordered)
    ]
    return plan


def write_batch(tx: Tx, plan: IssuePlan) -> None:
    """Store a planned batch: the journal entries, each document's number, status and entry,
    its frozen parties (``invoice_parties``, in id order: appended at the table's end), the
    revenue schedules of deferred lines, and an audit row per document."""
    conn = tx.conn
    ar_account_id = lookups.account_by_role(tx, "ar_control")[0]

    def freeze(entry_ids: Sequence[int]) -> None:
        next_entry = iter(entry_ids).__next__
        now = driver_form(conn, invoices, "issued_at")(tx.now)  # the rest are ints and text
        update_tuples(
            conn,
            invoices,
            "id",
            ISSUED_COLUMNS,
            [
                (iid, "issued", number, now, next_entry() if entry is not None else None)
                for iid, number, entry in zip(plan.ordered, plan.numbers, plan.entries, strict=True)
            ],
            ready=True,
        )
        insert_tuples(conn, invoice_parties, PARTY_COLUMNS, plan.parties, ready=True)

    postable = [e for e in plan.entries if e is not None]
    if postable:
        post_minor_entries(tx, postable, ar_account_id, before_postings=freeze)
    else:
        freeze([])
    schedule_deferred(tx, plan.ordered)
    for number, (doc_type, image) in zip(plan.numbers, plan.audits, strict=True):
        tx.audit("issue", doc_type, number, after=image)
    tx.flush_audit()  # a long call's audit rows do not wait in memory for the commit


def issue_image(h: _Head, customer: str) -> CanonicalJson:
    """The audit row's image of an issued document, as canonical JSON (``audit.to_json`` of
    ``{customer, issue_date, currency, total, tax, fx_rate}``), formatted directly."""
    cur = h.currency
    exp = _exponent(cur)
    total = f"{Decimal(h.total_minor).scaleb(-exp)} {cur}"
    tax = f"{Decimal(h.tax_minor).scaleb(-exp)} {cur}"
    return CanonicalJson(
        f'{{"currency":{encode_basestring(cur)},"customer":{encode_basestring(customer)},'
        f'"fx_rate":{encode_basestring(h.fx_rate)},"issue_date":"{h.issue_date.isoformat()}",'
        f'"tax":{encode_basestring(tax)},"total":{encode_basestring(total)}}}'
    )


@cache
def _exponent(currency: str) -> int:
    return Currency.of(currency).exponent


class _SellerSnapshots:
    """The seller as printed on each document: its party and the bank details to pay into,
    which differ between documents only by the payment reference (the document's number). So
    the JSON is made once per entity and currency, and each document's number goes into it."""

    MARK = "\x00reference\x00"

    def __init__(self, party_json: dict[tuple[str, int], str], sellers: dict[int, Seller]):
        self.party_json, self.sellers = party_json, sellers
        self.parts: dict[tuple[int, str], tuple[str, str] | str] = {}

    def of(self, h: Any, number: str) -> str:
        key = (h.entity_id, h.currency)
        parts = self.parts.get(key)
        if parts is None:
            parts = self.parts[key] = self._parts(*key)
        if isinstance(parts, str):
            return parts
        return parts[0] + encode_basestring_ascii(number) + parts[1]

    def _parts(self, entity_id: int, currency: str) -> tuple[str, str] | str:
        payment = self.sellers[entity_id].payment_for(currency, self.MARK)
        head = f'{{"party": {self.party_json[("seller", entity_id)]}, "payment": '
        if payment is None:
            return head + "null}"
        pay = json.dumps(
            {
                "iban": payment.iban,
                "bic": payment.bic,
                "bank_name": payment.bank_name,
                "account_name": payment.account_name,
                "reference": payment.reference,
                "means_code": payment.means_code,
            }
        )
        before, after = pay.split(json.dumps(self.MARK))
        return head + before, after + "}"


def fiscal_year(day: date, start_month: int) -> int:
    """Fiscal years are named by the calendar year they start in."""
    return day.year if day.month >= start_month else day.year - 1


def _reserve(conn: Connection, entity_id: int, series: str, fy: int, count: int) -> int:
    """Take ``count`` numbers from the sequence, locked until the transaction ends: no gaps."""
    key = {"entity_id": entity_id, "series": series, "fiscal_year": fy}
    ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(number_sequences)
    conn.execute(ins.values(**key, last_number=0).on_conflict_do_nothing())
    where = (
        (number_sequences.c.entity_id == entity_id)
        & (number_sequences.c.series == series)
        & (number_sequences.c.fiscal_year == fy)
    )
    q = select(number_sequences.c.last_number).where(where)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    last = int(conn.execute(q).scalar_one())
    conn.execute(update(number_sequences).where(where).values(last_number=last + count))
    return last


def _load_lines(
    conn: Connection, ids: list[int], deferred_account: str
) -> tuple[dict[int, list[tuple[str, int]]], dict[int, list[tuple[str, str, int]]]]:
    """What the journal entry needs, summed in SQL: ``(account code, net)`` per revenue
    account and ``(jurisdiction, rate, tax)`` per jurisdiction and rate, for each invoice."""
    lines: dict[int, list[tuple[str, int]]] = {i: [] for i in ids}
    taxes: dict[int, list[tuple[str, str, int]]] = {i: [] for i in ids}
    net = func.sum(invoice_lines.c.net_minor).label("net_minor")
    # lines billed in advance are credited to deferred revenue, recognised month by month
    account = case(
        (invoice_lines.c.deferred, deferred_account), else_=invoice_lines.c.revenue_account
    ).label("revenue_account")
    # ids, codes and sums only: read as the driver gives them (driver_rows)
    for invoice_id, code, minor in driver_rows(
        conn,
        select(invoice_lines.c.invoice_id, account, net)
        .where(values_in(conn, invoice_lines.c.invoice_id, ids))
        .group_by(invoice_lines.c.invoice_id, account)
        .order_by(invoice_lines.c.invoice_id, account),
    ):
        lines[invoice_id].append((code, minor))
    t = invoice_line_taxes.c
    for invoice_id, jurisdiction, rate, tax in driver_rows(
        conn,
        select(t.invoice_id, t.jurisdiction, t.rate, func.sum(t.tax_minor).label("tax_minor"))
        .where(values_in(conn, t.invoice_id, ids))
        .group_by(t.invoice_id, t.jurisdiction, t.rate)
        .order_by(t.invoice_id, t.jurisdiction, t.rate),
    ):
        taxes[invoice_id].append((jurisdiction, rate, tax))
    return lines, taxes


def _served_credits(
    conn: Connection, credit_ids: list[int], deferred_account: str
) -> dict[int, list[tuple[str, int]]]:
    """What credit notes take back from revenue already earned: for each credited line billed
    in advance, the months of its service period before the credit's month come off its revenue
    account, not off deferred revenue (which holds only the months still to serve, the same
    split ``revenue.schedule_deferred`` schedules). Moves are ``(account code, amount)``."""
    if not credit_ids:
        return {}
    ln, inv = invoice_lines.c, invoices.c
    moves: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for chunk in in_chunks(credit_ids):
        for r in conn.execute(
            select(
                ln.invoice_id,
                ln.net_minor,
                ln.revenue_account,
                ln.period_start,
                ln.period_end,
                inv.issue_date,
                inv.currency,
            )
            .join(invoices, inv.id == ln.invoice_id)
            .where(ln.invoice_id.in_(chunk), ln.deferred)
        ):
            start = r.period_start or r.issue_date
            served, _ = served_and_unserved(
                Money.from_minor(r.net_minor, r.currency),
                start,
                r.period_end or start,
                r.issue_date,
            )
            if served.minor:
                moves[r.invoice_id] += [
                    (deferred_account, -served.minor),
                    (r.revenue_account, served.minor),
                ]
    return moves


def tax_account_code(jurisdiction: str, rate: str) -> str:
    return f"2200-{jurisdiction}-{rate}"


def ensure_tax_accounts(tx: Tx, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Tax payable accounts per jurisdiction and rate, created under the tax payable account."""
    codes = {k: tax_account_code(*k) for k in keys}
    if not codes:
        return {}
    existing = set(
        tx.conn.execute(
            select(accounts.c.code).where(accounts.c.code.in_(sorted(codes.values())))
        ).scalars()
    )
    parent = lookups.account_by_role(tx, "tax_payable")[1]
    new = [
        {
            "code": code,
            "name": f"Tax payable {j} {r}%",
            "type": "liability",
            "role": None,
            "parent_code": parent,
            "active": True,
        }
        for (j, r), code in sorted(codes.items())
        if code not in existing
    ]
    if new:
        tx.conn.execute(insert(accounts), new)
        for row in new:
            tx.audit("create", "account", row["code"], after=row)
    return codes


def _numbers_of(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    q = select(invoices.c.id, invoices.c.number).where(values_in(conn, invoices.c.id, ids))
    return {i: n for i, n in conn.execute(q)}


def build_entry(
    h: _Head,
    number: str,
    customer: str,
    lines: Sequence[tuple[str, int]],
    taxes: Sequence[tuple[str, str, int]],
    tax_accounts: dict[tuple[str, str], str],
    accounts_by_code: dict[str, int],
    sign: int,
    item_type: str,
    item_ref: str,
    ar_account_id: int,
) -> MinorEntry | None:
    """Dr AR / Cr revenue per account / Cr tax payable per jurisdiction and rate (sign -1: the
    mirror image, for credit notes), in integer minor units. Functional amounts at the
    document's frozen rate; the AR line takes what makes the functional side balance.
    Invoices and debit notes are open items of their own (``item_ref`` is their number); a
    credit note is posted against the invoice it credits, so that invoice's open amount drops
    at once."""
    cur = h.currency
    credits: dict[str, int] = {}
    for code, minor in lines:
        credits[code] = credits.get(code, 0) + minor
    for jurisdiction, rate, tax in taxes:
        if tax:
            code = tax_accounts[(jurisdiction, rate)]
            credits[code] = credits.get(code, 0) + tax
    total = sum(credits.values())
    posting_lines = [MinorLine(ar_account_id, cur, 0, 0)]  # the AR line, set below
    functional_sum = 0
    if cur == h.functional_currency:  # the common case: no conversion
        for account, minor in credits.items():
            if minor:
                amount = -sign * minor
                functional_sum += amount
                posting_lines.append(MinorLine(accounts_by_code[account], cur, amount, amount))
    else:
        fx, mode, fcur = Decimal(h.fx_rate), Rounding(h.rounding), h.functional_currency
        unit = Money.from_minor(1, cur).amount
        for account, minor in credits.items():
            if minor:
                amount = -sign * minor
                functional = Money.rounded(unit * amount * fx, fcur, mode).minor
                functional_sum += functional
                posting_lines.append(MinorLine(accounts_by_code[account], cur, amount, functional))
    if total == 0 and len(posting_lines) == 1:
        return None
    posting_lines[0] = MinorLine(
        ar_account_id, cur, sign * total, -functional_sum, h.customer_id, item_type, item_ref
    )
    return MinorEntry(
        h.entity_id,
        h.issue_date,
        f"{KIND[h.doc_type]} {number} {customer}",
        h.doc_type,
        number,
        tuple(posting_lines),
    )
