"""Helpers for parser tests: responses built from files, and field-by-field comparison."""

from __future__ import annotations

import json
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
