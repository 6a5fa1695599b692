"""The `peopleperhour` spider: the job listing's pages, read from their embedded React state.

    scrapy crawl peopleperhour [-a category=technology-programming] [-a query=wordpress]

`/freelance-jobs` (or `/freelance-jobs/<category>`), then `?page=2`, `?page=3`, ... up to the
state's `total-pages` (or, when the state does not say, until a page lists nothing), bounded by
max_pages. The listing state holds every field we store, so no detail pages are read.

`-a mode=incremental` reads the listing (newest first) down to the first page whose projects
were all posted before the watermark (the newest posting of the last clean run) and does not
yield projects already stored again: the daily full run revisits them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

from scrapy import Request
from scrapy.http import Response

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.pages import require_text
from outsourcing.platforms.peopleperhour import parser


def listing_path(page: int, *, category: str | None = None, query: str | None = None) -> str:
    """Page `page` of the listing: page 1 is the plain path, later pages add `page=N`."""
    path = "/freelance-jobs" + (f"/{quote(category.strip('/'))}" if category else "")
    params = ([("q", query)] if query else []) + ([("page", str(page))] if page > 1 else [])
    return f"{path}?{urlencode(params)}" if params else path


class PeoplePerHourSpider(PlatformSpider):
    name = "peopleperhour"
    origin = parser.ORIGIN
    # No API, pages rendered for browsers: 3 s between pages.
    custom_settings = {"DOWNLOAD_DELAY": 3.0}
    POSTINGS = "projects"

    def __init__(self, *args: Any, category: str = "", query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category = category.strip() or None
        self.query = query.strip() or None

    async def start(self) -> AsyncIterator[Any]:
        request = self.page_request(1)
        if request is not None:
            yield request

    def page_request(self, page: int) -> Request | None:
        path = listing_path(page, category=self.category, query=self.query)
        return self.listing_request(path, self.parse_listing, meta={"page": page})

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        page = parser.parse_listing(require_text(response), self.received_at(response))
        self.listing_recognised(response, page.listed)
        for posting in page.unreadable:  # rejected with their reason by the validation pipeline
            yield posting
        number = int(response.meta.get("page", 1))
        listing = await self.read_listing(page.items, posted_at=[item["posted_at"] for item in page.items],
                                          where=f"page {number}", page=number)
        for item in listing.new:
            yield item
        if listing.stop_here():
            return
        more = number < page.pages if page.pages is not None else bool(page.listed)
        if more:
            request = self.page_request(number + 1)
            if request is not None:
                yield request
