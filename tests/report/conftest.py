"""The market report under test: one database for the session (both test modules), filled by real crawls of the local
mirror (several platforms, a failing one, a re-crawl that changes a budget, and one that closes
a posting the platform stopped listing) plus generated history of chosen shapes: postings on
both sides of a Seoul/UTC day boundary, budgets in several currencies and types where mixing
would move every median, skills that rise and fall, budget changes and closings before and after
a period's end, and crawl runs of every outcome.

Reports are made by the real command (`python -m scrapy report ...`, processes started in
parallel) and compared with values computed here from plain SELECTs of the tables (not through
the views or functions the report uses), in `oracle.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from outsourcing.mirror import Mirror
from tests.api.conftest import JSON, crawl_into, create_database, drop_database
from tests.conftest import REPO, fixture_path, query, run
from tests.e2e.test_crawlall import run_scrapy, scrapy_environment

SEOUL = ZoneInfo("Asia/Seoul")
#: The main period starts here (Seoul); it ends tomorrow (Seoul) so that today's real crawls,
#: changes and closings fall inside it.
FIRST = date(2026, 9, 1)
#: A second, earlier end: history after it must not count for a report ending there.
SEPTEMBER_END = date(2026, 10, 1)
#: A rate set with `scrapy report rates` in the test's home (won per dollar).
USD_RATE = 1000
USD_RATE_DATE = "2026-11-15"


def tomorrow_in_seoul() -> date:
    return datetime.now(SEOUL).date() + timedelta(days=1)


#: The main period's end, fixed once for the session: the reports and the oracle must agree even
#: when the session runs across midnight in Seoul (15:00 UTC).
MAIN_END = tomorrow_in_seoul()


# --- generated history -------------------------------------------------------------------------------


@dataclass
class G:
    platform: str
    external_id: str
    posted_at: datetime | None
    skills: list[str]
    budget_min: Decimal | int | None = None
    budget_max: Decimal | int | None = None
    currency: str | None = None
    budget_type: str | None = None
    category: str | None = None
    status: str = "open"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def generated_postings() -> list[G]:
    rows = [
        # The day boundary: 15:30 UTC is 00:30 the next day in Seoul.
        G("freelancer", "g-b1", at("2026-08-31T15:30:00+00:00"), ["Rust"], 500, 500, "USD", "fixed"),
        G("freelancer", "g-b2", at("2026-08-31T14:30:00+00:00"), ["Rust"], 700, 700, "USD", "fixed"),
        G("freelancer", "g-b3", at("2026-09-30T15:30:00+00:00"), ["Rust", "rust"], 1000, 2000, "USD", "fixed"),
        # One platform, one currency, three budget types: a mix would move every median.
        G("kmong", "g-k1", at("2026-09-02T01:00:00+00:00"), ["React"], 3_000_000, 3_000_000, "KRW", "fixed",
          "개발 > 웹"),
        G("kmong", "g-k2", at("2026-09-03T01:00:00+00:00"), ["React", "react"], 5_000_000, 5_000_000, "KRW", "fixed",
          "개발 > 웹"),
        G("kmong", "g-k3", at("2026-09-10T01:00:00+00:00"), ["Rust", "PHP"], 4_000_000, 8_000_000, "KRW", "fixed",
          "개발 > 앱"),
        G("kmong", "g-k4", at("2026-10-05T01:00:00+00:00"), ["PHP"], None, 2_000_000, "KRW", "fixed", "개발"),
        G("kmong", "g-k5", at("2026-10-06T01:00:00+00:00"), ["Figma"], 10_000_000, None, "KRW", "fixed", "디자인"),
        G("kmong", "g-k6", at("2026-10-07T01:00:00+00:00"), ["Java"], 6_000_000, 6_000_000, "KRW", "monthly",
          "개발자 커뮤니티"),
        G("kmong", "g-k7", at("2026-11-08T01:00:00+00:00"), ["Java"], 7_000_000, 7_000_000, "KRW", "monthly",
          "개발 > 웹"),
        G("kmong", "g-k8", at("2026-11-09T01:00:00+00:00"), ["Java", "Rust"], 8_500_000, 8_500_000, "KRW", "monthly",
          "개발 > 웹"),
        G("kmong", "g-k9", at("2026-11-10T01:00:00+00:00"), ["Python"], 30_000, 30_000, "KRW", "hourly", "개발 > 웹"),
        # Dollars: fixed and hourly; rupees; pounds (no USD/KRW rate problem: shipped rates).
        G("freelancer", "g-f1", at("2026-09-12T08:00:00+00:00"), ["python"], 250, 750, "USD", "fixed"),
        G("freelancer", "g-f2", at("2026-09-13T08:00:00+00:00"), ["Python", "Rust"], None, 250, "USD", "fixed"),
        G("freelancer", "g-f3", at("2026-10-13T08:00:00+00:00"), ["Go"], 30, 30, "USD", "hourly"),
        G("freelancer", "g-f4", at("2026-10-14T08:00:00+00:00"), ["Go", "Rust"], 40, 50, "USD", "hourly"),
        G("freelancer", "g-f5", at("2026-11-15T08:00:00+00:00"), ["Airflow"], 80_000, 120_000, "INR", "fixed"),
        G("peopleperhour", "g-p1", at("2026-11-16T08:00:00+00:00"), ["Design"], 200, 200, "GBP", "fixed",
          status="closed"),  # closed when first stored: no closing time
        G("guru", "g-u1", at("2026-11-17T08:00:00+00:00"), ["Writing"], None, None, None, None),
        # No posted_at: counted apart (first seen in the period).
        G("kmong", "g-k-undated", None, ["React"], 1_000_000, 1_000_000, "KRW", "fixed", "개발 > 웹"),
    ]
    # The previous period (about June to August for the main report): PHP and Java often, Rust
    # once (plus g-b2): Rust rises, Java (3 postings of the period, 8 before) falls.
    for index in range(20):
        skills = ["PHP"] if index < 12 else ["Java"]
        rows.append(G("kmong", f"g-prev-{index}", at(f"2026-07-{1 + index:02d}T03:00:00+00:00"),
                      skills + (["Rust"] if index == 0 else []), 1_000_000, 1_000_000, "KRW", "fixed", "개발 > 웹"))
    return rows


#: (platform, external_id, days after posted_at, kind): history rows. Kinds: "budget" (a budget
#: change), "close", "reopen".
HISTORY = [
    ("kmong", "g-k1", 3, "budget"),
    ("kmong", "g-k3", 40, "budget"),          # 2026-10-20: after the September report's end
    ("freelancer", "g-f1", 1, "budget"),
    ("freelancer", "g-f1", 2, "budget"),       # two changes: one posting whose budget changed
    ("kmong", "g-k1", 5, "close"),
    ("kmong", "g-k2", 2.5, "close"),
    ("kmong", "g-k2", 4, "reopen"),
    ("kmong", "g-k2", 9, "close"),             # closed twice: the first closing counts
    ("freelancer", "g-f2", 12, "close"),
    ("kmong", "g-k3", 25, "close"),            # 2026-10-05: after the September report's end
    ("kmong", "g-k7", 1.25, "close"),
    ("kmong", "g-prev-0", 3, "close"),         # previous period: not in the cohort
]

#: Generated crawl runs: (spider, started_at, finished_at offset minutes or None, exit_code, scraped, inserted).
RUNS = [
    ("kmong", at("2026-09-05T00:00:00+00:00"), 5, 0, 30, 30),
    ("kmong", at("2026-09-06T00:00:00+00:00"), 5, 0, 40, 10),
    ("kmong", at("2026-09-07T00:00:00+00:00"), 1, 1, 0, 0),
    ("elancer", at("2026-09-08T00:00:00+00:00"), None, None, 0, 0),
    ("elancer", at("2026-07-08T00:00:00+00:00"), 3, 0, 12, 12),  # before the period
]


async def _insert_generated(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        rows = generated_postings()
        await connection.executemany(
            """INSERT INTO postings (platform, external_id, url, title, category, skills, budget_min, budget_max,
                   currency, budget_type, posted_at, status, scraped_at, content_hash, first_seen_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'generated', $14)""",
            [(r.platform, r.external_id, f"https://example.invalid/{r.platform}/{r.external_id}",
              f"generated {r.external_id}", r.category, r.skills, r.budget_min, r.budget_max, r.currency,
              r.budget_type, r.posted_at, r.status, now, r.posted_at or now) for r in rows])
        await connection.execute(
            "INSERT INTO posting_seen (platform, external_id, last_seen_at) "
            "SELECT platform, external_id, first_seen_at FROM postings WHERE content_hash = 'generated'")
        posted = {(r.platform, r.external_id): r.posted_at for r in rows}
        history = []
        for platform, external_id, days, kind in HISTORY:
            when = posted[(platform, external_id)] + timedelta(days=days)
            if kind == "budget":
                history.append((platform, external_id, when, ["budget_max"], {"budget_max": 1}, {"budget_max": 2}))
            else:
                old, new = ("open", "closed") if kind == "close" else ("closed", "open")
                history.append((platform, external_id, when, ["status"], {"status": old}, {"status": new}))
        # A change of another field: neither a budget change nor a closing.
        history.append(("kmong", "g-k5", posted[("kmong", "g-k5")] + timedelta(days=1), ["title"],
                        {"title": "a"}, {"title": "b"}))
        await connection.executemany(
            "INSERT INTO posting_changes (platform, external_id, changed_at, changed_fields, old_values, new_values) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)",
            [(p, e, w, f, json.dumps(o), json.dumps(n)) for p, e, w, f, o, n in history])
        for platform, external_id, _days, kind in HISTORY:
            if kind == "close":
                await connection.execute("UPDATE postings SET status = 'closed' WHERE platform = $1 AND external_id = $2",
                                         platform, external_id)
        await connection.executemany(
            "INSERT INTO crawl_runs (spider, started_at, finished_at, exit_code, scraped, inserted) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [(s, start, start + timedelta(minutes=m) if m is not None else None, code, scraped, inserted)
             for s, start, m, code, scraped, inserted in RUNS])
    finally:
        await connection.close()


def close_unseen_crawl(url: str, tmp: Path) -> None:
    """RemoteOK stops listing one job, last seen two days ago: a clean full run with
    CLOSE_UNSEEN_AFTER_DAYS=1 closes it through the crawler's own lifecycle code (a real closing
    history row). Only its last-seen time is generated (no waiting two days)."""
    jobs = json.loads(fixture_path("remoteok", "api.json").read_text(encoding="utf-8"))
    jobs[1]["salary_min"], jobs[1]["salary_max"] = 100000, 140000  # as the API tests' re-crawl left it
    gone = str(jobs[-1]["id"])
    query(url, "UPDATE posting_seen SET last_seen_at = now() - interval '2 days' "
               "WHERE platform = 'remoteok' AND external_id = $1 RETURNING external_id", gone)
    with Mirror() as mirror:
        mirror.add("/api", json.dumps(jobs[:-1]), content_type=JSON)
        result = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", "CLOSE_UNSEEN_AFTER_DAYS=1"],
                            home=tmp / "home", database_url=url, timeout=120)
        assert result.returncode == 0, result.log[-4000:]


@pytest.fixture(scope="session")
def report_database(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_database(server_url)
    try:
        tmp = tmp_path_factory.mktemp("report-crawl")
        crawl_into(url, tmp)
        close_unseen_crawl(url, tmp)
        closed = query(url, "SELECT count(*) AS n FROM posting_changes WHERE new_values->>'status' = 'closed'")
        assert closed[0]["n"] == 1, "the close-unseen crawl wrote no closing"
        run(_insert_generated(url))
        yield url
    finally:
        drop_database(server_url, url)


# --- running the command -------------------------------------------------------------------------------


@dataclass
class ReportRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr[-3000:]
        return json.loads(self.stdout)


def report_processes(database_url: str | None, home: Path, runs: dict[str, list[str]],
                     timeout: float = 120) -> dict[str, ReportRun]:
    """Start every `scrapy report` at once (they only read), then collect them."""
    environment = scrapy_environment(home, database_url)
    started = {name: (args, subprocess.Popen([sys.executable, "-m", "scrapy", "report", *args], cwd=REPO,
                                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True))
               for name, args in runs.items()}
    results = {}
    for name, (args, process) in started.items():
        stdout, stderr = process.communicate(timeout=timeout)
        results[name] = ReportRun(args, process.returncode, stdout, stderr)
    return results


def report_in_process(args: list[str], database_url: str | None, home: Path) -> ReportRun:
    """`scrapy report ARGS` through the command's own option parser and run(), in this process
    (no interpreter start-up and Scrapy import per report: the CLI itself is exercised by the
    process runs above). A UsageError is exit status 2, as Scrapy's command line makes it."""
    import argparse
    import contextlib
    import io

    from scrapy.exceptions import UsageError
    from scrapy.utils.project import get_project_settings

    from outsourcing.commands.report import Command

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        if database_url:
            patch.setenv("DATABASE_URL", database_url)
        patch.setenv("OUTSOURCING_HOME", str(home))
        command = Command()
        command.settings = get_project_settings()
        parser = argparse.ArgumentParser()
        command.add_options(parser)
        options, positional = parser.parse_known_args(args)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                command.run(positional, options)
            code = int(command.exitcode)
        except UsageError as error:
            stderr.write(f"Usage error: {error}\n")
            code = 2
    return ReportRun(args, code, stdout.getvalue(), stderr.getvalue())


def scrapy_command(args: list[str], database_url: str | None, home: Path) -> ReportRun:
    done = subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=REPO, env=scrapy_environment(home, database_url),
                          capture_output=True, text=True, timeout=120, check=False)
    return ReportRun(args, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def report_home(tmp_path_factory: pytest.TempPathFactory, report_database: str) -> Path:
    """OUTSOURCING_HOME with a user rates file written by `scrapy report rates`."""
    home = tmp_path_factory.mktemp("report-home")
    done = scrapy_command(["report", "rates", f"USD={USD_RATE}", "--date", USD_RATE_DATE], None, home)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture(scope="session")
def reports(report_database: str, report_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportRun]:
    end = MAIN_END.isoformat()
    html = tmp_path_factory.mktemp("report-html") / "report.html"
    main = ["--from", FIRST.isoformat(), "--to", end]
    # The real command line for two of them (in parallel), the command's code in-process for the rest.
    runs = report_processes(report_database, report_home, {
        "seoul": [*main, "--format", "json"],
        "html": [*main, "--format", "html", "--output", str(html)],
    })
    runs["html"].stdout = html.read_text(encoding="utf-8") if html.exists() else ""
    for name, args in {
        "utc": [*main, "--tz", "UTC", "--format", "json"],
        "september": ["--from", FIRST.isoformat(), "--to", SEPTEMBER_END.isoformat(), "--format", "json",
                      "--equivalent", "USD"],
        "filtered": [*main, "--platform", "kmong", "--category", "개발", "--format", "json"],
        "text": main,
    }.items():
        runs[name] = report_in_process(args, report_database, report_home)
    return runs
