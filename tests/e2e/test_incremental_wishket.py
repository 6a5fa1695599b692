"""`scrapy crawl wishket -a mode=incremental` end to end: a full run sets the watermark, then
incremental runs read the list newest first only down to the first page older than it, fetch
detail pages of new postings only, and lose nothing when a run is killed midway.

The mirror plays a board of generated postings (10 cards a list page, newest first). Cards give
the registration day only ("등록일자 2026.09.28."), detail pages the time (JSON-LD datePosted),
as on the real site; new postings are registered on the watermark's own day, later than it, so
a spider comparing a card's 00:00 with the watermark would stop too early and miss some.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.mirror.server import MirrorRequest
from outsourcing.normalize.dates import KST
from outsourcing.platforms.wishket import parser
from tests.conftest import query
from tests.helpers import stored_count, wait_for, watermark

pytestmark = pytest.mark.e2e

UTC = UTC
PAGE_SIZE = 10
N = 25                                        # postings of the first (full) run: 3 list pages
NEWEST_OLD = datetime(2026, 9, 28, 10, 0, tzinfo=KST)


@dataclass
class Posting:
    id: str
    posted: datetime  # KST


@dataclass
class Board:
    """Wishket's list (newest first) and detail pages, changing between runs."""

    postings: list[Posting] = field(default_factory=list)
    detail_delay: float = 0.0
    next_id: int = 400001

    def old(self, count: int) -> None:
        """`count` postings, one a day, the newest on NEWEST_OLD's day at 10:00 KST."""
        self.postings = [self._new(NEWEST_OLD - timedelta(days=i)) for i in range(count)]

    def add_new(self, count: int, after: datetime) -> list[Posting]:
        """`count` postings on top, registered 10 minutes apart after `after` (same day)."""
        fresh = [self._new(after + timedelta(minutes=10 * (count - i))) for i in range(count)]
        self.postings[:0] = fresh
        return fresh

    def _new(self, posted: datetime) -> Posting:
        self.next_id += 1
        return Posting(str(self.next_id), posted)

    def serve(self, mirror: Mirror) -> None:
        mirror.add("/project/", self.listing)
        for number in range(400000, 400200):
            mirror.add(f"/project/{number}/", self.detail)

    def listing(self, request: MirrorRequest) -> Reply:
        page = int(parser.decode_filter(request.query["d"][0])["page"])
        chunk = self.postings[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        body = {"result": "".join(card(p) for p in chunk), "count": len(self.postings)}
        return Reply(body=json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type="application/json")

    def detail(self, request: MirrorRequest) -> Reply:
        project = request.path.strip("/").split("/")[-1]
        posting = next((p for p in self.postings if p.id == project), None)
        if posting is None:
            return Reply(status=404, body=b"not in the mirror", content_type="text/plain")
        return Reply(body=detail_page(posting).encode("utf-8"), delay=self.detail_delay)


def card(posting: Posting) -> str:
    return f"""
<div class="project-info-box"><div class="project-info-box-wrapper">
<section class="project-organic-info">
  <div class="project-status-label recruiting-status mb12"><div class="status-mark recruiting-mark">모집 중</div></div>
  <a class="subtitle-2-medium project-link" href="/project/{posting.id}/"><p class="subtitle-1-half-medium mb10">프로젝트 {posting.id}</p></a>
  <div class="project-core-info mb10"><p class="budget body-1 text700">예상 금액 <span>3,000,000원</span></p></div>
  <div class="project-classification-info mb32"><p class="project-category-or-role body-2 text700">개발</p></div>
  <div class="project-minor-info">
    <div class="project-status-label"><div class="status-mark project-type-mark with-img">외주</div></div>
    <p class="body-3 text300 start-recruitment-data">· 등록일자 {posting.posted:%Y.%m.%d}.</p>
  </div>
</section>
<section class="proposal-and-client-info">
  <div class="proposal-info"><p class="info-detail body-2 text600">지원자 <span>2명</span></p></div>
  <div class="client-info"><div class="profile-box mb12"><p class="username body-3-medium">ab******</p></div></div>
</section></div></div>"""


def detail_page(posting: Posting) -> str:
    jsonld = {"@context": "https://schema.org", "@type": "JobPosting", "title": f"프로젝트 {posting.id}",
              "description": f"프로젝트 {posting.id}의 상세 설명입니다.",
              "datePosted": posting.posted.strftime("%Y-%m-%dT%H:%M:%S"),
              "baseSalary": {"@type": "MonetaryAmount", "currency": "KRW", "value": 3000000}}
    return (f"<!DOCTYPE html><html><head><script type=\"application/ld+json\">{json.dumps(jsonld, ensure_ascii=False)}"
            f"</script></head><body><div class=\"project-content-title\"><h1>프로젝트 {posting.id}</h1></div></body></html>")


def listing_pages(mirror: Mirror, since: int = 0) -> list[int]:
    return [int(parser.decode_filter(r.query["d"][0])["page"]) for r in mirror.requests[since:] if r.path.startswith("/project/?")]


def detail_ids(mirror: Mirror, since: int = 0) -> list[str]:
    return [r.path.strip("/").split("/")[-1] for r in mirror.requests[since:]
            if r.path.startswith("/project/") and not r.path.startswith("/project/?")]








def full_run(mirror: Mirror, crawl: Any, database_url: str, board: Board) -> None:
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, feed=False)
    assert result.returncode == 0, result.log[-4000:]
    assert listing_pages(mirror) == [1, 2, 3] and len(detail_ids(mirror)) == N
    assert stored_count(database_url, "wishket") == N
    assert watermark(database_url, "wishket") == NEWEST_OLD  # the detail's time, not the card's day


# K new postings; list pages read: through the first page whose cards are all older than the
# watermark. K=3: page 1 = 3 new + 7 stored (the newest stored one is the watermark's day), page
# 2 = 10 stored, all of earlier days: stop. K=12: page 1 = 10 new, page 2 = 2 new + 8 stored,
# page 3 older: stop. Stored postings: no detail request.
@pytest.mark.parametrize(("k", "pages", "skipped", "not_read"), [(3, [1, 2], 17, 1), (12, [1, 2, 3], 18, 1)])
def test_incremental_reads_only_new_postings(mirror, crawl, database_url, k, pages, skipped, not_read) -> None:
    board = Board()
    board.old(N)
    board.serve(mirror)
    full_run(mirror, crawl, database_url, board)

    fresh = board.add_new(k, after=NEWEST_OLD)
    before = len(mirror.requests)
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert result.returncode == 0, result.log[-4000:]

    # Exactly these requests: robots.txt is read again by the new process.
    assert listing_pages(mirror, before) == pages
    assert sorted(detail_ids(mirror, before)) == sorted(p.id for p in fresh)
    assert len(mirror.requests) - before == 1 + len(pages) + k
    assert result.stat("outsourcing/incremental/skipped_stored") == skipped
    assert result.stat("outsourcing/incremental/stopped_at_page") == pages[-1]
    assert result.stat("outsourcing/incremental/pages_not_read") == not_read
    assert (f"wishket: incremental run: {len(pages)} list pages read, {k} detail requests, {skipped} stored postings "
            f"skipped (no detail request, not yielded again); stopped after list page {pages[-1]}") in result.log

    assert stored_count(database_url, "wishket") == N + k
    runs = query(database_url, "SELECT * FROM crawl_runs ORDER BY id")
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["updated"], r["unchanged"]) for r in runs] == [
        ("full", 0, N, N, 0, 0), ("incremental", 0, k, k, 0, 0)]
    assert watermark(database_url, "wishket") == fresh[0].posted

    # Nothing new: the same list pages (down to the first one of days before the watermark's),
    # no detail page, nothing written, the watermark where it was.
    before = len(mirror.requests)
    again = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert again.returncode == 0, again.log[-4000:]
    assert listing_pages(mirror, before) == pages and detail_ids(mirror, before) == []
    run = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (run["scraped"], run["inserted"], run["exit_code"]) == (0, 0, 0)
    assert watermark(database_url, "wishket") == fresh[0].posted


def test_incremental_after_a_killed_run_skips_nothing(mirror, crawl, database_url) -> None:
    board = Board()
    board.old(N)
    board.serve(mirror)
    full_run(mirror, crawl, database_url, board)
    first_watermark = watermark(database_url, "wishket")

    k = 15
    board.add_new(k, after=NEWEST_OLD)
    board.detail_delay = 0.3  # one detail at a time: ~4.5 s of details
    running = crawl.start("wishket", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    wait_for(lambda: stored_count(database_url, "wishket") >= N + 3)
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(timeout=30)
    after_kill = stored_count(database_url, "wishket")
    assert N + 3 <= after_kill < N + k, "the kill must land mid-run"
    killed = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (killed["mode"], killed["finished_at"], killed["exit_code"]) == ("incremental", None, None)
    assert watermark(database_url, "wishket") == first_watermark  # a killed run does not move it

    # More postings meanwhile; the next run stores every one not stored yet, fetching only those.
    m = 4
    board.add_new(m, after=board.postings[0].posted)
    board.detail_delay = 0.0
    stored_before = {r["external_id"] for r in query(database_url, "SELECT external_id FROM postings")}
    before = len(mirror.requests)
    result = crawl("wishket", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert result.returncode == 0, result.log[-4000:]

    missing = {p.id for p in board.postings} - stored_before
    assert sorted(detail_ids(mirror, before)) == sorted(missing)
    assert len(missing) == N + k + m - after_kill
    # 19 new on top of 25 old: page 1 = 10 new, page 2 = 9 new + the watermark's posting, page 3
    # holds only postings of earlier days: stop there.
    assert listing_pages(mirror, before) == [1, 2, 3]
    assert stored_count(database_url, "wishket") == N + k + m
    assert {r["external_id"] for r in query(database_url, "SELECT external_id FROM postings")} == {p.id for p in board.postings}
    run = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (run["mode"], run["exit_code"], run["inserted"], run["unchanged"]) == ("incremental", 0, len(missing), 0)
    assert watermark(database_url, "wishket") == board.postings[0].posted > first_watermark
