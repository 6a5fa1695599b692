"""What every platform spider shares: the contract's arguments, origin rewriting for offline
mirrors, request helpers that count listing pages and report failures, and the exception a
parser raises for a page it does not recognise.

A platform package holds `spider.py` (requests, pagination, politeness: a `PlatformSpider`)
and `parser.py` (pure functions from a response to items); the spider never extracts fields.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, ClassVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing.normalize.dates import now_utc
from outsourcing.outcome import LISTING_OK, LISTING_TRIED

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 50
#: Arguments every spider takes (the contract's); any other argument is a platform filter.
CONTRACT_ARGUMENTS = frozenset({"base_url", "max_pages", "max_items", "mode"})


class PageNotRecognised(Exception):
    """The page lacks the structure that holds postings (challenge page, login wall, HTML where
    JSON was due, a listing without its cards). Never to be read as "no new postings"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


CHALLENGE_MARKERS: tuple[str, ...] = (
    "cf-chl", "challenge-platform", "Just a moment...", "Attention Required! | Cloudflare",
    "g-recaptcha", "hcaptcha", "captcha",
)


def looks_like_challenge(text: str) -> bool:
    head = text[:20000]
    return any(marker in head for marker in CHALLENGE_MARKERS)


class PlatformSpider(scrapy.Spider):
    """Base of the platform spiders. Subclasses set `name`, `origin` and implement `start`."""

    #: The platform's real main origin, e.g. "https://remoteok.com". Item URLs use it.
    origin: ClassVar[str] = ""
    #: Contract arguments every spider accepts.
    max_pages: int
    max_items: int | None
    mode: str

    def __init__(
        self,
        *args: Any,
        base_url: str | None = None,
        max_pages: int | str = DEFAULT_MAX_PAGES,
        max_items: int | str | None = None,
        mode: str = "full",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.max_pages = _positive_int("max_pages", max_pages)
        self.max_items = _positive_int("max_items", max_items) if max_items not in (None, "") else None
        if mode not in ("full", "incremental"):
            raise ValueError(f"mode must be 'full' or 'incremental', not {mode!r}")
        self.mode = mode
        self.listing_pages_requested = 0

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> "PlatformSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The spider's own filter arguments (category, query ...) scope its watermark.
        filters = {k: str(v) for k, v in kwargs.items() if k not in CONTRACT_ARGUMENTS}
        spider.watermark_scope = "&".join(f"{k}={filters[k]}" for k in sorted(filters))
        return spider

    # --- URLs ------------------------------------------------------------------------------

    def fetch_url(self, url: str) -> str:
        """Where to send a request for `url` (a path or a URL on the platform's origin): the
        platform itself, or the `base_url` mirror with path and query kept exactly."""
        if url.startswith("/"):
            url = self.origin + url
        if not self.base_url:
            return url
        parts = urlsplit(url)
        real = urlsplit(self.origin)
        if parts.netloc.lower() != real.netloc.lower():
            return url
        mirror = urlsplit(self.base_url)
        return urlunsplit((mirror.scheme, mirror.netloc, parts.path, parts.query, ""))

    def platform_url(self, fetched_url: str) -> str:
        """The real platform URL of a fetched one (undoing `fetch_url`)."""
        if not self.base_url or not fetched_url.startswith(self.base_url):
            return fetched_url
        return self.origin + fetched_url[len(self.base_url):]

    # --- requests --------------------------------------------------------------------------

    def listing_request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request | None:
        """A listing page request (API page, feed, sitemap, HTML listing), counted against
        `max_pages`; None once the limit is reached."""
        if self.listing_pages_requested >= self.max_pages:
            logger.info("%s: max_pages=%d reached; not reading %s", self.name, self.max_pages, url)
            self.crawler.stats.set_value("outsourcing/truncated/max_pages", 1)
            return None
        self.listing_pages_requested += 1
        self.crawler.stats.inc_value(LISTING_TRIED)
        meta = {"page_kind": "listing", **kwargs.pop("meta", {})}
        return self._request(url, callback, meta=meta, **kwargs)

    def detail_request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        meta = {"page_kind": "detail", **kwargs.pop("meta", {})}
        return self._request(url, callback, meta=meta, **kwargs)

    def _request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        cls = kwargs.pop("request_class", scrapy.Request)
        return cls(self.fetch_url(url), callback=callback, errback=kwargs.pop("errback", self.request_failed), **kwargs)

    def listing_recognised(self, response: Response, postings: int) -> None:
        """A listing page was read and understood (even if it held no postings)."""
        self.crawler.stats.inc_value(LISTING_OK)
        self.crawler.stats.inc_value("outsourcing/listing_postings", postings)
        logger.debug("%s: listing %s: %d postings", self.name, response.url, postings)

    # --- incremental runs --------------------------------------------------------------------

    async def load_watermark(self) -> datetime | None:
        """In incremental mode, the newest posted_at the platform's last completed run covered
        (None in full mode, on a first run, or without a reachable database: then the run reads
        everything, as a full run does). Call it once at the start of `start()`."""
        self.watermark = None
        if self.mode != "incremental":
            return None
        from outsourcing.pipelines.common import store_if_enabled

        store = store_if_enabled(self.crawler)
        if store is None or store.pool is None:
            logger.warning("%s: incremental mode without a reachable database: reading everything", self.name)
            return None
        self.watermark = await store.watermark(self.name, getattr(self, "watermark_scope", ""))
        logger.info("%s: incremental run: postings newer than %s", self.name,
                    self.watermark.isoformat() if self.watermark else "(first run: everything)")
        return self.watermark

    def older_than_watermark(self, posted_at: list[str | None]) -> bool:
        """True when a listing page (newest first) holds only postings older than the watermark:
        an incremental run stops paging there. Undated postings never stop it."""
        watermark = getattr(self, "watermark", None)
        dated = [datetime.fromisoformat(value) for value in posted_at if value]
        if watermark is None or not dated or len(dated) < len(posted_at):
            return False
        if all(moment < watermark for moment in dated):
            self.crawler.stats.set_value("outsourcing/incremental/stopped_at_watermark", 1)
            logger.info("%s: reached postings older than the watermark; not paging further", self.name)
            return True
        return False

    async def stored_ids(self, ids: list[str]) -> set[str]:
        """Postings of `ids` already stored (incremental runs skip their detail pages)."""
        from outsourcing.pipelines.common import store_if_enabled

        store = store_if_enabled(self.crawler)
        return await store.stored_ids(self.name, ids) if store is not None else set()

    def request_failed(self, failure: Failure) -> None:
        """Errback: a page that could not be fetched, after retries. Logged with the URL and
        reason and counted; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        kind = request.meta.get("page_kind", "page") if request is not None else "page"
        reason = _failure_reason(failure)
        self.crawler.stats.inc_value(f"outsourcing/request_errors/{reason.split(':')[0]}")
        self.crawler.stats.inc_value("outsourcing/errors")
        # A listing page that is gone (an old category feed answering 404) is a warning, as the
        # contract says; a listing that failed otherwise is an error; detail pages warn.
        level = logging.ERROR if kind == "listing" and reason != "http_404" else logging.WARNING
        logger.log(level, "%s: %s page failed: %s: %s", self.name, kind, url, reason)

    @staticmethod
    def received_at(response: Response) -> str:
        """When the response arrived (the items' scraped_at)."""
        return response.meta.get("received_at") or now_utc()

    def require(self, response: Response, condition: bool, reason: str, detail: str = "") -> None:
        if not condition:
            raise PageNotRecognised(reason, detail)

    async def new_ids(self, ids: list[str]) -> tuple[list[str], bool]:
        """Incremental mode: which postings of one listing page to fetch, and whether the page
        reached postings that earlier runs covered.

        Returns the ids not stored yet (in their order; the stored ones get no detail request
        and no item, and are counted in `outsourcing/incremental/skipped_stored`), and True when
        one of `ids` was stored by a run of this spider and watermark scope (the
        `outsourcing/watermark_scope` stat of crawl_runs.stats) that finished cleanly and
        complete (exit 0; not cut short by max_pages/max_items before its stop): such a run left
        every posting listed below it stored, so a newest-first listing without dates (Kmong,
        Elancer's sitemaps) may stop paging after this page. A posting stored by a killed run
        does not count: that run may have stored it out of listing order.
        In a full run, or when the database cannot be asked: (all ids, False), reading more."""
        if self.mode != "incremental" or not ids:
            return list(ids), False
        from outsourcing.pipelines.common import store_if_enabled

        store = store_if_enabled(self.crawler)
        if store is None or store.pool is None:
            return list(ids), False
        try:
            rows = await store.pool.fetch(
                """
                WITH covering AS (
                    SELECT max(id) AS id FROM crawl_runs
                    WHERE spider = $1 AND exit_code = 0
                      AND coalesce(stats->>'outsourcing/watermark_scope', '') = $3
                      AND (stats ? 'outsourcing/incremental/stopped_at_watermark'
                           OR NOT stats ?| array['outsourcing/truncated/max_pages', 'outsourcing/truncated/max_items']))
                SELECT p.external_id, coalesce(p.first_run_id <= (SELECT id FROM covering), false) AS covered
                FROM postings p WHERE p.platform = $1 AND p.external_id = ANY($2::text[])
                """,
                self.name, list(ids), getattr(self, "watermark_scope", ""),
            )
        except Exception as error:  # noqa: BLE001 - reading more is the safe side
            logger.warning("%s: could not ask which postings are stored (%s); fetching them all", self.name, error)
            return list(ids), False
        stored = {row["external_id"] for row in rows}
        if stored:
            self.crawler.stats.inc_value("outsourcing/incremental/skipped_stored", len(stored))
        return [i for i in ids if i not in stored], any(row["covered"] for row in rows)


def _failure_reason(failure: Failure) -> str:
    from scrapy.spidermiddlewares.httperror import HttpError

    error = failure.value
    if isinstance(error, HttpError):
        return f"http_{error.response.status}"
    name = type(error).__name__
    text = str(error).strip()
    return f"{name}: {text}"[:300] if text else name


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number
