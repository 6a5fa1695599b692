"""Kmong parser: own fixtures (no capture exists) field by field, and pages it must refuse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from outsourcing.platforms.kmong import parser
from outsourcing.platforms.pages import PageNotRecognised
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, response_from

API = "https://kmong.com/api/custom-project/v1/requests"


def list_url(page: int, project_type: str = "OUTSOURCING") -> str:
    return f"https://kmong.com{parser.list_path(page, project_type, '6')}"


def list_response(name: str, page: int, project_type: str = "OUTSOURCING", **kwargs: Any):
    return response_from(fixture_path("kmong", name), list_url(page, project_type), **kwargs)


def detail_response(request_id: int | str):
    return response_from(fixture_path("kmong", f"detail-{request_id}.json"), f"{API}/{request_id}")


def postings_of(*pages: parser.Listing) -> tuple[list[Any], list[str]]:
    """What the spider does with the pages: each entry's detail, confidential ones skipped."""
    items, skipped = [], []
    for page in pages:
        for entry in page.entries:
            detail = parser.load_detail(detail_response(entry["id"]))
            if parser.is_confidential(entry) or parser.is_confidential(detail):
                skipped.append(str(entry["id"]))
                continue
            items.append(parser.build_posting(entry, detail, SCRAPED_AT))
    return items, skipped


def test_list_paths_are_the_sites_own_queries() -> None:
    assert parser.list_path(1) == (
        "/api/custom-project/v1/requests?q=&sort=CREATED_AT&category_list=6&sub_category_list="
        "&project_type=OUTSOURCING&page=1&per_page=30"
    )
    assert parser.board_path(2, "RESIDENT", "6") == (
        "/custom-project/requests?sort=CREATED_AT&category_list=6&project_type=RESIDENT&page=2"
    )
    assert parser.detail_path(700105) == "/api/custom-project/v1/requests/700105"
    assert parser.posting_url(700105) == "https://kmong.com/custom-project/requests/700105"
    assert parser.is_list_api_url(f"http://127.0.0.1:9{parser.list_path(2)}", 2)
    assert not parser.is_list_api_url(f"http://127.0.0.1:9{parser.list_path(1)}", 2)
    assert not parser.is_list_api_url("http://127.0.0.1:9/api/custom-project/v1/requests/700105?page=2", 2)


def test_list_pages() -> None:
    first = parser.parse_listing(list_response("list-outsourcing-page-1.json", 1))
    assert (first.page, first.pages, first.total, first.has_next) == (1, 2, 5, True)
    assert [entry["id"] for entry in first.entries] == [700105, 700104, 700103]
    second = parser.parse_listing(list_response("list-outsourcing-page-2.json", 2))
    assert (second.page, second.pages, second.has_next) == (2, 2, False)
    assert [entry["id"] for entry in second.entries] == [700102, 700101]


def test_raw_keeps_both_answers_without_personal_data() -> None:
    page = parser.parse_listing(list_response("list-outsourcing-page-1.json", 1))
    detail = parser.load_detail(detail_response(700105))
    item = parser.build_posting(page.entries[0], detail, SCRAPED_AT)
    assert item["raw"]["list"]["id"] == 700105
    assert item["raw"]["detail"]["is_tax"] is True
    text = json.dumps(item["raw"], ensure_ascii=False)
    assert "010-1234-5678" not in text and "owner@shop-example.co.kr" not in text
    assert "[phone removed]" in item["raw"]["detail"]["description"]


@pytest.mark.parametrize(
    ("days_left", "scraped_at", "expected"),
    [
        (7, "2026-10-02T06:00:00+00:00", "2026-10-08T15:00:00+00:00"),   # 15:00 KST: same KST day
        (7, "2026-10-02T16:30:00+00:00", "2026-10-09T15:00:00+00:00"),   # 01:30 KST next day
        (0, "2026-10-02T06:00:00+00:00", "2026-10-01T15:00:00+00:00"),   # closes today
        ("3", "2026-10-02T06:00:00+00:00", "2026-10-04T15:00:00+00:00"),
        (-2, "2026-10-02T06:00:00+00:00", "2026-09-29T15:00:00+00:00"),  # already past
        (None, "2026-10-02T06:00:00+00:00", None),
        ("곧", "2026-10-02T06:00:00+00:00", None),
    ],
)
def test_deadline_is_days_left_from_the_response_day_in_seoul(days_left: Any, scraped_at: str, expected: str | None) -> None:
    assert parser.deadline_from_days_left(days_left, scraped_at) == expected


def test_deadline_is_the_same_all_day() -> None:
    morning = parser.deadline_from_days_left(5, "2026-10-01T15:00:00+00:00")   # 00:00 KST
    evening = parser.deadline_from_days_left(5, "2026-10-02T14:59:59+00:00")   # 23:59 KST
    assert morning == evening == "2026-10-06T15:00:00+00:00"  # 2026-10-07 00:00 KST


@pytest.mark.parametrize(
    ("category", "breadcrumb", "expected"),
    [
        ({"cat1_name": "IT·프로그래밍", "cat2_name": "웹사이트 개발"}, None, "IT·프로그래밍 > 웹사이트 개발"),
        ({"cat1_name": "IT·프로그래밍", "cat2_name": None}, None, "IT·프로그래밍"),
        (None, "IT·프로그래밍 / 웹사이트 개발", "IT·프로그래밍 > 웹사이트 개발"),
        (None, "디자인 / UI/UX 디자인", "디자인 > UI/UX 디자인"),  # a slash inside a label stays
        (None, None, None),
    ],
)
def test_category(category: Any, breadcrumb: Any, expected: str | None) -> None:
    entry = {"id": 1, "title": "t", "category": category}
    item = parser.build_posting(entry, {"title": "t", "breadcrumb": breadcrumb}, SCRAPED_AT)
    assert item["category"] == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [("APPROVAL", "open"), ("approval", "open"), ("END", "closed"), ("CLOSED", "closed"), ("", None), (None, None)],
)
def test_status(status: Any, expected: str | None) -> None:
    item = parser.build_posting({"id": 1, "title": "t", "status": status}, {"title": "t"}, SCRAPED_AT)
    assert item["status"] == expected


def test_confidential_in_the_list_entry_is_recognised() -> None:
    assert parser.is_confidential({"id": 1, "is_confidential": True})
    assert not parser.is_confidential({"id": 1})


def test_genuinely_empty_list_is_not_an_error() -> None:
    body = b'{"total": 0, "last_page": 1, "requests": []}'
    page = parser.parse_listing(response_from(body, list_url(1)))
    assert page.entries == [] and page.has_next is False


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-chl'></div></body></html>",
         403, "challenge_page"),
        (b"<!DOCTYPE html><html><body><div id='__next'></div></body></html>", 200, "not_json"),
        ('{"code": "UNAUTHORIZED", "message": "로그인이 필요합니다."}'.encode(), 401, "login_required"),
        (b'{"error": "login required"}', 200, "login_required"),
        (b'{"total": 3, "last_page": 1}', 200, "unexpected_structure"),
        (b'{"total": 1, "last_page": 1, "requests": [{"title": "no id"}]}', 200, "unexpected_structure"),
        (b'{"total": 1, "last_page": 1, "requests": {"id": 1}}', 200, "unexpected_structure"),
        (b'{"total": 1, "requests": [{"id": 1, "title": "a"', 200, "invalid_json"),
        (b'{"message": "Internal error"}', 500, "http_500"),
    ],
)
def test_unrecognised_list_answers_raise(body: bytes, status: int, reason: str) -> None:
    response = response_from(body, list_url(1))
    response = response.replace(status=status)
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response)
    assert error.value.reason == reason


def test_login_page_where_json_was_due() -> None:
    response = response_from(b"<html><body><form action='/login'>...</form></body></html>",
                             "https://kmong.com/login?next=/api/custom-project/v1/requests")
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response)
    assert error.value.reason == "login_required"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><title>Attention Required! | Cloudflare</title></html>", "challenge_page"),
        (b'{"message": "Unauthorized"}', "login_required"),
        (b'{"id": 1, "title": ""}', "unexpected_structure"),
        (b"[]", "unexpected_structure"),
    ],
)
def test_unrecognised_detail_answers_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.load_detail(response_from(body, f"{API}/1"))
    assert error.value.reason == reason


# --- the browser path's capture goes through the same parser -----------------------------------

def board_response(body: bytes = b"<html><body><ul id='cards'></ul></body></html>", page: int = 1):
    return response_from(body, f"https://kmong.com{parser.board_path(page)}", kind="html")


def test_captured_list_json_is_read_by_parse_list() -> None:
    body = fixture_path("kmong", "list-outsourcing-page-1.json").read_bytes()
    captured = parser.CapturedJson(f"http://127.0.0.1:8080{parser.list_path(1)}", 200, body, "application/json")
    page = parser.parse_board_capture(board_response(), captured)
    direct = parser.parse_listing(list_response("list-outsourcing-page-1.json", 1))
    assert page == direct


@pytest.mark.parametrize(
    ("board", "captured", "reason"),
    [
        (b"<html><body><ul id='cards'></ul></body></html>", None, "list_json_not_captured"),
        (b"<html><head><title>Just a moment...</title></head><body>challenge-platform</body></html>", None,
         "challenge_page"),
        (b"<html><body>ok</body></html>",
         parser.CapturedJson(f"http://127.0.0.1:8080{parser.list_path(1)}", 401, b'{"message": "login required"}',
                             "application/json"),
         "login_required"),
    ],
)
def test_board_without_a_usable_capture_raises(board: bytes, captured: Any, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_board_capture(board_response(board), captured)
    assert error.value.reason == reason
