"""Wishket's list fragment and detail pages to items.

List: `GET /project/?d=<d>` with `X-Requested-With: XMLHttpRequest` answers JSON
`{"result": "<html of div.project-info-box cards>", "count": <total>}`, where `d` is
`encodeURIComponent(LZString.compressToBase64("k=v&k=v"))` of the filter (page included).
Detail: `/project/<id>/`, server-rendered, with a schema.org JobPosting JSON-LD block and label/value
condition rows (`div.project-detail-condition-row`).

Extraction and normalisation are separate steps. `extract_card` / `extract_detail` read the site's
texts keyed like the site's own labels (the same shape as the extractions in shared/captures), and
`build_item` turns a card plus an optional detail into the contract's item. So the captures' real
values go through exactly the functions a crawl uses.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import lzstring
from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import KST, parse_instant, resolve_relative
from outsourcing.normalize.money import UNKNOWN, Budget, budget_from_amounts, number, parse_krw
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text, scrub_pii, scrub_pii_deep
from outsourcing.platforms.pages import PageNotRecognised, load_json, looks_like_challenge, refuse_error_status

PLATFORM = "wishket"
ORIGIN = "https://www.wishket.com"
LIST_PATH = "/project/"

#: Work-type marks a card or detail page shows: 외주 (contracted work), 기간제 (fixed-term staffing).
WORK_TYPES: tuple[str, ...] = ("외주", "기간제")
PRIVATE_MARK = "프라이빗 매칭"
#: Fields the detail page supplies (it wins over the card there). An item built from the card
#: alone leaves them unread (items.unread): storage keeps what a detail read stored. The card's
#: status marks are as good as the page's, so `status` is not among them.
DETAIL_FIELDS: tuple[str, ...] = (
    "title", "description", "client", "category", "skills", "budget_min", "budget_max", "currency",
    "budget_type", "duration_days", "location", "remote", "posted_at", "deadline_at", "proposals",
)

_LZ = lzstring.LZString()


# --- the list filter (`d`) ----------------------------------------------------------------------


def filter_query(filters: Mapping[str, str], page: int) -> str:
    """The site's "k=v&k=v" filter string; `page` is a key inside it (1-based)."""
    pairs = [(key, value) for key, value in filters.items() if value not in (None, "") and key != "page"]
    pairs.append(("page", str(page)))
    return "&".join(f"{key}={value}" for key, value in pairs)


def encode_filter(query: str) -> str:
    """`encodeURIComponent(LZString.compressToBase64(query))`. `safe=""` because
    encodeURIComponent also escapes '/' and '=' (Python's quote keeps '/' by default)."""
    return quote(_LZ.compressToBase64(query), safe="")


def decode_filter(d: str) -> dict[str, str]:
    """The filter pairs inside a `d` value (escaped or not)."""
    query = _LZ.decompressFromBase64(unquote(d)) or ""
    return dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)


def listing_path(filters: Mapping[str, str], page: int) -> str:
    return f"{LIST_PATH}?d={encode_filter(filter_query(filters, page))}"


# --- the list fragment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingPage:
    cards: list[dict[str, Any]]
    count: int
    ads_skipped: int = 0


def parse_listing(response: TextResponse, page: int = 1) -> ListingPage:
    """The organic cards of one list answer. Raises PageNotRecognised for HTML where the JSON
    was due, a challenge page, an envelope without `result`/`count`, or a first page whose
    `result` holds no card container while `count` says there are projects."""
    refuse_error_status(response)
    result, count = load_listing(response.text)
    boxes = Selector(text=result).css("div.project-info-box") if result.strip() else SelectorList([])
    if not boxes:
        # A later page without cards is where the list runs out; on page 1 with a non-zero
        # count it means the fragment's layout is not the one we know.
        if count and page == 1:
            reason = "challenge_page" if looks_like_challenge(result) else "login_wall" if "로그인" in result else "no_cards"
            raise PageNotRecognised(reason, f"count={count} but no div.project-info-box in result")
        return ListingPage([], count)
    cards: list[dict[str, Any]] = []
    ads = 0
    for box in boxes:
        if not box.css("section.project-organic-info"):
            ads += 1  # promoted blocks share the container but are not projects
            continue
        card = extract_card(box)
        if not card["id"] or not card["title"]:
            raise PageNotRecognised("card_without_link", "a project card without a.project-link to /project/<id>/")
        cards.append(card)
    return ListingPage(cards, count, ads)


def load_listing(text: str) -> tuple[str, int]:
    data = load_json(text, expect=dict, what="the list endpoint's JSON")
    if not isinstance(data.get("result"), str):
        raise PageNotRecognised("unexpected_structure", f"no 'result' fragment in the JSON ({sorted(data)[:10]})")
    count = number(data.get("count"))
    if not isinstance(count, int):
        raise PageNotRecognised("unexpected_structure", f"'count' is {data.get('count')!r}")
    return data["result"], count


def has_next_page(page: ListingPage, seen: int, new_on_page: int) -> bool:
    """Whether to read the next list page: not when this one had no cards or only cards seen
    before (the site repeating its last page), nor when `count` projects have been seen."""
    if not page.cards or new_on_page == 0:
        return False
    return seen < page.count


def extract_card(box: Selector) -> dict[str, Any]:
    """The texts of one `div.project-info-box` card, keyed like the captures' `listCard`."""
    link = box.css("a.project-link")
    href = link.attrib.get("href", "") if link else ""
    match = re.search(r"/project/(\d+)", href)
    details = [_text(p) for p in box.css("section.proposal-and-client-info p.info-detail")]
    marks = [_own_text(mark) for mark in box.css("section.project-organic-info > div.project-status-label div.status-mark")]
    badge_spans = box.css("div.client-info .badge-box span")
    return {
        "id": match.group(1) if match else None,
        "path": href or None,
        "title": _text(link.css("p")) or _text(link),
        "statusMarks": [mark for mark in marks if mark],
        "private": bool(box.css("div.status-mark.private-mark")),
        "budgetText": _text(box.css("p.budget")),
        "termText": _text(box.css("p.term")),
        "startText": _text(box.css("p.launch-date")),
        "roleOrCategory": _text(box.css("p.project-category-or-role")),
        "level": _text(box.css("p.project-level")),
        "typeMark": _text(box.css("div.status-mark.project-type-mark")),
        "skills": [text for text in (_text(chip) for chip in box.css("div.project-skills-info span.skill-chip")) if text],
        "location": _text(box.css("p.location-data")),
        "registeredText": _text(box.css("p.start-recruitment-data")),
        "deadlineText": next((t for t in details if t and t.startswith("마감")), None),
        "applicantText": next((t for t in details if t and t.startswith("지원자")), None),
        "views": _count(box.css("i.view-status")),
        "comments": _count(box.css("i.comment-status")),
        "likes": _count(box.css("i.interest-status")),
        "clientName": _text(box.css("div.client-info p.username")),
        "clientRating": _text(badge_spans[-1]) if badge_spans else None,
        "clientBadges": box.css("div.client-info .badge-box img::attr(alt)").getall(),
    }


# --- the detail page ------------------------------------------------------------------------------

# (row, label, value) selectors of the label/value rows a detail page shows; rows without the
# label/value classes fall back to their first two child elements.
_CONDITION_ROWS: tuple[tuple[str, str, str], ...] = (
    ("div.project-condition-box", ".condition-box-name", ".project-condition-data"),
    ("div.project-detail-condition-row", ".condition-label", ".condition-data"),
    ("div.target-condition-row", ".condition-row-title", ".condition-row-data"),
    ("div.meeting-condition-row", ".meeting-condition-title", ".meeting-condition-data"),
)
_LOGIN_WALL = re.compile(r"로그인하고|로그인 후 (?:확인|열람)|name=[\"']password[\"']")


def parse_detail(response: TextResponse, card: Mapping[str, Any], scraped_at: str,
                 listed_at: str | None = None) -> PostingItem:
    """The item of a card completed with its detail page. Raises PageNotRecognised (the
    spider then keeps the card's item) for a page without JSON-LD and condition rows."""
    return build_item(card, extract_detail(response.text), scraped_at, listed_at=listed_at)


def extract_detail(text: str) -> dict[str, Any]:
    """The texts of a detail page, keyed like the captures' `detail` extractions, plus the
    JobPosting JSON-LD under `jsonld`."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        raise PageNotRecognised("not_html", f"expected the detail page's HTML, got {stripped[:80]!r}")
    page = Selector(text=text)
    jsonld = job_posting(page)
    fields, notes = condition_fields(page)
    if not jsonld and not fields:
        if looks_like_challenge(text):
            reason, why = "challenge_page", "a challenge page instead of the project"
        elif _LOGIN_WALL.search(text):
            reason, why = "login_wall", "the project is shown only after logging in"
        else:
            reason, why = "detail_not_recognised", "no JobPosting JSON-LD and no condition rows"
        raise PageNotRecognised(reason, why)
    title_box = page.css(".project-content-title")
    target = page.css(".project-target-info")
    client = page.css(".client-section-wrap")
    description = page.css(".project-description-box")
    return {
        "title": _text(title_box.css("h1")),
        "statusMarks": [m for m in (_own_text(mark) for mark in page.css(".project-content-title .status-mark, .status-guide .status-mark")) if m],
        "registeredText": _text(title_box.css(".project-recruit-guide")),
        "categoryGroups": [
            group for group in (
                [label for label in (_text(w) for w in category.css(".category-wrapper")) if label]
                for category in page.css(".project-classification .project-category")
            ) if group
        ],
        "fields": fields,
        "fieldNotes": notes,
        "target": {
            "role": _text(target.css(".project-target-role")),
            "level": _text(target.css(".project-target-detail-row-info.level")),
            "experience": _text(target.css(".project-target-detail-row-info.experience")),
            "budget": _text(target.css(".project-target-detail-row-info.budget")),
        } if target else None,
        "skills": detail_skills(page),
        "description": html_to_text(description[0].get()) if description else None,
        "client": {"name": _text(client.css(".client-name, [class*=username]"))} if client else None,
        "commentCount": _text(page.css(".comment-layer-count")),
        "locked": bool(_LOGIN_WALL.search(text)),
        "jsonld": jsonld,
    }


def job_posting(page: Selector) -> dict[str, Any] | None:
    """The schema.org JobPosting among the page's JSON-LD blocks (object, list or @graph)."""
    for script in page.css('script[type="application/ld+json"]::text').getall():
        data = _json_or_none(script)
        candidates = data if isinstance(data, list) else (data.get("@graph") or [data]) if isinstance(data, dict) else []
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("@type") in ("JobPosting", ["JobPosting"]):
                return candidate
    return None


def _json_or_none(text: str) -> Any:
    # Literal newlines inside JSON-LD strings are common (strict=False); some pages escape
    # the block's quotes as HTML entities.
    for candidate in (text, html.unescape(text)):
        try:
            return json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
    return None


def condition_fields(page: Selector) -> tuple[dict[str, str], dict[str, str]]:
    """label -> value of every condition row, and label -> accent note ("마감 6일 5시간 전")."""
    fields: dict[str, str] = {}
    notes: dict[str, str] = {}
    for row_css, label_css, value_css in _CONDITION_ROWS:
        for row in page.css(row_css):
            children = row.xpath("./*")
            label = row.css(label_css) or children[0:1]
            value = row.css(value_css) or children[1:2]
            key = _text(label)
            if not key or not value:
                continue
            accents = [_text(a) for a in value.css(".condition-accent")]
            text = _spaced_text(value[0], exclude="condition-accent")
            if text is None:
                continue
            key = f"{key} (2)" if key in fields else key
            fields[key] = text
            if any(accents):
                notes[key] = " ".join(a for a in accents if a)
    return fields, notes


def detail_skills(page: Selector) -> list[dict[str, str | None]]:
    """Skill tags of a detail page as {name, detail} ("Java · 경력 무관" -> Java, 경력 무관)."""
    skills: list[dict[str, str | None]] = []
    for tag in page.css("span.skill-tag, .project-content-layer .skill-stack, .project-content-layer .skill-chip"):
        for part in (_text(tag) or "").split(","):
            part = part.strip()
            match = re.match(r"^(.*?)\s*(?:·\s*)?(경력 무관|\d+\s*년.*)$", part)
            name, detail = (match.group(1).strip(), match.group(2)) if match else (part, None)
            if name:
                skills.append({"name": name, "detail": detail})
    return skills


# --- from the site's texts to the contract ------------------------------------------------------


def item_from_card(card: Mapping[str, Any], scraped_at: str) -> PostingItem:
    """The item a card alone gives (detail page not read, locked or not recognised)."""
    return build_item(card, None, scraped_at)


def build_item(card: Mapping[str, Any], detail: Mapping[str, Any] | None, scraped_at: str,
               listed_at: str | None = None) -> PostingItem:
    """One posting from a card and, when read, its detail page: the detail wins where it says
    something, the card fills the rest. Relative times on the card are resolved against
    `listed_at` (when the list was received; default `scraped_at`)."""
    detail = detail or {}
    fields: Mapping[str, str] = detail.get("fields") or {}
    notes: Mapping[str, str] = detail.get("fieldNotes") or {}
    jsonld: Mapping[str, Any] = detail.get("jsonld") or {}
    target: Mapping[str, Any] = detail.get("target") or {}
    marks = [*(card.get("statusMarks") or []), *(detail.get("statusMarks") or [])]
    work_type = work_type_of(card.get("typeMark"), marks)
    private = bool(card.get("private")) or any(PRIVATE_MARK in mark for mark in marks)
    external_id = str(card["id"])
    detail_client = (detail.get("client") or {}).get("name")
    return new_posting(
        platform=PLATFORM,
        external_id=external_id,
        url=f"{ORIGIN}/project/{external_id}/",
        title=clean_line(jsonld.get("title")) or clean_line(detail.get("title")) or clean_line(card.get("title")),
        description=description_of(jsonld.get("description"), detail.get("description")),
        client=_scrubbed(clean_line(detail_client) or clean_line(card.get("clientName"))),
        category=category_from_groups(detail.get("categoryGroups")) or category_from_card(card.get("roleOrCategory"), work_type),
        skills=clean_skills([*(s.get("name") for s in detail.get("skills") or []), *(card.get("skills") or [])]),
        **resolve_budget(
            [fields.get("예상 금액"), fields.get("월 금액"), target.get("budget")],
            jsonld.get("baseSalary"),
            card.get("budgetText"),
            work_type,
        ).fields(),
        duration_days=duration_days(fields.get("예상 기간")) or duration_days(card.get("termText")),
        location=clean_line(fields.get("근무 위치")) or clean_line(fields.get("클라이언트 위치")) or clean_line(card.get("location")),
        remote=remote_from_labels([*marks, card.get("typeMark"), fields.get("근무 형태"), fields.get("근무 방식")]),
        posted_at=_first(
            parse_instant(jsonld.get("datePosted"), KST),
            posted_from_text(detail.get("registeredText")),
            posted_from_text(card.get("registeredText")),
        ),
        deadline_at=_first(
            parse_instant(jsonld.get("validThrough"), KST),
            parse_instant(fields.get("모집 마감일"), KST),
            resolve_relative(notes.get("모집 마감일"), scraped_at, KST),
            resolve_relative(card.get("deadlineText"), listed_at or scraped_at, KST),
        ),
        proposals=_first(proposals_from_text(fields.get("지원자 수")), proposals_from_text(card.get("applicantText"))),
        status=status_from_marks(marks),
        scraped_at=scraped_at,
        raw=scrub_pii_deep({"card": dict(card), "detail": dict(detail) if detail else None, "private": private}),
    )


def work_type_of(type_mark: str | None, marks: Iterable[str]) -> str | None:
    for text in (type_mark, *marks):
        for work_type in WORK_TYPES:
            if text and work_type in text:
                return work_type
    return None


def resolve_budget(detail_texts: Iterable[str | None], salary: Any, card_text: str | None,
                   work_type: str | None) -> Budget:
    """The first source that states the budget: the detail's amount rows (their '/월' says what
    the amount pays for), the JSON-LD baseSalary, then the card. An explicit "협의" ends the
    search: the amount is to be agreed."""
    sources = [*((text, False) for text in detail_texts), (salary, True), (card_text, False)]
    for source, is_salary in sources:
        if source in (None, ""):
            continue
        budget = budget_from_salary(source, work_type) if is_salary else budget_from_text(source, work_type)
        if budget.known:
            return budget
        if isinstance(source, str) and re.search(r"협의|미정", source):
            return UNKNOWN
    return UNKNOWN


def budget_from_text(text: str | None, work_type: str | None = None) -> Budget:
    """"예상 금액 350,000원" (fixed), "월 금액 7,000,000원 /월" (monthly), "협의 후 결정" (unknown).
    A bare amount is monthly on 기간제 (staffing pays by the month), fixed otherwise."""
    source = clean_line(text)
    if not source:
        return UNKNOWN
    return parse_krw(source, default_type="monthly" if work_type == "기간제" else "fixed")


_SALARY_UNITS = {"HOUR": "hourly", "DAY": None, "WEEK": None, "MONTH": "monthly", "YEAR": "yearly"}


def budget_from_salary(salary: Any, work_type: str | None = None) -> Budget:
    """JSON-LD baseSalary: a string ("2,000만원 (부가세 별도)") or a MonetaryAmount
    {currency, value: number | QuantitativeValue{value | minValue/maxValue, unitText}}."""
    if isinstance(salary, str):
        return budget_from_text(salary, work_type)
    if not isinstance(salary, dict):
        return UNKNOWN
    value = salary.get("value")
    unit = None
    if isinstance(value, dict):
        unit = str(value.get("unitText") or "").upper() or None
        low, high = value.get("minValue", value.get("value")), value.get("maxValue", value.get("value"))
    else:
        low = high = value
    currency = clean_line(salary.get("currency")) or "KRW"
    default = "monthly" if work_type == "기간제" else "fixed"
    budget_type = _SALARY_UNITS.get(unit, default) if unit else default
    if isinstance(low, str) or isinstance(high, str):
        return budget_from_text(f"{low}원" if low == high else f"{low}~{high}원", work_type)
    return budget_from_amounts(low, high, currency, budget_type)


_DURATION_UNITS = {"일": 1, "주": 7, "개월": 30, "달": 30, "년": 365}


def duration_days(text: str | None) -> int | None:
    """"예상 기간300일" / "120일" -> days; weeks, months (30 days) and years are converted."""
    match = re.search(r"(\d[\d,]*)\s*(개월|일|주|달|년)", text or "")
    if not match:
        return None
    days = int(match.group(1).replace(",", "")) * _DURATION_UNITS[match.group(2)]
    return days or None


def proposals_from_text(text: str | None) -> int | None:
    """"지원자 7명" -> 7, "지원자 없음" -> 0, "비공개" (private matching) -> unknown."""
    source = clean_line(text)
    if not source or "비공개" in source:
        return None
    if "없음" in source:
        return 0
    match = re.search(r"(\d[\d,]*)", source)
    return int(match.group(1).replace(",", "")) if match else None


def posted_from_text(text: str | None) -> str | None:
    """"· 등록일자 2026.08.05." / "등록 일자 2026.10.02." -> 00:00 KST that day, in UTC."""
    return parse_instant(text, KST) if text else None


def listed_posted_until(card: Mapping[str, Any]) -> str | None:
    """The latest instant a card's registration date can stand for, for comparing a list page
    with an incremental run's watermark. Cards give the day only ("등록일자 2026.09.28." is
    00:00 KST), while stored postings carry the detail page's time (10:12 KST): a card of the
    watermark's own day may be newer than it, so the card counts as the end of its day."""
    start = posted_from_text(card.get("registeredText"))
    if start is None:
        return None
    day = datetime.fromisoformat(start).astimezone(KST).date() + timedelta(days=1)
    return (datetime(day.year, day.month, day.day, tzinfo=KST) - timedelta(microseconds=1)).astimezone(UTC).isoformat()


def status_from_marks(marks: Iterable[str]) -> str | None:
    texts = [mark for mark in marks if mark]
    if any(re.search(r"모집\s*중", mark) for mark in texts):
        return "open"
    if any(re.search(r"마감|완료|종료|진행\s*중", mark) for mark in texts):
        return "closed"
    return None


def remote_from_labels(labels: Iterable[str | None]) -> bool | None:
    """재택/원격/비상주 -> True, 상주 (반상주 included) -> False; neither or both -> None. 외주 and
    기간제 say how the work is contracted, not where it happens."""
    text = " ".join(label for label in labels if label)
    remote = bool(re.search(r"재택|원격|리모트|비\s*상주", text))
    on_site = bool(re.search(r"(?<!비)(?<!비 )상주", text))
    if remote != on_site:
        return remote
    return None


def category_from_groups(groups: Any) -> str | None:
    """The detail page's classification rows, most general first: [["개발"], ["웹"], ...] ->
    "개발 > 웹". Only the first two rows are the category hierarchy (the third lists fields)."""
    levels: list[str] = []
    for group in (groups or [])[:2]:
        labels = [label for label in (clean_line(str(value).rstrip(", ")) for value in group) if label]
        if labels:
            levels.append(", ".join(labels))
    return " > ".join(levels) or None


def category_from_card(text: str | None, work_type: str | None) -> str | None:
    """The card's category slot: categories on 외주 ("개발 · 디자인" -> "개발, 디자인"); on 기간제
    it holds the role sought ("데이터 엔지니어"), which is not a category (kept in raw)."""
    if work_type == "기간제" or not text:
        return None
    labels = [label for label in (clean_line(part) for part in text.split("·")) if label]
    return ", ".join(labels) or None


# Private-matching and locked projects show a notice where the description would be.
_PLACEHOLDER = re.compile(r"파트너에게\s*(?:만\s*)?공개되는|프라이빗 매칭 프로젝트입니다|로그인하고|로그인 후")


def description_of(*candidates: Any) -> str | None:
    for candidate in candidates:
        text = html_to_text(candidate)
        if text and not (_PLACEHOLDER.search(text) and len(text) < 300):
            return scrub_pii(text)
    return None


# --- small helpers ------------------------------------------------------------------------------


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _scrubbed(text: str | None) -> str | None:
    if text is None:
        return None
    return clean_line(scrub_pii(text))


def _text(node: Selector | SelectorList | None) -> str | None:
    """Text content (like the DOM's textContent), whitespace collapsed; None when empty."""
    if node is None or (isinstance(node, SelectorList) and not node):
        return None
    first = node[0] if isinstance(node, SelectorList) else node
    return clean_line("".join(first.xpath(".//text()").getall()))


def _own_text(node: Selector) -> str | None:
    """The element's own text, without its children's (a mark's tooltip stays out)."""
    return clean_line("".join(node.xpath("./text()").getall())) or _text(node)


def _spaced_text(node: Selector, exclude: str) -> str | None:
    """Text nodes joined by spaces (values in separate tags must not run together), leaving
    out the elements whose class contains `exclude`."""
    parts = node.xpath(f".//text()[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' {exclude} ')])]").getall()
    return clean_line(" ".join(parts))


def _count(node: SelectorList) -> int | None:
    value = node.attrib.get("data-count") if node else None
    parsed = number(value)
    return int(parsed) if isinstance(parsed, (int, float)) else None

