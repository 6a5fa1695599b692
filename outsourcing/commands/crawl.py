"""`scrapy crawl`, with the contract's exit status.

Scrapy's own `crawl` exits 0 whatever happened. This one exits 1 when postings could not be
stored (they wait in the spill file), when no listing page could be read or recognised, or
when the crawl did not finish: the outcome outsourcing.outcome.CrawlOutcome decided when the
crawl closed (1 when none was decided: the crawl did not get that far).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from outsourcing import logs
from outsourcing import stats as keys
from outsourcing.outcome import EXIT_FAILED, exit_code_of, problems_of
from outsourcing.platforms.base import PlatformSpider

logger = logging.getLogger(__name__)


def refuse_arguments(spidercls: type, arguments: dict[str, str]) -> None:
    """A usage error (exit 2) for -a arguments that would replace one of the spider's own
    attributes (`-a name=../../x`), before anything runs or is written."""
    if isinstance(spidercls, type) and issubclass(spidercls, PlatformSpider):
        refused = spidercls.refused_arguments(arguments)
        if refused:
            raise UsageError("; ".join(refused), print_help=False)


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when postings were not stored or the crawl failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name" if args else "which spider?")
        assert self.crawler_process
        refuse_arguments(self.crawler_process.spider_loader.load(args[0]), opts.spargs)
        logs.install()
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            logger.error("%s: the crawl did not start (see the error above); exit %d", args[0], self.exitcode)
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        self.exitcode = exit_code_of(stats)
        problems = problems_of(stats)
        log_outcome(args[0], self.exitcode, problems, stats)


def log_outcome(name: str, code: int, problems: list[str], stats: dict[str, Any]) -> None:
    """The crawl's last line: its outcome, after everything Scrapy and the database printed."""
    if code == 0:
        logger.info("%s: done, exit 0: %s postings stored (%s new, %s updated, %s unchanged), %s dropped, %s errors",
                    name, sum(int(stats.get(key, 0)) for key in (keys.STORAGE_INSERTED, keys.STORAGE_UPDATED,
                                                                 keys.STORAGE_UNCHANGED)),
                    stats.get(keys.STORAGE_INSERTED, 0), stats.get(keys.STORAGE_UPDATED, 0),
                    stats.get(keys.STORAGE_UNCHANGED, 0), stats.get("item_dropped_count", 0), stats.get(keys.ERRORS, 0))
    else:
        logger.error("%s: FAILED, exit %d: %s", name, code, "; ".join(problems) or "see the log above")
