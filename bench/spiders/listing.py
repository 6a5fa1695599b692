"""`bench_listing`: RemoteOK-shaped JSON listing pages of 100 postings (`/bench/api?page=K`),
read one after another until an empty page, parsed by the RemoteOK parser. The memory
benchmark crawls 10k and 100k postings this way: every response has the same size, so what
grows with the crawl is what the crawler keeps, not what it downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy.http import Response

from bench.spiders.shape import TimedSpider
from outsourcing.platforms.remoteok import parser


class ListingSpider(TimedSpider):
    name = "bench_listing"
    origin = parser.ORIGIN

    async def start(self) -> AsyncIterator[Any]:
        request = self.listing_request("/bench/api?page=1", self.parse_page, cb_kwargs={"page": 1})
        if request is not None:
            yield request

    def parse_page(self, response: Response, page: int) -> list[Any]:
        return self.timed(lambda r: self._page(r, page), response)

    def _page(self, response: Response, page: int) -> Iterable[Any]:
        jobs = parser.load_api(response.text)
        self.listing_recognised(response, len(jobs))
        scraped_at = self.received_at(response)
        for job in jobs:
            yield parser.parse_job(job, scraped_at)
        if jobs:
            request = self.listing_request(f"/bench/api?page={page + 1}", self.parse_page, cb_kwargs={"page": page + 1})
            if request is not None:
                yield request
