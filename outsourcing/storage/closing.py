"""Closing postings that stopped appearing: an extension listening to `run_finishing`.

After a clean (exit 0), complete (not cut short by max_pages/max_items), unfiltered (no category
or query: watermark scope '') *full* run, open postings of the platform not seen for
`CLOSE_UNSEEN_AFTER_DAYS` days are marked closed, with a history row, exactly as if the platform
had said so (`lifecycle.close_unseen`). Any other run did not look at the whole listing, so it
closes nothing. `CLOSE_UNSEEN_AFTER_DAYS = 0` turns this off.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from outsourcing import stats as keys
from outsourcing.signals import run_finishing
from outsourcing.storage import lifecycle

logger = logging.getLogger(__name__)


class UnseenPostingsCloser:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.days = crawler.settings.getfloat("CLOSE_UNSEEN_AFTER_DAYS", 14.0)
        if self.days <= 0:
            raise NotConfigured("CLOSE_UNSEEN_AFTER_DAYS is 0: postings are never closed for not being seen")
        crawler.signals.connect(self.run_finishing, signal=run_finishing)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UnseenPostingsCloser:
        return cls(crawler)

    async def run_finishing(self, run_id: int, exit_code: int, pool: Any) -> None:
        spider = self.crawler.spider
        if exit_code != 0 or spider is None or not self.saw_everything(spider):
            return
        async with pool.acquire() as connection:
            closed = await lifecycle.close_unseen(connection, spider.name, self.days, run_id)
        if closed:
            logger.info("%s: %d postings not seen for %.0f days marked closed", spider.name, closed, self.days)
            self.crawler.stats.inc_value(keys.STORAGE_CLOSED, closed)

    def saw_everything(self, spider: Any) -> bool:
        """A full run over the platform's whole, unfiltered listing."""
        stats = self.crawler.stats.get_stats()
        truncated = any(key.startswith(keys.TRUNCATED_PREFIX) for key in stats)
        return getattr(spider, "mode", "full") == "full" and not truncated and getattr(spider, "watermark_scope", "") == ""
