"""The `kmong` spider: the custom-project list API page by page, then each request's detail.

    scrapy crawl kmong                                  # IT·프로그래밍, 외주
    scrapy crawl kmong -a project_type=RESIDENT -a category=6
    scrapy crawl kmong -a browser=1                     # list pages through headless Chromium

With `-a browser=1` every list page is the public board page loaded in headless Chromium
(scrapy-playwright); the JSON the page itself fetches from the list API is captured and read
by the same parser function as the plain path. Detail calls stay plain HTTP requests in both
paths: they are the same public API calls the page makes when a posting is opened.

`-a mode=incremental`: the API gives no posting time, so there is no watermark to compare with.
The list (sorted by CREATED_AT, newest first) is read down to the first page that holds a
request stored by an earlier complete run that finished cleanly (such a run left everything
listed below it stored; a request stored by a killed run does not count, since that run may
have stored out of order); requests already stored get no detail call and are not yielded
again: the daily full run revisits them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing import stats as keys
from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.kmong import parser
from outsourcing.platforms.pages import PageNotRecognised

if TYPE_CHECKING:
    from playwright.async_api import Page
    from playwright.async_api import Request as BrowserRequest
    from playwright.async_api import Response as BrowserResponse

logger = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
#: Debian's Chromium (apt-get install chromium); Playwright's own browser download is not used.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
#: Seconds to wait, after the board page loaded, for its list API answer.
DEFAULT_CAPTURE_TIMEOUT = 30.0
CONFIDENTIAL_STAT = keys.KMONG_CONFIDENTIAL_SKIPPED

# Reasons that are the site withholding a detail on purpose (a login wall), not a layout change.
DETAIL_RESTRICTED = frozenset({"login_required"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def abort_heavy_resources(request: BrowserRequest) -> bool:
    """Images, fonts and media are not needed to get the list JSON: the browser skips them
    (fewer requests to the platform, faster pages)."""
    return request.resource_type in ("image", "font", "media")


class BoardCapture:
    """Catches, on one board page, the list API answer the page's own script fetches.

    `on_response` is the page's "response" event handler (attached before navigation, so the
    call cannot be missed); `wait` runs as a page method after the load and returns once the
    answer's body was read, or after `timeout` (the callback then reports the page)."""

    def __init__(self, page: int, timeout: float) -> None:
        self.page = page
        self.timeout = timeout
        self.captured: parser.CapturedJson | None = None
        self._done = asyncio.Event()

    async def on_response(self, response: BrowserResponse) -> None:
        if self._done.is_set() or not parser.is_list_api_url(response.url, self.page):
            return
        try:
            body = await response.body()
            content_type = await response.header_value("content-type")
        except Exception as error:  # noqa: BLE001 - the page went away mid-read (any Playwright error): reported as not captured
            logger.warning("kmong: could not read the list answer %s: %s", response.url, error)
            return
        self.captured = parser.CapturedJson(response.url, response.status, body, content_type)
        self._done.set()

    async def wait(self, page: Page) -> None:
        try:
            await asyncio.wait_for(self._done.wait(), self.timeout)
        except TimeoutError:
            pass


class KmongSpider(PlatformSpider):
    name = "kmong"
    origin = parser.ORIGIN
    # The Playwright download handlers live here, not in the project settings: no other
    # spider needs a browser. from_crawler keeps the one scheme in use (none on the plain
    # path). Only requests with meta playwright=True go to the browser; everything else
    # (robots.txt, the detail API) is Scrapy's own HTTP download through the same handler.
    custom_settings = {
        "DOWNLOAD_DELAY": 2.0,
        # scrapy-playwright runs on the asyncio reactor's loop; the project already uses it.
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        "DOWNLOAD_HANDLERS": {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
        # One page at a time: the board is read page after page anyway.
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        "PLAYWRIGHT_ABORT_REQUEST": abort_heavy_resources,
    }
    # browser says how list pages are fetched, not which: it does not scope incremental runs.
    UNSCOPED_ARGUMENTS = frozenset({"browser"})
    # The API gives no posting time: incremental runs stop at requests stored by a complete run.
    INCREMENTAL_STOP = "stored"
    READS_DETAILS = True
    LISTING_PAGES = "list pages"
    POSTINGS = "requests"

    def __init__(self, *args: Any, project_type: str = "OUTSOURCING", category: str = "6",
                 browser: str | bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project_type = str(project_type).strip().upper()
        if self.project_type not in parser.PROJECT_TYPES:
            raise ValueError(f"project_type must be one of {', '.join(parser.PROJECT_TYPES)}, not {project_type!r}")
        self.category = str(category).strip()
        if not self.category.replace(",", "").isdigit():
            raise ValueError(f"category must be Kmong category ids (e.g. 6 or 6,7), not {category!r}")
        self.browser = _flag("browser", browser)
        if self.browser and importlib.util.find_spec("scrapy_playwright") is None:
            # requirements.txt leaves the ~165 MB of Playwright out: say how to get it, not
            # ModuleNotFoundError from deep inside the download handler.
            raise RuntimeError("-a browser=1 needs scrapy-playwright, which requirements.txt does not install: "
                               "install requirements-browser.txt (./run -r requirements-browser.txt scrapy crawl "
                               "kmong -a browser=1) and Debian's chromium")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> KmongSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, KmongSpider)
        # Settings are still writable here, before the crawl freezes them. The plain path needs
        # no browser: back to Scrapy's handlers, so no Playwright driver starts. The browser
        # path needs the handler for one scheme only (each handler instance starts its own
        # driver): the scheme the crawl talks to, https on the platform, http on a mirror.
        scheme = urlsplit(spider.fetch_url("/")).scheme
        handlers = {scheme: PLAYWRIGHT_HANDLER} if spider.browser else {}
        crawler.settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
        return spider

    # --- listing -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.browser:
            from twisted.internet import reactor

            # scrapy-playwright refuses any other reactor; say which one runs (and its loop).
            logger.info("%s: list pages through headless Chromium (%s) on %s.%s with %s", self.name,
                        self.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("executable_path"),
                        type(reactor).__module__, type(reactor).__name__,
                        type(asyncio.get_running_loop()).__name__)
        request = self.list_request(1)
        if request is not None:
            yield request

    def list_request(self, page: int) -> scrapy.Request | None:
        if self.browser:
            return self.board_request(page)
        # A login wall answers 401/403: let the parser name it instead of a bare HTTP error.
        return self.listing_request(parser.list_path(page, self.project_type, self.category), self.parse_list,
                                    meta={"handle_httpstatus_list": [401, 403]})

    def board_request(self, page: int) -> scrapy.Request | None:
        from scrapy_playwright.page import PageMethod  # only the browser path imports Playwright

        timeout = self.settings.getfloat("KMONG_BROWSER_CAPTURE_TIMEOUT", DEFAULT_CAPTURE_TIMEOUT)
        capture = BoardCapture(page, timeout)
        return self.listing_request(
            parser.board_path(page, self.project_type, self.category),
            self.parse_board,
            meta={
                "playwright": True,
                "playwright_page_event_handlers": {"response": capture.on_response},
                "playwright_page_methods": [PageMethod(capture.wait)],
            },
            cb_kwargs={"capture": capture},
        )

    async def parse_list(self, response: Response) -> AsyncIterator[Any]:
        async for result in self.follow_list(response, parser.parse_listing(response, self.received_at(response))):
            yield result

    async def parse_board(self, response: Response, capture: BoardCapture) -> AsyncIterator[Any]:
        async for result in self.follow_list(response, parser.parse_board_capture(response, capture.captured)):
            yield result

    async def follow_list(self, response: Response, page: parser.Listing) -> AsyncIterator[Any]:
        self.listing_recognised(response, len(page.entries))
        entries = []
        for entry in page.entries:
            if parser.is_confidential(entry):
                self.skip_confidential(entry["id"])
                continue
            entries.append(entry)
        # Incremental: stored requests get no detail call and no item (the full run revisits them).
        listing = await self.read_listing(entries, id_of=lambda entry: str(entry["id"]), where=f"list page {page.page}",
                                          page=page.page)
        for entry in listing.new:
            if self.items_limit_reached():
                return
            yield self.detail_request(parser.detail_path(entry["id"]), self.parse_detail, errback=self.detail_failed,
                                      cb_kwargs={"entry": entry, "listed_at": self.received_at(response)})
        if listing.stop_here():
            # Newest first, and a clean complete run stored everything listed below this request.
            return
        if page.has_next and not self.items_limit_reached():
            request = self.list_request((page.page or 1) + 1)
            if request is not None:
                yield request

    # --- details -----------------------------------------------------------------------------

    def parse_detail(self, response: Response, entry: dict[str, Any], listed_at: str) -> Iterator[Any]:
        try:
            item = parser.parse_detail(response, entry, self.received_at(response))
        except PageNotRecognised as error:
            # The list entry holds the posting (title, amount, days, deadline, category): a
            # detail answer not understood costs its skills and form answers, not the posting.
            self.detail_not_used(f"answer {response.url}", error.reason, error.detail, DETAIL_RESTRICTED,
                                 keeping="list entry")
            yield parser.item_from_entry(entry, listed_at)
            return
        if item is None:  # confidential
            self.skip_confidential(entry["id"])
            return
        yield item

    def detail_failed(self, failure: Failure) -> Iterator[Any]:
        """A detail answer that could not be fetched (404, retries exhausted): logged and counted
        by `request_failed`; the posting is still stored from its list entry."""
        self.request_failed(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        # Days left to apply were read from the list answer: resolved against its time.
        yield parser.item_from_entry(kwargs["entry"], kwargs["listed_at"])

    def skip_confidential(self, request_id: Any) -> None:
        self.crawler.stats.inc_value(CONFIDENTIAL_STAT)
        logger.info("%s: request %s is confidential (matching only); not stored", self.name, request_id)


def _flag(name: str, value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0, not {value!r}")
