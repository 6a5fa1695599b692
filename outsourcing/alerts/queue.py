"""The database is the queue: saved searches, the outbox, matching, claiming, the ledger.

Flow (schema.sql, block 6):

1. The crawler's writer inserts or changes postings; statement-level triggers add the keys to
   `alert_events` in the same transaction and NOTIFY `outsourcing_alerts` at its commit. The
   crawler's code is not touched and pays nothing per row while no search is enabled.
2. `match_events` (one dispatcher at a time: a transaction-level advisory try-lock) takes a batch
   of events, runs each enabled search's PostingFilter (the read API's one query builder) as
   SQL over the postings those events name, inserts one delivery per (search, channel, posting
   version) and its message, and deletes the events, all in one transaction: an event is
   matched exactly once, and a dispatcher that dies mid-way leaves it for the next.
3. `claim` takes due messages with FOR UPDATE SKIP LOCKED (several dispatchers never take the
   same one), marks them `sending` with a lease and writes the attempt into the ledger before
   anything is sent. A lease is taken over when it expires or, at once, when its holder's
   liveness lock is gone (its process died: PostgreSQL dropped the session's advisory lock).
4. `complete` records the receiver's answer: delivered only if this dispatcher still holds the
   lease (else the ledger says `lease_lost`), so a message has at most one acknowledged
   attempt; a failure schedules the next attempt with backoff, or marks the message failed.

This module writes only the alert_* tables; postings and the crawler's tables are only read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from outsourcing.alerts.config import AlertsConfig
from outsourcing.alerts.messages import idempotency_key
from outsourcing.items import CONTRACT_FIELDS
from outsourcing.query.filters import PostingFilter, SqlParams

#: Advisory lock namespace of the alerts: (NS, 0) = the matcher; (NS, key) = a live dispatcher.
LOCK_NAMESPACE = 727276
MATCHER_LOCK = 0
NOTIFY_CHANNEL = "outsourcing_alerts"
SCHEMA_VERSION = 6
DIGEST_SIZE = 50



async def init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await connection.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# --- searches ----------------------------------------------------------------------------------------


SYNC_SEARCH = """
INSERT INTO alert_searches AS s (name, filter, channels, changes, change_fields, digest_minutes, enabled,
                                 active_from, synced_by)
VALUES ($1, $2::jsonb, $3, $4, $5, $6, true, now(), $7)
ON CONFLICT (name) DO UPDATE SET
    filter = EXCLUDED.filter, channels = EXCLUDED.channels, changes = EXCLUDED.changes,
    change_fields = EXCLUDED.change_fields, digest_minutes = EXCLUDED.digest_minutes, enabled = true,
    -- a search switched back on starts from now too: what was committed meanwhile is not news
    active_from = CASE WHEN s.enabled THEN s.active_from ELSE now() END,
    updated_at = now(), synced_by = EXCLUDED.synced_by
RETURNING name, active_from, (xmax = 0) AS created
"""


async def sync_searches(connection: asyncpg.Connection, config: AlertsConfig, node: str) -> list[asyncpg.Record]:
    """Store this config's searches (filters as JSON, channel names). A new search starts from
    now: postings committed before it never alert (unless backfilled). Searches that are not in
    this config are left alone: another node may own them (`scrapy alerts disable` turns one off)."""
    rows = []
    async with connection.transaction():
        for search in config.searches:
            rows.append(await connection.fetchrow(
                SYNC_SEARCH, search.name, search.filter_json(), list(search.channels), search.changes,
                list(search.change_fields) if search.change_fields else None, search.digest_minutes, node))
    return rows


async def set_enabled(connection: asyncpg.Connection, name: str, enabled: bool) -> bool:
    status = await connection.execute(
        "UPDATE alert_searches SET enabled = $2, updated_at = now(), "
        "active_from = CASE WHEN $2 AND NOT enabled THEN now() ELSE active_from END WHERE name = $1",
        name, enabled)
    return status.endswith(" 1")


@dataclass
class StoredSearch:
    name: str
    filter: PostingFilter
    channels: list[str]
    changes: bool
    change_fields: list[str] | None
    digest_minutes: int | None
    active_from: datetime


async def enabled_searches(connection: asyncpg.Connection) -> list[StoredSearch]:
    rows = await connection.fetch("SELECT * FROM alert_searches WHERE enabled ORDER BY name")
    searches = []
    for row in rows:
        searches.append(StoredSearch(
            name=row["name"], filter=PostingFilter.from_mapping(row["filter"]), channels=list(row["channels"]),
            changes=row["changes"], change_fields=list(row["change_fields"]) if row["change_fields"] else None,
            digest_minutes=row["digest_minutes"], active_from=row["active_from"]))
    return searches


# --- matching ------------------------------------------------------------------------------------------


def match_sql(search: StoredSearch, source: Callable[[SqlParams], str]) -> tuple[str, SqlParams]:
    """One search over a set of candidate postings: insert its deliveries (and, unless it is a
    digest search, one message each). `source(params)` gives a query yielding (platform,
    external_id, kind, recorded_at): the collapsed events, or the postings of a backfill.

    The search's filter is PostingFilter.where, the same SQL the read API runs. A posting alerts
    a search once (version ''); with `changes`, a later change of a posting the search already
    alerted alerts again, keyed by the change's time. The primary key of alert_deliveries makes
    both idempotent (ON CONFLICT DO NOTHING): matching the same event twice creates nothing.
    """
    params = SqlParams()
    source_sql = source(params)
    name = params.add(search.name)
    # Rows are tested one by one here (no index can help a few candidates): every field condition
    # plus the plain substring test of each search term, which the filter model defines as
    # exactly what the index-assisted form finds (outsourcing/query/filters.py).
    where = f"{search.filter.where(params, 'p', text='none')} AND {search.filter.where(params, 'p', text='plain')}"
    active_from = params.add(search.active_from)
    channels = params.add(search.channels)
    changes = params.add(search.changes)
    change_fields = params.add(search.change_fields)
    digest = params.add(search.digest_minutes is not None)
    version = "to_char(m.changed_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS.US\"Z\"')"
    sql = f"""
WITH e AS ({source_sql}),
-- The candidates by primary key first, the filter after: with the filter's conditions in the same
-- join the planner may pick another index on platform and walk a whole platform per event.
candidates AS MATERIALIZED (
    SELECT p.*, e.kind AS event_kind, e.recorded_at AS event_recorded_at
    FROM e JOIN postings p ON p.platform = e.platform AND p.external_id = e.external_id
    WHERE e.recorded_at >= {active_from}
),
matched AS (
    SELECT p.platform, p.external_id, p.event_kind AS kind, p.event_recorded_at AS recorded_at, p.changed_at,
           EXISTS (SELECT 1 FROM alert_deliveries d
                   WHERE d.search = {name} AND d.platform = p.platform AND d.external_id = p.external_id
                     AND d.version = '') AS alerted
    FROM candidates p
    WHERE {where}
),
wanted AS (
    SELECT {name}::text AS search, c.channel, m.platform, m.external_id, m.kind, m.recorded_at,
           CASE WHEN m.kind = 'new' THEN '' ELSE {version} END AS version,
           CASE WHEN m.kind = 'new' THEN NULL ELSE m.changed_at END AS change_at,
           CASE WHEN {digest} THEN NULL ELSE nextval('alert_messages_id_seq') END AS message_id
    FROM matched m CROSS JOIN unnest({channels}::text[]) AS c(channel)
    WHERE (m.kind = 'new' AND NOT m.alerted)
       OR (m.kind = 'changed' AND m.alerted AND {changes} AND m.changed_at IS NOT NULL
           AND ({change_fields}::text[] IS NULL OR EXISTS (
               SELECT 1 FROM posting_changes pc
               WHERE pc.platform = m.platform AND pc.external_id = m.external_id
                 AND pc.changed_at = m.changed_at AND pc.changed_fields && {change_fields}::text[])))
),
delivered AS (
    INSERT INTO alert_deliveries (search, channel, platform, external_id, version, kind, event_at, change_at, message_id)
    SELECT search, channel, platform, external_id, version, kind, recorded_at, change_at, message_id FROM wanted
    ON CONFLICT DO NOTHING
    RETURNING search, channel, platform, external_id, version, message_id
),
messages AS (
    INSERT INTO alert_messages (id, search, channel, key)
    SELECT w.message_id, w.search, w.channel, outsourcing_alert_key(w.search, w.platform, w.external_id, w.version)
    FROM delivered w WHERE w.message_id IS NOT NULL
    RETURNING id
)
SELECT (SELECT count(*) FROM delivered) AS deliveries, (SELECT count(*) FROM messages) AS messages
"""
    return sql, params


EVENTS_SOURCE = """
    SELECT platform, external_id,
           -- several events of one posting in a batch: 'new' wins (its first alert shows the current
           -- version); the newest time decides whether the search was active
           CASE WHEN bool_or(kind = 'new') THEN 'new' ELSE 'changed' END AS kind, max(recorded_at) AS recorded_at
    FROM unnest({ids}::bigint[], {platforms}::text[], {external_ids}::text[], {kinds}::text[], {times}::timestamptz[])
         AS ev(id, platform, external_id, kind, recorded_at)
    GROUP BY platform, external_id
"""


@dataclass
class MatchResult:
    events: int = 0
    deliveries: int = 0
    messages: int = 0
    busy: bool = False   # another dispatcher holds the matcher lock


async def match_events(connection: asyncpg.Connection, batch: int = 2000) -> MatchResult:
    """Match one batch of outbox events against every enabled search and delete them; form the
    digests that are due. One transaction; skipped when another dispatcher is matching."""
    result = MatchResult()
    async with connection.transaction():
        if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", LOCK_NAMESPACE, MATCHER_LOCK):
            result.busy = True
            return result
        events = await connection.fetch(
            "SELECT id, platform, external_id, kind, recorded_at FROM alert_events ORDER BY id LIMIT $1", batch)
        searches = await enabled_searches(connection)
        if events:
            result.events = len(events)
            columns = [[row[name] for row in events] for name in ("id", "platform", "external_id", "kind", "recorded_at")]

            def source(params: SqlParams) -> str:
                placeholders = {name: params.add(values) for name, values in
                                zip(("ids", "platforms", "external_ids", "kinds", "times"), columns, strict=True)}
                return EVENTS_SOURCE.format(**placeholders)

            for search in searches:
                sql, params = match_sql(search, source)
                row = await connection.fetchrow(sql, *params.values)
                result.deliveries += row["deliveries"]
                result.messages += row["messages"]
            await connection.execute("DELETE FROM alert_events WHERE id = ANY($1::bigint[])", columns[0])
        result.messages += await _form_digests(connection, searches)
        if result.messages:
            # Wake every dispatcher (other nodes too) at this commit: they claim with SKIP LOCKED.
            await connection.execute("SELECT pg_notify($1, 'messages')", NOTIFY_CHANNEL)
    return result


async def _form_digests(connection: asyncpg.Connection, searches: Sequence[StoredSearch]) -> int:
    """Digest searches: when a (search, channel) sent no digest in the last N minutes and has
    postings waiting, put them into digest messages (up to DIGEST_SIZE postings each). So a quiet
    search still alerts at once, and a noisy one sends at most one message per N minutes."""
    made = 0
    for search in searches:
        if search.digest_minutes is None:
            continue
        for channel in search.channels:
            recent = await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM alert_messages WHERE search = $1 AND channel = $2 AND digest "
                "AND created_at > now() - make_interval(mins => $3))", search.name, channel, search.digest_minutes)
            if recent:
                continue
            waiting = await connection.fetch(
                "SELECT platform, external_id, version FROM alert_deliveries "
                "WHERE search = $1 AND channel = $2 AND message_id IS NULL ORDER BY matched_at, platform, external_id",
                search.name, channel)
            for start in range(0, len(waiting), DIGEST_SIZE):
                chunk = waiting[start:start + DIGEST_SIZE]
                message_id = await connection.fetchval("SELECT nextval('alert_messages_id_seq')")
                key = idempotency_key(search.name, "digest", str(message_id))
                await connection.execute(
                    "INSERT INTO alert_messages (id, search, channel, key, digest) VALUES ($1, $2, $3, $4, true)",
                    message_id, search.name, channel, key)
                await connection.execute(
                    "UPDATE alert_deliveries d SET message_id = $1 FROM unnest($4::text[], $5::text[], $6::text[]) "
                    "AS k(platform, external_id, version) WHERE d.search = $2 AND d.channel = $3 "
                    "AND d.platform = k.platform AND d.external_id = k.external_id AND d.version = k.version",
                    message_id, search.name, channel, [r["platform"] for r in chunk],
                    [r["external_id"] for r in chunk], [r["version"] for r in chunk])
                made += 1
    return made


async def backfill(connection: asyncpg.Connection, name: str, since: datetime) -> MatchResult:
    """Alert a search's matching postings first seen since `since` (a new search starts from
    now; this is the way back). Postings it already alerted are skipped (same keys)."""
    result = MatchResult()
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_NAMESPACE, MATCHER_LOCK)
        searches = [s for s in await enabled_searches(connection) if s.name == name]
        if not searches:
            raise LookupError(f"no enabled saved search named {name!r} (sync the config first: scrapy alerts sync)")
        search = searches[0]
        search.active_from = since

        def source(params: SqlParams) -> str:
            return (f"SELECT platform, external_id, 'new'::text AS kind, first_seen_at AS recorded_at "
                    f"FROM postings WHERE first_seen_at >= {params.add(since)}")

        sql, params = match_sql(search, source)
        row = await connection.fetchrow(sql, *params.values)
        result.deliveries, result.messages = row["deliveries"], row["messages"]
        result.messages += await _form_digests(connection, [search])
        if result.messages:
            await connection.execute("SELECT pg_notify($1, 'messages')", NOTIFY_CHANNEL)
    return result


# --- claiming and completing -------------------------------------------------------------------------------

CLAIM = f"""
WITH live AS MATERIALIZED (
    -- dispatchers alive now: each holds the session advisory lock ({LOCK_NAMESPACE}, its lease_key)
    SELECT l.objid::bigint AS lease_key FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = {LOCK_NAMESPACE} AND l.objsubid = 2 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
claimable AS (
    SELECT m.id FROM alert_messages m
    JOIN unnest($1::text[], $2::text[]) AS r(search, channel) ON r.search = m.search AND r.channel = m.channel
    WHERE (m.status = 'pending' AND m.next_attempt_at <= now())
       OR (m.status = 'sending' AND (m.lease_until < now() OR m.lease_key NOT IN (SELECT lease_key FROM live)))
    ORDER BY m.next_attempt_at, m.id
    LIMIT $3
    FOR UPDATE OF m SKIP LOCKED
),
claimed AS (
    UPDATE alert_messages m
    SET status = 'sending', attempts = m.attempts + 1, lease_until = now() + make_interval(secs => $4),
        leased_by = $5, lease_key = $6
    FROM claimable c WHERE m.id = c.id
    RETURNING m.id, m.search, m.channel, m.key, m.digest, m.attempts, m.retry_base
),
interrupted AS (
    -- attempts of a dispatcher that died (or lost its lease) while sending
    UPDATE alert_attempts a SET outcome = 'interrupted', finished_at = clock_timestamp(),
           error = 'the dispatcher stopped before the receiver answered (process killed or lease expired)'
    FROM claimed c WHERE a.message_id = c.id AND a.outcome IS NULL
),
started AS (
    INSERT INTO alert_attempts (message_id, attempt, node) SELECT id, attempts, $5 FROM claimed
    RETURNING id, message_id
)
SELECT c.*, s.id AS attempt_id FROM claimed c JOIN started s ON s.message_id = c.id ORDER BY c.id
"""

_POSTING_COLUMNS = ", ".join(f"p.{name}" for name in CONTRACT_FIELDS)
MESSAGE_POSTINGS = f"""
SELECT d.message_id, d.search, d.version, d.kind, d.event_at, d.change_at,
       {_POSTING_COLUMNS}, p.first_seen_at, p.changed_at, s.last_seen_at,
       c.changed_fields AS change_fields, c.old_values AS change_old, c.new_values AS change_new
FROM alert_deliveries d
JOIN postings p ON p.platform = d.platform AND p.external_id = d.external_id
LEFT JOIN posting_seen s ON s.platform = d.platform AND s.external_id = d.external_id
LEFT JOIN LATERAL (
    SELECT pc.changed_fields, pc.old_values, pc.new_values FROM posting_changes pc
    WHERE pc.platform = d.platform AND pc.external_id = d.external_id AND pc.changed_at = d.change_at
    ORDER BY pc.id DESC LIMIT 1
) c ON d.change_at IS NOT NULL
WHERE d.message_id = ANY($1::bigint[])
ORDER BY d.message_id, d.event_at, d.platform, d.external_id
"""


@dataclass
class Claimed:
    message_id: int
    search: str
    channel: str
    key: str
    digest: bool
    attempt: int        # this attempt's number (attempts so far, this one included)
    retry_base: int
    attempt_id: int     # its ledger row


async def claim(connection: asyncpg.Connection, routes: Sequence[tuple[str, str]], *, limit: int,
                lease_seconds: float, node: str, lease_key: int) -> list[Claimed]:
    if not routes or limit <= 0:
        return []
    rows = await connection.fetch(CLAIM, [s for s, _ in routes], [c for _, c in routes], limit, lease_seconds,
                                  node, lease_key)
    return [Claimed(message_id=row["id"], search=row["search"], channel=row["channel"], key=row["key"],
                    digest=row["digest"], attempt=row["attempts"], retry_base=row["retry_base"],
                    attempt_id=row["attempt_id"]) for row in rows]


async def message_postings(connection: asyncpg.Connection, message_ids: Sequence[int]) -> list[asyncpg.Record]:
    return list(await connection.fetch(MESSAGE_POSTINGS, list(message_ids)))


COMPLETE_OK = """
WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[]) AS r(message_id, attempt, attempt_id, http_status)
),
done AS (
    UPDATE alert_messages m SET status = 'delivered', delivered_at = clock_timestamp(), lease_until = NULL,
           lease_key = NULL, last_error = NULL
    FROM r WHERE m.id = r.message_id AND m.status = 'sending' AND m.leased_by = $5 AND m.attempts = r.attempt
    RETURNING m.id
)
UPDATE alert_attempts a SET finished_at = clock_timestamp(), http_status = r.http_status,
       outcome = CASE WHEN r.message_id IN (SELECT id FROM done) THEN 'acknowledged' ELSE 'lease_lost' END,
       error = CASE WHEN r.message_id IN (SELECT id FROM done) THEN NULL
                    ELSE 'acknowledged after this dispatcher lost the lease: another attempt owns the message' END
FROM r WHERE a.id = r.attempt_id
RETURNING a.outcome
"""

COMPLETE_FAILED = """
WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::float8[])
        AS r(message_id, attempt, attempt_id, http_status, outcome, error, retry_in)
),
done AS (
    UPDATE alert_messages m
    SET status = CASE WHEN m.attempts - m.retry_base >= $9 THEN 'failed' ELSE 'pending' END,
        next_attempt_at = clock_timestamp() + make_interval(secs => r.retry_in),
        lease_until = NULL, lease_key = NULL, last_error = r.error
    FROM r WHERE m.id = r.message_id AND m.status = 'sending' AND m.leased_by = $8 AND m.attempts = r.attempt
    RETURNING m.id, m.status
)
UPDATE alert_attempts a SET finished_at = clock_timestamp(), http_status = r.http_status,
       outcome = CASE WHEN r.message_id IN (SELECT id FROM done) THEN r.outcome ELSE 'lease_lost' END, error = r.error
FROM r WHERE a.id = r.attempt_id
RETURNING (SELECT count(*) FROM done WHERE done.status = 'failed') AS failed
"""


async def complete_ok(connection: asyncpg.Connection, done: Sequence[tuple[Claimed, int | None]], node: str) -> int:
    """Record acknowledged attempts; return how many counted (the others had lost their lease)."""
    if not done:
        return 0
    rows = await connection.fetch(COMPLETE_OK, [c.message_id for c, _ in done], [c.attempt for c, _ in done],
                                  [c.attempt_id for c, _ in done], [status for _, status in done], node)
    return sum(1 for row in rows if row["outcome"] == "acknowledged")


async def complete_failed(connection: asyncpg.Connection,
                          failed: Sequence[tuple[Claimed, int | None, str, str, float]], node: str,
                          max_attempts: int) -> int:
    """Record failed attempts: (claimed, http status, outcome refused|error, error, retry in seconds).
    Return how many messages are now `failed` (out of attempts)."""
    if not failed:
        return 0
    rows = await connection.fetch(
        COMPLETE_FAILED, [c.message_id for c, *_ in failed], [c.attempt for c, *_ in failed],
        [c.attempt_id for c, *_ in failed], [f[1] for f in failed], [f[2] for f in failed],
        [f[3] for f in failed], [f[4] for f in failed], node, max_attempts)
    return int(rows[0]["failed"]) if rows else 0


async def next_due(connection: asyncpg.Connection, routes: Sequence[tuple[str, str]]) -> float | None:
    """Seconds until this dispatcher's next pending message is due (None: nothing pending)."""
    if not routes:
        return None
    value = await connection.fetchval(
        "SELECT extract(epoch FROM min(m.next_attempt_at) - now()) FROM alert_messages m "
        "JOIN unnest($1::text[], $2::text[]) AS r(search, channel) ON r.search = m.search AND r.channel = m.channel "
        "WHERE m.status = 'pending'", [s for s, _ in routes], [c for _, c in routes])
    return None if value is None else max(0.0, float(value))


# --- operations: status, retry, drop -----------------------------------------------------------------------

SEARCH_STATUS = """
SELECT s.name, s.enabled, s.channels, s.changes, s.change_fields, s.digest_minutes, s.active_from, s.filter,
       s.synced_by, s.updated_at,
       (SELECT max(m.delivered_at) FROM alert_messages m WHERE m.search = s.name) AS last_delivery,
       (SELECT count(*) FROM alert_messages m WHERE m.search = s.name AND m.status = 'delivered') AS delivered,
       (SELECT count(*) FROM alert_messages m WHERE m.search = s.name AND m.status IN ('pending', 'sending')) AS pending,
       (SELECT count(*) FROM alert_messages m WHERE m.search = s.name AND m.status = 'failed') AS failed,
       (SELECT count(*) FROM alert_messages m WHERE m.search = s.name AND m.status = 'dropped') AS dropped,
       (SELECT count(*) FROM alert_deliveries d WHERE d.search = s.name AND d.message_id IS NULL) AS waiting_digest
FROM alert_searches s ORDER BY s.name
"""

OPEN_MESSAGES = """
SELECT m.id, m.search, m.channel, m.key, m.digest, m.status, m.attempts, m.retry_base, m.next_attempt_at,
       m.lease_until, m.leased_by, m.created_at, m.last_error,
       (SELECT count(*) FROM alert_deliveries d WHERE d.message_id = m.id) AS postings
FROM alert_messages m
WHERE m.status IN ('pending', 'sending', 'failed') AND ($1::text IS NULL OR m.search = $1)
ORDER BY m.status = 'failed' DESC, m.id
LIMIT $2
"""


async def status(connection: asyncpg.Connection, *, search: str | None = None, limit: int = 50) -> dict[str, Any]:
    searches = [dict(row) for row in await connection.fetch(SEARCH_STATUS)]
    messages = [dict(row) for row in await connection.fetch(OPEN_MESSAGES, search, limit)]
    outbox = dict(await connection.fetchrow("SELECT count(*) AS events, min(recorded_at) AS oldest FROM alert_events"))
    return {"searches": searches, "messages": messages, "outbox": outbox}


async def retry(connection: asyncpg.Connection, *, ids: Sequence[int] = (), search: str | None = None,
                all_failed: bool = False) -> int:
    """Failed (or dropped) messages back to pending, due now, with a fresh attempt budget."""
    status_text = await connection.execute(
        "UPDATE alert_messages SET status = 'pending', next_attempt_at = now(), retry_base = attempts "
        "WHERE status IN ('failed', 'dropped') "
        "AND (id = ANY($1::bigint[]) OR ($3 AND status = 'failed' AND ($2::text IS NULL OR search = $2)))",
        list(ids), search, all_failed)
    count = int(status_text.rsplit(" ", 1)[-1])
    if count:
        await connection.execute("SELECT pg_notify($1, 'messages')", NOTIFY_CHANNEL)
    return count


async def drop(connection: asyncpg.Connection, *, ids: Sequence[int] = (), search: str | None = None,
               all_failed: bool = False) -> int:
    """Give up on pending or failed messages by hand: they stay visible as `dropped` (and can be
    retried); nothing is deleted."""
    status_text = await connection.execute(
        "UPDATE alert_messages SET status = 'dropped', lease_until = NULL, lease_key = NULL, "
        "last_error = coalesce(last_error || '; ', '') || 'dropped by hand at ' || now()::text "
        "WHERE status IN ('pending', 'failed') "
        "AND (id = ANY($1::bigint[]) OR ($3 AND status = 'failed' AND ($2::text IS NULL OR search = $2)))",
        list(ids), search, all_failed)
    return int(status_text.rsplit(" ", 1)[-1])


async def schema_version(connection: asyncpg.Connection) -> int | None:
    if not await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
        return None
    value = await connection.fetchval("SELECT max(version) FROM schema_version")
    return int(value) if value is not None else None
