"""Incremental crawling (`-a mode=incremental`), in one component.

`IncrementalCrawl` is an extension (EXTENSIONS in settings.py). Spiders see one call of it, made
through `PlatformSpider.read_listing` for each listing page they understood:

    listing = await self.read_listing(cards, id_of=..., posted_at=[...], where="list page 3", page=3)
    for card in listing.new:          # the postings not stored yet (all of them in a full run)
        yield self.detail_request(...)
    if listing.stop_here():           # this page reached what earlier runs covered
        return

and, for an API that can be asked for postings since a moment (Freelancer.com's `from_time`),
`await self.watermark()`. Everything else happens here, on the crawl's signals:

- spider_opened: the run's scope (the spider's filter arguments: a run over one category says
  nothing about the others) and, in incremental mode, the watermark of that scope: the newest
  `posted_at` of the platform's last clean, complete run (platform_watermarks).
- each listing page: which of its postings are stored (they get no detail request and are not
  yielded again: the daily full run revisits them), and whether paging stops after it. A
  listing with posting times stops at the first page whose postings are all older than the
  watermark (INCREMENTAL_STOP "watermark"); one without (Kmong, Elancer's sitemaps) at the
  first page listing a posting that a clean, complete run of the same scope stored first
  (INCREMENTAL_STOP "stored"): such a run left everything listed below it stored, while a
  killed run may have stored out of listing order.
- run_finishing (the store's signal, before the run's row is finished): the run's scope and
  whether its listing was complete (read to its end, or down to what earlier runs covered; not
  cut short by max_pages/max_items before that) go into typed columns of crawl_runs, which the
  "stored" stop of later runs asks for; after a clean (exit 0), complete run the watermark
  moves to the newest posting the run saw. A killed or failed run leaves it where it was, so
  the next run reads further back.
- spider_closed: one log line saying what an incremental run read, skipped, and where it
  stopped paging (or why it did not).

The database is reached through the crawl's PostingStore, found by `posting_store` (one
accessor: where the store lives is the storage layer's business). Without a store, or with the
database down, an incremental run reads everything, as a full run does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler

from outsourcing import stats as keys
from outsourcing.signals import run_finishing
from outsourcing.storage import lifecycle

if TYPE_CHECKING:
    import asyncpg

    from outsourcing.storage.store import PostingStore

logger = logging.getLogger(__name__)

Entry = TypeVar("Entry")


def posting_store(crawler: Crawler) -> PostingStore | None:
    """The crawl's PostingStore, found the Scrapy way (through the PostgreSQL item pipeline), or
    None when the crawl does not store into PostgreSQL."""
    from outsourcing.pipelines.common import store_of

    return store_of(crawler)


@dataclass
class ListingPage(Generic[Entry]):
    """What the incremental component says about one listing page."""

    #: The page's entries whose postings are not stored yet, in their order (all of them in a
    #: full run, or when the database cannot be asked).
    new: list[Entry]
    _stop: bool = False
    _record_stop: Callable[[int | None], None] = field(default=lambda pages_not_read: None, repr=False)

    def stop_here(self, pages_not_read: int | None = None) -> bool:
        """True when paging stops after this page. Ask once this page's new postings were
        yielded (a page left early, at max_items, did not reach anything): the stop is then
        recorded, with about how many listing pages were left unread where the listing says."""
        if self._stop:
            self._record_stop(pages_not_read)
        return self._stop


class IncrementalCrawl:
    """The incremental-mode component (an extension); see the module docstring."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.watermark: datetime | None = None
        #: Where paging stopped, and about how many listing pages were left unread.
        self.paging_stopped: tuple[str, int | None] | None = None
        self._loaded = False
        self._load_lock = asyncio.Lock()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.run_finishing, signal=run_finishing)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalCrawl:
        return cls(crawler)

    # --- the run ------------------------------------------------------------------------------

    @property
    def spider(self) -> Any:
        return self.crawler.spider

    @property
    def incremental(self) -> bool:
        return getattr(self.spider, "mode", "full") == "incremental"

    @property
    def scope(self) -> str:
        return str(getattr(self.spider, "watermark_scope", "") or "")

    @property
    def name(self) -> str:
        return getattr(self.spider, "name", "?")

    async def spider_opened(self, spider: Any) -> None:
        # Kept in the stats too (crawl_runs.stats): a person reading a run sees its scope.
        self.stats.set_value(keys.WATERMARK_SCOPE, self.scope)
        await self.load()

    async def load(self) -> datetime | None:
        """The watermark of the run's scope, read once (None in full mode, on a first run, or
        without a reachable database: then the run reads everything, as a full run does)."""
        async with self._load_lock:
            if self._loaded:
                return self.watermark
            self._loaded = True
            if not self.incremental:
                return None
            pool = self._pool()
            if pool is None:
                logger.warning("%s: incremental mode without a reachable database: reading everything", self.name)
                return None
            try:
                self.watermark = await lifecycle.load_watermark(pool, self.name, self.scope)
            except Exception as error:  # noqa: BLE001 - reading everything is the safe side
                logger.warning("%s: could not read the watermark (%s): reading everything", self.name,
                               _masked(error, self.crawler))
                return None
            logger.info("%s: incremental run: postings newer than %s", self.name,
                        self.watermark.isoformat() if self.watermark else "(first run: everything)")
            return self.watermark

    def _pool(self) -> asyncpg.Pool | None:
        store = posting_store(self.crawler)
        return store.pool if store is not None else None

    # --- listing pages ---------------------------------------------------------------------------

    async def read_listing(self, entries: Sequence[Entry], *, id_of: Callable[[Entry], str],
                           posted_at: Sequence[str | None] = (), where: str, page: int | None = None) -> ListingPage[Entry]:
        """One listing page's entries (cards, rows, items) and their postings' ids: which are new,
        and whether paging stops after this page. `posted_at` are the listed postings' times,
        newest first (for a listing with times; empty when the order is not newest first);
        `where` names the page in the log ("list page 3", a URL), `page` is its number if any."""
        if not self.incremental:
            return ListingPage(list(entries))
        await self.load()
        new, covered = await self._new_entries(entries, id_of) if entries else ([], False)
        stop_kind = getattr(self.spider, "INCREMENTAL_STOP", "watermark")
        stop = covered if stop_kind == "stored" else self._older_than_watermark(posted_at)
        return ListingPage(new, stop, lambda pages_not_read: self._stopped(where, page, pages_not_read))

    async def _new_entries(self, entries: Sequence[Entry], id_of: Callable[[Entry], str]) -> tuple[list[Entry], bool]:
        """The entries whose postings are not stored (in their order), and whether one of them
        was stored first by a clean, complete run of this scope. When the database cannot be
        asked: all of them, and False (reading more is the safe side)."""
        ids = [id_of(entry) for entry in entries]
        pool = self._pool()
        if pool is None:
            return list(entries), False
        try:
            stored = await lifecycle.stored_status(pool, self.name, ids, self.scope)
        except Exception as error:  # noqa: BLE001 - reading more is the safe side
            logger.warning("%s: could not ask which postings are stored (%s); fetching them all", self.name,
                           _masked(error, self.crawler))
            return list(entries), False
        if stored:
            self.stats.inc_value(keys.INCREMENTAL_SKIPPED_STORED, len(stored))
        return [entry for entry, i in zip(entries, ids, strict=True) if i not in stored], any(stored.values())

    def _older_than_watermark(self, posted_at: Sequence[str | None]) -> bool:
        """True when a page (newest first) lists only postings older than the watermark.
        Undated postings never stop a run."""
        dated = [datetime.fromisoformat(value) for value in posted_at if value]
        if self.watermark is None or not dated or len(dated) < len(posted_at):
            return False
        return all(moment < self.watermark for moment in dated)

    def _stopped(self, where: str, page: int | None, pages_not_read: int | None) -> None:
        self.paging_stopped = (where, pages_not_read)
        self.stats.set_value(keys.INCREMENTAL_STOPPED_AT_WATERMARK, 1)
        if page is not None:
            self.stats.set_value(keys.INCREMENTAL_STOPPED_AT_PAGE, page)
        if pages_not_read is not None:
            self.stats.set_value(keys.INCREMENTAL_PAGES_NOT_READ, pages_not_read)
        if getattr(self.spider, "INCREMENTAL_STOP", "watermark") == "watermark":
            logger.info("%s: reached postings older than the watermark; not paging further", self.name)

    # --- the end of the run -----------------------------------------------------------------------

    def truncated(self) -> list[str]:
        """What cut the run short (max_pages, max_items), if anything did."""
        stats = self.stats.get_stats()
        return sorted(key.rsplit("/", 1)[-1] for key in stats if key.startswith(keys.TRUNCATED_PREFIX))

    def listing_complete(self) -> bool:
        """The run read its listing to the end, or down to what earlier runs covered."""
        return bool(self.stats.get_value(keys.INCREMENTAL_STOPPED_AT_WATERMARK)) or not self.truncated()

    async def run_finishing(self, run_id: int, exit_code: int, pool: asyncpg.Pool) -> None:
        """Record the run's scope and completeness; after a clean, complete run, advance the
        watermark of its scope to the newest posting it saw (never back)."""
        complete = self.listing_complete()
        await pool.execute("UPDATE crawl_runs SET watermark_scope = $2, listing_complete = $3 WHERE id = $1",
                           run_id, self.scope, complete)
        if exit_code != 0:
            return
        if not complete:
            logger.info("%s: watermark not advanced: the run stopped at %s before reaching it",
                        self.name, " and ".join(self.truncated()))
            return
        newest = await lifecycle.advance_watermark(pool, self.name, run_id, self.scope)
        if newest is not None:
            self.stats.set_value(keys.STORAGE_WATERMARK, newest.isoformat())

    def spider_closed(self, spider: Any, reason: str) -> None:
        """An incremental run's one line: what it read, what it skipped, where it stopped."""
        if not self.incremental:
            return
        skipped = self.stats.get_value(keys.INCREMENTAL_SKIPPED_STORED, 0)
        pages = self.stats.get_value(keys.LISTING_TRIED, 0)
        listing_pages = getattr(spider, "LISTING_PAGES", "listing pages")
        postings = getattr(spider, "POSTINGS", "postings")
        if getattr(spider, "READS_DETAILS", False):
            details = f"{self.stats.get_value(keys.DETAILS_REQUESTED, 0)} detail requests, "
            effect = "no detail request, not yielded again"
        else:
            details, effect = "", "not yielded again"
        logger.info("%s: incremental run: %d %s read, %s%d stored %s skipped (%s); %s", self.name, pages,
                    listing_pages, details, skipped, postings, effect, self._paging_summary(listing_pages, postings))

    def _paging_summary(self, listing_pages: str, postings: str) -> str:
        watermark = self.watermark.isoformat() if self.watermark is not None else None
        by_stored = getattr(self.spider, "INCREMENTAL_STOP", "watermark") == "stored"
        if self.paging_stopped is not None:
            where, pages_not_read = self.paging_stopped
            if by_stored:
                text = f"stopped after {where}, which lists {postings} an earlier complete run stored"
            else:
                text = f"stopped after {where}, older than the watermark {watermark}"
            if pages_not_read is not None:
                text += f"; about {pages_not_read} {listing_pages} not read"
            return text
        if by_stored:
            return f"reached no {postings} stored by an earlier complete run (the listing ended, or max_pages/max_items)"
        if watermark is None:
            return "no watermark: everything was read, as in a full run"
        return f"did not reach the watermark {watermark} (the listing ended, or max_pages/max_items)"


def _masked(error: BaseException, crawler: Crawler) -> str:
    from outsourcing.storage.database import mask_secrets

    store = posting_store(crawler)
    return mask_secrets(f"{type(error).__name__}: {error}", store.dsn if store is not None else None)
