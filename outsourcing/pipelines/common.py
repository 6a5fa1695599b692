"""What the pipelines (and incremental mode) share: the crawl's store, when this crawl stores at all."""

from __future__ import annotations

from scrapy.crawler import Crawler

from outsourcing.storage.store import PostingStore


def store_of(crawler: Crawler) -> PostingStore | None:
    """The crawl's PostingStore, owned by the PostgreSQL pipeline; None when that pipeline is not
    enabled (then validation only drops and counts, as with `-s ITEM_PIPELINES=...` without
    storage). Call it once the engine exists (open_spider, a spider's `start`, spider_closed)."""
    from outsourcing.pipelines.postgres import PostgresPipeline

    pipeline = crawler.get_item_pipeline(PostgresPipeline)
    return pipeline.store if pipeline is not None else None

