"""Market figures: postings per platform and day, budget quartiles, top skills. Every figure
comes with the number of postings behind it, its period and the time zone of its days
(contract); amounts are never mixed across currencies or budget types.

One definition of each figure, two users: the read API (one figure per request, below) and
the market report (outsourcing/query/report.py, every figure in one statement). Both build
their SQL from the same pieces:

- `period_scope`: which postings a period holds (posted_at in [start, end)) and the columns the
  figures read, with the amount of a posting defined once in SQL (outsourcing_budget_amount,
  schema.sql block 7);
- `daily_counts_sql`, `budget_quartiles_sql`, `skill_counts_sql`: a figure as a SELECT over a
  relation with those columns (the API's CTE, or the report's materialised one);
- `budget_group`: a row of quartiles as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from outsourcing.query.filters import PostingFilter, SqlParams
from outsourcing.query.postings import iso_utc, json_number

DEFAULT_TIME_ZONE = "Asia/Seoul"
MAX_DAYS = 366

#: What the figures read from a posting (the columns of `period_scope`).
#: skill_keys: the skills lower-cased, position by position (see skill_counts_sql).
SCOPE_COLUMNS = ("p.platform, p.external_id, p.category, p.budget_type, p.currency, "
                 "outsourcing_budget_amount(p.budget_min, p.budget_max) AS amount, p.skills, "
                 "lower(p.skills::text)::text[] AS skill_keys, p.posted_at, p.status")
#: Budget groupings: the API's one (every platform, category, type and currency), and the
#: coarser ones the report adds. Currency and budget type are in every one: never mixed.
#: Each one extends the one before it, so that PostgreSQL computes all three as one rollup (a
#: single sort) when the report asks for them together.
BY_TYPE = ("budget_type", "currency")
BY_PLATFORM = ("budget_type", "currency", "platform")
BY_CATEGORY = ("budget_type", "currency", "platform", "category")
_GROUP_COLUMNS = ("platform", "category", "budget_type", "currency")


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Seoul or UTC") from error
    return name


def _period(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(days=days), end


def in_period(params: SqlParams, start: datetime, end: datetime, alias: str = "p") -> str:
    """posted_at in [start, end), written on the expression of the index postings_api_order
    (schema.sql, block 5) so that a short period is an index range, not a scan of the table.
    A posting without posted_at is -infinity there, before every period."""
    key = f"coalesce({alias}.posted_at, '-infinity'::timestamptz)"
    return f"{key} >= {params.add(start)}::timestamptz AND {key} < {params.add(end)}::timestamptz"


def period_scope(params: SqlParams, posting_filter: PostingFilter, start: datetime, end: datetime) -> str:
    """SELECT of the postings of a period that match the filter, with SCOPE_COLUMNS."""
    return (f"SELECT {SCOPE_COLUMNS} FROM postings p "
            f"WHERE {posting_filter.where(params, 'p')} AND {in_period(params, start, end)}")


# --- figures as SQL over a scope relation ----------------------------------------------------------


def daily_counts_sql(source: str, zone: str, *, week: bool = False, extra: Sequence[str] = ()) -> str:
    """Postings per platform and calendar day (or ISO week, named by its Monday) of posted_at in
    the zone given by the placeholder `zone`: columns platform, day, the `extra` columns of
    `source` (grouped by too), n."""
    bucket = "outsourcing_local_week" if week else "outsourcing_local_day"
    more = "".join(f", {column}" for column in extra)
    groups = ", ".join(str(i) for i in range(1, 3 + len(extra)))
    return (f"SELECT platform, {bucket}(posted_at, {zone}) AS day{more}, count(*) AS n FROM {source} "
            f"GROUP BY {groups}")


def budget_quartiles_sql(source: str, groupings: Sequence[Sequence[str]]) -> str:
    """Quartiles of the amount per grouping (each one holds budget_type and currency), over the
    postings of `source` that have an amount, a currency and a type. Columns: platform,
    category, budget_type, currency (null where a grouping leaves them out, `grouped_*` say
    which), n, quartiles (q1, median, q3).

    The quartiles are percentile_cont's (linear interpolation between the closest ranks),
    computed from a histogram: postings are first counted per distinct amount (a hash, one pass:
    budgets are round numbers, so a group has few distinct amounts), then the amount at rank r
    is the first one whose running count exceeds r. Same result as sorting every posting of
    every group, at the cost of sorting the histogram only."""
    for grouping in groupings:
        if "budget_type" not in grouping or "currency" not in grouping:
            raise ValueError("a budget grouping must hold budget_type and currency: amounts are never mixed")
    # Grouped in the "C" collation: groups are equalities (the same groups in any deterministic
    # collation), and the sorts behind them compare bytes instead of calling strcoll.
    keys = {name: f'{name} COLLATE "C"' for name in _GROUP_COLUMNS}
    sets = ", ".join("(" + ", ".join([keys[name] for name in grouping] + ["amount"]) + ")" for grouping in groupings)
    columns = ", ".join(f"{keys[name]} AS {name}" for name in _GROUP_COLUMNS)
    flags = ", ".join(f"GROUPING({keys[name]}) AS g_{name}" for name in ("platform", "category"))
    group = "g_platform, g_category, " + ", ".join(_GROUP_COLUMNS)
    ranks = []
    for fraction in ("0.25", "0.5", "0.75"):
        position = f"{fraction} * (n - 1)"
        low = f"min(amount) FILTER (WHERE running > floor({position}))"
        high = f"min(amount) FILTER (WHERE running > ceil({position}))"
        ranks.append(f"({low} + ({high} - {low}) * ({position} - floor({position})))::float8")
    # The finest histogram first (a plain GROUP BY: one hash pass, parallel where the planner
    # wants), then the groupings over it (a few thousand rows), then the ranks.
    finest = ", ".join(f"{keys[name]} AS {name}" for name in _GROUP_COLUMNS)
    return f"""
        SELECT platform, category, budget_type, currency, g_platform = 0 AS grouped_platform,
               g_category = 0 AS grouped_category, n, ARRAY[{', '.join(ranks)}] AS quartiles
        FROM (SELECT *, sum(postings) OVER (PARTITION BY {group} ORDER BY amount) AS running,
                     sum(postings) OVER (PARTITION BY {group}) AS n
              FROM (SELECT {columns}, amount, {flags}, sum(postings) AS postings
                    FROM (SELECT {finest}, amount, count(*) AS postings FROM {source}
                          WHERE amount IS NOT NULL AND currency IS NOT NULL AND budget_type IS NOT NULL
                          GROUP BY 1, 2, 3, 4, 5) finest
                    GROUP BY GROUPING SETS ({sets})) histogram) ranked
        GROUP BY {group}, n"""


def skill_counts_sql(source: str, counts: dict[str, str] | None = None) -> str:
    """How many postings of `source` name each skill: skills lower-cased and counted once per
    posting (the definition of the view posting_skills, schema.sql block 7). Columns: skill,
    label (the spelling most of those postings use) and one count per entry of `counts`
    ({column: condition on the source row `s`}; default {"n": "TRUE"}).

    `source` has skill_keys (SCOPE_COLUMNS): the array lower-cased through its text form, exact
    (array quoting is case-free) and one expression per posting. A posting naming a skill twice
    ("React", "react") counts it at its first position only (array_position). Both are much
    cheaper than a DISTINCT subquery per posting, which runs an executor node for every row;
    a source that is a plain CTE should be MATERIALIZED, or skill_keys is computed per skill."""
    counts = counts or {"n": "TRUE"}
    per_spelling = ", ".join(f"count(*) FILTER (WHERE {condition}) AS {name}" for name, condition in counts.items())
    totals = ", ".join(f"sum({name})::bigint AS {name}" for name in counts)
    first = next(iter(counts))
    return (f"SELECT skill, (array_agg(label ORDER BY {first} DESC, label))[1] AS label, {totals} "
            f"FROM (SELECT k.skill COLLATE \"C\" AS skill, s.skills[k.i] COLLATE \"C\" AS label, {per_spelling} "
            f"FROM {source} s, unnest(s.skill_keys) WITH ORDINALITY AS k(skill, i) "
            f"WHERE array_position(s.skill_keys, k.skill) = k.i "
            f"GROUP BY 1, 2) spellings GROUP BY skill")


def quartile_values(quartiles: Sequence[float]) -> tuple[Any, Any, Any]:
    """percentile_cont's doubles as JSON numbers, rounded to cents (amounts are whole units)."""
    q1, median, q3 = (json_number(_decimal(value)) for value in quartiles)
    return q1, median, q3


def budget_group(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    q1, median, q3 = quartile_values(row["quartiles"])
    return {"platform": row["platform"], "category": row["category"], "budget_type": row["budget_type"],
            "currency": row["currency"], "n": row["n"], "q1": q1, "median": median, "q3": q3}


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


# --- the API's figures (one per request) -------------------------------------------------------------


async def postings_per_day(connection: asyncpg.Connection, posting_filter: PostingFilter, *, days: int = 30,
                           time_zone: str = DEFAULT_TIME_ZONE) -> dict[str, Any]:
    """Postings per platform and calendar day of `posted_at` in `time_zone`, over the last
    `days` days (postings without posted_at are counted apart: they have no day)."""
    start, end = _period(days)
    params = SqlParams()
    zone = params.add(check_time_zone(time_zone))
    scope = period_scope(params, posting_filter, start, end)
    rows = await connection.fetch(
        f"WITH scope AS ({scope}) SELECT * FROM ({daily_counts_sql('scope', zone)}) d ORDER BY day DESC, platform",
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
    scope = period_scope(params, posting_filter, start, end)
    least = params.add(min_postings)
    rows = await connection.fetch(
        f"""WITH scope AS ({scope})
            SELECT * FROM ({budget_quartiles_sql('scope', [BY_CATEGORY])}) q WHERE n >= {least}
            ORDER BY n DESC, platform, category, budget_type, currency LIMIT 500""",
        *params.values)
    groups = [budget_group(row) for row in rows]
    return {"period": {"from": iso_utc(start), "to": iso_utc(end), "time_zone": "UTC", "days": days},
            "n": sum(group["n"] for group in groups), "groups": groups}


async def top_skills(connection: asyncpg.Connection, posting_filter: PostingFilter, *, days: int = 90,
                     limit: int = 30) -> dict[str, Any]:
    """The most asked-for skills (case-insensitive), with how many postings name each."""
    start, end = _period(days)
    params = SqlParams()
    scope = period_scope(params, posting_filter, start, end)
    top = params.add(limit)
    rows = await connection.fetch(
        f"""WITH scope AS MATERIALIZED ({scope})
            SELECT c.skill, c.n, (SELECT count(*) FROM scope) AS total
            FROM ({skill_counts_sql('scope')}) c ORDER BY c.n DESC, c.skill LIMIT {top}""",
        *params.values)
    total = rows[0]["total"] if rows else 0
    return {"period": {"from": iso_utc(start), "to": iso_utc(end), "time_zone": "UTC", "days": days},
            "n": total, "skills": [{"skill": row["skill"], "n": row["n"]} for row in rows]}
