"""The `remoteok` spider: one request to `/api`, no page requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.remoteok import parser


class RemoteOKSpider(PlatformSpider):
    name = "remoteok"
    origin = parser.ORIGIN
    # RemoteOK asks API users to stay under one call per two seconds.
    custom_settings = {"DOWNLOAD_DELAY": 2.0}

    async def start(self) -> AsyncIterator[Any]:
        request = self.listing_request("/api", self.parse_api)
        if request is not None:
            yield request

    def parse_api(self, response: Response) -> Any:
        page = parser.parse_listing(response, self.received_at(response))
        self.listing_recognised(response, page.listed)
        yield from page.unreadable  # rejected with their reason by the validation pipeline
        yield from page.items
