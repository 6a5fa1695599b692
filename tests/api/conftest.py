"""The API under test: a database filled once per module by real crawls of the local mirror
(several platforms in one `scrapy crawlall`, then a re-crawl that changes a budget, so there is
history) plus generated postings of chosen shapes, and the app under a real uvicorn server on
a free 127.0.0.1 port, talked to over HTTP with httpx."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from outsourcing.api.app import create_app
from outsourcing.api.config import ApiSettings
from outsourcing.mirror import Mirror
from outsourcing.query.connection import DatabaseTarget
from tests.conftest import _with_database, fixture_path, query, run

JSON = "application/json"
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
#: When the generated postings were "posted": a fixed day, so expectations do not move.
BASE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


# --- databases ------------------------------------------------------------------------------------


def create_database(server_url: str) -> str:
    name = f"outsourcing_test_api_{uuid.uuid4().hex[:10]}"

    async def go() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    run(go())
    return _with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]

    async def go() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    run(go())


# --- real crawls ------------------------------------------------------------------------------------


def serve_platforms(mirror: Mirror, remoteok_jobs: list[dict[str, Any]]) -> None:
    """RemoteOK, We Work Remotely, Wishket and Freemoa on one mirror (their paths differ), plus a
    Guru listing whose layout changed (a failed run for crawl health)."""
    from tests.e2e.test_freemoa_crawl import serve_freemoa
    from tests.e2e.test_wishket_crawl import serve_wishket

    mirror.add("/api", json.dumps(remoteok_jobs), content_type=JSON)
    mirror.add_file("/remote-jobs.rss", fixture_path("weworkremotely", "remote-jobs.rss"), content_type=RSS)
    serve_wishket(mirror, [])
    serve_freemoa(mirror)
    mirror.add_file("/d/jobs/", fixture_path("guru", "jobs-layout-changed.html"), content_type=HTML)


def crawl_into(url: str, tmp: Path) -> None:
    from tests.e2e.test_crawlall import run_scrapy

    jobs = json.loads(fixture_path("remoteok", "api.json").read_text(encoding="utf-8"))
    with Mirror() as mirror:
        serve_platforms(mirror, jobs)
        first = run_scrapy(["crawlall", "remoteok", "weworkremotely", "wishket", "freemoa", "guru",
                            "-a", f"base_url={mirror.url}"], home=tmp / "home", database_url=url, timeout=240)
        # guru fails on purpose (its listing's layout changed): exit status 1, the rest stored.
        assert first.returncode == 1, first.log[-4000:]
        counts = {r["platform"]: r["n"] for r in query(url, "SELECT platform, count(*) AS n FROM postings GROUP BY 1")}
        assert set(counts) == {"remoteok", "weworkremotely", "wishket", "freemoa"}, (counts, first.log[-3000:])
        # A budget change on RemoteOK: one history row for that posting.
        jobs[1]["salary_min"], jobs[1]["salary_max"] = 100000, 140000
        mirror.add("/api", json.dumps(jobs), content_type=JSON)
        again = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}"], home=tmp / "home",
                           database_url=url, timeout=120)
        assert again.returncode == 0, again.log[-4000:]


# --- generated postings of chosen shapes -------------------------------------------------------------


@dataclass
class Generated:
    platform: str
    external_id: str
    title: str
    description: str | None
    skills: list[str]
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    currency: str | None = None
    budget_type: str | None = None
    remote: bool | None = None
    status: str | None = "open"
    posted_at: datetime | None = None
    deadline_at: datetime | None = None
    category: str | None = None


def generated_postings() -> list[Generated]:
    """Korean and English postings whose matches are known by construction: the words 웹 and 앱
    inside longer words (웹사이트, 모바일웹, 앱개발, 하이브리드앱), 2-syllable 개발/쇼핑, mixed case
    English, budgets in two currencies, every budget type, remote/on-site/unknown."""
    rows = [
        Generated("kmong", "g-web-1", "쇼핑몰 웹사이트 리뉴얼", "반응형 웹사이트 구축, 관리자 페이지 포함", ["React", "Node.js"],
                  Decimal(5_000_000), Decimal(8_000_000), "KRW", "fixed", True),
        Generated("kmong", "g-web-2", "모바일웹 결제 연동", "PG 결제 모듈을 모바일웹에 붙입니다", ["PHP"],
                  Decimal(3_000_000), Decimal(3_000_000), "KRW", "fixed", False),
        Generated("kmong", "g-app-1", "하이브리드앱 유지보수", "Flutter 기반 앱 유지보수 (월 단위)", ["Flutter"],
                  Decimal(6_000_000), Decimal(6_000_000), "KRW", "monthly", False),
        Generated("elancer", "g-app-2", "앱개발 PM 구합니다", "iOS/Android 앱개발 관리, 상주 근무", ["Swift", "Kotlin"],
                  Decimal(7_000_000), None, "KRW", "monthly", False),
        Generated("elancer", "g-shop-1", "쇼핑 데이터 분석", "쇼핑 로그로 추천 모델을 만듭니다", ["python", "SQL"],
                  None, None, None, None, None),
        Generated("freelancer", "g-en-1", "Build a REACT dashboard", "We need a react.js developer for charts.",
                  ["React", "TypeScript"], Decimal(500), Decimal(1500), "USD", "fixed", True),
        Generated("freelancer", "g-en-2", "Go microservice for payments", "Write a small Go service; gRPC.",
                  ["Go"], Decimal(30), Decimal(45), "USD", "hourly", True),
        Generated("peopleperhour", "g-en-3", "Logo design", "Design a logo for a coffee shop. 100% original!",
                  ["Design"], Decimal(200), Decimal(200), "GBP", "fixed", None, "closed"),
        Generated("freelancer", "g-en-4", "Data pipeline (Airflow)", "Daily ETL with airflow and dbt_core, 50% done.",
                  ["airflow", "Python"], Decimal(80000), Decimal(120000), "INR", "fixed", True),
        Generated("remoteok", "g-en-5", "Staff engineer", None, ["rust"], Decimal(150000), Decimal(190000), "USD",
                  "yearly", True),
    ]
    rows.append(Generated("guru", "g-long", "Long brief", "Background. " * 100 + "The needle is here. " +
                          "More text. " * 100, ["Writing"], Decimal(300), Decimal(300), "USD", "fixed", True))
    for index, row in enumerate(rows):
        row.posted_at = BASE - timedelta(hours=3 * index)
        row.deadline_at = BASE + timedelta(days=index + 1)
    rows[-1].posted_at = None  # no posted_at: last in the list order
    # Same posted_at on two postings: the tie is broken by platform, then external_id.
    rows[3].posted_at = rows[2].posted_at
    # Filler pages of English and Korean postings so paging has pages to turn.
    for number in range(60):
        korean = number % 2 == 0
        rows.append(Generated(
            "freelancer" if not korean else "kmong", f"g-fill-{number:03d}",
            f"{'데이터 라벨링 작업' if korean else 'Content writing task'} {number}",
            ("간단한 데이터 작업입니다. " if korean else "A simple writing job. ") * 5,
            ["Excel"] if korean else ["Writing"],
            Decimal(100_000 * number) if korean else Decimal(10 * number), None, "KRW" if korean else "USD",
            "fixed", None, "open" if number % 3 else "closed", BASE - timedelta(days=1, minutes=7 * number),
            BASE + timedelta(days=number % 5)))
    return rows


async def _insert(url: str, rows: list[Generated]) -> None:
    connection = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        await connection.executemany(
            """INSERT INTO postings (platform, external_id, url, title, description, category, skills, budget_min,
                   budget_max, currency, budget_type, remote, posted_at, deadline_at, status, scraped_at, content_hash,
                   first_seen_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'generated', $16)""",
            [(r.platform, r.external_id, f"https://example.invalid/{r.platform}/{r.external_id}", r.title,
              r.description, r.category, r.skills, r.budget_min, r.budget_max, r.currency, r.budget_type, r.remote,
              r.posted_at, r.deadline_at, r.status, now) for r in rows])
        await connection.execute(
            "INSERT INTO posting_seen (platform, external_id, last_seen_at) "
            "SELECT platform, external_id, first_seen_at FROM postings WHERE content_hash = 'generated'")
    finally:
        await connection.close()


def insert_generated(url: str, rows: list[Generated]) -> None:
    run(_insert(url, rows))


# --- the server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiServer:
    """The app under a real uvicorn server in a thread of the test process."""

    def __init__(self, database_url: str, settings: ApiSettings | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings or ApiSettings(statement_timeout_ms=5000, pool_size=4),
                         target=DatabaseTarget(url=database_url))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def filled_database(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database filled by real crawls of the mirror plus the generated postings, once for all
    of tests/api (tests that change it undo their change)."""
    url = create_database(server_url)
    try:
        crawl_into(url, tmp_path_factory.mktemp("crawl"))
        insert_generated(url, generated_postings())
        yield url
    finally:
        drop_database(server_url, url)


@pytest.fixture(scope="session")
def api(filled_database: str) -> Iterator[ApiServer]:
    with ApiServer(filled_database) as server:
        yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as http:
        yield http


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def all_pages(http: httpx.Client, params: dict[str, Any], *, limit: int = 7) -> list[dict[str, Any]]:
    """Every item of a search, page by page through next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        answer = http.get("/postings", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging did not end")


def keys(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["platform"], item["external_id"]) for item in items]


def loop_run(coro: Any) -> Any:
    return asyncio.run(coro)
