from pathlib import Path

import pytest
from sqlalchemy import select

from billfold.errors import FileRejected
from billfold.services.context import Billfold
from billfold.services.customers import get_customer, import_customers, list_customers
from billfold.store.tables import audit_log

from .helpers import row_counts

pytestmark = pytest.mark.integration
GOOD = Path(__file__).parents[1] / "fixtures" / "customers" / "good.csv"


def run_import(bf: Billfold, data: bytes, name: str = "customers.csv"):  # type: ignore[no-untyped-def]
    with bf.transaction() as tx:
        return import_customers(tx, data, name)


def test_import_creates_customers_with_everything(bf: Billfold) -> None:
    result = run_import(bf, GOOD.read_bytes())
    assert (result.created, result.updated, result.unchanged) == (5, 0, 0)
    with bf.reading() as conn:
        c = get_customer(conn, "C-1002")
        assert c.parent_number == "C-1001"
        assert c.tax_ids[0].number == "FR40303265045"
        assert [r.number for r in list_customers(conn, "pacific")] == ["C-1004"]
        assert get_customer(conn, "C-1005").credit_limit is not None


def test_reimport_of_the_same_file_changes_nothing(bf: Billfold) -> None:
    run_import(bf, GOOD.read_bytes())
    before = row_counts(bf)
    again = run_import(bf, GOOD.read_bytes())
    assert again.already_imported
    assert row_counts(bf) == before
    # the same rows in a different file: recognised row by row, nothing updated
    same_rows = GOOD.read_bytes().replace(b"\n", b"\r\n")
    result = run_import(bf, same_rows, "copy.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)


def test_changed_row_updates_the_customer_and_is_audited(bf: Billfold) -> None:
    run_import(bf, GOOD.read_bytes())
    changed = GOOD.read_bytes().replace(b"Hafenstrasse 5", b"Hafenstrasse 7")
    result = run_import(bf, changed, "changed.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)
    with bf.reading() as conn:
        assert get_customer(conn, "C-1001").address("bill_to").line1 == "Hafenstrasse 7"  # type: ignore[union-attr]
        row = conn.execute(
            select(audit_log).where(
                audit_log.c.action == "update", audit_log.c.entity_ref == "C-1001"
            )
        ).one()
    assert "Hafenstrasse 5" in row.before_json and "Hafenstrasse 7" in row.after_json


def test_bad_file_is_rejected_whole_and_nothing_is_written(bf: Billfold) -> None:
    run_import(bf, GOOD.read_bytes())
    before = row_counts(bf)
    bad = (
        GOOD.read_bytes()
        .replace(b"Hafenstrasse 5", b"Hafenstrasse 9")
        .replace(b"GB980780684", b"GB980780685")
    )
    with pytest.raises(FileRejected) as info:
        run_import(bf, bad, "bad.csv")
    assert [e.line for e in info.value.errors] == [4]
    assert row_counts(bf) == before
    with bf.reading() as conn:
        assert get_customer(conn, "C-1001").address("bill_to").line1 == "Hafenstrasse 5"  # type: ignore[union-attr]


def test_unknown_parent_and_hierarchy_loops(bf: Billfold) -> None:
    header = b"number,name,currency,payment_terms,bill_to_country,parent_number\n"
    with pytest.raises(FileRejected, match="line 2, column parent_number, value 'X9': unknown"):
        run_import(bf, header + b"C1,A,EUR,NET30,DE,X9\n")
    run_import(bf, header + b"P1,Parent,EUR,NET30,DE,\nK1,Kid,EUR,NET30,DE,P1\n")
    with pytest.raises(FileRejected, match="would loop"):
        run_import(bf, header + b"P1,Parent,EUR,NET30,DE,K1\n")
