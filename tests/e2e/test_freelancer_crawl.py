"""The freelancer spider end to end: real `scrapy crawl freelancer` processes against the local
mirror of the projects API, writing into a fresh PostgreSQL."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from outsourcing.mirror import Mirror, MirrorRequest, Reply
from outsourcing.platforms.freelancer.spider import API_PATH, FROM_TIME_MARGIN
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

JSON = "application/json"
TOKEN = "fl-oauth-e2e-9f8e7d6c5b4a39281706"
NEWEST = 1790003600  # time_submitted of the newest project below (2026-09-21T15:13:20+00:00)


def fixture_envelope() -> dict[str, Any]:
    return json.loads(fixture_path("freelancer", "projects-page.json").read_text(encoding="utf-8"))


def make_projects(count: int) -> list[dict[str, Any]]:
    """`count` projects, newest first, one hour apart, built on the fixture's first project."""
    template = fixture_envelope()["result"]["projects"][0]
    projects = []
    for n in range(count):
        project = copy.deepcopy(template)
        project["id"] = 50000000 + n
        project["title"] = f"Project number {n}"
        project["seo_url"] = f"python/Project-number-{n}"
        project["time_submitted"] = project["submitdate"] = NEWEST - n * 3600
        project["bid_stats"]["bid_count"] = n
        projects.append(project)
    return projects


def serve_projects(mirror: Mirror, projects: list[dict[str, Any]]) -> None:
    """The API's paging and from_time filter over `projects`, like the real endpoint."""
    users = fixture_envelope()["result"]["users"]

    def route(request: MirrorRequest) -> Reply:
        params = {key: values[0] for key, values in request.query.items()}
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 10))
        chosen = [p for p in projects if "from_time" not in params or p["time_submitted"] >= int(params["from_time"])]
        body = {"status": "success", "request_id": "mirror",
                "result": {"projects": chosen[offset: offset + limit], "total_count": len(chosen), "users": users}}
        return Reply(body=json.dumps(body).encode(), content_type=JSON)

    mirror.add(API_PATH, route)


def api_requests(mirror: Mirror) -> list[MirrorRequest]:
    return [r for r in mirror.requests if r.path.startswith(API_PATH)]


def header(request: MirrorRequest, name: str) -> str | None:
    return next((value for key, value in request.headers.items() if key.lower() == name.lower()), None)


def test_full_crawl_pages_through_the_api_with_the_token(mirror, crawl, database_url) -> None:
    serve_projects(mirror, make_projects(5))
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url,
                   args={"page_size": "2"}, settings={"LOG_LEVEL": "DEBUG"},
                   env={"FREELANCER_OAUTH_TOKEN": TOKEN})
    assert result.returncode == 0, result.log[-3000:]
    requests = api_requests(mirror)
    # Three pages of two (5 projects), with the documented parameters; no web pages.
    assert [r.query["offset"] for r in requests] == [["0"], ["2"], ["4"]]
    assert requests[0].path == (f"{API_PATH}?full_description=true&job_details=true&user_details=true"
                                "&limit=2&offset=0&sort_field=time_submitted")
    assert {r.path for r in mirror.requests} - {r.path for r in requests} == {"/robots.txt"}
    # The token travels in its header on every API call, and never into the log.
    assert all(header(r, "freelancer-oauth-v1") == TOKEN for r in requests)
    assert TOKEN not in result.log and TOKEN[-12:] not in result.log
    assert "sending the OAuth token from FREELANCER_OAUTH_TOKEN" in result.log

    rows = query(database_url, "SELECT * FROM postings WHERE platform = 'freelancer' ORDER BY external_id")
    assert [row["external_id"] for row in rows] == [str(50000000 + n) for n in range(5)]
    first = rows[0]
    assert first["url"] == "https://www.freelancer.com/projects/python/Project-number-0"
    assert (first["budget_min"], first["budget_max"], first["currency"], first["budget_type"]) == (300, 800, "EUR", "fixed")
    assert first["client"] == "Jane D." and first["skills"] == ["Python", "FastAPI"]
    assert first["posted_at"].isoformat() == "2026-09-21T15:13:20+00:00"
    assert "jane.doe@example.com" not in first["description"] and "jane.doe@example.com" not in first["raw"]
    assert result.stat("outsourcing/listing_pages/recognised") == 3
    run_row = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run_row["spider"], run_row["mode"], run_row["inserted"], run_row["exit_code"]) == ("freelancer", "full", 5, 0)


def test_max_pages_bounds_the_paging(mirror, crawl, database_url) -> None:
    serve_projects(mirror, make_projects(5))
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "2", "max_pages": "2"})
    assert result.returncode == 0, result.log[-3000:]
    assert len(api_requests(mirror)) == 2
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 4


def test_incremental_asks_from_the_watermark(mirror, crawl, database_url) -> None:
    projects = make_projects(3)[1:]  # the two older ones first
    serve_projects(mirror, projects)
    first = crawl("freelancer", base_url=mirror.url, database_url=database_url)
    assert first.returncode == 0, first.log[-3000:]
    assert all("from_time" not in r.query for r in api_requests(mirror))
    watermark = NEWEST - 3600  # the newest posting the clean full run saw

    # New projects arrive; the incremental run asks only for what was submitted since the
    # watermark (less the margin), and does not yield the stored project the margin re-lists.
    serve_projects(mirror, make_projects(3))
    mirror.requests.clear()
    second = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert second.returncode == 0, second.log[-3000:]
    requests = api_requests(mirror)
    assert len(requests) == 1 and requests[0].query["from_time"] == [str(watermark - FROM_TIME_MARGIN)]
    assert f"from_time={watermark - FROM_TIME_MARGIN}" in second.log
    runs = query(database_url, "SELECT mode, scraped, inserted, unchanged FROM crawl_runs ORDER BY id")
    assert [(r["mode"], r["scraped"], r["inserted"], r["unchanged"]) for r in runs] == [("full", 2, 2, 0), ("incremental", 1, 1, 0)]
    assert second.stat("outsourcing/incremental/skipped_stored") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3

    # Nothing newer than the watermark (now the newest project): an empty answer is a result,
    # not an error.
    serve_projects(mirror, [])
    mirror.requests.clear()
    third = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"mode": "incremental"})
    assert third.returncode == 0, third.log[-3000:]
    assert api_requests(mirror)[0].query["from_time"] == [str(NEWEST - FROM_TIME_MARGIN)]
    assert third.stat("outsourcing/listing_pages/recognised") == 1
    assert "page not recognised" not in third.log


def test_incremental_without_a_reachable_database_warns_and_crawls_everything(mirror, crawl) -> None:
    serve_projects(mirror, make_projects(2))
    result = crawl("freelancer", base_url=mirror.url, database_url="postgresql://crawler:s3cr3t-pw@127.0.0.1:9/none",
                   args={"mode": "incremental"}, settings={"ITEM_PIPELINES": "{}"})
    assert result.returncode == 0, result.log[-3000:]
    assert "incremental mode without a reachable database: reading everything" in result.log
    assert "s3cr3t-pw" not in result.log
    assert all("from_time" not in r.query for r in api_requests(mirror))
    assert result.feed is not None and len(result.feed) == 2


def test_429_is_retried_after_retry_after(mirror, crawl, database_url) -> None:
    serve_projects(mirror, make_projects(3))
    mirror.fail(API_PATH, [Reply(status=429, headers={"Retry-After": "1"}, body=b'{"status": "error"}', content_type=JSON)])
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    calls = [r.at for r in api_requests(mirror)]
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95
    assert result.stat("outsourcing/backoff/429") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3


def test_api_error_answer_is_an_error_naming_the_reason(mirror, crawl, database_url) -> None:
    body = {"status": "error", "message": "Invalid OAuth token", "error_code": "AUTH_INVALID_TOKEN", "request_id": "r"}
    mirror.add(API_PATH, json.dumps(body), status=401, content_type=JSON)
    result = crawl("freelancer", base_url=mirror.url, database_url=database_url, env={"FREELANCER_OAUTH_TOKEN": TOKEN})
    assert result.returncode == 1
    assert re.search(r"page not recognised: \S+/api/projects/0\.1/projects/active/\S+: api_error \(AUTH_INVALID_TOKEN", result.log)
    assert result.stat("outsourcing/unrecognised/api_error") == 1
    assert TOKEN not in result.log
