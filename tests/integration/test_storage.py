import pytest
from sqlalchemy import inspect

from billfold.errors import DatabaseUnavailable, NotInitialised
from billfold.services.context import Billfold
from billfold.services.entities import NewEntity
from billfold.services.setup import initialise
from billfold.store import migrate
from billfold.store.db import hashed_joins, make_engine

pytestmark = pytest.mark.integration


def test_migrations_create_the_schema_and_init_is_repeatable(empty_db_url: str) -> None:
    with pytest.raises(NotInitialised, match="billfold init"):
        Billfold.open(empty_db_url)
    app = initialise(empty_db_url, "tester", NewEntity("X1", "X One", "FR", "EUR"))
    tables = set(inspect(app.engine).get_table_names())
    assert {"customers", "journal_entries", "postings", "audit_log", "accounts"} <= tables
    assert migrate.current_revision(app.engine) == migrate.head_revision()
    again = initialise(empty_db_url, "tester", None)  # no entity: only migrations and chart
    with again.reading() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM accounts").scalar_one() == 21
    app.engine.dispose()
    again.engine.dispose()


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        make_engine("postgresql+psycopg://billfold:s3cret@127.0.0.1:1/nowhere")
    message = str(info.value)
    assert message.startswith("cannot reach database postgresql+psycopg://billfold:***@127.0.0.1:1")
    assert "s3cret" not in message


def test_unusable_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match="not a valid URL"):
        make_engine("not a url")
    with pytest.raises(DatabaseUnavailable, match="cannot reach database sqlite:////no/such/dir"):
        make_engine("sqlite:////no/such/dir/x.db")


def test_migrations_build_exactly_the_schema_the_code_uses(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from billfold.store.tables import metadata

    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_a_report_never_holds_up_a_writer(bf: Billfold) -> None:
    import threading

    from sqlalchemy import func, select, text

    from billfold.store.tables import audit_log

    with bf.reading() as conn:
        before = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        # while the report's transaction is open, a writer commits (on SQLite the report used to
        # hold the write lock, and the writer waited for it to finish); a thread with a deadline,
        # so that a regression fails fast instead of waiting out the busy timeout
        done = threading.Event()

        def write() -> None:
            with bf.transaction() as tx:
                tx.audit("note", "test", "writer")
            done.set()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        writer.join(timeout=10)
        assert done.is_set(), "the writer waited for the report"
        if bf.engine.dialect.name == "postgresql":  # and the report itself cannot write
            with pytest.raises(Exception, match="read-only transaction"):
                conn.execute(text("UPDATE audit_head SET last_id = last_id"))
    with bf.reading() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == before + 1


def test_hashed_joins_leave_the_planner_as_they_found_it(bf: Billfold) -> None:
    """A read planned without nested loops (PostgreSQL) leaves the unit of work's later
    statements planned as before, whatever the session had chosen."""
    with bf.transaction() as tx:
        if tx.conn.dialect.name != "postgresql":
            with hashed_joins(tx.conn):
                assert tx.conn.exec_driver_sql("SELECT 1").scalar_one() == 1
            return
        setting = "SELECT current_setting('enable_nestloop')"
        for chosen in ("on", "off"):
            tx.conn.exec_driver_sql(f"SET LOCAL enable_nestloop = {chosen}")
            with hashed_joins(tx.conn):
                assert tx.conn.exec_driver_sql(setting).scalar_one() == "off"
            assert tx.conn.exec_driver_sql(setting).scalar_one() == chosen
