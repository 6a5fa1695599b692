"""The `weworkremotely` spider: `/remote-jobs.rss`, plus category feeds when asked for.

    scrapy crawl weworkremotely -a categories=remote-programming-jobs,remote-design-jobs

A category feed that fails (some old slugs answer 404 or an empty 301) is a warning; the crawl
fails only when no feed at all could be read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.weworkremotely import parser

MAIN_FEED = "/remote-jobs.rss"


class WeWorkRemotelySpider(PlatformSpider):
    name = "weworkremotely"
    origin = parser.ORIGIN
    custom_settings = {"DOWNLOAD_DELAY": 1.0}

    def __init__(self, *args: Any, categories: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.categories = [slug.strip() for slug in categories.split(",") if slug.strip()]

    def feed_paths(self) -> list[str]:
        return [MAIN_FEED] + [f"/categories/{slug.removesuffix('.rss')}.rss" for slug in self.categories]

    async def start(self) -> AsyncIterator[Any]:
        for path in self.feed_paths():
            request = self.listing_request(path, self.parse_feed)
            if request is not None:
                yield request

    def parse_feed(self, response: Response) -> Any:
        page = parser.parse_listing(response, self.received_at(response))
        self.listing_recognised(response, page.listed)
        yield from page.unreadable  # rejected with their reason by the validation pipeline
        yield from page.items
