"""`scrapy alerts`: the standalone dispatcher and the operations on saved searches and messages.

    scrapy alerts run [--once]                   # dispatch until stopped (a node that only dispatches)
    scrapy alerts status [--search NAME]         # searches, last delivery, pending and failed messages
    scrapy alerts retry ID ... | --failed [--search NAME]
    scrapy alerts drop ID ... | --failed [--search NAME]
    scrapy alerts backfill NAME --since 2026-10-01   # alert postings first seen since then
    scrapy alerts sync                           # store the config's searches (run does it too)
    scrapy alerts disable NAME | enable NAME

The config file comes from --config, else OUTSOURCING_ALERTS_CONFIG, else the ALERTS_CONFIG
setting; the database from DATABASE_URL (else the embedded PostgreSQL), as for crawls. The
actions live in outsourcing/alerts/cli.py, imported only when this command runs.
"""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.log import configure_logging

ACTIONS = ("run", "status", "retry", "drop", "backfill", "sync", "disable", "enable")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # no crawl here: its own asyncio loop, no reactor
    default_settings = {"LOG_LEVEL": "INFO"}

    def syntax(self) -> str:
        return f"{{{'|'.join(ACTIONS)}}} [ARGS] [options]"

    def short_desc(self) -> str:
        return "Alerts: run the dispatcher; show, retry or drop deliveries; backfill a saved search"

    def long_desc(self) -> str:
        return (__doc__ or "").strip()

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--config", metavar="PATH", help="the alerts config file (default "
                            "$OUTSOURCING_ALERTS_CONFIG, else the ALERTS_CONFIG setting)")
        parser.add_argument("--once", action="store_true", help="run: deliver what is due now, then exit")
        parser.add_argument("--since", metavar="WHEN", help="backfill: postings first seen since then")
        parser.add_argument("--search", metavar="NAME", help="status/retry/drop: only this saved search")
        parser.add_argument("--failed", action="store_true", help="retry/drop: every failed message")
        parser.add_argument("--limit", type=int, default=50, help="status: messages to list (default 50)")
        parser.add_argument("--json", action="store_true", help="status: print JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"which action? one of: {', '.join(ACTIONS)}")
        assert self.settings is not None
        configure_logging(self.settings)
        # The log policy of crawls: the embedded PostgreSQL's start/stop lines at DEBUG.
        from outsourcing import logs
        from outsourcing.alerts import cli

        logs.install()

        self.exitcode = cli.main(args[0], args[1:], opts, self.settings)
