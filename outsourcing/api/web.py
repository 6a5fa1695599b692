"""The web page: server-rendered search, a posting with its history, crawl health. Works
without JavaScript; no external resources (the page works offline)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError

from outsourcing.api.auth import require_token
from outsourcing.api.database import Database, DatabaseUnavailable
from outsourcing.api.routes import database
from outsourcing.items import BUDGET_TYPES, PLATFORMS
from outsourcing.query.crawls import crawl_health
from outsourcing.query.filters import PostingFilter, describe_errors
from outsourcing.query.postings import Cursor, CursorError, get_posting, search_postings

PAGE_SIZE = 25
_LIST_PARAMS = {"platform", "skills", "budget_type"}

environment = Environment(loader=PackageLoader("outsourcing.api", "templates"),
                          autoescape=select_autoescape(["html"]))
templates = Jinja2Templates(env=environment)


def money(value: float | None, currency: str | None) -> str:
    if value is None:
        return "?"
    if currency == "KRW" and value >= 10_000 and value % 10_000 == 0:
        return f"{int(value) // 10_000:,}만원"
    amount = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{amount} {currency or ''}".strip()


def budget(item: dict[str, Any]) -> str:
    low, high, currency = item.get("budget_min"), item.get("budget_max"), item.get("currency")
    if low is None and high is None:
        return "budget not given" if not item.get("budget_type") else ""
    if low == high or high is None and low is not None:
        text = money(low, currency) + ("" if low == high else "+")
    elif low is None:
        text = "up to " + money(high, currency)
    else:
        text = f"{money(low, currency)} – {money(high, currency)}"
    return text


def when(value: str | None) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


environment.filters.update(budget=budget, when=when)
environment.globals.update(PLATFORMS=PLATFORMS, BUDGET_TYPES=BUDGET_TYPES)

router = APIRouter(dependencies=[Depends(require_token)], include_in_schema=False)
static_router = APIRouter(include_in_schema=False)


def _form(request: Request) -> dict[str, Any]:
    """The query string as filter input: empty fields dropped, list fields as lists."""
    values: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if not value.strip():
            continue
        if key in _LIST_PARAMS:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value
    return values


def _unavailable(request: Request, error: DatabaseUnavailable) -> HTMLResponse:
    return templates.TemplateResponse(request, "unavailable.html", {"message": error.message}, status_code=503,
                                      headers={"Retry-After": str(error.retry_after)})


@router.get("/", response_class=HTMLResponse)
async def search_page(request: Request, db: Annotated[Database, Depends(database)]) -> Response:
    form = _form(request)
    cursor_text = form.pop("cursor", None)
    errors: list[str] = []
    posting_filter = None
    try:
        posting_filter = PostingFilter.from_mapping(form)
    except ValidationError as error:
        errors = describe_errors(error)
    cursor = None
    if cursor_text:
        try:
            cursor = Cursor.decode(cursor_text)
        except CursorError as error:
            errors.append(f"cursor: {error}")
    context: dict[str, Any] = {"form": form, "errors": errors, "items": [], "next_url": None,
                               "first_url": None, "paged": cursor is not None}
    if errors or posting_filter is None:
        return templates.TemplateResponse(request, "search.html", context, status_code=422)
    try:
        page = await db.query(lambda c: search_postings(c, posting_filter, limit=PAGE_SIZE, cursor=cursor))
    except DatabaseUnavailable as error:
        return _unavailable(request, error)
    pairs = [(key, item) for key, value in form.items() for item in (value if isinstance(value, list) else [value])]
    context["items"] = page.items
    context["first_url"] = "/?" + urlencode(pairs) if pairs else "/"
    if page.next_cursor:
        context["next_url"] = "/?" + urlencode([*pairs, ("cursor", page.next_cursor)])
    return templates.TemplateResponse(request, "search.html", context)


@router.get("/p/{platform}/{external_id}", response_class=HTMLResponse)
async def posting_page(request: Request, platform: str, external_id: str,
                       db: Annotated[Database, Depends(database)]) -> Response:
    if platform not in PLATFORMS:
        return templates.TemplateResponse(request, "not_found.html", {"what": f"{platform}/{external_id}"},
                                          status_code=404)
    try:
        posting = await db.query(lambda c: get_posting(c, platform, external_id))
    except DatabaseUnavailable as error:
        return _unavailable(request, error)
    if posting is None:
        return templates.TemplateResponse(request, "not_found.html", {"what": f"{platform}/{external_id}"},
                                          status_code=404)
    return templates.TemplateResponse(request, "posting.html", {"p": posting})


@router.get("/crawls", response_class=HTMLResponse)
async def crawls_page(request: Request, db: Annotated[Database, Depends(database)]) -> Response:
    try:
        health = await db.query(lambda c: crawl_health(c, runs_per_platform=5))
    except DatabaseUnavailable as error:
        return _unavailable(request, error)
    return templates.TemplateResponse(request, "crawls.html", {"health": health})


_CSS = resources.files("outsourcing.api").joinpath("static", "style.css")


@static_router.get("/static/style.css")
async def stylesheet() -> Response:
    # Read from the package (works from a zipped egg too); small, so no file server needed.
    return Response(_CSS.read_bytes(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})
