"""`scrapy crawl freemoa -a mode=incremental` end to end: a full run sets the watermark, then
incremental runs read the list API (newest registered first) only down to the first page older
than it, ask the detail API for new projects only, and lose nothing when a run is killed midway.

The mirror plays the board page (session cookie) and the form-POST API over a board of generated
projects, 10 rows a page, with registration times (`INS_TIME`, KST, to the second).
"""

from __future__ import annotations

import copy
import json
import signal
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.mirror.server import MirrorRequest
from outsourcing.normalize.dates import KST
from tests.conftest import fixture_path, query
from tests.helpers import stored_count, wait_for, watermark

pytestmark = pytest.mark.e2e

PAGE_SIZE = 10
N = 25                                        # projects of the first (full) run: 3 list pages
NEWEST_OLD = datetime(2026, 9, 30, 14, 20, 5, tzinfo=KST)
COOKIE = "PHPSESSID=mirror-session-incremental"
BLOCKED_HTML = b"<!DOCTYPE html><html><body><p>blocked</p></body></html>"


def template_row() -> dict[str, Any]:
    data = json.loads(fixture_path("freemoa", "list-page-1.json").read_text(encoding="utf-8"))
    return data["DATA"]["PROJECT"]["LIST"][0]


def api(data: Any) -> Reply:
    body = json.dumps({"ERROR": {"NO": 0, "MSG": ""}, "DATA": data}, ensure_ascii=False)
    return Reply(body=body.encode("utf-8"), content_type="text/html; charset=UTF-8")


def from_the_site(request: MirrorRequest) -> bool:
    return COOKIE in request.headers.get("Cookie", "") and request.headers.get("X-Requested-With") == "XMLHttpRequest"


@dataclass
class Board:
    """Freemoa's project list (newest first) and detail API, changing between runs."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    detail_delay: float = 0.0
    next_id: int = 70000

    def old(self, count: int) -> None:
        """`count` projects an hour apart, the newest registered at NEWEST_OLD."""
        self.rows = [self._new(NEWEST_OLD - timedelta(hours=i)) for i in range(count)]

    def add_new(self, count: int) -> list[dict[str, Any]]:
        """`count` projects on top, registered a minute apart after the newest one."""
        newest = datetime.strptime(self.rows[0]["INS_TIME"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
        fresh = [self._new(newest + timedelta(minutes=count - i)) for i in range(count)]
        self.rows[:0] = fresh
        return fresh

    def _new(self, posted: datetime) -> dict[str, Any]:
        self.next_id += 1
        row = copy.deepcopy(template_row())
        row.update(proj_idx=str(self.next_id), title=f"프로젝트 {self.next_id}", INS_TIME=f"{posted:%Y-%m-%d %H:%M:%S}",
                   client_id=f"client{self.next_id}@example.com", txt=f"프로젝트 {self.next_id} 설명입니다.")
        return row

    def serve(self, mirror: Mirror) -> None:
        mirror.add("/m4/s41", Reply(body=b"<html><body><div id='projectListNew'></div></body></html>",
                                    headers={"Set-Cookie": f"{COOKIE}; Path=/; HttpOnly"}))
        mirror.add("/m4a/s41a", self.listing, method="POST")
        mirror.add("/m4a/s41v", self.detail, method="POST")

    def listing(self, request: MirrorRequest) -> Reply:
        if not from_the_site(request):
            return Reply(body=BLOCKED_HTML)
        page = int(request.form["page"][0])
        chunk = self.rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return api({"PROJECT": {"LIST": chunk, "PAGINATION": {"currentPage": page, "nextPage": page + 1, "totalRows": len(self.rows)}}})

    def detail(self, request: MirrorRequest) -> Reply:
        if not from_the_site(request):
            return Reply(body=BLOCKED_HTML)
        pno = request.form["pno"][0]
        row = next(r for r in self.rows if r["proj_idx"] == pno)
        view = {key: row[key] for key in ("title", "cost_min", "cost_max", "workType", "is_stay", "during", "INS_TIME",
                                          "endtime", "isNowApply", "proj_filed", "proj_language")}
        view.update(txt=row["txt"] + " (전체)", cl_private_nm="테*트", pvNmu="서울 강남구", ALL_APPLY_COUNT=1)
        reply = api({"VIEW": view, "META": {"pno": pno}, "COMMET_CNT": 0})
        reply.delay = self.detail_delay
        return reply


def list_pages(mirror: Mirror, since: int = 0) -> list[int]:
    return [int(r.form["page"][0]) for r in mirror.requests[since:] if r.path == "/m4a/s41a"]


def detail_ids(mirror: Mirror, since: int = 0) -> list[str]:
    return [r.form["pno"][0] for r in mirror.requests[since:] if r.path == "/m4a/s41v"]


def posted(row: dict[str, Any]) -> datetime:
    return datetime.strptime(row["INS_TIME"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)








def full_run(mirror: Mirror, crawl: Any, database_url: str) -> None:
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url, feed=False)
    assert result.returncode == 0, result.log[-4000:]
    assert list_pages(mirror) == [1, 2, 3] and len(detail_ids(mirror)) == N
    assert stored_count(database_url, "freemoa") == N
    assert watermark(database_url, "freemoa") == NEWEST_OLD


# K new projects; list pages read: through the first page whose rows are all older than the
# watermark. K=3: page 1 = 3 new + 7 stored (the first of them is the watermark itself, not
# older), page 2 = 10 stored, all older: stop. K=12: page 1 = 10 new, page 2 = 2 new + 8 stored,
# page 3 older: stop. A second run with nothing new stops at page 2 in both cases (the watermark
# is now the newest project, and page 2 holds only older ones).
@pytest.mark.parametrize(("k", "pages", "skipped"), [(3, [1, 2], 17), (12, [1, 2, 3], 18)])
def test_incremental_reads_only_new_projects(mirror, crawl, database_url, k, pages, skipped) -> None:
    board = Board()
    board.old(N)
    board.serve(mirror)
    full_run(mirror, crawl, database_url)

    fresh = board.add_new(k)
    before = len(mirror.requests)
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert result.returncode == 0, result.log[-4000:]

    # Exactly these requests: robots.txt and the board page (cookie) again, as a new process.
    assert list_pages(mirror, before) == pages
    assert sorted(detail_ids(mirror, before)) == sorted(row["proj_idx"] for row in fresh)
    assert mirror.count("/m4/s41") == 2
    assert len(mirror.requests) - before == 2 + len(pages) + k
    assert result.stat("outsourcing/incremental/skipped_stored") == skipped
    assert result.stat("outsourcing/incremental/stopped_at_page") == pages[-1]
    assert result.stat("outsourcing/incremental/pages_not_read") == 1  # of ceil((N + k) / 10) pages
    assert (f"freemoa: incremental run: {len(pages)} list pages read, {k} detail requests, {skipped} stored projects "
            f"skipped (no detail request, not yielded again); stopped after list page {pages[-1]}") in result.log

    assert stored_count(database_url, "freemoa") == N + k
    runs = query(database_url, "SELECT * FROM crawl_runs ORDER BY id")
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["updated"], r["unchanged"]) for r in runs] == [
        ("full", 0, N, N, 0, 0), ("incremental", 0, k, k, 0, 0)]
    assert watermark(database_url, "freemoa") == posted(fresh[0])

    before = len(mirror.requests)
    again = crawl("freemoa", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert again.returncode == 0, again.log[-4000:]
    assert list_pages(mirror, before) == [1, 2] and detail_ids(mirror, before) == []
    run = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (run["scraped"], run["inserted"], run["exit_code"]) == (0, 0, 0)
    assert watermark(database_url, "freemoa") == posted(fresh[0])


def test_incremental_after_a_killed_run_skips_nothing(mirror, crawl, database_url) -> None:
    board = Board()
    board.old(N)
    board.serve(mirror)
    full_run(mirror, crawl, database_url)
    first_watermark = watermark(database_url, "freemoa")

    k = 15
    board.add_new(k)
    board.detail_delay = 0.3  # one request at a time: ~4.5 s of details
    running = crawl.start("freemoa", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    wait_for(lambda: stored_count(database_url, "freemoa") >= N + 3)
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(timeout=30)
    after_kill = stored_count(database_url, "freemoa")
    assert N + 3 <= after_kill < N + k, "the kill must land mid-run"
    killed = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (killed["mode"], killed["finished_at"], killed["exit_code"]) == ("incremental", None, None)
    assert watermark(database_url, "freemoa") == first_watermark  # a killed run does not move it

    # More projects meanwhile; the next run stores every one not stored yet, asking only for those.
    m = 4
    board.add_new(m)
    board.detail_delay = 0.0
    stored_before = {r["external_id"] for r in query(database_url, "SELECT external_id FROM postings")}
    before = len(mirror.requests)
    result = crawl("freemoa", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"}, feed=False)
    assert result.returncode == 0, result.log[-4000:]

    missing = {row["proj_idx"] for row in board.rows} - stored_before
    assert len(missing) == N + k + m - after_kill
    assert sorted(detail_ids(mirror, before)) == sorted(missing)
    # 19 new on top of 25 old: page 1 = 10 new, page 2 = 9 new + the watermark's project (not
    # older than itself), page 3 holds only older ones: stop there.
    assert list_pages(mirror, before) == [1, 2, 3]
    assert {r["external_id"] for r in query(database_url, "SELECT external_id FROM postings")} == {row["proj_idx"] for row in board.rows}
    run = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert (run["mode"], run["exit_code"], run["inserted"], run["unchanged"]) == ("incremental", 0, len(missing), 0)
    assert watermark(database_url, "freemoa") == posted(board.rows[0]) > first_watermark
