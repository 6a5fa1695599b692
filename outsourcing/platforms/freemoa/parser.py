"""Freemoa's JSON API answers to items.

List: `POST /m4a/s41a` (form: page, sm=3 newest first, ...) answers
`{"ERROR": {"NO": 0, "MSG": ...}, "DATA": {"PROJECT": {"LIST": [10 rows], "PAGINATION": {currentPage,
nextPage, totalRows}}}}`. Detail: `POST /m4a/s41v` (pno=<id>) answers `DATA.VIEW` / `DATA.META`, or
an error: `ERROR.NO == -1` "로그인이 필요한 서비스입니다." (login needed) or "클라이언트에게 견적 요청을
받은 개별 파트너만 열람 및 지원 가능합니다." (restricted to invited partners).

Units and codes: `cost_min`/`cost_max` are 만원 (x10,000 KRW); `workType` 1 = 도급 (fixed price),
2 = 시간제 상주 (part-time on-site; the unit is in `costView`), 3 = 기간제 상주 (monthly, on-site);
`is_stay` 1 = on-site; `INS_TIME` is Korea time; `endtime` is unix seconds; `ALL_APPLY_COUNT` comes
as a string or an int.

Personal data: list rows carry `client_id`, the client's e-mail address. Every payload goes through
`sanitize` here, in the parser, before anything else sees it: identifying keys are dropped
(and applicant lists reduced to their count). E-mail addresses and phone numbers in the strings
that remain (descriptions, company notes) are removed where every posting is built
(`outsourcing.items.new_posting`), from the fields and the raw payload alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting, unread
from outsourcing.normalize.dates import KST, from_epoch, parse_instant
from outsourcing.normalize.money import (
    MANWON,
    UNKNOWN,
    Budget,
    budget_from_amounts,
    detect_budget_type,
    parse_krw,
)
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.normalize.values import positive_number, whole_number
from outsourcing.platforms.pages import Listing, PageNotRecognised, load_json, refuse_error_status

PLATFORM = "freemoa"
ORIGIN = "https://www.freemoa.net"
SESSION_PATH = "/m4/s41"   # the project board page: sets the session cookie the API wants
LIST_PATH = "/m4a/s41a"
DETAIL_PATH = "/m4a/s41v"
#: Fields the detail view supplies (it wins over the list row there). An item built from the
#: list row alone leaves them unread (items.unread): storage keeps what a detail read stored.
#: The list row's `isNowApply` is as good as the view's, so `status` is not among them.
DETAIL_FIELDS: tuple[str, ...] = (
    "title", "description", "client", "category", "skills", "budget_min", "budget_max", "currency",
    "budget_type", "duration_days", "location", "remote", "posted_at", "deadline_at", "proposals",
)
PAGE_SIZE = 10
SORT_NEWEST = "3"          # sm=3: 최신등록순

WORK_TYPES: dict[str, str] = {"1": "도급", "2": "시간제 상주", "3": "기간제 상주"}

#: Keys that identify a person (the client's e-mail in `client_id`, account ids, photos); dropped
#: wherever they occur in a payload. Compared case-insensitively.
PERSONAL_KEYS: frozenset[str] = frozenset({
    "client_id", "company_userid", "myid", "userid", "user_id", "email", "mail", "hp", "phone", "tel",
    "mobile", "my_pic_url", "picture_url", "pic_url",
})

LOGIN_MESSAGE = "로그인이 필요한 서비스입니다."
RESTRICTED_MESSAGE = "클라이언트에게 견적 요청을 받은 개별 파트너만 열람 및 지원 가능합니다."
# Values of `proj_language` that are not skills but say the stack is up to the bidder.
_NOT_SKILLS = frozenset({"제안요청", "협의"})


def project_url(project_id: str) -> str:
    return f"{ORIGIN}/m4/s41?first_pno={project_id}"


def list_form(page: int, query: str = "", work_type: str = "") -> dict[str, str]:
    """The list POST's form, as the site's own board script sends it (newest first)."""
    form = {"sS": query, "page": str(page), "sm": SORT_NEWEST, "mp": "0", "lp": "0", "st2": "", "st3": ""}
    if work_type:
        form["workType"] = work_type
    return form


def detail_form(project_id: str) -> dict[str, str]:
    return {"pno": project_id, "anyView": ""}


# --- responses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    """A detail answer's DATA.VIEW / DATA.META (sanitized) and comment count."""

    view: dict[str, Any]
    meta: dict[str, Any] | None
    comment_count: int | None


def parse_listing(response: TextResponse, scraped_at: str | None = None) -> Listing:
    """The rows of one list answer (sanitized) as entries, with the answer's pagination
    (`currentPage`, `nextPage`, `totalRows`). Raises PageNotRecognised for HTML (a block or
    challenge page), an API error (login wall) or JSON without DATA.PROJECT.LIST."""
    refuse_error_status(response)
    data = load_json(response.text, expect=dict, what="the API's JSON")
    error_no, message = api_error(data)
    if error_no not in (None, 0):
        reason = "login_wall" if _is_login(message) or error_no == -1 else "api_error"
        raise PageNotRecognised(reason, f"ERROR.NO={error_no}: {message!r}")
    payload = data.get("DATA")
    project = payload.get("PROJECT") if isinstance(payload, dict) else None
    if not isinstance(project, dict) or not isinstance(project.get("LIST"), list):
        raise PageNotRecognised("unexpected_structure", f"no DATA.PROJECT.LIST (keys {sorted(data)[:10]})")
    rows = [sanitize(row) for row in project["LIST"]]
    for row in rows:
        if not isinstance(row, dict) or not row.get("proj_idx") or "title" not in row:
            raise PageNotRecognised("unexpected_structure", "a LIST row without proj_idx/title")
    pagination: dict[str, Any] = project["PAGINATION"] if isinstance(project.get("PAGINATION"), dict) else {}
    return Listing(entries=rows, page=whole_number(pagination.get("currentPage")), next_page=whole_number(pagination.get("nextPage")),
                   total=whole_number(pagination.get("totalRows")))


def next_page(page: Listing) -> int | None:
    """The page to read after this one, or None: not after an empty page, nor when `nextPage`
    does not move forward, nor once `totalRows` are covered at 10 rows a page."""
    if not page.entries or page.page is None or page.next_page is None:
        return None
    if page.next_page <= page.page:
        return None
    if page.total is not None and page.page * PAGE_SIZE >= page.total:
        return None
    return page.next_page


def parse_detail(response: TextResponse, row: Mapping[str, Any], scraped_at: str) -> PostingItem:
    """The posting of a list row completed with its detail answer. Raises PageNotRecognised
    (the spider then keeps the row: `item_from_entry`) as `read_detail` does."""
    return build_item(row, read_detail(response), scraped_at)


def item_from_entry(row: Mapping[str, Any], scraped_at: str, detail_status: str = "not_requested") -> PostingItem:
    """The posting of a list row alone; `detail_status` records in raw why there is no detail. It
    did not read DETAIL_FIELDS, so storage keeps what a detail read stored for them (items.unread)."""
    return unread(build_item(row, None, scraped_at, detail_status=detail_status), DETAIL_FIELDS)


def entry_id(row: Mapping[str, Any]) -> str:
    return str(row["proj_idx"]).strip()


def read_detail(response: TextResponse) -> Detail:
    """DATA.VIEW / DATA.META of a project (sanitized). Raises PageNotRecognised with reason
    `login_required` or `restricted` when the API withholds the project, and `not_json`,
    `challenge_page`, `detail_error` or `unexpected_structure` for anything else."""
    data = load_json(response.text, expect=dict, what="the API's JSON")
    error_no, message = api_error(data)
    payload = data.get("DATA") if isinstance(data.get("DATA"), dict) else {}
    view = payload.get("VIEW")
    if error_no in (None, 0) and isinstance(view, dict) and view:
        meta = payload.get("META")
        return Detail(sanitize(view), sanitize(meta) if isinstance(meta, dict) else None, whole_number(payload.get("COMMET_CNT")))
    if _is_restricted(message):
        raise PageNotRecognised("restricted", _one_line(message))
    if _is_login(message) or error_no == -1:
        raise PageNotRecognised("login_required", _one_line(message))
    if error_no not in (None, 0):
        raise PageNotRecognised("detail_error", f"ERROR.NO={error_no}: {_one_line(message)!r}")
    raise PageNotRecognised("unexpected_structure", "no DATA.VIEW")


def api_error(data: Mapping[str, Any]) -> tuple[int | None, str | None]:
    error = data.get("ERROR")
    if not isinstance(error, dict):
        return None, None
    code = error.get("NO")
    try:
        number_ = int(str(code).strip()) if code not in (None, "") else None
    except ValueError:
        number_ = None
    message = error.get("MSG")
    return number_, str(message) if message not in (None, "") else None


def _squeezed(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def _is_login(message: str | None) -> bool:
    return "로그인이필요" in _squeezed(message)


def _is_restricted(message: str | None) -> bool:
    # The message arrives with a line break in it at times ("…받은\n개별 파트너만…").
    return "개별파트너만열람" in _squeezed(message)


def _one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


# --- personal data -------------------------------------------------------------------------------


def sanitize(value: Any) -> Any:
    """A payload without identifying keys (at any depth); applicant lists reduced to their
    count. (E-mail addresses and phone numbers inside strings: `new_posting`.)"""
    return _drop_personal(value)


def _drop_personal(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            if str(key).lower() in PERSONAL_KEYS:
                continue
            if key == "APPLIERSINFO" and isinstance(item, dict):
                # Who applied is other people's data; how many applied is the posting's.
                cleaned[key] = {"total_count": item.get("total_count")}
                continue
            cleaned[key] = _drop_personal(item)
        return cleaned
    if isinstance(value, list):
        return [_drop_personal(item) for item in value]
    return value


# --- from the API's fields to the contract ----------------------------------------------------------


def listed_posted_at(row: Mapping[str, Any]) -> str | None:
    """A list row's registration time (`INS_TIME`, to the second, KST), for comparing a list
    page with an incremental run's watermark."""
    return parse_instant(row.get("INS_TIME"), KST)


def build_item(row: Mapping[str, Any], detail: Detail | None, scraped_at: str, detail_status: str = "ok") -> PostingItem:
    """One posting from its (sanitized) list row and, when the API showed it, its detail view:
    the view wins where it has a value. `detail_status` records in raw why a detail is absent."""
    view: Mapping[str, Any] = detail.view if detail else {}

    def pick(key: str) -> Any:
        value = view.get(key)
        return row.get(key) if value in (None, "") else value

    project_id = str(pick("proj_idx") or row.get("proj_idx")).strip()
    return new_posting(
        platform=PLATFORM,
        external_id=project_id,
        url=project_url(project_id),
        title=clean_line(pick("title")),
        description=html_to_text(pick("txt")),
        client=clean_line(view.get("cl_private_nm")),  # masked by the site ("씨*콜"); detail only
        category=category_of(pick("proj_filed"), row.get("fld"), row.get("fld_nm_2nd")),
        skills=skills_of(pick("proj_language")),
        **budget_of(pick("cost_min"), pick("cost_max"), pick("workType"), view.get("costView")).fields(),
        duration_days=positive_number(pick("during")),
        location=clean_line(view.get("pvNmu")) or clean_line(row.get("pv_smallnm")),
        remote=remote_of(pick("workType"), pick("is_stay")),
        posted_at=parse_instant(pick("INS_TIME"), KST),
        deadline_at=from_epoch(pick("endtime")) or parse_instant(pick("edate"), KST),
        proposals=whole_number(pick("ALL_APPLY_COUNT")),
        status=status_of(pick("isNowApply")),
        scraped_at=scraped_at,
        raw={
            "list_row": dict(row),
            "view": dict(view) if detail else None,
            "meta": detail.meta if detail else None,
            "comment_count": detail.comment_count if detail else None,
            "detail": detail_status,
        },
    )


def budget_of(cost_min: Any, cost_max: Any, work_type: Any, cost_view: Any = None) -> Budget:
    """`cost_min`/`cost_max` in 만원 to won. What the amount pays for comes from `workType`: 도급
    is a fixed price, 기간제 상주 a monthly rate; for 시간제 상주 (and unknown types) only the
    display string `costView` can say ("시급 …" hourly, "…/월" monthly), else the type is null."""
    code = str(work_type or "").strip()
    kind = {"1": "fixed", "3": "monthly"}.get(code) or detect_budget_type(str(cost_view or ""), None)
    budget = budget_from_amounts(cost_min, cost_max, "KRW", kind, unit=MANWON, zero_is_unknown=True)
    if not budget.known and cost_view:
        budget = parse_krw(str(cost_view), default_type=kind)
    return budget if budget.known else UNKNOWN


def remote_of(work_type: Any, is_stay: Any) -> bool | None:
    """상주 (is_stay=1, workType 2 or 3) -> False. 도급 says how the work is contracted, not where
    it happens, so it gives None."""
    if str(is_stay).strip() == "1" or str(work_type or "").strip() in ("2", "3"):
        return False
    return None


def status_of(now_apply: Any) -> str | None:
    return {"1": "open", "0": "closed"}.get(str(now_apply).strip()) if now_apply is not None else None


def category_of(filed: Any, first: Any = None, second: Any = None) -> str | None:
    """`proj_filed` ("개발 > <span …>웹</span>") -> "개발 > 웹"; else `fld` > `fld_nm_2nd`."""
    text = html_to_text(filed) if filed else None
    levels = [clean_line(part) for part in text.split(">")] if text else [clean_line(first), clean_line(second)]
    joined = " > ".join(level for level in levels if level)
    return joined or None


def skills_of(languages: Any) -> list[str]:
    """`proj_language` "Vue, AOS, iOS" -> ["Vue", "AOS", "iOS"]."""
    return [skill for skill in clean_skills(languages if isinstance(languages, (str, list)) else None) if skill not in _NOT_SKILLS]
