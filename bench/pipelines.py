"""The pipeline a tutorial teaches: one INSERT and one commit per item.

This is the usual "write your items to PostgreSQL" pipeline (the psycopg2 version calls
`cursor.execute(...)` then `connection.commit()` in `process_item`); here with asyncpg on the
crawl's asyncio loop, one connection, autocommit (every statement is its own transaction, so
its own commit and WAL flush). It upserts into the same `postings` table as ours, so the
database does the same index work per row; it does no validation, no deduplication, no
history and no last-seen bookkeeping. Enabled by the benchmark only:

    ITEM_PIPELINES={"bench.pipelines.OneInsertPerItemPipeline": 800}
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import asyncpg
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.storage.database import configured_database_url

_COLUMNS = CONTRACT_FIELDS + ("raw", "content_hash", "first_seen_at")
_INSTANTS = {"posted_at", "deadline_at", "scraped_at"}
INSERT = (
    f"INSERT INTO postings ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))}) "
    "ON CONFLICT (platform, external_id) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _COLUMNS if name not in ("platform", "external_id", "first_seen_at"))
)


class OneInsertPerItemPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.dsn = configured_database_url(crawler.settings)
        self.stats = crawler.stats
        self.connection: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()  # one connection, one statement at a time (as with psycopg2)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OneInsertPerItemPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        self.connection = await asyncpg.connect(self.dsn)

    async def close_spider(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        values = []
        for name in _COLUMNS:
            if name == "first_seen_at":
                value = datetime.fromisoformat(adapter["scraped_at"])
            elif name == "content_hash":
                value = ""
            else:
                value = adapter.get(name)
                if value is not None and name in _INSTANTS:
                    value = datetime.fromisoformat(value)
                elif name == "raw":
                    value = json.dumps(value)
            values.append(value)
        assert self.connection is not None
        async with self.lock:
            await self.connection.execute(INSERT, *values)  # autocommit: one commit per item
        self.stats.inc_value("bench/tutorial_inserted")
        return item
