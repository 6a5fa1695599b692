"""The report's figures computed independently: plain SELECTs of the tables (no view, no
function of schema.sql block 7, no query-layer code) and Python: zoneinfo for days, Decimal
and a textbook linear-interpolation percentile for quartiles."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import query

BUDGET_FIELDS = {"budget_min", "budget_max", "currency", "budget_type"}


@dataclass
class Tables:
    postings: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    runs: list[dict[str, Any]]

    @classmethod
    def read(cls, url: str) -> Tables:
        return cls(
            query(url, "SELECT platform, external_id, category, skills, budget_min, budget_max, currency, budget_type, "
                       "posted_at, status, first_seen_at FROM postings"),
            query(url, "SELECT platform, external_id, changed_at, changed_fields, old_values::text AS old_values, "
                       "new_values::text AS new_values FROM posting_changes"),
            query(url, "SELECT spider, started_at, finished_at, exit_code, scraped, inserted FROM crawl_runs"),
        )


def percentile(values: list[Decimal], fraction: Decimal) -> Decimal:
    """Linear interpolation between the closest ranks (what percentile_cont computes)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def quartiles(values: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    return (percentile(values, Decimal("0.25")), percentile(values, Decimal("0.5")), percentile(values, Decimal("0.75")))


def amount(row: dict[str, Any]) -> Decimal | None:
    low, high = row["budget_min"], row["budget_max"]
    if low is None and high is None:
        return None
    low = high if low is None else low
    high = low if high is None else high
    return (Decimal(low) + Decimal(high)) / 2


@dataclass
class Period:
    first: date
    end: date
    zone: str

    def instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0), ZoneInfo(self.zone)).astimezone(UTC)

    @property
    def start_at(self) -> datetime:
        return self.instant(self.first)

    @property
    def end_at(self) -> datetime:
        return self.instant(self.end)

    @property
    def previous_start_at(self) -> datetime:
        return self.instant(self.first - (self.end - self.first))

    def local_day(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.zone)).date()


def in_period(rows: list[dict[str, Any]], start: datetime, end: datetime,
              keep: Callable[[dict[str, Any]], bool] = lambda r: True) -> list[dict[str, Any]]:
    return [r for r in rows if r["posted_at"] is not None and start <= r["posted_at"] < end and keep(r)]


def daily(rows: list[dict[str, Any]], period: Period) -> Counter[tuple[str, str]]:
    return Counter((r["platform"], period.local_day(r["posted_at"]).isoformat()) for r in rows)


def weekly(rows: list[dict[str, Any]], period: Period) -> Counter[tuple[str, str]]:
    result: Counter[tuple[str, str]] = Counter()
    for r in rows:
        day = period.local_day(r["posted_at"])
        result[(r["platform"], (day - timedelta(days=day.weekday())).isoformat())] += 1
    return result


def budget_groups(rows: list[dict[str, Any]]) -> dict[tuple[str, Any, Any, str, str], list[Decimal]]:
    """{(level, platform, category, budget_type, currency): amounts}."""
    groups: dict[tuple[str, Any, Any, str, str], list[Decimal]] = defaultdict(list)
    for r in rows:
        value = amount(r)
        if value is None or r["currency"] is None or r["budget_type"] is None:
            continue
        groups[("type", None, None, r["budget_type"], r["currency"])].append(value)
        groups[("platform", r["platform"], None, r["budget_type"], r["currency"])].append(value)
        groups[("category", r["platform"], r["category"], r["budget_type"], r["currency"])].append(value)
    return groups


def skill_counts(rows: list[dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for r in rows:
        for skill in {s.lower() for s in r["skills"]}:
            counts[skill] += 1
    return counts


def _json(text: str) -> dict[str, Any]:
    import json

    return json.loads(text)


def lifecycle(cohort: list[dict[str, Any]], changes: list[dict[str, Any]], end: datetime) -> dict[str | None, dict[str, Any]]:
    budget_changed: set[tuple[str, str]] = set()
    first_closing: dict[tuple[str, str], datetime] = {}
    for c in changes:
        key = (c["platform"], c["external_id"])
        if c["changed_at"] >= end:
            continue
        if BUDGET_FIELDS & set(c["changed_fields"]):
            budget_changed.add(key)
        if "status" in c["changed_fields"] and _json(c["new_values"]).get("status") == "closed":
            first_closing[key] = min(first_closing.get(key, c["changed_at"]), c["changed_at"])
    result: dict[str | None, dict[str, Any]] = {}
    for platform in sorted({r["platform"] for r in cohort}) + [None]:
        rows = [r for r in cohort if platform is None or r["platform"] == platform]
        keys = [(r["platform"], r["external_id"]) for r in rows]
        days = [Decimal((first_closing[(r["platform"], r["external_id"])] - r["posted_at"]).total_seconds()) / 86400
                for r in rows if (r["platform"], r["external_id"]) in first_closing]
        result[platform] = {
            "n": len(rows),
            "budget_changed": sum(1 for k in keys if k in budget_changed),
            "closed": len(days),
            "closed_without_time": sum(1 for r in rows if r["status"] == "closed"
                                       and (r["platform"], r["external_id"]) not in first_closing),
            "days": days,
        }
    return result
