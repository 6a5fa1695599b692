"""Alerts benchmarks (`python -m bench --only alerts`).

1. latency: a real crawl (bench_listing: JSON pages of 100 postings, one page every
   5 seconds, the writer committing each page: DB_BATCH_SIZE=100) with a saved search matching every
   posting and the dispatcher running inside the crawl, to a webhook receiver in its own process.
   Latency of a posting = the receiver's clock when its webhook arrived - the trigger's clock
   in the writer's transaction (alert_deliveries.event_at, taken just before the commit, so the
   figure slightly overstates commit -> received). p50, p99 and max over every posting.
2. throughput: N postings written by the batch writer while a search is enabled (so N outbox
   events), then one dispatcher matches them (timed apart) and sends N signed webhooks with
   ALERTS_CONCURRENCY in flight; baseline: the same number of POSTs of a payload of the same
   size with the same concurrency, straight from httpx, no database (the receiver's and the
   HTTP stack's own ceiling on this machine). A JSON Lines channel shows the database side alone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench import db, site
from outsourcing.mirror import Mirror

SECRET_ENV = "BENCH_ALERTS_WEBHOOK_SECRET"
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


@asynccontextmanager
async def receiver(workdir: Path, label: str) -> AsyncIterator[tuple[str, Path]]:
    """A webhook receiver process (bench.receiver); yields its URL and the file it logs to."""
    out = workdir / f"{label}.received.jsonl"
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.receiver", str(out),
                                                   stdout=asyncio.subprocess.PIPE,
                                                   cwd=Path(__file__).resolve().parents[1])
    assert process.stdout is not None
    port = int((await process.stdout.readline()).decode().strip())
    try:
        yield f"http://127.0.0.1:{port}/hook", out
    finally:
        process.terminate()
        await process.wait()


def received(out: Path) -> dict[str, float]:
    """webhook-id -> when it first arrived."""
    first: dict[str, float] = {}
    if out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            first.setdefault(entry["id"], entry["at"])
    return first


def write_config(workdir: Path, label: str, channel: str) -> Path:
    path = workdir / f"{label}.toml"
    path.write_text(channel + '\n[[searches]]\nname = "bench"\nchannels = ["out"]\nplatform = ["remoteok"]\n',
                    encoding="utf-8")
    return path


def webhook(url: str) -> str:
    return f'[channels.out]\ntype = "webhook"\nurl = "{url}"\nsecret_env = "{SECRET_ENV}"\n'


async def sync(url: str, config_path: Path) -> Any:
    from outsourcing.alerts import queue
    from outsourcing.alerts.config import load_config

    config = load_config(config_path)
    async with db.connect(url) as connection:
        await queue.init_connection(connection)
        await queue.sync_searches(connection, config, "bench")
    return config


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def bench_latency(report: Any, size: int, workdir: Path, *, page_delay: float) -> None:
    from bench.run import Run, at_most, check_stored, crawl

    os.environ[SECRET_ENV] = SECRET
    pages = -(-size // site.PAGE_SIZE)
    print(f"alerts latency: a crawl of {size:,} postings, {pages} pages, one every {page_delay}s", flush=True)
    with Mirror() as mirror:
        site.serve_paged_api(mirror, size)
        async with db.fresh_database("alerts_latency") as url, receiver(workdir, "latency") as (hook, out):
            config = write_config(workdir, "latency", webhook(hook))
            await sync(url, config)
            result = await crawl("bench_listing", base_url=mirror.url, database_url=url, workdir=workdir,
                                 label=f"alerts-latency-{size}", args={"max_pages": pages + 2},
                                 settings={"ALERTS_CONFIG": str(config), "DOWNLOAD_DELAY": page_delay,
                                           "DOWNLOAD_DELAY_JITTER": 0, "ALERTS_DRAIN_TIMEOUT": 60,
                                           "DB_BATCH_SIZE": site.PAGE_SIZE})
            check_stored(result, size, inserted=size)
            async with db.connect(url) as connection:
                rows = await connection.fetch(
                    "SELECT m.key, extract(epoch FROM d.event_at)::float8 AS event_at FROM alert_deliveries d "
                    "JOIN alert_messages m ON m.id = d.message_id")
            got = received(out)
    latencies = [got[row["key"]] - row["event_at"] for row in rows if row["key"] in got]
    if len(latencies) != size:
        report.notes.append(f"alerts latency: only {len(latencies)} of {size} alerts arrived before the crawl ended")
    if not latencies:
        return
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    run = report.add(Run("alerts", f"crawl with alerts, 1 page of 100 / {page_delay:g}s", size, result["wall"],
                         postings=size, cpu=result["cpu"]))
    run.note = (f"commit -> receiver: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
                f"mean {statistics.fmean(latencies) * 1000:.0f} ms over {len(latencies):,} alerts (the writer commits "
                f"each page: DB_BATCH_SIZE={site.PAGE_SIZE})")
    report.ratio("alerts", size, "alert latency p50, committed -> received", p50, "<= 2 s", at_most(2.0), unit="s")
    report.ratio("alerts", size, "alert latency p99, committed -> received", p99, "<= 5 s", at_most(5.0), unit="s")


async def bench_throughput(report: Any, size: int, workdir: Path) -> None:
    import httpx

    from bench.run import Run, at_least, prepared_records
    from outsourcing.alerts import queue
    from outsourcing.alerts.dispatcher import Dispatcher, DispatcherOptions
    from outsourcing.storage.writer import prepare_connection, write_batch

    os.environ[SECRET_ENV] = SECRET
    print(f"alerts throughput: {size:,} matching postings", flush=True)
    records = prepared_records(size)
    options = DispatcherOptions(batch=200, concurrency=8, send_timeout=30)

    async def fill(url: str) -> None:
        async with db.connect(url) as connection:
            await prepare_connection(connection)
            for start in range(0, size, 500):
                await write_batch(connection, records[start:start + 500], None)

    async def dispatch(url: str, config_path: Path) -> tuple[float, float, Any]:
        config = await sync(url, config_path)
        await fill(url)
        dispatcher = Dispatcher(config, url, options)
        await dispatcher._connect()
        assert dispatcher.pool is not None
        started = time.perf_counter()
        async with dispatcher.pool.acquire() as connection:
            while (await queue.match_events(connection, batch=2000)).events:
                pass
        matched = time.perf_counter() - started
        started = time.perf_counter()
        await dispatcher.run_once()
        sent = time.perf_counter() - started
        await dispatcher.stop()
        return matched, sent, dispatcher

    async with db.fresh_database("alerts_throughput") as url, receiver(workdir, "throughput") as (hook, out):
        matched, sent, dispatcher = await dispatch(url, write_config(workdir, "throughput", webhook(hook)))
        delivered = len(received(out))
        async with db.connect(url) as connection:
            sample = await connection.fetchval("SELECT m.key FROM alert_messages m LIMIT 1")
        if delivered != size or dispatcher.counts["delivered"] != size:
            report.notes.append(f"alerts throughput: {delivered} of {size} webhooks arrived")
        # Baseline: the same POSTs (a body of the same size), same concurrency, no database.
        body = json.dumps({"type": "posting.new", "data": {"posting": records[0]}}, default=str).encode()
        semaphore = asyncio.Semaphore(options.concurrency)
        async with httpx.AsyncClient(timeout=30) as client:
            async def post(n: int) -> None:
                async with semaphore:
                    response = await client.post(hook, content=body, headers={"webhook-id": f"{sample}-raw-{n}"})
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(post(n) for n in range(size)))
            raw = time.perf_counter() - started

    async with db.fresh_database("alerts_throughput_jsonl") as url:
        target = workdir / "throughput.jsonl"
        j_matched, j_sent, _ = await dispatch(url, write_config(workdir, "throughput-jsonl",
                                                                f'[channels.out]\ntype = "jsonl"\npath = "{target}"\n'))

    report.add(Run("alerts", "match N outbox events (SQL, 1 search)", size, matched, rows=size))
    ours = report.add(Run("alerts", "dispatcher -> signed webhooks", size, sent, rows=size,
                          note=f"claim {options.batch} at a time, {options.concurrency} in flight, ledger per attempt"))
    base = report.add(Run("alerts", "raw HTTP POSTs, no database (baseline)", size, raw, rows=size))
    report.add(Run("alerts", "match N events, JSON Lines channel", size, j_matched, rows=size))
    jsonl = report.add(Run("alerts", "dispatcher -> JSON Lines (fsync each)", size, j_sent, rows=size))
    report.ratio("alerts", size, "dispatcher webhooks / raw HTTP POSTs (messages/s)",
                 ours.rate("rows") / base.rate("rows"), ">= 0.50", at_least(0.50))
    report.ratio("alerts", size, "dispatcher webhooks (messages/s, absolute)", ours.rate("rows"), unit="/s")
    report.ratio("alerts", size, "dispatcher to JSON Lines (messages/s, the database side alone)",
                 jsonl.rate("rows"), unit="/s")


async def bench_alerts(report: Any, workdir: Path, *, quick: bool) -> None:
    # One page of 100 postings every 5 s (Wishket's crawl delay): 20 new postings a second, more
    # than any platform yields in a real crawl (a Wishket crawl with details: one per 5 s), and
    # below the dispatcher's throughput, so the figure is the pipeline's latency, not a backlog.
    await bench_latency(report, 200 if quick else 1000, workdir, page_delay=0.5 if quick else 5.0)
    await bench_throughput(report, 300 if quick else 10000, workdir)
