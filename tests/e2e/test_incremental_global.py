"""`-a mode=incremental` end to end for freelancer, guru and peopleperhour: a full run sets the
watermark; incremental runs then ask the mirror only for the listing pages down to the first
one older than the watermark (freelancer: only projects since the watermark, by `from_time`),
store the K new postings and do not yield the stored ones again; and a run killed midway
leaves the watermark where it was, so the next run stores every posting it missed.

The mirror plays each platform's listing over generated postings, newest first, changing
between runs; every request it receives is counted.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outsourcing.mirror import Mirror, MirrorRequest, Reply
from outsourcing.platforms.freelancer.spider import API_PATH, FROM_TIME_MARGIN, projects_path
from tests.conftest import fixture_path
from tests.helpers import runs, stored_ids, wait_for, watermark

pytestmark = pytest.mark.e2e

UTC = UTC
HTML = "text/html; charset=utf-8"
SLOW = 30.0  # seconds a page is held back while a run is killed


# --- shared helpers ----------------------------------------------------------------------------









def listing_paths(mirror: Mirror) -> list[str]:
    return [r.path for r in mirror.requests if r.path != "/robots.txt"]


@dataclass
class Posting:
    id: str
    posted: datetime  # UTC


@dataclass
class Listing:
    """A platform's listing: postings newest first, served `per_page` a page. `hold` makes the
    first request for a page slow (the page number, 1-based), once."""

    per_page: int
    postings: list[Posting] = field(default_factory=list)
    hold: dict[int, float] = field(default_factory=dict)

    def page(self, number: int) -> list[Posting]:
        return self.postings[(number - 1) * self.per_page: number * self.per_page]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.postings) // self.per_page))

    def delay(self, number: int) -> float:
        return self.hold.pop(number, 0.0)

    def add_on_top(self, fresh: list[Posting]) -> None:
        self.postings[:0] = fresh


def hourly(prefix: int, count: int, newest: datetime, start: int = 0) -> list[Posting]:
    """`count` postings one hour apart, newest first, ids prefix+start+count-1 down to prefix+start."""
    return [Posting(str(prefix + start + count - 1 - n), newest - timedelta(hours=n)) for n in range(count)]


def daily(prefix: int, count: int, newest: datetime, start: int = 0) -> list[Posting]:
    return [Posting(str(prefix + start + count - 1 - n), newest - timedelta(days=n)) for n in range(count)]


# --- freelancer: the projects API --------------------------------------------------------------

FL_NEWEST_OLD = datetime(2026, 9, 21, 15, 13, 20, tzinfo=UTC)


def fl_envelope() -> dict[str, Any]:
    return json.loads(fixture_path("freelancer", "projects-page.json").read_text(encoding="utf-8"))


def serve_freelancer(mirror: Mirror, listing: Listing) -> None:
    """The API's offset paging and from_time filter (>=) over the listing, like the real one;
    `listing.hold` is keyed by page number (offset / limit + 1)."""
    envelope = fl_envelope()
    template, users = envelope["result"]["projects"][0], envelope["result"]["users"]

    def project(posting: Posting) -> dict[str, Any]:
        data = copy.deepcopy(template)
        data.update(id=int(posting.id), title=f"Project {posting.id}", seo_url=f"python/Project-{posting.id}")
        data["time_submitted"] = data["submitdate"] = int(posting.posted.timestamp())
        return data

    def route(request: MirrorRequest) -> Reply:
        params = {key: values[0] for key, values in request.query.items()}
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 10))
        since = int(params["from_time"]) if "from_time" in params else None
        chosen = [p for p in listing.postings if since is None or p.posted.timestamp() >= since]
        body = {"status": "success", "request_id": "mirror",
                "result": {"projects": [project(p) for p in chosen[offset: offset + limit]],
                           "total_count": len(chosen), "users": users}}
        return Reply(body=json.dumps(body).encode(), content_type="application/json",
                     delay=listing.delay(offset // limit + 1))

    mirror.add(API_PATH, route)


def fl_requests(mirror: Mirror) -> list[MirrorRequest]:
    return [r for r in mirror.requests if r.path.startswith(API_PATH)]


def test_freelancer_incremental_asks_from_the_watermark_for_k_new_projects(mirror, crawl, database_url) -> None:
    listing = Listing(per_page=3, postings=hourly(51000000, 7, FL_NEWEST_OLD))
    serve_freelancer(mirror, listing)
    args = {"page_size": "3"}
    full = crawl("freelancer", base_url=mirror.url, database_url=database_url, args=args)
    assert full.returncode == 0, full.log[-3000:]
    assert [r.query["offset"] for r in fl_requests(mirror)] == [["0"], ["3"], ["6"]]
    w = int(FL_NEWEST_OLD.timestamp())
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD

    # K = 4 new projects on top, one hour apart after the watermark.
    fresh = hourly(51000000, 4, FL_NEWEST_OLD + timedelta(hours=4), start=7)
    listing.add_on_top(fresh)
    mirror.requests.clear()
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={**args, "mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]

    # from_time = watermark - margin: the answer holds the 4 new projects and the one project
    # submitted at the watermark (the margin re-lists it): 5 projects, two pages of 3, nothing
    # else. The stored project is not yielded again.
    since = w - FROM_TIME_MARGIN
    assert [r.path for r in fl_requests(mirror)] == [projects_path(0, limit=3, from_time=since),
                                                     projects_path(3, limit=3, from_time=since)]
    assert listing_paths(mirror) == [r.path for r in fl_requests(mirror)]
    assert stored_ids(database_url, "freelancer") == {p.id for p in listing.postings}
    assert result.stat("outsourcing/incremental/skipped_stored") == 1
    assert result.feed is not None and sorted(i["external_id"] for i in result.feed) == sorted(p.id for p in fresh)
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs(database_url)] == [
        ("full", 0, 7, 7, 0), ("incremental", 0, 4, 4, 0)]
    assert "freelancer: incremental run: 2 listing pages read, 1 stored projects skipped" in result.log
    assert watermark(database_url, "freelancer") == fresh[0].posted


def test_freelancer_incremental_stops_paging_at_a_page_older_than_the_watermark(mirror, crawl, database_url) -> None:
    # A margin of 7 hours re-lists 7 stored projects: paging stops at the first page holding
    # only projects older than the watermark, not at the end of the answer.
    listing = Listing(per_page=3, postings=hourly(52000000, 9, FL_NEWEST_OLD))
    serve_freelancer(mirror, listing)
    args = {"page_size": "3"}
    settings = {"FREELANCER_FROM_TIME_MARGIN": str(7 * 3600)}
    full = crawl("freelancer", base_url=mirror.url, database_url=database_url, args=args)
    assert full.returncode == 0, full.log[-3000:]
    listing.add_on_top(hourly(52000000, 4, FL_NEWEST_OLD + timedelta(hours=4), start=9))
    mirror.requests.clear()
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url,
                   args={**args, "mode": "incremental"}, settings=settings)
    assert result.returncode == 0, result.log[-3000:]
    # The answer: 4 new + 8 stored (watermark and 7 hours back) = 12 projects, 4 pages of 3:
    # [n n n] [n w o1] [o2 o3 o4] <- all older than the watermark: stop; [o5 o6 o7] not asked.
    since = int(FL_NEWEST_OLD.timestamp()) - 7 * 3600
    assert [r.path for r in fl_requests(mirror)] == [projects_path(o, limit=3, from_time=since) for o in (0, 3, 6)]
    assert result.stat("outsourcing/incremental/stopped_at_watermark") == 1
    assert result.stat("outsourcing/incremental/skipped_stored") == 5
    assert runs(database_url)[-1]["inserted"] == 4
    assert "stopped after the page at offset 6, older than the watermark" in result.log


def test_freelancer_killed_incremental_run_leaves_the_watermark_and_the_next_run_reads_everything(
        mirror, crawl, database_url) -> None:
    listing = Listing(per_page=2, postings=hourly(53000000, 6, FL_NEWEST_OLD))
    serve_freelancer(mirror, listing)
    args = {"page_size": "2"}
    full = crawl("freelancer", base_url=mirror.url, database_url=database_url, args=args)
    assert full.returncode == 0, full.log[-3000:]
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD

    # K = 5 new projects; the incremental answer is [n n] [n n] [n w]. Page 2 is held back:
    # the run is killed once page 1's projects are stored.
    fresh = hourly(53000000, 5, FL_NEWEST_OLD + timedelta(hours=5), start=6)
    listing.add_on_top(fresh)
    listing.hold[2] = SLOW
    mirror.requests.clear()
    running = crawl.start("freelancer", base_url=mirror.url, database_url=database_url,
                          args={**args, "mode": "incremental"})
    first_page = {p.id for p in fresh[:2]}
    wait_for(lambda: first_page <= stored_ids(database_url, "freelancer") and len(fl_requests(mirror)) >= 2)
    running.process.kill()
    running.wait(timeout=30)
    assert running.process.returncode != 0
    new_stored = stored_ids(database_url, "freelancer") & {p.id for p in fresh}
    assert first_page <= new_stored and new_stored != {p.id for p in fresh}  # some, not all
    killed = runs(database_url)[-1]
    assert killed["mode"] == "incremental" and killed["finished_at"] is None and killed["exit_code"] is None
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD  # unchanged

    # The next run asks from the same watermark and stores every project the killed run missed.
    mirror.requests.clear()
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={**args, "mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    since = int(FL_NEWEST_OLD.timestamp()) - FROM_TIME_MARGIN
    assert [r.path for r in fl_requests(mirror)] == [projects_path(o, limit=2, from_time=since) for o in (0, 2, 4)]
    assert stored_ids(database_url, "freelancer") == {p.id for p in listing.postings}
    last = runs(database_url)[-1]
    assert (last["exit_code"], last["inserted"], last["unchanged"]) == (0, len(fresh) - len(new_stored), 0)
    assert result.stat("outsourcing/incremental/skipped_stored") == len(new_stored) + 1
    # Advanced: to the newest project this run saw (the killed run's are not counted).
    advanced = watermark(database_url, "freelancer")
    assert advanced is not None and advanced > FL_NEWEST_OLD
    assert advanced == max(p.posted for p in fresh if p.id not in new_stored)


# --- guru: server-rendered listing pages --------------------------------------------------------

GURU_NEWEST_OLD = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)


def guru_card(posting: Posting) -> str:
    day = posting.posted.strftime("%b %d, %Y")
    return f"""
    <li><div class="record jobRecord" data-gid="{posting.id}">
      <div class="record__header"><div class="freelancerAvatar"><h3 class="identityName">Client {posting.id}</h3></div></div>
      <div class="record__details">
        <h2 class="jobRecord__title"><a href="/jobs/job-{posting.id}/{posting.id}&amp;SearchUrl=search.aspx">Job {posting.id}</a></h2>
        <div class="jobRecord__meta"><strong>Posted on {day}</strong> <strong>2 Quotes Received</strong></div>
        <div class="jobRecord__budget"><span>Fixed Price</span> | <span>$500-$1k</span></div>
        <p class="jobRecord__desc">Work {posting.id}.</p>
      </div>
    </div></li>"""


def serve_guru(mirror: Mirror, listing: Listing) -> None:
    def route(request: MirrorRequest) -> Reply:
        path = request.path
        number = int(path.rstrip("/").rsplit("/", 1)[-1]) if "/pg/" in path else 1
        cards = "".join(guru_card(p) for p in listing.page(number))
        pager = f'<a href="/d/jobs/pg/{number + 1}/">{number + 1}</a>' if number < listing.pages else ""
        body = (f'<!DOCTYPE html><html><body><div id="serviceList"><ul>{cards}</ul></div>'
                f'<ul class="pagination">{pager}</ul></body></html>')
        return Reply(body=body.encode(), content_type=HTML, delay=listing.delay(number))

    mirror.add("/d/jobs/", route)
    for number in range(2, 12):
        mirror.add(f"/d/jobs/pg/{number}/", route)


def guru_paths(pages: int) -> list[str]:
    return ["/d/jobs/"] + [f"/d/jobs/pg/{n}/" for n in range(2, pages + 1)]


def test_guru_incremental_reads_listing_pages_down_to_the_watermark(mirror, crawl, database_url) -> None:
    listing = Listing(per_page=3, postings=daily(3100000, 7, GURU_NEWEST_OLD))
    serve_guru(mirror, listing)
    full = crawl("guru", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]
    assert listing_paths(mirror) == guru_paths(3)
    w = watermark(database_url, "guru")  # cards give the day: 00:00 New York of the newest one
    assert w == datetime(2026, 10, 10, 4, 0, tzinfo=UTC)

    # K = 4 new postings, one a day after the newest: [n n n] [n w o] [o o o] [o o].
    fresh = daily(3100000, 4, GURU_NEWEST_OLD + timedelta(days=4), start=7)
    listing.add_on_top(fresh)
    mirror.requests.clear()
    result = crawl("guru", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    # Page 3 is the first whose cards are all older than the watermark: the last one read.
    assert listing_paths(mirror) == guru_paths(3)
    assert stored_ids(database_url, "guru") == {p.id for p in listing.postings}
    assert result.feed is not None and sorted(i["external_id"] for i in result.feed) == sorted(p.id for p in fresh)
    assert result.stat("outsourcing/incremental/skipped_stored") == 5
    assert result.stat("outsourcing/incremental/stopped_at_watermark") == 1
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs(database_url)] == [
        ("full", 0, 7, 7, 0), ("incremental", 0, 4, 4, 0)]
    assert ("guru: incremental run: 3 listing pages read, 5 stored postings skipped (not yielded again); "
            "stopped after https://www.guru.com/d/jobs/pg/3/") in result.log


def test_guru_killed_incremental_run_leaves_the_watermark_and_the_next_run_reads_everything(
        mirror, crawl, database_url) -> None:
    listing = Listing(per_page=3, postings=daily(3200000, 6, GURU_NEWEST_OLD))
    serve_guru(mirror, listing)
    full = crawl("guru", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]
    w = watermark(database_url, "guru")
    assert w is not None

    # K = 5 new: [n n n] [n n w] [o o o] [o o]. Page 2 is held back; the run is killed once
    # page 1's postings are stored.
    fresh = daily(3200000, 5, GURU_NEWEST_OLD + timedelta(days=5), start=6)
    listing.add_on_top(fresh)
    listing.hold[2] = SLOW
    mirror.requests.clear()
    running = crawl.start("guru", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    first_page = {p.id for p in fresh[:3]}
    wait_for(lambda: first_page <= stored_ids(database_url, "guru") and mirror.count("/d/jobs/pg/2/") >= 1)
    running.process.kill()
    running.wait(timeout=30)
    new_stored = stored_ids(database_url, "guru") & {p.id for p in fresh}
    assert new_stored == first_page  # some new postings, not all
    killed = runs(database_url)[-1]
    assert killed["finished_at"] is None and killed["exit_code"] is None
    assert watermark(database_url, "guru") == w  # unchanged

    mirror.requests.clear()
    result = crawl("guru", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    # Page 1 (all stored by the killed run) does not stop the run: it is newer than the
    # watermark. Page 2 holds the 2 missed postings; page 3 is older than the watermark.
    assert listing_paths(mirror) == guru_paths(3)
    assert stored_ids(database_url, "guru") == {p.id for p in listing.postings}
    last = runs(database_url)[-1]
    assert (last["exit_code"], last["inserted"]) == (0, 2)
    advanced = watermark(database_url, "guru")
    assert advanced is not None and advanced > w


# --- peopleperhour: the listing's embedded React state -----------------------------------------

PPH_NEWEST_OLD = datetime(2026, 9, 16, 18, 39, 37, tzinfo=UTC)


def serve_peopleperhour(mirror: Mirror, listing: Listing) -> None:
    def route(request: MirrorRequest) -> Reply:
        number = int(request.query.get("page", ["1"])[0])
        chunk = listing.page(number)
        projects = {p.id: {"id": p.id, "type": "projects", "attributes": {
            "title": f"Project {p.id}", "url": f"https://www.peopleperhour.com/freelance-jobs/technology/project-{p.id}",
            "proj_desc": "<p>Work.</p>", "client": {"public_name": "Client"}, "budget": 250, "currency": "GBP",
            "project_type": "fixed_price", "posted_dt": p.posted.strftime("%Y-%m-%d %H:%M:%S"), "proposalCount": 1,
        }} for p in chunk}
        state = {"freelanceJobs": {"main": {"data": [{"id": p.id, "type": "projects"} for p in chunk],
                                            "meta": {"current-page": number, "total-pages": listing.pages}}},
                 "entities": {"projects": projects}}
        body = (f"<!DOCTYPE html><html><body><script>window.PPHReact={{}};window.PPHReact.initialState = "
                f"{json.dumps(state)};window.PPHReact.serverTime='1';</script></body></html>")
        return Reply(body=body.encode(), content_type=HTML, delay=listing.delay(number))

    mirror.add("/freelance-jobs", route)


def test_peopleperhour_incremental_reads_listing_pages_down_to_the_watermark(mirror, crawl, database_url) -> None:
    listing = Listing(per_page=3, postings=hourly(4600000, 7, PPH_NEWEST_OLD))
    serve_peopleperhour(mirror, listing)
    full = crawl("peopleperhour", base_url=mirror.url, database_url=database_url)
    assert full.returncode == 0, full.log[-3000:]
    assert listing_paths(mirror) == ["/freelance-jobs", "/freelance-jobs?page=2", "/freelance-jobs?page=3"]
    assert watermark(database_url, "peopleperhour") == PPH_NEWEST_OLD

    # K = 4 new: [n n n] [n w o] [o o o] <- older than the watermark: stop; [o o] not asked.
    fresh = hourly(4600000, 4, PPH_NEWEST_OLD + timedelta(hours=4), start=7)
    listing.add_on_top(fresh)
    mirror.requests.clear()
    result = crawl("peopleperhour", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert result.returncode == 0, result.log[-3000:]
    assert listing_paths(mirror) == ["/freelance-jobs", "/freelance-jobs?page=2", "/freelance-jobs?page=3"]
    assert stored_ids(database_url, "peopleperhour") == {p.id for p in listing.postings}
    assert result.feed is not None and sorted(i["external_id"] for i in result.feed) == sorted(p.id for p in fresh)
    assert result.stat("outsourcing/incremental/skipped_stored") == 5
    assert [(r["mode"], r["exit_code"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs(database_url)] == [
        ("full", 0, 7, 7, 0), ("incremental", 0, 4, 4, 0)]
    assert "peopleperhour: incremental run: 3 listing pages read, 5 stored projects skipped" in result.log
    assert watermark(database_url, "peopleperhour") == fresh[0].posted
