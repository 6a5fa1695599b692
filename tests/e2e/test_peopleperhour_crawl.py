"""The peopleperhour spider end to end: real `scrapy crawl peopleperhour` processes against the local
mirror of the listing pages, writing into a fresh PostgreSQL."""

from __future__ import annotations

import json

import pytest

from outsourcing.mirror import Mirror
from outsourcing.platforms.peopleperhour.spider import listing_path
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

HTML = "text/html; charset=utf-8"


def serve_listing(mirror: Mirror, first: str = "freelance-jobs-page-1.html") -> None:
    mirror.add_file("/freelance-jobs", fixture_path("peopleperhour", first), content_type=HTML)
    mirror.add_file("/freelance-jobs?page=2", fixture_path("peopleperhour", "freelance-jobs-page-2.html"), content_type=HTML)


def test_crawl_reads_every_listed_page_and_stores_the_projects(mirror, crawl, database_url) -> None:
    serve_listing(mirror)
    result = crawl("peopleperhour", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    # total-pages is 2: page 3 is never asked for; no detail pages either.
    assert [r.path for r in mirror.requests if r.path != "/robots.txt"] == ["/freelance-jobs", "/freelance-jobs?page=2"]
    rows = query(database_url, "SELECT * FROM postings WHERE platform = 'peopleperhour' ORDER BY external_id")
    assert [row["external_id"] for row in rows] == ["4521900", "4521927", "4521928", "4521929"]
    by_id = {row["external_id"]: row for row in rows}
    site = by_id["4521929"]
    assert site["url"] == ("https://www.peopleperhour.com/freelance-jobs/technology-programming/"
                           "website-development/i-need-a-sample-website-logo-4521929")
    assert (site["budget_min"], site["budget_max"], site["currency"], site["budget_type"]) == (250, 250, "GBP", "fixed")
    assert site["posted_at"].isoformat() == "2026-09-16T18:39:37+00:00"
    assert (site["client"], site["category"], site["remote"]) == ("Sarah K.", "Technology & Programming > Website Development", True)
    assert "sarah.k@example.co.uk" not in site["description"] and "sarah.k@example.co.uk" not in site["raw"]
    assert json.loads(site["raw"])["attributes"]["project_type"] == "fixed_price"
    assert (by_id["4521900"]["currency"], by_id["4521900"]["budget_min"]) == ("EUR", 1200)
    assert by_id["4521927"]["status"] == "closed"
    assert result.stat("outsourcing/listing_pages/recognised") == 2
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["inserted"], run["exit_code"]) == ("peopleperhour", 4, 0)


def test_max_pages_bounds_the_listing(mirror, crawl, database_url) -> None:
    serve_listing(mirror)
    result = crawl("peopleperhour", base_url=mirror.url, database_url=database_url, args={"max_pages": "1"})
    assert result.returncode == 0, result.log[-3000:]
    assert mirror.count("/freelance-jobs?page=2") == 0
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3


@pytest.mark.parametrize(
    ("page", "reason"),
    [("freelance-jobs-layout-changed.html", "no_initial_state"), ("freelance-jobs-no-projects.html", "no_projects_entity")],
)
def test_layout_changed_listing_fails_the_crawl_naming_url_and_reason(mirror, crawl, database_url, page, reason) -> None:
    serve_listing(mirror, first=page)
    result = crawl("peopleperhour", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1
    assert f"peopleperhour: page not recognised: {mirror.url}/freelance-jobs: {reason}" in result.log
    assert result.stat(f"outsourcing/unrecognised/{reason}") == 1
    assert mirror.count("/freelance-jobs?page=2") == 0
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1 and "no listing page of the platform could be read or recognised" in run["problems"]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 0


def test_listing_paths() -> None:
    assert listing_path(1) == "/freelance-jobs"
    assert listing_path(3) == "/freelance-jobs?page=3"
    assert listing_path(2, category="technology-programming", query="wordpress theme") == (
        "/freelance-jobs/technology-programming?q=wordpress+theme&page=2")
