"""scrapyd end to end: real scrapyd 1.6 servers on 127.0.0.1 (free ports, their own directories
and configuration), the project deployed with `scrapyd-deploy` as an egg, jobs scheduled against
the local mirror, rows checked in a real PostgreSQL.

DATABASE_URL and OUTSOURCING_HOME reach the jobs through scrapyd's own environment (as a
systemd unit or a shell would set them), never as job settings: scrapyd lists a pending job's
settings and arguments to anyone who asks listjobs.json. The DATABASE_URL here carries a
password the local server ignores (trust authentication), so the tests can check it is never
shown anywhere.

The deploy runs from a copy of the working tree (the files a checkout has), so building the egg
never writes build/ or *.egg-info into the shared checkout, and scrapyd runs in a directory
with no project and no PYTHONPATH: every job imports the project from the egg alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from outsourcing.mirror import Mirror, MirrorRequest, Reply
from tests.conftest import REPO, fixture_path, query

pytestmark = [pytest.mark.e2e, pytest.mark.scrapyd]

PROJECT = "outsourcing"
SECRET = "db-pass-never-shown"
#: What a checkout holds that the build reads (setup.py documents why each is there).
PROJECT_FILES = ("scrapy.cfg", "setup.py", "MANIFEST.in", "schema.sql", "requirements.txt")


# --- the project, deployable -------------------------------------------------------------------


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / PROJECT, target / PROJECT, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def deploy_environment(scrapyd_url: str | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCRAPYD_URL")}
    if scrapyd_url:
        environment["SCRAPYD_URL"] = scrapyd_url
    return environment


def scrapyd_deploy(project: Path, *args: str, scrapyd_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """`scrapyd-deploy ARGS` in the project copy, as a person runs it."""
    done = subprocess.run([sys.executable, "-m", "scrapyd_client.deploy", *args], cwd=project,
                          env=deploy_environment(scrapyd_url), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def built_egg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One egg built with `scrapyd-deploy --build-egg`, as one would deploy a fleet."""
    project = copy_project(tmp_path_factory.mktemp("deploy") / "project")
    egg = project.parent / "outsourcing.egg"
    scrapyd_deploy(project, "--build-egg", str(egg))
    return egg


# --- scrapyd nodes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url_with_password(url: str) -> str:
    """The test database's URL with a password (ignored by the trust-authenticated server)."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0] or "postgres"
    return urlunsplit((parts.scheme, f"{user}:{SECRET}@{host}", parts.path, parts.query, parts.fragment))


@dataclass
class ScrapydNode:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def daemon_log(self) -> str:
        return (self.root / "scrapyd.log").read_text(encoding="utf-8", errors="replace")

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query_string = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + endpoint + query_string, timeout=30) as response:
            return json.loads(response.read())

    def post(self, endpoint: str, data: list[tuple[str, str]]) -> dict[str, Any]:
        body = urllib.parse.urlencode(data).encode()
        with urllib.request.urlopen(self.url + endpoint, data=body, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer.get("status") == "ok", answer
        return answer

    def schedule(self, spider: str, *, args: dict[str, str], settings: dict[str, str] | None = None) -> str:
        data = [("project", PROJECT), ("spider", spider), *args.items()]
        data += [("setting", f"{key}={value}") for key, value in (settings or {}).items()]
        return str(self.post("schedule.json", data)["jobid"])

    def state(self, job: str) -> str | None:
        jobs = self.get("listjobs.json", project=PROJECT)
        for state in ("pending", "running", "finished"):
            if any(entry["id"] == job for entry in jobs[state]):
                return state
        return None

    def wait_for(self, job: str, state: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.state(job) != state:
            if self.process.poll() is not None:
                raise AssertionError(f"scrapyd exited:\n{self.daemon_log[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} not {state} after {timeout}s:\n{self.daemon_log[-3000:]}")
            time.sleep(0.3)

    def job_log(self, spider: str, job: str) -> str:
        return (self.root / "logs" / PROJECT / spider / f"{job}.log").read_text(encoding="utf-8")


def scrapyd_config(root: Path, port: int) -> str:
    return "\n".join([
        "[scrapyd]",
        "bind_address = 127.0.0.1",
        f"http_port = {port}",
        f"eggs_dir = {root / 'eggs'}",
        f"logs_dir = {root / 'logs'}",
        f"dbs_dir = {root / 'dbs'}",
        "items_dir =",        # feeds are the project's business (FEEDS_DIR), not scrapyd's
        "jobs_dir =",
        "max_proc = 4",
        "poll_interval = 0.5",
        "",
    ])


@contextmanager
def scrapyd_node(root: Path, database_url: str, env: dict[str, str] | None = None) -> Iterator[ScrapydNode]:
    """A scrapyd server in `root` with DATABASE_URL and OUTSOURCING_HOME (and `env`) in its
    environment; stopped (and its jobs with it) on exit."""
    root.mkdir(parents=True)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "DATABASE_URL") and not k.startswith("OUTSOURCING_")}
    environment.update({"DATABASE_URL": database_url, "OUTSOURCING_HOME": str(root / "home"), **(env or {})})
    for _attempt in range(3):  # a free port can be taken between the probe and the bind
        port = free_port()
        (root / "scrapyd.conf").write_text(scrapyd_config(root, port), encoding="utf-8")
        with (root / "scrapyd.log").open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "scrapyd"], cwd=root, env=environment,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        node = ScrapydNode(root, port, process)
        if _wait_ready(node):
            break
        _stop(process)
    else:
        raise AssertionError(f"scrapyd did not start:\n{node.daemon_log[-3000:]}")
    try:
        yield node
    finally:
        _stop(process)


def _wait_ready(node: ScrapydNode, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            return False
        try:
            if node.get("daemonstatus.json").get("status") == "ok":
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop scrapyd and whatever jobs it still runs (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # job processes left behind, if any
    except ProcessLookupError:
        pass


# --- RemoteOK data -----------------------------------------------------------------------------


def remoteok_job(number: int, salary: int) -> dict[str, Any]:
    slug = f"remote-backend-engineer-company-{number}-{4000000 + number}"
    return {
        "slug": slug, "id": str(4000000 + number), "epoch": 1790000000 + number,
        "company": f"Company {number}", "position": f"Backend Engineer {number}", "tags": ["python", "sql"],
        "description": f"<p>Posting {number}.</p>", "location": "Worldwide",
        "salary_min": salary, "salary_max": salary + 20000, "url": f"https://remoteok.com/remote-jobs/{slug}",
    }


def remoteok_api(jobs: list[dict[str, Any]]) -> bytes:
    return json.dumps([{"last_updated": 1790000000, "legal": "API terms (test data)"}, *jobs]).encode()


# --- tests ---------------------------------------------------------------------------------


def test_deploy_schedule_and_run_a_job_from_the_egg(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    mirror.add_file("/api", fixture_path("remoteok", "api.json"), content_type="application/json")
    project = copy_project(tmp_path / "project")
    secret_url = database_url_with_password(database_url)
    with scrapyd_node(tmp_path / "node", secret_url) as node:
        deployed = scrapyd_deploy(project, "env", "--version", "r1", scrapyd_url=node.url)
        assert json.loads(deployed.stdout)["spiders"] >= 2

        # The egg holds the package, the schema (the top-level file, byte for byte), no tests.
        [egg] = (node.root / "eggs" / PROJECT).glob("*.egg")
        with zipfile.ZipFile(egg) as archive:
            names = set(archive.namelist())
            assert archive.read("outsourcing/schema.sql") == (REPO / "schema.sql").read_bytes()
            assert "settings = outsourcing.settings" in archive.read("EGG-INFO/entry_points.txt").decode()
        assert {"outsourcing/settings.py", "outsourcing/platforms/remoteok/spider.py",
                "outsourcing/commands/crawlall.py", "outsourcing/feeds.py", "outsourcing/proxies.py"} <= names
        assert not [name for name in names if name.startswith(("tests/", "bench/"))]

        # scrapyd lists the spiders by running the egg (no project on its path).
        spiders = node.get("listspiders.json", project=PROJECT)["spiders"]
        assert {"remoteok", "weworkremotely"} <= set(spiders)

        job = node.schedule("remoteok", args={"base_url": mirror.url})
        node.wait_for(job, "finished")
        log = node.job_log("remoteok", job)
        listing = json.dumps(node.get("listjobs.json", project=PROJECT))
        daemon_log = node.daemon_log

    assert "remoteok: summary (finished" in log, log[-3000:]
    assert "storing postings in postgresql://postgres:***@" in log
    for text in (log, listing, daemon_log):
        assert SECRET not in text
    # scrapyd logs a job that exits non-zero as "Process died"; this one exited 0.
    assert "Process finished:" in daemon_log and "Process died" not in daemon_log

    rows = query(database_url, "SELECT external_id FROM postings ORDER BY 1")
    assert [r["external_id"] for r in rows] == ["2000001", "2000002", "2000003"]
    [run] = query(database_url, "SELECT * FROM crawl_runs")
    assert (run["spider"], run["finish_reason"], run["exit_code"], run["inserted"]) == ("remoteok", "finished", 0, 3)


def test_cancel_stops_a_running_job_gracefully(mirror: Mirror, database_url: str, built_egg: Path, tmp_path: Path) -> None:
    api_asked = threading.Event()

    def slow_api(request: MirrorRequest) -> Reply:
        api_asked.set()
        return Reply(body=fixture_path("remoteok", "api.json").read_bytes(), content_type="application/json", delay=8)

    mirror.add("/api", slow_api)
    with scrapyd_node(tmp_path / "node", database_url) as node:
        scrapyd_deploy(built_egg.parent / "project", "env", "--egg", str(built_egg), "--version", "r1", scrapyd_url=node.url)
        job = node.schedule("remoteok", args={"base_url": mirror.url})
        node.wait_for(job, "running")
        assert api_asked.wait(60), "the job never reached the platform"
        answer = node.post("cancel.json", [("project", PROJECT), ("job", job)])
        assert answer["prevstate"] == "running"
        node.wait_for(job, "finished", timeout=60)
        daemon_log = node.daemon_log

    [run] = query(database_url, "SELECT * FROM crawl_runs")
    assert (run["finish_reason"], run["exit_code"]) == ("shutdown", 1)
    assert "the crawl did not finish (finish_reason: shutdown)" in run["problems"]
    assert "Process died: exitstatus=1" in daemon_log


def test_two_nodes_write_overlapping_versions_into_one_database(database_url: str, built_egg: Path, tmp_path: Path) -> None:
    """Node A serves postings 0-599, node B postings 200-799 of which the even ones in the
    overlap have a new salary. Both API answers are held until both nodes asked, so the two
    jobs write at the same time, in small batches, into the same rows."""
    version_a = [remoteok_job(n, 50000) for n in range(0, 600)]
    version_b = [remoteok_job(n, 60000 if n < 600 and n % 2 == 0 else 50000) for n in range(200, 800)]
    both_asked = threading.Barrier(2, timeout=60)

    def held(body: bytes) -> Any:
        def route(request: MirrorRequest) -> Reply:
            both_asked.wait()
            return Reply(body=body, content_type="application/json")
        return route

    with ExitStack() as stack:
        mirrors = [stack.enter_context(Mirror()) for _ in range(2)]
        for mirror, version in zip(mirrors, (version_a, version_b), strict=False):
            mirror.add("/api", held(remoteok_api(version)))
        nodes = [stack.enter_context(scrapyd_node(tmp_path / f"node-{name}", database_url)) for name in "ab"]
        for node in nodes:
            scrapyd_deploy(built_egg.parent / "project", "env", "--egg", str(built_egg), "--version", "r1",
                           scrapyd_url=node.url)
        jobs = [node.schedule("remoteok", args={"base_url": mirror.url}, settings={"DB_BATCH_SIZE": "25"})
                for node, mirror in zip(nodes, mirrors, strict=False)]
        for node, job in zip(nodes, jobs, strict=False):
            node.wait_for(job, "finished", timeout=100)
        logs = [node.job_log("remoteok", job) for node, job in zip(nodes, jobs, strict=False)]

    for log in logs:
        assert "remoteok: summary (finished" in log and "deadlock" not in log.lower(), log[-3000:]
    runs = query(database_url, "SELECT * FROM crawl_runs ORDER BY id")
    assert [(r["exit_code"], r["finish_reason"], r["scraped"]) for r in runs] == [(0, "finished", 600)] * 2
    first, second = runs
    assert first["started_at"] < second["finished_at"] and second["started_at"] < first["finished_at"], "the jobs overlapped"
    assert first["host"] == second["host"] and first["pid"] != second["pid"]

    # Every posting exists once; every one was inserted once and seen by its last run.
    postings = query(database_url, "SELECT external_id, budget_min FROM postings")
    assert len(postings) == len({p["external_id"] for p in postings}) == 800
    assert sum(r["inserted"] for r in runs) == 800
    assert query(database_url, "SELECT count(*) AS n FROM posting_seen")[0]["n"] == 800
    # The 200 postings whose versions differ changed exactly once, whichever node came second;
    # the 200 identical ones were found unchanged by the second writer.
    assert sum(r["updated"] for r in runs) == 200 and sum(r["unchanged"] for r in runs) == 200
    changes = query(database_url, "SELECT external_id, run_id, changed_fields, old_values, new_values FROM posting_changes")
    changed = {int(c["external_id"]) - 4000000 for c in changes}
    assert len(changes) == 200 and changed == {n for n in range(200, 600) if n % 2 == 0}
    stored = {p["external_id"]: p["budget_min"] for p in postings}
    for change in changes:
        old, new = json.loads(change["old_values"]), json.loads(change["new_values"])
        assert sorted(change["changed_fields"]) == ["budget_max", "budget_min"]
        assert {old["budget_min"], new["budget_min"]} == {50000, 60000}
        # History and current row agree: the stored version is the change's new one.
        assert stored[change["external_id"]] == new["budget_min"]
        assert change["run_id"] in (first["id"], second["id"])
    only_a = [p for p in postings if int(p["external_id"]) - 4000000 < 200]
    only_b = [p for p in postings if int(p["external_id"]) - 4000000 >= 600]
    assert {p["budget_min"] for p in only_a} == {50000} and {p["budget_min"] for p in only_b} == {50000}
