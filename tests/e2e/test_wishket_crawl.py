"""`scrapy crawl wishket` end to end: the local mirror plays Wishket (the list endpoint decodes the
LZString filter and pages by the `page` inside it), rows land in a fresh PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.mirror.server import MirrorRequest
from outsourcing.normalize.dates import KST
from outsourcing.platforms.wishket import parser
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

UTC = UTC
TOTAL = 5  # projects on the two list pages
PERSONAL = ("hong.gildong@example.com", "010-1234-5678", "02-123-4567")
TEXT_COLUMNS = ("title", "description", "client", "category", "location")


def cards(page: int) -> str:
    path = fixture_path("wishket", f"list-page-{page}.cards.html")
    return path.read_text(encoding="utf-8") if path.exists() else ""


def serve_wishket(mirror: Mirror, seen_filters: list[dict[str, str]]) -> None:
    def listing(request: MirrorRequest) -> Reply:
        if request.headers.get("X-Requested-With") != "XMLHttpRequest":
            # Without the XHR header the site sends its full page, not the JSON fragment.
            return Reply(body=b"<!DOCTYPE html><html><body><div class='project-list-view'></div></body></html>")
        filters = parser.decode_filter(request.query["d"][0])
        seen_filters.append(filters)
        body = json.dumps({"result": cards(int(filters["page"])), "count": TOTAL}, ensure_ascii=False)
        return Reply(body=body.encode("utf-8"), content_type="application/json")

    mirror.add("/project/", listing)
    for project, page in [("201001", "detail-201001.html"), ("201002", "detail-201002.html"),
                          ("201003", "detail-201003-locked.html"), ("201004", "detail-201004-unrecognised.html")]:
        mirror.add_file(f"/project/{project}/", fixture_path("wishket", page), content_type="text/html; charset=utf-8")
    # /project/201005/ is not in the mirror: 404.


def midnight_kst(moment: datetime, days: int) -> datetime:
    day = moment.astimezone(KST).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=KST).astimezone(UTC)


def test_wishket_crawl_pages_reads_details_and_keeps_cards_of_withheld_details(mirror, crawl, database_url) -> None:
    filters: list[dict[str, str]] = []
    serve_wishket(mirror, filters)
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"category": "development"})
    assert result.returncode == 0, result.log[-4000:]

    # Two list pages (count 5 reached after page 2: no page 3), with the filter's arguments.
    assert [f["page"] for f in filters] == ["1", "2"]
    assert all(f["c"] == "development" and f["srt"] == "new" for f in filters)
    assert result.stat("outsourcing/listing_pages/recognised") == 2
    assert mirror.count("/project/201005/") == 1

    rows = {row["external_id"]: row for row in query(database_url, "SELECT * FROM postings WHERE platform = 'wishket'")}
    assert sorted(rows) == ["201001", "201002", "201003", "201004", "201005"]

    full = rows["201001"]  # detail read: JSON-LD + condition rows
    assert full["url"] == "https://www.wishket.com/project/201001/"
    assert (full["budget_min"], full["budget_max"], full["currency"], full["budget_type"]) == (Decimal(12500000), Decimal(12500000), "KRW", "fixed")
    assert full["posted_at"] == datetime(2026, 9, 28, 1, 12, tzinfo=UTC)           # 10:12 KST
    assert full["deadline_at"] == datetime(2026, 10, 12, 14, 59, 59, tzinfo=UTC)   # 23:59:59 KST
    assert (full["category"], full["skills"], full["proposals"], full["status"]) == ("개발 > 웹", ["Python", "Django", "PostgreSQL"], 5, "open")
    assert full["description"].endswith("담당자 [email removed] / [phone removed]")
    assert json.loads(full["raw"])["detail"]["fields"]["예상 기간"] == "45일"

    monthly = rows["201002"]
    assert (monthly["budget_min"], monthly["budget_type"], monthly["remote"], monthly["duration_days"]) == (Decimal(6200000), "monthly", False, 180)

    # Locked (login wall), unrecognised and missing details: each stored from its card.
    locked, unread, gone = rows["201003"], rows["201004"], rows["201005"]
    assert (locked["title"], locked["status"], locked["budget_min"], locked["description"]) == ("사내 그룹웨어 모바일 앱 구축", "open", None, None)
    assert json.loads(locked["raw"])["private"] is True
    assert (unread["proposals"], unread["budget_min"], unread["currency"], unread["skills"]) == (12, None, None, ["Figma", "Photoshop"])
    # "마감 3일 전" on the card: three days after the day the list was received, 00:00 KST.
    assert unread["deadline_at"] == midnight_kst(unread["scraped_at"], 3)
    assert (gone["status"], gone["budget_min"], gone["posted_at"]) == ("closed", Decimal(3000000), datetime(2026, 8, 31, 15, tzinfo=UTC))

    assert result.stat("outsourcing/detail_restricted/login_wall") == 1
    assert result.stat("outsourcing/detail_unrecognised/detail_not_recognised") == 1
    assert result.stat("outsourcing/request_errors/http_404") == 1
    assert "keeping the listing card" in result.log and "/project/201005/" in result.log

    # Personal data: nowhere in the text columns or the raw payload.
    for row in rows.values():
        stored = " ".join(str(row[column]) for column in TEXT_COLUMNS) + row["raw"]
        assert not any(secret in stored for secret in PERSONAL), row["external_id"]
    assert result.stat("outsourcing/validation/pii_removed") is None  # the parser had done it
    assert result.stat("outsourcing/pii/removed") > 0  # removed once, where the postings were built

    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["exit_code"], run["scraped"], run["inserted"]) == ("wishket", 0, 5, 5)
    assert result.feed is not None and len(result.feed) == 5


def test_wishket_crawl_delay_is_overridden_by_the_command_line(mirror, crawl, database_url) -> None:
    serve_wishket(mirror, [])
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"details": "false"})
    assert result.returncode == 0, result.log[-4000:]
    assert "'DOWNLOAD_DELAY': '0'" in result.log  # -s DOWNLOAD_DELAY=0 beats the spider's 5 s
    listing = [r.at for r in mirror.requests if r.path.startswith("/project/?")]
    assert len(listing) == 2 and listing[1] - listing[0] < 2.0
    assert mirror.count("/project/201001/") == 0  # details=false: the list only
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 5


def test_wishket_max_pages_stops_after_the_first_page(mirror, crawl, database_url) -> None:
    filters: list[dict[str, str]] = []
    serve_wishket(mirror, filters)
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"max_pages": "1", "details": "false"})
    assert result.returncode == 0, result.log[-4000:]
    assert [f["page"] for f in filters] == ["1"]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=403, body=b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
                                 b"<body><div id='challenge-platform'></div></body></html>"), "challenge_page"),
        (Reply(body=b"<!DOCTYPE html><html><body><div class='project-list-view'></div></body></html>"), "not_json"),
        (Reply(body=json.dumps({"result": "<div class='empty'>x</div>", "count": 7}).encode(), content_type="application/json"), "no_cards"),
    ],
)
def test_wishket_unrecognised_listing_fails_the_crawl(mirror, crawl, database_url, reply: Reply, reason: str) -> None:
    mirror.add("/project/", reply)
    result = crawl("wishket", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-4000:]
    error_lines = [line for line in result.log.splitlines() if "ERROR" in line and "page not recognised" in line]
    assert len(error_lines) == 1
    assert f"{mirror.url}/project/?d=" in error_lines[0] and reason in error_lines[0] and "wishket" in error_lines[0]
    assert result.stat(f"outsourcing/unrecognised/{reason}") == 1
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1 and "no listing page of the platform could be read or recognised" in run["problems"]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 0


def test_wishket_empty_result_is_not_a_failure(mirror, crawl, database_url) -> None:
    mirror.add("/project/", json.dumps({"result": "<div class='no-result'>조건에 맞는 프로젝트가 없습니다.</div>", "count": 0}),
               content_type="application/json")
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"query": "없는검색어"})
    assert result.returncode == 0, result.log[-4000:]
    assert result.stat("outsourcing/listing_pages/recognised") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 0
