"""The `wishket` spider: list pages of the JSON-wrapped card fragment, then each card's detail page.

    scrapy crawl wishket -a category=development -a form_factor=web,android -a query=python

Arguments (besides the contract's base_url, max_pages, max_items, mode):
- `category`: the site's category key `c` (development, design, planning, marketing, etc);
- `form_factor`: `ff`, comma-separated (web, pc, android, ios, etc);
- `query`: keyword search `s`;
- `sort`: `srt` (default `new`: newest first);
- `filters`: further raw "k=v&k=v" pairs of the site's filter (e.g. `pt=task_based` for 외주);
- `details`: `false` reads the list only (one request per 10-odd postings instead of one each).

`-a mode=incremental` reads the list newest first and stops after the first page whose cards
are all older than the watermark (the newest posting of the last clean run; a card's day counts
as its last instant, since cards show the date only). Postings already stored get no detail
request and are not yielded again: the daily full run revisits them.

A detail page that is locked, private, gone or not recognised is a warning: the card's item is
still yielded. Only list pages decide whether the crawl read the platform at all.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response
from twisted.python.failure import Failure

from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.pages import PageNotRecognised, require_text
from outsourcing.platforms.wishket import parser

logger = logging.getLogger(__name__)

# Block and challenge pages come with 403: the parser names them (challenge_page) instead of a
# bare http_403. Other errors go to the errback as usual.
LISTING_STATUSES = [403]

# The list endpoint answers JSON only to the site's own XHR; without the header it sends the
# full page.
XHR_HEADERS = {
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}
# Reasons that are the site withholding a page on purpose, not a page we failed to understand.
ACCESS_REASONS = frozenset({"login_wall"})


class WishketSpider(PlatformSpider):
    name = "wishket"
    origin = parser.ORIGIN
    # robots.txt asks for `Crawl-delay: 5`; one request at a time (CONCURRENT_REQUESTS_PER_DOMAIN).
    custom_settings = {"DOWNLOAD_DELAY": 5.0}
    READS_DETAILS = True
    LISTING_PAGES = "list pages"

    def __init__(
        self,
        *args: Any,
        category: str = "",
        form_factor: str = "",
        query: str = "",
        sort: str = "new",
        filters: str = "",
        details: str | bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        pairs: dict[str, str] = {"c": category.strip(), "ff": form_factor.replace(" ", ""), "s": query.strip(), "srt": sort.strip()}
        for pair in filters.split("&"):
            if "=" in pair:
                key, value = pair.split("=", 1)
                pairs[key.strip()] = value.strip()
        self.filters = {key: value for key, value in pairs.items() if value}
        self.read_details = str(details).strip().lower() not in ("false", "0", "no", "off")
        self.seen_ids: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        if self.mode == "incremental" and not self.newest_first:
            # Only a newest-first list can be cut at the watermark; other orders are read to the
            # end, still without the stored postings' detail pages.
            logger.warning("%s: incremental run with sort=%s (not newest first): not stopping at the watermark",
                           self.name, self.filters.get("srt"))
        request = self.list_page(1)
        if request is not None:
            yield request

    @property
    def newest_first(self) -> bool:
        return self.filters.get("srt") == "new"

    def list_page(self, page: int) -> Any:
        return self.listing_request(
            parser.listing_path(self.filters, page), self.parse_listing,
            headers=XHR_HEADERS, cb_kwargs={"page": page}, meta={"handle_httpstatus_list": LISTING_STATUSES},
        )

    async def parse_listing(self, response: Response, page: int) -> AsyncIterator[Any]:
        listed_at = self.received_at(response)
        listing = parser.parse_listing(require_text(response), listed_at, page)
        self.listing_recognised(response, len(listing.entries))
        new = [card for card in listing.entries if card["id"] not in self.seen_ids]
        self.seen_ids.update(card["id"] for card in new)
        # Incremental: stored postings get no detail request and no item (the full run revisits
        # them); a card's day counts as its last instant, since cards show the date only.
        fresh = await self.read_listing(
            new, id_of=lambda card: card["id"], where=f"list page {page}", page=page,
            posted_at=[parser.listed_posted_until(c) for c in listing.entries] if self.newest_first else ())
        for card in fresh.new:
            if self.read_details:
                yield self.detail_request(
                    f"/project/{card['id']}/", self.parse_detail, errback=self.detail_failed,
                    cb_kwargs={"card": card, "listed_at": listed_at},
                )
            else:
                yield parser.item_from_entry(card, listed_at)
        remaining = max(0, (listing.total or 0) - len(self.seen_ids))
        pages = math.ceil(remaining / len(listing.entries)) if listing.entries else 0
        if fresh.stop_here(pages_not_read=min(pages, self.max_pages - self.listing_pages_requested)):
            return
        if parser.has_next_page(listing, len(self.seen_ids), len(new)):
            request = self.list_page(page + 1)
            if request is not None:
                yield request

    def parse_detail(self, response: Response, card: dict[str, Any], listed_at: str) -> Any:
        try:
            yield parser.parse_detail(require_text(response), card, self.received_at(response), listed_at=listed_at)
        except PageNotRecognised as error:
            # Not understood (layout change, challenge) is worth an error count, but the card
            # holds the posting: a warning, not a failed crawl.
            self.detail_not_used(f"page {response.url}", error.reason, error.detail, ACCESS_REASONS,
                                 keeping="listing card")
            yield parser.item_from_entry(card, listed_at)

    def detail_failed(self, failure: Failure) -> Any:
        """A detail page that could not be fetched (404, retries exhausted): logged and counted
        by `request_failed`; the posting is still stored from its card."""
        self.request_failed(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield parser.item_from_entry(kwargs["card"], kwargs["listed_at"])
