"""The crawl's connection to PostgreSQL: which server, the schema, and a pool opened with backoff.

`Database.connect(budget)` resolves the server (DATABASE_URL, else the embedded PostgreSQL),
applies schema.sql over a plain connection, then opens the asyncpg pool; connection faults are
retried with exponential backoff for `budget` seconds before `DatabaseUnavailable` is raised.
asyncpg's pool replaces dead connections but re-runs nothing: retrying a statement is the
caller's business (storage/batches.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from outsourcing.storage.database import (
    EmbeddedPostgres,
    apply_schema,
    configured_database_url,
    home_dir,
    mask_dsn,
    mask_secrets,
)
from outsourcing.storage.writer import is_data_error, prepare_connection

logger = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    pass


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                              asyncio.TimeoutError, ConnectionError, DatabaseUnavailable))


class Database:
    """One crawl's PostgreSQL server and connection pool."""

    def __init__(self, settings: Any, label: str) -> None:
        self.settings = settings
        self.label = label  # the spider's name, for log lines
        self.pool_size = settings.getint("DB_POOL_SIZE", 2)
        self.connect_timeout = settings.getfloat("DB_CONNECT_TIMEOUT", 10.0)
        self.retry_timeout = settings.getfloat("DB_RETRY_TIMEOUT", 60.0)
        self.backoff_max = settings.getfloat("DB_RETRY_BACKOFF_MAX", 8.0)
        self.configured_url = configured_database_url(settings)
        self.dsn: str | None = None
        self.pool: asyncpg.Pool | None = None
        self.embedded: EmbeddedPostgres | None = None

    @property
    def name(self) -> str:
        """The database, safe to print."""
        if self.dsn:
            return mask_dsn(self.dsn)
        return mask_dsn(self.configured_url) if self.configured_url else "the embedded PostgreSQL"

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.dsn)

    def describe(self, error: BaseException) -> str:
        return self.mask(f"{type(error).__name__}: {error}")

    async def connect(self, budget: float, then: Callable[[asyncpg.Pool], Awaitable[None]] | None = None) -> None:
        """Open the pool (schema first) and run `then` on it, retrying connection faults with
        backoff for `budget` seconds; a pool already open is kept."""
        await self._resolve()
        deadline = time.monotonic() + budget
        delay = 0.5
        while True:
            try:
                if self.pool is None:
                    await self._apply_schema()
                    self.pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=max(1, self.pool_size),
                        timeout=self.connect_timeout,
                        command_timeout=max(60.0, self.retry_timeout),
                        init=prepare_connection,
                    )
                if then is not None:
                    await then(self.pool)
                return
            except Exception as error:  # noqa: BLE001 - connection faults of every kind
                self.discard_pool()
                message = self.describe(error)
                if time.monotonic() + delay > deadline or (is_data_error(error) and not is_connection_error(error)):
                    raise DatabaseUnavailable(message) from error
                logger.warning("%s: database %s not ready (%s); retrying in %.1fs", self.label, self.name, message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    async def _resolve(self) -> None:
        if self.dsn is not None:
            return
        if self.configured_url:
            self.dsn = self.configured_url
            return
        embedded = EmbeddedPostgres(home_dir(self.settings) / "pgdata")
        try:
            self.dsn = await asyncio.to_thread(embedded.start)
        except Exception as error:  # noqa: BLE001 - reported, then spilled
            raise DatabaseUnavailable(f"embedded PostgreSQL did not start: {error}") from error
        self.embedded = embedded

    async def _apply_schema(self) -> None:
        """schema.sql over a plain connection before the pool exists: the pool's `init` creates a
        stage table shaped like `postings`, which must exist first."""
        connection = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        try:
            version = await apply_schema(connection)
            logger.debug("Schema version %s applied", version)
        finally:
            await connection.close()

    def discard_pool(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.terminate()

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=self.connect_timeout)
            except Exception:  # noqa: BLE001 - a pool that will not close politely is terminated
                pool.terminate()
        if self.embedded is not None:
            embedded, self.embedded = self.embedded, None
            await asyncio.to_thread(embedded.stop)
