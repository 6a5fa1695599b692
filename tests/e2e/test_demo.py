"""What a newcomer runs first: `scrapy demo` end to end (the recorded site of all nine platforms,
crawled by a real `scrapy crawlall` process into the demo's own embedded PostgreSQL, no network),
and `python -m outsourcing.mirror`, which serves the same recorded site."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from outsourcing.items import PLATFORMS
from outsourcing.storage.database import EMBEDDED_OS_USER
from tests.conftest import REPO, query

pytestmark = pytest.mark.e2e

#: Postings the recorded site holds per platform (the pages under outsourcing/mirror/pages).
RECORDED = {"wishket": 5, "freemoa": 4, "kmong": 4, "elancer": 5, "freelancer": 4, "guru": 5,
            "peopleperhour": 4, "remoteok": 3, "weworkremotely": 3}
#: Nothing may leave the machine: any request not to 127.0.0.1 would go to this dead proxy and fail.
DEAD_PROXY = "http://127.0.0.1:9"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def demo_home() -> Iterator[Path]:
    """The demo's home, outside pytest's own temporary folder: as root the embedded PostgreSQL
    runs as another user, who must traverse every parent, and a pytest session starting
    meanwhile makes its folder private again."""
    parent = Path(tempfile.mkdtemp(prefix="outsourcing-demo-"))
    try:
        yield parent / "demo"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


REAL_ALERTS = """
[channels.file]
type = "jsonl"
path = "real-alerts.jsonl"

[[searches]]
name = "every posting"
channels = ["file"]
"""


def real_alerts_config(home: Path) -> Path:
    """An alerts config of the user's own (every posting to a file beside it), for the
    environment the demo runs in: the recorded postings must never reach its channels."""
    path = home.parent / "real-alerts.toml"
    path.write_text(REAL_ALERTS, encoding="utf-8")
    return path


def demo_environment(database_url: str, home: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("XDG_RUNTIME_DIR", "OUTSOURCING_HOME", "OUTSOURCING_RUN", "no_proxy", "NO_PROXY")}
    environment.update({
        "PYTHONPATH": str(REPO),
        # A real database and real alerts in the environment: the demo must leave them alone.
        "DATABASE_URL": database_url,
        "OUTSOURCING_ALERTS_CONFIG": str(real_alerts_config(home)),
        "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY,
    })
    return environment


def run_demo(home: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    # Politeness delays off for the test only (the demo's own is a quarter second).
    return subprocess.run([sys.executable, "-m", "scrapy", "demo", "--home", str(home),
                           "-s", "DOWNLOAD_DELAY=0", "-s", "DB_BATCH_MAX_AGE=0.5"],
                          cwd=REPO, env=demo_environment(database_url, home), capture_output=True, text=True, check=False,
                          timeout=180)


def suggested_commands(stdout: str, home: Path) -> list[list[str]]:
    """The `scrapy ...` commands the demo prints under "Try next", as argument lists."""
    # DATABASE_URL and an alerts config are set in the test's environment: the demo says to blank
    # both for these.
    prefix = f"DATABASE_URL= OUTSOURCING_ALERTS_CONFIG= OUTSOURCING_HOME={shlex.quote(str(home))} scrapy "
    return [shlex.split(line.strip()[len(prefix):]) for line in stdout.splitlines() if line.strip().startswith(prefix)]


def test_demo_crawls_every_platform_offline_into_its_own_database(demo_home: Path, database_url: str) -> None:
    home = demo_home
    first = run_demo(home, database_url)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-5000:]

    # Every platform crawled from the recorded site, through the dead proxy for anything else.
    for platform in PLATFORMS:
        assert re.search(rf"^{platform}\s+ok\s", first.stdout, re.MULTILINE), first.stdout
    # What the crawl reported is on screen, with its URL and reason (a page without JSON-LD).
    assert re.search(r"ERROR: elancer: page not recognised: http://127\.0\.0\.1:\d+/project_detail/48213: no_jsonld",
                     first.stdout)
    assert "exit status 0" in first.stdout
    # Stored postings are shown, amounts as people write them (not 3.000E+7).
    assert re.search(r"wishket\s+\|.*\|\s+30000000\s+\|\s+30000000\s+\|\s+KRW\s+\|\s+fixed", first.stdout), first.stdout
    assert "E+" not in first.stdout

    # The commands printed under "Try next" work as printed, on the demo's own database.
    per_platform = suggested_commands(first.stdout, home)[0]
    assert per_platform[0] == "sql" and "GROUP BY" in per_platform[1], per_platform
    counted = run_suggested(per_platform, database_url, home)
    assert counted.returncode == 0, counted.stderr[-3000:]
    rows = dict(re.findall(r"^(\w+)\s+\|\s+(\d+)\s*$", counted.stdout, re.MULTILINE))
    assert {platform: int(count) for platform, count in rows.items()} == RECORDED

    # The read API, the market report and alerts, each as printed, on the demo's postings.
    check_serving_steps(suggested_commands(first.stdout, home), database_url, home)

    # The environment's alerts config was not used: nothing reached its channel.
    assert not (home.parent / "real-alerts.jsonl").exists()
    # DATABASE_URL was set, and untouched: no table was even created there.
    assert query(database_url, "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")[0]["n"] == 0
    # Item 7: no warning about XDG_RUNTIME_DIR (unset here, as under cron or scrapyd), in the demo
    # or in the crawl's log.
    crawl_log = (home / "crawl.log").read_text(encoding="utf-8")
    assert "XDG_RUNTIME_DIR" not in output and "XDG_RUNTIME_DIR" not in crawl_log
    # Item 5: root is told, once, what running PostgreSQL as root means; nobody else is.
    notice = "running as root: PostgreSQL refuses to run as root"
    if ROOT:
        assert output.count(notice) == 1, output[-3000:]
        assert f"'{EMBEDDED_OS_USER}'" in output
        import pwd
        assert pwd.getpwuid((home / "pgdata").stat().st_uid).pw_name == EMBEDDED_OS_USER
    else:
        assert notice not in output
        assert (home / "pgdata").stat().st_uid == os.geteuid()

    # Again: the same postings, unchanged, and no second root notice.
    second = run_demo(home, database_url)
    assert second.returncode == 0, (second.stdout + second.stderr)[-5000:]
    assert re.search(r"^total\s+ok\s+0\s+0\s+37\s", second.stdout, re.MULTILINE), second.stdout
    assert notice not in second.stdout + second.stderr


def run_suggested(words: list[str], database_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """A printed command as printed: DATABASE_URL and OUTSOURCING_ALERTS_CONFIG blank."""
    return subprocess.run([sys.executable, "-m", "scrapy", *words], cwd=REPO, env=suggested_environment(database_url, home),
                          capture_output=True, text=True, check=False, timeout=120)


def suggested_environment(database_url: str, home: Path) -> dict[str, str]:
    return {**demo_environment(database_url, home), "DATABASE_URL": "", "OUTSOURCING_ALERTS_CONFIG": "",
            "OUTSOURCING_HOME": str(home)}


def check_serving_steps(commands: list[list[str]], database_url: str, home: Path) -> None:
    """The "Try next" commands of the API, the report and alerts work as printed."""
    by_name = {" ".join(words[:2]) if words[0] == "alerts" else words[0]: words for words in commands}
    assert {"serve", "report", "alerts backfill", "alerts run", "alerts status"} <= set(by_name), commands
    assert str(home / "alerts.toml") in by_name["alerts run"], by_name["alerts run"]

    report = run_suggested(by_name["report"], database_url, home)
    assert report.returncode == 0, report.stderr[-3000:]
    posted = re.search(r"^Postings posted in the period: (\d+)", report.stdout, re.MULTILINE)
    assert posted and int(posted[1]) > 0, report.stdout[:2000]

    backfill = run_suggested(by_name["alerts backfill"], database_url, home)
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    matched = re.search(r"(\d+) deliveries in (\d+) messages", backfill.stdout)
    assert matched and int(matched[2]) > 0, backfill.stdout
    sent = run_suggested(by_name["alerts run"], database_url, home)
    assert sent.returncode == 0, sent.stderr[-3000:]
    alerts = [json.loads(line) for line in sent.stdout.splitlines()]
    assert len(alerts) == int(matched[2]), sent.stdout
    for alert in alerts:
        posting = alert["data"]["posting"]
        assert alert["type"] == "posting.new" and alert["data"]["search"] == "demo"
        assert posting["currency"] == "KRW" and (posting["budget_max"] or posting["budget_min"]) >= 10_000_000
    status = run_suggested(by_name["alerts status"], database_url, home)
    assert status.returncode == 0 and "No failed or pending messages." in status.stdout, status.stdout

    with socket_in_use() as port:
        pass  # a free port: the printed command's 8000 may be taken on a test machine
    server = subprocess.Popen([sys.executable, "-m", "scrapy", *by_name["serve"], "--port", str(port)], cwd=REPO,
                              env=suggested_environment(database_url, home), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        health = None
        for _ in range(60):
            try:
                with opener.open(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    health = json.loads(answer.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert health is not None and health["status"] == "ok", health
        with opener.open(f"http://127.0.0.1:{port}/postings?currency=KRW&min_budget=10000000", timeout=10) as answer:
            page = json.loads(answer.read())
        assert len(page["items"]) == len(alerts) and page["next_cursor"] is None
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors[-3000:]


def test_mirror_command_serves_the_recorded_site_until_stopped() -> None:
    process = subprocess.Popen([sys.executable, "-m", "outsourcing.mirror", "--port", "0"], cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+)", first_line)
        assert url, first_line
        with urllib.request.urlopen(f"{url[1]}/api", timeout=10) as answer:  # RemoteOK's API path
            jobs = json.loads(answer.read())
        assert [str(job.get("id")) for job in jobs[1:]] == ["2000001", "2000002", "2000003"]
        with urllib.request.urlopen(f"{url[1]}/d/jobs/pg/2/", timeout=10) as answer:  # Guru's page 2
            assert b"jobRecord" in answer.read()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped after 2 requests." in rest


def test_mirror_command_says_when_the_port_is_taken() -> None:
    with socket_in_use() as port:
        done = subprocess.run([sys.executable, "-m", "outsourcing.mirror", "--port", str(port)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


class socket_in_use:
    def __enter__(self) -> int:
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        return int(self.socket.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.socket.close()
