"""CrawlReport: progress lines during a crawl and one summary at the end, with the outcome
that decides the exit status (decided by outsourcing.outcome.CrawlOutcome, read here)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from outsourcing import stats as keys
from outsourcing.outcome import CrawlOutcome

logger = logging.getLogger(__name__)


class CrawlReport:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("PROGRESS_INTERVAL", 60.0)
        self.started = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlReport:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        self.started = time.monotonic()
        if self.interval > 0:
            self._task = asyncio.get_event_loop().create_task(self._progress())

    async def _progress(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            logger.info("%s: progress: %s", getattr(self.crawler.spider, "name", "?"), self._line())

    def _line(self) -> str:
        stats = self.crawler.stats
        elapsed = max(time.monotonic() - self.started, 1e-6)
        pages = int(stats.get_value("response_received_count", 0))
        postings = int(stats.get_value("item_scraped_count", 0))
        return (
            f"{pages} pages ({pages / elapsed * 60:.0f}/min), {postings} postings "
            f"({postings / elapsed * 60:.0f}/min), listing pages recognised {stats.get_value(keys.LISTING_OK, 0)}, "
            f"inserted {stats.get_value(keys.STORAGE_INSERTED, 0)}, updated {stats.get_value(keys.STORAGE_UPDATED, 0)}, "
            f"unchanged {stats.get_value(keys.STORAGE_UNCHANGED, 0)}, dropped {stats.get_value('item_dropped_count', 0)}, "
            f"errors {stats.get_value(keys.ERRORS, 0)}, spilled {stats.get_value(keys.STORAGE_SPILLED, 0)}"
        )

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if self._task is not None:
            self._task.cancel()
        # spider_closed handlers run concurrently: the summary waits for the outcome, which is
        # decided once the store has written or spilled its last batches, so what it reports is final.
        outcome = self.crawler.get_extension(CrawlOutcome)
        problems = (await outcome.decided()).problems if outcome is not None else ["the outcome was not decided"]
        elapsed = time.monotonic() - self.started
        logger.info("%s: summary (%s, %.1fs): %s", spider.name, reason, elapsed, self._line())
        if problems:
            logger.error("%s: crawl failed: %s", spider.name, "; ".join(problems))
