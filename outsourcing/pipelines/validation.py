"""Validation: every posting checked against the contract before it goes anywhere.

A posting that breaks the contract is dropped (DropItem) with a reason code, counted in stats
under `outsourcing/rejected/<reason>`, and stored in rejected_items with its raw content, so
nothing is lost without a trace. Two repairs happen here, both counted, because the database
could not store the value otherwise or the contract forbids keeping it:
- NUL characters are stripped from every string (`outsourcing/validation/nul_stripped`);
- on platforms whose clients are private persons, e-mail addresses and phone numbers are
  removed from every field and the raw payload (`outsourcing/validation/pii_removed`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from outsourcing import stats as keys
from outsourcing.items import CONTRACT_FIELDS, FIELD_TYPES, PRIVATE_CLIENT_PLATFORMS, REQUIRED_FIELDS
from outsourcing.normalize.text import contains_pii, scrub_pii_deep
from outsourcing.pipelines.common import store_of
from outsourcing.storage.store import PostingStore

logger = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_URL = re.compile(r"^https://[a-z0-9.\-]+(?::\d+)?/")
_MAX_DURATION_DAYS = 3650
_MAX_INT = 2**31 - 1


def check_posting(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The contract's rules; returns (reason, detail) pairs, empty when the posting is valid."""
    problems: list[tuple[str, str]] = []
    for name in CONTRACT_FIELDS:
        if name not in data:
            problems.append((f"missing:{name}", f"field {name} is absent"))
            continue
        value = data[name]
        if value is None or value == "" or (name == "title" and isinstance(value, str) and not value.strip()):
            if name in REQUIRED_FIELDS:
                problems.append((f"missing:{name}", f"{name} is required"))
            elif value == "":
                problems.append((f"type:{name}", f"{name} is an empty string (use null)"))
            continue
        problem = _check_type(name, value, FIELD_TYPES[name])
        if problem:
            problems.append(problem)
    if problems:
        return problems
    low, high = data["budget_min"], data["budget_max"]
    if low is not None and high is not None and low > high:
        problems.append(("range:budget", f"budget_min {low} > budget_max {high}"))
    has_amount = low is not None or high is not None
    if has_amount and data["currency"] is None:
        problems.append(("unit:currency", "an amount without a currency"))
    if not has_amount and data["currency"] is not None:
        problems.append(("unit:currency", "a currency without an amount"))
    if not data["url"].startswith("https://") or not _URL.match(data["url"]):
        problems.append(("format:url", f"not an absolute https URL with a lower-case host: {data['url'][:200]}"))
    return problems


def _check_type(name: str, value: Any, kind: Any) -> tuple[str, str] | None:
    if isinstance(kind, tuple):
        return None if value in kind else (f"enum:{name}", f"{name}={value!r} is not one of {', '.join(kind)}")
    if kind in ("str", "text"):
        if not isinstance(value, str):
            return f"type:{name}", f"{name} must be text, got {type(value).__name__}"
        if name == "currency" and not _CURRENCY.match(value):
            return "format:currency", f"currency {value!r} is not an ISO 4217 code"
        if kind == "str" and name not in ("url",) and "\n" in value:
            return f"format:{name}", f"{name} must be one line"
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"type:{name}", f"{name} must be a number, got {type(value).__name__}"
        if value != value or value in (float("inf"), float("-inf")):
            return f"range:{name}", f"{name} is not finite"
        if value < 0:
            return f"range:{name}", f"{name}={value} is negative"
        return None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"type:{name}", f"{name} must be an integer, got {type(value).__name__}"
        limit = _MAX_DURATION_DAYS if name == "duration_days" else _MAX_INT
        if not 0 <= value <= limit:
            return f"range:{name}", f"{name}={value} is outside 0..{limit}"
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else (f"type:{name}", f"{name} must be true, false or null")
    if kind == "skills":
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            return f"type:{name}", f"{name} must be a list of non-empty strings"
        return None
    if kind == "instant":
        if not isinstance(value, str):
            return f"type:{name}", f"{name} must be an ISO 8601 string"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return f"format:{name}", f"{name}={value[:60]!r} is not ISO 8601"
        if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0 or not value.endswith("+00:00"):
            return f"format:{name}", f"{name}={value[:60]!r} is not in UTC with offset +00:00"
        return None
    return None


def strip_nul(value: Any) -> tuple[Any, int]:
    """`value` with NUL characters removed from every string; how many were removed."""
    if isinstance(value, str):
        count = value.count("\x00")
        return (value.replace("\x00", ""), count) if count else (value, 0)
    if isinstance(value, dict):
        total = 0
        cleaned: dict[Any, Any] = {}
        for key, item in value.items():
            key, key_count = strip_nul(key)
            cleaned[key], count = strip_nul(item)
            total += count + key_count
        return cleaned, total
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            item, count = strip_nul(item)
            items.append(item)
            total += count
        return items, total
    return value, 0


class ValidationPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.store: PostingStore | None = None  # found once the engine exists (open_spider)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidationPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        self.store = store_of(self.crawler)
        if self.store is not None:
            await self.store.open()

    async def close_spider(self) -> None:
        if self.store is not None:
            await self.store.release()

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        self._repair(adapter)
        data = {name: adapter.get(name) for name in adapter.field_names() if name in adapter}
        if not isinstance(item, dict) and not ItemAdapter.is_item(item):
            problems = [("type:item", f"not an item: {type(item).__name__}")]
        else:
            problems = check_posting(data)
        if not problems:
            return item
        reason, _ = problems[0]
        detail = "; ".join(text for _, text in problems)
        self.stats.inc_value(keys.rejected(reason))
        logger.warning("%s: posting %s rejected (%s): %s", data.get("platform"), data.get("external_id"), reason, detail)
        if self.store is not None:
            await self.store.add_rejected({
                "platform": data.get("platform") if isinstance(data.get("platform"), str) else None,
                "external_id": str(data["external_id"]) if data.get("external_id") is not None else None,
                "reason": reason,
                "detail": detail,
                "item": data,
            })
        raise DropItem(f"{reason}: {detail}")

    def _repair(self, adapter: ItemAdapter) -> None:
        nul_total = 0
        for name in list(adapter.field_names()):
            if name not in adapter:
                continue
            value, count = strip_nul(adapter[name])
            if count:
                adapter[name] = value
                nul_total += count
            if isinstance(value, float) and value.is_integer() and FIELD_TYPES.get(name) == "number":
                adapter[name] = int(value)  # JSON numbers are integers when whole
        if nul_total:
            self.stats.inc_value(keys.VALIDATION_NUL_STRIPPED, nul_total)
            self.stats.inc_value(keys.VALIDATION_ITEMS_WITH_NUL)
        if adapter.get("platform") in PRIVATE_CLIENT_PLATFORMS:
            for name in list(adapter.field_names()):
                if name in adapter and name not in ("url", "platform", "external_id", "scraped_at"):
                    value = adapter[name]
                    if value is not None and contains_pii_deep(value):
                        adapter[name] = scrub_pii_deep(value)
                        self.stats.inc_value(keys.VALIDATION_PII_REMOVED)


def contains_pii_deep(value: Any) -> bool:
    if isinstance(value, str):
        return contains_pii(value)
    if isinstance(value, dict):
        return any(contains_pii_deep(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_pii_deep(item) for item in value)
    return False
