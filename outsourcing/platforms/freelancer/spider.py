"""The `freelancer` spider: Freelancer.com's public projects API, page by page, no web pages.

    scrapy crawl freelancer [-a query=python] [-a page_size=100] [-a mode=incremental]

Request (one per listing page, counted against max_pages):

    GET /api/projects/0.1/projects/active/?full_description=true&job_details=true
        &user_details=true&limit=100&offset=N&sort_field=time_submitted[&from_time=T][&query=Q]

- `full_description=true`: the whole description, not the 100-character preview;
- `job_details=true`: `jobs[]` with names and categories (skills, category);
- `user_details=true`: `result.users`, the owners' records (client name);
- `limit`/`offset`: pages of `page_size` projects (the API allows at most 100), read until
  `result.total_count` or an empty page;
- `sort_field=time_submitted`: newest first;
- `from_time` (incremental mode only): unix seconds of the watermark (the newest `posted_at`
  the last completed run saw) less FROM_TIME_MARGIN, so the API answers only projects
  submitted since then;
- `query`: the API's full-text search, when `-a query=` is given.

`-a mode=incremental`: the watermark, not the newest stored posting, bounds `from_time`: a run
killed midway may have stored the newest projects while older new ones were never read, and
the watermark (advanced only by a run that finished cleanly) still lies below them. The margin
covers projects submitted in the watermark's own second (whether the API's `from_time` is
inclusive is not documented) and projects that reach the active list a little after their
`time_submitted`. Projects already stored are not yielded again (the daily full run revisits
them for budget changes and closings); paging also stops at a page older than the watermark.

An OAuth token in FREELANCER_OAUTH_TOKEN (optional: reads need none) goes in the
`freelancer-oauth-v1` header and is never logged; with a token, redirects are not followed, so
the header cannot travel to another host. HTTP 429 is retried after Retry-After by
BackoffMiddleware (host-wide pause).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from scrapy import Request
from scrapy.http import Response

from outsourcing.normalize.dates import iso_utc
from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.freelancer import parser
from outsourcing.platforms.pages import require_text

logger = logging.getLogger(__name__)

API_PATH = "/api/projects/0.1/projects/active/"
PAGE_SIZE = 100  # the API's maximum `limit`
TOKEN_ENV = "FREELANCER_OAUTH_TOKEN"
TOKEN_HEADER = "freelancer-oauth-v1"
# Error answers of the API carry a JSON body with error_code and message: parse them, so the
# log names the API's reason (AUTH_..., a bad parameter) instead of a bare HTTP status.
API_ERROR_STATUSES = [400, 401, 403, 404]
#: Seconds subtracted from the watermark for `from_time` (see the module docstring); the
#: FREELANCER_FROM_TIME_MARGIN setting overrides it. The stored projects this re-lists cost
#: no request of their own (the API page carries them) and are not yielded again.
FROM_TIME_MARGIN = 600


def projects_path(offset: int, *, limit: int = PAGE_SIZE, from_time: int | None = None, query: str | None = None) -> str:
    """The listing request's path and query (parameters explained in the module docstring)."""
    params = [
        ("full_description", "true"),
        ("job_details", "true"),
        ("user_details", "true"),
        ("limit", str(limit)),
        ("offset", str(offset)),
        ("sort_field", "time_submitted"),
    ]
    if from_time is not None:
        params.append(("from_time", str(from_time)))
    if query:
        params.append(("query", query))
    return f"{API_PATH}?{urlencode(params)}"


class FreelancerSpider(PlatformSpider):
    name = "freelancer"
    origin = parser.ORIGIN
    # Freelancer publishes no rate limit but answers 429 when pushed: one request every 2 s.
    custom_settings = {"DOWNLOAD_DELAY": 2.0}
    # page_size says how the API is read, not what: it does not scope the watermark.
    UNSCOPED_ARGUMENTS = frozenset({"page_size"})
    POSTINGS = "projects"

    def __init__(self, *args: Any, query: str = "", page_size: int | str = PAGE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.query = query.strip() or None
        try:
            self.page_size = int(page_size)
        except (TypeError, ValueError):
            raise ValueError(f"page_size must be a whole number, not {page_size!r}") from None
        if not 1 <= self.page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}, not {self.page_size}")
        self.from_time: int | None = None
        # Read once; the value itself is never logged or stored on the spider's repr.
        self._token = os.environ.get(TOKEN_ENV, "").strip() or None

    async def start(self) -> AsyncIterator[Any]:
        if self._token:
            logger.info("%s: sending the OAuth token from %s", self.name, TOKEN_ENV)
        watermark = await self.watermark()
        if watermark is not None:
            margin = self.settings.getint("FREELANCER_FROM_TIME_MARGIN", FROM_TIME_MARGIN)
            self.from_time = int(watermark.timestamp()) - margin
            logger.info("%s: incremental mode: projects submitted since %s less %d s (from_time=%d)",
                        self.name, iso_utc(watermark), margin, self.from_time)
        request = self.page_request(0)
        if request is not None:
            yield request

    def page_request(self, offset: int) -> Request | None:
        headers = {"Accept": "application/json"}
        meta: dict[str, Any] = {"offset": offset, "handle_httpstatus_list": API_ERROR_STATUSES}
        if self._token:
            headers[TOKEN_HEADER] = self._token
            meta["dont_redirect"] = True
        path = projects_path(offset, limit=self.page_size, from_time=self.from_time, query=self.query)
        return self.listing_request(path, self.parse_projects, headers=headers, meta=meta)

    async def parse_projects(self, response: Response) -> AsyncIterator[Any]:
        page = parser.parse_listing(require_text(response), self.received_at(response))
        self.listing_recognised(response, page.listed)
        for posting in page.unreadable:  # rejected with their reason by the validation pipeline
            yield posting
        offset = int(response.meta.get("offset", 0))
        listing = await self.read_listing(page.items, posted_at=[item["posted_at"] for item in page.items],
                                          where=f"the page at offset {offset}")
        for item in listing.new:
            yield item
        if listing.stop_here():
            return
        next_offset = offset + self.page_size
        more = page.listed > 0 and (
            next_offset < page.total if page.total is not None else page.listed >= self.page_size
        )
        if more:
            request = self.page_request(next_offset)
            if request is not None:
                yield request
