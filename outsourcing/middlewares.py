"""Middlewares shared by every platform spider.

- `PageErrorsMiddleware` (spider): a parser that does not recognise a page raises
  `PageNotRecognised`; this logs an error naming the platform, URL and reason, counts it
  (`outsourcing/unrecognised/<reason>`), and lets the crawl go on with the other pages. Any
  other exception of a callback is counted as a callback error (`outsourcing/callback_errors`),
  which fails the run. It also stops the crawl cleanly at `-a max_items=N`.
- `BackoffMiddleware` (downloader): on 429 (and 503) it pauses every request to that host for
  the server's Retry-After (or an exponential default), then retries; it stamps each response
  with the time it was received (the items' `scraped_at`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from outsourcing import stats as keys
from outsourcing.normalize.dates import now_utc
from outsourcing.platforms.base import REFUSED_REASONS, count_listing_failure
from outsourcing.platforms.pages import PageNotRecognised

logger = logging.getLogger(__name__)


class PageErrorsMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.items = 0
        self.limit_logged = False

    def process_spider_exception(self, response: Response, exception: Exception) -> Any:
        spider = self.crawler.spider
        stats = self.crawler.stats
        if not isinstance(exception, PageNotRecognised):
            # Any other exception is a bug or an input the code does not handle (a field of an
            # unexpected type): the rest of the page, and the pages it would have led to, are
            # lost. An error of the run (outcome: exit 1, no watermark, nothing closed), with
            # the traceback; the crawl goes on with the other pages.
            stats.inc_value(keys.CALLBACK_ERRORS)
            stats.inc_value(keys.ERRORS)
            logger.error("%s: error in the spider's code on %s: %s: %s", getattr(spider, "name", "?"), response.url,
                         type(exception).__name__, exception, exc_info=exception)
            return []
        stats.inc_value(keys.unrecognised(exception.reason))
        stats.inc_value(keys.ERRORS)
        if response.meta.get("page_kind") == "listing":
            kind = "refused" if exception.reason in REFUSED_REASONS else "unrecognised"
            count_listing_failure(stats, kind, f"{exception.reason} ({response.url})")
        logger.error(
            "%s: page not recognised: %s: %s%s",
            getattr(spider, "name", "?"), response.url, exception.reason,
            f" ({exception.detail})" if exception.detail else "",
        )
        return []

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        limit = getattr(self.crawler.spider, "max_items", None)
        if limit is not None and self.items >= limit:
            self._limit_reached()
            return None
        self.items += 1
        return item

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        limit = getattr(self.crawler.spider, "max_items", None)
        if limit is not None and self.items >= limit and response is not None:
            self._limit_reached()
            return None
        return request

    def _limit_reached(self) -> None:
        self.crawler.stats.set_value(keys.TRUNCATED_MAX_ITEMS, 1)
        if not self.limit_logged:
            self.limit_logged = True
            logger.info("%s: max_items=%s reached; not following further pages",
                        getattr(self.crawler.spider, "name", "?"), self.items)


class BackoffMiddleware:
    """Honour 429/503 Retry-After for the whole host; stamp responses with their time."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.codes = {int(code) for code in settings.getlist("BACKOFF_HTTP_CODES", [429, 503])}
        self.default_delay = settings.getfloat("BACKOFF_DEFAULT_DELAY", 5.0)
        self.max_delay = settings.getfloat("BACKOFF_MAX_DELAY", 300.0)
        self.paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc
        wait = self.paused_until.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        request.meta.setdefault("received_at", now_utc())
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        delay = self._delay(response, request.meta.get("retry_times", 0))
        host = urlsplit(request.url).netloc
        self.paused_until[host] = max(self.paused_until.get(host, 0.0), time.monotonic() + delay)
        spider = self.crawler.spider
        if spider is None:  # responses only arrive while a spider runs; this keeps the types honest
            return response
        self.crawler.stats.inc_value(keys.backoff(response.status))
        logger.warning("%s: HTTP %d from %s; pausing requests to %s for %.1fs",
                       getattr(spider, "name", "?"), response.status, request.url, host, delay)
        retry = get_retry_request(request, spider=spider, reason=f"backoff_{response.status}")
        if retry is None:
            return response
        retry.meta.pop("received_at", None)
        return retry

    def _delay(self, response: Response, retries: int) -> float:
        header = response.headers.get(b"Retry-After")
        delay: float | None = None
        if header:
            text = header.decode("latin-1").strip()
            try:
                delay = float(text)
            except ValueError:
                try:
                    delay = parsedate_to_datetime(text).timestamp() - time.time()
                except (TypeError, ValueError, IndexError):
                    delay = None
        if delay is None or delay < 0:
            delay = self.default_delay * (2**retries)
        return min(delay, self.max_delay)
