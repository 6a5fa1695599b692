"""Kmong's custom-project API answers to items (../shared/docs/platforms.md, section 2.3).

List  `GET /api/custom-project/v1/requests?q=&sort=CREATED_AT&category_list=6&...&page=N&per_page=30`
      -> `{total, last_page, requests: [{id, title, content, amount, days, deadline,
      proposal_count, project_type, business_type, is_government, status, category: {cat1,
      cat1_name, cat2, cat2_name}}]}`
Detail `GET /api/custom-project/v1/requests/<id>` -> `{title, amount, deadline, is_tax,
      business_type, breadcrumb, description, answers: [{type, title, contents, description}],
      is_confidential}`

Units and meanings: `amount` is whole won (a month's pay for RESIDENT, the whole project for
OUTSOURCING; 0 means no amount given), `days` is the expected length of the work, `deadline`
is the number of days left to apply (resolved against the response's time in Asia/Seoul and
rounded to the day), status "APPROVAL" is an approved, open request. The API gives no posting
time, so `posted_at` stays null.

The browser path captures the same list JSON from the board page's own fetch; it is turned
into a response and read by `parse_listing`, the function the plain path uses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from scrapy.http import Response, TextResponse

from outsourcing.items import PostingItem, new_posting, unread
from outsourcing.normalize.dates import KST, parse_instant
from outsourcing.normalize.money import budget_from_amounts
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.normalize.values import whole_number
from outsourcing.platforms.pages import Listing, PageNotRecognised, load_json, looks_like_challenge

PLATFORM = "kmong"
ORIGIN = "https://kmong.com"
LIST_PATH = "/api/custom-project/v1/requests"
BOARD_PATH = "/custom-project/requests"
PER_PAGE = 30

#: project_type values of the API: 외주 (a whole project) and 상주/기간제 (on-site, paid monthly).
PROJECT_TYPES: tuple[str, ...] = ("OUTSOURCING", "RESIDENT")
OPEN_STATUS = "APPROVAL"

_BUDGET_TYPE = {"OUTSOURCING": "fixed", "RESIDENT": "monthly"}
# An error object instead of the data: these words say the API wants a signed-in user.
_LOGIN_WORDS = re.compile(r"login|log in|sign in|unauthori[sz]ed|unauthenticated|로그인|인증", re.I)
_ERROR_KEYS = ("message", "error", "code", "detail", "error_code", "errorCode", "msg")
# Questions of the request form whose ITEMS answers are skills ("필요 기술", "개발 언어").
_SKILL_QUESTION = re.compile(r"기술|스킬|언어|프레임워크|스택|tech|skill|stack|language|framework", re.I)
_CRUMB_SPLIT = re.compile(r"\s+[/>]\s+")
#: What only the detail answer says: the form's answers (skills, the rest of the description).
DETAIL_FIELDS: tuple[str, ...] = ("description", "skills")


# --- URLs --------------------------------------------------------------------------------------

def list_path(page: int, project_type: str = "OUTSOURCING", category: str = "6") -> str:
    """The list API path with the query the site itself sends (same keys, same order)."""
    query = {
        "q": "", "sort": "CREATED_AT", "category_list": category, "sub_category_list": "",
        "project_type": project_type, "page": str(page), "per_page": str(PER_PAGE),
    }
    return f"{LIST_PATH}?{urlencode(query)}"


def board_path(page: int, project_type: str = "OUTSOURCING", category: str = "6") -> str:
    """The public board page that fetches `list_path(page, ...)` when it loads."""
    query = {"sort": "CREATED_AT", "category_list": category, "project_type": project_type, "page": str(page)}
    return f"{BOARD_PATH}?{urlencode(query)}"


def detail_path(request_id: Any) -> str:
    return f"{LIST_PATH}/{request_id}"


def posting_url(request_id: Any) -> str:
    return f"{ORIGIN}/custom-project/requests/{request_id}"


def is_list_api_url(url: str, page: int) -> bool:
    """Whether a URL the board page fetched is the list API for `page` (not a detail call,
    not another page)."""
    parts = urlsplit(url)
    if parts.path.rstrip("/") != LIST_PATH:
        return False
    return (_page_of(url) or 1) == page  # no page parameter is the first page


# --- the list ----------------------------------------------------------------------------------

def parse_listing(response: Response, scraped_at: str | None = None) -> Listing:
    """One list API answer: its requests as entries (each completed by its detail answer), this
    page and `last_page` (`pages`). Raises PageNotRecognised for anything but the API's object
    with its `requests` array (challenge page, HTML, login-required error, missing keys). An
    empty `requests` array is a genuine empty board."""
    data = _load_json(response, "requests")
    if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
        raise PageNotRecognised("unexpected_structure", f"no 'requests' array in the list answer: {_shape(data)}")
    entries = data["requests"]
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("id") in (None, "") or "title" not in entry:
            keys = sorted(entry)[:12] if isinstance(entry, dict) else type(entry).__name__
            raise PageNotRecognised("unexpected_structure", f"a request without id/title: {keys}")
    page = _page_of(response.url) or 1
    return Listing(entries=entries, page=page, pages=_last_page(data, page, response.url), total=whole_number(data.get("total")))


@dataclass(frozen=True)
class CapturedJson:
    """A list API answer the board page fetched in the browser, as the browser received it."""

    url: str
    status: int
    body: bytes
    content_type: str | None = None


def parse_board_capture(board: Response, captured: CapturedJson | None) -> Listing:
    """The list behind a board page loaded in the browser: the captured API answer, read by
    `parse_listing`. Without a capture, the board page itself says why (a challenge page, a
    login wall, or a page that no longer fetches the API)."""
    if captured is None:
        text = _text(board)
        if looks_like_challenge(text):
            raise PageNotRecognised("challenge_page", "the board page is a bot check; it fetched no list")
        if "/login" in urlsplit(board.url).path:
            raise PageNotRecognised("login_required", f"the board redirected to {urlsplit(board.url).path}")
        raise PageNotRecognised("list_json_not_captured", f"the board page did not fetch {LIST_PATH} in time")
    headers = {"Content-Type": captured.content_type} if captured.content_type else {}
    response = TextResponse(url=captured.url, status=captured.status, headers=headers, body=captured.body,
                            encoding="utf-8")
    return parse_listing(response)


# --- the detail --------------------------------------------------------------------------------

def load_detail(response: Response) -> dict[str, Any]:
    """One detail API answer. Raises PageNotRecognised unless it is the request object."""
    data = _load_json(response, "title")
    if not isinstance(data, dict) or not clean_line(data.get("title")):
        raise PageNotRecognised("unexpected_structure", f"no 'title' in the detail answer: {_shape(data)}")
    return data


def is_confidential(record: dict[str, Any]) -> bool:
    """Confidential (matching-only) requests are not public postings: never stored."""
    return bool(record.get("is_confidential"))


def parse_detail(response: Response, entry: dict[str, Any], scraped_at: str) -> PostingItem | None:
    """The posting of a list entry completed with its detail answer; None when the request is
    confidential (matching only: not a public posting). Raises PageNotRecognised unless the
    answer is the request object."""
    detail = load_detail(response)
    if is_confidential(entry) or is_confidential(detail):
        return None
    return build_posting(entry, detail, scraped_at)


def item_from_entry(entry: dict[str, Any], scraped_at: str) -> PostingItem:
    """The posting a list entry alone gives (its detail answer failed or was not understood): it
    did not read DETAIL_FIELDS, so storage keeps what a detail read stored for them."""
    return unread(build_posting(entry, {}, scraped_at), DETAIL_FIELDS)


def entry_id(entry: dict[str, Any]) -> str:
    return str(entry["id"])


def build_posting(entry: dict[str, Any], detail: dict[str, Any], scraped_at: str) -> PostingItem:
    """The posting of a list entry and its detail answer (the detail wins where both have a
    value: it is the fuller, later read)."""
    project_type = _first("project_type", detail, entry)
    amount = _first("amount", detail, entry)
    budget = budget_from_amounts(amount, amount, "KRW", _BUDGET_TYPE.get(str(project_type)), zero_is_unknown=True)
    days = whole_number(_first("days", detail, entry))
    request_id = entry["id"]
    title = clean_line(_first("title", detail, entry))
    description = _description(entry, detail)
    return new_posting(
        platform=PLATFORM,
        external_id=str(request_id),
        url=posting_url(request_id),
        title=title,
        description=description,
        client=None,  # buyers are private: the API names no client
        category=_category(entry, detail),
        skills=_skills(detail.get("answers")),
        **budget.fields(),
        duration_days=days if days and days > 0 else None,
        location=None,
        # RESIDENT is 상주 (on-site); OUTSOURCING (외주) says how the work is contracted, not where.
        remote=False if project_type == "RESIDENT" else None,
        posted_at=None,  # the API gives no posting time
        deadline_at=deadline_from_days_left(_first("deadline", detail, entry), scraped_at),
        proposals=whole_number(_first("proposal_count", detail, entry)),
        status=_status(_first("status", detail, entry)),
        scraped_at=scraped_at,
        raw={"list": entry, "detail": detail},
    )


def deadline_from_days_left(days_left: Any, scraped_at: str) -> str | None:
    """`deadline` (days left to apply) as the instant 00:00 Asia/Seoul of that day, counted from
    the day the response arrived there; the same posting gives the same value all day."""
    days = whole_number(days_left, signed=True)
    if days is None:
        return None
    today = datetime.fromisoformat(scraped_at).astimezone(KST).date()
    try:
        return parse_instant(today + timedelta(days=days), KST)
    except OverflowError:
        return None


# --- helpers -----------------------------------------------------------------------------------

def _text(response: Response) -> str:
    if isinstance(response, TextResponse):
        return response.text
    return response.body.decode("utf-8", "replace")


def _load_json(response: Response, key: str) -> Any:
    try:
        data = load_json(_text(response), expect=(dict, list), what="the API's JSON")
    except PageNotRecognised as error:
        # Not JSON and not a bot check: an HTML login page (or a redirect to one) is a login wall.
        if error.reason == "not_json" and (response.status == 401 or "/login" in urlsplit(response.url).path):
            raise PageNotRecognised("login_required", f"HTTP {response.status} {error.detail}") from None
        raise
    if isinstance(data, dict) and key not in data:
        message = " ".join(str(data.get(name)) for name in _ERROR_KEYS if data.get(name) is not None)
        if response.status == 401 or _LOGIN_WORDS.search(message):
            raise PageNotRecognised("login_required", f"HTTP {response.status}: {message[:160]}")
        if response.status >= 400:
            raise PageNotRecognised(f"http_{response.status}", message[:160] or _shape(data))
    return data


def _shape(data: Any) -> str:
    if isinstance(data, dict):
        return f"keys {sorted(data)[:12]}"
    return type(data).__name__


def _page_of(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("page")
    return whole_number(values[0]) if values else None


def _last_page(data: dict[str, Any], page: int, url: str) -> int:
    value = data.get("last_page")
    if isinstance(value, bool):  # some answers carry an "is last page" flag instead of a number
        return page if value else page + 1
    number = whole_number(value)
    if number is not None:
        return number
    total = whole_number(data.get("total"))
    per_page = whole_number(next(iter(parse_qs(urlsplit(url).query).get("per_page", [])), None)) or PER_PAGE
    if total is not None:
        return max(1, math.ceil(total / per_page))
    return page


def _first(key: str, *records: dict[str, Any]) -> Any:
    for record in records:
        value = record.get(key)
        if value is not None and value != "":
            return value
    return None


def _status(value: Any) -> str | None:
    if value is None or not str(value).strip():
        return None
    # Only an approved request takes proposals; every other state (closed, completed,
    # cancelled, under review) does not.
    return "open" if str(value).strip().upper() == OPEN_STATUS else "closed"


def _category(entry: dict[str, Any], detail: dict[str, Any]) -> str | None:
    for record in (entry, detail):
        category = record.get("category")
        if isinstance(category, dict):
            names = [name for name in (clean_line(category.get("cat1_name")), clean_line(category.get("cat2_name"))) if name]
            if names:
                return " > ".join(names)
    crumb = _first("breadcrumb", detail, entry)
    if crumb:
        names = [name for name in (clean_line(part) for part in _CRUMB_SPLIT.split(str(crumb))) if name]
        if names:
            return " > ".join(names)
    return None


def _answers(value: Any) -> list[dict[str, Any]]:
    return [answer for answer in value if isinstance(answer, dict)] if isinstance(value, list) else []


def _answer_line(answer: dict[str, Any]) -> str | None:
    contents = [clean_line(item) for item in answer.get("contents") or [] if not isinstance(item, (dict, list))]
    listed = ", ".join(item for item in contents if item)
    written = clean_line(html_to_text(answer.get("description")))
    if answer.get("type") == "ITEMS":
        value = listed or written
    else:
        value = written or listed
    if not value:
        return None
    question = clean_line(answer.get("title"))
    return f"{question}: {value}" if question else value


def _description(entry: dict[str, Any], detail: dict[str, Any]) -> str | None:
    """The request text, then the buyer's answers to the request form, one line each (they
    are part of what the posting's page shows)."""
    body = html_to_text(detail.get("description")) or html_to_text(entry.get("content"))
    lines = [line for line in (_answer_line(answer) for answer in _answers(detail.get("answers"))) if line]
    parts = [part for part in (body, "\n".join(lines)) if part]
    return "\n\n".join(parts) if parts else None


def _skills(answers: Any) -> list[str]:
    skills: list[str] = []
    for answer in _answers(answers):
        if answer.get("type") == "ITEMS" and _SKILL_QUESTION.search(str(answer.get("title") or "")):
            skills.extend(str(item) for item in answer.get("contents") or [] if isinstance(item, (str, int, float)))
    return clean_skills(skills)
