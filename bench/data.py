"""Deterministic synthetic postings for the benchmarks.

RemoteOK-shaped API jobs (what `outsourcing.platforms.remoteok.parser` reads), with realistic
sizes: an HTML description of ~1 KB with entities, 2-6 tags, salaries, a location. The same
`seed` and `count` always give the same bytes, so a re-crawl serves identical postings.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

WORDS = (
    "data pipeline platform backend frontend react python django api cloud aws kubernetes "
    "terraform design product growth support customer analytics machine learning model "
    "mobile ios android rust go typescript postgres redis kafka spark airflow dbt security "
    "testing quality automation devops infrastructure billing payments search ranking "
    "marketplace onboarding dashboard reporting migration performance scale reliability"
).split()
TAGS = ("python", "javascript", "react", "golang", "rust", "sql", "aws", "devops", "design",
        "marketing", "support", "java", "kotlin", "swift", "php", "ruby", "node", "figma",
        "docker", "kubernetes", "data", "ml", "senior", "junior", "management")
LOCATIONS = ("Worldwide", "Berlin", "USA", "Europe", "Remote", "Lisbon", "Canada", "LATAM", "")
COMPANIES = tuple(f"{a} {b}" for a in ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay",
                                       "Stark", "Wayne", "Tyrell", "Cyberdyne")
                  for b in ("Labs", "Analytics", "Systems", "& Co", "Studio", "GmbH", "Inc"))

EPOCH0 = 1_790_000_000
LEGAL = {"last_updated": EPOCH0, "legal": "API Terms of Service: link back to Remote OK (benchmark data)."}


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def job(i: int, rng: random.Random | None = None) -> dict[str, Any]:
    """The i-th job (same i, same job)."""
    rng = rng or random.Random(i)
    position = f"{rng.choice(('Senior', 'Lead', 'Staff', 'Junior', ''))} {rng.choice(WORDS).capitalize()} " \
               f"{rng.choice(('Engineer', 'Developer', 'Designer', 'Manager', 'Analyst'))} &amp; {rng.choice(WORDS)}"
    company = rng.choice(COMPANIES)
    paragraphs = "".join(f"<p>{_sentence(rng, rng.randint(12, 30))} &amp; {_sentence(rng, 8)}</p>" for _ in range(3))
    bullets = "".join(f"<li>{_sentence(rng, 5)}</li>" for _ in range(rng.randint(2, 5)))
    low = rng.choice((0, 0, 40_000, 60_000, 80_000, 100_000))
    high = low + rng.choice((0, 20_000, 40_000)) if low else rng.choice((0, 90_000))
    slug = f"remote-{position.strip().lower().replace(' ', '-').replace('&amp;', 'and')}-{i}"
    return {
        "slug": slug,
        "id": str(3_000_000 + i),
        "epoch": EPOCH0 - i * 37,
        "date": "",
        "company": company,
        "company_logo": "",
        "logo": "",
        "position": position.strip(),
        "tags": rng.sample(TAGS, rng.randint(2, 6)),
        "description": f"<h2>About {company}</h2>{paragraphs}<ul>{bullets}</ul>",
        "location": rng.choice(LOCATIONS),
        "salary_min": low,
        "salary_max": high,
        "apply_url": f"https://remoteok.com/remote-jobs/{slug}",
        "url": f"https://remoteok.com/remote-jobs/{slug}",
    }


def jobs(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for i in range(start, start + count):
        yield job(i)


def api_body(count: int, start: int = 0) -> bytes:
    """A RemoteOK `/api` answer holding `count` jobs (the legal notice first, as the real one)."""
    return json.dumps([LEGAL, *jobs(count, start)], ensure_ascii=False).encode("utf-8")
