from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from billfold.services.context import Billfold
from billfold.store.audit import verify_chain

from .helpers import load_customers

pytestmark = pytest.mark.integration


def tamper(bf: Billfold, sql: str) -> None:
    """What a DBA with full rights could do: lift the append-only trigger and edit."""
    with bf.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text(sql))


def verify(bf: Billfold) -> tuple[bool, str | None]:
    with bf.reading() as conn:
        report = verify_chain(conn)
    return report.ok, report.problem


def test_intact_chain_verifies(bf: Billfold) -> None:
    load_customers(bf)
    assert verify(bf) == (True, None)


def test_changed_row_is_named(bf: Billfold) -> None:
    load_customers(bf)
    tamper(bf, "UPDATE audit_log SET actor = 'mallory' WHERE id = 5")
    ok, problem = verify(bf)
    assert not ok and problem is not None and problem.startswith("row 5 was changed")


def test_deleted_row_is_named(bf: Billfold) -> None:
    load_customers(bf)
    tamper(bf, "DELETE FROM audit_log WHERE id = 7")
    assert verify(bf) == (False, "row 7 was deleted (the next row is 8)")


def test_rows_cut_off_the_end_are_noticed(bf: Billfold) -> None:
    load_customers(bf)
    with bf.reading() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
    tamper(bf, f"DELETE FROM audit_log WHERE id >= {last - 1}")
    assert verify(bf) == (False, f"rows {last - 1} to {last} were deleted from the end of the log")


def test_inserted_row_is_named(bf: Billfold) -> None:
    load_customers(bf)
    with bf.reading() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
    tamper(
        bf,
        "INSERT INTO audit_log (id, at, actor, action, entity_type, entity_ref, prev_hash, "
        f"hash) VALUES ({last + 1}, 'now', 'mallory', 'create', 'customer', 'C9', 'x', 'y')",
    )
    ok, problem = verify(bf)
    assert not ok and problem == (
        f"row {last + 1} was inserted behind Billfold's back (the log ends at row {last})"
    )


def _post_invoice(bf: Billfold, ref: str, amount: str) -> None:
    from billfold.domain.ledger import EntryDraft
    from billfold.services import ledger

    from .helpers import line

    with bf.transaction() as tx:
        ledger.post_entry(
            tx,
            EntryDraft(
                "ACME-DE",
                date(2026, 10, 1),
                ref,
                (line("1100", amount, "C1", ref), line("4000", f"-{amount}")),
            ),
        )


def test_kept_ar_balances_agree_and_an_edit_behind_them_is_named(bf: Billfold) -> None:
    from billfold.store.ar_balances import differences as ar_balance_differences

    load_customers(bf)
    _post_invoice(bf, "INV-A", "120.00")
    _post_invoice(bf, "INV-B", "80.50")
    with bf.reading() as conn:
        assert ar_balance_differences(conn) == []
        kept = conn.execute(
            text("SELECT item_ref, open_minor FROM ar_items ORDER BY item_ref")
        ).all()
    assert [tuple(r) for r in kept] == [("INV-A", 12000), ("INV-B", 8050)]
    with bf.engine.begin() as conn:
        conn.execute(text("UPDATE ar_items SET open_minor = 1 WHERE item_ref = 'INV-B'"))
        conn.execute(text("DELETE FROM ar_daily"))
    with bf.reading() as conn:
        problems = ar_balance_differences(conn)
    assert any("INV-B, 8050" in p and "is in the postings, not in ar_items" in p for p in problems)
    assert any("INV-B, 1" in p and "is in ar_items, not in the postings" in p for p in problems)
    assert any(p.startswith("AR day") and "not in ar_daily" in p for p in problems)


def test_migration_0007_backfills_the_ar_balances_of_an_existing_ledger(bf: Billfold) -> None:
    """A database that had postings before the AR balances existed gets them filled exactly:
    taken down to 0006 (which drops them, and their triggers) and up again."""
    from alembic import command

    from billfold.reports.aging import aging_as_of
    from billfold.store import migrate
    from billfold.store.ar_balances import differences as ar_balance_differences

    load_customers(bf)
    _post_invoice(bf, "INV-A", "120.00")
    _post_invoice(bf, "INV-B", "80.50")
    with bf.reading() as conn:
        before = aging_as_of(conn, date(2026, 10, 31))
    cfg = migrate._config()
    with bf.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    migrate.upgrade(bf.engine)
    with bf.reading() as conn:
        assert ar_balance_differences(conn) == []
        after = aging_as_of(conn, date(2026, 10, 31))
    assert after.rows == before.rows and after.reconciled
    _post_invoice(bf, "INV-C", "1.00")  # and they are kept again from there on
    with bf.reading() as conn:
        assert ar_balance_differences(conn) == []
        assert sum(r.total for r in aging_as_of(conn, date(2026, 10, 31)).rows) == Decimal("201.50")


def test_customer_balances_count_items_that_open_and_close_and_an_edit_is_named(
    bf: Billfold,
) -> None:
    """``ar_customer_balances`` moves with every posting (an item paid in full leaves the count,
    a reversal of the payment brings it back), and ``differences`` names an edit behind it."""
    from billfold.domain.ledger import EntryDraft
    from billfold.services import ledger
    from billfold.store.ar_balances import differences as ar_balance_differences

    from .helpers import line

    def kept() -> list[tuple[object, ...]]:
        with bf.reading() as conn:
            rows = conn.execute(
                text(
                    "SELECT currency, open_minor, fopen_minor, open_items FROM ar_customer_balances"
                )
            ).all()
            assert ar_balance_differences(conn) == []
        return [tuple(r) for r in rows]

    load_customers(bf)
    _post_invoice(bf, "INV-A", "120.00")
    _post_invoice(bf, "INV-B", "80.50")
    assert kept() == [("EUR", 20050, 20050, 2)]
    with bf.transaction() as tx:
        paid = ledger.post_entry(
            tx,
            EntryDraft(
                "ACME-DE",
                date(2026, 10, 5),
                "pay A",
                (line("1010", "120.00"), line("1100", "-120.00", "C1", "INV-A")),
            ),
        )
    assert kept() == [("EUR", 8050, 8050, 1)]
    with bf.transaction() as tx:
        ledger.reverse_entry(tx, paid, date(2026, 10, 6))
    assert kept() == [("EUR", 20050, 20050, 2)]
    with bf.engine.begin() as conn:
        conn.execute(text("UPDATE ar_customer_balances SET open_items = 5"))
    with bf.reading() as conn:
        problems = ar_balance_differences(conn)
    assert any(p.startswith("AR customer") and "not in ar_customer_balances" in p for p in problems)
    assert any(
        "20050, 20050, 5) is in ar_customer_balances, not in the postings" in p for p in problems
    )


def test_migration_0010_backfills_the_customer_balances_of_an_existing_ledger(
    bf: Billfold,
) -> None:
    """Taken down to 0009 (which drops the table and restores 0007's trigger) and up again: the
    customer balances are filled exactly from the items and kept from there on."""
    from alembic import command

    from billfold.reports.aging import aging_as_of
    from billfold.store import migrate
    from billfold.store.ar_balances import differences as ar_balance_differences

    load_customers(bf)
    _post_invoice(bf, "INV-A", "120.00")
    _post_invoice(bf, "INV-B", "50.00")
    with bf.reading() as conn:
        before = aging_as_of(conn, date(2026, 10, 31))
    cfg = migrate._config()
    with bf.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    migrate.upgrade(bf.engine)
    _post_invoice(bf, "INV-C", "1.00")
    with bf.reading() as conn:
        assert ar_balance_differences(conn) == []
        after = aging_as_of(conn, date(2026, 10, 31))
        rows = conn.execute(text("SELECT open_minor, open_items FROM ar_customer_balances")).all()
    assert [tuple(r) for r in rows] == [(12000 + 5000 + 100, 3)]
    assert before.rows[0].items == 2 and after.rows[0].items == 3 and after.reconciled
