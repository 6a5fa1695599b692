"""The `guru` spider: the job listing, page after page, following the pager's next link.

    scrapy crawl guru [-a category=programming-development | -a skill=python | -a query="web scraping"]

Listing `/d/jobs/` (or `/d/jobs/c/<category>/`, `/d/jobs/skill/<skill>/`, `/d/jobs/q/<query>/`),
then `<listing>pg/<n>/` as long as the page links to page n+1 and max_pages allows. The cards
hold every field we store, so no detail pages are read.
"""

from __future__ import annotations

from typing import Any, AsyncIterator
from urllib.parse import quote

from scrapy.http import Response, TextResponse

from outsourcing.platforms.base import PageNotRecognised, PlatformSpider
from outsourcing.platforms.guru import parser


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

    def parse_listing(self, response: Response) -> Any:
        if not isinstance(response, TextResponse):
            raise PageNotRecognised("not_text", f"content type {response.headers.get('Content-Type')!r}")
        page = parser.parse_listing(response, self.received_at(response))
        self.listing_recognised(response, len(page.items))
        yield from page.items
        if page.next_url:
            request = self.listing_request(page.next_url, self.parse_listing)
            if request is not None:
                yield request
