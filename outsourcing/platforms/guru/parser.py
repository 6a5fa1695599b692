"""Guru's server-rendered job listing (`/d/jobs/`, `/d/jobs/pg/<n>/`) to items.

Each card is `.jobRecord` (`#serviceList .record.jobRecord[data-gid]`, platforms.md 2.8):
- id `data-gid` (else the number ending the detail URL); title and link
  `.jobRecord__title a[href]`, the href cut at `&SearchUrl=` (Guru appends the search that led
  there, which would make one posting many URLs);
- budget `.jobRecord__budget` ("Fixed Price | $500-$1k", "Hourly", "Under $250");
- `.jobRecord__meta`: "Posted 27 mins ago" / "Posted on Feb 22, 2026" and "N Quotes Received" /
  "No Quotes Received" (proposals);
- deadline `.record__header__action--full .copy`; client `.identityName` (the client's
  location `.freelancerAvatar__subText strong` is the only location a card gives);
  skills `.skillsList__skill`; description `.jobRecord__desc`.

Times: Guru prints dates without a zone; they are read in America/New_York (Guru is run from
Pittsburgh, PA), and relative ones ("27 mins ago") are resolved against the response's time and
rounded to 00:00 of that New York day, so two runs on one day agree.

A 200 page without a single card is a changed layout (or a block page), never "no postings".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import parse_instant, resolve_relative
from outsourcing.normalize.money import parse_money
from outsourcing.normalize.text import (
    clean_line,
    clean_skills,
    client_name,
    html_to_text,
    scrub_pii,
    scrub_pii_deep,
    scrubbed,
)
from outsourcing.normalize.urls import canonical_url
from outsourcing.platforms.pages import PageNotRecognised, looks_like_challenge

PLATFORM = "guru"
ORIGIN = "https://www.guru.com"
GURU_TZ = ZoneInfo("America/New_York")

_ID_IN_URL = re.compile(r"/jobs/[^/]+/(\d+)")
_PAGE_IN_URL = re.compile(r"/pg/(\d+)/?")
_POSTED = re.compile(r"Posted\s+.+?(?=\s*(?:[|·•]|\b\d[\d,]*\s+Quotes?\b|\bNo\s+Quotes?\b)|$)", re.I)
_QUOTES = re.compile(r"\b(\d[\d,]*)\s+Quotes?\s+Received", re.I)
_NO_QUOTES = re.compile(r"\bNo\s+Quotes?\s+Received", re.I)


@dataclass(frozen=True)
class ListingPage:
    """One listing page: its postings and the next page's URL (None on the last page)."""

    items: list[PostingItem]
    next_url: str | None


def parse_listing(response: TextResponse, scraped_at: str) -> ListingPage:
    """Every card of one listing page. Raises PageNotRecognised for a page without cards."""
    cards = response.css(".jobRecord")
    if not cards:
        if looks_like_challenge(response.text):
            raise PageNotRecognised("challenge_page", "a challenge or captcha page instead of the job listing")
        raise PageNotRecognised("no_job_cards", "no .jobRecord cards on the page (layout changed?)")
    items = [parse_card(card, scraped_at) for card in cards]
    return ListingPage(items, next_page_url(response))


def parse_card(card: Selector, scraped_at: str) -> PostingItem:
    link = card.css(".jobRecord__title a[href]")
    if not link:
        raise PageNotRecognised("unexpected_structure", "a .jobRecord card without its title link (.jobRecord__title a[href])")
    href = link[0].attrib["href"]
    url = detail_url(href)
    gid = (card.attrib.get("data-gid") or "").strip() or posting_id(url)
    meta = _text(card.css(".jobRecord__meta")) or ""
    posted = _POSTED.search(meta)
    budget_text = _text(card.css(".jobRecord__budget"))
    deadline_text = _text(card.css(".record__header__action--full .copy"))
    budget = parse_money(budget_text)
    description = html_to_text(card.css(".jobRecord__desc").get())
    client = _text(card.css(".identityName"))
    raw = {
        "data_gid": card.attrib.get("data-gid"),
        "href": href,
        "budget": budget_text,
        "meta": meta,
        "deadline": deadline_text,
        "rating": _text(card.css(".feedback-score")),
        # The card itself, so a parser fix can be replayed on stored rows.
        "html": card.get(),
    }
    return new_posting(
        platform=PLATFORM,
        external_id=gid,
        url=url,
        title=scrubbed(_text(link)),
        description=scrubbed(description),
        client=client_name(client),
        category=scrubbed(_text(card.css('a[href*="/d/jobs/c/"]'))),
        skills=[scrub_pii(skill) for skill in clean_skills(
            _text(chip) for chip in card.css(".skillsList__skill, .skillsList__skill--hasHover"))],
        **budget.fields(),
        duration_days=None,
        location=scrubbed(_text(card.css(".freelancerAvatar__subText strong"))),
        remote=None,  # a card does not say where the work is done
        posted_at=guru_time(posted.group(0), scraped_at) if posted else None,
        deadline_at=guru_time(deadline_text, scraped_at),
        proposals=proposals(meta),
        status="open",  # the listing shows jobs that take quotes
        scraped_at=scraped_at,
        raw=scrub_pii_deep(raw),
    )


def detail_url(href: str) -> str:
    """The posting's public URL: the href without Guru's `&SearchUrl=...` tail."""
    for marker in ("&SearchUrl=", "?SearchUrl="):
        href = href.split(marker, 1)[0]
    return canonical_url(href, ORIGIN)


def posting_id(url: str) -> str | None:
    match = _ID_IN_URL.search(urlsplit(url).path)
    return match.group(1) if match else None


def guru_time(text: str | None, scraped_at: str) -> str | None:
    """An absolute date ("Posted on Feb 22, 2026", "Oct 31, 2026") at 00:00 New York, or a
    relative one ("Posted 27 mins ago", "29 days left") rounded to that New York day."""
    if not text:
        return None
    return parse_instant(text, GURU_TZ) or resolve_relative(text, scraped_at, GURU_TZ)


def proposals(meta: str) -> int | None:
    match = _QUOTES.search(meta)
    if match:
        return int(match.group(1).replace(",", ""))
    return 0 if _NO_QUOTES.search(meta) else None


def next_page_url(response: TextResponse) -> str | None:
    """The link to page n+1 (the pager's `/pg/<n+1>/`), absolute; None on the last page."""
    match = _PAGE_IN_URL.search(urlsplit(response.url).path)
    wanted = f"/pg/{int(match.group(1)) + 1 if match else 2}/"
    for href in response.css("a[href]::attr(href)").getall():
        if wanted in href:
            return response.urljoin(href.split("&SearchUrl=", 1)[0])
    return None


def _text(nodes: SelectorList[Selector] | Selector) -> str | None:
    """The nodes' text, one line (the first node only for a list)."""
    if isinstance(nodes, SelectorList):
        if not nodes:
            return None
        nodes = nodes[0]
    return clean_line(" ".join(nodes.css("::text").getall()))
