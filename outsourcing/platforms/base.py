"""What every platform spider shares: the contract's arguments, origin rewriting for offline
mirrors, request helpers that count listing and detail pages and report failures, the
incremental-mode bookkeeping (watermark scope, stored postings, where paging stopped, the
closing summary). What parsers share (PageNotRecognised, challenge detection) is in pages.py,
below the spiders: parsers never import the spider base.

A platform package holds `spider.py` (requests, pagination, politeness: a `PlatformSpider`)
and `parser.py` (pure functions from a response to items); the spider never extracts fields.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing import stats as keys
from outsourcing.items import PostingItem
from outsourcing.normalize.dates import now_utc
from outsourcing.platforms.pages import PageNotRecognised

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 50
#: Arguments every spider takes (the contract's); any other argument is a platform filter.
CONTRACT_ARGUMENTS = frozenset({"base_url", "max_pages", "max_items", "mode"})

Entry = TypeVar("Entry")


class PlatformSpider(scrapy.Spider):
    """Base of the platform spiders. Subclasses set `name`, `origin` and implement `start`."""

    #: The platform's real main origin, e.g. "https://remoteok.com". Item URLs use it.
    origin: ClassVar[str] = ""
    #: Filter-like arguments that say how the spider reads (a browser, a page size), not which
    #: postings: they do not scope the watermark, so such a run shares it with the plain one.
    UNSCOPED_ARGUMENTS: ClassVar[frozenset[str]] = frozenset()
    #: How an incremental run knows where to stop paging: "watermark" when listings give posting
    #: times (`older_than_watermark`); "stored" when they do not, at the first page listing a
    #: posting that a clean complete run stored (`new_ids`).
    INCREMENTAL_STOP: ClassVar[Literal["watermark", "stored"]] = "watermark"
    #: True for spiders that request a detail page (or API answer) per posting: the incremental
    #: summary counts those requests.
    READS_DETAILS: ClassVar[bool] = False
    #: The platform's own words for its listing pages and postings, in the incremental summary.
    LISTING_PAGES: ClassVar[str] = "listing pages"
    POSTINGS: ClassVar[str] = "postings"
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
        refused = self.refused_arguments(kwargs)
        if refused:
            raise ValueError(refused[0])
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.max_pages = _positive_int("max_pages", max_pages)
        self.max_items = _positive_int("max_items", max_items) if max_items not in (None, "") else None
        if mode not in ("full", "incremental"):
            raise ValueError(f"mode must be 'full' or 'incremental', not {mode!r}")
        self.mode = mode
        self.listing_pages_requested = 0
        self.details_requested = 0
        self.watermark_scope = ""
        self.watermark: datetime | None = None
        #: Incremental: where paging stopped, and about how many listing pages were left unread.
        self.paging_stopped: tuple[str, int | None] | None = None

    @classmethod
    def refused_arguments(cls, arguments: Iterable[str]) -> list[str]:
        """Why each of `arguments` (-a names) may not be given, or [] when all may.

        Scrapy sets every -a argument as an attribute of the spider, so `-a name=../../x` would
        rename it (the feed path, crawl_runs, spill files and watermarks use the name) and
        `-a origin=...` would change the item URLs; scrapyd passes every extra field of a
        schedule request as such an argument. An argument that is not one the spider declares
        (the contract's and its own filters) may not replace anything the spider has."""
        declared = cls.declared_arguments()
        reasons = []
        for argument in arguments:
            if argument in declared:
                continue
            if argument == "name" or hasattr(cls, argument):
                reasons.append(
                    f"-a {argument}=...: {argument!r} is not an argument of the {cls.name} spider but one of its "
                    f"own attributes, which it would replace; its arguments: {', '.join(sorted(declared))}"
                )
        return reasons

    @classmethod
    def declared_arguments(cls) -> frozenset[str]:
        """The -a arguments the spider declares: the contract's and its own `__init__` keywords."""
        names: set[str] = set(CONTRACT_ARGUMENTS)
        for klass in cls.__mro__:
            if not (isinstance(klass, type) and issubclass(klass, PlatformSpider)) or "__init__" not in vars(klass):
                continue
            for parameter in inspect.signature(klass.__init__).parameters.values():
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY or (
                        parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and parameter.name != "self"):
                    names.add(parameter.name)
        return frozenset(names)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PlatformSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The spider's own filter arguments (category, query ...) scope its watermark.
        unscoped = CONTRACT_ARGUMENTS | cls.UNSCOPED_ARGUMENTS
        filters = {k: str(v) for k, v in kwargs.items() if k not in unscoped}
        spider.watermark_scope = "&".join(f"{k}={filters[k]}" for k in sorted(filters))
        # Recorded in crawl_runs.stats, where `new_ids` finds the earlier runs of the same scope.
        # The stats collector is created after the spider: record it once the spider opens.
        crawler.signals.connect(spider.record_watermark_scope, signal=signals.spider_opened)
        return spider

    def record_watermark_scope(self) -> None:
        self.crawler.stats.set_value(keys.WATERMARK_SCOPE, self.watermark_scope)

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
            self.crawler.stats.set_value(keys.TRUNCATED_MAX_PAGES, 1)
            return None
        self.listing_pages_requested += 1
        self.crawler.stats.inc_value(keys.LISTING_TRIED)
        meta = {"page_kind": "listing", **kwargs.pop("meta", {})}
        return self._request(url, callback, meta=meta, **kwargs)

    def detail_request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        """A detail page request (one per posting), counted for `items_limit_reached` and the
        incremental summary."""
        self.details_requested += 1
        meta = {"page_kind": "detail", **kwargs.pop("meta", {})}
        return self._request(url, callback, meta=meta, **kwargs)

    def items_limit_reached(self) -> bool:
        """For spiders that yield a posting per detail request: True once `max_items` detail
        requests were made (no further details or listing pages then). Ask it only where it
        would stop a request: the run is then recorded as cut short (crawl_runs.stats)."""
        reached = self.max_items is not None and self.details_requested >= self.max_items
        if reached:
            self.crawler.stats.set_value(keys.TRUNCATED_MAX_ITEMS, 1)
        return reached

    def _request(self, url: str, callback: Callable[..., Any], **kwargs: Any) -> scrapy.Request:
        cls = kwargs.pop("request_class", scrapy.Request)
        return cls(self.fetch_url(url), callback=callback, errback=kwargs.pop("errback", self.request_failed), **kwargs)

    def listing_recognised(self, response: Response, postings: int) -> None:
        """A listing page was read and understood (even if it held no postings)."""
        self.crawler.stats.inc_value(keys.LISTING_OK)
        self.crawler.stats.inc_value(keys.LISTING_POSTINGS, postings)
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
        self.watermark = await store.watermark(self.name, self.watermark_scope)
        logger.info("%s: incremental run: postings newer than %s", self.name,
                    self.watermark.isoformat() if self.watermark else "(first run: everything)")
        return self.watermark

    def older_than_watermark(self, posted_at: list[str | None]) -> bool:
        """True when a listing page (newest first) holds only postings older than the watermark:
        an incremental run stops paging there. Undated postings never stop it."""
        watermark = self.watermark
        dated = [datetime.fromisoformat(value) for value in posted_at if value]
        if watermark is None or not dated or len(dated) < len(posted_at):
            return False
        if all(moment < watermark for moment in dated):
            self.crawler.stats.set_value(keys.INCREMENTAL_STOPPED_AT_WATERMARK, 1)
            logger.info("%s: reached postings older than the watermark; not paging further", self.name)
            return True
        return False

    def stop_paging(self, where: str, pages_not_read: int | None = None, *, page: int | None = None) -> None:
        """An incremental run reads no listing page after `where` ("list page 3", a URL): it
        reached postings older than the watermark, or (INCREMENTAL_STOP "stored") postings a
        clean complete run stored. Recorded for the summary and in the stats: the run reached
        what earlier runs covered (so a run cut short later still advances the watermark and
        counts as covering), the page number where there is one, and `pages_not_read` where the
        listing says about how long it is."""
        self.paging_stopped = (where, pages_not_read)
        stats = self.crawler.stats
        stats.set_value(keys.INCREMENTAL_STOPPED_AT_WATERMARK, 1)
        if page is not None:
            stats.set_value(keys.INCREMENTAL_STOPPED_AT_PAGE, page)
        if pages_not_read is not None:
            stats.set_value(keys.INCREMENTAL_PAGES_NOT_READ, pages_not_read)

    def closed(self, reason: str) -> None:
        """At the end of an incremental run, one log line: what it read, what it skipped, and
        where it stopped paging or why it did not (Scrapy calls it on spider_closed)."""
        if self.mode != "incremental":
            return
        skipped = self.crawler.stats.get_value(keys.INCREMENTAL_SKIPPED_STORED, 0)
        if self.READS_DETAILS:
            details, effect = f"{self.details_requested} detail requests, ", "no detail request, not yielded again"
        else:
            details, effect = "", "not yielded again"
        logger.info("%s: incremental run: %d %s read, %s%d stored %s skipped (%s); %s", self.name,
                    self.listing_pages_requested, self.LISTING_PAGES, details, skipped, self.POSTINGS, effect,
                    self._paging_summary())

    def _paging_summary(self) -> str:
        watermark = self.watermark.isoformat() if self.watermark is not None else None
        if self.paging_stopped is not None:
            where, pages_not_read = self.paging_stopped
            if self.INCREMENTAL_STOP == "stored":
                text = f"stopped after {where}, which lists {self.POSTINGS} an earlier complete run stored"
            else:
                text = f"stopped after {where}, older than the watermark {watermark}"
            if pages_not_read is not None:
                text += f"; about {pages_not_read} {self.LISTING_PAGES} not read"
            return text
        if self.INCREMENTAL_STOP == "stored":
            return f"reached no {self.POSTINGS} stored by an earlier complete run (the listing ended, or max_pages/max_items)"
        if watermark is None:
            return "no watermark: everything was read, as in a full run"
        return f"did not reach the watermark {watermark} (the listing ended, or max_pages/max_items)"

    def detail_not_used(self, where: str, reason: str, detail: str, restricted_reasons: frozenset[str], *,
                        keeping: str) -> None:
        """A detail page (or answer) that the platform withholds or that is not understood: a
        warning and a stat, not a failed crawl, since the caller still yields the posting from
        its listing entry (`keeping` names it). Only `restricted_reasons` (a login wall: the
        site withholding it on purpose) are not errors; a layout change or a challenge is."""
        stats = self.crawler.stats
        if reason in restricted_reasons:
            stats.inc_value(keys.detail_restricted(reason))
        else:
            stats.inc_value(keys.detail_unrecognised(reason))
            stats.inc_value(keys.ERRORS)
        logger.warning("%s: detail %s not used: %s%s; keeping the %s", self.name, where, reason,
                       f" ({detail})" if detail else "", keeping)

    def request_failed(self, failure: Failure) -> None:
        """Errback: a page that could not be fetched, after retries. Logged with the URL and
        reason and counted; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        kind = request.meta.get("page_kind", "page") if request is not None else "page"
        reason = _failure_reason(failure)
        self.crawler.stats.inc_value(keys.request_error(reason.split(":")[0]))
        self.crawler.stats.inc_value(keys.ERRORS)
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
        if store is None:
            return list(ids), False
        try:
            stored = await store.stored_status(self.name, list(ids), self.watermark_scope)
        except Exception as error:  # noqa: BLE001 - reading more is the safe side
            logger.warning("%s: could not ask which postings are stored (%s); fetching them all", self.name, error)
            return list(ids), False
        if stored:
            self.crawler.stats.inc_value(keys.INCREMENTAL_SKIPPED_STORED, len(stored))
        return [i for i in ids if i not in stored], any(stored.values())

    async def new_entries(self, entries: Sequence[Entry], id_of: Callable[[Entry], str]) -> tuple[list[Entry], bool]:
        """`new_ids` for a listing page's entries (cards, rows, items): those whose postings are
        not stored yet, in their order, and whether the page reached covered postings."""
        new, covered = await self.new_ids([id_of(entry) for entry in entries])
        fresh = set(new)
        return [entry for entry in entries if id_of(entry) in fresh], covered

    async def listed_items(self, response: Response, items: Sequence[PostingItem]) -> list[PostingItem]:
        """A listing page whose entries are whole items (no detail pages) was understood: the
        items to yield. Incremental runs leave out the stored ones: the full run revisits them."""
        self.listing_recognised(response, len(items))
        new, _ = await self.new_entries(items, lambda item: item["external_id"])
        return new


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
