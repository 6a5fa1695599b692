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

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.guru import parser
from outsourcing.platforms.pages import require_text


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

    async def start(self) -> AsyncIterator[Any]:
        request = self.listing_request(self.start_path, self.parse_listing)
        if request is not None:
            yield request

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        page = parser.parse_listing(require_text(response), self.received_at(response))
        self.listing_recognised(response, page.listed)
        for posting in page.unreadable:  # rejected with their reason by the validation pipeline
            yield posting
        listing = await self.read_listing(page.items, posted_at=[item["posted_at"] for item in page.items],
                                          where=self.platform_url(response.url))
        for item in listing.new:
            yield item
        if listing.stop_here():
            return
        if page.next_url:
            request = self.listing_request(page.next_url, self.parse_listing)
            if request is not None:
                yield request
