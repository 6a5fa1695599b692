"""What every platform spider shares: the contract's arguments, origin rewriting for offline
mirrors, request helpers that count listing and detail pages and report failures, and the one
call through which incremental mode reaches a spider (`read_listing`; the rest of incremental
crawling is the IncrementalCrawl component, outsourcing/incremental.py). What parsers share
(PageNotRecognised, challenge detection) is in pages.py, below the spiders: parsers never
import the spider base.

A platform package holds `spider.py` (requests, pagination, politeness: a `PlatformSpider`)
and `parser.py` (pure functions from a response to items); the spider never extracts fields.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing import stats as keys
from outsourcing.normalize.dates import now_utc
from outsourcing.platforms.pages import PageNotRecognised

if TYPE_CHECKING:
    from outsourcing.incremental import ListingPage

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGES = 50
#: Arguments every spider takes (the contract's); any other argument is a platform filter.
CONTRACT_ARGUMENTS = frozenset({"base_url", "max_pages", "max_items", "mode"})

Entry = TypeVar("Entry")


def _external_id(item: Any) -> str:
    return str(item["external_id"])


class PlatformSpider(scrapy.Spider):
    """Base of the platform spiders. Subclasses set `name`, `origin` and implement `start`."""

    #: The platform's real main origin, e.g. "https://remoteok.com". Item URLs use it.
    origin: ClassVar[str] = ""
    #: Filter-like arguments that say how the spider reads (a browser, a page size), not which
    #: postings: they do not scope the watermark, so such a run shares it with the plain one.
    UNSCOPED_ARGUMENTS: ClassVar[frozenset[str]] = frozenset()
    #: How an incremental run knows where to stop paging: "watermark" when listings give posting
    #: times (a page whose postings are all older than the watermark); "stored" when they do
    #: not, at the first page listing a posting that a clean complete run stored.
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
        #: Every -a argument of the run (filters included), as given.
        self.arguments: dict[str, str] = {}

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
        spider.arguments = {key: str(value) for key, value in kwargs.items()}
        return spider

    @property
    def watermark_scope(self) -> str:
        """Which postings the run is about, for incremental runs and closing: its filter
        arguments (category, query ...) as "k=v&k=v", "" for none. The contract's arguments,
        UNSCOPED_ARGUMENTS and the runner's own (scrapyd's `_job`) say how to read, not what."""
        unscoped = CONTRACT_ARGUMENTS | self.UNSCOPED_ARGUMENTS
        filters = {k: v for k, v in self.arguments.items() if k not in unscoped and not k.startswith("_")}
        return "&".join(f"{k}={filters[k]}" for k in sorted(filters))

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
        self.crawler.stats.inc_value(keys.DETAILS_REQUESTED)
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

    async def read_listing(self, entries: Sequence[Entry], *, id_of: Callable[[Entry], str] = _external_id,
                           posted_at: Sequence[str | None] = (), where: str,
                           page: int | None = None) -> ListingPage[Entry]:
        """A listing page was understood: which of its entries (cards, rows, items) to follow or
        yield (`.new`), and whether paging stops after it (`.stop_here()`, asked after yielding).

        In a full run every entry is new and paging never stops here. In an incremental run
        (outsourcing/incremental.py) the postings already stored are left out (the full run
        revisits them), and paging stops at the first page older than the watermark
        (`posted_at`: the listed postings' times, newest first; leave it empty when the listing
        is not in that order) or, for INCREMENTAL_STOP "stored", listing postings that a clean
        complete run stored. `where` names the page in the log; `page` is its number."""
        from outsourcing.incremental import IncrementalCrawl, ListingPage

        component = self.crawler.get_extension(IncrementalCrawl)
        if component is None:
            return ListingPage(list(entries))
        return await component.read_listing(entries, id_of=id_of, posted_at=posted_at, where=where, page=page)

    async def watermark(self) -> datetime | None:
        """In an incremental run, the newest posted_at the last clean complete run of this scope
        covered (None in full mode, on a first run, or without a reachable database), for APIs
        that can be asked for postings since a moment."""
        from outsourcing.incremental import IncrementalCrawl

        component = self.crawler.get_extension(IncrementalCrawl)
        return await component.load() if component is not None else None

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
        if kind == "listing" and failure.value is not None:
            count_listing_failure(self.crawler.stats, failure_kind(failure.value), f"{reason} ({url})")
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


#: HTTP statuses and parser reasons of a site refusing the crawler (rather than failing).
REFUSED_STATUSES = frozenset({401, 403, 407, 429, 451, 503})
REFUSED_REASONS = frozenset({"challenge_page", "login_wall", "login_required", "restricted"} |
                            {f"http_{status}" for status in REFUSED_STATUSES})


def failure_kind(error: BaseException) -> str:
    """Why a page could not be fetched, as one of stats.LISTING_FAILURE_KINDS."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError

    from outsourcing.logs import is_network_failure

    if isinstance(error, HttpError):
        return "refused" if error.response.status in REFUSED_STATUSES else "error"
    if isinstance(error, IgnoreRequest):  # robots.txt forbids it
        return "refused"
    if is_network_failure(error) or is_network_failure(error.__cause__):
        return "unreachable"
    return "error"


def count_listing_failure(stats: Any, kind: str, example: str) -> None:
    """A listing page failed: counted by kind, the first of each kind kept for the outcome."""
    stats.inc_value(keys.listing_failure(kind))
    if stats.get_value(keys.listing_failure_example(kind)) is None:
        stats.set_value(keys.listing_failure_example(kind), example[:300])


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
