"""AlertsExtension: the alerts dispatcher inside every crawl (`scrapy crawl`, `crawlall`, scrapyd
jobs), when alerts are configured (OUTSOURCING_ALERTS_CONFIG in the environment, or the
ALERTS_CONFIG setting, naming the TOML file); NotConfigured otherwise.

- It starts with the spider, in the background: the crawl never waits for it, and database or
  receiver trouble only ever produces log lines and `outsourcing/alerts/*` stats.
- Postings are alerted as their batches commit (DB_BATCH_MAX_AGE, 5 s by default), not at the
  end of the crawl: the writer's triggers NOTIFY the dispatcher at each commit.
- When the spider closes it waits for the store's last batch, then delivers what is due for at
  most ALERTS_DRAIN_TIMEOUT seconds (stopping at the first failed attempt); what is left waits
  in the database for the next run or a standalone `scrapy alerts run`.
- It never touches the crawl's exit status: the outcome rules (outsourcing.outcome) do not read
  its stats.
- All crawlers of one process (crawlall) share one dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from outsourcing.alerts.location import config_path

# The rest (pydantic, the query layer, the channels) is imported only when alerts are configured:
# every crawl loads this extension, and most have no alerts.
if TYPE_CHECKING:
    from outsourcing.alerts.config import AlertsConfig, MaskingFilter
    from outsourcing.alerts.dispatcher import Dispatcher
    from outsourcing.query.connection import DatabaseTarget

logger = logging.getLogger(__name__)

STAT = "outsourcing/alerts/"


@dataclass
class _Entry:
    dispatcher: Dispatcher
    target: DatabaseTarget
    masking: MaskingFilter
    users: int = 1


class SharedDispatchers:
    """One dispatcher per (config file, database) in a process, counted like the embedded server."""

    _entries: dict[tuple[str, str], _Entry] = {}

    @classmethod
    async def acquire(cls, path: Path, config: AlertsConfig, settings: Any) -> Dispatcher:
        from outsourcing.alerts.config import install_masking
        from outsourcing.alerts.dispatcher import Dispatcher, DispatcherOptions
        from outsourcing.query.connection import DatabaseTarget

        target = DatabaseTarget.from_environment(settings)
        if target.url is None:
            await asyncio.to_thread(target.open, settings)
        assert target.url is not None
        key = (str(path.resolve()), target.url)
        entry = cls._entries.get(key)
        if entry is not None:
            entry.users += 1
            await asyncio.to_thread(target.close)  # the entry keeps its own handle
            return entry.dispatcher
        dispatcher = Dispatcher(config, target.url, DispatcherOptions.from_settings(settings))
        masking = install_masking(config.masker)
        cls._entries[key] = _Entry(dispatcher, target, masking)
        dispatcher.start()
        return dispatcher

    @classmethod
    async def release(cls, dispatcher: Dispatcher) -> None:
        from outsourcing.alerts.config import remove_masking

        for key, entry in list(cls._entries.items()):
            if entry.dispatcher is dispatcher:
                entry.users -= 1
                if entry.users > 0:
                    return
                del cls._entries[key]
                try:
                    await dispatcher.stop()
                finally:
                    remove_masking(entry.masking)
                    await asyncio.to_thread(entry.target.close)
                return


class AlertsExtension:
    def __init__(self, crawler: Crawler, path: Path, config: AlertsConfig) -> None:
        self.crawler = crawler
        self.path = path
        self.config = config
        self.drain_timeout = crawler.settings.getfloat("ALERTS_DRAIN_TIMEOUT", 10.0)
        self.dispatcher: Dispatcher | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertsExtension:
        path = config_path(crawler.settings)
        if path is None or not crawler.settings.getbool("ALERTS_ENABLED", True):
            raise NotConfigured("alerts are not configured (OUTSOURCING_ALERTS_CONFIG / ALERTS_CONFIG)")
        from outsourcing.alerts.config import ConfigError, load_config

        try:
            config = load_config(path)
        except ConfigError as error:
            # The crawl goes on (its postings are stored, and the outbox keeps their events for
            # a dispatcher with a valid config); the problem is loud, not fatal.
            logger.error("alerts are off for this crawl: %s", error)
            if crawler.stats is not None:
                crawler.stats.set_value(STAT + "config_error", 1)
            raise NotConfigured(str(error)) from error
        return cls(crawler, path, config)

    async def spider_opened(self, spider: Any) -> None:
        try:
            self.dispatcher = await SharedDispatchers.acquire(self.path, self.config, self.crawler.settings)
        except Exception as error:  # noqa: BLE001 - never fail the crawl
            logger.error("alerts: the dispatcher did not start: %s", self.config.masker.mask(f"{type(error).__name__}: {error}"))
            self._stat("errors", 1)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is None:
            return
        try:
            # spider_closed handlers run concurrently: wait until the store committed its last
            # batch, so that batch's alerts go out with this run.
            store = getattr(self.crawler, "_outsourcing_store", None)
            if store is not None:
                await store.wait_finished()
            await dispatcher.drain(self.drain_timeout)
        except Exception as error:  # noqa: BLE001
            logger.warning("alerts: %s", self.config.masker.mask(f"{type(error).__name__}: {error}"))
        finally:
            counts = dict(dispatcher.counts)
            try:
                await SharedDispatchers.release(dispatcher)
            except Exception as error:  # noqa: BLE001
                logger.warning("alerts: stopping the dispatcher: %s", self.config.masker.mask(str(error)))
        for name in ("matched_events", "messages", "delivered", "attempts_failed", "failed", "errors"):
            self._stat(name, counts.get(name, 0))
        logger.info("alerts: %s", dispatcher.summary())

    def _stat(self, name: str, value: int) -> None:
        if self.crawler.stats is not None and value:
            self.crawler.stats.set_value(STAT + name, value)
