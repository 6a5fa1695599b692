"""`scrapy crawl`, with the contract's exit status.

Scrapy's own `crawl` exits 0 whatever happened. This one exits 1 when postings could not be
stored (they wait in the spill file), when no listing page could be read or recognised, or
when the crawl did not finish; see outsourcing.outcome.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from outsourcing import stats as keys
from outsourcing.outcome import EXIT_FAILED, crawl_outcome
from outsourcing.platforms.base import PlatformSpider


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
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        code = stats.get(keys.EXIT_CODE)
        if code is None:
            code, _ = crawl_outcome(stats)
        self.exitcode = int(code)
