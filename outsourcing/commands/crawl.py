"""`scrapy crawl`, with the contract's exit status.

Scrapy's own `crawl` exits 0 whatever happened. This one exits 1 when postings could not be
stored (they wait in the spill file), when no listing page could be read or recognised, or
when the crawl did not finish: the outcome outsourcing.outcome.CrawlOutcome decided when the
crawl closed (1 when none was decided: the crawl did not get that far).
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from outsourcing.outcome import EXIT_FAILED, exit_code_of


class Command(ScrapyCrawlCommand):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when postings were not stored or the crawl failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name" if args else "which spider?")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        self.exitcode = exit_code_of(crawler.stats.get_stats() if crawler.stats else {})
