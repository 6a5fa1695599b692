"""Crawl health: the last runs per platform with their outcome, and which platforms fail."""

from __future__ import annotations

from typing import Any

import asyncpg

from outsourcing.items import PLATFORMS
from outsourcing.query.postings import iso_utc

EXIT_OK = 0
DEFAULT_FAILING_THRESHOLD = 3  # like crawlall's FAILING_RUNS_THRESHOLD


def run_outcome(row: asyncpg.Record | dict[str, Any]) -> str:
    """ok, failed, or running (not finished: still going, or killed before it could record)."""
    if row["finished_at"] is None:
        return "running"
    return "ok" if row["exit_code"] == EXIT_OK else "failed"


async def crawl_health(connection: asyncpg.Connection, *, runs_per_platform: int = 5,
                       failing_threshold: int = DEFAULT_FAILING_THRESHOLD) -> dict[str, Any]:
    rows = await connection.fetch(
        """SELECT spider, id, mode, started_at, finished_at, finish_reason, exit_code, scraped, inserted, updated,
                  unchanged, dropped, errors, spilled, problems
           FROM (SELECT r.*, row_number() OVER (PARTITION BY spider ORDER BY started_at DESC, id DESC) AS n
                 FROM crawl_runs r) recent
           WHERE n <= $1
           ORDER BY spider, started_at DESC, id DESC""",
        max(runs_per_platform, failing_threshold))
    last_ok = {row["spider"]: row["finished_at"] for row in await connection.fetch(
        "SELECT spider, max(finished_at) AS finished_at FROM crawl_runs WHERE exit_code = 0 GROUP BY spider")}
    by_spider: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_spider.setdefault(row["spider"], []).append(row)
    platforms = []
    for spider in sorted(by_spider, key=lambda name: (PLATFORMS.index(name) if name in PLATFORMS else 99, name)):
        runs = by_spider[spider]
        finished = [run for run in runs if run["finished_at"] is not None][:failing_threshold]
        failing = len(finished) >= failing_threshold and all(run["exit_code"] != EXIT_OK for run in finished)
        platforms.append({
            "platform": spider,
            "failing": failing,
            "last_success_at": iso_utc(last_ok.get(spider)),
            "runs": [{
                "id": run["id"], "mode": run["mode"], "outcome": run_outcome(run),
                "started_at": iso_utc(run["started_at"]), "finished_at": iso_utc(run["finished_at"]),
                "finish_reason": run["finish_reason"], "exit_code": run["exit_code"],
                "scraped": run["scraped"], "inserted": run["inserted"], "updated": run["updated"],
                "unchanged": run["unchanged"], "dropped": run["dropped"], "errors": run["errors"],
                "spilled": run["spilled"], "problems": list(run["problems"] or []),
            } for run in runs[:runs_per_platform]],
        })
    return {
        "failing_threshold": failing_threshold,
        "failing": [platform["platform"] for platform in platforms if platform["failing"]],
        "platforms": platforms,
    }
