"""The read API over HTTP (a real uvicorn server) on a database filled by real crawls of the
mirror plus generated postings. Search results are compared with an oracle: the same filter
applied in Python to every stored row."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from outsourcing.api.config import SecretMaskFilter
from outsourcing.api.models import PostingDetail
from outsourcing.items import CONTRACT_FIELDS
from outsourcing.query.connection import create_read_only_pool
from outsourcing.query.filters import PostingFilter
from outsourcing.query.postings import EXPORT_FIELDS, search_sql
from tests.api.conftest import (
    ApiServer,
    all_pages,
    create_database,
    drop_database,
    keys,
)
from tests.conftest import REPO, query, run

pytestmark = pytest.mark.e2e

MINUS_INFINITY = datetime.min.replace(tzinfo=UTC)


# --- the oracle ---------------------------------------------------------------------------------------


def stored(url: str) -> list[dict[str, Any]]:
    return query(url, "SELECT * FROM postings")


def matches(row: dict[str, Any], f: PostingFilter) -> bool:
    text = (row["title"] + "\n" + (row["description"] or "")).lower()
    skills = {skill.lower() for skill in row["skills"]}
    wanted = {skill.lower() for skill in f.skills}
    bound = row["budget_max"] if row["budget_max"] is not None else row["budget_min"]
    return all([
        not f.platform or row["platform"] in f.platform,
        all(term.lower() in text for term in f.terms),
        not wanted or (bool(skills & wanted) if f.skills_match == "any" else wanted <= skills),
        f.currency is None or row["currency"] == f.currency,
        f.min_budget is None or (bound is not None and bound >= f.min_budget),
        not f.budget_type or row["budget_type"] in f.budget_type,
        f.remote is None or row["remote"] is f.remote,
        f.status is None or row["status"] == f.status,
        f.posted_since is None or (row["posted_at"] is not None and row["posted_at"] >= f.posted_since),
        f.deadline_after is None or (row["deadline_at"] is not None and row["deadline_at"] > f.deadline_after),
    ])


def order_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["posted_at"] or MINUS_INFINITY, row["platform"], row["external_id"])


def oracle(url: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    f = PostingFilter.from_mapping(params)
    rows = sorted((row for row in stored(url) if matches(row, f)), key=order_key, reverse=True)
    return [(row["platform"], row["external_id"]) for row in rows]


FILTERS: list[dict[str, Any]] = [
    {},
    {"platform": ["wishket"]},
    {"platform": ["kmong", "freelancer"]},
    {"q": "웹"},
    {"q": "앱"},
    {"q": "개발"},
    {"q": "쇼핑"},
    {"q": "웹사이트"},
    {"q": "react"},
    {"q": "REACT dashboard"},
    {"q": '"coffee shop"'},
    {"q": "50%"},
    {"q": "dbt_core"},
    {"q": "engineer"},
    {"skills": ["python"]},
    {"skills": ["React", "Go"]},
    {"skills": ["React", "TypeScript"], "skills_match": "all"},
    {"currency": "KRW", "min_budget": "5000000"},
    {"currency": "USD", "min_budget": 1000},
    {"budget_type": ["monthly"]},
    {"budget_type": ["hourly", "yearly"]},
    {"remote": True},
    {"remote": False},
    {"status": "closed"},
    {"posted_since": "2026-11-20T00:00:00+09:00"},
    {"deadline_after": "2026-11-25"},
    {"platform": ["kmong"], "q": "웹", "remote": True, "currency": "KRW", "min_budget": 5_000_000},
]


@pytest.mark.parametrize("params", FILTERS, ids=[json.dumps(f, ensure_ascii=False) for f in FILTERS])
def test_each_filter_gives_what_the_oracle_gives_in_list_order(client, filled_database, params) -> None:
    expected = oracle(filled_database, params)
    got = keys(all_pages(client, params, limit=9))
    assert got == expected


def test_the_oracle_comparisons_are_not_vacuous(filled_database) -> None:
    everything = oracle(filled_database, {})
    for params in FILTERS[1:]:
        selected = oracle(filled_database, params)
        assert selected, f"{params} selects nothing: the comparison would prove little"
        assert len(selected) < len(everything), f"{params} selects everything"
    crawled = {platform for platform, _ in everything} & {"remoteok", "weworkremotely", "wishket", "freemoa"}
    assert len(crawled) == 4  # crawled postings are part of every comparison


def test_korean_search_finds_short_words_inside_longer_ones(client) -> None:
    web = set(keys(all_pages(client, {"q": "웹"})))
    assert {("kmong", "g-web-1"), ("kmong", "g-web-2")} <= web  # 웹사이트, 모바일웹
    assert ("kmong", "g-app-1") not in web
    app = set(keys(all_pages(client, {"q": "앱"})))
    assert {("kmong", "g-app-1"), ("elancer", "g-app-2")} <= app  # 하이브리드앱, 앱개발
    assert ("kmong", "g-web-1") not in app
    both = set(keys(all_pages(client, {"q": "앱 개발"})))
    assert ("elancer", "g-app-2") in both and ("kmong", "g-app-1") not in both
    shopping = set(keys(all_pages(client, {"q": "쇼핑"})))
    assert {("kmong", "g-web-1"), ("elancer", "g-shop-1")} <= shopping


def test_english_search_is_case_insensitive_and_literal(client) -> None:
    react = set(keys(all_pages(client, {"q": "react"})))
    assert ("freelancer", "g-en-1") in react  # "REACT dashboard", "react.js"
    # % and _ are literal characters, not LIKE wildcards.
    assert keys(all_pages(client, {"q": "50%"})) == [("freelancer", "g-en-4")]
    assert keys(all_pages(client, {"q": "dbt_core"})) == [("freelancer", "g-en-4")]
    assert keys(all_pages(client, {"q": "dbtXcore"})) == []


def test_short_korean_terms_can_be_answered_from_the_hangul_index(filled_database) -> None:
    """The 1- and 2-syllable conditions are index conditions (not just filters): with
    sequential scans off the plan uses postings_search_hangul."""
    for term in ("웹", "개발"):
        sql, values = search_sql(PostingFilter(q=term))

        async def explain(sql: str = sql, values: list = values) -> str:
            connection = await asyncpg.connect(filled_database)
            try:
                await connection.execute("SET enable_seqscan = off; SET enable_indexscan = off")
                rows = await connection.fetch("EXPLAIN " + sql, *values)
                return "\n".join(row[0] for row in rows)
            finally:
                await connection.close()

        plan = run(explain())
        assert "postings_search_hangul" in plan, plan
    sql, values = search_sql(PostingFilter(q="react"))
    assert "outsourcing_hangul_grams" not in sql  # Latin terms use the plain trigram index


def test_pages_neither_skip_nor_repeat_and_the_last_has_no_cursor(client, filled_database) -> None:
    items = all_pages(client, {}, limit=7)
    assert len(keys(items)) == len(set(keys(items)))
    assert keys(items) == oracle(filled_database, {})
    # Ties on posted_at are broken by platform, then external_id (descending, like the rest).
    generated = [key for key in keys(items) if key[1] in ("g-app-1", "g-app-2")]
    assert generated == [("kmong", "g-app-1"), ("elancer", "g-app-2")]
    # Postings without posted_at come last.
    assert items[-1]["posted_at"] is None
    last = client.get("/postings", params={"limit": 200}).json()
    assert last["next_cursor"] is None or len(last["items"]) == 200


def test_list_items_carry_a_snippet_not_the_description(client, filled_database) -> None:
    body = client.get("/postings", params={"q": "모바일웹", "limit": 5}).json()
    [item] = body["items"]
    assert "description" not in item and "raw" not in item
    assert "모바일웹" in item["snippet"]
    [long_item] = client.get("/postings", params={"q": "needle"}).json()["items"]
    assert long_item["external_id"] == "g-long"
    assert "The needle is here." in long_item["snippet"] and len(long_item["snippet"]) <= 242
    assert long_item["snippet"].startswith("…") and long_item["snippet"].endswith("…")
    [start] = client.get("/postings", params={"q": "long brief"}).json()["items"]
    assert start["snippet"].startswith("Background. ") and len(start["snippet"]) <= 241
    assert set(CONTRACT_FIELDS) - {"description"} <= set(item)


def test_one_posting_has_every_field_and_its_history(client, filled_database) -> None:
    answer = client.get("/postings/remoteok/2000001")
    assert answer.status_code == 200
    posting = answer.json()
    PostingDetail.model_validate(posting)
    assert "raw" not in posting and "content_hash" not in posting
    assert posting["description"] == query(filled_database, "SELECT description FROM postings "
                                                            "WHERE external_id = '2000001'")[0]["description"]
    [change] = posting["history"]
    assert sorted(change["changed_fields"]) == ["budget_max", "budget_min"]
    assert change["old_values"] == {"budget_min": 90000, "budget_max": 120000}
    assert change["new_values"] == {"budget_min": 100000, "budget_max": 140000}
    assert (posting["budget_min"], posting["budget_max"]) == (100000, 140000)
    assert isinstance(posting["budget_min"], int)
    assert posting["scraped_at"].endswith("+00:00") and change["changed_at"].endswith("+00:00")
    assert client.get("/postings/remoteok/2000003").json()["history"] == []
    # Korean text arrives intact.
    korean = client.get("/postings/kmong/g-web-1").json()
    assert korean["title"] == "쇼핑몰 웹사이트 리뉴얼"


def test_unknown_posting_is_404(client) -> None:
    answer = client.get("/postings/remoteok/no-such-id")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no posting remoteok/no-such-id"}


@pytest.mark.parametrize("params, field, words", [
    ({"platform": "myspace"}, "platform", "Input should be 'wishket'"),
    ({"min_budget": "100"}, "", "min_budget needs currency"),
    ({"limit": "1000"}, "limit", "less than or equal to 200"),
    ({"limit": "0"}, "limit", "greater than or equal to 1"),
    ({"cursor": "not-a-cursor"}, "cursor", "cursor is not one this API handed out"),
    ({"posted_since": "yesterday"}, "posted_since", "ISO 8601 date or instant"),
    ({"posted_since": "1790000000"}, "posted_since", "ISO 8601 date or instant"),
    ({"remote": "maybe"}, "remote", "boolean"),
    ({"currency": "₩"}, "currency", "three-letter ISO 4217"),
    ({"budget_type": "weekly"}, "budget_type", "'fixed', 'hourly', 'monthly' or 'yearly'"),
    ({"q": " ".join(["w"] * 9)}, "q", "at most 8 search terms"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
])
def test_bad_parameters_answer_422_with_a_clear_message(client, params, field, words) -> None:
    answer = client.get("/postings", params=params)
    assert answer.status_code == 422, answer.text
    details = answer.json()["detail"]
    assert any(words in detail["msg"] and (not field or field in detail["loc"]) for detail in details), details


def test_other_422s(client) -> None:
    assert client.get("/market/daily", params={"time_zone": "Mars/Olympus"}).status_code == 422
    assert client.get("/postings/myspace/1").status_code == 422
    assert client.get("/crawls/health", params={"runs": 0}).status_code == 422


def test_csv_export_streams_every_match_with_the_contract_fields(client, filled_database) -> None:
    params = {"q": "개발"}
    answer = client.get("/postings.csv", params=params)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert [(r["platform"], r["external_id"]) for r in rows] == oracle(filled_database, params)
    web = next(r for r in rows if r["external_id"] == "g-app-2")
    assert json.loads(web["skills"]) == ["Swift", "Kotlin"]
    assert (web["budget_min"], web["budget_max"], web["remote"]) == ("7000000", "", "false")
    assert web["title"] == "앱개발 PM 구합니다"
    excel = client.get("/postings.csv", params={"q": "개발", "excel": "true"})
    assert excel.content.startswith("\ufeff".encode("utf-8"))


def test_jsonl_export_in_contract_formats(client, filled_database) -> None:
    answer = client.get("/postings.jsonl")
    assert answer.status_code == 200
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [(r["platform"], r["external_id"]) for r in lines] == oracle(filled_database, {})
    for record in lines:
        assert list(record) == list(EXPORT_FIELDS)
        assert isinstance(record["skills"], list)
        for name in ("posted_at", "deadline_at", "scraped_at", "first_seen_at"):
            if record[name] is not None:
                assert datetime.fromisoformat(record[name]).utcoffset() == timedelta(0) and record[name].endswith("+00:00")
        for name in ("budget_min", "budget_max"):
            assert record[name] is None or isinstance(record[name], (int, float)) and not isinstance(record[name], bool)
    limited = client.get("/postings.jsonl", params={"limit": 3}).text.splitlines()
    assert len(limited) == 3


def test_market_figures_say_how_many_postings_and_which_period(client, filled_database) -> None:
    rows = stored(filled_database)
    daily = client.get("/market/daily", params={"days": 366, "time_zone": "Asia/Seoul"}).json()
    assert daily["period"]["time_zone"] == "Asia/Seoul" and daily["period"]["days"] == 366
    start = datetime.fromisoformat(daily["period"]["from"])
    end = datetime.fromisoformat(daily["period"]["to"])
    dated = [r for r in rows if r["posted_at"] is not None and start <= r["posted_at"] < end]
    assert daily["n"] == len(dated) == sum(day["n"] for day in daily["days"])
    undated = sum(item["n"] for item in daily["without_posted_at"])
    assert undated == sum(1 for r in rows if r["posted_at"] is None)

    budgets = client.get("/market/budgets", params={"days": 366, "platform": "kmong"}).json()
    group = next(g for g in budgets["groups"] if g["budget_type"] == "fixed" and g["currency"] == "KRW")
    amounts = sorted(((r["budget_min"] if r["budget_min"] is not None else r["budget_max"]) +
                      (r["budget_max"] if r["budget_max"] is not None else r["budget_min"])) / 2
                     for r in rows if r["platform"] == "kmong" and r["budget_type"] == "fixed" and r["currency"] == "KRW"
                     and r["category"] is None and r["posted_at"] is not None and start <= r["posted_at"] < end
                     and (r["budget_min"] is not None or r["budget_max"] is not None))
    assert group["n"] == len(amounts)
    assert Decimal(str(group["median"])) == _percentile(amounts, Decimal("0.5"))
    # Currencies and types are never mixed: one currency and one type per group.
    assert len({(g["platform"], g["category"], g["budget_type"], g["currency"]) for g in budgets["groups"]}) == len(budgets["groups"])

    skills = client.get("/market/skills", params={"days": 366}).json()
    excel = next(s for s in skills["skills"] if s["skill"] == "excel")
    assert excel["n"] == sum(1 for r in rows if "Excel" in r["skills"] and r["posted_at"] and start <= r["posted_at"] < end)


def _percentile(values: list[Decimal], fraction: Decimal) -> Decimal:
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return (values[low] + (values[high] - values[low]) * (position - low)).quantize(Decimal("0.01")).normalize()


def test_crawl_health_shows_runs_and_failing_platforms(client, filled_database) -> None:
    health = client.get("/crawls/health").json()
    by_platform = {p["platform"]: p for p in health["platforms"]}
    assert by_platform["guru"]["runs"][0]["outcome"] == "failed"
    assert by_platform["guru"]["runs"][0]["problems"]
    assert [run["outcome"] for run in by_platform["remoteok"]["runs"]] == ["ok", "ok"]
    assert by_platform["remoteok"]["runs"][0]["updated"] == 1
    assert health["failing"] == []  # one failed run is not yet a streak
    page = client.get("/crawls")
    assert page.status_code == 200 and "guru" in page.text and "FAILING" not in page.text
    query(filled_database, "INSERT INTO crawl_runs (spider, started_at, finished_at, finish_reason, exit_code, host) "
                           "SELECT 'guru', now() + g * interval '1 second', now() + g * interval '2 second', "
                           "'finished', 1, 'test-added' FROM generate_series(1, 2) g")
    try:
        health = client.get("/crawls/health").json()
        assert health["failing"] == ["guru"]
        assert "guru — FAILING" in client.get("/crawls").text
    finally:  # the database is shared by all of tests/api
        query(filled_database, "DELETE FROM crawl_runs WHERE host = 'test-added'")


def test_health_reports_database_schema_and_hangul_classification(client, filled_database) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    # The newest migration the database holds (5 is the API's; later blocks, e.g. the report's 7,
    # may follow it).
    newest = query(filled_database, "SELECT max(version) AS v FROM schema_version")[0]["v"]
    assert (body["status"], body["database"], body["schema_version"]) == ("ok", "reachable", newest)
    assert newest >= 5
    hangul = query(filled_database, "SELECT cardinality(show_trgm('웹사')) > 0 AS yes")[0]["yes"]
    assert body["hangul_trigrams"] is hangul


def test_openapi_schema_is_served(client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/postings", "/postings.csv", "/postings.jsonl", "/postings/{platform}/{external_id}", "/health",
            "/market/daily", "/market/budgets", "/market/skills", "/crawls/health"} <= set(schema["paths"])
    methods = {method for path in schema["paths"].values() for method in path}
    assert methods == {"get"}, "read-only: GET only"
    assert client.get("/docs").status_code == 200


def test_no_write_endpoints(client) -> None:
    for path in ("/postings", "/postings/remoteok/2000001", "/"):
        assert client.post(path, json={}).status_code == 405
        assert client.delete(path).status_code == 405


def test_sessions_are_read_only_with_a_statement_timeout(filled_database) -> None:
    async def check() -> None:
        pool = await create_read_only_pool(filled_database, statement_timeout_ms=1500)
        try:
            async with pool.acquire() as connection:
                assert await connection.fetchval("SHOW statement_timeout") == "1500ms"
                with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
                    await connection.execute("DELETE FROM postings")
                with pytest.raises(asyncpg.exceptions.QueryCanceledError):
                    await connection.execute("SELECT pg_sleep(3)")
        finally:
            await pool.close()

    run(check())
    assert query(filled_database, "SELECT count(*) AS n FROM postings")[0]["n"] > 0


def test_a_database_without_the_schema_gets_503_with_what_to_do(server_url) -> None:
    url = create_database(server_url)
    try:
        with ApiServer(url) as server, server.client() as http:
            health = http.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "no_schema" and "run a crawl first" in health.json()["problem"]
            data = http.get("/postings")
            assert data.status_code == 503 and "run a crawl first" in data.json()["detail"]
            assert http.get("/").status_code == 503
    finally:
        drop_database(server_url, url)



def test_a_database_of_an_older_schema_is_not_reported_healthy(server_url) -> None:
    """/market reads the functions of schema block 7: a database migrated only to 6 (by an
    older version of the project) must not answer "ok" on /health and then 503 on /market."""
    url = create_database(server_url)
    try:
        async def older_schema() -> None:
            connection = await asyncpg.connect(url)
            try:
                await connection.execute((REPO / "schema.sql").read_text(encoding="utf-8"))
                await connection.execute("DELETE FROM schema_version WHERE version >= 7")
            finally:
                await connection.close()

        run(older_schema())
        with ApiServer(url) as server, server.client() as http:
            health = http.get("/health")
            assert health.status_code == 503, health.text
            assert "schema is version 6, the API needs 7" in health.json()["problem"]
            assert http.get("/postings").status_code == 503
    finally:
        drop_database(server_url, url)

def test_bearer_token_when_configured_and_masked_in_logs(filled_database, caplog) -> None:
    from outsourcing.api.config import ApiSettings

    token = "s3cret-token-value"
    with ApiServer(filled_database, ApiSettings(api_token=token)) as server, server.client() as http:
        assert http.get("/postings").status_code == 401
        assert http.get("/postings", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/").status_code == 401
        assert http.get("/postings", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert http.get("/health").status_code == 200  # for load balancers
    mask = SecretMaskFilter()
    mask.token, mask.dsn = token, "postgresql://reader:pa55word@db:5432/x"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s dsn %s", (token, mask.dsn), None)
    mask.filter(record)
    assert token not in record.getMessage() and "pa55word" not in record.getMessage()
    assert "reader:***@db" in record.getMessage()
