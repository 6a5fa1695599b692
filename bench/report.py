"""The market report benchmark (`python -m bench --only report`).

N postings from the API benchmark's generator (bench/api.py: half Korean, half English, a year
of posted_at, budgets in won and dollars of every type), given categories, plus a year of
history: budget changes, closings (some reopened and closed again) and crawl runs of every
platform. Then, in the same run and on the same warm cache:

- baseline: one sequential scan of postings (`SELECT count(*) FROM postings` with index scans
  off: every heap page read once, parallel workers allowed as for the report);
- the report: what `scrapy report` does after connecting (every figure from a read-only
  session, then the text, JSON and HTML renderings), for the default period (the last 28
  days), a quarter and the whole year, and the year filtered to two platforms.

The ratio report / scan is the issue's measure (goal: the whole report costs at most 3 scans).
Each measurement is the fastest of `repeat` after one warm-up run.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench import db
from bench.api import NOW, fill, posting_rows

SECTION = "## Market report benchmark (issue 16)"
CATEGORIES_KO = ("개발 > 웹", "개발 > 앱", "개발 > 서버", "디자인 > 웹", "기획", "개발 > 데이터", "퍼블리싱")
CATEGORIES_EN = ("Websites, IT & Software > PHP", "Websites, IT & Software > Python", "Design > Logo",
                 "Writing & Content", "Data Entry", "Mobile Phones & Computing")
KO_PLATFORMS = ("wishket", "freemoa", "kmong", "elancer")
#: Shares of postings with history rows, as a year of crawling gives (closings dominate).
BUDGET_CHANGED, CLOSED, REOPENED = 0.08, 0.45, 0.03


def rows_with_categories(count: int) -> list[tuple[Any, ...]]:
    """bench/api.py's rows, with a category (column 6) drawn per posting (80% have one), in the
    order a crawler stores them: by first_seen_at (the last column). The generator draws
    posted_at at random for each row; a table in that order would make every period a read of
    every page, which no crawled table looks like."""
    rng = random.Random(16)
    rows = []
    for row in posting_rows(count):
        choices = CATEGORIES_KO if row[0] in KO_PLATFORMS else CATEGORIES_EN
        category = rng.choice(choices) if rng.random() < 0.8 else None
        rows.append(row[:6] + (category,) + row[7:])
    rows.sort(key=lambda row: row[-1])
    return rows


async def add_history(url: str) -> dict[str, float]:
    """posting_changes and crawl_runs for a year, written with COPY."""
    started = time.perf_counter()
    rng = random.Random(161)
    connection = await asyncpg.connect(url)
    try:
        keys = await connection.fetch("SELECT platform, external_id, coalesce(posted_at, first_seen_at) AS at "
                                      "FROM postings")
        changes = []
        for key in keys:
            roll = rng.random()
            posted = key["at"]
            if roll < BUDGET_CHANGED:
                when = min(NOW, posted + timedelta(hours=rng.randint(6, 24 * 20)))
                old = rng.choice((100, 300, 500)) * 10_000
                changes.append((key["platform"], key["external_id"], when, ["budget_max"],
                                json.dumps({"budget_max": old}), json.dumps({"budget_max": old * 2})))
            if rng.random() < CLOSED:
                when = posted + timedelta(hours=rng.randint(12, 24 * 45))
                if when < NOW:
                    changes.append((key["platform"], key["external_id"], when, ["status"],
                                    json.dumps({"status": "open"}), json.dumps({"status": "closed"})))
                    if rng.random() < REOPENED / CLOSED and when + timedelta(days=3) < NOW:
                        changes.append((key["platform"], key["external_id"], when + timedelta(days=2), ["status"],
                                        json.dumps({"status": "closed"}), json.dumps({"status": "open"})))
                        changes.append((key["platform"], key["external_id"], when + timedelta(days=3), ["status"],
                                        json.dumps({"status": "open"}), json.dumps({"status": "closed"})))
        await connection.copy_records_to_table(
            "posting_changes", records=changes,
            columns=("platform", "external_id", "changed_at", "changed_fields", "old_values", "new_values"))
        runs = []
        for platform in KO_PLATFORMS + ("freelancer", "guru", "peopleperhour", "remoteok", "weworkremotely"):
            for hour in range(0, 365 * 24, 6):  # every six hours for a year
                start = NOW - timedelta(hours=hour)
                failed = rng.random() < 0.05
                finished = None if rng.random() < 0.005 else start + timedelta(minutes=rng.randint(1, 30))
                scraped = 0 if failed else rng.randint(20, 400)
                runs.append((platform, start, finished, None if finished is None else (1 if failed else 0), scraped,
                             scraped // 5))
        await connection.copy_records_to_table(
            "crawl_runs", records=runs, columns=("spider", "started_at", "finished_at", "exit_code", "scraped", "inserted"))
        await connection.execute("VACUUM ANALYZE posting_changes")
        await connection.execute("VACUUM ANALYZE crawl_runs")
        sizes = {
            "posting_changes rows": float(len(changes)),
            "crawl_runs rows": float(len(runs)),
            "posting_changes MB": await connection.fetchval("SELECT pg_total_relation_size('posting_changes') / 1e6"),
            "postings heap MB": await connection.fetchval("SELECT pg_relation_size('postings') / 1e6"),
        }
    finally:
        await connection.close()
    return {"history": time.perf_counter() - started, **sizes}


@dataclass
class Case:
    name: str
    first: date
    end: date
    filters: dict[str, Any]


def cases() -> list[Case]:
    end = (NOW.astimezone(UTC) + timedelta(days=1)).date()
    return [
        Case("default: last 28 days", end - timedelta(days=28), end, {}),
        Case("a quarter (91 days)", end - timedelta(days=91), end, {}),
        Case("the whole year (365 days, previous year empty)", end - timedelta(days=365), end, {}),
        Case("the year, platform=wishket,kmong", end - timedelta(days=365), end, {"platform": ["wishket", "kmong"]}),
    ]


@dataclass
class Timing:
    case: str
    postings: int
    database: float
    render: float
    scan: float
    scan_one_process: float

    @property
    def total(self) -> float:
        return self.database + self.render

    @property
    def ratio(self) -> float:
        return self.total / self.scan if self.scan else 0.0


async def seq_scan(pool: asyncpg.Pool, *, workers: bool = True) -> float:
    """One sequential scan of postings: with the server's parallel workers (the baseline), or in
    one process like the report's own read (for context)."""
    async with pool.acquire() as connection:
        await connection.execute("SET enable_indexscan = off; SET enable_indexonlyscan = off; "
                                 "SET enable_bitmapscan = off")
        if not workers:
            await connection.execute("SET max_parallel_workers_per_gather = 0")
        try:
            started = time.perf_counter()
            await connection.fetchval("SELECT count(*) FROM postings")
            return time.perf_counter() - started
        finally:
            await connection.execute("RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan; "
                                     "RESET max_parallel_workers_per_gather")


async def one_report(pool: asyncpg.Pool, case: Case) -> tuple[float, float, int]:
    from outsourcing.query.filters import PostingFilter
    from outsourcing.query.report import prepare_session
    from outsourcing.report.cli import render
    from outsourcing.report.figures import PeriodSpec, build_report
    from outsourcing.report.rates import shipped

    spec = PeriodSpec.build(case.first, case.end, "Asia/Seoul")
    posting_filter = PostingFilter.from_mapping(case.filters)
    async with pool.acquire() as connection:
        await prepare_session(connection)
        started = time.perf_counter()
        report = await build_report(connection, posting_filter, spec, shipped())
        database = time.perf_counter() - started
    started = time.perf_counter()
    for kind in ("text", "json", "html"):
        render(report, kind)
    return database, time.perf_counter() - started, int(report["postings"]["n"])


async def explain_year(pool: asyncpg.Pool) -> str:
    from outsourcing.query.filters import PostingFilter, SqlParams
    from outsourcing.query.report import _report_sql
    from outsourcing.report.figures import PeriodSpec

    case = cases()[2]
    period = PeriodSpec.build(case.first, case.end, "Asia/Seoul").query_period()
    params = SqlParams()
    sql = _report_sql(params, PostingFilter(), period, 20, 3)
    async with pool.acquire() as connection:
        rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, *params.values)
    return "\n".join(row[0] for row in rows)


KEEP_MARK = "filled by bench/report.py"


@asynccontextmanager
async def _database(size: int, keep: bool) -> AsyncIterator[tuple[str, dict[str, float]]]:
    """A fresh database filled for the benchmark and dropped afterwards; with `keep`, one named
    after the size that stays for the next run (filling 1M postings and building the indexes
    takes a quarter of an hour), reused when a run finished filling it. The generator is seeded:
    a reused database holds what a new one would. Its schema is applied again on reuse, so
    changed views and functions are measured."""
    if not keep:
        async with db.fresh_database("report") as url:
            timings = await fill(url, size, rows=rows_with_categories(size))
            timings.update(await add_history(url))
            yield url, timings
        return
    from outsourcing.storage.database import apply_schema

    name = f"outsourcing_bench_report_keep_{size}"
    url = db.with_database(db.server_url(), name)
    async with db.connect(db.server_url()) as server:
        mark = await server.fetchval("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                                     name)
        if mark != KEEP_MARK:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await server.execute(f'CREATE DATABASE "{name}"')
    if mark == KEEP_MARK:
        async with db.connect(url) as connection:
            await apply_schema(connection)
            await connection.execute("ANALYZE")
        yield url, json.loads(await _fetch_timings(url))
        return
    async with db.connect(url) as connection:
        await apply_schema(connection)
    timings = await fill(url, size, rows=rows_with_categories(size))
    timings.update(await add_history(url))
    async with db.connect(url) as connection:
        await connection.execute("CREATE TABLE bench_report_setup (timings text)")
        await connection.execute("INSERT INTO bench_report_setup VALUES ($1)",
                                 json.dumps({k: float(v) for k, v in timings.items()}))
        await connection.execute(f"COMMENT ON DATABASE \"{name}\" IS '{KEEP_MARK}'")
    yield url, timings


async def _fetch_timings(url: str) -> str:
    async with db.connect(url) as connection:
        return str(await connection.fetchval("SELECT timings FROM bench_report_setup"))


async def run_report_bench(size: int, repeat: int = 3, *, keep: bool = False) -> dict[str, Any]:
    from outsourcing.report.cli import open_report_pool

    print(f"report: {size:,} postings with a year of history", flush=True)
    async with _database(size, keep) as (url, timings):
        print("  filled: " + ", ".join(f"{k} {v:,.1f}" for k, v in timings.items()), flush=True)
        pool = await open_report_pool(url, 1800)
        results = []
        try:
            for case in cases():
                await one_report(pool, case)  # warm-up: caches, plans
                await seq_scan(pool)
                scans, singles, reports = [], [], []
                for _ in range(repeat):  # interleaved: load from other processes hits both alike
                    scans.append(await seq_scan(pool))
                    singles.append(await seq_scan(pool, workers=False))
                    reports.append(await one_report(pool, case))
                database, render_time, postings = min(reports, key=lambda r: r[0] + r[1])
                timing = Timing(case.name, postings, database, render_time, min(scans), min(singles))
                results.append(timing)
                print(f"  {case.name:48} {postings:>9,} postings: report {timing.total:6.2f}s (database "
                      f"{database:.2f}s, render {render_time:.2f}s), one scan {timing.scan:.2f}s, "
                      f"{timing.ratio:.2f} scans", flush=True)
            plan = await explain_year(pool)
        finally:
            await pool.close()
    return {"size": size, "repeat": repeat, "timings": timings, "results": results, "plan": plan}


def render_report_bench(figures: dict[str, Any], *, started: datetime, command: str, machine_line: str) -> str:
    from outsourcing.query.report import SESSION_SETTINGS

    settings = ", ".join(f"{name} {value}" for name, value in SESSION_SETTINGS.items())
    results: list[Timing] = figures["results"]
    setup = figures["timings"]
    lines = [
        SECTION, "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}; command: `{command}`",
        f"- machine: {machine_line}",
        (f"- {figures['size']:,} generated postings (bench/api.py's generator, with categories) posted over a "
         f"year; {setup['posting_changes rows']:,.0f} history rows (budget changes, closings, reopenings; "
         f"{setup['posting_changes MB']:,.0f} MB), {setup['crawl_runs rows']:,.0f} crawl runs; postings heap "
         f"{setup['postings heap MB']:,.0f} MB."),
        (f"- report: every figure of `scrapy report` through one read-only session ({settings}), then its "
         "text, JSON and HTML renderings; one scan: `SELECT count(*) FROM postings` with index scans off, in the "
         f"same run, on the same warm cache; fastest of {figures['repeat']} interleaved runs after a warm-up."),
        "",
        ("| period | postings in it | report ms | of which database ms | render ms | one seq. scan ms | "
         "report / scan | goal ≤ 3 | one scan, one process ms | report / that |"),
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.case} | {r.postings:,} | {r.total * 1000:,.1f} | {r.database * 1000:,.1f} | "
                     f"{r.render * 1000:,.1f} | {r.scan * 1000:,.1f} | {r.ratio:.2f} | "
                     f"{'yes' if r.ratio <= 3 else '**no**'} | {r.scan_one_process * 1000:,.1f} | "
                     f"{r.total / r.scan_one_process:.2f} |")
    lines += ["", "<details><summary>Plan of the whole-year statement (EXPLAIN ANALYZE, BUFFERS)</summary>", "",
              "```", figures["plan"], "```", "", "</details>", ""]
    return "\n".join(lines)


def summary(figures: dict[str, Any]) -> str:
    return "report: " + "; ".join(f"{r.case}: {r.ratio:.2f} scans" for r in figures["results"])
