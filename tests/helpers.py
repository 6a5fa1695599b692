"""Helpers for parser tests: responses built from files, and field-by-field comparison."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse

from outsourcing.items import CONTRACT_FIELDS

SCRAPED_AT = "2026-10-02T06:00:00+00:00"


def response_from(path: Path | bytes, url: str, *, kind: str = "text", method: str = "GET",
                  headers: dict[str, str] | None = None) -> TextResponse:
    """A Scrapy response for `url` with the file's bytes as body, as the downloader makes it."""
    body = path if isinstance(path, bytes) else Path(path).read_bytes()
    cls = {"html": HtmlResponse, "xml": XmlResponse, "text": TextResponse}[kind]
    return cls(url=url, body=body, encoding="utf-8" if kind != "xml" else None,
               headers=headers or {}, request=Request(url, method=method))


def load_expected(path: Path) -> list[dict[str, Any]]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def assert_fields(item: Any, expected: dict[str, Any]) -> None:
    """Every field in `expected` equals the item's, reported one field at a time."""
    mismatches = {
        name: (dict(item).get(name), value)
        for name, value in expected.items()
        if dict(item).get(name) != value
    }
    assert not mismatches, "fields differ (got, expected): " + json.dumps(mismatches, ensure_ascii=False, indent=1)


def assert_contract_shape(item: Any) -> None:
    """The item has every contract field (feeds have fixed columns)."""
    missing = [name for name in CONTRACT_FIELDS if name not in item]
    assert not missing, f"missing contract fields: {missing}"


# --- database and timing helpers for end-to-end tests ------------------------------------------

def wait_for(condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.05) -> None:
    """Poll `condition` until it holds (a crawl running in the background got somewhere)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def stored_ids(database_url: str, platform: str | None = None) -> set[str]:
    """External ids in `postings` (of one platform); empty while the schema does not exist yet."""
    from tests.conftest import query

    sql = "SELECT external_id FROM postings" + (" WHERE platform = $1" if platform else "")
    try:
        rows = query(database_url, sql, *([platform] if platform else []))
    except Exception:  # noqa: BLE001 - the crawl may not have created the schema yet
        return set()
    return {row["external_id"] for row in rows}


def stored_count(database_url: str, platform: str | None = None) -> int:
    return len(stored_ids(database_url, platform))


def watermark(database_url: str, platform: str, scope: str = "") -> datetime | None:
    from tests.conftest import query

    rows = query(database_url, "SELECT newest_posted_at FROM platform_watermarks WHERE platform = $1 AND scope = $2",
                 platform, scope)
    return rows[0]["newest_posted_at"] if rows else None


def runs(database_url: str) -> list[dict[str, Any]]:
    """crawl_runs, oldest first, with the columns the tests compare."""
    from tests.conftest import query

    return query(database_url, "SELECT mode, exit_code, finished_at, scraped, inserted, updated, unchanged "
                               "FROM crawl_runs ORDER BY id")
