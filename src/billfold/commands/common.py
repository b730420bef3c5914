"""What every CLI command module shares: the global options, consoles and input helpers."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from billfold.config import load_settings
from billfold.errors import InvalidInput
from billfold.services.context import Billfold

IssuePlannersOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Processes that plan the next batches while the documents are written "
        "(default: one per core, up to 4, for 4 batches of 2,000 or more; 0: none).",
    ),
]

# Piped output (logs, the demo) gets a wide page instead of Rich's 80-column default.
_WIDTH = None if sys.stdout.isatty() else 150
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


class State:
    """Global options given before the command (``--database-url``, ``--actor``)."""

    url: str | None = None
    actor: str | None = None


def open_app() -> Billfold:
    return Billfold.open(State.url, actor=State.actor)


def database_url() -> str:
    return State.url or load_settings().database_url


def parse_date(value: str | None, what: str = "date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def write_file(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None
