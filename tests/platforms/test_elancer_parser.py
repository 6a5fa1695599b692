"""Elancer parser: own fixtures (no capture exists) field by field, and pages it must refuse."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from outsourcing.normalize.money import Budget
from outsourcing.platforms.elancer import parser
from outsourcing.platforms.pages import PageNotRecognised
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, response_from

ORIGIN = "https://www.elancer.co.kr"
PROJECT_IDS = ["48216", "48215", "48214", "48212", "48211"]


def sitemap_response(name: str | bytes, url: str = f"{ORIGIN}/sitemap.xml"):
    body = name if isinstance(name, bytes) else fixture_path("elancer", name).read_bytes()
    return response_from(body, url, kind="xml")


def detail_response(project_id: str, body: bytes | None = None):
    content = body if body is not None else fixture_path("elancer", f"project_detail-{project_id}.html").read_bytes()
    return response_from(content, f"{ORIGIN}/project_detail/{project_id}", kind="html")


# --- sitemaps ----------------------------------------------------------------------------------

def test_sitemap_index_lists_child_sitemaps_on_the_site_only() -> None:
    sitemap = parser.parse_listing(sitemap_response("sitemap.xml"))
    assert sitemap.more == [f"{ORIGIN}/sitemap_project_1.xml", f"{ORIGIN}/sitemap_project_2.xml"]
    assert sitemap.entries == []


def test_urlset_keeps_project_pages_newest_first() -> None:
    first = parser.parse_listing(sitemap_response("sitemap_project_1.xml", f"{ORIGIN}/sitemap_project_1.xml"))
    assert first.more == []
    assert [(p.project_id, p.url, p.lastmod) for p in first.entries] == [
        ("48216", f"{ORIGIN}/project_detail/48216", "2026-10-01"),
        ("48215", f"{ORIGIN}/project_detail/48215", "2026-09-30"),
        ("48214", f"{ORIGIN}/project_detail/48214", "2026-09-29"),
    ]
    # Written out of order: sorted by lastmod, newest first.
    second = parser.parse_listing(sitemap_response("sitemap_project_2.xml", f"{ORIGIN}/sitemap_project_2.xml"))
    assert [p.project_id for p in second.entries] == ["48214", "48213", "48212", "48211"]


def test_without_lastmod_everywhere_the_sitemaps_own_order_stays() -> None:
    body = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://www.elancer.co.kr/project_detail/3</loc></url>"
        b"<url><loc>https://www.elancer.co.kr/project_detail/9</loc><lastmod>2026-10-01</lastmod></url>"
        b"<url><loc>https://www.elancer.co.kr/project_detail/1/</loc></url>"
        b"<url><loc>https://www.elancer.co.kr/project_detail/3</loc></url>"
        b"<url><loc>https://other.example.com/project_detail/7</loc></url>"
        b"</urlset>"
    )
    assert [p.project_id for p in parser.parse_listing(sitemap_response(body)).entries] == ["3", "9", "1"]


def test_gzipped_sitemap_file() -> None:
    body = gzip.compress(fixture_path("elancer", "sitemap_project_1.xml").read_bytes())
    sitemap = parser.parse_listing(response_from(body, f"{ORIGIN}/sitemap_project_1.xml.gz", kind="text"))
    assert [p.project_id for p in sitemap.entries] == ["48216", "48215", "48214"]


def test_sitemap_without_projects_is_a_genuine_empty_result() -> None:
    body = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'
    sitemap = parser.parse_listing(sitemap_response(body))
    assert sitemap.entries == [] and sitemap.more == [] and sitemap == parser.Listing()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-chl'></div></body></html>",
         "challenge_page"),
        (b"<!DOCTYPE html><html lang='ko'><head><meta charset='utf-8'><title>\xec\x9d\xb4\xeb\x9e\x9c\xec\x84\x9c</title>"
         b"</head><body><p>404</p></body></html>", "html_not_sitemap"),
        (b"<html><head><title>x</title></head><body>well-formed html</body></html>", "html_not_sitemap"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', "not_sitemap"),
        (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>', "invalid_xml"),
        (b"\x1f\x8b\x08\x00broken", "invalid_gzip"),
    ],
)
def test_unrecognised_sitemaps_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(sitemap_response(body))
    assert error.value.reason == reason


# --- project pages -----------------------------------------------------------------------------

def test_raw_is_the_job_posting_without_personal_data() -> None:
    item = parser.parse_detail(detail_response("48215"), None, SCRAPED_AT)  # id from the URL
    assert item["external_id"] == "48215"
    assert item["raw"]["@type"] == "JobPosting" and item["raw"]["experienceRequirements"] == "중급"
    assert "recruit@elancer-partner.kr" not in json.dumps(item["raw"], ensure_ascii=False)
    phone = parser.parse_detail(detail_response("48216"), None, SCRAPED_AT)
    assert "02-555-1234" not in json.dumps(phone["raw"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (fixture_path("elancer", "project_detail-48213.html").read_bytes(), "no_jsonld"),
        (b"<html><head><title>Just a moment...</title></head><body><div class='cf-chl'></div></body></html>",
         "challenge_page"),
        (b'<html><head><script type="application/ld+json">{"@type": "JobPosting", "title": </script></head></html>',
         "invalid_jsonld"),
        (b'<html><head><script type="application/ld+json">{"@type": "Organization", "name": "x"}</script></head></html>',
         "no_jobposting"),
        (b'<html><head><script type="application/ld+json">{"@type": "JobPosting", "title": " "}</script></head></html>',
         "unexpected_structure"),
    ],
)
def test_unrecognised_project_pages_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_detail(detail_response("1", body), "1", SCRAPED_AT)
    assert error.value.reason == reason


def test_a_page_that_is_not_a_project_page() -> None:
    response = response_from(b"<html></html>", f"{ORIGIN}/project_list", kind="html")
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_detail(response, None, SCRAPED_AT)
    assert error.value.reason == "unexpected_structure"


# --- the rules, table by table -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("월 단가 : 650 ~ 750만원", (6_500_000, 7_500_000)),
        ("■ 월 단가: 700만원", (7_000_000, 7_000_000)),
        ("월단가 600만 ~ 700만", (6_000_000, 7_000_000)),
        ("월 단가 : 300 ~ 400 (VAT 별도)", (3_000_000, 4_000_000)),   # no unit: 만원
        ("월 단가 : 550", (5_500_000, 5_500_000)),
        ("월 단가: 500만원 이상", (5_000_000, None)),
        ("월 단가: 최대 800만원", (None, 8_000_000)),
        ("월 단가 : 6,500,000원", (6_500_000, 6_500_000)),
        ("월 단가 : (2026년 기준) 600만원", (6_000_000, 6_000_000)),  # a year is not an amount
        ("월 단가 : 협의", None),
        ("월 단가 : 경력에 따라 조정", None),
        ("예상 금액 500만원", None),   # not the monthly rate line
        ("", None),
    ],
)
def test_monthly_rate(text: str, expected: tuple[Any, Any] | None) -> None:
    budget = parser.monthly_rate(text)
    if expected is None:
        assert budget == Budget()
    else:
        assert (budget.minimum, budget.maximum, budget.currency, budget.budget_type) == (*expected, "KRW", "monthly")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"currency": "KRW", "value": {"minValue": 7000000, "maxValue": 8000000, "unitText": "MONTH"}},
         Budget(7_000_000, 8_000_000, "KRW", "monthly")),
        ({"currency": "KRW", "value": {"value": 6000000}}, Budget(6_000_000, 6_000_000, "KRW", "monthly")),
        ({"currency": "KRW", "value": 50000, "unitText": "HOUR"}, Budget(50_000, 50_000, "KRW", "monthly")),
        ({"currency": "KRW", "value": {"value": 50000, "unitText": "HOUR"}}, Budget(50_000, 50_000, "KRW", "hourly")),
        ({"currency": "KRW", "value": {"value": 0}}, Budget()),
        (None, Budget()),
        ("700만원", Budget()),
    ],
)
def test_base_salary(value: Any, expected: Budget) -> None:
    assert parser.base_salary(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("상주", False),
        ("재택", True),
        ("반상주 (주 2회 출근)", False),   # some days on site: not work from anywhere
        ("부분 상주", False),
        ("비상주", True),
        ("원격 근무", True),
        ("상주 (협의 후 재택 가능)", False),
        ("재택 불가", False),
        ("Remote", True),
        ("서울 강남구", None),
        ("", None),
        (None, None),
    ],
)
def test_work_arrangement(text: str | None, expected: bool | None) -> None:
    assert parser.work_arrangement(text) is expected


def remote_of(title: str, description: str, **posting: Any) -> bool | None:
    body = json.dumps({"@type": "JobPosting", "title": title, "description": description, **posting},
                      ensure_ascii=False)
    html = f'<html><head><script type="application/ld+json">{body}</script></head></html>'.encode()
    return parser.parse_detail(detail_response("5", html), "5", SCRAPED_AT)["remote"]


def test_remote_reads_labels_and_title_tags_only() -> None:
    assert remote_of("[상주] 백엔드 개발", "내용") is False
    assert remote_of("앱 개발 (재택)", "내용") is True
    assert remote_of("앱 개발", "근무 방식 : 재택") is True
    assert remote_of("앱 개발", "투입 형태: 반상주") is False
    assert remote_of("앱 개발", "내용", jobLocationType="TELECOMMUTE") is True
    # A project about remote work is not remote work.
    assert remote_of("재택근무 관리 시스템 개발", "재택 근무자의 출퇴근을 기록하는 시스템") is None
    # The label wins over a title tag.
    assert remote_of("[재택] 운영 지원", "근무 형태 : 상주 (첫 달)") is False


@pytest.mark.parametrize(
    ("title", "description", "expected"),
    [
        ("x", "기간 : 2026.11.01 ~ 2027.04.30", 180),
        ("x", "프로젝트 기간: 2026-01-01 ~ 2026-01-31", 30),
        ("x", "투입 기간 : 2개월", 60),
        ("x", "계약 기간 6개월 (연장 가능)", 180),
        ("x", "기간: 2주", 14),
        ("x", "기간: 1년", 365),
        ("x", "모집 기간 : 2026.10.01 ~ 2026.10.20", None),  # the application window is not the work
        ("차세대 구축 (6개월)", "내용", 180),
        ("긴급 3일 작업", "내용", None),
        ("x", "기간: 협의", None),
        (None, None, None),
    ],
)
def test_duration_days(title: str | None, description: str | None, expected: int | None) -> None:
    assert parser.duration_days(title, description) == expected


@pytest.mark.parametrize(
    ("valid_through", "scraped_at", "expected"),
    [
        ("2026-10-02", "2026-10-02T14:59:59+00:00", "open"),    # 23:59 KST on the last day
        ("2026-10-02", "2026-10-02T15:00:00+00:00", "closed"),  # 00:00 KST the next day
        ("2026-10-02T18:00:00", "2026-10-02T08:59:59+00:00", "open"),
        ("2026-10-02T18:00:00", "2026-10-02T09:00:01+00:00", "closed"),
        (None, "2026-10-02T06:00:00+00:00", None),
    ],
)
def test_status_from_valid_through(valid_through: str | None, scraped_at: str, expected: str | None) -> None:
    extra = {"validThrough": valid_through} if valid_through else {}
    body = json.dumps({"@type": "JobPosting", "title": "t", **extra}).encode()
    html = b'<html><head><script type="application/ld+json">' + body + b"</script></head></html>"
    assert parser.parse_detail(detail_response("5", html), "5", scraped_at)["status"] == expected
