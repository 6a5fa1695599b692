"""The batch writer against a real PostgreSQL: what becomes of records when its writer task is
gone (a bug: nothing in the writer itself ends it), and that the exit status then says so."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from outsourcing import stats as keys
from outsourcing.outcome import crawl_outcome
from outsourcing.storage.batches import BatchWriter
from outsourcing.storage.connection import Database
from outsourcing.storage.spill import SpillFile
from tests.conftest import run
from tests.storage.test_writer import record

# A hang is the failure these tests look for; this only bounds how long they wait for it.
HANG = 60.0


def writer_for(database_url: str, spill_dir: Path, **overrides: Any) -> tuple[BatchWriter, Database, MemoryStatsCollector]:
    settings = Settings({"DATABASE_URL": database_url, "DB_BATCH_SIZE": 1, "DB_MAX_PENDING_BATCHES": 1,
                         "DB_RETRY_TIMEOUT": 30, **overrides})
    stats = MemoryStatsCollector(Crawler(scrapy.Spider, settings))
    database = Database(settings, "remoteok")

    async def on_connect(pool: Any) -> None:
        return None

    writer = BatchWriter(database, SpillFile(spill_dir, "remoteok"), stats, settings,
                         on_connect=on_connect, stopping=lambda: False)
    return writer, database, stats


def test_a_writer_that_stopped_loses_records_loudly_instead_of_hanging(database_url, tmp_path: Path) -> None:
    async def scenario() -> None:
        writer, database, stats = writer_for(database_url, tmp_path)
        await database.connect(10)
        writer.start(down=False)
        await asyncio.wait_for(writer.add_posting(record("1")), HANG)
        await asyncio.wait_for(writer.flush(), HANG)
        assert stats.get_value(keys.STORAGE_INSERTED) == 1
        assert writer._writer is not None
        writer._writer.cancel()  # the writer task ends, as a bug outside its guards would end it
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        # Batch size 1 and one pending batch: without the guard the third posting waits forever.
        for n in range(2, 5):
            await asyncio.wait_for(writer.add_posting(record(str(n))), HANG)
        await asyncio.wait_for(writer.close(), HANG)
        await database.close()
        assert stats.get_value(keys.STORAGE_LOST) == 3
        assert stats.get_value(keys.STORAGE_WRITER_STOPPED) == 1
        stats.set_value(keys.LISTING_OK, 1)
        code, problems = crawl_outcome(stats.get_stats(), "finished")
        assert code == 1
        assert "3 records could be neither stored nor spilled: they are lost" in problems
        assert "the storage writer stopped unexpectedly" in problems

    run(scenario())


def test_a_writer_that_stops_while_others_wait_releases_them(tmp_path: Path) -> None:
    """The writer stops while it is retrying a batch against a database that is down and the
    pipeline waits on a full queue: the batch it was on, the queued one and the waiting one are
    all counted lost, and nothing waits forever."""

    async def scenario() -> None:
        writer, database, stats = writer_for("postgresql://crawler@127.0.0.1:9/none", tmp_path)
        writer.start(down=False)
        await writer.add_posting(record("1"))  # the writer takes it and retries for 30 s
        await asyncio.sleep(0.2)
        await writer.add_posting(record("2"))  # queued
        waiting = asyncio.ensure_future(writer.add_posting(record("3")))  # the queue is full: waits
        await asyncio.sleep(0.2)
        assert not waiting.done()
        assert writer._writer is not None
        writer._writer.cancel()
        await asyncio.wait_for(waiting, HANG)
        await asyncio.wait_for(writer.close(), HANG)
        assert stats.get_value(keys.STORAGE_LOST) == 3

    run(scenario())
