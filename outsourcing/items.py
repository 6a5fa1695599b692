"""The posting item and the data contract it carries (docs/contract.md).

Everything that names a contract field, platform or enum value imports it from here, so the
contract lives in one place: parsers build `PostingItem`s, the validation pipeline checks them
against `FIELD_TYPES`, feeds export exactly `CONTRACT_FIELDS`, and the database columns match.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import scrapy
from itemadapter import ItemAdapter

from outsourcing import stats as keys
from outsourcing.normalize.pii import contains_pii, scrub_payload, scrub_pii
from outsourcing.normalize.text import storable

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
    """One project posting. Contract fields plus four carried for storage and stats only.

    `raw` is the platform's own payload for the posting (personal data removed), kept in the
    database's `raw` column so a parser fix can be replayed later; `content_hash` is set by the
    deduplication pipeline; `stat_counts` holds what the item builder counted while it built
    the posting (text repaired, personal data removed, values it did not know), which the
    validation pipeline adds to the crawl's stats (a parser has no crawler); `raw_as_built` is
    the very payload object `new_posting` cleaned, so validation can tell that `raw` is still it
    (an identity check: the payload is neither copied nor walked again); `unread_fields` names
    the contract fields this read could not see (see `unread`). None of these is exported to
    feeds (FEED_EXPORT_FIELDS).
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
    stat_counts = scrapy.Field()
    raw_as_built = scrapy.Field()
    #: Contract fields this read could not see (the detail page failed or was not requested, so
    #: the item comes from its listing entry): storage keeps what an earlier read stored for them
    #: (storage/writer.py). Set with `unread`; never exported.
    unread_fields = scrapy.Field()


#: Item fields that are not the contract's and not stored: the builder's notes to validation.
BUILDER_FIELDS: frozenset[str] = frozenset({"stat_counts", "raw_as_built"})


#: Contract fields that hold free text: cleaned of what no database can hold, and on
#: private-client platforms of personal data. Identifiers, URLs and instants are not free text.
TEXT_FIELDS: tuple[str, ...] = ("title", "description", "client", "category", "location")
_NUMBER_FIELDS = tuple(name for name in CONTRACT_FIELDS if FIELD_TYPES[name] == "number")


def new_posting(*, counts: dict[str, int] | None = None, **fields: Any) -> PostingItem:
    """The one place a posting is built: every contract field present (null or [] where not
    given), and the text made safe once, here, for everything downstream.

    - Text PostgreSQL or UTF-8 cannot hold (NUL, lone surrogates) is removed from every string,
      raw payload (keys too) included, and counted.
    - On platforms whose clients are private persons, e-mail addresses and phone numbers are
      removed from every text field, skill and string of the raw payload (after folding widths
      and markup, see `outsourcing.normalize.pii`), and counted; a client "name" that is contact
      data is no name (null).
    - Whole floats in amounts become integers (JSON numbers are integers when whole).

    `counts` adds a parser's own counters (stats keys from `outsourcing.stats`) to the item's
    `stat_counts`. Feeds then always have the same columns, and the validation pipeline only
    checks.
    """
    unknown = set(fields) - set(CONTRACT_FIELDS) - {"raw"}
    if unknown:
        raise TypeError(f"not contract fields: {sorted(unknown)}")
    tally: dict[str, int] = dict(counts or {})

    def add(key: str, amount: int) -> None:
        if amount:
            tally[key] = tally.get(key, 0) + amount

    def safe(text: str) -> str:
        cleaned, nul, surrogates = storable(text)
        add(keys.VALIDATION_NUL_STRIPPED, nul)
        add(keys.TEXT_SURROGATES_REPAIRED, surrogates)
        return cleaned

    private = fields.get("platform") in PRIVATE_CLIENT_PLATFORMS
    item = PostingItem()
    for name in CONTRACT_FIELDS:
        value = fields.get(name, [] if name == "skills" else None)
        if isinstance(value, str):
            value = safe(value)
        elif name == "skills" and isinstance(value, list):
            value = [safe(skill) if isinstance(skill, str) else skill for skill in value]
        elif name in _NUMBER_FIELDS and isinstance(value, float) and value.is_integer():
            value = int(value)
        item[name] = value
    if private:
        for name in TEXT_FIELDS:
            value = item[name]
            if not isinstance(value, str) or not value:
                continue
            if name == "client":
                if contains_pii(value):
                    item[name] = None  # contact data is not a name; a masked one is no name either
                    add(keys.PII_REMOVED, 1)
                continue
            scrubbed = scrub_pii(value)
            if scrubbed is not value and scrubbed != value:
                item[name] = scrubbed
                add(keys.PII_REMOVED, 1)
        if isinstance(item["skills"], list):
            kept = [skill for skill in item["skills"] if not (isinstance(skill, str) and contains_pii(skill))]
            add(keys.PII_REMOVED, len(item["skills"]) - len(kept))
            item["skills"] = kept
    raw = fields.get("raw")
    if raw is not None:
        raw, nul, surrogates = clean_storable(raw)
        add(keys.VALIDATION_NUL_STRIPPED, nul)
        add(keys.TEXT_SURROGATES_REPAIRED, surrogates)
        if private:
            raw, removed = scrub_payload(raw)
            add(keys.PII_REMOVED, removed)
    item["raw"] = raw
    item["raw_as_built"] = raw
    if tally.get(keys.VALIDATION_NUL_STRIPPED):
        tally[keys.VALIDATION_ITEMS_WITH_NUL] = 1
    if tally.get(keys.PII_REMOVED):
        tally[keys.PII_ITEMS] = 1
    item["stat_counts"] = tally
    return item


@dataclass
class UnreadablePosting:
    """A posting the platform listed whose record its parser could not read (a value of a shape
    the parser's code did not expect). The rest of the page goes on; the validation pipeline
    rejects this one with reason `unreadable` into rejected_items, with `error` (the exception
    and where it was raised) as the detail and the record as `raw`. Build it with
    `unreadable_posting`, which makes `raw` storable and private."""

    platform: str
    external_id: str | None
    error: str
    raw: Any


def unreadable_posting(platform: str, external_id: str | None, error: str, raw: Any) -> UnreadablePosting:
    """An UnreadablePosting whose `raw` holds nothing PostgreSQL refuses and, on private-client
    platforms, no personal data: the same rules `new_posting` applies to a posting's raw."""
    raw, _, _ = clean_storable(raw)
    if platform in PRIVATE_CLIENT_PLATFORMS:
        raw, _ = scrub_payload(raw)
    return UnreadablePosting(platform, storable(external_id)[0] if external_id else None, storable(error)[0], raw)


def clean_storable(value: Any) -> tuple[Any, int, int]:
    """A JSON-like payload without what PostgreSQL's jsonb refuses (NUL, lone surrogates) in any
    string or key; NULs dropped and surrogates repaired. Unchanged containers are not copied.

    One serialisation (C speed) tells whether there is anything to repair at all; only then is
    the payload walked string by string."""
    if not isinstance(value, str) and not _payload_needs_repair(value):
        return value, 0, 0
    return _clean_storable(value)


# In a payload serialised with ensure_ascii=False, a NUL shows as the escape \u0000 and a
# surrogate as itself. The escape also matches the six characters `\u0000` written as text
# (serialised `\\u0000`): then the walk finds nothing to repair, which is correct.
_JSON_UNSTORABLE = re.compile(r"\\u0000|[\ud800-\udfff]")


def _payload_needs_repair(value: Any) -> bool:
    try:
        dumped = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # keys json cannot write: walk it
        return True
    return bool(_JSON_UNSTORABLE.search(dumped))


def _clean_storable(value: Any) -> tuple[Any, int, int]:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        nul = surrogates = 0
        changed: dict[Any, Any] | None = None
        for index, (key, item) in enumerate(value.items()):
            cleaned, n, s = _clean_storable(item)
            new_key, kn, ks = storable(key) if isinstance(key, str) else (key, 0, 0)
            if (n or s or kn or ks) and changed is None:
                changed = dict(list(value.items())[:index])
            if changed is not None:
                changed[new_key] = cleaned
            nul += n + kn
            surrogates += s + ks
        return (changed if changed is not None else value), nul, surrogates
    if isinstance(value, (list, tuple)):
        nul = surrogates = 0
        items: list[Any] = []
        for item in value:
            cleaned, n, s = _clean_storable(item)
            nul += n
            surrogates += s
            items.append(cleaned)
        return (items if nul or surrogates or isinstance(value, tuple) else value), nul, surrogates
    return value, 0, 0


def unread(item: PostingItem, fields: tuple[str, ...]) -> PostingItem:
    """`item`, built without its detail page, marked as not having read `fields` (the platform's
    DETAIL_FIELDS): a stored posting keeps its earlier detail values for them."""
    item["unread_fields"] = list(fields)
    return item
