"""`-a mode=incremental` end to end for kmong and elancer, whose listings carry no posting time:
a full run stores everything; an incremental run then reads the list (kmong) or the sitemap
files (elancer), newest first, only down to the first one that holds a posting stored by an
earlier complete run that finished cleanly, fetches detail pages of the K new postings only,
and does not yield the stored ones again. A posting stored by a killed run does not stop the
next run: that run may have stored out of listing order.

The mirror plays each platform over generated postings, changing between runs; every request
it receives is counted.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import pytest

from outsourcing.mirror import Mirror, MirrorRequest, Reply
from outsourcing.platforms.kmong import parser as kmong
from tests.conftest import fixture_path
from tests.helpers import runs, stored_ids, wait_for

pytestmark = pytest.mark.e2e

JSON = "application/json"
XML = "application/xml"
HTML = "text/html; charset=utf-8"








@dataclass
class Board:
    """Postings (ids, newest = highest first) served `per_page` a list page."""

    per_page: int
    first_id: int
    ids: list[int] = field(default_factory=list)
    hold: dict[str, float] = field(default_factory=dict)  # path -> delay of its first request

    def add(self, count: int) -> list[str]:
        start = max(self.ids, default=self.first_id)
        fresh = list(range(start + count, start, -1))
        self.ids[:0] = fresh
        return [str(i) for i in fresh]

    def page(self, number: int) -> list[int]:
        return self.ids[(number - 1) * self.per_page: number * self.per_page]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.ids) // self.per_page))

    def delay(self, path: str) -> float:
        return self.hold.pop(path, 0.0)


# --- kmong: the list API and one detail call per request ---------------------------------------

def serve_kmong(mirror: Mirror, board: Board) -> None:
    entry_template = json.loads(fixture_path("kmong", "list-outsourcing-page-1.json").read_text(encoding="utf-8"))["requests"][0]
    detail_template = json.loads(fixture_path("kmong", "detail-700104.json").read_text(encoding="utf-8"))

    def listing(request: MirrorRequest) -> Reply:
        number = int(request.query.get("page", ["1"])[0])
        entries = []
        for request_id in board.page(number):
            entry = copy.deepcopy(entry_template)
            entry.update(id=request_id, title=f"외주 요청 {request_id}")
            entries.append(entry)
        body = {"total": len(board.ids), "last_page": board.pages, "requests": entries}
        return Reply(body=json.dumps(body, ensure_ascii=False).encode(), content_type=JSON,
                     delay=board.delay(request.path))

    def detail(request: MirrorRequest) -> Reply:
        request_id = int(request.path.rsplit("/", 1)[-1])
        body = {**detail_template, "id": request_id, "title": f"외주 요청 {request_id}"}
        return Reply(body=json.dumps(body, ensure_ascii=False).encode(), content_type=JSON,
                     delay=board.delay(request.path))

    mirror.add(kmong.LIST_PATH, listing)
    for request_id in range(board.first_id, board.first_id + 60):
        mirror.add(kmong.detail_path(request_id), detail)


def kmong_lists(mirror: Mirror) -> list[int]:
    return [int(r.query["page"][0]) for r in mirror.requests if r.path.startswith(kmong.LIST_PATH + "?")]


def kmong_details(mirror: Mirror) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[-1] for r in mirror.requests if r.path.startswith(kmong.LIST_PATH + "/"))


def test_kmong_incremental_fetches_details_of_the_k_new_requests_only(mirror, crawl, database_url) -> None:
    board = Board(per_page=3, first_id=810000)
    old = board.add(9)
    serve_kmong(mirror, board)
    full = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]
    assert kmong_lists(mirror) == [1, 2, 3] and kmong_details(mirror) == sorted(old)

    # K = 4 new requests on top: [n n n] [n o o] [o o o] [o o o] [o].
    fresh = board.add(4)
    mirror.requests.clear()
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    # Page 1 holds new requests only; page 2 holds the newest stored ones: the last page read.
    assert kmong_lists(mirror) == [1, 2]
    assert kmong_details(mirror) == sorted(fresh)  # exactly K detail calls
    assert stored_ids(database_url, "kmong") == set(old) | set(fresh)
    assert result.feed is not None and sorted(i["external_id"] for i in result.feed) == sorted(fresh)
    assert result.stat("outsourcing/incremental/skipped_stored") == 2
    assert result.stat("outsourcing/incremental/stopped_at_page") == 2
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs(database_url)] == [
        ("full", 0, 9, 9, 0), ("incremental", 0, 4, 4, 0)]
    assert ("kmong: incremental run: 2 list pages read, 4 detail requests, 2 stored requests skipped "
            "(no detail request, not yielded again); stopped after list page 2") in result.log


def test_kmong_requests_stored_by_a_killed_run_do_not_stop_the_next_run(mirror, crawl, database_url) -> None:
    board = Board(per_page=3, first_id=820000)
    old = board.add(6)
    serve_kmong(mirror, board)
    full = crawl("kmong", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]

    # K = 7 new: [n n n] [n n n] [n o o] [o o o] [o]. The killed run stores page 1's requests
    # while page 2 is held back (two requests at a time, so page 1's details go on meanwhile).
    fresh = board.add(7)
    board.hold[kmong.list_path(2)] = 30.0
    mirror.requests.clear()
    running = crawl.start("kmong", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"},
                          settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "2"})
    wait_for(lambda: set(fresh[:3]) <= stored_ids(database_url, "kmong"))
    running.process.kill()
    running.wait(timeout=30)
    assert stored_ids(database_url, "kmong") == set(old) | set(fresh[:3])  # page 1 whole, nothing else
    assert runs(database_url)[-1]["finished_at"] is None

    # Page 1 is all stored, but by the killed run: not a reason to stop. Page 3 holds requests
    # the clean full run stored: the last page read. Every missed request is stored.
    mirror.requests.clear()
    result = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    assert kmong_lists(mirror) == [1, 2, 3]
    assert kmong_details(mirror) == sorted(fresh[3:])
    assert stored_ids(database_url, "kmong") == set(old) | set(fresh)
    assert runs(database_url)[-1]["inserted"] == 4

    # Now that a clean run came after the killed one, its requests count: page 1 suffices.
    board.add(1)
    mirror.requests.clear()
    again = crawl("kmong", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert again.returncode == 0, again.log[-3000:]
    assert kmong_lists(mirror) == [1] and len(kmong_details(mirror)) == 1


# --- elancer: sitemap index, child sitemaps, project pages --------------------------------------

def serve_elancer(mirror: Mirror, board: Board) -> None:
    """sitemap.xml indexes one child sitemap per `per_page` projects, newest first."""
    page_template = fixture_path("elancer", "project_detail-48215.html").read_text(encoding="utf-8")

    def index(request: MirrorRequest) -> Reply:
        children = "".join(f"<sitemap><loc>https://www.elancer.co.kr/sitemap_project_{n}.xml</loc></sitemap>"
                           for n in range(1, board.pages + 1))
        body = f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
        return Reply(body=body.encode(), content_type=XML)

    def child(request: MirrorRequest) -> Reply:
        number = int(request.path.rsplit("_", 1)[-1].removesuffix(".xml"))
        urls = "".join(f"<url><loc>https://www.elancer.co.kr/project_detail/{i}</loc></url>" for i in board.page(number))
        body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        return Reply(body=body.encode(), content_type=XML)

    def project(request: MirrorRequest) -> Reply:
        project_id = request.path.rsplit("/", 1)[-1]
        body = page_template.replace("React Native 모바일 앱 유지보수 (재택)", f"프로젝트 {project_id} (재택)")
        return Reply(body=body.encode(), content_type=HTML)

    mirror.add("/sitemap.xml", index)
    for number in range(1, 12):
        mirror.add(f"/sitemap_project_{number}.xml", child)
    for project_id in range(board.first_id, board.first_id + 60):
        mirror.add(f"/project_detail/{project_id}", project)


def elancer_sitemaps(mirror: Mirror) -> list[str]:
    return [r.path for r in mirror.requests if r.path.endswith(".xml")]


def elancer_projects(mirror: Mirror) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[-1] for r in mirror.requests if r.path.startswith("/project_detail/"))


def test_elancer_incremental_reads_sitemaps_until_stored_projects_and_fetches_new_pages_only(
        mirror, crawl, database_url) -> None:
    board = Board(per_page=3, first_id=61000)
    old = board.add(9)
    serve_elancer(mirror, board)
    full = crawl("elancer", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]
    assert elancer_sitemaps(mirror) == ["/sitemap.xml"] + [f"/sitemap_project_{n}.xml" for n in (1, 2, 3)]
    assert elancer_projects(mirror) == sorted(old)

    # K = 4 new projects: the sitemaps become [n n n] [n o o] [o o o] [o o o] [o].
    fresh = board.add(4)
    mirror.requests.clear()
    result = crawl("elancer", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    # The index, then child 1 (new projects only) and child 2 (it lists stored ones: the last
    # file read); children 3 to 5 are not read. A project page for each new project only.
    assert elancer_sitemaps(mirror) == ["/sitemap.xml", "/sitemap_project_1.xml", "/sitemap_project_2.xml"]
    assert elancer_projects(mirror) == sorted(fresh)
    assert stored_ids(database_url, "elancer") == set(old) | set(fresh)
    assert result.feed is not None and sorted(i["external_id"] for i in result.feed) == sorted(fresh)
    assert result.stat("outsourcing/incremental/skipped_stored") == 2
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs(database_url)] == [
        ("full", 0, 9, 9, 0), ("incremental", 0, 4, 4, 0)]
    assert ("elancer: incremental run: 3 sitemap files read, 4 detail requests, 2 stored projects skipped "
            "(no detail request, not yielded again); stopped after https://www.elancer.co.kr/sitemap_project_2.xml") in result.log
    assert "3 sitemap files not read" in result.log
