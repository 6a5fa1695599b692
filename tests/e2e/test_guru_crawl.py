"""The guru spider end to end: real `scrapy crawl guru` processes against the local mirror of the
server-rendered listing, writing into a fresh PostgreSQL."""

from __future__ import annotations

import json

import pytest

from outsourcing.mirror import Mirror
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

HTML = "text/html; charset=utf-8"


def serve_listing(mirror: Mirror, page_2: str = "jobs-page-2.html") -> None:
    mirror.add_file("/d/jobs/", fixture_path("guru", "jobs-page-1.html"), content_type=HTML)
    mirror.add_file("/d/jobs/pg/2/", fixture_path("guru", page_2), content_type=HTML)


def test_crawl_follows_the_pager_and_stores_every_card(mirror, crawl, database_url) -> None:
    serve_listing(mirror)
    result = crawl("guru", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    assert [r.path for r in mirror.requests if r.path != "/robots.txt"] == ["/d/jobs/", "/d/jobs/pg/2/"]
    rows = query(database_url, "SELECT * FROM postings WHERE platform = 'guru' ORDER BY external_id")
    assert [row["external_id"] for row in rows] == ["2119650", "2119700", "2119777", "2119835", "2119840"]
    by_id = {row["external_id"]: row for row in rows}
    shopify = by_id["2119835"]
    assert shopify["url"] == "https://www.guru.com/jobs/build-a-shopify-storefront/2119835"  # no &SearchUrl=
    assert (shopify["budget_min"], shopify["budget_max"], shopify["currency"], shopify["budget_type"]) == (500, 1000, "USD", "fixed")
    assert (shopify["client"], shopify["location"], shopify["proposals"]) == ("Northwind Traders", "United States", 5)
    assert shopify["skills"] == ["Shopify", "Liquid"]
    wordpress = by_id["2119777"]
    assert (wordpress["budget_min"], wordpress["budget_max"]) == (None, 250)  # "Under $250"
    assert wordpress["posted_at"].isoformat() == "2026-02-22T05:00:00+00:00"
    assert "owner@tea-shop.example" not in wordpress["description"] and "owner@tea-shop.example" not in wordpress["raw"]
    assert json.loads(by_id["2119840"]["raw"])["budget"] == "Hourly"
    assert result.stat("outsourcing/listing_pages/recognised") == 2
    assert result.feed is not None and len(result.feed) == 5
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["inserted"], run["exit_code"]) == ("guru", 5, 0)


def test_max_pages_stops_the_pager(mirror, crawl, database_url) -> None:
    serve_listing(mirror)
    result = crawl("guru", base_url=mirror.url, database_url=database_url, args={"max_pages": "1"})
    assert result.returncode == 0, result.log[-3000:]
    assert mirror.count("/d/jobs/pg/2/") == 0
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3


def test_layout_changed_listing_fails_the_crawl_naming_url_and_reason(mirror, crawl, database_url) -> None:
    mirror.add_file("/d/jobs/", fixture_path("guru", "jobs-layout-changed.html"), content_type=HTML)
    result = crawl("guru", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1
    assert f"guru: page not recognised: {mirror.url}/d/jobs/: no_job_cards" in result.log
    assert result.stat("outsourcing/unrecognised/no_job_cards") == 1
    assert mirror.count("/d/jobs/pg/2/") == 0  # a page we do not understand gives no next link to follow
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1 and run["errors"] == 1
    assert "no listing page of the platform could be read or recognised" in run["problems"]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 0


def test_layout_change_on_a_later_page_is_an_error_but_page_one_is_stored(mirror, crawl, database_url) -> None:
    serve_listing(mirror, page_2="jobs-layout-changed.html")
    result = crawl("guru", base_url=mirror.url, database_url=database_url)
    # Some listing page was recognised and every extracted posting stored: exit 0, error logged.
    assert result.returncode == 0, result.log[-3000:]
    assert f"guru: page not recognised: {mirror.url}/d/jobs/pg/2/: no_job_cards" in result.log
    assert result.stat("outsourcing/unrecognised/no_job_cards") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3
