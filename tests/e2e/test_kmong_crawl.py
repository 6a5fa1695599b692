"""Kmong end to end: real `scrapy crawl kmong` processes against the local mirror, into a fresh
PostgreSQL; the browser path through scrapy-playwright and Debian's headless Chromium."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.normalize.dates import KST
from outsourcing.platforms.kmong import parser
from outsourcing.platforms.kmong.spider import CHROMIUM
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

JSON = "application/json"
STORED = ["700101", "700102", "700104", "700105"]  # 700103 is confidential
CHALLENGE = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-chl'></div></body></html>"
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def serve_board_api(mirror: Mirror, project_type: str = "OUTSOURCING") -> None:
    """List pages at the API's exact paths and queries, and every request's detail."""
    if project_type == "OUTSOURCING":
        pages = {1: "list-outsourcing-page-1.json", 2: "list-outsourcing-page-2.json"}
    else:
        pages = {1: "list-resident-page-1.json"}
    for page, name in pages.items():
        mirror.add_file(parser.list_path(page, project_type, "6"), fixture_path("kmong", name), content_type=JSON)
    for path in sorted(fixture_path("kmong").glob("detail-*.json")):
        request_id = path.stem.removeprefix("detail-")
        mirror.add_file(parser.detail_path(request_id), path, content_type=JSON)


def expected_deadline(scraped_at: datetime, days_left: int) -> datetime:
    day = scraped_at.astimezone(KST).date() + timedelta(days=days_left)
    return datetime(day.year, day.month, day.day, tzinfo=KST)


def stored(database_url: str) -> dict[str, dict[str, Any]]:
    rows = query(database_url, "SELECT * FROM postings WHERE platform = 'kmong' ORDER BY external_id")
    return {row["external_id"]: row for row in rows}


def test_api_pages_details_and_confidential_skip(mirror, crawl, database_url) -> None:
    serve_board_api(mirror)
    result = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]

    rows = stored(database_url)
    assert sorted(rows) == STORED
    shop = rows["700105"]
    assert shop["url"] == "https://kmong.com/custom-project/requests/700105"
    assert shop["title"] == "쇼핑몰 웹사이트 리뉴얼 (React & Node.js)"
    assert (shop["budget_min"], shop["budget_max"], shop["currency"], shop["budget_type"]) == (15000000, 15000000, "KRW", "fixed")
    assert (shop["category"], shop["skills"], shop["duration_days"]) == ("IT·프로그래밍 > 웹사이트 개발", ["React", "Node.js"], 60)
    assert (shop["proposals"], shop["status"], shop["remote"], shop["posted_at"]) == (4, "open", None, None)
    # deadline: 7 days left, counted from the day the response arrived in Seoul, at 00:00 there.
    assert shop["deadline_at"] == expected_deadline(shop["scraped_at"], 7)
    assert "[phone removed]" in shop["description"] and "010-1234-5678" not in shop["raw"]
    assert json.loads(shop["raw"])["detail"]["breadcrumb"] == "IT·프로그래밍 / 웹사이트 개발"
    assert rows["700104"]["budget_min"] is None and rows["700104"]["currency"] is None
    assert rows["700101"]["status"] == "closed"

    # Both list pages once, every detail once (the confidential one is read, then skipped).
    assert mirror.count(parser.list_path(1)) == 1 and mirror.count(parser.list_path(2)) == 1
    assert all(mirror.count(parser.detail_path(i)) == 1 for i in (*STORED, "700103"))
    assert result.stat("outsourcing/kmong/confidential_skipped") == 1
    assert result.stat("outsourcing/listing_pages/recognised") == 2
    # The plain path starts no browser (and no Playwright driver).
    assert "scrapy-playwright" not in result.log and "playwright/" not in result.log

    assert result.feed is not None and sorted(row["external_id"] for row in result.feed) == STORED
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["exit_code"], run["scraped"], run["inserted"]) == ("kmong", 0, 4, 4)


def test_max_pages_and_max_items_bound_the_crawl(mirror, crawl, database_url) -> None:
    serve_board_api(mirror)
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"max_pages": "1"})
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(stored(database_url)) == ["700104", "700105"]
    assert mirror.count(parser.list_path(2)) == 0

    again = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"max_items": "1"})
    assert again.returncode == 0, again.log[-3000:]
    assert mirror.count(parser.detail_path(700104)) == 1  # only from the first run
    assert mirror.count(parser.list_path(2)) == 0


def test_resident_board_is_monthly_and_on_site(mirror, crawl, database_url) -> None:
    serve_board_api(mirror, "RESIDENT")
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"project_type": "RESIDENT"})
    assert result.returncode == 0, result.log[-3000:]
    row = stored(database_url)["700201"]
    assert (row["budget_min"], row["budget_type"], row["remote"], row["duration_days"]) == (6500000, "monthly", False, 180)
    assert mirror.count(parser.list_path(1, "RESIDENT", "6")) == 1


def test_challenge_page_where_the_list_was_due_fails_the_crawl(mirror, crawl, database_url) -> None:
    serve_board_api(mirror)
    mirror.add(parser.list_path(1), Reply(status=403, body=CHALLENGE.encode()))
    result = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-3000:]
    assert "page not recognised" in result.log and "challenge_page" in result.log
    assert f"{mirror.url}{parser.list_path(1)}" in result.log
    assert result.stat("outsourcing/unrecognised/challenge_page") == 1
    assert stored(database_url) == {}
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1
    assert "no listing page of the platform could be read or recognised" in run["problems"]


def test_login_wall_is_named_and_fails_the_crawl(mirror, crawl, database_url) -> None:
    body = json.dumps({"code": "UNAUTHORIZED", "message": "로그인이 필요합니다."}, ensure_ascii=False)
    mirror.add(parser.list_path(1), Reply(status=401, body=body.encode(), content_type=JSON))
    result = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-3000:]
    assert "login_required" in result.log and f"{mirror.url}{parser.list_path(1)}" in result.log
    assert result.stat("outsourcing/unrecognised/login_required") == 1


def test_a_bad_second_page_is_an_error_but_the_first_is_stored(mirror, crawl, database_url) -> None:
    serve_board_api(mirror)
    mirror.add(parser.list_path(2), '{"total": 5, "last_page": 2}', content_type=JSON)
    result = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]  # a listing page was recognised
    assert "unexpected_structure" in result.log and f"{mirror.url}{parser.list_path(2)}" in result.log
    assert sorted(stored(database_url)) == ["700104", "700105"]
    assert query(database_url, "SELECT errors FROM crawl_runs")[0]["errors"] == 1



def test_a_detail_that_fails_still_stores_the_posting_from_its_list_entry(mirror, crawl, database_url) -> None:
    """Nothing lost: a detail answer that is gone (404) or not understood (an HTML page where
    JSON was due) costs the posting its form answers, not the posting itself."""
    serve_board_api(mirror)
    mirror.add(parser.detail_path(700105), Reply(status=404, body=b"not found"))
    mirror.add(parser.detail_path(700104), "<html><body>점검 중입니다</body></html>")
    result = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]  # warnings and stats, every posting stored

    rows = stored(database_url)
    assert sorted(rows) == STORED
    shop = rows["700105"]  # from its list entry: title, amount, days, deadline, category
    assert shop["title"] == "쇼핑몰 웹사이트 리뉴얼 (React + Node.js)"  # the list's own wording
    assert (shop["budget_min"], shop["budget_type"], shop["category"]) == (15000000, "fixed", "IT·프로그래밍 > 웹사이트 개발")
    assert shop["skills"] == []  # the skills are in the detail's form answers
    assert json.loads(shop["raw"])["detail"] == {}
    assert rows["700102"]["skills"]  # a detail that was read still gives them
    assert result.stat("outsourcing/request_errors/http_404") == 1
    assert result.stat("outsourcing/detail_unrecognised/not_json") == 1
    assert f"{mirror.url}{parser.detail_path(700104)}" in result.log and "keeping the list entry" in result.log
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["exit_code"], run["scraped"], run["inserted"], run["errors"]) == (0, 4, 4, 2)

# --- the browser path: scrapy-playwright + Debian's Chromium -----------------------------------

@pytest.fixture
def chromium() -> str:
    """The browser tests need /usr/bin/chromium; its absence is a failure (CI installs it),
    never a silent skip."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the kmong browser path needs Debian's Chromium "
                    "(apt-get install chromium); CI installs it", pytrace=False)
    return CHROMIUM


def serve_board_page(mirror: Mirror, html: bytes | None = None) -> None:
    # Every board URL (any query) gets the page; its script reads page/project_type itself.
    body = html if html is not None else fixture_path("kmong", "board.html").read_bytes()
    mirror.add(parser.BOARD_PATH, body)


@pytest.mark.browser
def test_browser_path_captures_the_pages_own_list_json(mirror, crawl, database_url, chromium) -> None:
    serve_board_api(mirror)
    serve_board_page(mirror)
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"browser": "1"})
    assert result.returncode == 0, result.log[-5000:]

    rows = stored(database_url)
    assert sorted(rows) == STORED
    chatbot = rows["700102"]
    assert (chatbot["title"], chatbot["budget_min"], chatbot["skills"]) == ("AI 챗봇 MVP 개발", 30000000, ["Python", "TypeScript"])
    assert chatbot["deadline_at"] == expected_deadline(chatbot["scraped_at"], 14)
    assert result.stat("outsourcing/kmong/confidential_skipped") == 1

    # Chromium loaded both board pages; the list JSON was fetched by the pages' own script
    # (Referer: the board page), never by Scrapy directly.
    boards = [r for r in mirror.requests if r.path.startswith(parser.BOARD_PATH + "?")]
    assert [r.path for r in boards] == [parser.board_path(1), parser.board_path(2)]
    lists = [r for r in mirror.requests if r.path.startswith(parser.LIST_PATH + "?")]
    assert [r.path for r in lists] == [parser.list_path(1), parser.list_path(2)]
    for board, listing in zip(boards, lists, strict=False):
        headers = {k.lower(): v for k, v in listing.headers.items()}
        assert headers.get("referer") == f"{mirror.url}{board.path}"
        assert headers["user-agent"].startswith("outsourcing-crawler/")  # the crawler's own name
    assert result.stat("playwright/page_count") == 2
    assert result.stat("outsourcing/listing_pages/recognised") == 2
    assert "Launching browser chromium" in result.log
    # scrapy-playwright runs on the project's reactor: still the asyncio one.
    assert f"on {ASYNCIO_REACTOR} with " in result.log
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["exit_code"], run["inserted"]) == (0, 4)


@pytest.mark.browser
def test_browser_path_obeys_robots_txt(mirror, crawl, database_url, chromium) -> None:
    serve_board_api(mirror)
    serve_board_page(mirror)
    mirror.add("/robots.txt", "User-agent: *\nDisallow: /custom-project/\n", content_type="text/plain")
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"browser": "1"})
    assert result.returncode == 1, result.log[-3000:]
    assert mirror.count(parser.BOARD_PATH) == 0 and mirror.count(parser.LIST_PATH) == 0
    assert result.stat("robotstxt/forbidden") == 1
    assert stored(database_url) == {}


@pytest.mark.browser
def test_browser_board_that_fetches_no_list_is_reported(mirror, crawl, database_url, chromium) -> None:
    serve_board_api(mirror)
    serve_board_page(mirror, b"<!DOCTYPE html><html><body><ul id='cards'></ul></body></html>")
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"browser": "1"},
                   settings={"KMONG_BROWSER_CAPTURE_TIMEOUT": "2"})
    assert result.returncode == 1, result.log[-3000:]
    assert "list_json_not_captured" in result.log and f"{mirror.url}{parser.board_path(1)}" in result.log
    assert result.stat("outsourcing/unrecognised/list_json_not_captured") == 1
