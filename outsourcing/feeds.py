"""Per-platform JSON Lines feeds, switched on by one setting, with no per-spider code.

    scrapy crawl wishket -s FEEDS_DIR=/srv/feeds          # or OUTSOURCING_FEEDS_DIR=/srv/feeds
    -> /srv/feeds/wishket/wishket-2026-10-02T06-00-00+00-00.jsonl

`PlatformFeeds` is a Scrapy add-on (ADDONS in settings.py). Add-ons run while a crawler's
settings are still open, before the FeedExporter reads FEEDS, so the add-on adds one FEEDS
entry whose URI uses Scrapy's `%(name)s` (the spider) and `%(time)s` (the crawl's UTC start)
parameters: every spider, `scrapy crawl` or `scrapy crawlall` or a scrapyd job, gets its own
timestamped file. Feeds given with `-o`/`-O`/FEEDS are kept next to it.

The file carries exactly the contract's fields (FEED_EXPORT_FIELDS, set per feed too, so a
project-wide override cannot widen it). It is written as `<name>.part` and renamed when the
crawl closes it, so a consumer that picks up `*.jsonl` never reads a half-written feed; and it
is renamed only when the crawl read what it set out to read. A crawl that failed (it did not
finish, no listing page was read, a callback or a pipeline failed: outsourcing.outcome's
rules) deletes its `.part` instead: its feed would be empty or partial, and the platform's
earlier feeds stay the newest. Postings that only failed to reach the database (they wait in
the spill file) were extracted all the same: that feed is complete, and kept.

`-O file` is Scrapy's own feed and keeps Scrapy's meaning: the file is truncated when the crawl
opens, so a failed run replaces a good `-O` file with an empty or partial one (README).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from outsourcing import stats as keys
from outsourcing.items import CONTRACT_FIELDS
from outsourcing.outcome import crawl_outcome

ENV_FEEDS_DIR = "OUTSOURCING_FEEDS_DIR"
DEFAULT_TEMPLATE = "%(name)s/%(name)s-%(time)s.jsonl"
#: Feed option that asks AtomicFileFeedStorage for the write-then-rename behaviour.
ATOMIC_OPTION = "outsourcing_atomic"
PART_SUFFIX = ".part"
_FILE_SCHEMES = ("", "file")


def feeds_dir(settings: BaseSettings) -> str | None:
    """FEEDS_DIR (setting) or OUTSOURCING_FEEDS_DIR (environment); None when feeds are off."""
    return settings.get("FEEDS_DIR") or os.environ.get(ENV_FEEDS_DIR) or None


def platform_feed_uri(directory: str, template: str) -> str:
    """The feed's path, with Scrapy's URI parameters left in for the FeedExporter to fill."""
    return str(Path(directory).expanduser().resolve() / template)


class PlatformFeeds:
    """Add-on: a per-platform, timestamped JSON Lines feed when FEEDS_DIR is set."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PlatformFeeds:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        directory = feeds_dir(settings)
        if not directory:
            return
        template = settings.get("FEEDS_FILE_TEMPLATE") or DEFAULT_TEMPLATE
        feeds = settings.getdict("FEEDS")
        feeds[platform_feed_uri(directory, template)] = {
            "format": "jsonlines",
            "encoding": "utf-8",
            "fields": list(CONTRACT_FIELDS),
            "overwrite": True,
            ATOMIC_OPTION: True,
        }
        # Keep the priority -O/-o gave FEEDS (cmdline), or their entries would be the ones
        # that lose; at least "addon" so the project default does not win over ours.
        priority = max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"])
        settings.set("FEEDS", feeds, priority=priority)
        storages = settings.getdict("FEED_STORAGES")
        for scheme in _FILE_SCHEMES:
            # Only file feeds that ask for it (ATOMIC_OPTION) behave differently; others,
            # -O included, are written exactly as by Scrapy's FileFeedStorage.
            if scheme not in storages:
                storages[scheme] = f"{__name__}.AtomicFileFeedStorage"
        settings.set("FEED_STORAGES", storages, priority=priority)


class FeedDiscarded(Exception):
    """A project feed not written because the crawl failed (its .part was deleted)."""


class _DiscardedFeedLog(logging.Filter):
    """Scrapy logs a feed that was not stored as an error with a traceback; for a feed this
    module discarded on purpose it is a warning with the reason, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, FeedDiscarded):
            record.msg, record.args = f"{record.getMessage()}: {error}", ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_FEEDEXPORT_LOGGER = logging.getLogger("scrapy.extensions.feedexport")


class AtomicFileFeedStorage(FileFeedStorage):
    """FileFeedStorage; with the ATOMIC_OPTION feed option it writes `<path>.part` and, when the
    feed is closed, renames it to `<path>` if the crawl succeeded or deletes it if it failed."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None, crawler: Crawler | None = None) -> None:
        super().__init__(uri, feed_options=feed_options)
        self.crawler = crawler
        self.atomic = bool((feed_options or {}).get(ATOMIC_OPTION))
        self.final_path = self.path
        if self.atomic:
            self.path = self.path + PART_SUFFIX
            self.write_mode = "wb"
            if not any(isinstance(f, _DiscardedFeedLog) for f in _FEEDEXPORT_LOGGER.filters):
                _FEEDEXPORT_LOGGER.addFilter(_DiscardedFeedLog())

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None) -> AtomicFileFeedStorage:
        return cls(uri, feed_options=feed_options, crawler=crawler)

    def store(self, file: IO[bytes]) -> None:
        file.close()
        if not self.atomic:
            return None
        problems = self.crawl_problems()
        if problems:
            os.remove(self.path)
            raise FeedDiscarded(f"not written, the crawl failed ({'; '.join(problems)}); removed {self.path}")
        os.replace(self.path, self.final_path)
        return None

    def crawl_problems(self) -> list[str]:
        """Why the crawl's feed would be empty or partial (outsourcing.outcome's rules, less
        the database's: postings waiting in the spill file were extracted all the same). The
        FeedExporter closes feeds on spider_closed, after Scrapy's CoreStats set finish_reason."""
        if self.crawler is None or self.crawler.stats is None:
            return []
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if not k.startswith(keys.STORAGE_PREFIX)}
        if stats.get("finish_reason") is None:
            return []
        _, problems = crawl_outcome(stats)
        return problems

