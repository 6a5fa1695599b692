"""`scrapy serve` and `python -m outsourcing.api` as users run them: real processes on a free
port, the database from DATABASE_URL, secrets masked in the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.api.conftest import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def with_password(url: str, password: str) -> str:
    """The URL with a password (the test server trusts local connections and ignores it)."""
    parts = urlsplit(url)
    user, host = parts.netloc.rsplit("@", 1) if "@" in parts.netloc else ("postgres", parts.netloc)
    return urlunsplit((parts.scheme, f"{user.split(':')[0]}:{password}@{host}", parts.path, parts.query, parts.fragment))


@pytest.mark.parametrize("command", [["-m", "scrapy", "serve"], ["-m", "outsourcing.api"]], ids=["scrapy-serve", "module"])
def test_one_command_serves_the_api_and_masks_secrets(filled_database, tmp_path, command) -> None:
    port = free_port()
    environment = dict(os.environ, DATABASE_URL=with_password(filled_database, "hunter2-secret"),
                       API_TOKEN="token-abc-123", PYTHONPATH=str(REPO), OUTSOURCING_HOME=str(tmp_path))
    log = tmp_path / "serve.log"
    with log.open("w") as handle:
        process = subprocess.Popen([sys.executable, *command, "--port", str(port)], cwd=REPO, env=environment,
                                   stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        answer = httpx.get(f"http://127.0.0.1:{port}/postings", params={"q": "웹"},
                           headers={"Authorization": "Bearer token-abc-123"})
        assert answer.status_code == 200 and answer.json()["items"]
        assert httpx.get(f"http://127.0.0.1:{port}/postings").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    text = log.read_text()
    assert "Uvicorn running on http://127.0.0.1:" in text and "read-only sessions" in text
    assert "hunter2-secret" not in text and "token-abc-123" not in text
    assert ":***@" in text
