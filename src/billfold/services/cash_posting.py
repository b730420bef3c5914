"""Posting cash applications: one balanced journal entry and N application rows per receipt.

An application moves money from unapplied cash to the customer's open items:

    Dr unapplied cash            cash used, at the receipt's exchange rate
    Cr AR (customer, invoice)    paid + discount + write-off, at the invoice's exchange rate
    Dr discounts allowed         early-payment discount taken
    Dr short-payment write-off   short payment within tolerance
    Cr AR (customer, on account) overpayment kept as a credit
    Dr/Cr realized FX loss/gain  the functional-currency difference of the two rates

A batch of receipts is posted with a handful of statements whatever its size: the entries through
``ledger.post_minor_entries`` (balanced per currency and in functional currency, AR lines name
their customer, periods open: the ledger checks it all again), the application rows and the
receipts' new state in bulk, one audit event per receipt. Amounts stay integer minor units; an
amount is converted to the functional currency with Decimal only when the rate is not 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from billfold.domain.matching import Proposal
from billfold.errors import Conflict
from billfold.money import Currency, Money, Rounding
from billfold.services import lookups
from billfold.services.context import Tx
from billfold.services.ledger import MinorEntry, MinorLine, post_minor_entries
from billfold.store.bulk import bulk_update, insert_rows
from billfold.store.tables import cash_applications, customers, payer_accounts, receipts

ROLES = ("ar_control", "unapplied_cash", "discounts_allowed", "write_off", "fx_gain", "fx_loss")


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What posting an application needs about an open item beyond the matcher's view."""

    entity_id: int
    fx_rate: Decimal
    open_minor: int
    open_functional: int


@cache
def decimal_rate(text: str) -> Decimal:
    """Exchange rates are stored as text; a run sees a few distinct ones many times."""
    return Decimal(text)


@cache
def converter(
    currency: str, functional: str, rate: Decimal, mode: Rounding
) -> Callable[[int], int]:
    """Minor units of ``currency`` -> minor units of ``functional`` at ``rate``, rounded with
    ``mode`` to the functional currency's minor unit (exactly what ``Money.rounded`` gives)."""
    cur, fcur = Currency.of(currency), Currency.of(functional)
    if rate == 1 and cur.exponent == fcur.exponent:
        return int
    quantum, decimal_mode = fcur.quantum, mode.decimal_mode

    def convert(minor: int) -> int:
        amount = (Decimal(minor).scaleb(-cur.exponent) * rate).quantize(
            quantum, rounding=decimal_mode
        )
        return int(amount.scaleb(fcur.exponent))

    return convert


@dataclass(frozen=True, slots=True)
class _Books:
    """The accounts an application posts to, and each entity's functional currency."""

    accounts: dict[str, int]
    entities: dict[int, lookups.EntityRow]


def _books(tx: Tx, entity_ids: Iterable[int]) -> _Books:
    found = {role: lookups.account_by_role(tx, role) for role in ROLES}
    lookups.account_ids(tx, [code for _, code in found.values()])  # refuses inactive accounts
    entities: dict[int, lookups.EntityRow] = tx.cache.setdefault("entities_by_id", {})
    for i in entity_ids:
        if i not in entities:
            entities[i] = lookups.entity_by_id(tx.conn, i)
    return _Books({role: id_ for role, (id_, _) in found.items()}, entities)


def post_applications(
    tx: Tx,
    batch: Sequence[tuple[Any, Proposal]],
    facts: dict[tuple[int, str], ItemFacts],
    *,
    automatic: bool,
) -> list[int]:
    """Post the proposals for these receipts: one journal entry and N application rows each.
    ``facts`` is kept current, so a later receipt sees what an earlier one left open."""
    if not batch:
        return []
    books = _books(tx, {r.entity_id for r, _ in batch})
    entries: list[MinorEntry] = []
    app_rows: list[list[dict[str, Any]]] = []
    receipt_updates: list[dict[str, Any]] = []
    learned: list[tuple[str, int, date]] = []
    for r, proposal in batch:
        ent = books.entities[r.entity_id]
        lines, rows = application_lines(tx, r, proposal, facts, books.accounts, ent)
        entry_date = max(r.value_date, tx.today) if not automatic else r.value_date
        entries.append(
            MinorEntry(
                r.entity_id,
                entry_date,
                f"Cash application receipt {r.id}: {proposal.reason}"[:400],
                "cash_application",
                str(r.id),
                tuple(lines),
            )
        )
        common = {
            "receipt_id": r.id,
            "entity_id": r.entity_id,
            "automatic": automatic,
            "confidence": proposal.confidence,
            "reason": proposal.reason[:400],
            "applied_on": entry_date,
            "created_at": tx.now,
            "actor": tx.actor,
            "reverses_id": None,
        }
        app_rows.append([{**row, **common} for row in rows])
        applied = r.applied_minor + proposal.cash_minor
        receipt_updates.append(
            {
                "id": r.id,
                "applied_minor": applied,
                "status": "applied" if applied == r.amount_minor else "partially_applied",
                "customer_id": proposal.customer_id,
            }
        )
        if r.payer_account and proposal.customer_id is not None:
            learned.append((r.payer_account, proposal.customer_id, r.value_date))
    entry_ids = post_minor_entries(tx, entries, books.accounts["ar_control"])
    flat = []
    for entry_id, rows in zip(entry_ids, app_rows, strict=True):
        for row in rows:
            row["entry_id"] = entry_id
            flat.append(row)
    ids = insert_rows(tx.conn, cash_applications, flat)
    # the CHECK constraint refuses an applied amount above the receipt's, whatever the code did
    bulk_update(tx.conn, receipts, "id", receipt_updates)
    learn_accounts(tx.conn, learned)
    action = "auto_apply" if automatic else "apply"
    for (r, proposal), entry_id in zip(batch, entry_ids, strict=True):
        tx.audit(
            action,
            "receipt",
            r.id,
            after={
                "entry": entry_id,
                "confidence": proposal.confidence,
                "reason": proposal.reason,
                "allocations": [[a.kind, a.item_ref, a.amount_minor] for a in proposal.allocations],
            },
        )
    return ids


def application_lines(
    tx: Tx,
    r: Any,
    proposal: Proposal,
    facts: dict[tuple[int, str], ItemFacts],
    accounts: dict[str, int],
    ent: lookups.EntityRow,
) -> tuple[list[MinorLine], list[dict[str, Any]]]:
    """Posting lines (minor units) and application rows for one receipt."""
    cur, fcur, mode = r.currency, ent.functional_currency, ent.rounding
    ar = accounts["ar_control"]
    at_receipt = converter(cur, fcur, decimal_rate(r.fx_rate), mode)
    lines: list[MinorLine] = []
    rows: list[dict[str, Any]] = []
    for a in proposal.allocations:
        minor, cid = a.amount_minor, a.customer_id
        if a.kind == "on_account":
            f = at_receipt(minor)
            ref = f"RCPT-{r.id}"
            lines.append(MinorLine(ar, cur, -minor, -f, cid, "on_account", ref))
            rows.append(
                {
                    "kind": "on_account",
                    "customer_id": cid,
                    "item_type": "on_account",
                    "item_ref": ref,
                    "amount_minor": minor,
                    "functional_minor": f,
                }
            )
            continue
        assert a.item_ref is not None
        key = (cid, a.item_ref)
        fact = facts.get(key)
        if fact is None or minor > fact.open_minor:
            _not_open(tx.conn, a.item_ref, cid, minor, fact, cur)
        assert fact is not None
        # AR is relieved at the invoice's rate; the last cents of an item take what is left
        f = (
            fact.open_functional
            if minor == fact.open_minor
            else converter(cur, fcur, fact.fx_rate, mode)(minor)
        )
        facts[key] = ItemFacts(
            fact.entity_id, fact.fx_rate, fact.open_minor - minor, fact.open_functional - f
        )
        lines.append(MinorLine(ar, cur, -minor, -f, cid, "invoice", a.item_ref))
        if a.kind in ("discount", "write_off"):
            account = accounts["discounts_allowed" if a.kind == "discount" else "write_off"]
            lines.append(MinorLine(account, cur, minor, f))
        rows.append(
            {
                "kind": a.kind,
                "customer_id": cid,
                "item_type": "invoice",
                "item_ref": a.item_ref,
                "amount_minor": minor,
                "functional_minor": f,
            }
        )
    cash = proposal.cash_minor
    if cash:
        receipt_f = r.functional_minor if cash == r.amount_minor else at_receipt(cash)
        lines.insert(0, MinorLine(accounts["unapplied_cash"], cur, cash, receipt_f))
    diff = -sum(ln.functional_minor for ln in lines)
    if diff:
        account = accounts["fx_gain"] if diff < 0 else accounts["fx_loss"]
        lines.append(MinorLine(account, cur, 0, diff, memo="realized FX difference"))
    return lines, rows


def _not_open(
    conn: Connection, ref: str, customer_id: int, minor: int, fact: ItemFacts | None, cur: str
) -> None:
    number = conn.execute(
        select(customers.c.number).where(customers.c.id == customer_id)
    ).scalar_one_or_none()
    raise Conflict(
        f"{ref} of customer {number} is not open for {Money.from_minor(minor, cur)} "
        f"(open: {Money.from_minor(fact.open_minor, cur) if fact else 0})"
    )


# PostgreSQL: the accounts as four arrays, one statement however many there are
_LEARN_PG = text(
    "INSERT INTO payer_accounts AS p (account, customer_id, confirmed, last_seen) "
    "SELECT * FROM unnest(CAST(:account AS varchar[]), CAST(:customer_id AS bigint[]), "
    "CAST(:confirmed AS integer[]), CAST(:last_seen AS date[])) "
    "ON CONFLICT (account) DO UPDATE SET customer_id = excluded.customer_id, "
    "last_seen = excluded.last_seen, confirmed = p.confirmed + excluded.confirmed"
)


def learn_accounts(conn: Connection, learned: Iterable[tuple[str, int, date]]) -> None:
    """Confirmed matches teach the payer's account to the customer (the latest one wins);
    ``confirmed`` counts the matches, however they were batched. One upsert for all the
    accounts: on PostgreSQL of four arrays (not a VALUES list per chunk of accounts, which
    SQLAlchemy compiled anew every time, four parameters a row: 1 s of 20,000 receipts'
    client time), on SQLite executed for each account by the driver."""
    latest: dict[str, tuple[int, date]] = {}
    count: dict[str, int] = defaultdict(int)
    for account, cid, day in learned:
        key = "".join(ch for ch in account.upper() if ch.isalnum())
        latest[key] = (cid, day)
        count[key] += 1
    if not latest:
        return
    accounts = sorted(latest)
    if conn.dialect.name == "postgresql":
        conn.execute(
            _LEARN_PG,
            {
                "account": accounts,
                "customer_id": [latest[a][0] for a in accounts],
                "confirmed": [count[a] for a in accounts],
                "last_seen": [latest[a][1] for a in accounts],
            },
        )
        return
    upsert = sqlite_insert(payer_accounts)
    stmt = upsert.on_conflict_do_update(
        index_elements=[payer_accounts.c.account],
        set_={
            "customer_id": upsert.excluded.customer_id,
            "last_seen": upsert.excluded.last_seen,
            "confirmed": payer_accounts.c.confirmed + upsert.excluded.confirmed,
        },
    )
    conn.execute(
        stmt,
        [
            {
                "account": a,
                "customer_id": latest[a][0],
                "confirmed": count[a],
                "last_seen": latest[a][1],
            }
            for a in accounts
        ],
    )
