"""Schema migrations (Alembic), run programmatically on Billfold's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from billfold.errors import NotInitialised

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` in one transaction."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def require_current_schema(engine: Engine) -> None:
    """Refuse to work on a database that is not initialised or not migrated to the head."""
    current = current_revision(engine)
    if current is None:
        raise NotInitialised(
            "the database has no Billfold schema yet: run `billfold init` (see README)"
        )
    if current != head_revision():
        raise NotInitialised(
            f"the database schema is at revision {current}, this Billfold needs "
            f"{head_revision()}: run `billfold db upgrade`"
        )
