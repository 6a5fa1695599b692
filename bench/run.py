"""The benchmark suite: `python -m bench` (see `--help`).

Every figure is measured in this run, on this machine, next to the baseline it is compared
with, so the ratios hold even when the absolute numbers move with the machine's load:

1. ingest: one response yielding N postings (RemoteOK's API shape), crawled three ways:
   no item pipelines (Scrapy's ceiling), ours (validation + dedup + batched upsert + history
   into PostgreSQL) and the tutorial pipeline (one INSERT and commit per item);
2. write: the database write stage alone (our batch writer fed prepared records) against a
   single COPY of the same rows into a bare table (the limit), and plain batched upserts;
3. recrawl: the same N postings again, unchanged: postings/s and WAL bytes vs the first ingest;
4. shape: a crawl of many listing + detail pages: pages/s, postings/s and the CPU split between
   parsing, the pipelines and Scrapy itself, against an empty spider of the same shape;
5. memory: peak RSS of crawls of N postings served as JSON listing pages of 100;
6. report: the market report over 1,000,000 postings with a year of history against one
   sequential scan of postings in the same run (bench/report.py);
7. api: the read API over 1,000,000 generated postings: requests/s and p50/p99 per case (first
   page, deep cursor, each filter, Korean and English search) against the same SQL run straight
   through asyncpg (bench/api.py).

Crawls run in a process each (bench.child: CrawlerProcess with the project's settings, the
same path as `scrapy crawl`) against the local mirror, with politeness delays off. Every
benchmark that writes gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import db, site
from bench.data import jobs
from bench.wal import WalMeter, WalReading
from outsourcing.mirror import Mirror

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
TUTORIAL = {"bench.pipelines.OneInsertPerItemPipeline": 800}
SCRAPED_AT = "2026-10-02T06:00:00+00:00"

#: Settings every benchmark crawl gets: politeness delays off, no progress lines.
COMMON_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "PROGRESS_INTERVAL": 0,
    "LOG_LEVEL": "INFO",
}
#: One response holds every posting: lift the size guard (100k postings are ~150 MB of JSON).
ONE_RESPONSE = {"DOWNLOAD_MAXSIZE": 0, "DOWNLOAD_WARNSIZE": 0}
#: Many pages on one host: requests in parallel, as a crawl without politeness limits would.
MANY_PAGES = {"CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}
#: --profile DIR: every crawl runs under `py-spy record` and leaves DIR/<label>.txt behind.
PROFILE_DIR: Path | None = None


# --- results ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured run: absolute figures."""

    bench: str
    variant: str
    size: int
    wall: float
    postings: int = 0
    pages: int = 0
    rows: int = 0
    cpu: float | None = None
    wal: WalReading | None = None
    rss_mb: float | None = None
    note: str = ""

    def rate(self, what: str) -> float:
        count = {"postings": self.postings, "pages": self.pages, "rows": self.rows}[what]
        return count / self.wall if self.wall > 0 else 0.0


@dataclass
class Ratio:
    """A figure compared with a baseline measured in the same run, and its target."""

    bench: str
    size: int
    what: str
    value: float
    target: str = ""                 # e.g. ">= 0.80"
    check: Callable[[float], bool] | None = None
    unit: str = "x"

    @property
    def met(self) -> bool | None:
        return None if self.check is None else bool(self.check(self.value))


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def run(self, bench: str, variant: str, size: int) -> Run | None:
        for run in self.runs:
            if (run.bench, run.variant, run.size) == (bench, variant, size):
                return run
        return None

    def add(self, run: Run, *, echo: bool = True) -> Run:
        self.runs.append(run)
        if echo:
            attempt_run(run)
        return run

    def ratio(self, bench: str, size: int, what: str, value: float, target: str = "",
              check: Callable[[float], bool] | None = None, unit: str = "x") -> None:
        self.ratios.append(Ratio(bench, size, what, value, target, check, unit))


def attempt_run(run: Run) -> Run:
    """Print a finished run (every attempt is shown; the report keeps the fastest)."""
    print(f"  {run.bench:8} {run.variant:28} {run.size:>7}: {describe(run)}", flush=True)
    return run


def fastest(runs: list[Run]) -> Run:
    best = min(runs, key=lambda run: run.wall)
    if len(runs) > 1:
        best.note = (best.note + "; " if best.note else "") + \
            f"fastest of {len(runs)}: " + ", ".join(f"{run.wall:.2f}s" for run in runs)
    return best


def at_least(limit: float) -> Callable[[float], bool]:
    return lambda value: value >= limit


def at_most(limit: float) -> Callable[[float], bool]:
    return lambda value: value <= limit


def below(limit: float) -> Callable[[float], bool]:
    return lambda value: value < limit


def describe(run: Run) -> str:
    parts = [f"{run.wall:.2f}s"]
    if run.postings:
        parts.append(f"{run.rate('postings'):,.0f} postings/s")
    if run.pages:
        parts.append(f"{run.rate('pages'):,.0f} pages/s")
    if run.rows:
        parts.append(f"{run.rate('rows'):,.0f} rows/s")
    if run.cpu is not None:
        parts.append(f"CPU {run.cpu:.2f}s")
    if run.wal is not None:
        parts.append(f"WAL {mb(run.wal.cluster_bytes)} MB cluster" +
                     (f", {mb(run.wal.own_bytes)} MB own" if run.wal.own_bytes is not None else ""))
    if run.rss_mb is not None:
        parts.append(f"peak RSS {run.rss_mb:.0f} MB")
    return ", ".join(parts)


def mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.1f}"


# --- crawls ----------------------------------------------------------------------------------


class CrawlFailed(RuntimeError):
    pass


async def crawl(spider: str, *, base_url: str, settings: dict[str, Any], database_url: str | None,
                args: dict[str, Any] | None = None, workdir: Path, label: str) -> dict[str, Any]:
    """Run one crawl in its own process (bench.child) and return its measurements."""
    config_path = workdir / f"{label}.json"
    result_path = workdir / f"{label}.result.json"
    log_path = workdir / f"{label}.log"
    config = {
        "spider": spider,
        "args": {"base_url": base_url, **(args or {})},
        "settings": {**COMMON_SETTINGS, **settings},
        "result": str(result_path),
    }
    config_path.write_text(json.dumps(config), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["OUTSOURCING_HOME"] = str(workdir / "home")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    if database_url:
        environment["DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "bench.child", str(config_path)]
    if PROFILE_DIR is not None:  # --profile: sample the crawl with py-spy (collapsed stacks)
        command = ["py-spy", "record", "--format", "raw", "--rate", "500",
                   "--output", str(PROFILE_DIR / f"{label}.txt"), "--", *command]
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO, env=environment, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )
        code = await process.wait()
    if code != 0 or not result_path.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise CrawlFailed(f"{label}: crawl exited {code}; log {log_path}:\n{tail}")
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result["log"] = str(log_path)
    return result


def check_stored(result: dict[str, Any], size: int, *, inserted: int = 0, unchanged: int = 0) -> None:
    stats = result["stats"]
    got = (stats.get("outsourcing/storage/inserted", 0), stats.get("outsourcing/storage/updated", 0),
           stats.get("outsourcing/storage/unchanged", 0))
    if got != (inserted, 0, unchanged) or stats.get("outsourcing/exit_code", 0) != 0:
        raise CrawlFailed(f"expected {inserted} inserted / {unchanged} unchanged of {size}, "
                          f"got inserted/updated/unchanged {got}, exit code "
                          f"{stats.get('outsourcing/exit_code')} (log {result['log']})")


def check_scraped(result: dict[str, Any], size: int) -> None:
    scraped = result["stats"].get("item_scraped_count", 0)
    if scraped != size:
        raise CrawlFailed(f"expected {size} postings, the crawl yielded {scraped} (log {result['log']})")


def pages_of(result: dict[str, Any]) -> int:
    stats = result["stats"]
    return int(stats.get("response_received_count", 0)) - int(stats.get("robotstxt/response_count", 0))


# --- 1 + 3: ingest and re-crawl ----------------------------------------------------------------


async def bench_ingest(report: Report, size: int, workdir: Path, *, tutorial: bool, wal_attribution: bool,
                       repeat: int) -> None:
    """Ceiling, ours + its unchanged re-crawl (same database), tutorial; each crawl variant
    `repeat` times, interleaved, keeping the fastest (noise from other processes only ever
    slows a run down)."""
    print(f"ingest: one response with {size:,} postings", flush=True)
    ceilings: list[Run] = []
    firsts: list[Run] = []
    agains: list[Run] = []
    tutorial_run = None
    with Mirror() as mirror:
        site.serve_api(mirror, size)
        base = {"base_url": mirror.url, "workdir": workdir}
        for attempt in range(repeat):
            result = await crawl("remoteok", settings={**ONE_RESPONSE, "ITEM_PIPELINES": {}}, database_url=None,
                                 label=f"ingest-ceiling-{size}-{attempt}", **base)
            check_scraped(result, size)
            ceilings.append(attempt_run(Run("ingest", "scrapy, no pipelines", size, result["wall"], postings=size,
                                            cpu=result["cpu"])))

            async with db.fresh_database("ingest") as url:
                async with WalMeter(url, attribute=wal_attribution) as meter:
                    result = await crawl("remoteok", settings=ONE_RESPONSE, database_url=url,
                                         label=f"ingest-ours-{size}-{attempt}", **base)
                    wal = await meter.stop()
                check_stored(result, size, inserted=size)
                firsts.append(attempt_run(Run("ingest", "ours", size, result["wall"], postings=size,
                                              cpu=result["cpu"], wal=wal)))

                async with WalMeter(url, attribute=wal_attribution) as meter:
                    result = await crawl("remoteok", settings=ONE_RESPONSE, database_url=url,
                                         label=f"recrawl-ours-{size}-{attempt}", **base)
                    wal = await meter.stop()
                check_stored(result, size, unchanged=size)
                agains.append(attempt_run(Run("recrawl", "ours, unchanged", size, result["wall"], postings=size,
                                              cpu=result["cpu"], wal=wal)))

            if tutorial and attempt == 0:  # the slowest run, and far from the others: once
                async with db.fresh_database("tutorial") as url:
                    result = await crawl("remoteok", settings={**ONE_RESPONSE, "ITEM_PIPELINES": TUTORIAL},
                                         database_url=url, label=f"ingest-tutorial-{size}", **base)
                    stored = await _count(url, "SELECT count(*) FROM postings")
                    if stored != size:
                        raise CrawlFailed(f"tutorial pipeline stored {stored} of {size} (log {result['log']})")
                    tutorial_run = attempt_run(Run("ingest", "one INSERT+commit per item", size, result["wall"],
                                                   postings=size, cpu=result["cpu"]))
    ceiling = report.add(fastest(ceilings), echo=False)
    ours = report.add(fastest(firsts), echo=False)
    again = report.add(fastest(agains), echo=False)
    if tutorial_run is not None:
        report.add(tutorial_run, echo=False)

    report.ratio("ingest", size, "ours / Scrapy no-pipeline ceiling (postings/s)",
                 ours.rate("postings") / ceiling.rate("postings"), ">= 0.80", at_least(0.80))
    if tutorial_run is not None:
        report.ratio("ingest", size, "ours / one INSERT+commit per item (postings/s)",
                     ours.rate("postings") / tutorial_run.rate("postings"), ">= 10", at_least(10))
    report.ratio("recrawl", size, "unchanged re-crawl / Scrapy ceiling (postings/s)",
                 again.rate("postings") / ceiling.rate("postings"), ">= 0.90", at_least(0.90))
    report.ratio("recrawl", size, "unchanged re-crawl / first ingest (postings/s)",
                 again.rate("postings") / ours.rate("postings"))
    assert ceiling.cpu and ours.cpu and again.cpu
    report.ratio("ingest", size, "crawler CPU per posting, Scrapy ceiling / ours (load-independent)",
                 ceiling.cpu / ours.cpu)
    report.ratio("recrawl", size, "crawler CPU per posting, Scrapy ceiling / re-crawl (load-independent)",
                 ceiling.cpu / again.cpu)
    assert ours.wal is not None and again.wal is not None
    if ours.wal.own_bytes and again.wal.own_bytes is not None:
        report.ratio("recrawl", size, "re-crawl WAL / first-ingest WAL (own database, pg_waldump)",
                     again.wal.own_bytes / ours.wal.own_bytes, "<= 0.10", at_most(0.10))
        report.ratio("recrawl", size, "re-crawl WAL / first-ingest WAL (cluster-wide LSN diff)",
                     again.wal.cluster_bytes / max(1, ours.wal.cluster_bytes))
    else:
        report.ratio("recrawl", size, "re-crawl WAL / first-ingest WAL (cluster-wide LSN diff)",
                     again.wal.cluster_bytes / max(1, ours.wal.cluster_bytes), "<= 0.10", at_most(0.10))


async def _count(url: str, sql: str) -> int:
    async with db.connect(url) as connection:
        return int(await connection.fetchval(sql))


# --- 2: the write stage alone --------------------------------------------------------------------


def prepared_records(size: int) -> list[dict[str, Any]]:
    """The records the PostgreSQL pipeline hands to the store: parsed, validated, hashed."""
    from outsourcing.items import content_hash
    from outsourcing.pipelines.postgres import RECORD_FIELDS
    from outsourcing.platforms.remoteok.parser import parse_job

    records = []
    for job in jobs(size):
        item = parse_job(job, SCRAPED_AT)
        item["content_hash"] = content_hash(item)
        records.append({name: item.get(name) for name in RECORD_FIELDS})
    return records


async def bench_write(report: Report, size: int, records: list[dict[str, Any]], batch_size: int, *,
                      repeat: int, wal_attribution: bool) -> None:
    """Our writer, COPY and plain batched upserts `repeat` times each (fastest kept); the
    unchanged re-write and the one-INSERT-per-row baseline once."""
    from outsourcing.storage.writer import INSERT_COLUMNS, to_db_row

    print(f"write: {size:,} prepared records, batches of {batch_size}", flush=True)
    rows = [to_db_row(record) + (datetime.fromisoformat(record["scraped_at"]), None) for record in records]
    ours_runs, copy_runs, plain_runs, bare_runs, alerting_runs = [], [], [], [], []
    rewrite = None
    for attempt in range(repeat):
        # The alert triggers (schema.sql block 6) are installed on postings; with no saved
        # search they do one EXISTS probe per statement. Measured against the writer without
        # them (the schema before migration 6) and with a search enabled (outbox rows written).
        async with db.fresh_database("write_bare") as url:
            async with db.connect(url) as connection:
                await connection.execute("DROP TRIGGER postings_alert_new ON postings; "
                                         "DROP TRIGGER postings_alert_changed ON postings")
            wall, wal = await _write_ours(url, records, batch_size, wal_attribution=wal_attribution, expect="inserted")
            bare_runs.append(attempt_run(Run("write", "our batch writer, no alert triggers", size, wall, rows=size,
                                             wal=wal)))
        async with db.fresh_database("write_alerting") as url:
            async with db.connect(url) as connection:
                await connection.execute("INSERT INTO alert_searches (name, filter, channels) "
                                         "VALUES ('bench', '{}'::jsonb, '{out}')")
            wall, wal = await _write_ours(url, records, batch_size, wal_attribution=wal_attribution, expect="inserted")
            events = await _count(url, "SELECT count(*) FROM alert_events")
            if events != size:
                raise RuntimeError(f"alert triggers recorded {events} outbox events for {size} new postings")
            alerting_runs.append(attempt_run(Run("write", "our batch writer, a saved search enabled", size, wall,
                                                 rows=size, wal=wal)))
        async with db.fresh_database("write_ours") as url:
            wall, wal = await _write_ours(url, records, batch_size, wal_attribution=wal_attribution, expect="inserted")
            ours_runs.append(attempt_run(Run("write", "our batch writer", size, wall, rows=size, wal=wal)))
            if attempt == 0:
                again = [dict(record, scraped_at=SCRAPED_AT_LATER) for record in records]
                wall, wal = await _write_ours(url, again, batch_size, wal_attribution=wal_attribution, expect="unchanged")
                rewrite = attempt_run(Run("write", "our batch writer, unchanged again", size, wall, rows=size, wal=wal))

        async with db.fresh_database("write_copy") as url:
            async with db.connect(url) as connection:
                # The same columns, types and storage as postings; no index, no constraint.
                await connection.execute("CREATE TABLE bare (LIKE postings INCLUDING COMPRESSION INCLUDING STORAGE)")
                started = time.perf_counter()
                await connection.copy_records_to_table("bare", records=rows, columns=INSERT_COLUMNS)
                wall = time.perf_counter() - started
            copy_runs.append(attempt_run(Run("write", "COPY into a bare table", size, wall, rows=size,
                                             note="one COPY of the rows, already converted, into a table "
                                                  "LIKE postings without indexes")))

        async with db.fresh_database("write_plain") as url:
            async with db.connect(url) as connection:
                started = time.perf_counter()
                for start in range(0, size, batch_size):
                    batch = [to_db_row(record) + (datetime.fromisoformat(record["scraped_at"]),)
                             for record in records[start:start + batch_size]]
                    async with connection.transaction():
                        await connection.executemany(PLAIN_UPSERT, batch)
                wall = time.perf_counter() - started
            plain_runs.append(attempt_run(Run("write", "plain batched upserts", size, wall, rows=size)))

    async with db.fresh_database("write_tutorial") as url:
        async with db.connect(url) as connection:
            started = time.perf_counter()
            for record in records:  # autocommit: one transaction, one commit per row
                await connection.execute(PLAIN_UPSERT, *(to_db_row(record) + (datetime.fromisoformat(record["scraped_at"]),)))
            wall = time.perf_counter() - started
        tutorial = attempt_run(Run("write", "one INSERT+commit per row", size, wall, rows=size))

    ours = report.add(fastest(ours_runs), echo=False)
    bare = report.add(fastest(bare_runs), echo=False)
    alerting = report.add(fastest(alerting_runs), echo=False)
    copy = report.add(fastest(copy_runs), echo=False)
    plain = report.add(fastest(plain_runs), echo=False)
    report.ratio("write", size, "writer with idle alert triggers (no search) / without triggers (rows/s)",
                 ours.rate("rows") / bare.rate("rows"), ">= 0.95", at_least(0.95))
    report.ratio("write", size, "writer with a saved search enabled / without triggers (rows/s)",
                 alerting.rate("rows") / bare.rate("rows"), ">= 0.85", at_least(0.85))
    assert rewrite is not None
    for run in (rewrite, tutorial):
        report.add(run, echo=False)
    report.ratio("write", size, "our batch writer / COPY (rows/s)", ours.rate("rows") / copy.rate("rows"),
                 ">= 0.50", at_least(0.50))
    report.ratio("write", size, "plain batched upserts / COPY (rows/s), reference",
                 plain.rate("rows") / copy.rate("rows"))
    report.ratio("write", size, "our batch writer / one INSERT+commit per row (rows/s)",
                 ours.rate("rows") / tutorial.rate("rows"), ">= 10", at_least(10))
    if ours.wal and rewrite.wal:
        own = ours.wal.own_bytes and rewrite.wal.own_bytes is not None
        value = (rewrite.wal.own_bytes / ours.wal.own_bytes if own
                 else rewrite.wal.cluster_bytes / max(1, ours.wal.cluster_bytes))
        report.ratio("write", size, "unchanged re-write WAL / first write WAL", value)


SCRAPED_AT_LATER = "2026-10-03T06:00:00+00:00"


async def _write_ours(url: str, records: list[dict[str, Any]], batch_size: int, *, wal_attribution: bool,
                      expect: str) -> tuple[float, WalReading]:
    from outsourcing.storage.writer import BatchResult, prepare_connection, write_batch

    async with WalMeter(url, attribute=wal_attribution) as meter:
        async with db.connect(url) as connection:
            await prepare_connection(connection)
            run_id = await connection.fetchval("INSERT INTO crawl_runs (spider) VALUES ('bench') RETURNING id")
            total = BatchResult()
            started = time.perf_counter()
            for start in range(0, len(records), batch_size):
                total.add(await write_batch(connection, records[start:start + batch_size], run_id))
            wall = time.perf_counter() - started
        wal = await meter.stop()
    if getattr(total, expect) != len(records) or total.refused:
        raise RuntimeError(f"our writer: expected {len(records)} {expect}, got {total.inserted} inserted, "
                           f"{total.updated} updated, {total.unchanged} unchanged, {len(total.refused)} refused")
    return wall, wal


def _plain_upsert() -> str:
    from outsourcing.storage.writer import STAGE_COLUMNS

    columns = STAGE_COLUMNS + ("first_seen_at",)
    return (
        f"INSERT INTO postings ({', '.join(columns)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))}) "
        "ON CONFLICT (platform, external_id) DO UPDATE SET "
        + ", ".join(f"{name} = EXCLUDED.{name}" for name in STAGE_COLUMNS if name not in ("platform", "external_id"))
    )


PLAIN_UPSERT = _plain_upsert()


# --- 4: crawl shape --------------------------------------------------------------------------------


async def bench_shape(report: Report, size: int, workdir: Path) -> None:
    pages = -(-size // site.SHAPE_PAGE_SIZE)
    print(f"shape: {pages:,} listing pages + {size:,} detail pages", flush=True)
    args = {"max_pages": pages + 1}
    with Mirror() as mirror:
        site.serve_shape(mirror, size)
        base = {"base_url": mirror.url, "workdir": workdir, "args": args}
        empty = await crawl("bench_shape_empty", settings={**MANY_PAGES, "ITEM_PIPELINES": {}}, database_url=None,
                            label=f"shape-empty-{size}", **base)
        parse_only = await crawl("bench_shape", settings={**MANY_PAGES, "ITEM_PIPELINES": {}}, database_url=None,
                                 label=f"shape-parse-{size}", **base)
        check_scraped(parse_only, size)
        async with db.fresh_database("shape") as url:
            ours = await crawl("bench_shape", settings=MANY_PAGES, database_url=url,
                               label=f"shape-ours-{size}", **base)
        check_stored(ours, size, inserted=size)

    empty_run = report.add(Run("shape", "empty spider", size, empty["wall"], pages=pages_of(empty), cpu=empty["cpu"]))
    parse_run = report.add(Run("shape", "parsing, no pipelines", size, parse_only["wall"], postings=size,
                               pages=pages_of(parse_only), cpu=parse_only["cpu"]))
    ours_run = report.add(Run("shape", "ours", size, ours["wall"], postings=size, pages=pages_of(ours),
                              cpu=ours["cpu"]))
    parse_cpu = ours["parse_cpu"]
    pipelines_cpu = max(0.0, ours["cpu"] - parse_only["cpu"])
    scrapy_cpu = max(0.0, ours["cpu"] - parse_cpu - pipelines_cpu)
    ours_run.note = (f"CPU {ours['cpu']:.1f}s = parsing {parse_cpu:.1f}s ({parse_cpu / ours['cpu']:.0%}) + "
                     f"pipelines {pipelines_cpu:.1f}s ({pipelines_cpu / ours['cpu']:.0%}) + "
                     f"Scrapy {scrapy_cpu:.1f}s ({scrapy_cpu / ours['cpu']:.0%})")
    parse_run.note = f"parsing {parse_only['parse_cpu']:.1f}s of CPU {parse_only['cpu']:.1f}s"
    empty_run.note = f"link extraction {empty['parse_cpu']:.1f}s of CPU {empty['cpu']:.1f}s"
    report.ratio("shape", size, "ours / empty spider (pages/s)", ours_run.rate("pages") / empty_run.rate("pages"))
    report.ratio("shape", size, "ours / parsing without pipelines (pages/s)",
                 ours_run.rate("pages") / parse_run.rate("pages"))
    report.ratio("shape", size, "pipelines' share of the crawl's CPU", pipelines_cpu / ours["cpu"], unit="%")


# --- 5: memory ---------------------------------------------------------------------------------------


async def bench_memory(report: Report, sizes: list[int], workdir: Path) -> None:
    runs = []
    for size in sizes:
        pages = -(-size // site.PAGE_SIZE)
        print(f"memory: {size:,} postings as {pages:,} listing pages of {site.PAGE_SIZE}", flush=True)
        with Mirror() as mirror:
            site.serve_paged_api(mirror, size)
            async with db.fresh_database("memory") as url:
                result = await crawl("bench_listing", settings=MANY_PAGES, database_url=url,
                                     args={"max_pages": pages + 2}, workdir=workdir, base_url=mirror.url,
                                     label=f"memory-{size}")
            check_stored(result, size, inserted=size)
        runs.append(report.add(Run("memory", "ours, listing pages of 100", size, result["wall"], postings=size,
                                   pages=pages_of(result), cpu=result["cpu"], rss_mb=result["maxrss_mb"])))
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        assert small.rss_mb is not None and large.rss_mb is not None
        report.ratio("memory", large.size, f"peak RSS growth {small.size:,} -> {large.size:,} postings",
                     large.rss_mb - small.rss_mb, "< 50 MB", below(50), unit="MB")


# --- the table -----------------------------------------------------------------------------------------

BENCH_TITLES = {
    "ingest": "1. ingest, one response yielding N postings",
    "write": "2. database write stage alone",
    "recrawl": "3. unchanged re-crawl",
    "shape": "4. crawl shape (listing + detail pages)",
    "memory": "5. memory (listing pages of 100)",
    "alerts": "6. alerts: latency during a crawl, dispatcher throughput",
}


def machine() -> str:
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    except OSError:
        model = platform.processor()
    try:
        memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal"))) // 1024
    except (OSError, StopIteration, ValueError):
        memory = 0
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, {memory:,} MB RAM; "
            f"Python {platform.python_version()}; {db.server_description()} "
            f"(fsync={db.setting('fsync')}, synchronous_commit={db.setting('synchronous_commit')}, "
            f"shared_buffers={db.setting('shared_buffers')})")


def render(report: Report, *, command: str, started: datetime, elapsed: float, machine_line: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')} (suite took {elapsed / 60:.1f} min)",
        f"- machine: {machine_line}",
        f"- command: `{command}`",
        "- every ratio compares figures measured in this same run; absolute numbers move with the",
        "  machine's load (other processes share its cores), the ratios much less.",
        "",
        "## Figures",
        "",
        "| benchmark | variant | postings | time s | postings/s | pages/s | rows/s | CPU s | WAL MB (own db) | WAL MB (cluster) | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report.runs:
        lines.append(
            f"| {run.bench} | {run.variant} | {run.size:,} | {run.wall:.2f} | "
            f"{_num(run.rate('postings') if run.postings else None)} | {_num(run.rate('pages') if run.pages else None)} | "
            f"{_num(run.rate('rows') if run.rows else None)} | {_num(run.cpu, 1)} | "
            f"{mb(run.wal.own_bytes) if run.wal else ''} | {mb(run.wal.cluster_bytes) if run.wal else ''} | "
            f"{_num(run.rss_mb)} |"
        )
    lines += ["", "## Ratios against the baselines", "",
              "| benchmark | postings | comparison | value | target | met |", "|---|---:|---|---:|---|---|"]
    for ratio in report.ratios:
        if ratio.unit == "MB":
            value = f"{ratio.value:+.1f} MB"
        elif ratio.unit == "%":
            value = f"{ratio.value:.0%}"
        elif ratio.unit == "s":
            value = f"{ratio.value * 1000:,.0f} ms"
        elif ratio.unit == "/s":
            value = f"{ratio.value:,.0f}/s"
        else:
            value = f"{ratio.value:.2f}x" if ratio.value < 100 else f"{ratio.value:,.0f}x"
        met = {None: "", True: "yes", False: "**no**"}[ratio.met]
        lines.append(f"| {ratio.bench} | {ratio.size:,} | {ratio.what} | {value} | {ratio.target} | {met} |")
    notes = [f"- {run.bench} {run.variant} ({run.size:,}): {run.note}" for run in report.runs if run.note]
    notes += [f"- {note}" for note in report.notes]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


#: The benchmarks of the crawl tables (the report and API benchmarks have sections of their own).
ALL_BENCHMARKS = {"ingest", "write", "shape", "memory", "alerts"}
REPORT_SECTION = "## Market report benchmark (issue 16)"
API_SECTION = "## API benchmark (issue 14)"


def compose_results(existing: str, crawl_text: str | None, report_text: str, api_text: str, *,
                    partial: bool, ran: set[str]) -> str:
    """RESULTS.md: the crawl tables, then the report's section, then the API's. What this run
    measured replaces its part; every part it did not measure stays as the last run wrote it (a
    partial crawl run also keeps the rows of benchmarks and sizes it did not run)."""
    crawl_part, report_part, api_part = existing, "", ""
    if API_SECTION in crawl_part:
        crawl_part, api_part = crawl_part.split(API_SECTION, 1)
        api_part = API_SECTION + api_part
    if REPORT_SECTION in crawl_part:
        crawl_part, report_part = crawl_part.split(REPORT_SECTION, 1)
        report_part = REPORT_SECTION + report_part
    if crawl_text is not None:
        crawl_part = merge_results(crawl_part, crawl_text, ran) if crawl_part.strip() and partial else crawl_text
    parts = [crawl_part if crawl_part.strip() else "# Benchmark results\n", report_text or report_part,
             api_text or api_part]
    return "\n\n".join(part.strip() for part in parts if part.strip()) + "\n"
#: Which benchmark a table row's first cell belongs to (recrawl rows come with ingest).
_OWNER = {"recrawl": "ingest"}


def merge_results(old: str, new: str, ran: set[str]) -> str:
    """A partial run (--only, --sizes) replaces the rows it measured and keeps every other row and
    note of the existing file (other benchmarks, other sizes), under the new run's header."""

    def rows(text: str, section: str) -> list[str]:
        if section not in text:
            return []
        body = text.split(section, 1)[1].split("\n## ", 1)[0]
        return [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| benchmark")]

    def identity(line: str, section: str) -> tuple[str, str]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        size = cells[2] if section == "## Figures" else cells[1]
        return _OWNER.get(cells[0], cells[0]), size

    def notes(text: str) -> list[str]:
        if "## Notes" not in text:
            return []
        return [line for line in text.split("## Notes", 1)[1].split("\n## ", 1)[0].splitlines()
                if line.startswith("- ")]

    measured: set[tuple[str, str]] = set()
    merged = new
    for section in ("## Figures", "## Ratios against the baselines"):
        measured |= {identity(line, section) for line in rows(new, section)}
        kept = [line for line in rows(old, section) if identity(line, section) not in measured]
        if not kept or section not in merged:
            continue
        head, tail = merged.split(section, 1)
        table_end = tail.find("\n\n", tail.find("|---"))
        table_end = len(tail) if table_end < 0 else table_end
        merged = head + section + tail[:table_end] + "\n" + "\n".join(kept) + tail[table_end:]

    def note_identity(line: str) -> tuple[str, str]:
        words = line[2:].split(" ", 1)
        size = line.split("(", 1)[1].split(")", 1)[0] if "(" in line else ""
        return _OWNER.get(words[0], words[0]), size

    kept_notes = [line for line in notes(old) if note_identity(line) not in measured]
    if kept_notes:
        if "## Notes" not in merged:
            merged = merged.rstrip("\n") + "\n\n## Notes\n\n"
        merged = merged.rstrip("\n") + "\n" + "\n".join(kept_notes) + "\n"
    merged = merged.replace("- command: `", "- command (rows it did not measure are kept from earlier runs): `", 1)
    return merged


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


# --- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None,
                        help="postings per benchmark, comma-separated (default: 10000,100000; --quick: 300,1500)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (300,1500; crawl shape 200): a smoke run of every benchmark; sizes "
                             "given explicitly still win")
    parser.add_argument("--only", default="ingest,write,shape,memory,alerts,api,report",
                        help="benchmarks to run: ingest (with recrawl), write, shape, memory, alerts, api, report")
    parser.add_argument("--report-size", type=int, default=None,
                        help="postings in the report benchmark's database (default 1,000,000; --quick: 5,000)")
    parser.add_argument("--report-keep", action="store_true",
                        help="keep the report benchmark's database for the next run (and reuse a kept one)")
    parser.add_argument("--api-size", type=int, default=None,
                        help="postings in the API benchmark's database (default 1,000,000; --quick: 3,000)")
    parser.add_argument("--api-keep", action="store_true",
                        help="keep the API benchmark's database for the next run (and reuse a kept one)")
    parser.add_argument("--api-seconds", type=float, default=None,
                        help="seconds per API case and side (default 5; --quick: 0.3)")
    parser.add_argument("--shape-size", type=int, default=None,
                        help="detail pages of the crawl-shape benchmark (default: the smallest size)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each crawl variant N times, interleaved, and keep the fastest (the write "
                             "stage takes the fastest of at least 3 outside --quick); use 3 on a busy machine")
    parser.add_argument("--no-tutorial", action="store_true",
                        help="skip the one-INSERT-per-item pipeline (the slowest run)")
    parser.add_argument("--no-waldump", action="store_true",
                        help="WAL as the cluster-wide LSN difference only, without pg_waldump attribution")
    parser.add_argument("--profile", metavar="DIR", default=None,
                        help="run every crawl under py-spy (pip install py-spy) and write collapsed stacks "
                             "to DIR/<crawl>.txt (profiling slows the crawls: figures are not comparable)")
    parser.add_argument("--output", default=str(RESULTS), help=f"where to write the table (default: {RESULTS})")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "300,1500" if args.quick else "10000,100000"
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.shape_size is None:
        args.shape_size = 200 if args.quick else min(args.sizes)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if args.api_size is None:
        args.api_size = 3000 if args.quick else 1_000_000
    if args.api_seconds is None:
        args.api_seconds = 0.3 if args.quick else 5.0
    if args.report_size is None:
        args.report_size = 5000 if args.quick else 1_000_000
    unknown = args.only - {"ingest", "write", "shape", "memory", "alerts", "api", "report"}
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    return args


async def run_suite(args: argparse.Namespace, workdir: Path) -> Report:
    report = Report()
    if "ingest" in args.only:
        for size in args.sizes:
            await bench_ingest(report, size, workdir, tutorial=not args.no_tutorial,
                               wal_attribution=not args.no_waldump, repeat=args.repeat)
    if "write" in args.only:
        from scrapy.utils.project import get_project_settings

        batch_size = get_project_settings().getint("DB_BATCH_SIZE", 500)
        for size in args.sizes:
            # The fastest of 3 at least, except in a --quick smoke run (each run makes a fresh database).
            await bench_write(report, size, prepared_records(size), batch_size,
                              repeat=max(args.repeat, 1 if args.quick else 3),
                              wal_attribution=not args.no_waldump)
    if "shape" in args.only:
        await bench_shape(report, args.shape_size, workdir)
    if "memory" in args.only:
        await bench_memory(report, args.sizes, workdir)
    if "alerts" in args.only:
        from bench.alerts import bench_alerts

        await bench_alerts(report, workdir, quick=args.quick)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        global PROFILE_DIR
        PROFILE_DIR = Path(args.profile).resolve()
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    machine_line = machine()
    print(f"machine: {machine_line}", flush=True)
    crawl_benches = args.only - {"api", "report"}
    api_figures = None
    report_figures = None
    report = Report()
    with tempfile.TemporaryDirectory(prefix="outsourcing-bench-") as directory:
        try:
            if crawl_benches:
                report = asyncio.run(run_suite(args, Path(directory)))
            if "api" in args.only:
                from bench.api import run_api_bench

                api_figures = asyncio.run(run_api_bench(args.api_size, args.api_seconds, keep=args.api_keep))
            if "report" in args.only:
                from bench.report import run_report_bench

                report_figures = asyncio.run(run_report_bench(args.report_size, repeat=1 if args.quick else 3,
                                                              keep=args.report_keep))
        except (CrawlFailed, asyncpg.PostgresError, OSError, RuntimeError) as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 1
    if any(run.wal and run.wal.own_bytes is None for run in report.runs):
        report.notes.append("pg_waldump could not read the server's WAL: WAL figures are cluster-wide and "
                            "include whatever else the server wrote meanwhile.")
    output = Path(args.output)
    api_text = ""
    if api_figures is not None:
        from bench.api import render_api, summary

        api_text = render_api(api_figures, started=started, command=command.strip(), machine_line=machine_line)
        print(summary(api_figures))
    report_text = ""
    if report_figures is not None:
        from bench.report import render_report_bench
        from bench.report import summary as report_summary

        report_text = render_report_bench(report_figures, started=started, command=command.strip(),
                                          machine_line=machine_line)
        print(report_summary(report_figures))
    crawl_text = None
    if crawl_benches:
        crawl_text = render(report, command=command.strip(), started=started, elapsed=time.perf_counter() - clock,
                            machine_line=machine_line)
    existing = output.read_text(encoding="utf-8") if output.exists() else ""
    text = compose_results(existing, crawl_text, report_text, api_text,
                           partial=crawl_benches != ALL_BENCHMARKS or args.sizes != [10000, 100000],
                           ran=crawl_benches)
    print()
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"written to {output}")
    return 0
