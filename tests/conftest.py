"""Test fixtures. Integration tests take ``db_url``/``bf`` and run once per engine.

Engines: ``BILLFOLD_TEST_ENGINES`` (default ``sqlite,postgresql``). PostgreSQL is reached at
``BILLFOLD_TEST_POSTGRES_URL`` (default the local server's ``test`` database); each test gets a
fresh database cloned from a migrated template made once per test run, and every database made
by the run is dropped at the end. Without a reachable server the PostgreSQL half is skipped,
unless ``BILLFOLD_REQUIRE_POSTGRES=1`` (CI), where it fails.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from billfold.services.context import Billfold
from billfold.services.entities import NewEntity
from billfold.services.setup import initialise

ENGINES = [
    e.strip()
    for e in os.environ.get("BILLFOLD_TEST_ENGINES", "sqlite,postgresql").split(",")
    if e.strip()
]
PG_URL = os.environ.get(
    "BILLFOLD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("BILLFOLD_REQUIRE_POSTGRES") == "1"
RUN_ID = uuid.uuid4().hex[:8]
FIXED_NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def seed(url: str) -> None:
    """What every integration test starts from: schema, default chart, one German entity."""
    app = initialise(
        url,
        "tester",
        NewEntity(
            "ACME-DE",
            "Acme Europe GmbH",
            "DE",
            "EUR",
            city="Berlin",
            postal_code="10115",
            address_line1="Friedrichstrasse 1",
        ),
        ["DE136695976"],
    )
    app.engine.dispose()


class PostgresDatabases:
    """Creates per-test databases from one migrated template on the local server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(
            self.url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        self.template = f"bf_{RUN_ID}_tpl"
        self.counter = itertools.count(1)
        self.created: list[str] = []

    def reachable(self) -> str | None:
        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return str(exc).splitlines()[0]
        return None

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def make_template(self) -> None:
        self._create(self.template, None)
        seed(self.url_for(self.template))

    def fresh(self) -> str:
        name = f"bf_{RUN_ID}_{next(self.counter)}"
        self._create(name, self.template)
        return self.url_for(name)

    def empty(self) -> str:
        name = f"bf_{RUN_ID}_{next(self.counter)}"
        self._create(name, None)
        return self.url_for(name)

    def _create(self, name: str, template: str | None) -> None:
        with self.admin.connect() as conn:
            clause = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabases | None]:
    if "postgresql" not in ENGINES:
        yield None
        return
    pg = PostgresDatabases(PG_URL)
    problem = pg.reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but not reachable at {PG_URL}: {problem}")
        yield None
        return
    pg.make_template()
    yield pg
    pg.drop_all()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A seeded database of the engine under test, private to this test."""
    if engine_name == "sqlite":
        target = tmp_path / "billfold.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        return f"sqlite:///{target}"
    pg: PostgresDatabases | None = request.getfixturevalue("_postgres")
    if pg is None:
        pytest.skip("PostgreSQL not reachable (set BILLFOLD_REQUIRE_POSTGRES=1 to fail instead)")
    return pg.fresh()


@pytest.fixture
def empty_db_url(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema) of the engine under test."""
    if engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    pg: PostgresDatabases | None = request.getfixturevalue("_postgres")
    if pg is None:
        pytest.skip("PostgreSQL not reachable")
    return pg.empty()


@pytest.fixture
def bf(db_url: str) -> Iterator[Billfold]:
    app = Billfold.open(db_url, actor="tester")
    app.clock = lambda: FIXED_NOW
    yield app
    app.engine.dispose()


@pytest.fixture
def twin(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    """A second seeded database of the engine under test, for a run to compare with."""
    if engine_name == "sqlite":
        target = tmp_path / "twin.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        pg = request.getfixturevalue("_postgres")
        if pg is None:
            pytest.skip("PostgreSQL not reachable")
        url = pg.fresh()
    app = Billfold.open(url, actor="tester")
    app.clock = lambda: FIXED_NOW
    yield app
    app.engine.dispose()
