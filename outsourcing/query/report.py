"""The market report's figures, read in one statement.

The report asks many questions of the same postings (those posted in the period, and those of
the period before it for rising skills). Each of the API's figures on its own is a pass over
them; the report reads them once into a materialised CTE (`scope`: only the narrow columns the
figures need, never a description) and computes every figure from that, so that the whole
report costs about one read of the period's postings plus one of the history table, whatever
the number of figures (bench/report.py measures it against a sequential scan of postings).

The figures are the API's (outsourcing/query/market.py builds their SQL for both) and the
views of schema.sql block 7 (budget_changes, posting_closings): one definition each.

Sessions are read-only: the report runs on a pool from `create_read_only_pool`, and the
temporary files a large sort or a materialised CTE may need are not writes to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from outsourcing.query.filters import PostingFilter, SqlParams
from outsourcing.query.market import (
    BY_CATEGORY,
    BY_PLATFORM,
    BY_TYPE,
    SCOPE_COLUMNS,
    budget_group,
    budget_quartiles_sql,
    daily_counts_sql,
    in_period,
    quartile_values,
    skill_counts_sql,
)

#: The report's own schema block (views and functions of migration 7).
REPORT_SCHEMA_VERSION = 7
#: Budget fields: a history row touching one of them is a budget change (view budget_changes).
BUDGET_FIELDS = ("budget_min", "budget_max", "currency", "budget_type")


@dataclass(frozen=True)
class ReportPeriod:
    """[start, end) and the period of the same length before it, as instants; days and weeks
    are counted in `time_zone`."""

    start: datetime
    end: datetime
    previous_start: datetime
    time_zone: str


def _report_sql(params: SqlParams, posting_filter: PostingFilter, period: ReportPeriod, top_skills: int,
                min_rising: int) -> str:
    """One statement, one read of postings (`scope`, materialised once: the period and the one
    before it, only the columns the figures need), one read of the history, and from them each
    figure in one pass over the materialised rows (or over a smaller result: weeks are summed
    from days)."""
    start, end = params.add(period.start), params.add(period.end)
    zone = params.add(period.time_zone) + "::text"
    where = posting_filter.where(params, "p")
    # The period and the one before it in one range: one read of postings for both.
    both = in_period(params, period.previous_start, period.end)
    top, least = params.add(top_skills), params.add(min_rising)
    budgets = budget_quartiles_sql("current", [BY_TYPE, BY_PLATFORM, BY_CATEGORY])
    skills = skill_counts_sql("scope", {"n": "s.is_current", "previous_n": "NOT s.is_current"})
    return f"""
WITH scope AS MATERIALIZED (
    SELECT {SCOPE_COLUMNS}, p.posted_at >= {start}::timestamptz AS is_current
    FROM postings p WHERE {where} AND {both}),
current AS NOT MATERIALIZED (SELECT * FROM scope WHERE is_current),
-- The history of the period's postings up to the period's end (later changes are another
-- period's news): did the budget change (view budget_changes), when did the posting first close
-- (view posting_closings). Only history rows of the period's postings are aggregated.
-- Keys compared in the "C" collation (explicit on both sides): equality is the same, and a
-- sort the planner may choose for a merge join or a grouping compares bytes, not strcoll.
history AS (
    SELECT h.platform COLLATE "C" AS platform, h.external_id COLLATE "C" AS external_id,
           bool_or(h.budget) AS budget_changed, min(h.closed_at) AS closed_at
    FROM (SELECT b.platform, b.external_id, true AS budget, NULL::timestamptz AS closed_at
          FROM budget_changes b WHERE b.changed_at < {end}::timestamptz
          UNION ALL
          SELECT c.platform, c.external_id, false, c.closed_at
          FROM posting_closings c WHERE c.closed_at < {end}::timestamptz) h
    -- A join, not a semi-join: (platform, external_id) is unique in postings, hence in current.
    JOIN current s ON s.platform COLLATE "C" = h.platform COLLATE "C"
                  AND s.external_id COLLATE "C" = h.external_id COLLATE "C"
    GROUP BY 1, 2),
-- Days of both periods: the totals, the days and the weeks of the period come from it (a week
-- is the sum of its days: outsourcing_local_week is the Monday of outsourcing_local_day).
days AS MATERIALIZED ({daily_counts_sql('scope', zone, extra=['is_current'])}),
skills AS MATERIALIZED ({skills}),
lifecycle AS (
    SELECT platform COLLATE "C" AS platform, count(*) AS n, count(*) FILTER (WHERE budget_changed) AS budget_changed,
           count(closed_at) AS closed, count(*) FILTER (WHERE status = 'closed' AND closed_at IS NULL) AS closed_without_time,
           percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (
               ORDER BY extract(epoch FROM closed_at - posted_at) / 86400) AS days_to_close
    FROM (SELECT s.platform, s.status, s.posted_at, coalesce(h.budget_changed, false) AS budget_changed, h.closed_at
          FROM current s LEFT JOIN history h
               ON h.platform = s.platform COLLATE "C" AND h.external_id = s.external_id COLLATE "C") s
    GROUP BY GROUPING SETS ((platform COLLATE "C"), ()))
SELECT
    (SELECT coalesce(sum(n) FILTER (WHERE is_current), 0)::bigint FROM days) AS n,
    (SELECT coalesce(sum(n) FILTER (WHERE NOT is_current), 0)::bigint FROM days) AS previous_n,
    (SELECT json_agg(d ORDER BY d.day, d.platform) FROM (SELECT platform, day, n FROM days WHERE is_current) d) AS daily,
    (SELECT json_agg(w ORDER BY w.day, w.platform) FROM (
        SELECT platform, date_trunc('week', day)::date AS day, sum(n)::bigint AS n FROM days WHERE is_current
        GROUP BY 1, 2) w) AS weekly,
    (SELECT json_agg(b) FROM ({budgets}) b) AS budgets,
    (SELECT json_agg(k ORDER BY k.n DESC, k.skill) FROM (SELECT * FROM skills WHERE n > 0
                                                          ORDER BY n DESC, skill LIMIT {top}) k) AS top_skills,
    (SELECT json_agg(r) FROM (SELECT * FROM skills WHERE n >= {least}) r) AS rising_candidates,
    (SELECT json_agg(l) FROM lifecycle l) AS lifecycle
"""


#: Settings of the report's own session (a SET is not a write; read-only sessions take it):
#: - work_mem: memory for the hashes, sorts and the materialised scope (about 150 bytes a posting
#:   of the period and the one before it); beyond it PostgreSQL uses temporary files (correct, slower);
#: - enable_mergejoin off: the history is joined to the period's postings on text keys; the planner
#:   prices a sort of every history row by (platform, external_id) as cheap, but under a libc
#:   collation such as C.UTF-8 it takes seconds at 500k rows (strcoll), where a hash join takes a
#:   fraction of that (bench/report.py measured 3.6 s against 0.65 s).
SESSION_SETTINGS = {"work_mem": "256MB", "enable_mergejoin": "off"}


async def prepare_session(connection: asyncpg.Connection) -> None:
    for name, value in SESSION_SETTINGS.items():
        await connection.execute(f"SET {name} = '{value}'")


async def market_figures(connection: asyncpg.Connection, posting_filter: PostingFilter, period: ReportPeriod, *,
                         top_skills: int = 20, min_rising: int = 3) -> dict[str, Any]:
    """Every posting figure of the report, raw (rows as dicts; see outsourcing.report.figures
    for what they become). Rising-skill candidates are skills named by at least `min_rising`
    postings of the period, with their counts in both periods."""
    params = SqlParams()
    sql = _report_sql(params, posting_filter, period, top_skills, min_rising)
    row = await connection.fetchrow(sql, *params.values)
    assert row is not None
    budgets = []
    for group in row["budgets"] or []:
        item = budget_group(group)
        item["level"] = ("category" if group["grouped_category"] else
                         "platform" if group["grouped_platform"] else "type")
        budgets.append(item)
    lifecycle = []
    for item in row["lifecycle"] or []:
        quartiles = item.pop("days_to_close")
        item["days_to_close"] = dict(zip(("q1", "median", "q3"), quartile_values(quartiles), strict=True)) if quartiles else None
        lifecycle.append(item)
    return {
        "n": row["n"], "previous_n": row["previous_n"],
        "daily": row["daily"] or [], "weekly": row["weekly"] or [], "budgets": budgets,
        "top_skills": row["top_skills"] or [], "rising_candidates": row["rising_candidates"] or [],
        "lifecycle": lifecycle,
    }


async def undated_postings(connection: asyncpg.Connection, posting_filter: PostingFilter, start: datetime,
                           end: datetime) -> list[dict[str, Any]]:
    """Postings without posted_at first seen in [start, end), per platform: they have no day and
    are in no figure (Kmong's board gives no posting time), so the report says how many."""
    params = SqlParams()
    # posted_at IS NULL written as the index expression of postings_api_order: an index range.
    rows = await connection.fetch(
        f"""SELECT p.platform, count(*) AS n FROM postings p
            WHERE {posting_filter.where(params, 'p')}
              AND coalesce(p.posted_at, '-infinity'::timestamptz) = '-infinity'::timestamptz
              AND p.first_seen_at >= {params.add(start)} AND p.first_seen_at < {params.add(end)}
            GROUP BY 1 ORDER BY 1""",
        *params.values)
    return [dict(row) for row in rows]


async def report_schema_ready(connection: asyncpg.Connection) -> bool:
    """Does the database hold migration 7 (the views and functions the report reads)?"""
    if not await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
        return False
    return bool(await connection.fetchval("SELECT EXISTS (SELECT 1 FROM schema_version WHERE version = $1)",
                                          REPORT_SCHEMA_VERSION))

