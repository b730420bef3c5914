"""The append-only, hash-chained audit log.

Each row's hash is SHA-256 over the previous row's hash and the row's own content (id, time,
actor, action, entity, before, after). Rows are numbered without gaps, and ``audit_head`` keeps the
newest id and hash, so ``verify_chain`` can tell a changed row, a deleted row, an inserted row and
rows cut off the end apart. Appending locks ``audit_head``, which keeps the chain linear when
several processes write at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, select, update

from billfold.store.bulk import insert_tuples
from billfold.store.tables import audit_head, audit_log

GENESIS = "0" * 64
_encode = encode_basestring  # the string encoder of json.dumps(..., ensure_ascii=False)


class CanonicalJson(str):
    """A before/after image its caller already wrote as canonical JSON (what :func:`to_json`
    would make of it: sorted keys, no spaces, non-ASCII kept), stored as it is. For the volume
    paths, which format one known shape per row instead of walking a dict through the encoder."""

    __slots__ = ()


def to_json(value: Any) -> str | None:
    """Canonical JSON (sorted keys, Decimals and dates as strings) for before/after images."""
    if value is None:
        return None
    if type(value) is CanonicalJson:
        return str(value)

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal | date | datetime):
            return str(obj)
        if isinstance(obj, set | frozenset | tuple):
            return sorted(obj) if isinstance(obj, set | frozenset) else list(obj)
        raise TypeError(f"cannot put {type(obj).__name__} into the audit log")

    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), default=default, ensure_ascii=False
    )


def _text(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def chain_hash(
    prev_hash: str,
    id_: int,
    at: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_ref: str,
    before_json: str | None,
    after_json: str | None,
) -> str:
    """SHA-256 over the previous hash and the compact JSON array of the row's content (the
    strings encoded as ``json.dumps(..., ensure_ascii=False)`` encodes them, without building
    the list and walking it through the encoder)."""
    content = (
        f"[{int(id_)},{_encode(at)},{_encode(actor)},{_encode(action)},"
        f"{_encode(entity_type)},{_encode(entity_ref)},{_text(before_json)},{_text(after_json)}]"
    )
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return chain_hash(
        prev_hash,
        row["id"],
        row["at"],
        row["actor"],
        row["action"],
        row["entity_type"],
        row["entity_ref"],
        row["before_json"],
        row["after_json"],
    )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: str
    action: str
    entity_type: str
    entity_ref: str
    before: Any = None
    after: Any = None


AUDIT_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_ref",
    "before_json",
    "after_json",
    "prev_hash",
    "hash",
)


def append_events(conn: Connection, at: str, events: list[AuditEvent]) -> None:
    """Chain ``events`` onto the log in one bulk insert (inside the caller's transaction)."""
    if not events:
        return
    head_q = select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        head_q = head_q.with_for_update()
    last_id, last_hash = conn.execute(head_q).one()
    rows = []
    for event in events:
        last_id += 1
        content = (
            last_id,
            at,
            event.actor,
            event.action,
            event.entity_type,
            event.entity_ref,
            to_json(event.before),
            to_json(event.after),
        )
        prev, last_hash = last_hash, chain_hash(last_hash, *content)
        rows.append((*content, prev, last_hash))  # in AUDIT_COLUMNS order
    insert_tuples(conn, audit_log, AUDIT_COLUMNS, rows)
    conn.execute(
        update(audit_head).where(audit_head.c.id == 1).values(last_id=last_id, last_hash=last_hash)
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    rows: int
    problem: str | None = None
    first_bad_id: int | None = None


def verify_chain(conn: Connection, batch: int = 5000) -> ChainReport:
    """Walk the whole log and name the first row that was tampered with, if any."""
    head_id, head_hash = conn.execute(
        select(audit_head.c.last_id, audit_head.c.last_hash).where(audit_head.c.id == 1)
    ).one()
    expected_id, prev = 1, GENESIS
    result = conn.execution_options(yield_per=batch).execute(
        select(audit_log).order_by(audit_log.c.id)
    )
    for r in result.mappings():
        row = dict(r)
        rid = row["id"]
        if rid > head_id:
            return ChainReport(
                False,
                expected_id - 1,
                f"row {rid} was inserted behind Billfold's back (the log ends at row {head_id})",
                rid,
            )
        if rid != expected_id:
            return ChainReport(
                False,
                expected_id - 1,
                f"row {expected_id} was deleted (the next row is {rid})",
                expected_id,
            )
        if row["prev_hash"] != prev:
            return ChainReport(
                False,
                expected_id - 1,
                f"row {rid} does not follow row "
                f"{rid - 1}: the chain was broken by an inserted or replaced row",
                rid,
            )
        if row_hash(prev, row) != row["hash"]:
            return ChainReport(
                False,
                expected_id - 1,
                f"row {rid} was changed after it was "
                f"written ({row['action']} {row['entity_type']} "
                f"{row['entity_ref']})",
                rid,
            )
        prev = row["hash"]
        expected_id += 1
    count = expected_id - 1
    if count != head_id:
        return ChainReport(
            False,
            count,
            f"rows {count + 1} to {head_id} were deleted from the end of the log",
            count + 1,
        )
    if prev != head_hash:
        return ChainReport(
            False,
            count,
            f"row {count} does not match the recorded head of the chain: it was replaced",
            count,
        )
    return ChainReport(True, count)
