"""Freelancer.com's projects API answer to items.

The body is `{"status": "success", "result": {"projects": [...], "total_count": N, "users":
{"<owner_id>": {...}}}, "request_id": "..."}` (users only with `user_details=true`); errors are
`{"status": "error", "message": ..., "error_code": ...}`. Field meanings (platforms.md 2.5):

- budgets are in the project's own `currency.code`, never converted; `type` is fixed/hourly;
- `bidperiod` is the bidding window in days, not the length of the work: it gives `deadline_at`
  (time_submitted + bidperiod days), never `duration_days`;
- `hourly_project_info.duration_enum` is a range ("one_to_four_weeks", "unspecified"), and
  `commitment` a workload (40 hours a week), so neither is a length in days: `duration_days`
  stays null and both stay in `raw`;
- `time_submitted` is unix seconds; `frontend_project_status` says whether bids are taken.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scrapy.http import TextResponse

from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import UTC, from_epoch, iso_utc
from outsourcing.normalize.money import budget_from_amounts
from outsourcing.normalize.text import clean_line, clean_skills, client_name, html_to_text
from outsourcing.normalize.urls import canonical_url
from outsourcing.normalize.values import mapping, whole_number
from outsourcing.platforms.pages import Listing, PageNotRecognised, load_json, read_records

PLATFORM = "freelancer"
ORIGIN = "https://www.freelancer.com"

#: frontend_project_status values that no longer take bids. "open" is the only one that does;
#: anything unknown gives null rather than a guess.
_CLOSED_STATUSES = frozenset({"closed", "complete", "completed", "work_in_progress", "frozen", "cancelled", "awarded"})


def parse_listing(response: TextResponse, scraped_at: str) -> Listing:
    """All projects of one `/projects/active/` answer, with the API's `total_count` (`total`).
    An empty `projects` list is a genuine empty result; an error envelope, HTML or a challenge
    page raises PageNotRecognised."""
    result = load_result(response.text)
    projects = result["projects"]
    users = mapping(result.get("users"))
    items, unreadable = read_records(PLATFORM, projects, lambda project: parse_project(project, users, scraped_at),
                                     id_of=lambda project: project.get("id"))
    total = result.get("total_count")
    total_count = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    return Listing(items=items, unreadable=unreadable, total=total_count)


def load_result(text: str) -> dict[str, Any]:
    """The envelope's `result`, checked: a dict with a list of project objects."""
    envelope = load_json(text, expect=dict, what="the API's JSON object")
    if envelope.get("status") == "error":
        code = envelope.get("error_code") or "unknown"
        raise PageNotRecognised("api_error", f"{code}: {str(envelope.get('message') or '')[:200]}")
    result = envelope.get("result")
    if envelope.get("status") != "success" or not isinstance(result, dict):
        raise PageNotRecognised("unexpected_structure", f"status {envelope.get('status')!r}, keys {sorted(envelope)[:10]}")
    projects = result.get("projects")
    if not isinstance(projects, list):
        raise PageNotRecognised("unexpected_structure", f"result without a projects list: keys {sorted(result)[:10]}")
    for project in projects:
        if not isinstance(project, dict) or "id" not in project or "title" not in project:
            keys = sorted(project)[:12] if isinstance(project, dict) else type(project).__name__
            raise PageNotRecognised("unexpected_structure", f"project without id/title: {keys}")
    return result


def parse_project(project: dict[str, Any], users: dict[str, Any], scraped_at: str) -> PostingItem:
    currency = mapping(project.get("currency"))
    budget_field = mapping(project.get("budget"))
    kind = project.get("type")
    budget = budget_from_amounts(
        budget_field.get("minimum"),
        budget_field.get("maximum"),
        _currency_code(currency.get("code")),
        kind if kind in ("fixed", "hourly") else None,
    )
    jobs = [job for job in project.get("jobs") or [] if isinstance(job, dict)]
    first_category = mapping(jobs[0].get("category")) if jobs else {}
    bid_stats = mapping(project.get("bid_stats"))
    description = html_to_text(project.get("description") or project.get("preview_description"))
    return new_posting(
        platform=PLATFORM,
        external_id=str(project["id"]),
        url=project_url(project),
        title=clean_line(project.get("title")),
        description=description,
        client=owner_name(users, project.get("owner_id")),
        category=clean_line(first_category.get("name")),
        skills=clean_skills(job.get("name") for job in jobs),
        **budget.fields(),
        duration_days=None,  # see the module docstring: bidperiod and duration_enum are not lengths
        location=project_location(project.get("location")),
        remote=False if project.get("local") is True else None,  # "local" jobs are on-site; others do not say
        posted_at=from_epoch(project.get("time_submitted") or project.get("submitdate")),
        deadline_at=bidding_deadline(project),
        proposals=whole_number(bid_stats.get("bid_count")),
        status=project_status(project),
        scraped_at=scraped_at,
        # The project only: the owner's user record (reputation, city, registration date) is
        # personal data the contract does not ask for.
        raw=project,
    )


def project_url(project: dict[str, Any]) -> str:
    """The project's public page: `/projects/<seo_url>` (the seo_url holds the skill folder)."""
    seo_url = str(project.get("seo_url") or "").strip().strip("/")
    return canonical_url(f"/projects/{seo_url or project['id']}", ORIGIN)


def owner_name(users: dict[str, Any], owner_id: Any) -> str | None:
    """`display_name`, else `username`, of the owner in `result.users` (keyed by the id as text).
    A name that is an e-mail address or phone number is not a name to keep."""
    if owner_id is None:
        return None
    user = users.get(str(owner_id))
    if not isinstance(user, dict):
        return None
    for key in ("display_name", "username"):
        name = client_name(clean_line(user.get(key)))
        if name:
            return name
    return None


def project_location(location: Any) -> str | None:
    """"City, Country" of a local project; the API sends `{"country": {}}` when there is none."""
    if not isinstance(location, dict):
        return None
    country = mapping(location.get("country"))
    parts = [clean_line(location.get("city")), clean_line(country.get("name"))]
    return ", ".join(part for part in parts if part) or None


def bidding_deadline(project: dict[str, Any]) -> str | None:
    """When bidding closes: `time_submitted` plus `bidperiod` days (the contract's deadline_at)."""
    posted = from_epoch(project.get("time_submitted") or project.get("submitdate"))
    days = whole_number(project.get("bidperiod"))
    if posted is None or not days:
        return None
    try:
        return iso_utc(datetime.fromisoformat(posted).astimezone(UTC) + timedelta(days=days))
    except OverflowError:
        return None


def project_status(project: dict[str, Any]) -> str | None:
    status = str(project.get("frontend_project_status") or "").strip().lower()
    if status == "open":
        return "open"
    if status in _CLOSED_STATUSES:
        return "closed"
    if not status and project.get("status") == "active":
        return "open"  # older answers without frontend_project_status: /active/ lists biddable projects
    return None


def _currency_code(value: Any) -> str | None:
    code = str(value or "").strip().upper()
    return code if len(code) == 3 and code.isalpha() else None
