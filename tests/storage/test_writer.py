"""The batch writer and the lifecycle functions against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import string
from typing import Any

import asyncpg
import pytest

from outsourcing.items import content_hash, new_posting
from outsourcing.normalize.dates import now_utc
from outsourcing.storage import lifecycle
from outsourcing.storage.database import apply_schema, mask_dsn, mask_secrets
from outsourcing.storage.writer import prepare_connection, write_batch, write_rejected
from tests.conftest import run


def record(external_id: str, *, platform: str = "remoteok", budget: int | None = 1000, posted: str = "2026-09-01T00:00:00+00:00",
           status: str | None = "open", skills: list[str] | None = None, scraped_at: str | None = None) -> dict[str, Any]:
    item = new_posting(
        platform=platform, external_id=external_id, url=f"https://remoteok.com/remote-jobs/{external_id}",
        title=f"Job {external_id}", skills=skills or ["python"], budget_min=budget, budget_max=budget,
        currency="USD" if budget is not None else None, budget_type="yearly" if budget is not None else None,
        posted_at=posted, status=status, scraped_at=scraped_at or now_utc(), raw={"id": external_id},
    )
    data = dict(item)
    data["content_hash"] = content_hash(item)
    return data


async def _connect(url: str) -> asyncpg.Connection:
    connection = await asyncpg.connect(url)
    await apply_schema(connection)
    await prepare_connection(connection)
    return connection


def test_insert_unchanged_update_and_history(database_url) -> None:
    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            first = await write_batch(connection, [record("1"), record("2"), record("3")], None)
            assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
            again = await write_batch(connection, [record("1"), record("2"), record("3")], None)
            assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
            changed = await write_batch(connection, [record("1", budget=2000), record("2"), record("4")], None)
            assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 1)
            history = await connection.fetch("SELECT * FROM posting_changes")
            assert len(history) == 1
            assert history[0]["changed_fields"] == ["budget_min", "budget_max"]
            assert json.loads(history[0]["old_values"]) == {"budget_min": 1000, "budget_max": 1000}
            assert await connection.fetchval("SELECT count(*) FROM posting_seen") == 4
        finally:
            await connection.close()

    run(scenario())


def test_refused_rows_are_isolated_and_the_rest_written(database_url) -> None:
    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            records = [record(str(n)) for n in range(64)]
            records[17]["proposals"] = 2**40        # does not fit PostgreSQL's integer
            noise = "".join(random.Random(3).choices(string.ascii_letters, k=12000))
            records[50]["skills"] = [noise]         # larger than an index entry may be, even compressed
            result = await write_batch(connection, records, None)
            assert result.inserted == 62
            refused = {r["external_id"]: reason for r, reason, _ in result.refused}
            assert set(refused) == {"17", "50"}
            assert refused["50"] == "database:54000"
            assert refused["17"] == "database:OverflowError"  # refused by the driver before PostgreSQL
            assert await connection.fetchval("SELECT count(*) FROM postings") == 62
        finally:
            await connection.close()

    run(scenario())


def test_two_writers_on_one_platform_do_not_deadlock_or_duplicate(database_url) -> None:
    async def writer(batches: list[list[dict[str, Any]]]) -> None:
        connection = await _connect(database_url)
        try:
            for batch in batches:
                await write_batch(connection, batch, None)
        finally:
            await connection.close()

    async def scenario() -> None:
        # Overlapping keys in opposite orders: the classic deadlock recipe for row locks.
        forward = [[record(str(n), budget=1000) for n in range(start, start + 50)] for start in range(0, 400, 50)]
        backward = [[record(str(n), budget=1000) for n in reversed(range(start, start + 50))] for start in reversed(range(0, 400, 50))]
        await asyncio.gather(writer(forward), writer(backward))
        connection = await asyncpg.connect(database_url)
        try:
            assert await connection.fetchval("SELECT count(*) FROM postings") == 400
            assert await connection.fetchval("SELECT count(*) FROM posting_changes") == 0
        finally:
            await connection.close()

    run(scenario())


def test_watermark_and_closing_unseen_postings(database_url) -> None:
    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            run_id = await connection.fetchval("INSERT INTO crawl_runs (spider) VALUES ('remoteok') RETURNING id")
            await write_batch(connection, [record("1", posted="2026-09-01T00:00:00+00:00"),
                                           record("2", posted="2026-09-05T12:00:00+00:00"),
                                           record("3", posted="2026-08-01T00:00:00+00:00")], run_id)
            newest = await lifecycle.advance_watermark(connection, "remoteok", run_id)
            assert newest.isoformat() == "2026-09-05T12:00:00+00:00"
            # A later run that saw only older postings never moves it back.
            run2 = await connection.fetchval("INSERT INTO crawl_runs (spider) VALUES ('remoteok') RETURNING id")
            await write_batch(connection, [record("3", posted="2026-08-01T00:00:00+00:00")], run2)
            assert (await lifecycle.advance_watermark(connection, "remoteok", run2)).isoformat() == "2026-09-05T12:00:00+00:00"
            # Stored, and not by a run that finished cleanly (none has finished here).
            assert await lifecycle.stored_status(connection, "remoteok", ["1", "9"]) == {"1": False}

            await connection.execute("UPDATE posting_seen SET last_seen_at = now() - interval '30 days' WHERE external_id = '1'")
            closed = await lifecycle.close_unseen(connection, "remoteok", 14, run2)
            assert closed == 1
            row = await connection.fetchrow("SELECT status, content_hash FROM postings WHERE external_id = '1'")
            assert row["status"] == "closed"
            closed_version = record("1", status="closed")
            assert row["content_hash"] == closed_version["content_hash"]  # as if the platform had said so
            change = await connection.fetchrow("SELECT * FROM posting_changes WHERE external_id = '1'")
            assert change["changed_fields"] == ["status"] and json.loads(change["new_values"]) == {"status": "closed"}
            # It reappears open: an ordinary update, with history.
            back = await write_batch(connection, [record("1")], run2)
            assert back.updated == 1
            assert await connection.fetchval("SELECT status FROM postings WHERE external_id = '1'") == "open"
        finally:
            await connection.close()

    run(scenario())


@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://crawler:s3cret@db.example:5432/postings", "postgresql://crawler:***@db.example:5432/postings"),
        ("postgresql://crawler@db/postings", "postgresql://crawler@db/postings"),
        ("postgresql://db/postings?password=s3cret&sslmode=require", "postgresql://db/postings?password=***&sslmode=require"),
    ],
)
def test_mask_dsn(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked
    message = mask_secrets(f"could not connect to {dsn} (password s3cret)", dsn)
    assert ("s3cret" in message) == ("s3cret" not in dsn)  # a password the DSN holds is never printed


# --- text no database column can hold ---------------------------------------------------------

def test_a_record_with_unencodable_text_is_refused_alone_and_stored_as_rejected(database_url) -> None:
    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            records = [record(str(n)) for n in range(8)]
            records[3]["raw"] = {"description": "lone surrogate \ud83d here"}  # a raw dict no parser cleaned
            result = await write_batch(connection, records, None)
            assert result.inserted == 7
            [(refused, reason, message)] = result.refused
            assert (refused["external_id"], reason) == ("3", "database:UnicodeEncodeError")
            await write_rejected(connection, [{"platform": "remoteok", "external_id": "3", "reason": reason,
                                               "detail": message, "item": refused}], None)
            row = await connection.fetchrow("SELECT * FROM rejected_items")
            assert (row["external_id"], row["reason"]) == ("3", "database:UnicodeEncodeError")
            assert json.loads(row["item"])["raw"]["description"] == "lone surrogate \ufffd here"
        finally:
            await connection.close()

    run(scenario())


def test_rejected_items_are_stored_whatever_they_hold(database_url) -> None:
    cyclic: dict[str, Any] = {"n": 1}
    cyclic["self"] = cyclic
    item = {
        "description": "C:\\u0000 is a path, \x00 is a NUL",  # the literal text backslash-u-0000, then a NUL
        "title": "\ud83d\ude00 pair, \udc80 lone",
        "budget_min": float("nan"),
        "raw": {1: "int key", ("a", "b"): "tuple key", "nested": cyclic},
    }

    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            await write_rejected(connection, [{"platform": "remoteok", "external_id": "x\x00", "reason": "missing:title",
                                               "detail": "bad \udcff", "item": item}], None)
            row = await connection.fetchrow("SELECT * FROM rejected_items")
            stored = json.loads(row["item"])
            assert stored["description"] == "C:\\u0000 is a path,  is a NUL"
            assert stored["title"] == "\U0001f600 pair, \ufffd lone"  # a pair is the character it encodes
            assert stored["budget_min"] is None
            assert stored["raw"]["1"] == "int key" and stored["raw"]["('a', 'b')"] == "tuple key"
            assert (row["external_id"], row["detail"]) == ("x", "bad \ufffd")
        finally:
            await connection.close()

    run(scenario())


# --- fields a read could not see (item 7: a detail page that failed) ---------------------------

def test_unread_fields_keep_what_a_detail_read_stored(database_url) -> None:
    detail = dict(record("1", budget=5000, skills=["Python", "Django", "PostgreSQL"]),
                  description="the full text", proposals=5, category="개발 > 웹")
    detail["content_hash"] = content_hash(detail)
    card = dict(record("1", budget=None, skills=["Python"]), description=None, proposals=4, category="개발",
                unread_fields=["description", "skills", "proposals", "category", "budget_min", "budget_max",
                               "currency", "budget_type"])
    card["content_hash"] = content_hash(card)

    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            await write_batch(connection, [detail], None)
            again = await write_batch(connection, [card], None)
            assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
            assert await connection.fetchval("SELECT count(*) FROM posting_changes") == 0
            row = await connection.fetchrow("SELECT * FROM postings")
            assert (row["description"], row["skills"], row["proposals"], row["category"], row["budget_min"]) == (
                "the full text", ["Python", "Django", "PostgreSQL"], 5, "개발 > 웹", 5000)
            assert row["content_hash"] == detail["content_hash"]
            assert await connection.fetchval("SELECT count(*) FROM posting_unread") == 0  # stored values were read
            # What the card does read still counts: a new title is an ordinary change.
            retitled = dict(card, title="New title")
            retitled["content_hash"] = content_hash(retitled)
            changed = await write_batch(connection, [retitled], None)
            assert changed.updated == 1
            change = await connection.fetchrow("SELECT * FROM posting_changes")
            assert change["changed_fields"] == ["title"]
        finally:
            await connection.close()

    run(scenario())


def test_values_never_read_from_a_detail_still_follow_the_listing(database_url) -> None:
    unread = ["description", "proposals"]
    first = dict(record("1"), description=None, proposals=1, unread_fields=unread)
    first["content_hash"] = content_hash(first)
    second = dict(first, proposals=2)  # the listing says more proposals now, the detail still fails
    second["content_hash"] = content_hash(second)
    read = dict(first, description="read at last", proposals=3)
    del read["unread_fields"]
    read["content_hash"] = content_hash(read)

    async def scenario() -> None:
        connection = await _connect(database_url)
        try:
            await write_batch(connection, [first], None)
            assert await connection.fetchval("SELECT fields FROM posting_unread") == unread
            assert (await write_batch(connection, [second], None)).updated == 1
            assert await connection.fetchval("SELECT proposals FROM postings") == 2
            assert (await write_batch(connection, [read], None)).updated == 1
            assert await connection.fetchval("SELECT count(*) FROM posting_unread") == 0
            assert (await write_batch(connection, [second], None)).unchanged == 1  # now the read values stay
            assert await connection.fetchrow("SELECT description, proposals FROM postings") == ("read at last", 3)
        finally:
            await connection.close()

    run(scenario())
