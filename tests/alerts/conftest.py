"""Shared pieces of the alert tests: a webhook secret in the environment, config files, generated
RemoteOK answers for the mirror, and `scrapy alerts` processes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, fixture_path

#: A Standard Webhooks secret (whsec_ + base64 of 32 bytes), as a receiver would hand it out.
SECRET = "whsec_" + base64.b64encode(b"alerts-test-secret-0123456789abc").decode()
SECRET_ENV = "ALERT_TEST_WEBHOOK_SECRET"
#: Short waits so retries come due within a test; the send timeout stays realistic.
FAST = {"ALERTS_BACKOFF_BASE": "0.2", "ALERTS_BACKOFF_MAX": "1", "ALERTS_POLL_INTERVAL": "0.5",
        "ALERTS_SEND_TIMEOUT": "5"}
JSON = "application/json"


def remoteok_jobs(extra: int = 0, *, start: int = 3000000) -> list[dict[str, Any]]:
    """The RemoteOK fixture (legal notice + 3 jobs), plus `extra` Python jobs with new ids."""
    jobs = json.loads(fixture_path("remoteok", "api.json").read_text(encoding="utf-8"))
    template = jobs[1]
    for number in range(extra):
        job = dict(template)
        job_id = str(start + number)
        job["id"] = job_id
        job["slug"] = f"remote-python-job-{job_id}"
        job["url"] = f"https://remoteok.com/remote-jobs/remote-python-job-{job_id}"
        job["position"] = f"Python Engineer {number}"
        job["epoch"] = template.get("epoch", 1760000000) + number
        jobs.append(job)
    return jobs


def serve_remoteok(mirror: Any, jobs: list[dict[str, Any]]) -> None:
    mirror.add("/api", json.dumps(jobs), content_type=JSON)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def alerts_env(config: Path, **extra: str) -> dict[str, str]:
    return {"OUTSOURCING_ALERTS_CONFIG": str(config), SECRET_ENV: SECRET, **extra}


def _command(action: list[str], settings: dict[str, str] | None) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "alerts", *action]
    for key, value in {**FAST, **(settings or {})}.items():
        command += ["-s", f"{key}={value}"]
    return command


def _environment(database_url: str, home: Path, env: dict[str, str] | None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"DATABASE_URL": database_url, "OUTSOURCING_HOME": str(home), "PYTHONPATH": str(REPO)})
    environment.update(env or {})
    return environment


def scrapy_alerts(action: list[str], *, database_url: str, home: Path, env: dict[str, str] | None = None,
                  settings: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`scrapy alerts ACTION ...` as a user runs it; stdout and stderr captured."""
    return subprocess.run(_command(action, settings), cwd=REPO, env=_environment(database_url, home, env),
                          capture_output=True, text=True, timeout=timeout)


def start_dispatcher(*, database_url: str, home: Path, env: dict[str, str], log: Path,
                     settings: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A long-running `scrapy alerts run` in the background (log in `log`)."""
    handle = log.open("wb")
    try:
        return subprocess.Popen(_command(["run"], settings), cwd=REPO, env=_environment(database_url, home, env),
                                stdout=handle, stderr=subprocess.STDOUT)
    finally:
        handle.close()


def sync(database_url: str, config: Path, env: dict[str, str]) -> None:
    """What `scrapy alerts sync` does, in this process (saves a process start per test): apply the
    schema and store the config's searches, which start from now."""
    import asyncpg

    from outsourcing.alerts import queue
    from outsourcing.alerts.config import load_config
    from outsourcing.storage.database import apply_schema
    from tests.conftest import run

    async def go() -> None:
        loaded = load_config(config, {**os.environ, **env})
        connection = await asyncpg.connect(database_url)
        try:
            await apply_schema(connection)
            await queue.init_connection(connection)
            await queue.sync_searches(connection, loaded, "tests")
        finally:
            await connection.close()

    run(go())


def dispatch_once(database_url: str, config: Path, env: dict[str, str],
                  settings: dict[str, str] | None = None) -> dict[str, int]:
    """What `scrapy alerts run --once` does (a fresh dispatcher: match, send what is due, stop), in
    this process with the project's settings; returns its counts."""
    from scrapy.settings import Settings

    from outsourcing import settings as project_settings
    from outsourcing.alerts.config import load_config
    from outsourcing.alerts.dispatcher import Dispatcher, DispatcherOptions
    from tests.conftest import run

    values = Settings()
    values.setmodule(project_settings)
    values.setdict({**FAST, **(settings or {})})
    loaded = load_config(config, {**os.environ, **env})

    async def go() -> dict[str, int]:
        dispatcher = Dispatcher(loaded, database_url, DispatcherOptions.from_settings(values))
        try:
            await dispatcher.run_once()
        finally:
            await dispatcher.stop()
        return dict(dispatcher.counts)

    return run(go())
