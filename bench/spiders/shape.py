"""Spiders for the crawl-shape benchmark: HTML listing pages of 20 postings with a next link,
and one detail page per posting (bench.site serves them).

- `bench_shape` parses every detail page into a posting with the shared normalisers, as a
  platform spider does (a Guru-like page, so validation also scrubs personal data);
- `bench_shape_empty` requests exactly the same pages and extracts nothing but the links.

Both add the CPU seconds spent in their callbacks to the stat `bench/parse_cpu_us`.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy.http import Response

from outsourcing.items import new_posting
from outsourcing.normalize.dates import parse_instant
from outsourcing.normalize.money import parse_money
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.platforms.base import PlatformSpider

_DIGITS = re.compile(r"\d+")


class TimedSpider(PlatformSpider):
    """Counts the CPU time of its callbacks (the parse share of the crawl's CPU)."""

    parse_cpu_us = 0.0

    def timed(self, produce: Any, response: Response) -> list[Any]:
        started = time.process_time()
        output = list(produce(response))
        self.parse_cpu_us += (time.process_time() - started) * 1e6
        return output

    def closed(self, reason: str) -> None:
        self.crawler.stats.set_value("bench/parse_cpu_us", int(self.parse_cpu_us))


class ShapeSpider(TimedSpider):
    name = "bench_shape"
    origin = "https://www.guru.com"
    platform = "guru"

    async def start(self) -> AsyncIterator[Any]:
        request = self.listing_request("/bench/list?page=1", self.parse_listing)
        if request is not None:
            yield request

    def parse_listing(self, response: Response) -> list[Any]:
        return self.timed(self._listing, response)

    def _listing(self, response: Response) -> Iterable[Any]:
        links = response.css("a.job-link::attr(href)").getall()
        self.listing_recognised(response, len(links))
        for link in links:
            yield self.detail_request(link, self.parse_detail)
        following = response.css("a.next::attr(href)").get()
        if following:
            request = self.listing_request(following, self.parse_listing)
            if request is not None:
                yield request

    def parse_detail(self, response: Response) -> list[Any]:
        return self.timed(self._detail, response)

    def _detail(self, response: Response) -> Iterable[Any]:
        article = response.css("article.job")
        external_id = article.attrib["data-id"]
        proposals = _DIGITS.search(article.css("p.proposals::text").get() or "")
        yield new_posting(
            platform=self.platform,
            external_id=external_id,
            url=f"{self.origin}/bench/job?id={external_id}",
            title=clean_line(article.css("h1.title::text").get()),
            description=html_to_text(article.css("div.description").get()),
            client=clean_line(article.css("div.client a::text").get()),
            category=" > ".join(filter(None, (clean_line(t) for t in article.css("ul.crumbs li::text").getall()))) or None,
            skills=clean_skills(article.css("li.skill::text").getall()),
            **parse_money(article.css("p.budget::text").get()).fields(),
            location=clean_line(article.css("p.location::text").get()),
            remote=None,
            posted_at=parse_instant(int(article.css("time.posted::attr(datetime)").get())),
            proposals=int(proposals.group()) if proposals else None,
            status="open",
            scraped_at=self.received_at(response),
            raw=None,
        )


class EmptyShapeSpider(ShapeSpider):
    """The same requests, no postings: Scrapy's own cost of crawling this shape."""

    name = "bench_shape_empty"

    def _detail(self, response: Response) -> Iterable[Any]:
        return ()
