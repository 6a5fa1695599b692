"""Advancing the incremental watermark after a clean run: an extension listening to `run_finishing`.

INTERIM: incremental mode is becoming one component (the crawl-control work); that component
takes this over and this file goes. Until then it keeps what the store did before:

After a run that finished cleanly (exit 0), the newest `posted_at` among the postings the run saw
becomes the platform's watermark for the run's scope (`lifecycle.advance_watermark`, never moved
back). A run cut short by max_pages/max_items saw only the newest part of the listing: it moves
the watermark only if it reached the old one (an incremental run that stopped paging there), else
postings in between would never be read by incremental runs.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler

from outsourcing import stats as keys
from outsourcing.signals import run_finishing
from outsourcing.storage import lifecycle

logger = logging.getLogger(__name__)


class WatermarkAdvance:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.run_finishing, signal=run_finishing)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WatermarkAdvance:
        return cls(crawler)

    async def run_finishing(self, run_id: int, exit_code: int, pool: Any) -> None:
        spider = self.crawler.spider
        if exit_code != 0 or spider is None:
            return
        stats = self.crawler.stats.get_stats()
        truncated = sorted(key.rsplit("/", 1)[-1] for key in stats if key.startswith(keys.TRUNCATED_PREFIX))
        if truncated and not stats.get(keys.INCREMENTAL_STOPPED_AT_WATERMARK):
            logger.info("%s: watermark not advanced: the run stopped at %s before reaching it",
                        spider.name, " and ".join(truncated))
            return
        newest = await lifecycle.advance_watermark(pool, spider.name, run_id, getattr(spider, "watermark_scope", ""))
        if newest is not None:
            self.crawler.stats.set_value(keys.STORAGE_WATERMARK, newest.isoformat())
