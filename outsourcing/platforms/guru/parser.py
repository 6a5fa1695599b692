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
  description `.jobRecord__desc`;
- chips `.skillsList__skill`: on today's cards the list also holds the job's category and
  subcategory, chips that link to `/d/jobs/c/<category>/` and `/d/jobs/c/<category>/sc/<sub>/`;
  skills are the other chips (linking to `/d/jobs/skill/<skill>/`). The category is the two
  labels, most general first ("Programming & Development > Programming & Software"); an older
  card's lone category link (`a[href*="/d/jobs/c/"]` outside the list) gives the first level.

Budgets: "Fixed Price | $500-$1k", "Hourly", "Under $250"; a card that offers "Fixed Price or
Hourly" states no pay basis (type null, amounts kept).

Times: Guru prints dates without a zone; they are read in America/New_York (Guru is run from
Pittsburgh, PA), and relative ones ("27 mins ago") are resolved against the response's time and
rounded to 00:00 of that New York day, so two runs on one day agree.

A 200 page without a single card is a changed layout (or a block page), never "no postings".
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from parsel import Selector
from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import parse_instant, resolve_relative
from outsourcing.normalize.money import parse_money
from outsourcing.normalize.text import clean_skills, html_to_text
from outsourcing.normalize.urls import canonical_url
from outsourcing.platforms.pages import Listing, PageNotRecognised, looks_like_challenge, node_text, read_records

PLATFORM = "guru"
ORIGIN = "https://www.guru.com"
GURU_TZ = ZoneInfo("America/New_York")

_ID_IN_URL = re.compile(r"/jobs/[^/]+/(\d+)")
_PAGE_IN_URL = re.compile(r"/pg/(\d+)/?")
_POSTED = re.compile(r"Posted\s+.+?(?=\s*(?:[|·•]|\b\d[\d,]*\s+Quotes?\b|\bNo\s+Quotes?\b)|$)", re.I)
_QUOTES = re.compile(r"\b(\d[\d,]*)\s+Quotes?\s+Received", re.I)
_NO_QUOTES = re.compile(r"\bNo\s+Quotes?\s+Received", re.I)


_CATEGORY_LINK = re.compile(r"/d/jobs/c/[^/?#]+/?(?:$|[?#])")
_SUBCATEGORY_LINK = re.compile(r"/d/jobs/c/[^/?#]+/sc/[^/?#]+")


def parse_listing(response: TextResponse, scraped_at: str) -> Listing:
    """Every card of one listing page, and the link to the next. Raises PageNotRecognised for a
    page without cards."""
    cards = response.css(".jobRecord")
    if not cards:
        if looks_like_challenge(response.text):
            raise PageNotRecognised("challenge_page", "a challenge or captcha page instead of the job listing")
        raise PageNotRecognised("no_job_cards", "no .jobRecord cards on the page (layout changed?)")
    items, unreadable = read_records(PLATFORM, cards, lambda card: parse_card(card, scraped_at),
                                     id_of=lambda card: card.attrib.get("data-gid"), raw_of=lambda card: card.get())
    return Listing(items=items, unreadable=unreadable, next_url=next_page_url(response))


def parse_card(card: Selector, scraped_at: str) -> PostingItem:
    link = card.css(".jobRecord__title a[href]")
    if not link:
        raise PageNotRecognised("unexpected_structure", "a .jobRecord card without its title link (.jobRecord__title a[href])")
    href = link[0].attrib["href"]
    url = detail_url(href)
    gid = (card.attrib.get("data-gid") or "").strip() or posting_id(url)
    meta = node_text(card.css(".jobRecord__meta")) or ""
    posted = _POSTED.search(meta)
    budget_text = node_text(card.css(".jobRecord__budget"))
    deadline_text = node_text(card.css(".record__header__action--full .copy"))
    budget = parse_money(budget_text)
    description = html_to_text(card.css(".jobRecord__desc").get())
    category, skills = chips(card)
    raw = {
        "data_gid": card.attrib.get("data-gid"),
        "href": href,
        "budget": budget_text,
        "meta": meta,
        "deadline": deadline_text,
        "rating": node_text(card.css(".feedback-score")),
        # The card itself, so a parser fix can be replayed on stored rows.
        "html": card.get(),
    }
    return new_posting(
        platform=PLATFORM,
        external_id=gid,
        url=url,
        title=node_text(link),
        description=description,
        client=node_text(card.css(".identityName")),
        category=category,
        skills=skills,
        **budget.fields(),
        duration_days=None,
        location=node_text(card.css(".freelancerAvatar__subText strong")),
        remote=None,  # a card does not say where the work is done
        posted_at=guru_time(posted.group(0), scraped_at) if posted else None,
        deadline_at=guru_time(deadline_text, scraped_at),
        proposals=proposals(meta),
        status="open",  # the listing shows jobs that take quotes
        scraped_at=scraped_at,
        raw=raw,
    )


def chips(card: Selector) -> tuple[str | None, list[str]]:
    """The card's category ("Category > Subcategory") and skills from its chips: a chip linking
    to /d/jobs/c/<cat>/ is the category, one linking to .../sc/<sub>/ the subcategory, every
    other chip a skill."""
    category: str | None = None
    subcategory: str | None = None
    skills: list[str | None] = []
    for chip in card.css(".skillsList__skill, .skillsList__skill--hasHover"):
        link = chip if chip.root.tag == "a" else chip.css("a[href]")
        href = (link.attrib.get("href") or "") if link else ""
        path = urlsplit(href).path
        label = node_text(chip)
        if _SUBCATEGORY_LINK.search(path):
            subcategory = subcategory or label
        elif _CATEGORY_LINK.search(path):
            category = category or label
        else:
            skills.append(label)
    if category is None:
        # An older card: one category link outside the chips.
        outside = [link for link in card.css('a[href*="/d/jobs/c/"]') if "skillsList__skill" not in (link.attrib.get("class") or "")]
        category = node_text(outside[0]) if outside else None
    levels = [level for level in (category, subcategory) if level]
    return (" > ".join(levels) or None), clean_skills(skills)


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
