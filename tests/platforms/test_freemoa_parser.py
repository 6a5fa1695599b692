"""Freemoa parser: our fixtures field by field, the real capture (project 48501), personal data,
and the answers the API gives instead of a project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import Request, TextResponse

from outsourcing.normalize.money import Budget
from outsourcing.normalize.text import contains_pii
from outsourcing.pipelines.validation import check_posting
from outsourcing.platforms.freemoa import parser
from outsourcing.platforms.freemoa.spider import FreemoaSpider
from outsourcing.platforms.pages import PageNotRecognised
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, assert_fields, response_from

LIST_URL = "https://www.freemoa.net/m4a/s41a"
DETAIL_URL = "https://www.freemoa.net/m4a/s41v"


def list_response(body: bytes | Path) -> Any:
    return response_from(body, LIST_URL, method="POST")


def detail_response(body: bytes | Path) -> Any:
    return response_from(body, DETAIL_URL, method="POST")


def fixture_rows() -> dict[str, dict[str, Any]]:
    page = parser.parse_listing(list_response(fixture_path("freemoa", "list-page-1.json")))
    return {row["proj_idx"]: row for row in page.entries}


def expected(name: str) -> Any:
    return json.loads(fixture_path("freemoa", name).read_text(encoding="utf-8"))


def api(view: dict[str, Any] | None = None, meta: dict[str, Any] | None = None, rows: list[dict[str, Any]] | None = None,
        pagination: dict[str, Any] | None = None) -> bytes:
    if rows is not None:
        data: dict[str, Any] = {"PROJECT": {"LIST": rows, "PAGINATION": pagination or {}}}
    else:
        data = {"VIEW": view, "META": meta, "COMMET_CNT": "0"}
    return json.dumps({"ERROR": {"NO": 0, "MSG": ""}, "DATA": data}, ensure_ascii=False).encode("utf-8")


# --- our fixtures --------------------------------------------------------------------------------


def test_list_pagination_stops_when_the_rows_are_covered() -> None:
    page = parser.parse_listing(list_response(fixture_path("freemoa", "list-page-1.json")))
    # nextPage says 2, but 4 rows fit on page 1 (10 a page): there is no page 2.
    assert (page.page, page.next_page, page.total) == (1, 2, 4)
    assert parser.next_page(page) is None


def test_personal_data_never_reaches_the_item() -> None:
    view = parser.read_detail(detail_response(fixture_path("freemoa", "detail-60001.json")))
    item = parser.build_item(fixture_rows()["60001"], view, SCRAPED_AT)
    raw = item["raw"]
    assert "client_id" not in raw["list_row"] and "company_userid" not in raw["meta"]
    assert "userid" not in raw["view"]["COMMENTS"][0]
    assert raw["view"]["APPLIERSINFO"] == {"total_count": 4}  # who applied is other people's data
    assert raw["meta"]["company_info"] == "반려동물 서비스 스타트업입니다. 대표번호 [phone removed]"
    dumped = json.dumps(dict(item), ensure_ascii=False)
    for secret in ("owner.sixty@example.co.kr", "walk.owner@example.com", "partner.kim@example.com",
                   "a1@example.com", "010-2345-6789", "02-555-0123"):
        assert secret not in dumped
    assert not contains_pii(dumped)


@pytest.mark.parametrize(
    ("cost_min", "cost_max", "work_type", "cost_view", "budget"),
    [
        ("250", "500", "1", None, Budget(2500000, 5000000, "KRW", "fixed")),          # 도급
        ("280", "280", "3", "2,800,000원", Budget(2800000, 2800000, "KRW", "monthly")),  # 기간제 상주
        ("2", "2", "2", "시급 20,000원", Budget(20000, 20000, "KRW", "hourly")),       # 시간제 상주, unit from costView
        ("300", "300", "2", "월 3,000,000원", Budget(3000000, 3000000, "KRW", "monthly")),
        ("300", "300", "2", None, Budget(3000000, 3000000, "KRW", None)),            # unit unknown
        ("0", "0", "1", "협의", Budget()),                                             # 0 만원 = not given
        (None, None, "1", "1,000,000원", Budget(1000000, 1000000, "KRW", "fixed")),
        ("700", "500", "1", None, Budget(5000000, 7000000, "KRW", "fixed")),           # reversed bounds
    ],
)
def test_budget_units(cost_min: Any, cost_max: Any, work_type: str, cost_view: str | None, budget: Budget) -> None:
    assert parser.budget_of(cost_min, cost_max, work_type, cost_view) == budget


@pytest.mark.parametrize(
    ("work_type", "is_stay", "remote"),
    [("1", "0", None), ("1", "1", False), ("2", "1", False), ("3", "1", False), ("3", None, False), (None, None, None)],
)
def test_remote(work_type: str | None, is_stay: str | None, remote: bool | None) -> None:
    assert parser.remote_of(work_type, is_stay) is remote


def test_counts_come_as_strings_or_ints() -> None:
    rows = fixture_rows()
    assert [parser.build_item(rows[pid], None, SCRAPED_AT)["proposals"] for pid in ("60001", "60002", "60003")] == [3, 2, 0]


@pytest.mark.parametrize(
    ("pagination", "rows", "following"),
    [
        ({"currentPage": 1, "nextPage": 2, "totalRows": 13}, 10, 2),
        ({"currentPage": "2", "nextPage": "3", "totalRows": "13"}, 3, None),   # 2 x 10 >= 13
        ({"currentPage": 3, "nextPage": 3, "totalRows": 100}, 10, None),       # nextPage does not move on
        ({"currentPage": 1, "nextPage": 2, "totalRows": 13}, 0, None),         # empty page
        ({}, 10, None),
    ],
)
def test_next_page(pagination: dict[str, Any], rows: int, following: int | None) -> None:
    row = {"proj_idx": "1", "title": "x"}
    page = parser.parse_listing(list_response(api(rows=[dict(row, proj_idx=str(i)) for i in range(rows)], pagination=pagination)))
    assert parser.next_page(page) == following


def test_forms_and_spider_settings() -> None:
    assert parser.list_form(2) == {"sS": "", "page": "2", "sm": "3", "mp": "0", "lp": "0", "st2": "", "st3": ""}
    assert parser.list_form(1, "쇼핑몰", "1")["workType"] == "1"
    assert parser.detail_form("48501") == {"pno": "48501", "anyView": ""}
    spider = FreemoaSpider(base_url="http://127.0.0.1:9/", query="앱")
    assert spider.xhr_headers()["Referer"] == "http://127.0.0.1:9/m4/s41"
    assert spider.xhr_headers()["X-Requested-With"] == "XMLHttpRequest"
    with pytest.raises(ValueError):
        FreemoaSpider(work_type="9")


# --- the real capture ------------------------------------------------------------------------------


def test_real_capture_48501(captures: Path) -> None:
    payload = json.loads((captures / "freemoa" / "detail-48501.json").read_text(encoding="utf-8"))["payload"]
    # Real list rows carry the client's e-mail; the capture had it removed, so put one back.
    row = dict(payload["listRow"], client_id="client.48501@example.com")
    page = parser.parse_listing(list_response(api(rows=[row], pagination={"currentPage": 1, "nextPage": 2, "totalRows": 1})))
    assert "client_id" not in page.entries[0]
    detail = parser.read_detail(detail_response(api(view=payload["detail"]["view"], meta=payload["detail"]["meta"])))
    item = parser.build_item(page.entries[0], detail, SCRAPED_AT)
    assert_fields(item, {
        "platform": "freemoa", "external_id": "48501", "url": "https://www.freemoa.net/m4/s41?first_pno=48501",
        "title": "기존 웹/앱 서비스 고도화 및 추가 개발", "client": "씨*콜", "category": "개발 > 웹",
        "skills": ["Vue", "AOS", "iOS", "Supabase", "backend", "유지보수"],
        "budget_min": 2500000, "budget_max": 5000000, "currency": "KRW", "budget_type": "fixed",
        "duration_days": 40, "location": "서울 은평구", "remote": None,
        "posted_at": "2026-10-01T02:30:33+00:00",      # INS_TIME 2026-10-01 11:30:33 KST
        # endtime 1792249200 = 2026-10-18 00:00 KST: applications close at the end of edate 2026-10-17
        "deadline_at": "2026-10-17T15:00:00+00:00",
        "proposals": 9, "status": "open",
    })
    assert item["description"].startswith("※ 프로젝트 진행 방식\n\n- 기존 개발되어 운영 중인 웹/앱 서비스의")
    assert "\r" not in item["description"]
    # Nothing in the capture looked like personal data, so sanitizing changed nothing else.
    assert item["raw"]["view"] == payload["detail"]["view"]
    assert item["raw"]["list_row"] == payload["listRow"]
    assert "client.48501@example.com" not in json.dumps(dict(item), ensure_ascii=False)
    assert check_posting(dict(item)) == []

    # The same project from its list row alone (detail withheld): the row's own values.
    alone = parser.build_item(page.entries[0], None, SCRAPED_AT, detail_status="login_required")
    assert_fields(alone, {"client": None, "location": "서울", "proposals": 9, "budget_min": 2500000, "budget_type": "fixed"})
    assert check_posting(dict(alone)) == []


# --- answers that are not a project / not a list -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [("detail-login.json", "login_required"), ("detail-restricted.json", "restricted")],
)
def test_withheld_details(name: str, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.read_detail(detail_response(fixture_path("freemoa", name)))
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body><h1>Access denied</h1></body></html>", "not_json"),
        (b"<html><head><title>Just a moment...</title></head><body class='cf-chl'></body></html>", "challenge_page"),
        (b'{"ERROR": {"NO": -9, "MSG": "DB error"}, "DATA": []}', "detail_error"),
        (b'{"ERROR": {"NO": 0, "MSG": ""}, "DATA": {"VIEW": null}}', "unexpected_structure"),
        (b'{"ERROR": {"NO": 0, "MSG": ""}, "DATA": {"VIEW": {"title": "x"}', "invalid_json"),
        # the restricted message has come without an error number at all
        ('{"ERROR": {"MSG": "클라이언트에게 견적 요청을 받은 개별 파트너만 열람 및 지원 가능합니다."}}'.encode(), "restricted"),
    ],
)
def test_unrecognised_details(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.read_detail(detail_response(body))
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body>\xeb\xb3\xb4\xec\x95\x88 \xec\xa0\x95\xec\xb1\x85</body></html>", "not_json"),  # HTML where JSON was due
        (b"<html><head><title>Attention Required! | Cloudflare</title></head></html>", "challenge_page"),
        ('{"ERROR": {"NO": -1, "MSG": "로그인이 필요한 서비스입니다."}, "DATA": []}'.encode(), "login_wall"),
        (b'{"ERROR": {"NO": 0, "MSG": ""}, "DATA": {"PROJECTS": []}}', "unexpected_structure"),  # no LIST key
        (b'{"ERROR": {"NO": 0, "MSG": ""}, "DATA": {"PROJECT": {"LIST": [{"title": "no id"}]}}}', "unexpected_structure"),
        (b'[1, 2]', "not_json"),
    ],
)
def test_unrecognised_lists(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(list_response(body))
    assert error.value.reason == reason


def test_genuinely_empty_list_is_not_an_error() -> None:
    page = parser.parse_listing(list_response(api(rows=[], pagination={"currentPage": 1, "nextPage": 1, "totalRows": 0})))
    assert page.entries == [] and parser.next_page(page) is None


def test_list_with_an_error_status_is_named_by_what_it_is() -> None:
    def answer(status: int, body: bytes) -> TextResponse:
        return TextResponse(LIST_URL, status=status, body=body, encoding="utf-8", request=Request(LIST_URL, method="POST"))

    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(answer(403, b"<html><title>Attention Required! | Cloudflare</title></html>"))
    assert error.value.reason == "challenge_page"
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(answer(403, b"<html><body>Forbidden</body></html>"))
    assert error.value.reason == "http_403"
