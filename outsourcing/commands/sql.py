"""`scrapy sql "SELECT ..."`: query the crawler's database (DATABASE_URL, or the embedded
PostgreSQL, which this starts for the query and stops afterwards). Without a query, opens psql
on it. For users of the embedded database, who have no server of their own to connect to."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
from decimal import Decimal
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from outsourcing.storage.database import (
    EmbeddedPostgres,
    apply_schema,
    configured_database_url,
    home_dir,
    load_embedded_postgres,
)


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return '["SQL query"]'

    def short_desc(self) -> str:
        return "Query the crawler's database (DATABASE_URL or the embedded PostgreSQL)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) > 1:
            raise UsageError("give the query as one argument, in quotes")
        assert self.settings is not None
        url = configured_database_url(self.settings)
        embedded = None
        if url is None:
            embedded = EmbeddedPostgres(home_dir(self.settings) / "pgdata")
            url = embedded.start()
        try:
            if args:
                self.exitcode = asyncio.run(_print_query(url, args[0]))
            else:
                self.exitcode = _psql(url)
        finally:
            if embedded is not None:
                embedded.stop()


async def _print_query(url: str, sql: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await apply_schema(connection)  # so a query before the first crawl finds empty tables
        rows = await connection.fetch(sql)
    except asyncpg.PostgresError as error:
        print(f"error: {error}")
        return 1
    finally:
        await connection.close()
    if not rows:
        print("(0 rows)")
        return 0
    columns = list(rows[0].keys())
    # By position: row[name] gives one value for every column of that name (min(a), min(b)).
    cells = [[_cell(value) for value in row.values()] for row in rows]
    widths = [min(60, max(len(name), *(len(r[i]) for r in cells))) for i, name in enumerate(columns)]
    print(" | ".join(name.ljust(widths[i]) for i, name in enumerate(columns)))
    print("-+-".join("-" * width for width in widths))
    for row in cells:
        print(" | ".join(value[: widths[i]].ljust(widths[i]) for i, value in enumerate(row)))
    print(f"({len(rows)} rows)")
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        # asyncpg may hand back 20000 as Decimal("2E+4"): print amounts as people write them.
        return format(value, "f")
    return str(value).replace("\n", " ")


def _psql(url: str) -> int:
    load_embedded_postgres()  # its package import, without the XDG_RUNTIME_DIR warning
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    from outsourcing.storage.database import split_password

    psql = shutil.which("psql") or str(POSTGRES_BIN_PATH / "psql")
    # The password goes through the environment, not the command line, where `ps` shows it
    # (split the way libpq reads it, also when it holds an unencoded # / ? or @).
    url, password = split_password(url)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = password
    return subprocess.call([psql, url], env=env)
