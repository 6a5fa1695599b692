"""The JSON, CSV and JSON Lines endpoints (read-only: GET only)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from outsourcing import __version__
from outsourcing.api.auth import require_token
from outsourcing.api.database import Database, DatabaseUnavailable
from outsourcing.api.models import (
    BudgetQuartiles,
    CrawlHealth,
    DailyCounts,
    Health,
    PostingDetail,
    PostingPage,
    Problem,
    TopSkills,
)
from outsourcing.query import market
from outsourcing.query.connection import EXPECTED_SCHEMA_VERSION
from outsourcing.query.crawls import crawl_health
from outsourcing.query.filters import Platform, PostingFilter
from outsourcing.query.postings import (
    DEFAULT_LIMIT,
    EXPORT_FIELDS,
    MAX_LIMIT,
    Cursor,
    CursorError,
    get_posting,
    iter_posting_json,
    iter_postings,
    search_postings,
)

logger = logging.getLogger(__name__)

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "database unavailable, or no (current) schema yet: see the message"},
}
AUTH: dict[int | str, dict[str, Any]] = {401: {"model": Problem, "description": "API_TOKEN is set: send it as a bearer token"}}
MAX_EXPORT = 1_000_000


class PostingSearch(PostingFilter):
    """Query parameters of GET /postings: the filter, a page size and the cursor."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"postings per page (at most {MAX_LIMIT})")
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page, unchanged")


class PostingExport(PostingFilter):
    """Query parameters of the exports: the filter and an optional row limit."""

    limit: int | None = Field(None, ge=1, le=MAX_EXPORT, description="at most this many postings (default: all)")
    excel: bool = Field(False, description="CSV only: start with a UTF-8 byte order mark, so that Excel shows "
                                           "Korean text correctly")


class MarketQuery(PostingFilter):
    days: int = Field(30, ge=1, le=market.MAX_DAYS, description="the period: the last N days")
    time_zone: str = Field(market.DEFAULT_TIME_ZONE, max_length=64, description="IANA zone of the days")


class RangeQuery(PostingFilter):
    days: int = Field(90, ge=1, le=market.MAX_DAYS, description="the period: the last N days of posted_at")
    limit: int = Field(30, ge=1, le=200, description="how many skills")


class FastJSON(JSONResponse):
    """JSON of dicts the query layer already built in the contract's formats: declared with
    response_model (so OpenAPI documents it and the tests check it), but not validated again
    per request, which would cost more than the query of a page."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class CrawlsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: int = Field(5, ge=1, le=50, description="last runs per platform")


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def only_filter(model: PostingFilter) -> PostingFilter:
    """The PostingFilter part of an endpoint's parameter model."""
    return PostingFilter.model_validate(model.model_dump(include=set(PostingFilter.model_fields)))


def validation_error(field: str, message: str, value: Any) -> HTTPException:
    """A 422 in FastAPI's own format, for checks made after parameter parsing."""
    return HTTPException(422, detail=[{"type": "value_error", "loc": ["query", field], "msg": message, "input": value}])


health_router = APIRouter(tags=["health"])
router = APIRouter(dependencies=[Depends(require_token)], responses={**UNAVAILABLE, **AUTH})


@health_router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(db: Annotated[Database, Depends(database)]) -> JSONResponse:
    """Whether the database answers and holds the schema the API reads (200), or why not (503)."""
    body: dict[str, Any] = {"expected_schema_version": EXPECTED_SCHEMA_VERSION, "version": __version__}
    try:
        status = await db.status()
    except DatabaseUnavailable as error:
        body.update(status="unavailable", database="unreachable", problem=error.message)
        return JSONResponse(Health(**body).model_dump(), status_code=503, headers={"Retry-After": "5"})
    body.update(database="reachable", schema_version=status.version, hangul_trigrams=status.hangul_trigrams,
                ctype=status.ctype, problem=status.problem, status="ok" if status.ready else "no_schema")
    return JSONResponse(Health(**body).model_dump(), status_code=200 if status.ready else 503)


@router.get("/postings", response_model=PostingPage, tags=["postings"])
async def list_postings(params: Annotated[PostingSearch, Query()],
                        db: Annotated[Database, Depends(database)]) -> Response:
    """Postings matching the filter, newest `posted_at` first (postings without one last; ties
    by platform, then external_id, descending), one page at a time: pass `next_cursor` back as
    `cursor`. Pages neither skip nor repeat a posting while new ones arrive."""
    try:
        cursor = Cursor.decode(params.cursor) if params.cursor else None
    except CursorError as error:
        raise validation_error("cursor", str(error), params.cursor) from error
    posting_filter = only_filter(params)
    page = await db.query(lambda c: search_postings(c, posting_filter, limit=params.limit, cursor=cursor))
    return Response(page.to_json(params.limit), media_type="application/json")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return value


async def _export(db: Database, params: PostingExport, kind: Literal["csv", "jsonl"]) -> StreamingResponse:
    posting_filter = only_filter(params)
    await db.ready()  # a database that is down answers 503 here, before the stream starts

    async def rows() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if kind == "csv":
            if params.excel:
                buffer.write("\ufeff")
            writer.writerow(EXPORT_FIELDS)
            yield buffer.getvalue().encode("utf-8")
        count = 0
        try:
            async with db.acquire() as connection:
                if kind == "csv":
                    async for record in iter_postings(connection, posting_filter, max_rows=params.limit):
                        buffer.seek(0)
                        buffer.truncate()
                        writer.writerow([_csv_cell(record[name]) for name in EXPORT_FIELDS])
                        yield buffer.getvalue().encode("utf-8")
                        count += 1
                else:
                    async for text in iter_posting_json(connection, posting_filter, max_rows=params.limit):
                        yield (text + "\n").encode("utf-8")
                        count += 1
        except Exception:
            # Headers are gone: the client sees a cut stream (no final line); say why here.
            logger.exception("export stopped after %d postings", count)
            raise

    media = "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson; charset=utf-8"
    filename = f"postings.{kind}"
    return StreamingResponse(rows(), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/postings.csv", tags=["postings"], response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV with the contract's field names"}})
async def export_csv(params: Annotated[PostingExport, Query()], db: Annotated[Database, Depends(database)]) -> StreamingResponse:
    """Every matching posting as CSV (streamed, in the list order): the contract's fields and
    first_seen_at, last_seen_at, changed_at; skills as a JSON array; empty cell = null."""
    return await _export(db, params, "csv")


@router.get("/postings.jsonl", tags=["postings"], response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "one JSON posting per line"}})
async def export_jsonl(params: Annotated[PostingExport, Query()], db: Annotated[Database, Depends(database)]) -> StreamingResponse:
    """Every matching posting as JSON Lines (streamed, in the list order), contract formats."""
    return await _export(db, params, "jsonl")


@router.get("/postings/{platform}/{external_id}", response_model=PostingDetail, tags=["postings"],
            responses={404: {"model": Problem, "description": "no such posting"}})
async def one_posting(platform: Platform, external_id: Annotated[str, Path(min_length=1, max_length=200)],
                      db: Annotated[Database, Depends(database)]) -> FastJSON:
    """One posting, full description included, with its change history (newest first)."""
    posting = await db.query(lambda c: get_posting(c, platform, external_id))
    if posting is None:
        raise HTTPException(404, detail=f"no posting {platform}/{external_id}")
    return FastJSON(posting)


def _time_zone(name: str) -> str:
    try:
        return market.check_time_zone(name)
    except ValueError as error:
        raise validation_error("time_zone", str(error), name) from error


@router.get("/market/daily", response_model=DailyCounts, tags=["market"])
async def market_daily(params: Annotated[MarketQuery, Query()], db: Annotated[Database, Depends(database)]) -> dict[str, Any]:
    """Postings per platform and day of posted_at (in `time_zone`) over the last `days` days."""
    zone = _time_zone(params.time_zone)
    posting_filter = only_filter(params)
    return await db.query(lambda c: market.postings_per_day(c, posting_filter, days=params.days, time_zone=zone))


@router.get("/market/budgets", response_model=BudgetQuartiles, tags=["market"])
async def market_budgets(params: Annotated[RangeQuery, Query()], db: Annotated[Database, Depends(database)]) -> dict[str, Any]:
    """Budget quartiles per platform, category, budget type and currency (never mixed), with
    the number of postings behind each; the amount of a posting is the middle of its range."""
    posting_filter = only_filter(params)
    return await db.query(lambda c: market.budget_quartiles(c, posting_filter, days=params.days))


@router.get("/market/skills", response_model=TopSkills, tags=["market"])
async def market_skills(params: Annotated[RangeQuery, Query()], db: Annotated[Database, Depends(database)]) -> dict[str, Any]:
    """The most asked-for skills (case-insensitive) among matching postings."""
    posting_filter = only_filter(params)
    return await db.query(lambda c: market.top_skills(c, posting_filter, days=params.days, limit=params.limit))


@router.get("/crawls/health", response_model=CrawlHealth, tags=["crawls"])
async def crawls_health(params: Annotated[CrawlsQuery, Query()], db: Annotated[Database, Depends(database)]) -> dict[str, Any]:
    """The last runs per platform with their outcome; `failing`: platforms whose last 3
    finished runs all failed (layouts change, and silence is the usual symptom)."""
    return await db.query(lambda c: crawl_health(c, runs_per_platform=params.runs))
