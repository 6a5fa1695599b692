"""The `elancer` spider: sitemap.xml (and the child sitemaps of an index) for the project pages,
newest first, then each page's JobPosting JSON-LD.

    scrapy crawl elancer -a max_items=100

Sitemaps count as listing pages (`max_pages`); `max_items` bounds the project pages fetched.
The list API on api.elancer.co.kr is disallowed by robots.txt and never called.

`-a mode=incremental`: project pages already stored are not fetched (nor yielded again: the
daily full run revisits them), and no further sitemap file is read after the first one that
lists a project stored by an earlier complete run that finished cleanly (sitemaps are newest
first, and such a run left everything listed below it stored; a project stored by a killed run
does not count, since that run may have stored out of order). The sitemaps' lastmod is not
compared with the watermark: it says when a URL last changed by the sitemap generator's own
rules (often the generation time, sometimes stale), not when the project was posted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.elancer import parser
from outsourcing.platforms.pages import PageNotRecognised


class ElancerSpider(PlatformSpider):
    name = "elancer"
    origin = parser.ORIGIN
    # One project page per posting: a slower pace than the listing-API platforms.
    custom_settings = {"DOWNLOAD_DELAY": 2.0}
    # Sitemaps give no posting time (lastmod is not one): incremental runs stop at projects
    # stored by a complete run.
    INCREMENTAL_STOP = "stored"
    READS_DETAILS = True
    LISTING_PAGES = "sitemap files"
    POSTINGS = "projects"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.projects_listed: set[str] = set()  # every project id of the sitemaps read so far
        # Child sitemaps still to read, in the index's order. They are read one after the
        # other (not all scheduled at once): the newest come first, and with max_items the
        # newest postings must be the ones taken.
        self.pending_sitemaps: list[str] = []
        self.sitemaps_seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        request = self.sitemap_request(parser.SITEMAP_PATH)
        if request is not None:
            yield request

    def sitemap_request(self, url: str) -> scrapy.Request | None:
        self.sitemaps_seen.add(url)
        return self.listing_request(url, self.parse_sitemap, errback=self.sitemap_failed)

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        try:
            sitemap = parser.parse_listing(response, self.received_at(response))
        except PageNotRecognised:
            # Reported by PageErrorsMiddleware; the remaining sitemaps are still read.
            request = self.next_sitemap_request()
            if request is not None:
                yield request
            raise
        self.listing_recognised(response, len(sitemap.entries))
        listed = [project for project in sitemap.entries if project.project_id not in self.projects_listed]
        self.projects_listed.update(project.project_id for project in listed)  # listed in two sitemaps: once
        # Incremental: stored projects get no request and no item (the full run revisits them).
        listing = await self.read_listing(listed, id_of=lambda project: project.project_id,
                                          where=self.platform_url(response.url))
        for project in listing.new:
            if self.items_limit_reached():
                break
            yield self.detail_request(project.url, self.parse_project, cb_kwargs={"project_id": project.project_id})
        # An index's children go first, in its order (depth first: an index may list indexes).
        children = [url for url in sitemap.more if url not in self.sitemaps_seen]
        self.pending_sitemaps[:0] = children
        if listing.stop_here(pages_not_read=len(set(self.pending_sitemaps) - self.sitemaps_seen)):
            # Newest first, and a clean complete run stored everything listed below this project.
            self.pending_sitemaps.clear()
            return
        request = self.next_sitemap_request()
        if request is not None:
            yield request

    def sitemap_failed(self, failure: Failure) -> Iterator[Any]:
        self.request_failed(failure)
        request = self.next_sitemap_request()
        if request is not None:
            yield request

    def next_sitemap_request(self) -> scrapy.Request | None:
        while self.pending_sitemaps and not self.items_limit_reached():
            url = self.pending_sitemaps.pop(0)
            if url in self.sitemaps_seen:
                continue
            return self.sitemap_request(url)  # None at max_pages
        return None

    def parse_project(self, response: Response, project_id: str) -> Iterator[Any]:
        yield parser.parse_detail(response, project_id, self.received_at(response))
