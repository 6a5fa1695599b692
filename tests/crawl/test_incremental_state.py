"""Incremental state lives in typed columns of crawl_runs (watermark_scope, listing_complete), set
by the incremental component; runs recorded before migration 4 are filled in from the stats they
kept, and the "stored" stop asks the columns, never the stats JSON. The scope a run records
is its filter arguments only (not scrapyd's `_job`)."""

from __future__ import annotations

import json

import asyncpg
from scrapy.utils.test import get_crawler

from outsourcing.platforms.kmong.spider import KmongSpider
from outsourcing.platforms.wishket.spider import WishketSpider
from outsourcing.storage import lifecycle
from outsourcing.storage.database import apply_schema
from outsourcing.storage.writer import prepare_connection, write_batch
from tests.conftest import run
from tests.storage.test_writer import record


def test_runs_recorded_before_migration_4_are_filled_in_and_the_columns_decide(database_url: str) -> None:
    async def scenario() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await apply_schema(connection)
            await prepare_connection(connection)
            # Three runs as a version-3 database holds them: only the stats JSON says which
            # were complete and of which scope.
            old_stats = [
                {"outsourcing/watermark_scope": ""},                                       # complete
                {"outsourcing/truncated/max_pages": 1},                                     # cut short
                {"outsourcing/truncated/max_items": 1, "outsourcing/incremental/stopped_at_watermark": 1},
            ]
            ids = []
            for stats in old_stats:
                ids.append(await connection.fetchval(
                    "INSERT INTO crawl_runs (spider, exit_code, stats) VALUES ('kmong', 0, $1::jsonb) RETURNING id",
                    json.dumps(stats)))
            await connection.execute("UPDATE crawl_runs SET watermark_scope = NULL, listing_complete = NULL")
            await connection.execute("DELETE FROM schema_version WHERE version = 4")
            assert await apply_schema(connection) >= 4
            rows = await connection.fetch("SELECT watermark_scope, listing_complete FROM crawl_runs ORDER BY id")
            assert [(r["watermark_scope"], r["listing_complete"]) for r in rows] == [("", True), ("", False), ("", True)]

            # The stop asks the columns: with the stats JSON gone, a posting first stored by the
            # complete run still counts as covered; one first stored by the cut-short run, only
            # because a later complete run exists.
            await connection.execute("UPDATE crawl_runs SET stats = NULL")
            await write_batch(connection, [record("1", platform="kmong")], ids[0])
            assert await lifecycle.stored_status(connection, "kmong", ["1", "2"]) == {"1": True}
            await connection.execute("UPDATE crawl_runs SET listing_complete = false WHERE id <> $1", ids[0])
            await write_batch(connection, [record("2", platform="kmong")], ids[1])
            assert await lifecycle.stored_status(connection, "kmong", ["1", "2"]) == {"1": True, "2": False}
            # Another scope's runs say nothing about this one.
            assert await lifecycle.stored_status(connection, "kmong", ["1"], "category=7") == {"1": False}
        finally:
            await connection.close()

    run(scenario())


def test_the_scope_is_the_filter_arguments_only() -> None:
    spider = WishketSpider.from_crawler(get_crawler(WishketSpider), category="dev", query="앱", mode="incremental",
                                        max_pages="3", _job="6a1f0c", base_url="http://127.0.0.1:1")
    assert spider.watermark_scope == "category=dev&query=앱"
    # How a spider reads (a browser) is not which postings: no scope of its own.
    kmong = KmongSpider(browser="1", category="6")
    kmong.arguments = {"browser": "1", "category": "6", "_job": "x"}
    assert kmong.watermark_scope == "category=6"
