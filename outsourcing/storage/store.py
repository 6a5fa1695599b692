"""PostingStore: one crawl's PostgreSQL storage, shared by the pipelines and asked by spiders.

The PostgreSQL pipeline owns it (storage is on exactly when that pipeline is enabled); other
components find it the Scrapy way, through the pipeline: `outsourcing.pipelines.common.store_of`
(`crawler.get_item_pipeline(PostgresPipeline).store`), None when storage is off.

It ties three parts together and adds the run's life cycle:
- the database (storage/connection.py): server, schema, pool with backoff;
- batching, retries, spill and replay (storage/batches.py);
- the run's row in crawl_runs (storage/runs.py).

When the crawl closes (spider_closed), the store writes or spills every batch, lets the crawl's
outcome be decided (outsourcing.outcome.CrawlOutcome: the one place the exit status is
computed), sends `outsourcing.signals.run_finishing` for the work that may only follow a clean
run (closing unseen postings: storage/closing.py; the incremental watermark and run state:
outsourcing/incremental.py), then finishes the run's row and closes the pool.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import asyncpg
from scrapy import signals
from scrapy.crawler import Crawler

from outsourcing import stats as keys
from outsourcing.outcome import CrawlOutcome
from outsourcing.signals import run_finishing
from outsourcing.storage.batches import BatchWriter
from outsourcing.storage.connection import Database, DatabaseUnavailable
from outsourcing.storage.database import home_dir
from outsourcing.storage.runs import finish_run, start_run
from outsourcing.storage.spill import SpillFile

logger = logging.getLogger(__name__)


class PostingStore:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.label = getattr(crawler.spidercls, "name", None) or "crawl"
        self.database = Database(settings, self.label)
        spill_dir = settings.get("SPILL_DIR") or str(home_dir(settings) / "spill")
        self.spill = SpillFile(Path(spill_dir), self.label)
        self.batches = BatchWriter(self.database, self.spill, self.stats, settings,
                                   on_connect=self._start_run, stopping=self._stopping)
        self.started_at = time.time()
        self.run_id: int | None = None
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._settled = asyncio.Event()  # every batch written, spilled or counted lost
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self.database.pool

    @property
    def dsn(self) -> str | None:
        """The database's URL (secret: mask it, storage.database.mask_secrets, before printing)."""
        return self.database.dsn

    # --- opening ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, apply the schema, start the run's row, start the writer (which writes earlier
        runs' spill files first). Idempotent: every pipeline that uses the store calls it."""
        async with self._open_lock:
            if self._opened:
                return
            outcome = self.crawler.get_extension(CrawlOutcome)
            if outcome is None:
                raise RuntimeError("storage needs the outsourcing.outcome.CrawlOutcome extension (EXTENSIONS)")
            self._opened = True
            outcome.wait_for(self._settled.wait)
            down = False
            try:
                await self.database.connect(self.database.retry_timeout, then=self._start_run)
            except DatabaseUnavailable as error:
                down = True
                logger.error(
                    "%s: database %s is unreachable (%s): postings will wait in a spill file in %s "
                    "and be written by the next run that reaches the database",
                    self.label, self.database.name, error, self.spill.directory,
                )
                self.stats.inc_value(keys.STORAGE_ERRORS)
                self.stats.inc_value(keys.ERRORS)
            self.batches.start(down=down)

    async def _start_run(self, pool: asyncpg.Pool) -> None:
        if self.run_id is None:
            spider = self.crawler.spider
            self.run_id = await start_run(pool, self.label, getattr(spider, "mode", "full"), self.started_at)
            self.stats.set_value(keys.STORAGE_RUN_ID, self.run_id)
            logger.info("%s: storing postings in %s (crawl run %s)", self.label, self.database.name, self.run_id)

    def _stopping(self) -> bool:
        """A shutdown was asked for (Ctrl-C, SIGTERM): Scrapy stops the crawler before it closes
        the spider, while a crawl that ends by itself is still `crawling` as it closes."""
        return not self.crawler.crawling

    # --- what the pipelines hand over --------------------------------------------------------

    async def add_posting(self, record: dict[str, Any]) -> None:
        await self.batches.add_posting(record)

    async def add_rejected(self, entry: dict[str, Any]) -> None:
        await self.batches.add_rejected(entry)

    async def release(self) -> None:
        """A pipeline is done with the store: write what is buffered."""
        if self._opened:
            await self.batches.flush()

    # --- closing ---------------------------------------------------------------------------

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if not self._opened:
            return
        try:
            await self.batches.close()
        except Exception:  # noqa: BLE001 - the run is recorded all the same
            logger.exception("%s: error while writing the last batches", self.label)
        finally:
            self._settled.set()
        outcome = await self.crawler.get_extension(CrawlOutcome).decided()  # type: ignore[union-attr]
        pool = self.database.pool
        if pool is not None and self.run_id is not None:
            try:
                await self.crawler.signals.send_catch_log_async(
                    signal=run_finishing, run_id=self.run_id, exit_code=outcome.exit_code, pool=pool)
                await finish_run(pool, self.run_id, reason, outcome.exit_code, outcome.problems,
                                 self.stats.get_stats())
            except Exception as error:  # noqa: BLE001
                logger.error("%s: could not record the crawl run in %s: %s", self.label, self.database.name,
                             self.database.mask(str(error)))
        await self.database.close()
