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

A card's classification block (`div.project-classification-info`) holds, on 외주 cards, the
categories (`p.project-category-or-role`, "개발 · 디자인 · 기획") and the fields of the work
(`p.project-field`, "웹"; a `p.project-field-subcategory` below them): the category is "개발 > 웹",
several labels on one level joined by ", ". On 기간제 cards the first slot holds the role sought
("데이터 엔지니어") and the second the level (`p.project-level`): no category there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import lzstring
from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting, unread
from outsourcing.normalize.dates import KST, parse_instant, resolve_relative
from outsourcing.normalize.korean import applicants, span_days, work_place_of_labels
from outsourcing.normalize.money import UNKNOWN, Budget, number, parse_krw
from outsourcing.normalize.schema_org import job_posting as find_job_posting
from outsourcing.normalize.schema_org import monetary_amount
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.platforms.pages import (
    Listing,
    PageNotRecognised,
    load_json,
    looks_like_challenge,
    node_text,
    own_text,
    refuse_error_status,
    spaced_text,
)

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


def parse_listing(response: TextResponse, scraped_at: str | None = None, page: int | None = None) -> Listing:
    """The organic cards of one list answer, as entries (`extract_card`'s texts), with `count`
    (`total`) and the promoted blocks skipped. `page` (1-based) is read from the request's own
    filter when not given. Raises PageNotRecognised for HTML where the JSON was due, a challenge
    page, an envelope without `result`/`count`, or a first page whose `result` holds no card
    container while `count` says there are projects."""
    refuse_error_status(response)
    if page is None:
        page = page_of(response.url)
    result, count = load_listing(response.text)
    boxes = Selector(text=result).css("div.project-info-box") if result.strip() else SelectorList([])
    if not boxes:
        # A later page without cards is where the list runs out; on page 1 with a non-zero
        # count it means the fragment's layout is not the one we know.
        if count and page == 1:
            reason = "challenge_page" if looks_like_challenge(result) else "login_wall" if "로그인" in result else "no_cards"
            raise PageNotRecognised(reason, f"count={count} but no div.project-info-box in result")
        return Listing(total=count, page=page)
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
    return Listing(entries=cards, total=count, skipped=ads, page=page)


def page_of(url: str) -> int:
    """The page inside a list URL's `d` filter (1 when there is none)."""
    match = re.search(r"[?&]d=([^&#]+)", url)
    try:
        value = decode_filter(match.group(1)).get("page") if match else None
        return int(value) if value else 1
    except Exception:  # noqa: BLE001 - lzstring raises anything on a value it did not encode
        return 1


def load_listing(text: str) -> tuple[str, int]:
    data = load_json(text, expect=dict, what="the list endpoint's JSON")
    if not isinstance(data.get("result"), str):
        raise PageNotRecognised("unexpected_structure", f"no 'result' fragment in the JSON ({sorted(data)[:10]})")
    count = number(data.get("count"))
    if not isinstance(count, int):
        raise PageNotRecognised("unexpected_structure", f"'count' is {data.get('count')!r}")
    return data["result"], count


def has_next_page(page: Listing, seen: int, new_on_page: int) -> bool:
    """Whether to read the next list page: not when this one had no cards or only cards seen
    before (the site repeating its last page), nor when `count` projects have been seen."""
    if not page.entries or new_on_page == 0:
        return False
    return page.total is not None and seen < page.total


def extract_card(box: Selector) -> dict[str, Any]:
    """The texts of one `div.project-info-box` card, keyed like the captures' `listCard`."""
    link = box.css("a.project-link")
    href = link.attrib.get("href", "") if link else ""
    match = re.search(r"/project/(\d+)", href)
    details = [node_text(p) for p in box.css("section.proposal-and-client-info p.info-detail")]
    marks = [own_text(mark) for mark in box.css("section.project-organic-info > div.project-status-label div.status-mark")]
    badge_spans = box.css("div.client-info .badge-box span")
    card = {
        "id": match.group(1) if match else None,
        "path": href or None,
        "title": node_text(link.css("p")) or node_text(link),
        "statusMarks": [mark for mark in marks if mark],
        "private": bool(box.css("div.status-mark.private-mark")),
        "budgetText": node_text(box.css("p.budget")),
        "termText": node_text(box.css("p.term")),
        "startText": node_text(box.css("p.launch-date")),
        "roleOrCategory": node_text(box.css("p.project-category-or-role")),
        "level": node_text(box.css("p.project-level")),
        "typeMark": node_text(box.css("div.status-mark.project-type-mark")),
        "skills": [text for text in (node_text(chip) for chip in box.css("div.project-skills-info span.skill-chip")) if text],
        "location": node_text(box.css("p.location-data")),
        "registeredText": node_text(box.css("p.start-recruitment-data")),
        "deadlineText": next((t for t in details if t and t.startswith("마감")), None),
        "applicantText": next((t for t in details if t and t.startswith("지원자")), None),
        "views": _count(box.css("i.view-status")),
        "comments": _count(box.css("i.comment-status")),
        "likes": _count(box.css("i.interest-status")),
        "clientName": node_text(box.css("div.client-info p.username")),
        "clientRating": node_text(badge_spans[-1]) if badge_spans else None,
        "clientBadges": box.css("div.client-info .badge-box img::attr(alt)").getall(),
    }
    # The field of the work, on 외주 cards (absent from older cards and from the captures'
    # extractions: only added when the card has it, so those stay as they were).
    fields = [text for text in (node_text(node) for node in box.css("p.project-field")) if text]
    if fields:
        card["fieldText"] = " · ".join(fields)
    subcategory = node_text(box.css("p.project-field-subcategory"))
    if subcategory:
        card["fieldSubcategory"] = subcategory
    return card


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
    spider then keeps the card's item: `item_from_entry`) for a page without JSON-LD and
    condition rows."""
    return build_item(card, extract_detail(response.text), scraped_at, listed_at=listed_at)


def entry_id(card: Mapping[str, Any]) -> str:
    return str(card["id"])


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
        "title": node_text(title_box.css("h1")),
        "statusMarks": [m for m in (own_text(mark) for mark in page.css(".project-content-title .status-mark, .status-guide .status-mark")) if m],
        "registeredText": node_text(title_box.css(".project-recruit-guide")),
        "categoryGroups": [
            group for group in (
                [label for label in (node_text(w) for w in category.css(".category-wrapper")) if label]
                for category in page.css(".project-classification .project-category")
            ) if group
        ],
        "fields": fields,
        "fieldNotes": notes,
        "target": {
            "role": node_text(target.css(".project-target-role")),
            "level": node_text(target.css(".project-target-detail-row-info.level")),
            "experience": node_text(target.css(".project-target-detail-row-info.experience")),
            "budget": node_text(target.css(".project-target-detail-row-info.budget")),
        } if target else None,
        "skills": detail_skills(page),
        "description": html_to_text(description[0].get()) if description else None,
        "client": {"name": node_text(client.css(".client-name, [class*=username]"))} if client else None,
        "commentCount": node_text(page.css(".comment-layer-count")),
        "locked": bool(_LOGIN_WALL.search(text)),
        "jsonld": jsonld,
    }


def job_posting(page: Selector) -> dict[str, Any] | None:
    """The schema.org JobPosting among the page's JSON-LD blocks (object, list or @graph)."""
    return find_job_posting(page.css('script[type="application/ld+json"]::text').getall())[0]


def condition_fields(page: Selector) -> tuple[dict[str, str], dict[str, str]]:
    """label -> value of every condition row, and label -> accent note ("마감 6일 5시간 전")."""
    fields: dict[str, str] = {}
    notes: dict[str, str] = {}
    for row_css, label_css, value_css in _CONDITION_ROWS:
        for row in page.css(row_css):
            children = row.xpath("./*")
            label = row.css(label_css) or children[0:1]
            value = row.css(value_css) or children[1:2]
            key = node_text(label)
            if not key or not value:
                continue
            accents = [node_text(a) for a in value.css(".condition-accent")]
            text = spaced_text(value[0], exclude="condition-accent")
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
        for part in (node_text(tag) or "").split(","):
            part = part.strip()
            match = re.match(r"^(.*?)\s*(?:·\s*)?(경력 무관|\d+\s*년.*)$", part)
            name, detail = (match.group(1).strip(), match.group(2)) if match else (part, None)
            if name:
                skills.append({"name": name, "detail": detail})
    return skills


# --- from the site's texts to the contract ------------------------------------------------------


def item_from_entry(card: Mapping[str, Any], scraped_at: str) -> PostingItem:
    """The item a card alone gives (detail page not read, locked or not recognised): it did not
    read DETAIL_FIELDS, so storage keeps what a detail read stored for them (items.unread)."""
    return unread(build_item(card, None, scraped_at), DETAIL_FIELDS)


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
        client=clean_line(detail_client) or clean_line(card.get("clientName")),
        category=category_from_groups(detail.get("categoryGroups"))
        or category_from_card(card.get("roleOrCategory"), work_type, card.get("fieldText")),
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
        raw={"card": dict(card), "detail": dict(detail) if detail else None, "private": private},
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


def budget_from_salary(salary: Any, work_type: str | None = None) -> Budget:
    """JSON-LD baseSalary: a string ("2,000만원 (부가세 별도)") or a MonetaryAmount
    (`outsourcing.normalize.schema_org.monetary_amount`); without a unitText the amount is
    monthly on 기간제, fixed otherwise."""
    return monetary_amount(
        salary,
        default_type="monthly" if work_type == "기간제" else "fixed",
        from_text=lambda text: budget_from_text(text, work_type),
    )


#: "예상 기간300일" / "120일" -> days; weeks, months (30 days) and years are converted.
duration_days = span_days
#: "지원자 7명" -> 7, "지원자 없음" -> 0, "비공개" (private matching) -> unknown.
proposals_from_text = applicants


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
    """재택/원격/비상주 -> True, 상주 (반상주 included) -> False; neither, or labels that contradict
    each other -> None. 외주 and 기간제 say how the work is contracted, not where it happens."""
    return work_place_of_labels(labels)


def category_from_groups(groups: Any) -> str | None:
    """The detail page's classification rows, most general first: [["개발"], ["웹"], ...] ->
    "개발 > 웹". Only the first two rows are the category hierarchy (the third lists fields)."""
    levels: list[str] = []
    for group in (groups or [])[:2]:
        labels = [label for label in (clean_line(str(value).rstrip(", ")) for value in group) if label]
        if labels:
            levels.append(", ".join(labels))
    return " > ".join(levels) or None


def category_from_card(text: str | None, work_type: str | None, field: str | None = None) -> str | None:
    """The card's classification: categories then fields on 외주 ("개발 · 디자인", "웹" ->
    "개발, 디자인 > 웹"); on 기간제 the first slot holds the role sought ("데이터 엔지니어"), which is
    not a category (kept in raw)."""
    if work_type == "기간제" or not text:
        return None
    levels = []
    for level in (text, field):
        labels = [label for label in (clean_line(part) for part in re.split(r"[·,]", level or "")) if label]
        if labels:
            levels.append(", ".join(labels))
    return " > ".join(levels) or None


# Private-matching and locked projects show a notice where the description would be.
_PLACEHOLDER = re.compile(r"파트너에게\s*(?:만\s*)?공개되는|프라이빗 매칭 프로젝트입니다|로그인하고|로그인 후")


def description_of(*candidates: Any) -> str | None:
    for candidate in candidates:
        text = html_to_text(candidate)
        if text and not (_PLACEHOLDER.search(text) and len(text) < 300):
            return text
    return None


# --- small helpers ------------------------------------------------------------------------------


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _count(node: SelectorList) -> int | None:
    value = node.attrib.get("data-count") if node else None
    parsed = number(value)
    return int(parsed) if isinstance(parsed, (int, float)) else None

