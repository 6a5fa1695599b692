"""Test-only components for fault scenarios that the platforms' own code no longer produces.

- `rawitems`: a spider that yields the dicts of `<base_url>/items.json` exactly as served, with
  no parser and no normaliser between: what a spider yielding raw dicts, or a future parser bug,
  would hand to the pipelines. Crawls enable it with
  `-s SPIDER_MODULES=outsourcing.platforms,tests.faults.spiders`.
- `FailOnMarkedItem`: an item pipeline with a bug: it raises on a posting whose raw payload says
  `"fail_in_pipeline": true` (neither stored nor rejected: the crawl must fail).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from itemadapter import ItemAdapter
from scrapy.http import Response

from outsourcing import stats as keys

SPIDER_MODULES = "outsourcing.platforms,tests.faults.spiders"


class RawItemsSpider(scrapy.Spider):
    name = "rawitems"
    custom_settings = {"ROBOTSTXT_OBEY": False}

    def __init__(self, *args: Any, base_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/")

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(f"{self.base_url}/items.json", callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        self.crawler.stats.inc_value(keys.LISTING_OK)
        yield from response.json()


class FailOnMarkedItem:
    def process_item(self, item: Any) -> Any:
        if (ItemAdapter(item).get("raw") or {}).get("fail_in_pipeline"):
            raise RuntimeError("a bug in a pipeline")
        return item


def raw_posting(n: int, **fields: Any) -> dict[str, Any]:
    """A posting with every contract field, as a parser would have built it."""
    posting = {
        "platform": "remoteok", "external_id": str(5_000_000 + n), "url": f"https://remoteok.com/remote-jobs/raw-{n}",
        "title": f"Raw job {n}", "description": f"Job {n}", "client": "Raw Co", "category": None, "skills": ["python"],
        "budget_min": None, "budget_max": None, "currency": None, "budget_type": None, "duration_days": None,
        "location": None, "remote": True, "posted_at": "2026-09-01T00:00:00+00:00", "deadline_at": None,
        "proposals": None, "status": "open", "scraped_at": "2026-10-02T06:00:00+00:00", "raw": {"n": n},
    }
    posting.update(fields)
    return posting
