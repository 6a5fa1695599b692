"""Where the serving side (API, alerts, report) gets its database: the same resolution as crawls
(DATABASE_URL, else the embedded PostgreSQL in OUTSOURCING_HOME) and read-only pools.

Everything the query layer needs from outsourcing.storage is imported here and only here, so a
reorganisation of the storage package is a one-line change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from outsourcing.storage.database import (  # the one import from storage
    EmbeddedPostgres,
    apply_schema,
    configured_database_url,
    home_dir,
    mask_dsn,
    mask_secrets,
)

__all__ = [
    "apply_schema",  # for alerts: the dispatcher owns tables of its own (schema.sql block 6)
    "EXPECTED_SCHEMA_VERSION",
    "DatabaseTarget",
    "SchemaStatus",
    "create_read_only_pool",
    "home_dir",
    "mask_dsn",
    "mask_secrets",
    "read_schema_status",
]

logger = logging.getLogger(__name__)

#: The schema migration whose functions, views and indexes the queries use: block 5 (search
#: indexes, Hangul grams) and block 7 (the budget amount and local day/week functions of /market).
EXPECTED_SCHEMA_VERSION = 7


@dataclass
class DatabaseTarget:
    """The database to read, resolved like a crawl resolves it. `open()` starts the embedded
    server when DATABASE_URL is not set (and `close()` releases it)."""

    url: str | None = None
    _embedded: EmbeddedPostgres | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, settings: Any = None) -> DatabaseTarget:
        return cls(url=configured_database_url(settings))

    def open(self, settings: Any = None) -> str:
        if self.url is None:
            self._embedded = EmbeddedPostgres(home_dir(settings) / "pgdata")
            self.url = self._embedded.start()
        return self.url

    def close(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    @property
    def masked(self) -> str:
        return mask_dsn(self.url) if self.url else "<embedded PostgreSQL, not started>"


async def _init_read_only(connection: asyncpg.Connection) -> None:
    # Codecs: jsonb as Python objects (history values), numeric stays Decimal (exact amounts).
    import json

    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await connection.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_read_only_pool(url: str, *, min_size: int = 1, max_size: int = 10,
                                statement_timeout_ms: int = 5000, connect_timeout: float = 5.0,
                                application_name: str = "outsourcing-read",
                                max_parallel_workers_per_gather: int | None = None) -> asyncpg.Pool:
    """A pool whose sessions cannot write (default_transaction_read_only) and whose statements
    end after `statement_timeout_ms`: no request can modify data or hold the database long.

    The settings travel in the startup packet (server_settings), so they hold from the first
    statement of every connection, including connections the pool opens again after an outage.
    """
    settings = {
        "default_transaction_read_only": "on",
        "statement_timeout": str(int(statement_timeout_ms)),
        "idle_in_transaction_session_timeout": str(int(statement_timeout_ms) * 2),
        "application_name": application_name,
    }
    if max_parallel_workers_per_gather is not None:
        settings["max_parallel_workers_per_gather"] = str(max_parallel_workers_per_gather)
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=connect_timeout,
        command_timeout=statement_timeout_ms / 1000 + 5,
        init=_init_read_only,
        server_settings=settings,
    )
    assert pool is not None
    return pool


@dataclass
class SchemaStatus:
    """What the database holds, as the serving side needs it."""

    version: int | None            # newest schema_version row; None when there is no schema
    hangul_trigrams: bool | None   # does pg_trgm see Hangul as word characters (LC_CTYPE)?
    ctype: str | None

    @property
    def ready(self) -> bool:
        return self.version is not None and self.version >= EXPECTED_SCHEMA_VERSION

    @property
    def problem(self) -> str | None:
        if self.version is None:
            return ("the database has no postings tables yet: run a crawl first "
                    "(`scrapy crawl <platform>` applies the schema; the API never writes)")
        if self.version < EXPECTED_SCHEMA_VERSION:
            return (f"the database schema is version {self.version}, the API needs {EXPECTED_SCHEMA_VERSION}: "
                    "run a crawl with this version of the project first (it applies the migrations)")
        return None


async def read_schema_status(connection: asyncpg.Connection) -> SchemaStatus:
    ctype = await connection.fetchval("SELECT datctype FROM pg_database WHERE datname = current_database()")
    has_table = await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    version = await connection.fetchval("SELECT max(version) FROM schema_version") if has_table else None
    hangul = None
    if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"):
        # Under a plain C ctype pg_trgm finds no word characters in Hangul: search stays
        # correct (the substring test decides) but the index cannot help Korean terms.
        hangul = bool(await connection.fetchval("SELECT cardinality(show_trgm('웹사')) > 0"))
    return SchemaStatus(version=int(version) if version is not None else None, hangul_trigrams=hangul, ctype=ctype)
