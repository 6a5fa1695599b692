"""Crawl control end to end: what a run counts as an error, what arguments it refuses, what it
prints last, which platforms `crawlall` runs unasked, and secrets in its log. Real `scrapy`
processes against the local mirror and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from outsourcing.mirror import Mirror
from tests.conftest import query
from tests.e2e.test_crawlall import run_scrapy, serve_platforms

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
