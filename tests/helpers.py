"""Helpers for parser tests: responses built from files, field-by-field comparison, and the
recorded parser cases (outsourcing/mirror/pages/<platform>/cases.json) the data-driven test runs."""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from ftfy.badness import is_bad
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.platforms.pages import Listing, PageNotRecognised

SCRAPED_AT = "2026-10-02T06:00:00+00:00"
FIXTURES = Path(__file__).resolve().parents[1] / "outsourcing" / "mirror" / "pages"  # as tests/conftest.py


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


# What mojibake leaves behind that ftfy's own detector can miss once white space was folded
# ("Â " from a NBSP's two bytes), and C1 control characters (never meant in text).
_MOJIBAKE_REMAINS = re.compile("Â(?=[\\s\u00a0])|Ã[\u0080-\u00bf]|â€|[ÐÑ][\u0080-\u00bf]|[\u0080-\u009f]")


def looks_like_mojibake(text: str | None) -> bool:
    """Whether text still shows mojibake (UTF-8 read as Latin-1 / Windows-1252)."""
    return bool(text) and (is_bad(text) or bool(_MOJIBAKE_REMAINS.search(text)))  # type: ignore[arg-type]


def assert_contract_shape(item: Any) -> None:
    """The item has every contract field (feeds have fixed columns)."""
    missing = [name for name in CONTRACT_FIELDS if name not in item]
    assert not missing, f"missing contract fields: {missing}"


# --- recorded parser cases ----------------------------------------------------------------------
#
# outsourcing/mirror/pages/<platform>/cases.json names each case and says how to build its responses:
#   "listing": the listing answers, in order: {"file", "url", "kind": text|html|xml, "method",
#              "envelope_count": N (Wishket: the file is the cards HTML inside {"result", "count"})}
#   "details": how each entry's detail answer is found: {"file": "detail-{id}.json" or
#              "files": {id: file}, "url": "...{id}...", "kind", "method"}; without it, entries
#              become items through the parser's `item_from_entry(entry, scraped_at,
#              **entry_arguments)`
#   "only":    the entries (ids) the case is about
# and <case>.expected.json holds what must come out: "items" (fields of each posting, in order;
# "raw" lists keys of the raw payload), "listings" (attributes of each Listing), "skipped"
# (entries parse_detail returned None for) and "unrecognised" (entry id -> reason).


def response_for(platform: str, spec: dict[str, Any], entry: str | None = None) -> TextResponse:
    """The response a case spec describes (`{id}` in names filled with `entry`)."""
    name = (spec.get("files") or {}).get(entry) or spec["file"]
    path = FIXTURES / platform / name.format(id=entry)
    url = spec["url"].format(id=entry)
    body = path.read_bytes()
    if "envelope_count" in spec:
        body = json.dumps({"result": body.decode("utf-8"), "count": spec["envelope_count"]}, ensure_ascii=False).encode("utf-8")
    return response_from(body, url, kind=spec.get("kind", "text"), method=spec.get("method", "GET"))


@dataclass
class CaseResult:
    listings: list[Listing]
    items: list[Any]
    skipped: list[str] = field(default_factory=list)
    unrecognised: dict[str, str] = field(default_factory=dict)


def case_names() -> list[tuple[str, str]]:
    """(platform, case) of every recorded case, sorted."""
    cases = []
    for path in sorted(FIXTURES.glob("*/cases.json")):
        cases += [(path.parent.name, name) for name in json.loads(path.read_text(encoding="utf-8"))]
    return cases


def case_expected(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / f"{name}.expected.json").read_text(encoding="utf-8"))


@cache
def run_case(platform: str, name: str) -> CaseResult:
    """A case run through the platform's parser the way its spider does: every listing answer
    read, entries seen twice kept once, each entry completed by its detail answer (or alone)."""
    spec = json.loads((FIXTURES / platform / "cases.json").read_text(encoding="utf-8"))[name]
    parser = importlib.import_module(f"outsourcing.platforms.{platform}.parser")
    listings = [parser.parse_listing(response_for(platform, page), SCRAPED_AT) for page in spec["listing"]]
    result = CaseResult(listings, [item for listing in listings for item in listing.items])
    seen: set[str] = set()
    only = spec.get("only")
    for listing in listings:
        for entry in listing.entries:
            entry_id = parser.entry_id(entry)
            if entry_id in seen or (only and entry_id not in only):
                continue
            seen.add(entry_id)
            if "details" not in spec:
                result.items.append(parser.item_from_entry(entry, SCRAPED_AT, **spec.get("entry_arguments", {})))
                continue
            try:
                item = parser.parse_detail(response_for(platform, spec["details"], entry_id), entry, SCRAPED_AT)
            except PageNotRecognised as error:
                result.unrecognised[entry_id] = error.reason
                continue
            if item is None:
                result.skipped.append(entry_id)
            else:
                result.items.append(item)
    return result


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
