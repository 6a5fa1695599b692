"""`scrapy report` and `scrapy report rates`: the market report (outsourcing/report/cli.py).

This module is the command's entry only. Scrapy loads every command module in every `scrapy`
process, each crawl's included, and the report's imports (the query layer, pydantic models,
the figures) would cost every crawl a tenth of a second: they are loaded when `report` runs.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand


class Command(ScrapyCommand):
    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options] | rates [CUR=WON ...] [--date YYYY-MM-DD]"

    def short_desc(self) -> str:
        return "Market report over the stored postings (text, JSON or HTML); `report rates` for exchange rates"

    def long_desc(self) -> str:
        from outsourcing.report import cli

        return cli.__doc__ or ""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        # ReportCommand.add_options adds Scrapy's common options too (ScrapyCommand.add_options).
        self._report().add_options(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        report = self._report()
        report.run(args, opts)
        self.exitcode = report.exitcode

    def _report(self) -> ScrapyCommand:
        from outsourcing.report.cli import ReportCommand

        report = ReportCommand()
        report.settings = self.settings
        return report
