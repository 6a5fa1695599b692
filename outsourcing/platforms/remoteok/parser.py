"""RemoteOK's `/api` answer to items.

The body is a JSON array: element 0 is the API's legal notice ({last_updated, legal}), not a
job; every other element is a job. Salaries are yearly USD-ish amounts with 0 meaning unknown.

The posting's page is the job's `url` (`https://remoteOK.com/remote-jobs/<slug>-<id>`); the API
builds it from the slug, so a job with an empty slug comes with the listing's own address
(`/remote-jobs/`): then the id-based page `/remote-jobs/<id>` is the posting's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import from_epoch, parse_instant
from outsourcing.normalize.money import budget_from_amounts
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text
from outsourcing.normalize.urls import canonical_url
from outsourcing.platforms.pages import Listing, PageNotRecognised, load_json, read_records

PLATFORM = "remoteok"
ORIGIN = "https://remoteok.com"


def parse_listing(response: Response, scraped_at: str) -> Listing:
    """All jobs of one `/api` response. Raises PageNotRecognised for anything but the API's
    array (HTML, a challenge page, truncated JSON, an object where the array was due)."""
    jobs = load_api(json_text(response))
    items, unreadable = read_records(PLATFORM, jobs, lambda job: parse_job(job, scraped_at),
                                     id_of=lambda job: job.get("id"))
    return Listing(items=items, unreadable=unreadable)


def json_text(response: Response) -> str:
    """The body as text. JSON is UTF-8 (RFC 8259), whatever charset the server declares or
    leaves out, so a wrong or missing Content-Type charset cannot turn names into mojibake."""
    try:
        return response.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        if isinstance(response, TextResponse):
            return response.text
        return response.body.decode("utf-8", "replace")


def load_api(text: str) -> list[dict[str, Any]]:
    data = load_json(text, expect=list, what="the API's JSON array")
    jobs = [entry for entry in data if isinstance(entry, dict) and "legal" not in entry]
    if len(jobs) != len(data) - (1 if data and isinstance(data[0], dict) and "legal" in data[0] else 0):
        raise PageNotRecognised("unexpected_structure", "array elements that are not job objects")
    for job in jobs:
        if "id" not in job or "position" not in job:
            raise PageNotRecognised("unexpected_structure", f"job without id/position: keys {sorted(job)[:12]}")
    return jobs


def parse_job(job: dict[str, Any], scraped_at: str) -> PostingItem:
    budget = budget_from_amounts(job.get("salary_min"), job.get("salary_max"), "USD", "yearly", zero_is_unknown=True)
    return new_posting(
        platform=PLATFORM,
        external_id=str(job["id"]),
        url=job_url(job),
        title=clean_line(job.get("position")),
        description=html_to_text(job.get("description")),
        client=clean_line(job.get("company")),
        category=None,
        skills=clean_skills(job.get("tags")),
        **budget.fields(),
        duration_days=None,
        location=clean_line(job.get("location")),
        remote=True,  # every RemoteOK posting is a remote job
        posted_at=from_epoch(job.get("epoch")) or parse_instant(job.get("date")),
        deadline_at=None,
        proposals=None,
        status="open",  # the API lists the live board
        scraped_at=scraped_at,
        raw=job,
    )


def job_url(job: dict[str, Any]) -> str:
    """The posting's own page: the job's `url`, else one built from its slug; the id-based page
    when either would be the listing (an empty slug) rather than the posting."""
    job_id = str(job["id"]).strip()
    for candidate in (job.get("url"), f"/remote-jobs/{job.get('slug') or ''}".rstrip("/")):
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        url = canonical_url(candidate.strip(), ORIGIN)
        segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        if segment and segment != "remote-jobs":
            return url
    return canonical_url(f"/remote-jobs/{job_id}", ORIGIN)
