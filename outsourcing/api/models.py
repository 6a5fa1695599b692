"""Response models: what the API promises (and what its OpenAPI schema says). Field names and
formats are the data contract's: ISO 8601 UTC instants, amounts as JSON numbers in the
posting's own currency, skills as a list; extras are named as such."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from outsourcing.query.filters import BudgetType, Platform, Status


class PostingBase(BaseModel):
    platform: Platform
    external_id: str
    url: str
    title: str
    client: str | None = None
    category: str | None = None
    skills: list[str] = Field(default_factory=list)
    budget_min: int | float | None = None
    budget_max: int | float | None = None
    currency: str | None = None
    budget_type: BudgetType | None = None
    duration_days: int | None = None
    location: str | None = None
    remote: bool | None = None
    posted_at: str | None = Field(None, description="ISO 8601 instant, UTC")
    deadline_at: str | None = Field(None, description="ISO 8601 instant, UTC")
    proposals: int | None = None
    status: Status | None = None
    scraped_at: str = Field(description="ISO 8601 instant, UTC: when the stored version was received")
    first_seen_at: str | None = None
    last_seen_at: str | None = None
    changed_at: str | None = Field(None, description="when the stored version last changed")


class PostingListItem(PostingBase):
    snippet: str | None = Field(None, description="an excerpt of the description (around the first search term)")


class PostingPage(BaseModel):
    items: list[PostingListItem]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last page")
    limit: int


class Change(BaseModel):
    changed_at: str | None
    run_id: int | None
    changed_fields: list[str]
    old_values: dict[str, Any]
    new_values: dict[str, Any]


class PostingDetail(PostingBase):
    description: str | None = None
    history: list[Change] = Field(description="changes of the stored posting, newest first")


class Health(BaseModel):
    status: Literal["ok", "unavailable", "no_schema"]
    database: Literal["reachable", "unreachable"]
    schema_version: int | None = None
    expected_schema_version: int
    problem: str | None = None
    hangul_trigrams: bool | None = Field(None, description="whether pg_trgm sees Hangul as word characters "
                                                           "(the database's LC_CTYPE); false: Korean search "
                                                           "stays correct but is not index-assisted")
    ctype: str | None = None
    version: str


class Period(BaseModel):
    from_: str = Field(alias="from")
    to: str
    time_zone: str
    days: int


class DayCount(BaseModel):
    platform: str
    day: str
    n: int


class PlatformCount(BaseModel):
    platform: str
    n: int


class DailyCounts(BaseModel):
    period: Period
    n: int
    days: list[DayCount]
    without_posted_at: list[PlatformCount]


class BudgetGroup(BaseModel):
    platform: str
    category: str | None
    budget_type: str
    currency: str
    n: int
    q1: int | float | None
    median: int | float | None
    q3: int | float | None


class BudgetQuartiles(BaseModel):
    period: Period
    n: int
    groups: list[BudgetGroup]


class SkillCount(BaseModel):
    skill: str
    n: int


class TopSkills(BaseModel):
    period: Period
    n: int = Field(description="postings in the period that match the filter")
    skills: list[SkillCount]


class CrawlRun(BaseModel):
    id: int
    mode: str
    outcome: Literal["ok", "failed", "running"]
    started_at: str | None
    finished_at: str | None
    finish_reason: str | None
    exit_code: int | None
    scraped: int
    inserted: int
    updated: int
    unchanged: int
    dropped: int
    errors: int
    spilled: int
    problems: list[str]


class PlatformHealth(BaseModel):
    platform: str
    failing: bool
    last_success_at: str | None
    runs: list[CrawlRun]


class CrawlHealth(BaseModel):
    failing_threshold: int
    failing: list[str]
    platforms: list[PlatformHealth]


class Problem(BaseModel):
    detail: str
