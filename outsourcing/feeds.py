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
crawl closes it, so a consumer that picks up `*.jsonl` never reads a half-written feed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from outsourcing.items import CONTRACT_FIELDS

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


class AtomicFileFeedStorage(FileFeedStorage):
    """FileFeedStorage; with the ATOMIC_OPTION feed option it writes `<path>.part` and renames
    it to `<path>` when the feed is closed."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        super().__init__(uri, feed_options=feed_options)
        self.atomic = bool((feed_options or {}).get(ATOMIC_OPTION))
        self.final_path = self.path
        if self.atomic:
            self.path = self.path + PART_SUFFIX
            self.write_mode = "wb"

    def store(self, file: IO[bytes]) -> None:
        file.close()
        if self.atomic:
            os.replace(self.path, self.final_path)
        return None

