"""From the database to the report's data model: one JSON-ready dict, which the JSON output is
and the text and HTML renderers read. Every figure carries the number of postings behind it;
the model carries the period (local dates, instants, time zone), the filters and the rates used.

Shape (keys of `build_report`'s result):
    period     from / to (local dates, `to` exclusive), time_zone, start / end (UTC instants), days,
               previous (the period of the same length before, for rising skills)
    filters    the PostingFilter's given fields
    postings   n (posted in the period), by_platform, previous_n, without_posted_at
    new_postings  daily (every day of the period x platform, zeros included), weekly (ISO weeks
               named by their Monday, with the days of the week inside the period), platforms
    budgets    groups (level type / platform / category; q1, median, q3, n in the posting's own
               currency and budget type; `equivalent`: the labelled KRW or USD extra), rates
    skills     top and rising (counts and shares in both periods)
    lifecycle  by platform and in total: budget changed, closed, days from posting to closing
    crawls     runs in the period per platform: outcomes, postings per run
    notes      what a reader must know to read the figures
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from outsourcing.items import PLATFORMS
from outsourcing.query.crawls import runs_in_period
from outsourcing.query.filters import PostingFilter
from outsourcing.query.market import DEFAULT_TIME_ZONE, check_time_zone
from outsourcing.query.postings import iso_utc
from outsourcing.query.report import ReportPeriod, market_figures, undated_postings
from outsourcing.report.rates import STALE_DAYS, Rate, Rates

REPORT_FORMAT_VERSION = 1
DEFAULT_DAYS = 28
MAX_DAYS = 3660
DEFAULT_TOP_SKILLS = 20
#: A skill must be named by at least this many postings of the period to count as rising.
MIN_RISING = 3


@dataclass(frozen=True)
class PeriodSpec:
    """The period in local dates: [first, end) in `time_zone`."""

    first: date
    end: date
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def build(cls, first: date | None, end: date | None, time_zone: str = DEFAULT_TIME_ZONE,
              today: date | None = None) -> PeriodSpec:
        """Defaults: `end` is tomorrow in the zone (today included), `first` DEFAULT_DAYS before."""
        check_time_zone(time_zone)
        if today is None:
            today = datetime.now(ZoneInfo(time_zone)).date()
        if end is None:
            end = (first + timedelta(days=DEFAULT_DAYS)) if first is not None else today + timedelta(days=1)
        if first is None:
            first = end - timedelta(days=DEFAULT_DAYS)
        if end <= first:
            raise ValueError(f"the period is empty: --to {end} is not after --from {first}")
        if (end - first).days > MAX_DAYS:
            raise ValueError(f"the period is longer than {MAX_DAYS} days")
        return cls(first, end, time_zone)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def instant(self, day: date) -> datetime:
        """00:00 of `day` in the zone, as a UTC instant (DST days are 23 or 25 hours long)."""
        return datetime.combine(day, time(0), ZoneInfo(self.time_zone)).astimezone(UTC)

    @property
    def previous_first(self) -> date:
        return self.first - timedelta(days=self.days)

    def query_period(self) -> ReportPeriod:
        return ReportPeriod(self.instant(self.first), self.instant(self.end), self.instant(self.previous_first),
                            self.time_zone)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(), "to": self.end.isoformat(),
            "last_day": (self.end - timedelta(days=1)).isoformat(), "days": self.days,
            "time_zone": self.time_zone,
            "start": iso_utc(self.instant(self.first)), "end": iso_utc(self.instant(self.end)),
            "previous": {"from": self.previous_first.isoformat(), "to": self.first.isoformat(),
                         "start": iso_utc(self.instant(self.previous_first)), "end": iso_utc(self.instant(self.first))},
        }


def _platform_order(name: str | None) -> tuple[int, str]:
    return (PLATFORMS.index(name) if name in PLATFORMS else 99, name or "")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def new_postings(raw: dict[str, Any], spec: PeriodSpec, posting_filter: PostingFilter) -> dict[str, Any]:
    counts = {(row["platform"], row["day"]): row["n"] for row in raw["daily"]}
    platforms = sorted({platform for platform, _ in counts} | set(posting_filter.platform), key=_platform_order)
    daily = []
    for offset in range(spec.days):
        day = (spec.first + timedelta(days=offset)).isoformat()
        by_platform = {platform: counts.get((platform, day), 0) for platform in platforms}
        daily.append({"day": day, "n": sum(by_platform.values()), "by_platform": by_platform})
    weekly_counts = {(row["platform"], row["day"]): row["n"] for row in raw["weekly"]}
    weekly = []
    monday = spec.first - timedelta(days=spec.first.weekday())
    while monday < spec.end:
        inside = sum(1 for i in range(7) if spec.first <= monday + timedelta(days=i) < spec.end)
        by_platform = {platform: weekly_counts.get((platform, monday.isoformat()), 0) for platform in platforms}
        weekly.append({"week": monday.isoformat(), "days_in_period": inside, "partial": inside < 7,
                       "n": sum(by_platform.values()), "by_platform": by_platform})
        monday += timedelta(days=7)
    return {"time_zone": spec.time_zone, "platforms": platforms, "daily": daily, "weekly": weekly}


def budgets(raw: dict[str, Any], rates: Rates, equivalent: str | None, spec: PeriodSpec) -> dict[str, Any]:
    groups = sorted(raw["budgets"], key=lambda g: (
        {"type": 0, "platform": 1, "category": 2}[g["level"]], g["budget_type"], g["currency"],
        _platform_order(g["platform"]), g["category"] or "", -g["n"]))
    used: dict[str, Any] = {}
    for group in groups:
        group["equivalent"] = None
        if equivalent is None or group["currency"] == equivalent:
            continue
        converted: dict[str, int | float] = {}
        rate_list: list[Rate] = []
        for key in ("q1", "median", "q3"):
            result = rates.convert(Decimal(str(group[key])), group["currency"], equivalent)
            if result is None:
                break
            value, rate_list = result
            converted[key] = int(value.to_integral_value()) if equivalent == "KRW" else round(float(value), 2)
        else:
            rate_text = "; ".join(f"1 {rate.currency} = {_plain(rate.krw)} KRW ({rate.date.isoformat()})"
                                  for rate in rate_list)
            group["equivalent"] = {"currency": equivalent, **converted,
                                   "rates": [{"currency": rate.currency, "krw": _plain(rate.krw),
                                              "date": rate.date.isoformat(), "source": rate.source}
                                             for rate in rate_list],
                                   "label": f"≈ {equivalent} equivalent at {rate_text}; not a market figure"}
            for rate in rate_list:
                used[rate.currency] = rate
    stale = sorted(code for code, rate in used.items() if abs((spec.end - rate.date).days) > STALE_DAYS)
    return {
        "amount": "the middle of a posting's range (its only amount when one bound is open), in its own currency",
        "groups": groups,
        "equivalent_currency": equivalent,
        "rates_used": {code: {"krw": _plain(rate.krw), "date": rate.date.isoformat(), "source": rate.source}
                       for code, rate in sorted(used.items())},
        "stale_rates": stale,
    }


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def skills(raw: dict[str, Any], n: int, previous_n: int, top: int) -> dict[str, Any]:
    def item(row: dict[str, Any]) -> dict[str, Any]:
        current, previous = row["n"] or 0, row["previous_n"] or 0
        share, previous_share = _share(current, n), _share(previous, previous_n)
        change = (round((share - previous_share) * 100, 2)
                  if share is not None and previous_share is not None else None)
        return {"skill": row["skill"], "label": row["label"] or row["skill"], "n": current, "share": share,
                "previous_n": previous, "previous_share": previous_share, "change_points": change}

    top_items = [item(row) for row in raw["top_skills"]]
    rising = []
    if previous_n:
        candidates = [item(row) for row in raw["rising_candidates"]]
        rising = [c for c in candidates if c["change_points"] is not None and c["change_points"] > 0]
        rising.sort(key=lambda c: (-c["change_points"], -c["n"], c["skill"]))
        rising = rising[:top]
    return {"n": n, "previous_n": previous_n, "min_postings_rising": MIN_RISING,
            "share": "postings naming the skill / postings of the period (skills case-insensitive)",
            "top": top_items, "rising": rising}


def lifecycle(raw: dict[str, Any]) -> dict[str, Any]:
    def item(row: dict[str, Any]) -> dict[str, Any]:
        quartiles = row["days_to_close"] or {"q1": None, "median": None, "q3": None}
        return {"platform": row["platform"], "n": row["n"],
                "budget_changed": row["budget_changed"], "budget_changed_share": _share(row["budget_changed"], row["n"]),
                "closed": row["closed"], "closed_share": _share(row["closed"], row["n"]),
                "closed_without_time": row["closed_without_time"],
                "days_to_close": {"n": row["closed"], **quartiles}}

    rows = raw["lifecycle"]
    total = next((item(row) for row in rows if row["platform"] is None), None)
    by_platform = sorted((item(row) for row in rows if row["platform"] is not None),
                         key=lambda r: _platform_order(r["platform"]))
    empty = {"platform": None, "n": 0, "budget_changed": 0, "budget_changed_share": None, "closed": 0,
             "closed_share": None, "closed_without_time": 0,
             "days_to_close": {"n": 0, "q1": None, "median": None, "q3": None}}
    return {"definition": "postings posted in the period; their budget changes and closings recorded before "
                          "the period's end (history rows: platform said closed, or the crawler closed a posting "
                          "it stopped seeing); days to close = first closing - posted_at",
            "total": total or empty, "by_platform": by_platform}


def crawls(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"runs": sum(r["runs"] for r in rows), "ok": sum(r["ok"] for r in rows),
            "failed": sum(r["failed"] for r in rows), "running": sum(r["running"] for r in rows),
            "platforms": rows,
            "failing": [r["platform"] for r in rows if r["finished"] and r["ok"] == 0]}


async def build_report(connection: asyncpg.Connection, posting_filter: PostingFilter, spec: PeriodSpec, rates: Rates,
                       *, equivalent: str | None = "KRW", top_skills: int = DEFAULT_TOP_SKILLS,
                       now: datetime | None = None) -> dict[str, Any]:
    period = spec.query_period()
    raw = await market_figures(connection, posting_filter, period, top_skills=top_skills, min_rising=MIN_RISING)
    undated = await undated_postings(connection, posting_filter, period.start, period.end)
    runs = await runs_in_period(connection, period.start, period.end, list(posting_filter.platform))
    by_platform: dict[str, int] = {}
    for row in raw["daily"]:
        by_platform[row["platform"]] = by_platform.get(row["platform"], 0) + row["n"]
    notes = []
    if undated:
        notes.append(f"{sum(r['n'] for r in undated)} postings first seen in the period have no posted_at "
                     f"({', '.join(r['platform'] for r in undated)}): they have no day and are in no figure.")
    if not raw["previous_n"]:
        notes.append("No postings in the previous period: rising skills cannot be compared.")
    report_budgets = budgets(raw, rates, equivalent, spec)
    report = {
        "report": "market", "format_version": REPORT_FORMAT_VERSION,
        "generated_at": iso_utc(now or datetime.now(UTC)),
        "period": spec.as_json(),
        "filters": posting_filter.model_dump(mode="json", exclude_defaults=True),
        "postings": {"n": raw["n"], "previous_n": raw["previous_n"],
                     "by_platform": [{"platform": p, "n": by_platform[p]} for p in sorted(by_platform, key=_platform_order)],
                     "without_posted_at": undated},
        "new_postings": new_postings(raw, spec, posting_filter),
        "budgets": report_budgets,
        "skills": skills(raw, raw["n"], raw["previous_n"], top_skills),
        "lifecycle": lifecycle(raw),
        "crawls": crawls(runs),
        "notes": notes,
    }
    stale = report_budgets["stale_rates"]
    if stale:
        notes.append(f"Rates for {', '.join(stale)} are more than {STALE_DAYS} days from the period's end: "
                     "update them with `scrapy report rates USD=... --date YYYY-MM-DD`.")
    return report
