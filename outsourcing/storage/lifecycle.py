"""What happens to a platform's data between runs: the incremental watermark, and postings
that stopped appearing.

- Watermark: after a run that finished cleanly (exit status 0), the newest `posted_at` among
  the postings that run saw becomes the platform's watermark (never moved back). An
  incremental run (`-a mode=incremental`) reads listings newest first and stops paging once a
  page holds only postings older than it. A run that was killed or failed leaves it alone, so
  nothing between the old watermark and the newest posting is skipped next time.
- Closing: after a clean, unfiltered *full* run that read the whole listing, open postings of that platform not seen for
  `CLOSE_UNSEEN_AFTER_DAYS` days are marked `closed`, with a history row and a new content
  hash, exactly as if the platform had said so. A posting that reappears opens again the
  same way (its hash differs from the closed version).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg

from outsourcing.items import CONTRACT_FIELDS, content_hash
from outsourcing.storage.writer import canonical


async def load_watermark(connection: asyncpg.Connection | asyncpg.Pool, platform: str, scope: str = "") -> datetime | None:
    return await connection.fetchval(
        "SELECT newest_posted_at FROM platform_watermarks WHERE platform = $1 AND scope = $2", platform, scope)


async def advance_watermark(connection: asyncpg.Connection | asyncpg.Pool, platform: str, run_id: int,
                            scope: str = "") -> datetime | None:
    """Move the watermark of (platform, scope) to the newest posting this run saw (never back)."""
    return await connection.fetchval(
        """
        INSERT INTO platform_watermarks AS w (platform, scope, newest_posted_at, run_id, updated_at)
        SELECT $1, $3, max(p.posted_at), $2, now()
        FROM posting_seen s JOIN postings p USING (platform, external_id)
        WHERE s.platform = $1 AND s.last_run_id = $2
        HAVING max(p.posted_at) IS NOT NULL
        ON CONFLICT (platform, scope) DO UPDATE
            SET newest_posted_at = greatest(w.newest_posted_at, EXCLUDED.newest_posted_at),
                run_id = EXCLUDED.run_id, updated_at = now()
        RETURNING newest_posted_at
        """,
        platform, run_id, scope,
    )


async def stored_status(connection: asyncpg.Connection | asyncpg.Pool, platform: str, ids: list[str],
                        scope: str = "") -> dict[str, bool]:
    """Which of `ids` are stored, each with whether a covering run stored it first: a run of this
    platform and watermark scope that finished cleanly (exit 0) with its listing complete (read
    to its end or down to what earlier runs covered; crawl_runs.listing_complete). Such a run
    left every posting listed below it stored; one stored by a killed run does not count, as
    that run may have stored out of order."""
    rows = await connection.fetch(
        """
        WITH covering AS (
            SELECT max(id) AS id FROM crawl_runs
            WHERE spider = $1 AND exit_code = 0 AND watermark_scope = $3 AND listing_complete)
        SELECT p.external_id, coalesce(p.first_run_id <= (SELECT id FROM covering), false) AS covered
        FROM postings p WHERE p.platform = $1 AND p.external_id = ANY($2::text[])
        """,
        platform, ids, scope,
    )
    return {row["external_id"]: row["covered"] for row in rows}


async def close_unseen(connection: asyncpg.Connection, platform: str, days: float, run_id: int | None) -> int:
    """Mark open postings of `platform` not seen for `days` days as closed; return how many."""
    columns = ", ".join(f"p.{name}" for name in CONTRACT_FIELDS)
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(727275, hashtext($1))", platform)
        rows = await connection.fetch(
            f"""
            SELECT {columns} FROM postings p JOIN posting_seen s USING (platform, external_id)
            WHERE p.platform = $1 AND p.status IS DISTINCT FROM 'closed'
              AND s.last_seen_at < now() - make_interval(secs => $2)
            """,
            platform, days * 86400,
        )
        now = datetime.now(UTC)
        for row in rows:
            values = {name: canonical(name, row[name]) for name in CONTRACT_FIELDS}
            old_status = values["status"]
            values["status"] = "closed"
            await connection.execute(
                "UPDATE postings SET status = 'closed', content_hash = $3, changed_at = $4 "
                "WHERE platform = $1 AND external_id = $2",
                platform, row["external_id"], content_hash(values), now,
            )
            await connection.execute(
                "INSERT INTO posting_changes (platform, external_id, changed_at, run_id, changed_fields, old_values, new_values) "
                "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
                platform, row["external_id"], now, run_id, ["status"],
                json.dumps({"status": old_status}), json.dumps({"status": "closed"}),
            )
    return len(rows)

