"""We Work Remotely RSS feeds to items.

Each `<item>`: `title` "Company: Job title", `region`, `category`, optional `type` and
`expires_at`, `description` (escaped HTML), `pubDate` (RFC 822), `guid` = `link`. The external
id is the last path segment of the link.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from scrapy.http import Response

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import parse_instant
from outsourcing.normalize.text import clean_line, html_to_text
from outsourcing.normalize.urls import canonical_url, last_path_segment
from outsourcing.platforms.pages import Listing, PageNotRecognised, looks_like_challenge, read_records

PLATFORM = "weworkremotely"
ORIGIN = "https://weworkremotely.com"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)


def parse_listing(response: Response, scraped_at: str) -> Listing:
    """Every posting of one RSS feed. Raises PageNotRecognised unless the body is an RSS
    document with a channel (an empty channel is a genuine empty feed)."""
    body = response.body
    head = body[:20000].decode("utf-8", "replace")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as error:
        raise PageNotRecognised(_not_rss_reason(head, "invalid_xml"), str(error)[:200]) from None
    if root.tag != "rss" or root.find("channel") is None:
        raise PageNotRecognised(_not_rss_reason(head, "not_rss"), f"root element <{root.tag}>")
    entries = []
    for element in root.find("channel").iterfind("item"):
        entry = _fields(element)
        if not entry.get("link") or not entry.get("title"):
            raise PageNotRecognised("unexpected_structure", "an <item> without <link> or <title>")
        entries.append(entry)
    items, unreadable = read_records(PLATFORM, entries, lambda entry: parse_entry(entry, scraped_at),
                                     id_of=lambda entry: last_path_segment(canonical_url(entry["link"], ORIGIN)))
    return Listing(items=items, unreadable=unreadable)


def _not_rss_reason(head: str, default: str) -> str:
    if looks_like_challenge(head):
        return "challenge_page"
    return "html_not_rss" if "<html" in head.lower() else default


def _fields(element: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "content" and child.get("url"):
            fields["media_content"] = child.get("url")
        else:
            fields[name] = (child.text or "").strip()
    return fields


def split_title(title: str) -> tuple[str | None, str]:
    """"Company: Job title" to (company, title); a title without the prefix keeps it whole."""
    company, sep, rest = title.partition(": ")
    if sep and company.strip() and rest.strip():
        return company.strip(), rest.strip()
    return None, title


def parse_entry(entry: dict[str, Any], scraped_at: str) -> PostingItem:
    company, title = split_title(clean_line(entry.get("title")) or "")
    url = canonical_url(entry["link"], ORIGIN)
    return new_posting(
        platform=PLATFORM,
        external_id=last_path_segment(url),
        url=url,
        title=title,
        description=html_to_text(entry.get("description")),
        client=company,
        category=clean_line(entry.get("category")),
        skills=[],
        location=clean_line(entry.get("region")),
        remote=True,  # a remote-only job board
        posted_at=parse_instant(entry.get("pubDate")),
        deadline_at=parse_instant(entry.get("expires_at")),
        status="open",  # the feeds list live postings
        scraped_at=scraped_at,
        raw=entry,
    )
