"""The `guru` spider: the job listing, page after page, following the pager's next link.

    scrapy crawl guru [-a category=programming-development | -a skill=python | -a query="web scraping"]

Listing `/d/jobs/` (or `/d/jobs/c/<category>/`, `/d/jobs/skill/<skill>/`, `/d/jobs/q/<query>/`),
then `<listing>pg/<n>/` as long as the page links to page n+1 and max_pages allows. The cards
hold every field we store, so no detail pages are read.

`-a mode=incremental` reads the listing (newest first) down to the first page whose cards are
all older than the watermark (the newest posting of the last clean run; cards give the day, and
stored postings carry the same day, so the comparison is like for like) and does not yield
postings already stored again: the daily full run revisits them.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator
from urllib.parse import quote

from scrapy.http import Response, TextResponse

from outsourcing.platforms.base import PageNotRecognised, PlatformSpider
from outsourcing.platforms.guru import parser

logger = logging.getLogger(__name__)


def listing_path(*, category: str | None = None, skill: str | None = None, query: str | None = None) -> str:
    """The first listing page for the filter (at most one of them)."""
    if category:
        return f"/d/jobs/c/{quote(category.strip('/'))}/"
    if skill:
        return f"/d/jobs/skill/{quote(skill.strip('/'))}/"
    if query:
        return f"/d/jobs/q/{quote(query.strip())}/"
    return "/d/jobs/"


class GuruSpider(PlatformSpider):
    name = "guru"
    origin = parser.ORIGIN
    # Server-rendered pages: 3 s between pages, as the gentlest public Guru crawler does.
    custom_settings = {"DOWNLOAD_DELAY": 3.0}

    def __init__(self, *args: Any, category: str = "", skill: str = "", query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        given = [name for name, value in (("category", category), ("skill", skill), ("query", query)) if value.strip()]
        if len(given) > 1:
            raise ValueError(f"give at most one of category, skill, query (got {', '.join(given)})")
        self.start_path = listing_path(category=category.strip() or None, skill=skill.strip() or None,
                                       query=query.strip() or None)
        self.stopped_at: str | None = None  # incremental: the listing page older than the watermark

    async def start(self) -> AsyncIterator[Any]:
        await self.load_watermark()
        request = self.listing_request(self.start_path, self.parse_listing)
        if request is not None:
            yield request

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        if not isinstance(response, TextResponse):
            raise PageNotRecognised("not_text", f"content type {response.headers.get('Content-Type')!r}")
        page = parser.parse_listing(response, self.received_at(response))
        self.listing_recognised(response, len(page.items))
        # Incremental: postings already stored are not yielded again (the full run revisits them).
        new, _ = await self.new_ids([item["external_id"] for item in page.items])
        fresh = set(new)
        for item in page.items:
            if item["external_id"] in fresh:
                yield item
        if self.mode == "incremental" and self.older_than_watermark([item["posted_at"] for item in page.items]):
            self.stopped_at = self.platform_url(response.url)
            return
        if page.next_url:
            request = self.listing_request(page.next_url, self.parse_listing)
            if request is not None:
                yield request

    def closed(self, reason: str) -> None:
        if self.mode != "incremental":
            return
        watermark = getattr(self, "watermark", None)
        if watermark is None:
            how = "no watermark: the listing was read as in a full run"
        elif self.stopped_at:
            how = f"stopped after {self.stopped_at}, older than the watermark {watermark.isoformat()}"
        else:
            how = f"did not reach the watermark {watermark.isoformat()} (the listing ended, or max_pages)"
        logger.info("%s: incremental run: %d listing pages read, %d stored postings skipped (not yielded again); %s",
                    self.name, self.listing_pages_requested,
                    self.crawler.stats.get_value("outsourcing/incremental/skipped_stored", 0), how)
