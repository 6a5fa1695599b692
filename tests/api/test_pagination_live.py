"""Keyset pagination while a real crawl inserts postings into the same range of the list: every
posting that existed before the first page is returned exactly once, nothing is repeated, and
the order never goes backwards.

The crawl is a real `scrapy crawl freelancer` against the mirror, whose API pages are held back
until the test releases them: one crawl page is released (and stored) between every two API
pages, so the inserts land while the pages are read, on any machine, without sleeps.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from outsourcing.mirror import Mirror, Reply
from outsourcing.mirror.server import MirrorRequest
from outsourcing.storage.database import apply_schema
from tests.api.conftest import ApiServer, wait_until
from tests.conftest import fixture_path, query, run

pytestmark = pytest.mark.e2e

PAGE = 20          # projects per crawl page
PAGES = 12         # crawl pages: 240 projects, posted T0 - i*37 s
EXISTING = 120     # stored before paging starts, interleaved with the crawled ones
T0 = 1_790_000_000
MINUS_INFINITY = datetime.min.replace(tzinfo=UTC)


def projects(offset: int, limit: int) -> dict[str, Any]:
    page = json.loads(fixture_path("freelancer", "projects-page.json").read_text(encoding="utf-8"))
    template = page["result"]["projects"][0]
    generated = []
    for i in range(offset, min(offset + limit, PAGE * PAGES)):
        project = copy.deepcopy(template)
        project.update(id=60_000_000 + i, title=f"Generated project {i}", time_submitted=T0 - i * 37,
                       submitdate=T0 - i * 37, seo_url=f"python/generated-project-{i}")
        generated.append(project)
    page["result"]["projects"] = generated
    page["result"]["total_count"] = PAGE * PAGES
    return page


async def _existing(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await apply_schema(connection)
        step = PAGE * PAGES * 37 // EXISTING
        await connection.executemany(
            "INSERT INTO postings (platform, external_id, url, title, skills, scraped_at, content_hash, first_seen_at, "
            "posted_at) VALUES ($1, $2, 'https://example.invalid/x', 'existing posting', '{}', now(), 'h', now(), $3)",
            [("guru" if k % 2 else "freelancer", f"existing-{k}",
              datetime.fromtimestamp(T0 - k * step - 18, UTC)) for k in range(EXISTING)])
    finally:
        await connection.close()


def sort_key(item: dict[str, Any]) -> tuple[Any, ...]:
    posted = datetime.fromisoformat(item["posted_at"]) if item["posted_at"] else MINUS_INFINITY
    return (posted, item["platform"], item["external_id"])


def test_pages_have_no_gaps_or_repeats_while_a_crawl_inserts(database_url, crawl) -> None:
    run(_existing(database_url))
    released = [threading.Event() for _ in range(PAGES)]
    released[0].set()

    def api_page(request: MirrorRequest) -> Reply:
        offset = int(request.query.get("offset", ["0"])[0])
        limit = int(request.query.get("limit", ["100"])[0])
        released[min(offset // PAGE, PAGES - 1)].wait(timeout=120)
        return Reply(body=json.dumps(projects(offset, limit)).encode("utf-8"), content_type="application/json")

    crawled_sql = "SELECT count(*) AS n FROM postings WHERE external_id NOT LIKE 'existing-%'"

    def crawled() -> int:
        return int(query(database_url, crawled_sql)[0]["n"])

    with Mirror() as mirror, ApiServer(database_url) as api, api.client() as http:
        mirror.add("/api/projects/0.1/projects/active/", api_page)
        running = crawl.start("freelancer", base_url=mirror.url, database_url=database_url,
                              args={"page_size": str(PAGE)},
                              settings={"DB_BATCH_SIZE": "5", "DB_BATCH_MAX_AGE": "0.05"}, feed=False)
        try:
            wait_until(lambda: crawled() == PAGE, timeout=120)
            items: list[dict[str, Any]] = []
            counts = [crawled()]
            cursor = None
            next_page = 1
            while True:
                body = http.get("/postings", params={"limit": 10, **({"cursor": cursor} if cursor else {})}).json()
                items += body["items"]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                if next_page < PAGES:  # one more crawl page stored before the next API page
                    released[next_page].set()
                    next_page += 1
                    wait_until(lambda stored=PAGE * next_page: crawled() == stored, timeout=120)
                    counts.append(crawled())
        finally:
            for event in released:
                event.set()
            result = running.wait(timeout=240)
        assert result.returncode == 0, result.log[-3000:]

    assert counts[0] < counts[-1], counts  # the crawl really wrote while the pages were read
    keys = [(item["platform"], item["external_id"]) for item in items]
    assert len(keys) == len(set(keys)), "a posting was returned twice"
    existing = {key for key in keys if key[1].startswith("existing-")}
    assert len(existing) == EXISTING, f"{EXISTING - len(existing)} postings that existed before paging were skipped"
    ordered = [sort_key(item) for item in items]
    assert ordered == sorted(ordered, reverse=True), "the order went backwards"
    assert len(keys) > EXISTING + PAGE  # postings inserted behind the cursor showed up too
