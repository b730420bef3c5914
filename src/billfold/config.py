"""Settings from the environment (prefix ``BILLFOLD_``). Secrets never have defaults."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///billfold.db"


class Settings(BaseSettings):
    """``BILLFOLD_DATABASE_URL``: a SQLite file by default, ``postgresql+psycopg://...`` at scale.

    ``BILLFOLD_ACTOR``: the name written to the audit log for CLI actions (default: the OS user).
    """

    model_config = SettingsConfigDict(env_prefix="BILLFOLD_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    actor: str | None = None


def load_settings() -> Settings:
    return Settings()
