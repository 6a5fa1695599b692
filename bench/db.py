"""Fresh databases for the benchmarks, and what PostgreSQL says about the server and its WAL.

BENCH_DATABASE_URL (else TEST_DATABASE_URL, else the local service) names the server; every
benchmark gets a database of its own, created empty and dropped afterwards, as tests do.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from outsourcing.storage.database import apply_schema

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(server_url())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(label: str, *, schema: bool = True) -> AsyncIterator[str]:
    """A new, empty database (with schema.sql applied unless schema=False); dropped afterwards."""
    name = f"outsourcing_bench_{label}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = with_database(server_url(), name)
    try:
        if schema:
            await _apply(url)
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


async def _apply(url: str) -> None:
    async with connect(url) as connection:
        await apply_schema(connection)


def fetchval(url: str, sql: str, *args: Any) -> Any:
    async def go() -> Any:
        async with connect(url) as connection:
            return await connection.fetchval(sql, *args)

    return asyncio.run(go())


def server_description() -> str:
    return str(fetchval(server_url(), "SELECT version()")).split(" on ")[0]


def setting(name: str) -> str:
    return str(fetchval(server_url(), "SELECT current_setting($1)", name))
