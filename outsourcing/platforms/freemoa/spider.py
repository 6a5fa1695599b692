"""The `freemoa` spider: the board page for a session cookie, then the site's list and detail API.

    scrapy crawl freemoa -a query=쇼핑몰 -a work_type=1

Arguments (besides the contract's base_url, max_pages, max_items, mode):
- `query`: the board's search (`sS`);
- `work_type`: the board's `workType` filter (1 도급, 2 시간제 상주, 3 기간제 상주);
- `details`: `false` reads the list only (the rows carry most fields but a shortened description).

The API wants the session cookie of `GET /m4/s41` (Scrapy's cookie middleware keeps it per host,
so with `-a base_url` it is the mirror's). A project the API withholds (login needed, or visible
only to partners the client invited) is stored from its list row: a warning and a stat.

`-a mode=incremental` reads the list (newest registered first) and stops after the first page
whose rows are all older than the watermark (the newest posting of the last clean run).
Projects already stored get no detail request and are not yielded again: the daily full run
revisits them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import FormRequest, Response
from twisted.python.failure import Failure

from outsourcing import stats as keys
from outsourcing.platforms.base import PlatformSpider
from outsourcing.platforms.freemoa import parser
from outsourcing.platforms.pages import PageNotRecognised, require_text

# Block and challenge pages come with 403: the parser names them (challenge_page) instead of a
# bare http_403. Other errors go to the errback as usual.
LISTING_STATUSES = [403]

# Reasons that are the API withholding a project on purpose, not an answer we failed to read.
ACCESS_REASONS = frozenset({"login_required", "restricted"})


class FreemoaSpider(PlatformSpider):
    name = "freemoa"
    origin = parser.ORIGIN
    # Freemoa is known to refuse clients it considers servers; keep the rate low.
    custom_settings = {"DOWNLOAD_DELAY": 3.0}
    READS_DETAILS = True
    LISTING_PAGES = "list pages"
    POSTINGS = "projects"

    def __init__(self, *args: Any, query: str = "", work_type: str = "", details: str | bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if work_type and work_type not in parser.WORK_TYPES:
            raise ValueError(f"work_type must be one of {', '.join(parser.WORK_TYPES)}, not {work_type!r}")
        self.query = query.strip()
        self.work_type = work_type
        self.read_details = str(details).strip().lower() not in ("false", "0", "no", "off")
        self.seen_ids: set[str] = set()

    def xhr_headers(self) -> dict[str, str]:
        # What the board's own script sends; the Referer is the board page the cookie came from.
        return {
            "X-Requested-With": "XMLHttpRequest",
            "Referer": self.fetch_url(parser.SESSION_PATH),
            "Accept": "application/json, text/javascript, */*; q=0.01",
        }

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(
            self.fetch_url(parser.SESSION_PATH), callback=self.session_ready, errback=self.session_failed,
            meta={"page_kind": "session"}, dont_filter=True,
        )

    def session_ready(self, response: Response) -> Any:
        request = self.list_page(1)
        if request is not None:
            yield request

    def session_failed(self, failure: Failure) -> Any:
        """No cookie page: logged as a warning; the list is still tried, and its answer decides
        whether the crawl read the platform."""
        self.request_failed(failure)
        request = self.list_page(1)
        if request is not None:
            yield request

    def list_page(self, page: int) -> Any:
        return self.listing_request(
            parser.LIST_PATH, self.parse_list, request_class=FormRequest,
            formdata=parser.list_form(page, self.query, self.work_type), headers=self.xhr_headers(),
            cb_kwargs={"page": page}, meta={"handle_httpstatus_list": LISTING_STATUSES},
        )

    async def parse_list(self, response: Response, page: int) -> AsyncIterator[Any]:
        listed_at = self.received_at(response)
        listing = parser.parse_listing(require_text(response), listed_at)
        self.listing_recognised(response, len(listing.entries))
        new: list[dict[str, Any]] = []
        for row in listing.entries:
            project_id = str(row["proj_idx"])
            if project_id in self.seen_ids:
                continue  # moved to the next page while we paged
            self.seen_ids.add(project_id)
            new.append(row)
        # Incremental: stored projects get no detail request and no item (the full run revisits them).
        current = listing.page or page
        fresh = await self.read_listing(new, id_of=lambda row: str(row["proj_idx"]), where=f"list page {current}",
                                        page=current, posted_at=[parser.listed_posted_at(row) for row in listing.entries])
        for row in fresh.new:
            project_id = str(row["proj_idx"])
            if not self.read_details:
                yield parser.item_from_entry(row, listed_at, detail_status="not_requested")
            elif str(row.get("isviewable", "1")).strip() == "0":
                # The board already says this project's detail is closed to us: don't ask.
                self.crawler.stats.inc_value(keys.detail_restricted("not_viewable"))
                yield parser.item_from_entry(row, listed_at, detail_status="not_viewable")
            else:
                yield self.detail_request(
                    parser.DETAIL_PATH, self.parse_detail, request_class=FormRequest,
                    formdata=parser.detail_form(project_id), headers=self.xhr_headers(),
                    errback=self.detail_failed, cb_kwargs={"row": row, "listed_at": listed_at},
                )
        total = math.ceil(listing.total / parser.PAGE_SIZE) if listing.total else current
        if fresh.stop_here(pages_not_read=min(max(0, total - current), self.max_pages - self.listing_pages_requested)):
            return
        following = parser.next_page(listing)
        if following is not None:
            request = self.list_page(following)
            if request is not None:
                yield request

    def parse_detail(self, response: Response, row: dict[str, Any], listed_at: str) -> Any:
        try:
            item = parser.parse_detail(require_text(response), row, self.received_at(response))
        except PageNotRecognised as error:
            # The detail URL is the same for every project (POST pno=…): name the project.
            self.detail_not_used(f"of project {row.get('proj_idx')}", error.reason, error.detail, ACCESS_REASONS,
                                 keeping="list row")
            yield parser.item_from_entry(row, listed_at, detail_status=error.reason)
            return
        yield item

    def detail_failed(self, failure: Failure) -> Any:
        """A detail that could not be fetched: logged and counted by `request_failed`; the
        posting is still stored from its list row."""
        self.request_failed(failure)
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        yield parser.item_from_entry(kwargs["row"], kwargs["listed_at"], detail_status="fetch_failed")
