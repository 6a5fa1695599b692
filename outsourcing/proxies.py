"""Per-platform proxies: some platforms refuse data-centre addresses, so their requests can go
through a proxy of their own while every other platform connects directly.

    # settings (or -s PLATFORM_PROXIES='{"freemoa": "http://user:pass@kr-proxy:3128"}')
    PLATFORM_PROXIES = {"freemoa": "http://kr-proxy:3128"}
    # environment, preferred for proxies with a password (it stays out of settings and of
    # scrapyd's job listings); wins over the setting; "direct" turns a configured proxy off
    OUTSOURCING_PROXY_FREEMOA=http://user:pass@kr-proxy:3128

`PlatformProxyMiddleware` sets `request.meta["proxy"]` on every request of that spider that has
none yet (robots.txt included: a platform that refuses the address refuses it there too).
Scrapy's HttpProxyMiddleware, which runs after it, turns the URL's credentials into a
Proxy-Authorization header. The proxy is logged once per crawl with its password masked; a
proxy that refuses us (HTTP 407, a failed CONNECT) is a warning naming platform, URL and proxy.

A proxy URL that is not http(s):// stops the crawl before it starts: crawling from the wrong
address would be refused anyway, and quietly going direct is what the setting exists to avoid.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from outsourcing import stats as keys
from outsourcing.storage.database import mask_dsn, password_span

logger = logging.getLogger(__name__)

ENV_PREFIX = "OUTSOURCING_PROXY_"
#: An environment value that means "no proxy" even when PLATFORM_PROXIES names one.
DIRECT = frozenset({"direct", "none"})


class ProxyMisconfigured(ValueError):
    pass


def env_name(spider: str) -> str:
    """OUTSOURCING_PROXY_<SPIDER>, e.g. OUTSOURCING_PROXY_FREEMOA."""
    return ENV_PREFIX + "".join(ch if ch.isalnum() else "_" for ch in spider).upper()


def proxy_for(spider: str, settings_proxies: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """The proxy URL for `spider`: environment first, then PLATFORM_PROXIES; None for direct."""
    value = environ.get(env_name(spider))
    if value is None:
        value = settings_proxies.get(spider)
    if value is None:
        return None
    value = str(value).strip()
    if not value or value.lower() in DIRECT:
        return None
    origin = env_name(spider) if env_name(spider) in environ else "PLATFORM_PROXIES"
    # The host is what follows the credentials; a password may hold an unencoded # or ?
    # (Scrapy's proxy parser reads those), which would fool urlsplit into another host.
    span = password_span(value)
    scheme = urlsplit(value).scheme
    host = urlsplit(f"{scheme}://{value[span[1] + 1:]}").hostname if span else urlsplit(value).hostname
    if scheme not in ("http", "https") or not host:
        raise ProxyMisconfigured(
            f"{spider}: proxy {mask_dsn(value)!r} is not an http:// or https:// URL with a host (from {origin})"
        )
    if span and "/" in value[span[0]:span[1]]:
        raise ProxyMisconfigured(
            f"{spider}: proxy {mask_dsn(value)!r}: its password holds an unencoded '/', which ends the proxy's "
            f"address for Scrapy; percent-encode it (%2F) (from {origin})"
        )
    return value


class PlatformProxyMiddleware:
    """Downloader middleware: the spider's proxy on each of its requests."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.spider_name: str = getattr(crawler.spidercls, "name", "") or "?"
        self.proxy = proxy_for(self.spider_name, crawler.settings.getdict("PLATFORM_PROXIES"), os.environ)
        self.masked = mask_dsn(self.proxy) if self.proxy else None
        if self.proxy:
            logger.info("%s: requests go through the proxy %s", self.spider_name, self.masked)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PlatformProxyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        # A request that chose its own proxy (or None: explicitly direct) keeps it.
        if self.proxy and "proxy" not in request.meta:
            request.meta["proxy"] = self.proxy
            self.crawler.stats.inc_value(keys.PROXY_REQUESTS)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if self.proxy and response.status == 407:
            self.crawler.stats.inc_value(keys.PROXY_REFUSED)
            logger.warning("%s: the proxy %s refused the request (HTTP 407, check its credentials): %s",
                           self.spider_name, self.masked, request.url)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # The errback logs the failure too; this line adds which proxy it went through.
        if self.proxy:
            self.crawler.stats.inc_value(keys.PROXY_ERRORS)
            logger.warning("%s: request through the proxy %s failed: %s: %s: %s", self.spider_name,
                           self.masked, request.url, type(exception).__name__, exception)
        return None
