"""`scrapy report` over real crawls plus generated history: every figure against the oracle
(tests/report/oracle.py: plain SELECTs and Python), the time-zone day boundary, the never-mix
rules, counts behind every median, text width, read-only sessions, rates."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from wcwidth import wcswidth

from tests.conftest import query
from tests.report import oracle
from tests.report.conftest import (
    FIRST,
    MAIN_END,
    SEPTEMBER_END,
    USD_RATE,
    USD_RATE_DATE,
    ReportRun,
    report_in_process,
    scrapy_command,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def tables(report_database: str, reports: dict[str, ReportRun]) -> oracle.Tables:
    return oracle.Tables.read(report_database)


def main_period(zone: str = "Asia/Seoul") -> oracle.Period:
    return oracle.Period(FIRST, MAIN_END, zone)


def cohort(tables: oracle.Tables, period: oracle.Period, keep: Any = lambda r: True) -> list[dict[str, Any]]:
    return oracle.in_period(tables.postings, period.start_at, period.end_at, keep)


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


# --- period, days, weeks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, zone", [("seoul", "Asia/Seoul"), ("utc", "UTC")])
def test_new_postings_per_platform_day_and_week_in_the_chosen_zone(reports, tables, name, zone) -> None:
    report = reports[name].json
    period = main_period(zone)
    assert report["period"]["time_zone"] == zone
    assert datetime.fromisoformat(report["period"]["start"]) == period.start_at
    assert datetime.fromisoformat(report["period"]["end"]) == period.end_at
    rows = cohort(tables, period)
    assert report["postings"]["n"] == len(rows) > 20
    expected_days = oracle.daily(rows, period)
    got_days = Counter({(platform, d["day"]): n for d in report["new_postings"]["daily"]
                        for platform, n in d["by_platform"].items() if n})
    assert got_days == expected_days
    days = report["new_postings"]["daily"]
    assert [d["day"] for d in days] == [(FIRST + timedelta(days=i)).isoformat() for i in range(len(days))]
    assert len(days) == (period.end - period.first).days
    expected_weeks = oracle.weekly(rows, period)
    got_weeks = Counter({(platform, w["week"]): n for w in report["new_postings"]["weekly"]
                         for platform, n in w["by_platform"].items() if n})
    assert got_weeks == expected_weeks
    assert sum(w["days_in_period"] for w in report["new_postings"]["weekly"]) == len(days)
    assert all(date.fromisoformat(w["week"]).weekday() == 0 for w in report["new_postings"]["weekly"])
    previous = oracle.in_period(tables.postings, period.previous_start_at, period.start_at)
    assert report["postings"]["previous_n"] == len(previous)


def test_the_day_boundary_follows_the_time_zone(reports) -> None:
    """g-b1 was posted at 2026-08-31 15:30 UTC: 00:30 on 1 September in Seoul (inside a period
    that starts on 1 September there), still 31 August in UTC (outside). g-b3, 2026-09-30 15:30
    UTC, is 1 October in Seoul and 30 September in UTC."""
    seoul, utc = reports["seoul"].json, reports["utc"].json

    def freelancer_on(report: dict[str, Any], day: str) -> int:
        return next(d["by_platform"].get("freelancer", 0) for d in report["new_postings"]["daily"] if d["day"] == day)

    assert freelancer_on(seoul, "2026-09-01") == 1          # g-b1
    assert freelancer_on(utc, "2026-09-01") == 0
    assert freelancer_on(seoul, "2026-10-01") == 1 and freelancer_on(seoul, "2026-09-30") == 0   # g-b3
    assert freelancer_on(utc, "2026-09-30") == 1 and freelancer_on(utc, "2026-10-01") == 0
    # In the Seoul period only: g-b1 and Wishket's posting of 00:00 KST on 1 September (15:00 UTC).
    assert seoul["postings"]["n"] == utc["postings"]["n"] + 2
    assert datetime.fromisoformat(seoul["period"]["start"]) == datetime(2026, 8, 31, 15, tzinfo=UTC)
    assert datetime.fromisoformat(utc["period"]["start"]) == datetime(2026, 9, 1, tzinfo=UTC)


def test_postings_without_posted_at_are_counted_apart(reports, tables) -> None:
    report = reports["seoul"].json
    period = main_period()
    undated = Counter(r["platform"] for r in tables.postings
                      if r["posted_at"] is None and period.start_at <= r["first_seen_at"] < period.end_at)
    assert undated["kmong"] == 1 and undated["wishket"] == 1  # generated; a crawled Wishket card without a date
    assert {r["platform"]: r["n"] for r in report["postings"]["without_posted_at"]} == dict(undated)
    assert any("no posted_at" in note for note in report["notes"])


# --- budgets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seoul", "september"])
def test_budget_quartiles_per_group_never_mix_types_or_currencies(reports, tables, name) -> None:
    report = reports[name].json
    period = oracle.Period(FIRST, MAIN_END if name == "seoul" else SEPTEMBER_END, "Asia/Seoul")
    expected = oracle.budget_groups(cohort(tables, period))
    groups = report["budgets"]["groups"]
    got = {(g["level"], g["platform"], g["category"], g["budget_type"], g["currency"]): g for g in groups}
    assert len(got) == len(groups), "a group appears twice"
    assert set(got) == set(expected)
    for key, amounts in expected.items():
        group = got[key]
        assert group["n"] == len(amounts), key
        q1, median, q3 = oracle.quartiles(amounts)
        assert (money(group["q1"]), money(group["median"]), money(group["q3"])) == (cents(q1), cents(median), cents(q3)), key
    # The planted case: kmong asks for won in three budget types; each has its own median.
    if name == "seoul":
        kmong = {g["budget_type"]: g for g in groups if g["level"] == "platform" and g["platform"] == "kmong"}
        assert kmong["monthly"]["median"] == 7_000_000 and kmong["monthly"]["n"] == 3  # 6M, 7M, 8.5M
        assert kmong["hourly"]["median"] == 30_000 and kmong["hourly"]["n"] == 1
        assert kmong["fixed"]["n"] == 5 and kmong["fixed"]["median"] == 5_000_000  # 3M 5M 6M 2M 10M
        everything = [money(g["median"]) for g in groups if g["level"] == "type"]
        assert len(everything) == len({(g["budget_type"], g["currency"]) for g in groups})


def test_equivalents_are_labelled_extras_from_the_rates_file(reports) -> None:
    """Seoul report: KRW equivalents (default); the user's USD rate (set by `scrapy report rates`)
    and the shipped INR rate, each with its date; KRW groups get none. September: USD equivalents."""
    from outsourcing.report.rates import shipped

    inr = shipped().rates["INR"]
    report = reports["seoul"].json
    budgets = report["budgets"]
    assert budgets["equivalent_currency"] == "KRW"
    for group in budgets["groups"]:
        extra = group["equivalent"]
        if group["currency"] == "KRW":
            assert extra is None
            continue
        assert extra is not None and extra["currency"] == "KRW" and "not a market figure" in extra["label"]
        rate = {"USD": Decimal(USD_RATE), "INR": inr.krw, "GBP": shipped().rates["GBP"].krw}[group["currency"]]
        assert extra["median"] == int((money(group["median"]) * rate).to_integral_value())
        when = USD_RATE_DATE if group["currency"] == "USD" else inr.date.isoformat()
        assert f"1 {group['currency']} = " in extra["label"] and when in extra["label"]
    assert budgets["rates_used"]["USD"] == {"krw": USD_RATE, "date": USD_RATE_DATE, "source": budgets["rates_used"]["USD"]["source"]}
    assert budgets["rates_used"]["USD"]["source"].endswith("rates.json")

    september = reports["september"].json["budgets"]
    for group in september["groups"]:
        if group["currency"] == "KRW":
            assert group["equivalent"]["currency"] == "USD"
            assert group["equivalent"]["median"] == round(float(money(group["median"]) / USD_RATE), 2)
        elif group["currency"] == "USD":
            assert group["equivalent"] is None


# --- skills -----------------------------------------------------------------------------------------------


def test_top_and_rising_skills_with_counts_in_both_periods(reports, tables) -> None:
    report = reports["seoul"].json
    period = main_period()
    current = oracle.skill_counts(cohort(tables, period))
    previous = oracle.skill_counts(oracle.in_period(tables.postings, period.previous_start_at, period.start_at))
    n, previous_n = report["skills"]["n"], report["skills"]["previous_n"]
    assert n == len(cohort(tables, period)) and previous_n > 0
    top = report["skills"]["top"]
    expected_order = sorted(current.items(), key=lambda item: (-item[1], item[0]))[:len(top)]
    assert [(s["skill"], s["n"]) for s in top] == expected_order
    for skill in top:
        assert skill["previous_n"] == previous[skill["skill"]]
        assert skill["share"] == round(skill["n"] / n, 4)
    rust = next(s for s in top if s["skill"] == "rust")
    assert rust["n"] == current["rust"] >= 5 and rust["label"] == "Rust"  # "rust" and "Rust": one skill

    def change(skill: str) -> float:
        return round((round(current[skill] / n, 4) - round(previous[skill] / previous_n, 4)) * 100, 2)

    expected_rising = sorted((s for s in current if current[s] >= 3 and change(s) > 0),
                             key=lambda s: (-change(s), -current[s], s))
    rising = report["skills"]["rising"]
    assert [s["skill"] for s in rising] == expected_rising
    # Rust: 6 of the period's postings, 2 of the previous period's; Java: 3 now, but 8 before.
    assert "rust" in expected_rising and "java" in current and "java" not in expected_rising
    for skill in rising:
        assert (skill["n"], skill["previous_n"]) == (current[skill["skill"]], previous[skill["skill"]])
        assert skill["change_points"] == change(skill["skill"])


# --- lifecycle --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, end", [("seoul", None), ("september", SEPTEMBER_END)])
def test_budget_changes_closings_and_time_to_close(reports, tables, name, end) -> None:
    report = reports[name].json
    period = oracle.Period(FIRST, end or MAIN_END, "Asia/Seoul")
    expected = oracle.lifecycle(cohort(tables, period), tables.changes, period.end_at)
    section = report["lifecycle"]
    rows = {r["platform"]: r for r in section["by_platform"]}
    rows[None] = section["total"]
    assert set(rows) == set(expected)
    for platform, want in expected.items():
        got = rows[platform]
        assert (got["n"], got["budget_changed"], got["closed"], got["closed_without_time"]) == \
            (want["n"], want["budget_changed"], want["closed"], want["closed_without_time"]), platform
        assert got["days_to_close"]["n"] == want["closed"]
        if want["days"]:
            q1, median, q3 = oracle.quartiles(want["days"])
            assert (money(got["days_to_close"]["q1"]), money(got["days_to_close"]["median"]),
                    money(got["days_to_close"]["q3"])) == (cents(q1), cents(median), cents(q3)), platform
        else:
            assert got["days_to_close"]["median"] is None
        assert got["closed_share"] == (round(want["closed"] / want["n"], 4) if want["n"] else None)
    if name == "seoul":
        # The real crawls: RemoteOK's re-crawl changed one budget, its last crawl closed one posting.
        assert rows["remoteok"]["budget_changed"] == 1 and rows["remoteok"]["closed"] == 1
        assert rows["kmong"]["closed"] == 4  # g-k1, g-k2 (closed twice), g-k3, g-k7
        assert rows["peopleperhour"]["closed_without_time"] == 1
    else:
        # g-k3's budget change (20 October) and closing (5 October) came after September.
        assert rows["kmong"]["budget_changed"] == 1 and rows["kmong"]["closed"] == 2


# --- crawl health -------------------------------------------------------------------------------------------


def test_crawl_health_over_the_period(reports, tables) -> None:
    report = reports["seoul"].json
    period = main_period()
    runs = [r for r in tables.runs if period.start_at <= r["started_at"] < period.end_at]
    platforms = {r["platform"]: r for r in report["crawls"]["platforms"]}
    assert set(platforms) == {r["spider"] for r in runs}
    for spider, row in platforms.items():
        mine = [r for r in runs if r["spider"] == spider]
        finished = [r for r in mine if r["finished_at"] is not None]
        assert row["runs"] == len(mine)
        assert row["ok"] == sum(1 for r in finished if r["exit_code"] == 0)
        assert row["failed"] == sum(1 for r in finished if r["exit_code"] != 0)
        assert row["running"] == len(mine) - len(finished)
        assert row["scraped"] == sum(r["scraped"] for r in mine)
        assert row["postings_per_run"]["n"] == len(finished)
        if finished:
            median = oracle.percentile([Decimal(r["scraped"]) for r in finished], Decimal("0.5"))
            assert money(row["postings_per_run"]["median"]) == median.quantize(Decimal("0.1"))
    assert platforms["guru"]["failed"] == 1 and platforms["elancer"]["running"] == 1
    assert platforms["kmong"]["runs"] == 3 and platforms["kmong"]["failed"] == 1
    assert report["crawls"]["runs"] == len(runs)
    assert "guru" in report["crawls"]["failing"]


# --- filters ----------------------------------------------------------------------------------------------


def test_filters_use_the_api_language_category_included(reports, tables) -> None:
    report = reports["filtered"].json
    assert report["filters"] == {"platform": ["kmong"], "category": "개발"}

    def matches(row: dict[str, Any]) -> bool:
        category = (row["category"] or "").lower()
        return row["platform"] == "kmong" and (category == "개발" or category.startswith("개발 > "))

    period = main_period()
    rows = cohort(tables, period, matches)
    assert report["postings"]["n"] == len(rows) == 7  # not 개발자 커뮤니티, not 디자인
    categories = {g["category"] for g in report["budgets"]["groups"] if g["level"] == "category"}
    assert categories == {"개발 > 웹", "개발 > 앱", "개발"}
    assert {row["platform"] for row in report["crawls"]["platforms"]} == {"kmong"}  # the platform filter only
    expected = oracle.budget_groups(rows)
    for group in report["budgets"]["groups"]:
        amounts = expected[(group["level"], group["platform"], group["category"], group["budget_type"], group["currency"])]
        assert group["n"] == len(amounts)


# --- formats ------------------------------------------------------------------------------------------------


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_json_says_period_filters_and_the_count_behind_every_median(reports) -> None:
    report = reports["seoul"].json
    assert {"period", "filters", "postings", "new_postings", "budgets", "skills", "lifecycle", "crawls"} <= set(report)
    medians = [item for item in _walk(report) if "median" in item]
    assert len(medians) > 20
    for item in medians:
        assert "n" in item or item.get("currency") and "rates" in item, item  # equivalents sit in a counted group
    for group in report["budgets"]["groups"]:
        assert group["n"] > 0 and group["currency"] and group["budget_type"]


def test_text_summary_fits_100_columns(reports) -> None:
    run = reports["text"]
    assert run.returncode == 0, run.stderr
    text = run.stdout
    widths = [wcswidth(line) for line in text.splitlines()]
    assert max(widths) <= 100, [line for line in text.splitlines() if wcswidth(line) > 100]
    seoul = reports["seoul"].json
    assert f"Postings posted in the period: {seoul['postings']['n']:,}" in text
    for title in ("New postings per platform", "Budgets", "Skills", "What happened", "Crawl health"):
        assert title in text
    assert "개발 > 웹" in text  # Korean categories, aligned by display width
    kmong_monthly = next(g for g in seoul["budgets"]["groups"]
                         if g["level"] == "platform" and g["platform"] == "kmong" and g["budget_type"] == "monthly")
    assert f"{kmong_monthly['median']:,}" in text


# --- rules: read-only, schema, rates ---------------------------------------------------------------------------


def test_report_sessions_cannot_write(report_database) -> None:
    from outsourcing.report.cli import open_report_pool

    async def go() -> tuple[str, str]:
        pool = await open_report_pool(report_database, 30)
        try:
            async with pool.acquire() as connection:
                setting = await connection.fetchval("SHOW default_transaction_read_only")
                try:
                    await connection.execute("UPDATE postings SET title = title WHERE false")
                    outcome = "wrote"
                except asyncpg.ReadOnlySQLTransactionError:
                    outcome = "refused"
                return setting, outcome
        finally:
            await pool.close()

    assert asyncio.run(go()) == ("on", "refused")


def test_a_database_without_the_report_schema_is_an_error_not_a_write(database_url, tmp_path) -> None:
    done = scrapy_command(["report", "--format", "json"], database_url, tmp_path)
    assert done.returncode == 1
    assert "schema version 7" in done.stderr and done.stdout == ""
    tables = query(database_url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
    assert tables[0]["n"] == 0


def test_bad_usage_exits_2_with_the_reason(report_database, tmp_path) -> None:
    for args, reason in ((["report", "--tz", "Mars/Olympus"], "unknown time zone"),
                         (["report", "--from", "2026-12-01", "--to", "2026-11-01"], "the period is empty"),
                         (["report", "--min-budget", "5"], "min_budget needs currency"),
                         (["report", "--category", "개발 > "], "category level is empty"),
                         (["report", "rates", "USD=abc"], "not a number"),
                         (["report", "rates", "KRW=2"], "KRW is the base")):
        done = report_in_process(args[1:], report_database, tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert reason in done.stderr, (args, done.stderr[-500:])


def test_rates_command_lists_and_sets_dated_rates(tmp_path) -> None:
    from outsourcing.report.rates import shipped

    done = report_in_process(["rates", "USD=1450.5", "EUR=1690", "--date", "2026-11-30"], None, tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "rates.json").read_text(encoding="utf-8"))
    assert data["rates"]["USD"] == {"krw": 1450.5, "date": "2026-11-30"}
    listed = json.loads(report_in_process(["rates", "--format", "json"], None, tmp_path).stdout)["rates"]
    assert listed["USD"]["krw"] == 1450.5 and listed["USD"]["date"] == "2026-11-30"
    assert listed["EUR"]["source"].endswith("rates.json")
    assert listed["GBP"]["source"] == "shipped" and listed["GBP"]["date"] == shipped().rates["GBP"].date.isoformat()
    text = report_in_process(["rates"], None, tmp_path).stdout
    assert "USD" in text and "2026-11-30" in text and "yours" in text and "shipped" in text


def test_the_html_report_is_self_contained(reports) -> None:
    html = reports["html"].stdout
    assert html.startswith("<!DOCTYPE html>")
    lowered = html.lower()
    for marker in ("<script", "http://", "https://", "<link", "@import", "url("):
        if marker in ("http://", "https://"):
            # The only URLs: the SVG namespace (an identifier, never fetched).
            assert lowered.replace('xmlns="http://www.w3.org/2000/svg"', "").count(marker) == 0, marker
        else:
            assert marker not in lowered, marker

