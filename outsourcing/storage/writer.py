"""The batch writer: one transaction per batch of postings, set-based.

For a batch it COPYs the rows into a per-connection temporary stage table, then, under a
per-platform advisory lock (so two crawlers writing the same platform at once serialise their
batches instead of deadlocking or both inserting), it:

1. reads the stored versions of postings whose content hash differs (for the history);
2. inserts postings not stored yet;
3. updates postings whose content hash changed, and records each change in posting_changes
   (which fields, old and new values, the run);
4. bumps last_seen_at in the narrow posting_seen table for every posting of the batch, so an
   unchanged posting costs one small row rewrite, not a rewrite of the wide postings row.

Rows PostgreSQL refuses (a data error) are isolated by splitting the batch in halves until the
bad rows stand alone; those are returned as rejected with PostgreSQL's message and the rest is
written. Connection errors propagate: retrying them is the caller's job (PostingStore).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

import asyncpg

from outsourcing.items import CONTRACT_FIELDS, HASH_EXCLUDED
from outsourcing.normalize.money import number

#: Columns written from a posting record, in COPY order.
STAGE_COLUMNS: tuple[str, ...] = CONTRACT_FIELDS + ("raw", "content_hash")
_DIFF_FIELDS: tuple[str, ...] = tuple(name for name in CONTRACT_FIELDS if name not in HASH_EXCLUDED)
_INSTANTS = frozenset({"posted_at", "deadline_at", "scraped_at"})
_NUMERIC = frozenset({"budget_min", "budget_max"})
_LOCK_NAMESPACE = 727275

_cols = ", ".join(STAGE_COLUMNS)
_s_cols = ", ".join(f"s.{name}" for name in STAGE_COLUMNS)
_set_cols = ", ".join(f"{name} = s.{name}" for name in STAGE_COLUMNS if name not in ("platform", "external_id"))
_old_cols = ", ".join(f"p.{name}" for name in _DIFF_FIELDS)

CREATE_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS posting_stage ON COMMIT DELETE ROWS AS
    SELECT {_cols} FROM postings WITH NO DATA
"""
SELECT_CHANGED = f"""
SELECT {_old_cols}
FROM posting_stage s
JOIN postings p ON p.platform = s.platform AND p.external_id = s.external_id
WHERE p.content_hash <> s.content_hash
"""
INSERT_NEW = f"""
INSERT INTO postings ({_cols}, first_seen_at, first_run_id)
SELECT {_s_cols}, s.scraped_at, $1::bigint
FROM posting_stage s
WHERE NOT EXISTS (
    SELECT 1 FROM postings p WHERE p.platform = s.platform AND p.external_id = s.external_id
)
"""
UPDATE_CHANGED = f"""
UPDATE postings p SET {_set_cols}, changed_at = s.scraped_at
FROM posting_stage s
WHERE p.platform = s.platform AND p.external_id = s.external_id
  AND p.content_hash <> s.content_hash
"""
UPSERT_SEEN = """
INSERT INTO posting_seen AS seen (platform, external_id, last_seen_at, last_run_id)
SELECT platform, external_id, scraped_at, $1::bigint FROM posting_stage
ON CONFLICT (platform, external_id) DO UPDATE
    SET last_seen_at = greatest(seen.last_seen_at, EXCLUDED.last_seen_at),
        last_run_id = EXCLUDED.last_run_id
"""
INSERT_CHANGE = """
INSERT INTO posting_changes (platform, external_id, changed_at, run_id, changed_fields, old_values, new_values)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
"""
INSERT_REJECTED = """
INSERT INTO rejected_items (platform, external_id, reason, detail, item, run_id)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
"""


@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (record, reason code, PostgreSQL's message) for rows the database refused
    refused: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)

    def add(self, other: "BatchResult") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.refused.extend(other.refused)


def is_data_error(error: BaseException) -> bool:
    """A row's content was refused (retrying cannot help), as opposed to a connection fault.

    SQLSTATE classes 22 (data exception), 23 (integrity), 54 (a value too large) and asyncpg's
    own client-side encoding errors.
    """
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", "") or ""
        return state[:2] in ("22", "23", "54")
    return isinstance(error, (asyncpg.DataError, ValueError, TypeError, OverflowError))


async def prepare_connection(connection: asyncpg.Connection) -> None:
    """Per-connection setup (the pool's `init`): the stage table lives as long as the session."""
    await connection.execute(CREATE_STAGE)


def to_db_row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A posting record (contract fields, raw, content_hash) as a COPY row."""
    values: list[Any] = []
    for name in STAGE_COLUMNS:
        value = record.get(name)
        if value is not None:
            if name in _INSTANTS:
                value = datetime.fromisoformat(value)
            elif name in _NUMERIC:
                value = Decimal(str(value))
            elif name == "raw":
                value = json.dumps(value, ensure_ascii=False)
        elif name == "skills":
            value = []
        values.append(value)
    return tuple(values)


def canonical(name: str, value: Any) -> Any:
    """A stored or yielded value in the contract's JSON form, so the two compare equal."""
    if value is None:
        return None
    if isinstance(value, datetime):
        from outsourcing.normalize.dates import iso_utc

        return iso_utc(value)
    if name in _NUMERIC or isinstance(value, Decimal):
        return number(value)
    if isinstance(value, tuple):
        return list(value)
    return value


async def write_batch(
    connection: asyncpg.Connection, records: Sequence[dict[str, Any]], run_id: int | None
) -> BatchResult:
    """Write `records` (at most one per posting) in one transaction, isolating refused rows."""
    if not records:
        return BatchResult()
    try:
        return await _write_once(connection, records, run_id)
    except Exception as error:  # noqa: BLE001 - classified right below
        if not is_data_error(error):
            raise
        if len(records) == 1:
            state = getattr(error, "sqlstate", None) or type(error).__name__
            return BatchResult(refused=[(dict(records[0]), f"database:{state}", str(error))])
    middle = len(records) // 2
    result = await write_batch(connection, records[:middle], run_id)
    result.add(await write_batch(connection, records[middle:], run_id))
    return result


async def _write_once(
    connection: asyncpg.Connection, records: Sequence[dict[str, Any]], run_id: int | None
) -> BatchResult:
    rows = [to_db_row(record) for record in records]
    by_key = {(record["platform"], record["external_id"]): record for record in records}
    platforms = sorted({record["platform"] for record in records})
    async with connection.transaction():
        for platform in platforms:  # sorted: two writers never wait on each other in a cycle
            await connection.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_NAMESPACE, platform)
        await connection.copy_records_to_table("posting_stage", records=rows, columns=STAGE_COLUMNS)
        old_rows = await connection.fetch(SELECT_CHANGED)
        status = await connection.execute(INSERT_NEW, run_id)
        inserted = int(status.rsplit(" ", 1)[-1])
        changes = [_change_row(old, by_key[(old["platform"], old["external_id"])], run_id) for old in old_rows]
        if changes:
            await connection.execute(UPDATE_CHANGED)
            await connection.executemany(INSERT_CHANGE, changes)
        await connection.execute(UPSERT_SEEN, run_id)
    updated = len(changes)
    return BatchResult(inserted=inserted, updated=updated, unchanged=len(records) - inserted - updated)


def _change_row(old: Any, new: dict[str, Any], run_id: int | None) -> tuple[Any, ...]:
    changed: list[str] = []
    old_values: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    for name in _DIFF_FIELDS:
        before = canonical(name, old[name])
        after = canonical(name, new.get(name))
        if name == "skills":
            before, after = before or [], after or []
        if before != after:
            changed.append(name)
            old_values[name] = before
            new_values[name] = after
    return (
        new["platform"],
        new["external_id"],
        datetime.fromisoformat(new["scraped_at"]),
        run_id,
        changed,
        json.dumps(old_values, ensure_ascii=False),
        json.dumps(new_values, ensure_ascii=False),
    )


async def write_rejected(
    connection: asyncpg.Connection, rejected: Iterable[dict[str, Any]], run_id: int | None
) -> int:
    """Store rejected items: dicts with platform, external_id, reason, detail, item."""
    rows = [
        (
            entry.get("platform"),
            entry.get("external_id"),
            entry["reason"],
            entry.get("detail"),
            json.dumps(entry["item"], ensure_ascii=False, default=str).replace("\\u0000", ""),
            run_id,
        )
        for entry in rejected
    ]
    if rows:
        await connection.executemany(INSERT_REJECTED, rows)
    return len(rows)
