"""What every platform parser shares: the one parser interface and its result, the checks that
tell an answer a parser can read from one it cannot, and the text helpers for selectors.

The interface. Every `outsourcing/platforms/<name>/parser.py` has

- `parse_listing(response, scraped_at) -> Listing`: one listing answer (an API page, a feed, an
  HTML listing page, a sitemap) read: postings it gives whole (`items`), postings to complete
  with their detail answer (`entries`, the platform's own records), and what it says about
  paging;
- where the platform has detail answers, `parse_detail(response, entry, scraped_at) ->
  PostingItem` (the entry completed with its detail; None for a posting the platform keeps
  private) and, where a listing entry alone is worth storing when the detail is not,
  `item_from_entry(entry, scraped_at, ...)`.

Both raise `PageNotRecognised` with the reason codes the crawl reports and the tests assert
(`challenge_page`, `not_json`, `invalid_json`, `unexpected_structure`, `http_<status>`,
`not_text`, ...), so a block page or a layout change is never read as "no postings". Spiders only
crawl: requests, paging and politeness.

Pure functions of the response (no spider state, no I/O), like the parsers that call them.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from outsourcing.items import PostingItem, UnreadablePosting, unreadable_posting
from outsourcing.normalize.text import clean_line


@dataclass(frozen=True)
class Listing:
    """One listing answer, read. Every `parse_listing` returns one.

    Paging facts are the platform's own, None where it does not state them: `page` (this page's
    number), `next_page` (the number it names as next), `pages` (how many pages), `total` (how
    many postings the listing has across pages), `next_url` (a link to the next page); `more` lists
    further listing documents the answer names (a sitemap index's children); `skipped` counts
    blocks that look like postings but are not (promoted cards).
    """

    items: list[PostingItem] = field(default_factory=list)
    entries: list[Any] = field(default_factory=list)
    page: int | None = None
    next_page: int | None = None
    pages: int | None = None
    total: int | None = None
    next_url: str | None = None
    more: list[str] = field(default_factory=list)
    skipped: int = 0
    #: Postings whose record could not be read (see `read_records`); the spider yields them
    #: for the validation pipeline to reject with their reason.
    unreadable: list[UnreadablePosting] = field(default_factory=list)

    @property
    def listed(self) -> int:
        """Postings on this page, whole, to be completed or unreadable."""
        return len(self.items) + len(self.entries) + len(self.unreadable)

    @property
    def has_next(self) -> bool:
        """Whether the answer says a page follows. An empty page ends the walk whatever the
        counts say: never loop on nothing."""
        if not self.listed:
            return False
        if self.next_url:
            return True
        if self.page is not None and self.pages is not None:
            return self.page < self.pages
        return False


Record = TypeVar("Record")
logger = logging.getLogger(__name__)


def read_records(platform: str, records: Iterable[Record], build: Callable[[Record], PostingItem], *,
                 id_of: Callable[[Record], Any], raw_of: Callable[[Record], Any] = lambda record: record,
                 ) -> tuple[list[PostingItem], list[UnreadablePosting]]:
    """`build` applied to each posting record of a page that was recognised as a whole, one
    record at a time: a record that makes `build` raise (a value of a shape the parser did not
    expect: `"jobs": 3` where a list was due) becomes an UnreadablePosting, and the rest of the
    page is still read. When not one record could be read, the page is not the page the parser
    knows (a layout change, not one odd posting): the first error is raised as
    PageNotRecognised, so the page counts as unrecognised rather than as rejected postings."""
    items: list[PostingItem] = []
    unreadable: list[UnreadablePosting] = []
    first_error: Exception | None = None
    for record in records:
        try:
            items.append(build(record))
        except Exception as error:  # noqa: BLE001 - one record's surprise must not cost the page
            first_error = first_error or error
            external_id = _id_or_none(id_of, record)
            logger.debug("%s: posting %s could not be read", platform, external_id, exc_info=True)
            unreadable.append(unreadable_posting(platform, external_id, _where(error), raw_of(record)))
    if first_error is not None and not items:
        if isinstance(first_error, PageNotRecognised):
            raise first_error
        raise PageNotRecognised("unreadable_records", f"none of the {len(unreadable)} postings could be read: "
                                f"{unreadable[0].error}") from first_error
    return items, unreadable


def _id_or_none(id_of: Callable[[Any], Any], record: Any) -> str | None:
    try:
        value = id_of(record)
    except Exception:  # noqa: BLE001 - a record without a readable id is still reported
        return None
    return None if value is None else str(value)


def _where(error: BaseException) -> str:
    """`TypeError: 'int' object is not iterable (freelancer/parser.py:84 in parse_project)`."""
    frames = traceback.extract_tb(error.__traceback__)
    text = f"{type(error).__name__}: {error}"[:300]
    if frames:
        frame = frames[-1]
        path = "/".join(frame.filename.replace("\\", "/").split("/")[-2:])
        text += f" ({path}:{frame.lineno} in {frame.name})"
    return text


# --- text of selected nodes -------------------------------------------------------------------


def node_text(node: Selector | SelectorList[Selector] | None) -> str | None:
    """A node's text content (like the DOM's textContent: text nodes joined as they are), as one
    clean line; the first node of a list; None when empty."""
    if node is None or (isinstance(node, SelectorList) and not node):
        return None
    first = node[0] if isinstance(node, SelectorList) else node
    return clean_line("".join(first.xpath(".//text()").getall()))


def own_text(node: Selector) -> str | None:
    """The element's own text, without its children's (a mark's tooltip stays out); its whole
    text when it has none of its own."""
    return clean_line("".join(node.xpath("./text()").getall())) or node_text(node)


def spaced_text(node: Selector, exclude: str | None = None) -> str | None:
    """Text nodes joined by spaces (values in separate tags must not run together), leaving out
    the elements whose class contains `exclude`."""
    if exclude:
        path = f".//text()[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' {exclude} ')])]"
    else:
        path = ".//text()"
    return clean_line(" ".join(node.xpath(path).getall()))


class PageNotRecognised(Exception):
    """The page lacks the structure that holds postings (challenge page, login wall, HTML where
    JSON was due, a listing without its cards). Never to be read as "no new postings"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


CHALLENGE_MARKERS: tuple[str, ...] = (
    "cf-chl", "challenge-platform", "Just a moment...", "Attention Required! | Cloudflare",
    "g-recaptcha", "hcaptcha", "captcha",
)


def looks_like_challenge(text: str) -> bool:
    head = text[:20000]
    return any(marker in head for marker in CHALLENGE_MARKERS)


# What may stand before a JSON document: white space, and a byte order mark that a body decoded
# without stripping it keeps.
_LEADING = re.compile(r"^[\s\ufeff]+")
# The first character of a JSON document of each type: anything else where JSON was due is a
# page (HTML block or challenge page, a login form), named as such rather than as broken JSON.
_OPENERS: dict[type, str] = {dict: "{", list: "["}


def load_json(text: str, *, expect: type | tuple[type, ...], what: str) -> Any:
    """The JSON document of an answer, of type `expect` (dict, list, or both as a tuple).

    Raises PageNotRecognised: `challenge_page` or `not_json` when the text does not start as
    such a document (HTML where the JSON was due), `invalid_json` when it does but does not
    parse (a truncated answer), `unexpected_structure` when it is JSON of another type. `what`
    names the document in the error's detail ("the API's JSON array")."""
    kinds = expect if isinstance(expect, tuple) else (expect,)
    stripped = _LEADING.sub("", text, count=1)
    if not stripped.startswith(tuple(_OPENERS[kind] for kind in kinds)):
        reason = "challenge_page" if looks_like_challenge(text) else "not_json"
        raise PageNotRecognised(reason, f"expected {what}, got {stripped[:80]!r}")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise PageNotRecognised("invalid_json", str(error)) from None
    # The opening character already decides the type; checked so that callers may rely on it.
    if not isinstance(data, kinds):
        raise PageNotRecognised("unexpected_structure", f"a JSON {type(data).__name__}, not {what}")
    return data


def refuse_error_status(response: TextResponse) -> None:
    """An answer with an error status that the spider let through (block and challenge pages
    come with 403): named by what it is rather than by its status alone."""
    if response.status >= 400:
        reason = "challenge_page" if looks_like_challenge(response.text) else f"http_{response.status}"
        raise PageNotRecognised(reason, f"HTTP {response.status}")


def require_text(response: Response) -> TextResponse:
    """The response as text; a binary answer (an image, a download) where a page or JSON was due
    is not recognised."""
    if not isinstance(response, TextResponse):
        raise PageNotRecognised("not_text", f"content type {response.headers.get('Content-Type')!r}")
    return response
