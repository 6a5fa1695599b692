"""The ASGI application: `outsourcing.api:app` (uvicorn/gunicorn), `python -m outsourcing.api`
and `scrapy serve` all run this."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from outsourcing import __version__
from outsourcing.api import routes, web
from outsourcing.api.config import ApiSettings, install_mask
from outsourcing.api.database import Database, DatabaseUnavailable
from outsourcing.query.connection import DatabaseTarget

logger = logging.getLogger(__name__)

DESCRIPTION = """Read-only access to the postings the crawlers store: search with filters and a
keyset cursor, exports (CSV, JSON Lines), one posting with its history, market figures and crawl
health. Every posting uses the data contract's field names and formats. With `API_TOKEN` set,
every endpoint but `/health` needs `Authorization: Bearer <token>`."""


def create_app(settings: ApiSettings | None = None, target: DatabaseTarget | None = None) -> FastAPI:
    """The application. Settings and database come from the environment unless given; nothing
    connects before the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app_settings: ApiSettings = app.state.settings
        database_target = target or DatabaseTarget.from_environment()
        db = Database(database_target, app_settings)
        await db.open()
        install_mask(app_settings.api_token, database_target.url)
        if app_settings.api_token:
            logger.info("API_TOKEN is set (***): every endpoint but /health needs it")
        app.state.db = db
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(title="outsourcing postings API", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings or ApiSettings.from_environment()

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(request: Request, error: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=503,
                            headers={"Retry-After": str(error.retry_after)})

    app.include_router(routes.health_router)
    app.include_router(routes.router)
    app.include_router(web.router)
    app.include_router(web.static_router)
    return app
