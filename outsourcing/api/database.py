"""The API's hold on the database: a read-only pool opened in the lifespan, requests that turn
an outage into 503 (and succeed again once the database is back), and the schema check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from outsourcing.api.config import ApiSettings
from outsourcing.query.connection import (
    DatabaseTarget,
    SchemaStatus,
    create_read_only_pool,
    mask_dsn,
    read_schema_status,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Errors that mean "the database cannot answer now": refused or dropped connections, a server
#: shutting down or starting, a pool being closed.
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
)
#: Worth one immediate retry on a fresh connection (a pooled connection died with the server).
_STALE = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, asyncpg.exceptions.AdminShutdownError,
          ConnectionResetError, BrokenPipeError)
STATUS_TTL = 30.0


class DatabaseUnavailable(Exception):
    """Answer 503 with this message."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Database:
    def __init__(self, target: DatabaseTarget, settings: ApiSettings) -> None:
        self.target = target
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self._status: SchemaStatus | None = None
        self._status_at = 0.0
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        url = self.target.open()
        # min_size=0: no connection at start, so the server starts (and /health says why)
        # even while the database is down; connections are made on demand and remade after
        # an outage.
        self.pool = await create_read_only_pool(
            url, min_size=0, max_size=self.settings.pool_size, statement_timeout_ms=self.settings.statement_timeout_ms,
            connect_timeout=self.settings.connect_timeout, application_name="outsourcing-api",
            # Many short queries at once: parallel workers would only add start-up cost and
            # compete with the other requests for the same cores.
            max_parallel_workers_per_gather=0)
        logger.info("API database: %s (read-only sessions, statement_timeout %d ms, pool of %d)",
                    mask_dsn(url), self.settings.statement_timeout_ms, self.settings.pool_size)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        self.target.close()

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` on a pooled read-only connection; 503 (DatabaseUnavailable) when the database
        cannot answer. A connection that died with a restarted server is retried once."""
        if self.pool is None:
            raise DatabaseUnavailable("the API is starting or stopping")
        for attempt in (1, 2):
            try:
                async with self.pool.acquire(timeout=self.settings.acquire_timeout) as connection:
                    return await work(connection)
            except _STALE as error:
                if attempt == 1:
                    logger.info("database connection lost (%s); retrying on a new one", type(error).__name__)
                    continue
                raise self._unavailable(error) from error
            except asyncpg.exceptions.QueryCanceledError as error:
                raise DatabaseUnavailable("the query ran longer than the API's statement timeout "
                                          f"({self.settings.statement_timeout_ms} ms): narrow the filter") from error
            except (asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.UndefinedFunctionError) as error:
                self._status = None
                status = await self.status()
                raise DatabaseUnavailable(status.problem or f"the database schema is not as expected: {error}") from error
            except _UNAVAILABLE as error:
                raise self._unavailable(error) from error
        raise AssertionError("unreachable")

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        self._status = None
        reason = str(error) or type(error).__name__
        logger.warning("database unavailable: %s", reason)
        return DatabaseUnavailable(f"the database is unavailable ({type(error).__name__}); try again shortly")

    async def status(self) -> SchemaStatus:
        """The schema status, cached while it is fine (re-read every time while it is not)."""
        now = time.monotonic()
        if self._status is not None and self._status.ready and now - self._status_at < STATUS_TTL:
            return self._status
        status = await self.run(read_schema_status)
        self._status, self._status_at = status, now
        return status

    async def ready(self) -> None:
        """Raise DatabaseUnavailable unless the database answers and holds the expected schema."""
        status = await self.status()
        if not status.ready:
            raise DatabaseUnavailable(status.problem or "schema not ready", retry_after=60)

    async def query(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        await self.ready()
        return await self.run(work)

    def acquire(self) -> Any:
        if self.pool is None:
            raise DatabaseUnavailable("the API is starting or stopping")
        return self.pool.acquire(timeout=self.settings.acquire_timeout)
