"""Postings out of the database: search with a keyset cursor, one posting with its history,
and every match in order for exports. Values come back in the contract's formats."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.query.filters import PostingFilter, SqlParams

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
SNIPPET_LENGTH = 240
#: Extra fields every posting that leaves the system may carry (contract: "Extra fields are allowed").
EXTRA_FIELDS = ("first_seen_at", "last_seen_at", "changed_at")
#: What the list and the exports give: the contract's fields (list items: description replaced
#: by a snippet) plus the extras. Never `raw`, never the hash.
EXPORT_FIELDS = (*CONTRACT_FIELDS, *EXTRA_FIELDS)
LIST_FIELDS = tuple(name for name in CONTRACT_FIELDS if name != "description") + ("snippet", *EXTRA_FIELDS)

#: The one order of every list: newest posted_at first, postings without one last, ties by
#: platform then external_id, all descending so that the keyset condition is one row
#: comparison served by the index postings_api_order (schema.sql, block 5).
SORT_KEY = "coalesce({a}posted_at, '-infinity'::timestamptz), {a}platform, {a}external_id"
ORDER_BY = "coalesce({a}posted_at, '-infinity'::timestamptz) DESC, {a}platform DESC, {a}external_id DESC"

_INSTANTS = {"posted_at", "deadline_at", "scraped_at", "first_seen_at", "last_seen_at", "changed_at"}
_AMOUNTS = {"budget_min", "budget_max"}
_COLUMNS = ", ".join(f"p.{name}" for name in CONTRACT_FIELDS if name != "description") + ", p.first_seen_at, p.changed_at"


class CursorError(ValueError):
    """A cursor that this API did not hand out (or that was altered)."""


@dataclass(frozen=True)
class Cursor:
    posted_at: datetime | None
    platform: str
    external_id: str

    def encode(self) -> str:
        stamp = self.posted_at.astimezone(UTC).isoformat() if self.posted_at else None
        raw = json.dumps([stamp, self.platform, self.external_id], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            stamp, platform, external_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(platform, str) or not isinstance(external_id, str):
                raise ValueError
            posted = datetime.fromisoformat(stamp) if stamp is not None else None
            if posted is not None and posted.tzinfo is None:
                raise ValueError
        except (ValueError, TypeError, UnicodeError, binascii.Error, json.JSONDecodeError) as error:
            raise CursorError("cursor is not one this API handed out: use next_cursor of the previous page "
                              "unchanged") from error
        return cls(posted, platform, external_id)


@dataclass
class Page:
    """One page: the items as JSON text (as PostgreSQL built them) and the next cursor."""

    item_json: list[str]
    next_cursor: str | None

    @property
    def items(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.item_json]

    def to_json(self, limit: int) -> bytes:
        cursor = json.dumps(self.next_cursor)
        return (f'{{"items":[{",".join(self.item_json)}],"next_cursor":{cursor},"limit":{limit}}}').encode()


# --- formats ------------------------------------------------------------------------------------


def json_number(value: Decimal | None) -> int | float | None:
    """An amount as a JSON number: an integer when whole (contract)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, always with microseconds (the same text PostgreSQL writes in item_json_sql)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value is not None else None


def contract_value(name: str, value: Any) -> Any:
    if name in _INSTANTS:
        return iso_utc(value)
    if name in _AMOUNTS:
        return json_number(value)
    if name == "skills":
        return list(value or [])
    return value


def posting_record(row: asyncpg.Record | dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    data = dict(row)
    return {name: contract_value(name, data.get(name)) for name in fields}


def _iso_sql(column: str) -> str:
    """An instant as the contract's text, whatever the session's TimeZone: ISO 8601 in UTC,
    always with microseconds (as `iso_utc` writes it)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def item_json_sql(a: str, seen: str, *, snippet: str | None) -> str:
    """A posting as one JSON object, built by PostgreSQL: the API passes the text through, so a
    page costs no per-field work in Python. Contract formats: instants in UTC, amounts as
    numbers (trim_scale: integers when whole), skills as an array. `snippet`: SQL of the
    description excerpt (list items), or None for the whole description (exports)."""
    pairs = []
    for name in CONTRACT_FIELDS:
        if name == "description":
            if snippet is None:
                pairs.append(f"'description', {a}description")
            continue
        if name in _INSTANTS:
            pairs.append(f"'{name}', {_iso_sql(a + name)}")
        elif name in _AMOUNTS:
            pairs.append(f"'{name}', trim_scale({a}{name})")
        else:
            pairs.append(f"'{name}', {a}{name}")
    if snippet is not None:
        pairs.append(f"'snippet', {snippet}")
    pairs += [f"'first_seen_at', {_iso_sql(a + 'first_seen_at')}", f"'last_seen_at', {_iso_sql(seen + 'last_seen_at')}",
              f"'changed_at', {_iso_sql(a + 'changed_at')}"]
    return "json_build_object(" + ", ".join(pairs) + ")::text"


# --- search ---------------------------------------------------------------------------------------


def _snippet_sql(params: SqlParams, posting_filter: PostingFilter, a: str) -> tuple[str, str]:
    """(a LATERAL subquery giving the excerpt's start, the excerpt expression): 240 characters
    of the description, from a little before the first search term's first occurrence (else
    from the start), whitespace collapsed, with … where text was left out."""
    terms = posting_filter.terms
    start = (f"greatest(1, strpos(lower({a}description), {params.add(terms[0].lower())}) - 60)"
             if terms else "1")
    lateral = f"LEFT JOIN LATERAL (SELECT {start} AS pos) sn ON true"
    excerpt = (f"CASE WHEN {a}description IS NULL THEN NULL ELSE "
               f"(CASE WHEN sn.pos > 1 THEN '…' ELSE '' END) || "
               f"btrim(regexp_replace(substr({a}description, sn.pos, {SNIPPET_LENGTH}), '\\s+', ' ', 'g')) || "
               f"(CASE WHEN sn.pos - 1 + {SNIPPET_LENGTH} < length({a}description) THEN '…' ELSE '' END) END")
    return lateral, excerpt


def _keyset(params: SqlParams, cursor: Cursor | None, a: str) -> str:
    if cursor is None:
        return "TRUE"
    stamp = params.add(cursor.posted_at)
    return (f"({SORT_KEY.format(a=a)}) < (coalesce({stamp}::timestamptz, '-infinity'::timestamptz), "
            f"{params.add(cursor.platform)}, {params.add(cursor.external_id)})")


async def search_postings(connection: asyncpg.Connection, posting_filter: PostingFilter, *,
                          limit: int = DEFAULT_LIMIT, cursor: Cursor | None = None,
                          probe_rows: int | None = None) -> Page:
    """One page of matching postings in the list order, after `cursor`.

    With search terms, a first query walks the newest postings (after the cursor) in the
    list order, at most `probe_rows` of them, and tests the terms on each: for a common term
    ("개발", "react") a page fills within a few hundred rows, and since the walk follows the
    list order, a full page found there is exactly the page the plain query returns. Only
    when the walk finds less than a page (a rare term) does the plain query run, and for a
    rare term the indexes find the few rows quickly. Left to itself the planner guesses a
    term's frequency from its length, so it may take an index for a term found in half the
    rows (materialising and sorting all of them) or walk a million rows for a rare one; the
    walk bounds the first case, the indexes the second.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if posting_filter.terms:
        window = probe_rows if probe_rows is not None else probe_size(limit)
        rows = await _fetch_page(connection, posting_filter, limit, cursor, probe=window)
        if len(rows) <= limit:
            rows = await _fetch_page(connection, posting_filter, limit, cursor, probe=None)
    else:
        rows = await _fetch_page(connection, posting_filter, limit, cursor, probe=None)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = Cursor(last["posted_at"], last["platform"], last["external_id"]).encode()
    return Page([row["item"] for row in rows[:limit]], next_cursor)


def probe_size(limit: int) -> int:
    """How many of the newest postings the walk tests before the plain query runs."""
    return max(500, 10 * (limit + 1))


async def _fetch_page(connection: asyncpg.Connection, posting_filter: PostingFilter, limit: int,
                      cursor: Cursor | None, *, probe: int | None) -> list[asyncpg.Record]:
    sql, values = search_sql(posting_filter, limit=limit, cursor=cursor, probe=probe)
    return list(await connection.fetch(sql, *values))


def search_sql(posting_filter: PostingFilter, *, limit: int = DEFAULT_LIMIT, cursor: Cursor | None = None,
               probe: int | None = None) -> tuple[str, list[Any]]:
    """The SQL and values of one search query: with `probe`, the walk over at most that many
    newest postings (see `search_postings`); without, the plain query. Also what EXPLAIN and
    the benchmark's raw-asyncpg baseline run. Rows: posted_at, platform, external_id (the
    cursor) and `item`, the list item as JSON text."""
    params = SqlParams()
    if probe is None:
        inner = (f"SELECT {_COLUMNS}, p.description FROM postings p "
                 f"WHERE {posting_filter.where(params, 'p')} AND {_keyset(params, cursor, 'p.')} "
                 f"ORDER BY {ORDER_BY.format(a='p.')} LIMIT {params.add(limit + 1)}")
    else:
        # The window's sort key is an output column, so the planner knows the window comes
        # out in list order: the outer LIMIT stops the walk as soon as a page is full
        # (without it, every row of the window would be tested and sorted first).
        window = (f"SELECT {_COLUMNS}, p.description, coalesce(p.posted_at, '-infinity'::timestamptz) AS sort_ts "
                  f"FROM postings p "
                  f"WHERE {posting_filter.where(params, 'p', text='none')} AND {_keyset(params, cursor, 'p.')} "
                  f"ORDER BY {ORDER_BY.format(a='p.')} LIMIT {params.add(probe)}")
        inner = (f"SELECT w.* FROM ({window}) w WHERE {posting_filter.where(params, 'w', text='plain')} "
                 f"ORDER BY w.sort_ts DESC, w.platform DESC, w.external_id DESC LIMIT {params.add(limit + 1)}")
    lateral, excerpt = _snippet_sql(params, posting_filter, "page.")
    sql = (f"SELECT page.posted_at, page.platform, page.external_id, "
           f"{item_json_sql('page.', 's.', snippet=excerpt)} AS item "
           f"FROM ({inner}) page LEFT JOIN posting_seen s USING (platform, external_id) {lateral} "
           f"ORDER BY {ORDER_BY.format(a='page.')}")
    return sql, params.values


# --- exports --------------------------------------------------------------------------------------


async def _export_batches(connection: asyncpg.Connection, posting_filter: PostingFilter, *, batch: int,
                          max_rows: int | None, as_json: bool) -> AsyncIterator[list[asyncpg.Record]]:
    """Every matching posting in the list order, in keyset batches: each batch is its own
    short statement, so no transaction stays open while a slow client reads, and the
    statement timeout applies per batch."""
    cursor: Cursor | None = None
    sent = 0
    select = f"{item_json_sql('p.', 's.', snippet=None)} AS item" if as_json else "p.*, s.last_seen_at"
    while True:
        params = SqlParams()
        size = batch if max_rows is None else min(batch, max_rows - sent)
        if size <= 0:
            return
        sql = (f"SELECT p.posted_at AS sort_posted_at, p.platform AS sort_platform, p.external_id AS sort_id, "
               f"{select} FROM ("
               f"SELECT {_COLUMNS}, p.description FROM postings p "
               f"WHERE {posting_filter.where(params, 'p')} AND {_keyset(params, cursor, 'p.')} "
               f"ORDER BY {ORDER_BY.format(a='p.')} LIMIT {params.add(size)}) p "
               f"LEFT JOIN posting_seen s USING (platform, external_id) ORDER BY {ORDER_BY.format(a='p.')}")
        rows = await connection.fetch(sql, *params.values)
        if rows:
            yield rows
        sent += len(rows)
        if len(rows) < size:
            return
        last = rows[-1]
        cursor = Cursor(last["sort_posted_at"], last["sort_platform"], last["sort_id"])


async def iter_postings(connection: asyncpg.Connection, posting_filter: PostingFilter, *,
                        batch: int = 500, max_rows: int | None = None) -> AsyncIterator[dict[str, Any]]:
    """Every matching posting in the list order as a dict in the contract's formats, full
    description included (EXPORT_FIELDS)."""
    async for rows in _export_batches(connection, posting_filter, batch=batch, max_rows=max_rows, as_json=False):
        for row in rows:
            yield posting_record(row, EXPORT_FIELDS)


async def iter_posting_json(connection: asyncpg.Connection, posting_filter: PostingFilter, *,
                            batch: int = 500, max_rows: int | None = None) -> AsyncIterator[str]:
    """The same postings as JSON text, one object each (built by PostgreSQL), for JSON Lines."""
    async for rows in _export_batches(connection, posting_filter, batch=batch, max_rows=max_rows, as_json=True):
        for row in rows:
            yield row["item"]


# --- one posting -----------------------------------------------------------------------------------

POSTING_SQL = f"""
SELECT {', '.join('p.' + name for name in CONTRACT_FIELDS)}, p.first_seen_at, p.changed_at, s.last_seen_at,
       coalesce((
           SELECT json_agg(json_build_object(
                      'changed_at', c.changed_at, 'run_id', c.run_id, 'changed_fields', c.changed_fields,
                      'old_values', c.old_values, 'new_values', c.new_values)
                  ORDER BY c.changed_at DESC, c.id DESC)
           FROM posting_changes c
           WHERE c.platform = p.platform AND c.external_id = p.external_id
       ), '[]'::json) AS history
FROM postings p
LEFT JOIN posting_seen s USING (platform, external_id)
WHERE p.platform = $1 AND p.external_id = $2
"""


async def get_posting(connection: asyncpg.Connection, platform: str, external_id: str) -> dict[str, Any] | None:
    """One posting (every contract field, the extras) with its change history, newest change
    first, in one query (json_agg); None when there is no such posting."""
    row = await connection.fetchrow(POSTING_SQL, platform, external_id)
    if row is None:
        return None
    posting = posting_record(row, EXPORT_FIELDS)
    history = row["history"]
    posting["history"] = [
        {
            "changed_at": iso_utc(datetime.fromisoformat(change["changed_at"])),
            "run_id": change["run_id"],
            "changed_fields": change["changed_fields"],
            "old_values": change["old_values"],
            "new_values": change["new_values"],
        }
        for change in history
    ]
    return posting
