"""Wishket parser: our fixtures field by field, the real card markup and detail values from
shared/captures, the list filter encoding, and the pages that must not pass as "0 postings"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import Request, TextResponse

from outsourcing.normalize.money import Budget
from outsourcing.pipelines.validation import check_posting
from outsourcing.platforms.pages import PageNotRecognised
from outsourcing.platforms.wishket import parser
from outsourcing.platforms.wishket.spider import WishketSpider
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, assert_fields, response_from

LIST_URL = "https://www.wishket.com/project/?d=x"


def envelope(cards_html: str, count: int) -> bytes:
    """The list endpoint's answer to an XHR: the cards' HTML inside JSON."""
    return json.dumps({"result": cards_html, "count": count}, ensure_ascii=False).encode("utf-8")


def fixture_listing(name: str) -> tuple[parser.Listing, dict[str, Any]]:
    expected = json.loads(fixture_path("wishket", f"{name}.expected.json").read_text(encoding="utf-8"))
    cards = fixture_path("wishket", f"{name}.cards.html").read_text(encoding="utf-8")
    page = parser.parse_listing(response_from(envelope(cards, expected["listings"][0]["total"]), LIST_URL))
    return page, expected


def card_by_id(card_id: str) -> dict[str, Any]:
    for name in ("list-page-1", "list-page-2"):
        page, _ = fixture_listing(name)
        for card in page.entries:
            if card["id"] == card_id:
                return card
    raise KeyError(card_id)


def detail_response(name: str, card_id: str) -> Any:
    return response_from(fixture_path("wishket", name), f"https://www.wishket.com/project/{card_id}/", kind="html")


# --- the list filter -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "query"),
    [  # the examples of platforms.md, decoded from real Wishket URLs
        ("MYXgJgpgbhA2D2AHAthAdgFwGQDMcgHcIAjAGkWFIEM0wAneASzFMfgGcg==", "c=development&ff=web,pc,android,ios"),
        ("M4JwLgvAdgpg7kA%3D", "srt=new"),
        ("A4FwvCCGDODWD6AjGBTAJkA%3D", "pt=task_based"),
    ],
)
def test_filter_encoding_matches_the_sites_examples(d: str, query: str) -> None:
    assert "&".join(f"{k}={v}" for k, v in parser.decode_filter(d).items()) == query
    encoded = parser.encode_filter(query)
    assert parser.decode_filter(encoded) == dict(pair.split("=") for pair in query.split("&"))
    # encodeURIComponent escapes '=' (and '/', '+'), which the raw examples show unescaped.
    assert encoded.replace("%3D", "=") == d.replace("%3D", "=")


def test_listing_path_puts_the_page_inside_the_filter() -> None:
    path = parser.listing_path({"c": "development", "srt": "new"}, 3)
    assert path.startswith("/project/?d=") and "/" not in path[len("/project/?d="):]
    assert parser.decode_filter(path.split("d=", 1)[1]) == {"c": "development", "srt": "new", "page": "3"}


def test_spider_arguments_become_the_filter_and_politeness_is_crawl_delay_5() -> None:
    spider = WishketSpider(category="development", form_factor="web, ios", query="결제", filters="pt=task_based&abi=100")
    assert spider.filters == {"c": "development", "ff": "web,ios", "s": "결제", "srt": "new", "pt": "task_based", "abi": "100"}
    assert WishketSpider.custom_settings["DOWNLOAD_DELAY"] == 5.0
    assert WishketSpider(details="false").read_details is False


# --- list pages (our fixtures) --------------------------------------------------------------------


def test_card_texts_are_kept_in_raw() -> None:
    item = parser.item_from_entry(card_by_id("201001"), SCRAPED_AT)
    card = item["raw"]["card"]
    assert card["budgetText"] == "예상 금액 12,500,000원"
    assert card["termText"] == "예상 기간45일"
    assert (card["views"], card["comments"], card["likes"]) == (1304, 2, 9)
    assert card["clientBadges"] == ["인증된 클라이언트"] and card["clientRating"] == "4.8"
    assert item["raw"]["detail"] is None


def test_private_card_mark_excludes_its_tooltip() -> None:
    card = card_by_id("201003")
    assert card["private"] is True
    assert card["statusMarks"] == ["프라이빗 매칭", "모집 중", "NEW"]


# --- detail pages (our fixtures) ------------------------------------------------------------------


def test_detail_extraction_reads_rows_notes_and_json_ld() -> None:
    detail = parser.extract_detail(fixture_path("wishket", "detail-201001.html").read_text(encoding="utf-8"))
    assert detail["fields"]["모집 마감일"] == "2026년 10월 12일"
    assert detail["fieldNotes"] == {"모집 마감일": "마감 1주 3일 전"}
    assert detail["fields"]["관련 기술"] == "Python Django PostgreSQL"
    assert detail["categoryGroups"] == [["개발"], ["웹"], ["금융,", "관리자 페이지"]]
    assert detail["statusMarks"] == ["모집 중", "외주"]
    assert detail["jsonld"]["baseSalary"]["value"]["value"] == 12500000
    assert detail["commentCount"] == "2"
    # A reCAPTCHA widget on a real page does not make it a challenge page.
    assert "recaptcha" in fixture_path("wishket", "detail-201001.html").read_text(encoding="utf-8")


def test_personal_data_is_scrubbed_from_text_and_raw() -> None:
    item = parser.parse_detail(detail_response("detail-201001.html", "201001"), card_by_id("201001"), SCRAPED_AT)
    dumped = json.dumps(dict(item), ensure_ascii=False)
    assert "hong.gildong@example.com" not in dumped and "010-1234-5678" not in dumped
    assert "[email removed]" in item["raw"]["detail"]["jsonld"]["description"]


# --- the real captures --------------------------------------------------------------------------------


def test_real_card_snippets_in_the_json_envelope(captures: Path) -> None:
    snippets = [
        (captures / "wishket" / "list-card-157463.snippet.html").read_text(encoding="utf-8"),
        (captures / "wishket" / "list-card-158092-private.snippet.html").read_text(encoding="utf-8"),
    ]
    page = parser.parse_listing(response_from(envelope("\n".join(snippets), 2), LIST_URL))
    assert [card["id"] for card in page.entries] == ["157463", "158092"]
    card = page.entries[0]
    assert (card["budgetText"], card["termText"], card["deadlineText"], card["applicantText"]) == (
        "월 금액 7,000,000원 /월", "예상 기간300일", "마감 2주 2일 전", "지원자 없음")
    assert (card["typeMark"], card["views"], card["clientRating"]) == ("기간제", 2022, "3.7")
    monthly, private = (parser.item_from_entry(card, SCRAPED_AT) for card in page.entries)
    assert_fields(monthly, {
        "external_id": "157463", "url": "https://www.wishket.com/project/157463/",
        "title": "Databricks 기반 데이터 플랫폼 구축 데이터 엔지니어",
        "budget_min": 7000000, "budget_max": 7000000, "currency": "KRW", "budget_type": "monthly",
        "duration_days": 300, "location": "서울특별시 강남구", "skills": ["Databricks"],
        "client": "to******", "category": None, "remote": None, "status": "open", "proposals": 0,
        "posted_at": "2026-08-04T15:00:00+00:00",
        # 2026-10-02 15:00 KST + 2 weeks 2 days = 2026-10-18, rounded to 00:00 KST
        "deadline_at": "2026-10-17T15:00:00+00:00",
    })
    assert_fields(private, {
        "external_id": "158092", "title": "Flutter 기반 프라이빗 프로젝트", "status": "open",
        "description": None, "budget_min": None, "currency": None, "budget_type": None, "proposals": None,
    })
    assert private["raw"]["private"] is True
    for item in (monthly, private):
        assert check_posting(dict(item)) == []


@pytest.mark.parametrize(
    ("text", "work_type", "budget"),
    [
        ("350,000원", "외주", Budget(350000, 350000, "KRW", "fixed")),            # 158857 예상 금액
        ("40,000,000원", "외주", Budget(40000000, 40000000, "KRW", "fixed")),     # 158894 예상 금액
        ("5,500,000원/월", "기간제", Budget(5500000, 5500000, "KRW", "monthly")),  # 158896 target budget
        ("월 금액 5,500,000원 /월", "기간제", Budget(5500000, 5500000, "KRW", "monthly")),  # its card
        ("예상 금액 350,000원", "외주", Budget(350000, 350000, "KRW", "fixed")),
        ("협의 후 결정", "외주", Budget()),
        ("5,500,000원", "기간제", Budget(5500000, 5500000, "KRW", "monthly")),
    ],
)
def test_budget_texts(text: str, work_type: str, budget: Budget) -> None:
    assert parser.budget_from_text(text, work_type) == budget


def test_capture_detail_values_normalise(captures: Path) -> None:
    """The values extracted from live detail pages go through the same helpers and item builder
    as our own pages."""
    loaded = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))["payload"]
        for path in sorted((captures / "wishket").glob("detail-*.json"))
    }
    fixed, private, monthly = loaded["detail-158857"], loaded["detail-158894"], loaded["detail-158896"]

    assert [parser.duration_days(p["detail"]["fields"]["예상 기간"]) for p in (fixed, private, monthly)] == [3, 120, 180]
    assert parser.duration_days(fixed["listCard"]["termText"]) == 3  # "예상 기간3일"
    assert parser.parse_instant(fixed["detail"]["fields"]["모집 마감일"], parser.KST) == "2026-10-07T15:00:00+00:00"
    assert parser.posted_from_text(fixed["detail"]["registeredText"]) == "2026-10-01T15:00:00+00:00"
    assert parser.posted_from_text(fixed["listCard"]["registeredText"]) == "2026-10-01T15:00:00+00:00"
    assert [parser.proposals_from_text(p["detail"]["fields"]["지원자 수"]) for p in (fixed, private, monthly)] == [7, None, 0]
    assert parser.proposals_from_text(monthly["listCard"]["applicantText"]) == 0
    assert parser.category_from_groups(fixed["detail"]["categoryGroups"]) == "개발 > 웹"
    assert parser.category_from_groups(private["detail"]["categoryGroups"]) == "개발, 디자인, 기획 > 웹, 안드로이드"
    assert parser.category_from_groups(monthly["detail"]["categoryGroups"]) is None
    assert parser.work_type_of(None, monthly["detail"]["statusMarks"]) == "기간제"
    assert parser.remote_from_labels(fixed["detail"]["statusMarks"]) is None  # 외주 alone: not a place
    assert parser.status_from_marks(private["detail"]["statusMarks"]) == "open"

    items = {name: parser.build_item(p["listCard"], p["detail"], SCRAPED_AT) for name, p in loaded.items()}
    assert_fields(items["detail-158857"], {
        "external_id": "158857", "title": ".NET 기반 기능 수정 및 보안 개발", "client": "la******",
        "budget_min": 350000, "budget_max": 350000, "currency": "KRW", "budget_type": "fixed",
        "duration_days": 3, "proposals": 7, "location": "서울특별시 영등포구", "category": "개발 > 웹",
        "skills": ["ASP.NET", "C#", "MSSQL", ".Net", "Windows Server"], "remote": None, "status": "open",
        "posted_at": "2026-10-01T15:00:00+00:00", "deadline_at": "2026-10-07T15:00:00+00:00",
    })
    assert items["detail-158857"]["description"].startswith("[프로젝트 개요]\n- 운영 중인 법조인 인명 검색 시스템")
    assert_fields(items["detail-158894"], {
        "budget_min": 40000000, "budget_type": "fixed", "duration_days": 120, "proposals": None,
        "description": None,  # the private-matching notice is not a description
        "client": "ol******", "deadline_at": "2026-10-15T15:00:00+00:00",
    })
    assert_fields(items["detail-158896"], {
        "title": "Java 기반 녹취 솔루션 구축 PL", "budget_min": 5500000, "budget_max": 5500000,
        "budget_type": "monthly", "duration_days": 180, "proposals": 0, "skills": ["Java"],
        "location": "서울특별시 영등포구", "category": None, "deadline_at": "2026-10-15T15:00:00+00:00",
    })
    for item in items.values():
        assert check_posting(dict(item)) == [], item["external_id"]


@pytest.mark.parametrize(
    ("labels", "remote"),
    [
        (["모집 중", "외주"], None),
        (["기간제"], None),
        (["기간제", "상주"], False),
        (["외주", "반상주"], False),
        (["외주", "재택"], True),
        (["원격 근무"], True),
        (["재택", "상주"], None),  # both: the posting does not settle it
        (["비상주"], True),        # "not on site"
        (["외주", "비 상주"], True),
        ([None, ""], None),
    ],
)
def test_remote_from_labels(labels: list[str | None], remote: bool | None) -> None:
    assert parser.remote_from_labels(labels) is remote


@pytest.mark.parametrize(
    ("text", "days"),
    [("예상 기간300일", 300), ("120일", 120), ("2주", 14), ("3개월", 90), ("1,000일", 1000), ("미정", None), (None, None)],
)
def test_duration_days(text: str | None, days: int | None) -> None:
    assert parser.duration_days(text) == days


def test_json_ld_salary_forms() -> None:
    assert parser.budget_from_salary("2,000만원 (부가세 별도)") == Budget(20000000, 20000000, "KRW", "fixed")
    assert parser.budget_from_salary({"currency": "KRW", "value": {"minValue": 3000000, "maxValue": 5000000, "unitText": "MONTH"}}) == Budget(3000000, 5000000, "KRW", "monthly")
    assert parser.budget_from_salary({"currency": "KRW", "value": 1200000}, "기간제") == Budget(1200000, 1200000, "KRW", "monthly")
    assert parser.budget_from_salary(None) == Budget()


# --- pages that must not pass as "no postings" ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-chl'></div></body></html>", "challenge_page"),
        (b"<!DOCTYPE html><html><body><div class='project-list-view'></div></body></html>", "not_json"),  # HTML where JSON was due
        (b'{"result": "<div class=\\"project-info', "invalid_json"),
        (b'{"html": "", "total": 3}', "unexpected_structure"),
        (b'{"result": "<div>", "count": "many"}', "unexpected_structure"),
        (envelope("<div class='project-list'><p>목록</p></div>", 12), "no_cards"),  # result without the card container
        (envelope("<div class='login-box'>로그인이 필요합니다</div>", 12), "login_wall"),
        (envelope("<div class='project-info-box'><section class='project-organic-info'><p>x</p></section></div>", 1), "card_without_link"),
    ],
)
def test_unrecognised_listing_raises(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response_from(body, LIST_URL))
    assert error.value.reason == reason


def test_genuinely_empty_result_and_the_end_of_the_list_are_not_errors() -> None:
    empty = parser.parse_listing(response_from(envelope("<div class='no-result'>검색 결과가 없습니다.</div>", 0), LIST_URL))
    assert empty.entries == [] and empty.total == 0
    # A later page without cards is where the list runs out.
    beyond = parser.parse_listing(response_from(envelope("", 25), LIST_URL), page=4)
    assert beyond.entries == [] and not parser.has_next_page(beyond, 20, 0)


def test_pagination_stops_at_count_or_when_cards_repeat() -> None:
    page, _ = fixture_listing("list-page-1")
    assert parser.has_next_page(page, seen=3, new_on_page=3)
    assert not parser.has_next_page(page, seen=5, new_on_page=2)   # count (5) reached
    assert not parser.has_next_page(page, seen=3, new_on_page=0)   # the site repeated a page


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("detail-201003-locked.html", "login_wall"),
        ("detail-201004-unrecognised.html", "detail_not_recognised"),
    ],
)
def test_unrecognised_detail_raises(page: str, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_detail(detail_response(page, "201003"), card_by_id("201003"), SCRAPED_AT)
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><head><title>Just a moment...</title></head><body>challenge-platform</body></html>", "challenge_page"),
        (b'{"result": "", "count": 0}', "not_html"),
    ],
)
def test_detail_challenge_and_json_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.extract_detail(body.decode())
    assert error.value.reason == reason


def test_listing_with_an_error_status_is_named_by_what_it_is() -> None:
    def answer(status: int, body: bytes) -> TextResponse:
        return TextResponse(LIST_URL, status=status, body=body, encoding="utf-8", request=Request(LIST_URL))

    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(answer(403, b"<html><title>Just a moment...</title><div id='cf-chl'></div></html>"))
    assert error.value.reason == "challenge_page"
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(answer(403, b'{"result": "", "count": 0}'))
    assert error.value.reason == "http_403"



def test_an_outsourcing_cards_field_is_the_second_category_level() -> None:
    """외주 cards list the categories and, in p.project-field, the fields of the work: the
    contract's "개발 > 웹" shape; a 기간제 card's slots are a role and a level, not a category."""
    page = parser.parse_listing(response_from(envelope(fixture_path("wishket", "list-fields.cards.html").read_text(encoding="utf-8"), 3), LIST_URL))
    web, multi, staffing = page.entries
    assert (web["roleOrCategory"], web["fieldText"], web["fieldSubcategory"]) == ("개발", "웹", "네트워크ㆍ서버 운영")
    assert [parser.item_from_entry(card, SCRAPED_AT)["category"] for card in page.entries] == [
        "개발 > 웹", "개발, 디자인, 기획 > 웹, 안드로이드", None]
    assert "fieldText" not in staffing
    assert parser.category_from_card("개발 · 디자인", "외주") == "개발, 디자인"  # a card without fields
