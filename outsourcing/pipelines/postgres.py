"""The PostgreSQL pipeline: hands each valid, unique posting to the crawl's PostingStore, which
batches, upserts, keeps history, retries and spills (outsourcing/storage/store.py).

Storage is on exactly when this pipeline is enabled: it owns the store, and other components
(the validation pipeline, spiders asking for watermarks) find it through the crawler with
`outsourcing.pipelines.common.store_of`.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from outsourcing.items import CONTRACT_FIELDS, content_hash
from outsourcing.storage.store import PostingStore

#: What a posting hands to storage: the contract's fields, the raw payload, the content hash, and
#: the fields it could not read this time (`unread_fields`, see storage/writer.py).
RECORD_FIELDS = CONTRACT_FIELDS + ("raw", "content_hash", "unread_fields")


class PostgresPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.store = PostingStore(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostgresPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        await self.store.open()

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        record = {name: adapter.get(name) for name in RECORD_FIELDS}
        if record["content_hash"] is None:  # deduplication pipeline disabled
            record["content_hash"] = content_hash(adapter)
        if not record["unread_fields"]:
            del record["unread_fields"]
        await self.store.add_posting(record)
        return item

    async def close_spider(self) -> None:
        await self.store.release()
