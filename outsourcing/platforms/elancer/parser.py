"""Elancer's sitemap and project pages to items (../shared/docs/platforms.md, section 2.4 (b)).

- `https://www.elancer.co.kr/sitemap.xml`: a `<urlset>` (or a `<sitemapindex>` of child
  sitemaps) whose `/project_detail/<id>` URLs are the project pages, newest first.
- `/project_detail/<id>`: server-rendered HTML with a schema.org `JobPosting` in JSON-LD:
  title, description, datePosted, validThrough, jobLocation[].address{addressRegion,
  addressLocality, streetAddress}, qualifications, experienceRequirements.

Units and meanings: Elancer pays by the month; the rate is in the description ("월 단가 :
650 ~ 750만원") in 만원 and becomes whole won, `monthly`. A `baseSalary`, where the JSON-LD has
one, wins (schema.org amounts are whole currency units). Dates without an offset are Seoul time.
Where the work happens: 상주 (on site) -> remote false; 재택/원격/비상주 -> true; 반상주 (some days on
site) -> false, because the work cannot be done from anywhere; nothing said -> null.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import KST, parse_instant
from outsourcing.normalize.korean import days_of, work_place
from outsourcing.normalize.money import UNKNOWN, Budget, parse_krw
from outsourcing.normalize.schema_org import job_posting, monetary_amount, text_value
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.platforms.pages import Listing, PageNotRecognised, looks_like_challenge

PLATFORM = "elancer"
ORIGIN = "https://www.elancer.co.kr"
HOST = "www.elancer.co.kr"
SITEMAP_PATH = "/sitemap.xml"

_PROJECT_PATH = re.compile(r"^/project_detail/(\d+)/?$")
_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)
_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps protocol's own limit for one file


def project_url(project_id: str) -> str:
    return f"{ORIGIN}/project_detail/{project_id}"


def project_id_of(url: str) -> str | None:
    match = _PROJECT_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


# --- sitemaps ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectLink:
    project_id: str
    url: str
    lastmod: str | None = None


def parse_listing(response: Response, scraped_at: str | None = None) -> Listing:
    """A sitemap (its project pages, newest first, as entries) or a sitemap index (its child
    sitemaps, in `more`). Raises PageNotRecognised for HTML (a challenge page, an error page),
    broken XML, or XML that is neither a urlset nor a sitemapindex. A urlset without project pages
    is a genuine empty result."""
    body = response.body
    if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz served as a file, not as Content-Encoding
        try:
            body = gunzip(body, max_size=_MAX_SITEMAP_BYTES)
        except (OSError, EOFError, ValueError) as error:
            raise PageNotRecognised("invalid_gzip", str(error)[:200]) from None
    head = body[:20000].decode("utf-8", "replace")
    try:
        root = etree.fromstring(body, parser=_XML)
    except etree.XMLSyntaxError as error:
        raise PageNotRecognised(_not_sitemap_reason(head, "invalid_xml"), str(error)[:200]) from None
    name = etree.QName(root).localname if isinstance(root.tag, str) else ""
    if name == "sitemapindex":
        children = [_same_site(loc) for loc in _locs(root, "sitemap")]
        return Listing(more=_unique(url for url in children if url))
    if name != "urlset":
        raise PageNotRecognised(_not_sitemap_reason(head, "not_sitemap"), f"root element <{name}>")
    projects: list[ProjectLink] = []
    seen: set[str] = set()
    for entry in _children(root, "url"):
        loc = _child_text(entry, "loc")
        url = _same_site(loc) if loc else None
        project_id = project_id_of(url) if url else None
        if project_id is None or project_id in seen:
            continue  # the home page, lists, freelancer profiles: not postings
        seen.add(project_id)
        projects.append(ProjectLink(project_id, project_url(project_id), _child_text(entry, "lastmod")))
    return Listing(entries=newest_first(projects))


def newest_first(projects: list[ProjectLink]) -> list[ProjectLink]:
    """By lastmod, newest first, when every entry has one; otherwise the sitemap's own order
    (Elancer writes it newest first)."""
    instants = [parse_instant(project.lastmod, KST) for project in projects]
    if not projects or any(instant is None for instant in instants):
        return projects
    moments = [datetime.fromisoformat(instant) for instant in instants if instant]
    order = sorted(range(len(projects)), key=lambda index: moments[index], reverse=True)  # stable
    return [projects[index] for index in order]


def _not_sitemap_reason(head: str, default: str) -> str:
    if looks_like_challenge(head):
        return "challenge_page"
    return "html_not_sitemap" if re.search(r"<html|<!doctype html", head, re.I) else default


def _children(element: Any, name: str) -> Iterator[Any]:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            yield child


def _child_text(element: Any, name: str) -> str | None:
    for child in _children(element, name):
        text = (child.text or "").strip()
        return text or None
    return None


def _locs(root: Any, name: str) -> list[str]:
    return [loc for loc in (_child_text(entry, "loc") for entry in _children(root, name)) if loc]


def _same_site(url: str) -> str | None:
    """Only the platform's own pages are followed (never another host a sitemap names)."""
    parts = urlsplit(url.strip())
    if parts.netloc and parts.netloc.lower() != HOST:
        return None
    return f"{ORIGIN}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _unique(values: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- project pages -----------------------------------------------------------------------------

def parse_detail(response: Response, entry: ProjectLink | str | None, scraped_at: str) -> PostingItem:
    """The posting of one project page (`entry`: the sitemap's link, or the project id; without
    one, the id in the page's URL). Raises PageNotRecognised when the page has no JobPosting
    JSON-LD (a challenge page, a removed project's page, a redesign)."""
    project_id = entry.project_id if isinstance(entry, ProjectLink) else entry
    project_id = project_id or project_id_of(response.url)
    if project_id is None:
        raise PageNotRecognised("unexpected_structure", f"no project id in {response.url}")
    posting = find_job_posting(response)
    title = clean_line(posting.get("title"))
    description = _description_text(posting.get("description"))
    budget = base_salary(posting.get("baseSalary"))
    if not budget.known:
        budget = monthly_rate(description)
    posted_at = parse_instant(text_value(posting.get("datePosted")), KST)
    deadline_at = parse_instant(text_value(posting.get("validThrough")), KST)
    return new_posting(
        platform=PLATFORM,
        external_id=project_id,
        url=project_url(project_id),
        title=title,
        description=description,
        client=_client(posting.get("hiringOrganization")),
        category=_category(posting.get("occupationalCategory")),
        skills=_skills(posting),
        **budget.fields(),
        duration_days=duration_days(title, description),
        location=_location(posting.get("jobLocation")),
        remote=_remote(posting, title, description),
        posted_at=posted_at,
        deadline_at=deadline_at,
        proposals=None,
        status=_status(text_value(posting.get("validThrough")), deadline_at, scraped_at),
        scraped_at=scraped_at,
        raw=posting,
    )


def find_job_posting(response: Response) -> dict[str, Any]:
    """The page's JobPosting object (top level, in a list, or in an @graph)."""
    if not isinstance(response, TextResponse):
        raise PageNotRecognised("not_html", f"content type {response.headers.get('Content-Type')!r}")
    blocks = response.xpath('//script[contains(@type, "ld+json")]/text()').getall()
    if not blocks:
        reason = "challenge_page" if looks_like_challenge(response.text) else "no_jsonld"
        raise PageNotRecognised(reason, "no JSON-LD on the project page")
    node, parsed = job_posting(blocks)
    if node is not None:
        if not clean_line(node.get("title")):
            raise PageNotRecognised("unexpected_structure", "a JobPosting without a title")
        return node
    if not parsed:
        raise PageNotRecognised("invalid_jsonld", f"{len(blocks)} JSON-LD block(s), none valid JSON")
    raise PageNotRecognised("no_jobposting", f"{parsed} JSON-LD block(s), no JobPosting")


# --- money -------------------------------------------------------------------------------------

def base_salary(value: Any) -> Budget:
    """A schema.org MonetaryAmount (`outsourcing.normalize.schema_org.monetary_amount`).
    Elancer's rates are monthly, so no unitText means a month; a salary written as text is not
    Elancer's (its rate line is read from the description instead)."""
    if not isinstance(value, dict):
        return UNKNOWN
    return monetary_amount(value, default_type="monthly")


_RATE_LINE = re.compile(r"월\s*단가\s*[:：]?\s*(?P<rest>[^\n]*)")
_FIGURE = r"\d[\d,]*(?:\.\d+)?"
_UNIT = r"(?:만\s*원|만|원)"
# An amount or a range; a number followed by 년/개월/명/% is something else ("2026년 기준").
_RATE_AMOUNT = re.compile(
    rf"(?P<amount>{_FIGURE}\s*{_UNIT}?(?:\s*[~～〜\-–]\s*{_FIGURE}\s*{_UNIT}?)?)(?!\d)(?![,.]\d)"
    r"(?!\s*(?:년|개월|달|주|일|명|시간|%))"
)
_LOWER_ONLY = re.compile(r"최소|이상|초과|부터")
_UPPER_ONLY = re.compile(r"최대|이하|미만|까지")


def monthly_rate(text: str | None) -> Budget:
    """"월 단가 : 650 ~ 750만원" -> 6,500,000 to 7,500,000 KRW a month. Figures without a unit are
    만원 (Elancer's unit); "협의" or no figure is unknown; "500만원 이상" is an open upper bound."""
    if not text:
        return UNKNOWN
    line = _RATE_LINE.search(text)
    if not line:
        return UNKNOWN
    rest = line.group("rest")
    match = _RATE_AMOUNT.search(rest)
    if not match:
        return UNKNOWN
    amount = match.group("amount")
    if not re.search(_UNIT, amount):
        amount = re.sub(rf"({_FIGURE})", r"\1만원", amount)
    budget = parse_krw(amount, default_type="monthly")
    if not budget.known:
        return UNKNOWN
    budget = replace(budget, budget_type="monthly")
    around = rest[: match.start()] + " " + rest[match.end(): match.end() + 6]
    if budget.minimum == budget.maximum:
        if _LOWER_ONLY.search(around):
            budget = replace(budget, maximum=None)
        elif _UPPER_ONLY.search(around):
            budget = replace(budget, minimum=None)
    return budget


# --- time --------------------------------------------------------------------------------------

_PERIOD_WORD = re.compile(r"기간")
_NOT_WORK_PERIOD = re.compile(r"(?:모집|접수|지원|공고|마감|제안)\s*기간")
_DATE = r"(\d{4})\s*[.\-/년]\s*(\d{1,2})\s*[.\-/월]\s*(\d{1,2})\s*[.일]?"
_DATE_RANGE = re.compile(rf"{_DATE}\s*[~～〜\-–]\s*{_DATE}")
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(개월|달|주|일|년)")


def duration_days(title: str | None, description: str | None) -> int | None:
    """The expected length of the work: the description's "기간" line (a date range, or "6개월"),
    else a span in the title ("(6개월)"). Application windows (모집 기간) are not durations.
    A month counts 30 days, as in the shared relative-date rules."""
    for line in (description or "").split("\n"):
        word = _PERIOD_WORD.search(line)
        if word is None or _NOT_WORK_PERIOD.search(line):
            continue
        days = _days_in(line[word.end():])
        if days:
            return days
    title_span = _SPAN.search(title or "")
    if title_span and title_span.group(2) != "일":  # "3일" in a title is rarely the work's length
        return days_of(title_span)
    return None


def _days_in(text: str) -> int | None:
    found = _DATE_RANGE.search(text)
    if found:
        numbers = [int(value) for value in found.groups()]
        try:
            start, end = date(*numbers[:3]), date(*numbers[3:])
        except ValueError:
            return None
        days = (end - start).days
        return days if days > 0 else None
    span = _SPAN.search(text)
    return days_of(span) if span else None


def _status(valid_through: str | None, deadline_at: str | None, scraped_at: str) -> str | None:
    """Open until validThrough; a date without a time is open through that whole Seoul day."""
    if deadline_at is None or valid_through is None:
        return None
    now = datetime.fromisoformat(scraped_at)
    if not re.search(r"\d{1,2}:\d{2}", valid_through):
        closed = now.astimezone(KST).date() > datetime.fromisoformat(deadline_at).astimezone(KST).date()
    else:
        closed = now > datetime.fromisoformat(deadline_at)
    return "closed" if closed else "open"


# --- place -------------------------------------------------------------------------------------

_TAGGED = re.compile(r"[\[(（【]([^\])）】]{1,20})[\])）】]")
_LABELLED = re.compile(r"(?:근무|업무|투입)\s*(?:형태|방식|조건|장소|환경)\s*[:：]?\s*(?P<value>[^\n]*)")


#: Where the work happens, from one label or tag (shared with the other Korean platforms).
work_arrangement = work_place


def _remote(posting: dict[str, Any], title: str | None, description: str | None) -> bool | None:
    kinds = posting.get("jobLocationType")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if any(str(kind).upper() == "TELECOMMUTE" for kind in kinds if kind):
        return True
    # Only labelled values and bracketed title tags: a project *about* 재택근무 (a remote-work
    # tool) must not read as remote work.
    for match in _LABELLED.finditer(description or ""):
        verdict = work_arrangement(match.group("value"))
        if verdict is not None:
            return verdict
    for match in _TAGGED.finditer(title or ""):
        verdict = work_arrangement(match.group(1))
        if verdict is not None:
            return verdict
    return None


def _location(value: Any) -> str | None:
    places = value if isinstance(value, list) else [value]
    for place in places:
        if not isinstance(place, dict):
            continue
        address = place.get("address")
        if isinstance(address, str):
            text = clean_line(address)
        elif isinstance(address, dict):
            parts = [clean_line(text_value(address.get(key))) for key in ("addressRegion", "addressLocality", "streetAddress")]
            text = " ".join(_unique(part for part in parts if part)) or None
        else:
            text = clean_line(place.get("name"))
        if text:
            return text
    return None


# --- text --------------------------------------------------------------------------------------

# Commas, lines and spaced slashes separate names; "CI/CD" and chips like "Java · 경력 무관"
# (clean_skills keeps "Java") stay whole.
_SKILL_SPLIT = re.compile(r"\s*(?:,|\n|\s/\s)\s*")


def _skills(posting: dict[str, Any]) -> list[str]:
    """`skills` where given; else `qualifications` when it is a list of names ("Java, Spring,
    Oracle"), not prose ("경력 5년 이상의 ... 분")."""
    skills = _name_list(posting.get("skills"))
    if skills:
        return skills
    return _name_list(posting.get("qualifications"))


def _name_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else _SKILL_SPLIT.split(html_to_text(str(value)) or "")
    names = [name for name in (clean_line(item) for item in items if isinstance(item, (str, int, float))) if name]
    if not names or any(len(name) > 30 or name.count(" ") > 3 for name in names):
        return []
    return clean_skills(names)


def _description_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if "<" not in text and "&lt;" in text:  # HTML escaped once more inside the JSON-LD
        text = html.unescape(text)
    return html_to_text(text)


def _client(value: Any) -> str | None:
    name = clean_line(text_value(value))
    # Elancer names itself as the hiring organisation on agency postings: not the client.
    if not name or re.search(r"이랜서|elancer", name, re.I):
        return None
    return name


def _category(value: Any) -> str | None:
    return clean_line(text_value(value))


def entry_id(entry: ProjectLink) -> str:
    return entry.project_id
