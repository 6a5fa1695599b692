"""A crawl's row in crawl_runs: started when the database is first reached, finished with the
outcome (outsourcing.outcome) and the run's counts when the crawl closes."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

import asyncpg

from outsourcing import stats as keys
from outsourcing.storage.writer import storable, storable_json

START_RUN = """
INSERT INTO crawl_runs (spider, mode, started_at, host, pid)
VALUES ($1, $2, to_timestamp($3), $4, $5) RETURNING id
"""
FINISH_RUN = """
UPDATE crawl_runs SET finished_at = now(), finish_reason = $2, exit_code = $3,
    scraped = $4, inserted = $5, updated = $6, unchanged = $7, dropped = $8,
    errors = $9, spilled = $10, replayed = $11, problems = $12, stats = $13::jsonb
WHERE id = $1
"""


async def start_run(pool: asyncpg.Pool, spider: str, mode: str, started_at: float) -> int:
    return int(await pool.fetchval(START_RUN, spider, mode, started_at, socket.gethostname(), os.getpid()))


async def finish_run(pool: asyncpg.Pool, run_id: int, reason: str, exit_code: int, problems: list[str],
                     stats: Mapping[str, Any]) -> None:
    """Record how the run ended. The counts come from the stats (outsourcing/stats.py)."""
    get = stats.get
    dropped = sum(v for k, v in stats.items() if k.startswith("item_dropped_reasons_count/"))
    await pool.execute(
        FINISH_RUN,
        run_id,
        storable(reason),
        exit_code,
        int(get("item_scraped_count", 0)) + int(get("item_dropped_count", 0)),
        int(get(keys.STORAGE_INSERTED, 0)),
        int(get(keys.STORAGE_UPDATED, 0)),
        int(get(keys.STORAGE_UNCHANGED, 0)),
        int(dropped or get("item_dropped_count", 0)),
        int(get(keys.ERRORS, 0)),
        int(get(keys.STORAGE_SPILLED, 0)),
        int(get(keys.STORAGE_REPLAYED, 0)),
        [storable(problem) for problem in problems],
        storable_json(dict(stats)),
    )
