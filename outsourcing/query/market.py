"""Market figures: postings per platform and day, budget quartiles, top skills. Every figure
comes with the number of postings behind it, its period and the time zone of its days
(contract); amounts are never mixed across currencies or budget types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from outsourcing.query.filters import PostingFilter, SqlParams
from outsourcing.query.postings import iso_utc, json_number

DEFAULT_TIME_ZONE = "Asia/Seoul"
MAX_DAYS = 366


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Seoul or UTC") from error
    return name


def _period(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(days=days), end


async def postings_per_day(connection: asyncpg.Connection, posting_filter: PostingFilter, *, days: int = 30,
                           time_zone: str = DEFAULT_TIME_ZONE) -> dict[str, Any]:
    """Postings per platform and calendar day of `posted_at` in `time_zone`, over the last
    `days` days (postings without posted_at are counted apart: they have no day)."""
    start, end = _period(days)
    params = SqlParams()
    zone = params.add(check_time_zone(time_zone))
    where = posting_filter.where(params, "p")
    lower, upper = params.add(start), params.add(end)
    rows = await connection.fetch(
        f"""SELECT p.platform, (p.posted_at AT TIME ZONE {zone})::date AS day, count(*) AS n
            FROM postings p
            WHERE {where} AND p.posted_at >= {lower} AND p.posted_at < {upper}
            GROUP BY 1, 2 ORDER BY 2 DESC, 1""",
        *params.values)
    params = SqlParams()
    undated = await connection.fetch(
        f"""SELECT p.platform, count(*) AS n FROM postings p
            WHERE {posting_filter.where(params, 'p')} AND p.posted_at IS NULL GROUP BY 1 ORDER BY 1""",
        *params.values)
    return {
        "period": {"from": iso_utc(start), "to": iso_utc(end), "time_zone": time_zone, "days": days},
        "n": sum(row["n"] for row in rows),
        "days": [{"platform": row["platform"], "day": row["day"].isoformat(), "n": row["n"]} for row in rows],
        "without_posted_at": [{"platform": row["platform"], "n": row["n"]} for row in undated],
    }


async def budget_quartiles(connection: asyncpg.Connection, posting_filter: PostingFilter, *, days: int = 90,
                           min_postings: int = 1) -> dict[str, Any]:
    """Quartiles of the amount per platform, category, budget type and currency, over postings
    posted in the last `days` days that have an amount. The amount of a posting is the middle
    of its range (its only amount when one bound is open)."""
    start, end = _period(days)
    params = SqlParams()
    where = posting_filter.where(params, "p")
    lower, upper, least = params.add(start), params.add(end), params.add(min_postings)
    rows = await connection.fetch(
        f"""SELECT p.platform, p.category, p.budget_type, p.currency, count(*) AS n,
                   percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY amount) AS quartiles
            FROM postings p,
                 LATERAL (SELECT (coalesce(p.budget_min, p.budget_max) + coalesce(p.budget_max, p.budget_min)) / 2
                          AS amount) a
            WHERE {where} AND a.amount IS NOT NULL AND p.currency IS NOT NULL AND p.budget_type IS NOT NULL
              AND p.posted_at >= {lower} AND p.posted_at < {upper}
            GROUP BY 1, 2, 3, 4 HAVING count(*) >= {least}
            ORDER BY n DESC, 1, 2, 3, 4 LIMIT 500""",
        *params.values)
    groups = []
    for row in rows:
        q1, median, q3 = (json_number(_decimal(value)) for value in row["quartiles"])
        groups.append({"platform": row["platform"], "category": row["category"], "budget_type": row["budget_type"],
                       "currency": row["currency"], "n": row["n"], "q1": q1, "median": median, "q3": q3})
    return {"period": {"from": iso_utc(start), "to": iso_utc(end), "time_zone": "UTC", "days": days},
            "n": sum(group["n"] for group in groups), "groups": groups}


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 2)))


async def top_skills(connection: asyncpg.Connection, posting_filter: PostingFilter, *, days: int = 90,
                     limit: int = 30) -> dict[str, Any]:
    """The most asked-for skills (case-insensitive), with how many postings name each."""
    start, end = _period(days)
    params = SqlParams()
    where = posting_filter.where(params, "p")
    lower, upper, top = params.add(start), params.add(end), params.add(limit)
    rows = await connection.fetch(
        f"""WITH matching AS (
                SELECT p.skills FROM postings p
                WHERE {where} AND p.posted_at >= {lower} AND p.posted_at < {upper})
            SELECT s.skill, count(*) AS n, (SELECT count(*) FROM matching) AS total
            FROM matching m, LATERAL (SELECT DISTINCT lower(x) AS skill FROM unnest(m.skills) x) s
            GROUP BY s.skill ORDER BY n DESC, s.skill LIMIT {top}""",
        *params.values)
    total = rows[0]["total"] if rows else 0
    return {"period": {"from": iso_utc(start), "to": iso_utc(end), "time_zone": "UTC", "days": days},
            "n": total, "skills": [{"skill": row["skill"], "n": row["n"]} for row in rows]}
