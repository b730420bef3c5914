from datetime import date

import pytest
from sqlalchemy import text

from billfold.domain.ledger import EntryDraft
from billfold.errors import (
    ClosedPeriod,
    Conflict,
    ImmutableRecord,
    InvalidInput,
    NotFound,
    UnbalancedEntry,
)
from billfold.services import ledger
from billfold.services.context import Billfold

from .helpers import eur, line, load_customers, row_counts, sale

pytestmark = pytest.mark.integration


def test_posting_and_trial_balance(bf: Billfold) -> None:
    load_customers(bf)
    with bf.transaction() as tx:
        ids = ledger.post_entries(tx, [sale("C1", "INV-1", "100.00"), sale("C2", "INV-2", "50.50")])
    assert len(ids) == 2
    with bf.reading() as conn:
        tb = {r.code: (r.debit, r.credit) for r in ledger.trial_balance(conn, date(2026, 11, 30))}
        assert tb["1100"] == (eur("150.50").amount, 0)
        assert tb["4000"] == (0, eur("150.50").amount)
        # as of a date before the postings, nothing
        assert ledger.trial_balance(conn, date(2026, 11, 1)) == []
        items = ledger.ar_open_items(conn, date(2026, 11, 30))
        assert [(i.customer, i.item_ref, str(i.amount)) for i in items] == [
            ("C1", "INV-1", "100.00 EUR"),
            ("C2", "INV-2", "50.50 EUR"),
        ]


def test_unbalanced_entry_is_refused_and_nothing_is_written(bf: Billfold) -> None:
    load_customers(bf)
    before = row_counts(bf)
    bad = EntryDraft(
        "ACME-DE",
        date(2026, 11, 3),
        "typo",
        (line("1100", "100.00", "C1", "INV-9"), line("4000", "-10.00")),
    )
    with pytest.raises(UnbalancedEntry, match="EUR off by 90.00"), bf.transaction() as tx:
        ledger.post_entries(tx, [sale("C1", "INV-8", "5.00"), bad])
    assert row_counts(bf) == before


def test_posting_into_a_closed_period_is_refused(bf: Billfold) -> None:
    load_customers(bf)
    with bf.transaction() as tx:
        ledger.set_period_status(tx, "ACME-DE", "2026-10", "closed")
    before = row_counts(bf)
    with (
        pytest.raises(ClosedPeriod, match="period 2026-10 of ACME-DE is closed"),
        bf.transaction() as tx,
    ):
        ledger.post_entry(tx, sale("C1", "INV-1", "10.00", date(2026, 10, 31)))
    assert row_counts(bf) == before
    with bf.transaction() as tx:  # November is open
        ledger.post_entry(tx, sale("C1", "INV-1", "10.00", date(2026, 11, 1)))
        ledger.set_period_status(tx, "ACME-DE", "2026-10", "open")
        ledger.post_entry(tx, sale("C1", "INV-2", "10.00", date(2026, 10, 31)))


def test_ar_control_lines_must_name_a_customer(bf: Billfold) -> None:
    bad = EntryDraft(
        "ACME-DE", date(2026, 11, 3), "no customer", (line("1100", "1.00"), line("4000", "-1.00"))
    )
    with pytest.raises(InvalidInput, match="must name the customer"), bf.transaction() as tx:
        ledger.post_entry(tx, bad)


def test_unknown_account_and_customer(bf: Billfold) -> None:
    bad = EntryDraft(
        "ACME-DE", date(2026, 11, 3), "x", (line("1101", "1.00"), line("4000", "-1.00"))
    )
    with pytest.raises(NotFound, match="unknown account"), bf.transaction() as tx:
        ledger.post_entry(tx, bad)
    with pytest.raises(NotFound, match="unknown customer"), bf.transaction() as tx:
        ledger.post_entry(tx, sale("NOPE", "INV-1", "1.00"))


def test_posted_entries_are_immutable_in_the_database(bf: Billfold) -> None:
    load_customers(bf)
    with bf.transaction() as tx:
        entry_id = ledger.post_entry(tx, sale("C1", "INV-1", "10.00"))
    for sql in (
        f"UPDATE postings SET amount_minor = 1 WHERE entry_id = {entry_id}",
        f"DELETE FROM postings WHERE entry_id = {entry_id}",
        f"UPDATE journal_entries SET description = 'x' WHERE id = {entry_id}",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(ImmutableRecord, match="append-only"), bf.transaction() as tx:
            tx.conn.execute(text(sql))


def test_a_posting_belongs_to_its_entrys_entity_and_date_in_the_database(bf: Billfold) -> None:
    """A posting copies its entry's entity and date; the database refuses one that differs
    (migration 0016's foreign key), however it is written."""
    load_customers(bf)
    with bf.transaction() as tx:
        entry_id = ledger.post_entry(tx, sale("C1", "INV-1", "10.00"))
    with bf.reading() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE code = '4000'")).scalar()
        entity_id, day = conn.execute(
            text(f"SELECT entity_id, entry_date FROM journal_entries WHERE id = {entry_id}")
        ).one()
    insert = text(
        "INSERT INTO postings (entry_id, line_no, entity_id, entry_date, account_id, currency, "
        "amount_minor, functional_minor) VALUES (:entry, 9, :entity, :day, :account, 'EUR', 0, 0)"
    )
    other_day = date(2026, 11, 3) if str(day) != "2026-11-03" else date(2026, 11, 4)
    for entity, when in ((entity_id, other_day), (entity_id + 1000, day)):
        with pytest.raises(Conflict, match="(?i)foreign key"), bf.transaction() as tx:
            tx.conn.execute(
                insert, {"entry": entry_id, "entity": entity, "day": when, "account": account_id}
            )
    with bf.transaction() as tx:  # the entry's own entity and date are accepted
        tx.conn.execute(
            insert, {"entry": entry_id, "entity": entity_id, "day": day, "account": account_id}
        )


def test_reversal_is_the_only_correction(bf: Billfold) -> None:
    load_customers(bf)
    with bf.transaction() as tx:
        entry_id = ledger.post_entry(tx, sale("C1", "INV-1", "10.00"))
        rev = ledger.reverse_entry(tx, entry_id, date(2026, 11, 5), "wrong customer")
    with bf.reading() as conn:
        assert ledger.ar_open_items(conn, date(2026, 11, 30)) == []
        assert ledger.ar_open_items(conn, date(2026, 11, 4))[0].item_ref == "INV-1"
        reversal = ledger.load_entry(conn, rev)
    assert reversal.reverses_id == entry_id
    assert "wrong customer" in reversal.description
    with pytest.raises(Conflict, match="already reversed"), bf.transaction() as tx:
        ledger.reverse_entry(tx, entry_id)
    with pytest.raises(Conflict, match="itself a reversal"), bf.transaction() as tx:
        ledger.reverse_entry(tx, rev)


def test_foreign_currency_postings_carry_both_amounts(bf: Billfold) -> None:
    load_customers(bf)
    draft = EntryDraft(
        "ACME-DE",
        date(2026, 11, 2),
        "USD sale",
        (
            line("1100", "110.00", "C1", "INV-USD", "USD", "100.00"),
            line("4000", "-110.00", None, None, "USD", "-100.00"),
        ),
    )
    with bf.transaction() as tx:
        entry_id = ledger.post_entry(tx, draft)
    with bf.reading() as conn:
        loaded = ledger.load_entry(conn, entry_id)
        assert str(loaded.lines[0].amount) == "110.00 USD"
        assert str(loaded.lines[0].functional) == "100.00 EUR"
        assert str(ledger.gl_control_balance(conn, date(2026, 11, 30))["ACME-DE"]) == "100.00 EUR"


def test_accounts_import_is_idempotent_and_moves_roles(bf: Billfold) -> None:
    specs = ledger.parse_accounts_csv(
        b"code,name,type,role\n4010,Revenue - licences,revenue,\n"
        b"1105,AR - trade,asset,ar_control\n",
        "coa.csv",
    )
    with bf.transaction() as tx:
        first = ledger.import_accounts(tx, specs)
    with bf.transaction() as tx:
        second = ledger.import_accounts(tx, specs)
    assert (first.created, second.created, second.unchanged) == (2, 0, 2)
    with bf.reading() as conn:
        assert ledger.lookups.account_by_role(conn, "ar_control")[1] == "1105"
