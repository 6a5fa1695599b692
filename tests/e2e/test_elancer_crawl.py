"""Elancer end to end: real `scrapy crawl elancer` processes against the local mirror (sitemap
index, child sitemaps, project pages), into a fresh PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

XML = "application/xml"
STORED = ["48211", "48212", "48214", "48215", "48216"]  # 48213's page has no JSON-LD
CHALLENGE = "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div id='cf-chl'></div></body></html>"


def serve_site(mirror: Mirror) -> None:
    for name in ("sitemap.xml", "sitemap_project_1.xml", "sitemap_project_2.xml"):
        mirror.add_file(f"/{name}", fixture_path("elancer", name), content_type=XML)
    for path in sorted(fixture_path("elancer").glob("project_detail-*.html")):
        project_id = path.stem.removeprefix("project_detail-")
        mirror.add_file(f"/project_detail/{project_id}", path, content_type="text/html; charset=utf-8")


def stored(database_url: str) -> dict[str, dict[str, Any]]:
    rows = query(database_url, "SELECT * FROM postings WHERE platform = 'elancer' ORDER BY external_id")
    return {row["external_id"]: row for row in rows}


def detail_paths(mirror: Mirror) -> list[str]:
    return [r.path for r in mirror.requests if r.path.startswith("/project_detail/")]


def test_sitemap_index_children_and_project_pages(mirror, crawl, database_url) -> None:
    serve_site(mirror)
    result = crawl("elancer", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]  # a project page without JSON-LD is not a failed crawl

    rows = stored(database_url)
    assert sorted(rows) == STORED
    bank = rows["48216"]
    assert bank["url"] == "https://www.elancer.co.kr/project_detail/48216"
    assert (bank["budget_min"], bank["budget_max"], bank["currency"], bank["budget_type"]) == (6500000, 7500000, "KRW", "monthly")
    assert (bank["remote"], bank["location"], bank["duration_days"]) == (False, "서울특별시 중구 세종대로 110", 180)
    assert bank["skills"] == ["Java", "Spring Boot", "Oracle"]
    assert bank["posted_at"].isoformat() == "2026-09-30T15:00:00+00:00"
    assert "[phone removed]" in bank["description"] and "02-555-1234" not in bank["raw"]
    assert json.loads(bank["raw"])["experienceRequirements"] == "고급 (경력 10년 이상)"
    assert (rows["48215"]["remote"], rows["48215"]["budget_max"]) == (True, None)
    assert (rows["48214"]["remote"], rows["48214"]["budget_min"]) == (False, 7000000)

    # The index, then its two children in order (one listing page each); the foreign
    # sitemap it names is never fetched. Every project page once, the duplicate too.
    sitemaps = [r.path for r in mirror.requests if r.path.endswith(".xml")]
    assert sitemaps == ["/sitemap.xml", "/sitemap_project_1.xml", "/sitemap_project_2.xml"]
    assert sorted(detail_paths(mirror)) == sorted(f"/project_detail/{i}" for i in [*STORED, "48213"])
    assert result.stat("outsourcing/listing_pages/recognised") == 3

    # The page without JSON-LD: an error naming the URL and the reason, counted.
    assert "page not recognised" in result.log and "no_jsonld" in result.log
    assert f"{mirror.url}/project_detail/48213" in result.log
    assert result.stat("outsourcing/unrecognised/no_jsonld") == 1
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["spider"], run["exit_code"], run["inserted"], run["errors"]) == ("elancer", 0, 5, 1)
    assert result.feed is not None and sorted(row["external_id"] for row in result.feed) == STORED


def test_max_items_takes_the_newest_projects(mirror, crawl, database_url) -> None:
    serve_site(mirror)
    result = crawl("elancer", base_url=mirror.url, database_url=database_url, args={"max_items": "2"})
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(detail_paths(mirror)) == ["/project_detail/48215", "/project_detail/48216"]
    assert sorted(stored(database_url)) == ["48215", "48216"]
    assert mirror.count("/sitemap_project_2.xml") == 0  # nothing more was needed


def test_max_pages_bounds_the_sitemaps_read(mirror, crawl, database_url) -> None:
    serve_site(mirror)
    result = crawl("elancer", base_url=mirror.url, database_url=database_url, args={"max_pages": "2"})
    assert result.returncode == 0, result.log[-3000:]
    assert mirror.count("/sitemap_project_2.xml") == 0
    assert sorted(stored(database_url)) == ["48214", "48215", "48216"]


def test_a_failed_child_sitemap_does_not_stop_the_next(mirror, crawl, database_url) -> None:
    serve_site(mirror)
    mirror.add("/sitemap_project_1.xml", Reply(status=404, body=b"not found", content_type="text/plain"))
    result = crawl("elancer", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    assert "sitemap_project_1.xml" in result.log and "http_404" in result.log
    assert sorted(stored(database_url)) == ["48211", "48212", "48214"]


def test_challenge_page_where_the_sitemap_was_due_fails_the_crawl(mirror, crawl, database_url) -> None:
    serve_site(mirror)
    mirror.add("/sitemap.xml", Reply(status=200, body=CHALLENGE.encode()))
    result = crawl("elancer", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-3000:]
    assert "page not recognised" in result.log and "challenge_page" in result.log
    assert f"{mirror.url}/sitemap.xml" in result.log
    assert result.stat("outsourcing/unrecognised/challenge_page") == 1
    assert detail_paths(mirror) == [] and stored(database_url) == {}
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1
    assert "no listing page of the platform could be read or recognised" in run["problems"]


def test_html_where_the_sitemap_was_due_fails_the_crawl(mirror, crawl, database_url) -> None:
    mirror.add("/sitemap.xml", "<!DOCTYPE html><html lang='ko'><head><meta charset='utf-8'></head><body>점검 중</body></html>")
    result = crawl("elancer", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1, result.log[-3000:]
    assert "html_not_sitemap" in result.log and f"{mirror.url}/sitemap.xml" in result.log
