"""A crawl's outcome and exit status, as the contract defines them: defined here, computed here,
once per crawl.

0 when the crawl finished and every extracted posting was stored or rejected with a reason,
even if some pages failed (those are warnings and stats). Non-zero when postings could not be
stored (they wait in the spill file, or could not even be spilled), when a posting failed in a
pipeline, when no listing page of the platform could be read or recognised, or when the crawl
did not finish (`finish_reason` other than `finished`). Scrapy's own `crawl` exits 0 in all of
these; the project's commands use this instead.

`CrawlOutcome` (an extension) decides it when the crawl closes, after the components that
still write (the store: its last batches) have settled, and puts it in the stats
(`outsourcing/exit_code`, `outsourcing/problems`). Everything else reads that one value: the
store (crawl_runs.exit_code and the `run_finishing` signal), the summary line, `scrapy crawl`
and `scrapy crawlall` (`exit_code_of`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from outsourcing import stats as keys

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1


def crawl_outcome(stats: Mapping[str, Any], reason: str | None = None) -> tuple[int, list[str]]:
    """The rules: (exit code, problems) for a crawl's stats; `reason` overrides stats' finish_reason."""
    problems: list[str] = []
    reason = reason or stats.get("finish_reason")
    if reason != "finished":
        problems.append(f"the crawl did not finish (finish_reason: {reason})")
    spilled = int(stats.get(keys.STORAGE_SPILLED, 0)) + int(
        stats.get(keys.STORAGE_SPILLED_REJECTED, 0)
    )
    if spilled:
        problems.append(f"{spilled} records could not be stored and wait in the spill file")
    lost = int(stats.get(keys.STORAGE_LOST, 0))
    if lost:
        problems.append(f"{lost} records could be neither stored nor spilled: they are lost")
    if stats.get(keys.STORAGE_WRITER_STOPPED):
        problems.append("the storage writer stopped unexpectedly")
    item_errors = int(stats.get(keys.ITEM_ERRORS, 0))
    if item_errors:
        problems.append(f"{item_errors} postings failed in the pipelines (neither stored nor rejected)")
    callback_errors = int(stats.get(keys.CALLBACK_ERRORS, 0))
    if callback_errors:
        problems.append(f"{callback_errors} pages failed in the spider's code (the rest of such a page, and "
                        "what it would have led to, was not read)")
    if not int(stats.get(keys.LISTING_OK, 0)):
        problems.append("no listing page of the platform could be read or recognised")
        problems += _why_no_listing(stats)
    return (EXIT_FAILED if problems else EXIT_OK), problems


_LISTING_FAILURES = {
    "unreachable": "the site could not be reached",
    "refused": "the site refused the crawler",
    "error": "the site answered with an error",
    "unrecognised": "the site answered with a page whose structure is not recognised (its layout may have changed)",
}


def _why_no_listing(stats: Mapping[str, Any]) -> list[str]:
    """Why, per kind of failure: "the site could not be reached: CannotResolveHostError: ... (URL)"."""
    return [f"{_LISTING_FAILURES[kind]}: {stats.get(keys.listing_failure_example(kind))}"
            + (f" and {count - 1} more" if (count := int(stats.get(keys.listing_failure(kind), 0))) > 1 else "")
            for kind in keys.LISTING_FAILURE_KINDS if stats.get(keys.listing_failure(kind))]


def exit_code_of(stats: Mapping[str, Any]) -> int:
    """The exit status CrawlOutcome decided; EXIT_FAILED when it never decided one (the crawl
    did not get as far as closing, or the extension is off)."""
    code = stats.get(keys.EXIT_CODE)
    return EXIT_FAILED if code is None else int(code)


def problems_of(stats: Mapping[str, Any]) -> list[str]:
    """The reasons behind the status CrawlOutcome decided (or that none was decided)."""
    if keys.EXIT_CODE not in stats:
        return ["the crawl's outcome was never decided (it did not get as far as closing)"]
    return list(stats.get(keys.PROBLEMS) or [])


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    problems: list[str] = field(default_factory=list)


class CrawlOutcome:
    """Decides the crawl's outcome once, when it closes, and counts postings a pipeline failed on.

    Components that still write while the crawl closes register with `wait_for`; the outcome is
    decided when they are all done. `decided()` waits for it.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._waits: list[Callable[[], Awaitable[Any]]] = []
        self._outcome: Outcome | None = None
        self._decided = asyncio.Event()
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlOutcome:
        return cls(crawler)

    def wait_for(self, settled: Callable[[], Awaitable[Any]]) -> None:
        """Decide only once `settled()` is done (the store: its last batches written or spilled)."""
        self._waits.append(settled)

    def item_error(self, item: Any, response: Any, spider: Any, failure: Any) -> None:
        """A pipeline failed on a posting (a bug, not a rejection): it was neither stored nor
        rejected with a reason, so the crawl must not exit 0."""
        self.crawler.stats.inc_value(keys.ITEM_ERRORS)
        self.crawler.stats.inc_value(keys.ERRORS)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        try:
            for settled in self._waits:
                try:
                    await settled()
                except Exception:  # noqa: BLE001 - decide all the same: nothing may wait forever
                    logger.exception("Error while waiting for the crawl's last writes")
        finally:
            self.decide(reason)

    def decide(self, reason: str) -> Outcome:
        """The outcome, computed on the first call and kept; in the stats from then on."""
        if self._outcome is None:
            stats = self.crawler.stats
            code, problems = crawl_outcome(stats.get_stats(), reason)
            self._outcome = Outcome(code, problems)
            stats.set_value(keys.EXIT_CODE, code)
            stats.set_value(keys.PROBLEMS, problems)
            self._decided.set()
        return self._outcome

    async def decided(self) -> Outcome:
        await self._decided.wait()
        assert self._outcome is not None
        return self._outcome
