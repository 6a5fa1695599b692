"""The batch writer: one transaction per batch of postings, set-based.

For a batch, under a per-platform advisory lock (so two crawlers writing the same platform at
once serialise their batches instead of deadlocking or both inserting), it:

1. COPYs the batch's keys and content hashes (four narrow columns) into a per-connection
   temporary table, and asks which postings are new or changed, with the stored versions of
   the changed ones (for the history);
2. COPYs the full rows of only those postings into a second temporary stage table (an
   unchanged posting, the common case of a re-crawl, is never encoded, sent or parsed);
3. inserts postings not stored yet;
4. updates postings whose content hash changed, and records each change in posting_changes
   (which fields, old and new values, the run);
5. bumps last_seen_at in the narrow posting_seen table for every posting of the batch (one
   UPDATE, then an INSERT of the missing rows: no INSERT ... ON CONFLICT, whose row lock and
   speculative-insertion records double the WAL of a re-crawl), so an unchanged posting costs
   one small row rewrite, not a rewrite of the wide postings row.

Every statement touches at most a batch of rows through a primary key, so the writer pins
that plan shape (index nested loops, no JIT) for its own transactions: the temporary tables
are never analysed, autovacuum may be off, and a plan cached on an empty `postings` table (the
first crawl) would otherwise hash the whole table for every later batch.

Rows PostgreSQL refuses (a data error, or text the driver cannot encode) are isolated by
splitting the batch in halves until the bad rows stand alone; those are returned as rejected
with the message and the rest is written. Connection errors propagate: retrying them is the
caller's job (storage/batches.py).

A record may name contract fields it could not read this time (`unread_fields`: its detail page
failed, so the spider yielded the listing entry). For a posting already stored, the stored values
of those fields are kept (unless they too came from a listing entry alone: `posting_unread`) and
the content hash is recomputed on the merged values, so a posting that did not change stays
unchanged and no history row appears.

Rejected items are stored whatever they hold: `storable` turns any value into JSON PostgreSQL
accepts (no NUL, no lone surrogate, no NaN), so inserting them cannot fail on content.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from outsourcing.items import CONTRACT_FIELDS, HASH_EXCLUDED, content_hash
from outsourcing.normalize.money import number
from outsourcing.normalize.text import storable_text

#: Columns written from a posting record, in COPY order.
STAGE_COLUMNS: tuple[str, ...] = CONTRACT_FIELDS + ("raw", "content_hash")
_DIFF_FIELDS: tuple[str, ...] = tuple(name for name in CONTRACT_FIELDS if name not in HASH_EXCLUDED)
_INSTANTS = frozenset({"posted_at", "deadline_at", "scraped_at"})
_NUMERIC = frozenset({"budget_min", "budget_max"})
_LOCK_NAMESPACE = 727275

_cols = ", ".join(STAGE_COLUMNS)
_set_cols = ", ".join(f"{name} = s.{name}" for name in STAGE_COLUMNS if name not in ("platform", "external_id"))

#: Columns of a new posting's row, in COPY order: the record's, then first_seen_at, first_run_id.
INSERT_COLUMNS: tuple[str, ...] = STAGE_COLUMNS + ("first_seen_at", "first_run_id")
_SCRAPED_AT = STAGE_COLUMNS.index("scraped_at")
#: Columns of the narrow key table, in COPY order.
KEY_COLUMNS: tuple[str, ...] = ("platform", "external_id", "content_hash", "scraped_at")

CREATE_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS posting_stage ON COMMIT DELETE ROWS AS
    SELECT {_cols} FROM postings WITH NO DATA
"""
CREATE_KEYS = """
CREATE TEMP TABLE IF NOT EXISTS posting_keys ON COMMIT DELETE ROWS AS
    SELECT platform, external_id, content_hash, scraped_at FROM postings WITH NO DATA
"""
# Index nested loops for every join of the transaction (see the module's docstring).
PIN_PLANS = """
SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
       set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)
"""
# New postings (stored columns null) and changed ones (with their stored versions).
SELECT_PENDING = f"""
SELECT k.platform, k.external_id, p.external_id IS NULL AS is_new, {", ".join(f"p.{name} AS old_{name}" for name in _DIFF_FIELDS)}
FROM posting_keys k
LEFT JOIN postings p ON p.platform = k.platform AND p.external_id = k.external_id
WHERE p.external_id IS NULL OR p.content_hash <> k.content_hash
"""
UPDATE_CHANGED = f"""
UPDATE postings p SET {_set_cols}, changed_at = s.scraped_at
FROM posting_stage s
WHERE p.platform = s.platform AND p.external_id = s.external_id
  AND p.content_hash <> s.content_hash
"""
# The UPDATE's rows are not visible to the INSERT's NOT EXISTS (same snapshot), but every key
# the UPDATE found exists in that snapshot too: the INSERT adds exactly the missing ones.
UPSERT_SEEN = """
WITH unread_cleared AS (
    -- what the batch read replaces what was unread; rows for what it could not read follow
    -- (the EXISTS is checked once: while no posting has unread fields, this costs one probe)
    DELETE FROM posting_unread u USING posting_keys k
    WHERE u.platform = k.platform AND u.external_id = k.external_id
      AND EXISTS (SELECT 1 FROM posting_unread)
), bumped AS (
    UPDATE posting_seen seen
    -- greatest() skips nulls; a null time must fail the NOT NULL constraint as an insert would
    SET last_seen_at = CASE WHEN k.scraped_at IS NOT NULL THEN greatest(seen.last_seen_at, k.scraped_at) END,
        last_run_id = $1::bigint
    FROM posting_keys k
    WHERE seen.platform = k.platform AND seen.external_id = k.external_id
    RETURNING 1
)
INSERT INTO posting_seen (platform, external_id, last_seen_at, last_run_id)
SELECT k.platform, k.external_id, k.scraped_at, $1::bigint
FROM posting_keys k
WHERE NOT EXISTS (
    SELECT 1 FROM posting_seen seen WHERE seen.platform = k.platform AND seen.external_id = k.external_id
)
"""
INSERT_CHANGE = """
INSERT INTO posting_changes (platform, external_id, changed_at, run_id, changed_fields, old_values, new_values)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
"""
#: Contract fields a record may leave unread (never its key or the time it was read).
MERGEABLE: frozenset[str] = frozenset(CONTRACT_FIELDS) - {"platform", "external_id", "scraped_at"}
SELECT_STORED = f"""
SELECT k.platform, k.external_id, {", ".join(f"p.{name}" for name in sorted(MERGEABLE))}, u.fields AS unread
FROM unnest($1::text[], $2::text[]) AS k (platform, external_id)
JOIN postings p ON p.platform = k.platform AND p.external_id = k.external_id
LEFT JOIN posting_unread u ON u.platform = k.platform AND u.external_id = k.external_id
"""
INSERT_UNREAD = "INSERT INTO posting_unread (platform, external_id, fields) VALUES ($1, $2, $3)"
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

    def add(self, other: BatchResult) -> None:
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
    """Per-connection setup (the pool's `init`): the temporary tables live as long as the session."""
    await connection.execute(CREATE_STAGE)
    await connection.execute(CREATE_KEYS)


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
    platforms = sorted({record["platform"] for record in records})
    async with connection.transaction():
        await connection.execute(PIN_PLANS)
        for platform in platforms:  # sorted: two writers never wait on each other in a cycle
            await connection.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_NAMESPACE, platform)
        unread: list[tuple[str, str, list[str]]] = []
        if any(record.get("unread_fields") for record in records):
            records, unread = await _keep_stored_values(connection, records)
        keys = [_key_row(record) for record in records]
        by_key = {(record["platform"], record["external_id"]): record for record in records}
        await connection.copy_records_to_table("posting_keys", records=keys, columns=KEY_COLUMNS)
        pending = await _run(connection, SELECT_PENDING)
        inserted = 0
        changes: list[tuple[Any, ...]] = []
        new_rows = [to_db_row(by_key[(row["platform"], row["external_id"])]) for row in pending if row["is_new"]]
        if new_rows:
            # Straight into postings: under the lock, no other writer can add these keys meanwhile.
            rows = [(*row, row[_SCRAPED_AT], run_id) for row in new_rows]
            inserted = _affected(await connection.copy_records_to_table("postings", records=rows, columns=INSERT_COLUMNS))
        changed = [row for row in pending if not row["is_new"]]
        if changed:
            rows = [to_db_row(by_key[(row["platform"], row["external_id"])]) for row in changed]
            await connection.copy_records_to_table("posting_stage", records=rows, columns=STAGE_COLUMNS)
            await _status(connection, UPDATE_CHANGED)
            changes = [_change_row(row, by_key[(row["platform"], row["external_id"])], run_id) for row in changed]
            await connection.executemany(INSERT_CHANGE, changes)
        await _status(connection, UPSERT_SEEN, run_id)
        if unread:
            await connection.executemany(INSERT_UNREAD, unread)
    updated = len(changes)
    return BatchResult(inserted=inserted, updated=updated, unchanged=len(records) - inserted - updated)


async def _keep_stored_values(
    connection: asyncpg.Connection, records: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[tuple[str, str, list[str]]]]:
    """The records with their unread fields filled from the stored postings, and the rows of
    posting_unread to write: per posting, the fields whose value now stored was not read.

    An unread field takes the stored value unless the stored value was not read either (then the
    new listing value is as good and may be newer). The content hash is recomputed on the merged
    values: a posting whose readable fields did not change stays unchanged.
    """
    partial = [record for record in records if record.get("unread_fields")]
    stored = {
        (row["platform"], row["external_id"]): row
        for row in await _run(connection, SELECT_STORED, [r["platform"] for r in partial],
                              [r["external_id"] for r in partial])
    }
    merged_records: list[dict[str, Any]] = []
    unread_rows: list[tuple[str, str, list[str]]] = []
    for record in records:
        names = record.get("unread_fields")
        if not names:
            merged_records.append(record)
            continue
        fields = [name for name in dict.fromkeys(names) if name in MERGEABLE]
        key = (record["platform"], record["external_id"])
        row = stored.get(key)
        if row is None:
            still_unread = fields
            merged = record
        else:
            unread_before = set(row["unread"] or ())
            merged = dict(record)
            for name in fields:
                if name not in unread_before:
                    value = canonical(name, row[name])
                    merged[name] = [] if name == "skills" and value is None else value
            merged["content_hash"] = content_hash(merged)
            still_unread = [name for name in fields if name in unread_before]
        merged_records.append(merged)
        if still_unread:
            unread_rows.append((key[0], key[1], still_unread))
    return merged_records, unread_rows


async def _run(connection: asyncpg.Connection, query: str, *args: Any) -> list[Any]:
    """Run `query` with a plan made now, for the tables as they are now.

    Not through asyncpg's statement cache: a cached plan is made once per connection, and one
    made while `postings` was empty (the first crawl) picks any index on `platform` and then
    scans a whole platform for every key of every later batch.
    """
    statement = await connection.prepare(query)
    return await statement.fetch(*args)


async def _status(connection: asyncpg.Connection, query: str, *args: Any) -> str:
    """`_run` for a statement whose status ("INSERT 0 12") is the answer."""
    statement = await connection.prepare(query)
    await statement.fetch(*args)
    return statement.get_statusmsg()


def _affected(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


def _key_row(record: dict[str, Any]) -> tuple[Any, ...]:
    scraped_at = record.get("scraped_at")
    return (record.get("platform"), record.get("external_id"), record.get("content_hash"),
            datetime.fromisoformat(scraped_at) if scraped_at is not None else None)


def _change_row(old: Any, new: dict[str, Any], run_id: int | None) -> tuple[Any, ...]:
    changed: list[str] = []
    old_values: dict[str, Any] = {}
    new_values: dict[str, Any] = {}
    for name in _DIFF_FIELDS:
        before = canonical(name, old[f"old_{name}"])
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
    """Store rejected items: dicts with platform, external_id, reason, detail, item.

    Every value is made storable first, so only a connection fault (propagated, for the caller
    to retry) can fail the insert; should PostgreSQL refuse a row all the same, the rows are
    written one by one and a refused one is stored with its item's repr instead of the item.
    """
    rows = [_rejected_row(entry, run_id) for entry in rejected]
    if not rows:
        return 0
    try:
        await connection.executemany(INSERT_REJECTED, rows)  # atomic: all rows or none
    except Exception as error:  # noqa: BLE001 - classified right below
        if not is_data_error(error):
            raise
        for row in rows:
            try:
                await connection.execute(INSERT_REJECTED, *row)
            except Exception as row_error:  # noqa: BLE001 - classified right below
                if not is_data_error(row_error):
                    raise
                item = {"unstorable_item": ascii(row[4])[:100_000], "error": storable(str(row_error))}
                await connection.execute(INSERT_REJECTED, *row[:4], json.dumps(item), run_id)
    return len(rows)


def _rejected_row(entry: dict[str, Any], run_id: int | None) -> tuple[Any, ...]:
    def text(value: Any) -> str | None:
        return None if value is None else storable(value if isinstance(value, str) else str(value))

    return (
        text(entry.get("platform")),
        text(entry.get("external_id")),
        text(entry.get("reason")) or "unknown",
        text(entry.get("detail")),
        storable_json(entry.get("item")),
        run_id,
    )


# --- values PostgreSQL can store, whatever a record holds ------------------------------------------

_MAX_DEPTH = 64


def storable(value: Any, _depth: int = 0) -> Any:
    """`value` as plain JSON data PostgreSQL can hold in text and jsonb: its strings as
    `normalize.text.storable_text` makes them (NUL removed, surrogates repaired), dict keys as
    text, NaN and infinities as null, anything else as its str(); nesting cut at 64 levels (a
    cycle)."""
    if isinstance(value, str):
        return storable_text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _depth >= _MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, dict):
        return {storable(key if isinstance(key, str) else _text_of(key)): storable(item, _depth + 1)
                for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [storable(item, _depth + 1) for item in value]
    if isinstance(value, Decimal):
        return storable(number(value)) if value.is_finite() else None
    return storable(_text_of(value))


def storable_json(value: Any) -> str:
    """JSON text of `value` that a jsonb column accepts (see `storable`)."""
    return json.dumps(storable(value), ensure_ascii=False)


def _text_of(value: Any) -> str:
    try:
        return str(value)
    except Exception as error:  # noqa: BLE001 - a value whose str() raises is kept as a note
        return f"<{type(value).__name__} whose str() raised {type(error).__name__}>"
