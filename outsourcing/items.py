"""The posting item and the data contract it carries (docs/contract.md).

Everything that names a contract field, platform or enum value imports it from here, so the
contract lives in one place: parsers build `PostingItem`s, the validation pipeline checks them
against `FIELD_TYPES`, feeds export exactly `CONTRACT_FIELDS`, and the database columns match.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import scrapy
from itemadapter import ItemAdapter

#: Spider names, one per platform (the contract's first table).
PLATFORMS: tuple[str, ...] = (
    "wishket",
    "freemoa",
    "kmong",
    "elancer",
    "freelancer",
    "guru",
    "peopleperhour",
    "remoteok",
    "weworkremotely",
)

#: Platforms whose clients are private persons: e-mail addresses and phone numbers are removed
#: from every stored field there, raw payload included. Company job boards (RemoteOK, WWR)
#: publish application addresses on purpose, so those stay.
PRIVATE_CLIENT_PLATFORMS: frozenset[str] = frozenset(
    {"wishket", "freemoa", "kmong", "elancer", "freelancer", "guru", "peopleperhour"}
)

BUDGET_TYPES: tuple[str, ...] = ("fixed", "hourly", "monthly", "yearly")
STATUSES: tuple[str, ...] = ("open", "closed")

#: The contract's item fields, in the contract's order. Feeds contain exactly these.
CONTRACT_FIELDS: tuple[str, ...] = (
    "platform",
    "external_id",
    "url",
    "title",
    "description",
    "client",
    "category",
    "skills",
    "budget_min",
    "budget_max",
    "currency",
    "budget_type",
    "duration_days",
    "location",
    "remote",
    "posted_at",
    "deadline_at",
    "proposals",
    "status",
    "scraped_at",
)

#: Fields a posting must have (non-null); all others may be null.
REQUIRED_FIELDS: frozenset[str] = frozenset(
    {"platform", "external_id", "url", "title", "skills", "scraped_at"}
)

#: Contract type of each field: "str", "text" (str, may be multi-line), "number", "int", "bool",
#: "instant" (ISO 8601 UTC), "skills" (list of str), or an enum tuple.
FIELD_TYPES: dict[str, Any] = {
    "platform": PLATFORMS,
    "external_id": "str",
    "url": "str",
    "title": "str",
    "description": "text",
    "client": "str",
    "category": "str",
    "skills": "skills",
    "budget_min": "number",
    "budget_max": "number",
    "currency": "str",
    "budget_type": BUDGET_TYPES,
    "duration_days": "int",
    "location": "str",
    "remote": "bool",
    "posted_at": "instant",
    "deadline_at": "instant",
    "proposals": "int",
    "status": STATUSES,
    "scraped_at": "instant",
}

#: Fields that do not take part in the content hash: `scraped_at` changes on every crawl.
HASH_EXCLUDED: frozenset[str] = frozenset({"scraped_at"})

_HASHED = tuple(name for name in CONTRACT_FIELDS if name not in HASH_EXCLUDED)


def content_hash(data: Any) -> str:
    """sha256 of the posting's contract fields but scraped_at, in canonical JSON."""
    adapter = data if isinstance(data, ItemAdapter) else ItemAdapter(data)
    canonical = {name: adapter.get(name) for name in _HASHED}
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class PostingItem(scrapy.Item):
    """One project posting. Contract fields plus three carried for storage only.

    `raw` is the platform's own payload for the posting (personal data removed), kept in the
    database's `raw` column so a parser fix can be replayed later; `content_hash` is set by the
    deduplication pipeline. Neither is exported to feeds (FEED_EXPORT_FIELDS).
    """

    platform = scrapy.Field()
    external_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    description = scrapy.Field()
    client = scrapy.Field()
    category = scrapy.Field()
    skills = scrapy.Field()
    budget_min = scrapy.Field()
    budget_max = scrapy.Field()
    currency = scrapy.Field()
    budget_type = scrapy.Field()
    duration_days = scrapy.Field()
    location = scrapy.Field()
    remote = scrapy.Field()
    posted_at = scrapy.Field()
    deadline_at = scrapy.Field()
    proposals = scrapy.Field()
    status = scrapy.Field()
    scraped_at = scrapy.Field()
    raw = scrapy.Field()
    content_hash = scrapy.Field()
    #: Contract fields this read could not see (the detail page failed or was not requested, so
    #: the item comes from its listing entry): storage keeps what an earlier read stored for them
    #: (storage/writer.py). Set with `unread`; never exported.
    unread_fields = scrapy.Field()


def new_posting(**fields: Any) -> PostingItem:
    """A posting with every contract field present (null or [] where not given).

    Parsers call this so an item never lacks a key: feeds then always have the same columns.
    """
    unknown = set(fields) - set(CONTRACT_FIELDS) - {"raw"}
    if unknown:
        raise TypeError(f"not contract fields: {sorted(unknown)}")
    item = PostingItem()
    for name in CONTRACT_FIELDS:
        item[name] = fields.get(name, [] if name == "skills" else None)
    item["raw"] = fields.get("raw")
    return item


def unread(item: PostingItem, fields: tuple[str, ...]) -> PostingItem:
    """`item`, built without its detail page, marked as not having read `fields` (the platform's
    DETAIL_FIELDS): a stored posting keeps its earlier detail values for them."""
    item["unread_fields"] = list(fields)
    return item
