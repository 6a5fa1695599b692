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


async def runs_in_period(connection: asyncpg.Connection, start: Any, end: Any,
                         platforms: list[str] | None = None) -> list[dict[str, Any]]:
    """Crawl runs started in [start, end), per platform: how many, their outcomes (ok, failed,
    running: the rules of `run_outcome`), postings per run and the errors they met. The median
    of postings per run is over finished runs (a run still going has not counted yet)."""
    rows = await connection.fetch(
        f"""SELECT spider AS platform, count(*) AS runs,
                   count(*) FILTER (WHERE finished_at IS NOT NULL AND exit_code = {EXIT_OK}) AS ok,
                   count(*) FILTER (WHERE finished_at IS NOT NULL AND exit_code IS DISTINCT FROM {EXIT_OK}) AS failed,
                   count(*) FILTER (WHERE finished_at IS NULL) AS running,
                   count(*) FILTER (WHERE finished_at IS NOT NULL) AS finished,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY scraped) FILTER (WHERE finished_at IS NOT NULL)
                       AS median_scraped,
                   sum(scraped) AS scraped, sum(inserted) AS inserted, sum(updated) AS updated,
                   sum(unchanged) AS unchanged, sum(dropped) AS dropped, sum(errors) AS errors,
                   sum(spilled) AS spilled, max(started_at) AS last_started_at,
                   max(finished_at) FILTER (WHERE exit_code = {EXIT_OK}) AS last_success_at
            FROM crawl_runs
            WHERE started_at >= $1 AND started_at < $2 AND (cardinality($3::text[]) = 0 OR spider = ANY($3::text[]))
            GROUP BY spider""",
        start, end, list(platforms or []))
    result = []
    for row in sorted(rows, key=lambda r: (PLATFORMS.index(r["platform"]) if r["platform"] in PLATFORMS else 99,
                                           r["platform"])):
        item = dict(row)
        item["last_started_at"] = iso_utc(item["last_started_at"])
        item["last_success_at"] = iso_utc(item["last_success_at"])
        median = item.pop("median_scraped")
        item["postings_per_run"] = {"n": item["finished"], "median": None if median is None else round(median, 1)}
        result.append(item)
    return result
