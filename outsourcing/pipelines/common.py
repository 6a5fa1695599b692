"""What the pipelines share: whether this crawl stores into PostgreSQL at all."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.utils.misc import load_object

from outsourcing.storage.store import PostingStore

POSTGRES_PIPELINE = "outsourcing.pipelines.postgres.PostgresPipeline"


def store_if_enabled(crawler: Crawler) -> PostingStore | None:
    """The crawl's PostingStore when the PostgreSQL pipeline is enabled, else None (then
    validation only drops and counts, as with `-s ITEM_PIPELINES=...` without storage)."""
    pipelines = crawler.settings.getwithbase("ITEM_PIPELINES")
    for path, order in pipelines.items():
        if order is None:
            continue
        target = load_object(path) if isinstance(path, str) else path
        if f"{target.__module__}.{target.__qualname__}" == POSTGRES_PIPELINE:
            return PostingStore.of(crawler)
    return None
