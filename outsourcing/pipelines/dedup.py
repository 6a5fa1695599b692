"""Deduplication: one posting per (platform, external_id) per crawl, and its content hash.

A platform that lists a posting twice in one crawl (it moved between pages while we paged)
gets the second copy dropped and counted under `outsourcing/duplicates`. The content hash
covers every contract field but `scraped_at`; the database compares it with the stored one to
tell new, changed and unchanged postings apart.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from outsourcing import stats as keys
from outsourcing.items import content_hash


class DeduplicationPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DeduplicationPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        key = (adapter["platform"], adapter["external_id"])
        if key in self.seen:
            self.stats.inc_value(keys.DUPLICATES)
            raise DropItem(f"duplicate: {key[0]} posting {key[1]} was already yielded in this crawl")
        self.seen.add(key)
        adapter["content_hash"] = content_hash(adapter)
        return item
