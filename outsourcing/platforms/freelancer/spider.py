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
- `from_time` (incremental mode only): unix seconds of the newest `posted_at` stored for
  freelancer, so the API answers only projects submitted since then;
- `query`: the API's full-text search, when `-a query=` is given.

An OAuth token in FREELANCER_OAUTH_TOKEN (optional: reads need none) goes in the
`freelancer-oauth-v1` header and is never logged; with a token, redirects are not followed, so
the header cannot travel to another host. HTTP 429 is retried after Retry-After by
BackoffMiddleware (host-wide pause).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import asyncpg
from scrapy import Request
from scrapy.http import Response, TextResponse

from outsourcing.normalize.dates import iso_utc
from outsourcing.platforms.base import PageNotRecognised, PlatformSpider
from outsourcing.platforms.freelancer import parser
from outsourcing.storage.database import configured_database_url, mask_dsn, mask_secrets

logger = logging.getLogger(__name__)

API_PATH = "/api/projects/0.1/projects/active/"
PAGE_SIZE = 100  # the API's maximum `limit`
TOKEN_ENV = "FREELANCER_OAUTH_TOKEN"
TOKEN_HEADER = "freelancer-oauth-v1"
# Error answers of the API carry a JSON body with error_code and message: parse them, so the
# log names the API's reason (AUTH_..., a bad parameter) instead of a bare HTTP status.
API_ERROR_STATUSES = [400, 401, 403, 404]


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


async def newest_posted_at(database_url: str, platform: str = parser.PLATFORM, *, timeout: float = 10.0) -> datetime | None:
    """The newest `posted_at` stored for `platform`, or None when there is none (or the
    database has no postings table yet). Connection errors propagate to the caller."""
    connection = await asyncpg.connect(database_url, timeout=timeout)
    try:
        return await connection.fetchval("SELECT max(posted_at) FROM postings WHERE platform = $1", platform)
    except asyncpg.UndefinedTableError:
        return None  # a database this crawler never wrote to
    finally:
        await connection.close()


class FreelancerSpider(PlatformSpider):
    name = "freelancer"
    origin = parser.ORIGIN
    # Freelancer publishes no rate limit but answers 429 when pushed: one request every 2 s.
    custom_settings = {"DOWNLOAD_DELAY": 2.0}

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
        if self.mode == "incremental":
            self.from_time = await self.incremental_from_time()
        request = self.page_request(0)
        if request is not None:
            yield request

    async def incremental_from_time(self) -> int | None:
        """from_time for an incremental run: the newest stored posting's time. Without a
        database to ask, a warning and a full crawl (never a silent empty run)."""
        dsn = configured_database_url(self.settings)
        if not dsn:
            logger.warning("%s: incremental mode needs DATABASE_URL to find the newest stored posting; "
                           "running a full crawl", self.name)
            return None
        try:
            newest = await newest_posted_at(dsn, timeout=self.settings.getfloat("DB_CONNECT_TIMEOUT", 10.0))
        except Exception as error:  # any failure to read means: we do not know, so crawl everything
            reason = mask_secrets(f"{type(error).__name__}: {error}", dsn)
            logger.warning("%s: incremental mode could not read the newest posting from %s (%s); running a full crawl",
                           self.name, mask_dsn(dsn), reason)
            return None
        if newest is None:
            logger.info("%s: incremental mode: no stored freelancer posting yet; running a full crawl", self.name)
            return None
        from_time = int(newest.timestamp())
        logger.info("%s: incremental mode: projects submitted since %s (from_time=%d)", self.name, iso_utc(newest), from_time)
        return from_time

    def page_request(self, offset: int) -> Request | None:
        headers = {"Accept": "application/json"}
        meta: dict[str, Any] = {"offset": offset, "handle_httpstatus_list": API_ERROR_STATUSES}
        if self._token:
            headers[TOKEN_HEADER] = self._token
            meta["dont_redirect"] = True
        path = projects_path(offset, limit=self.page_size, from_time=self.from_time, query=self.query)
        return self.listing_request(path, self.parse_projects, headers=headers, meta=meta)

    def parse_projects(self, response: Response) -> Any:
        if not isinstance(response, TextResponse):
            raise PageNotRecognised("not_text", f"content type {response.headers.get('Content-Type')!r}")
        page = parser.parse_projects(response, self.received_at(response))
        self.listing_recognised(response, len(page.items))
        yield from page.items
        offset = int(response.meta.get("offset", 0))
        next_offset = offset + self.page_size
        more = page.returned > 0 and (
            next_offset < page.total_count if page.total_count is not None else page.returned >= self.page_size
        )
        if more:
            request = self.page_request(next_offset)
            if request is not None:
                yield request
