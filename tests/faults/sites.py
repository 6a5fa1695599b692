"""Generated sites for the fault scenarios: many We Work Remotely category feeds (a crawl of a
few thousand postings spread over many pages) and RemoteOK API bodies."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from outsourcing.mirror import Mirror, Reply

RSS = "application/rss+xml; charset=utf-8"
START = datetime(2026, 9, 1, tzinfo=UTC)


def rss_feed(feed: int, count: int, *, version: int = 1) -> bytes:
    items = []
    for n in range(count):
        slug = f"company-{feed}-job-{n}"
        items.append(
            "<item>"
            f"<title>{escape(f'Company {feed}: Engineer {n} v{version}')}</title>"
            "<region>Anywhere</region><category>Programming</category>"
            f"<description>{escape(f'<p>Job {n} of feed {feed}</p>')}</description>"
            f"<pubDate>{format_datetime(START + timedelta(minutes=feed * 1000 + n))}</pubDate>"
            f"<guid>https://weworkremotely.com/remote-jobs/{slug}</guid>"
            f"<link>https://weworkremotely.com/remote-jobs/{slug}</link>"
            "</item>"
        )
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>fixture</title>'
            + "".join(items) + "</channel></rss>")
    return body.encode("utf-8")


def serve_wwr(mirror: Mirror, feeds: int, per_feed: int, *, delay: float = 0.0, version: int = 1) -> list[str]:
    """The main feed plus `feeds - 1` category feeds; returns the category slugs."""
    mirror.add("/remote-jobs.rss", Reply(body=rss_feed(0, per_feed, version=version), content_type=RSS, delay=delay))
    slugs = []
    for feed in range(1, feeds):
        slug = f"cat-{feed}"
        slugs.append(slug)
        mirror.add(f"/categories/{slug}.rss", Reply(body=rss_feed(feed, per_feed, version=version), content_type=RSS, delay=delay))
    return slugs


def remoteok_body(count: int, *, seed: int = 7, extra: dict[int, dict[str, Any]] | None = None) -> bytes:
    rng = random.Random(seed)
    jobs: list[dict[str, Any]] = [{"last_updated": 1, "legal": "fixture"}]
    for n in range(count):
        job = {
            "id": str(3_000_000 + n), "slug": f"job-{n}", "epoch": 1_790_000_000 - n,
            "company": f"Company {rng.randint(1, 99)}", "position": f"Engineer {n}",
            "tags": ["python"], "description": f"<p>Job {n}</p>", "location": "",
            "salary_min": 0, "salary_max": 0, "url": f"https://remoteok.com/remote-jobs/job-{n}",
        }
        job.update((extra or {}).get(n, {}))
        jobs.append(job)
    return json.dumps(jobs, ensure_ascii=False).encode("utf-8")
