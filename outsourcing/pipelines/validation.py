"""Validation: every posting checked against the contract before it goes anywhere.

A posting that breaks the contract is dropped (DropItem) with a reason code, counted in stats
under `outsourcing/rejected/<reason>`, and stored in rejected_items with its raw content, so
nothing is lost without a trace.

Validation only checks; it repairs nothing. Text is made safe once, where the posting is built
(`outsourcing.items.new_posting`: NUL and lone surrogates removed, personal data of private
clients removed, whole floats made integers), and what the builder counted while doing so
travels on the item (`stat_counts`) and is added to the crawl's stats here. A posting that still
carries text PostgreSQL cannot hold (`text:<field>`), personal data on a private-client platform
(`pii:<field>`) or a whole number written as a float (`format:<field>`) was not built by the
builder, or was changed after it: it is rejected with that reason, not silently repaired. The
contract fields are always checked (in one pass over their text joined); the raw payload only
when it is not the object the builder cleaned (`raw_as_built`), so the deep walk over it that
validation used to do per posting is gone.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, NoReturn

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from outsourcing import stats as keys
from outsourcing.items import (
    BUILDER_FIELDS,
    CONTRACT_FIELDS,
    FIELD_TYPES,
    PRIVATE_CLIENT_PLATFORMS,
    REQUIRED_FIELDS,
    TEXT_FIELDS,
    PostingItem,
    UnreadablePosting,
)
from outsourcing.normalize.pii import contains_pii, payload_holds_pii
from outsourcing.normalize.text import unstorable
from outsourcing.pipelines.common import store_of
from outsourcing.storage.store import PostingStore

logger = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_URL = re.compile(r"^https://[a-z0-9.\-]+(?::\d+)?/")
_MAX_DURATION_DAYS = 3650
_MAX_INT = 2**31 - 1
#: The rejection reason of a posting whose record its parser could not read.
UNREADABLE = "unreadable"


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
    problems.extend(check_text(data))
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
        if isinstance(value, float) and value.is_integer():
            return f"format:{name}", f"{name}={value} is a whole number written as a float (JSON numbers are integers when whole)"
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
        offset = moment.utcoffset()
        if offset is None or offset.total_seconds() != 0 or not value.endswith("+00:00"):
            return f"format:{name}", f"{name}={value[:60]!r} is not in UTC with offset +00:00"
        return None
    return None


def check_text(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Text the database cannot hold (NUL, lone surrogates) in any text field, skill or the raw
    payload; on private-client platforms, personal data in them. The fields' text is searched
    joined, once; a field is named only when something was found. The raw payload is walked only
    when it is not the one `new_posting` cleaned."""
    problems: list[tuple[str, str]] = []
    private = data.get("platform") in PRIVATE_CLIENT_PLATFORMS
    texts: list[tuple[str, str]] = []
    for name in CONTRACT_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            texts.append((name, value))
        elif name == "skills" and isinstance(value, list):
            texts.extend((name, skill) for skill in value if isinstance(skill, str))
    # Newlines join them: no pattern below spans one, so nothing is found across two fields.
    joined = "\n".join(text for _, text in texts)
    if unstorable(joined):
        for name, text in texts:
            what = unstorable(text)
            if what:
                problems.append((f"text:{name}", f"{name} holds {what}, which PostgreSQL cannot store"))
                break
    elif private and contains_pii(joined):
        for name, text in texts:
            if (name in TEXT_FIELDS or name == "skills") and contains_pii(text):
                problems.append((f"pii:{name}", f"{name} holds an e-mail address or phone number of a private client"))
                break
    raw = data.get("raw")
    if raw is not None and raw is not data.get("raw_as_built"):
        what = _unstorable_in(raw)
        if what:
            problems.append(("text:raw", f"the raw payload holds {what}, which PostgreSQL cannot store"))
        elif private and payload_holds_pii(raw):
            problems.append(("pii:raw", "the raw payload holds an e-mail address or phone number of a private client"))
    return problems


def _unstorable_in(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        for key, item in value.items():
            found = (unstorable(key) if isinstance(key, str) else None) or _unstorable_in(item)
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _unstorable_in(item)
            if found:
                return found
    return None


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
        if isinstance(item, UnreadablePosting):
            # A record its parser could not read (pages.read_records): the page went on without it.
            await self._reject({"platform": item.platform, "external_id": item.external_id, "raw": item.raw},
                               UNREADABLE, item.error)
        problems: list[tuple[str, str]] | None = None
        if isinstance(item, (dict, PostingItem)):
            values: dict[str, Any] = dict(item)  # a plain read: ItemAdapter's layers cost more here
        elif ItemAdapter.is_item(item):
            values = ItemAdapter(item).asdict()
        else:
            values = {}
            problems = [("type:item", f"not an item: {type(item).__name__}")]
        counted = values.get("stat_counts")
        if isinstance(counted, dict):
            for key, amount in counted.items():
                self.stats.inc_value(key, amount)
        if problems is None:
            problems = check_posting(values)
        if not problems:
            return item
        data = {name: value for name, value in values.items() if name not in BUILDER_FIELDS}
        await self._reject(data, problems[0][0], "; ".join(text for _, text in problems))

    async def _reject(self, data: dict[str, Any], reason: str, detail: str) -> NoReturn:
        """Count, log and store the rejection (rejected_items), then drop the item."""
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
