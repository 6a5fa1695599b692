"""`scrapy serve`: the read API and web page (outsourcing.api) under uvicorn, on the database a
crawl would use (DATABASE_URL, else the embedded PostgreSQL). It never writes."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

from outsourcing.api.server import add_arguments, serve


class Command(ScrapyCommand):
    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--host HOST] [--port PORT] [--workers N]"

    def short_desc(self) -> str:
        return "Serve the read API and web page over the stored postings"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_arguments(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        serve(opts.host, opts.port, opts.workers, opts.log_level)
