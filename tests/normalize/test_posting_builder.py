"""The one place a posting is made safe (`new_posting`), and the validation pipeline that only
checks: what the builder repairs and counts, and what validation rejects instead of repairing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from outsourcing import stats as keys
from outsourcing.items import PostingItem, new_posting
from outsourcing.pipelines.validation import ValidationPipeline, check_posting

SCRAPED_AT = "2026-10-02T06:00:00+00:00"


def posting(platform: str = "remoteok", **fields: Any) -> PostingItem:
    base: dict[str, Any] = {
        "platform": platform, "external_id": "1", "url": f"https://{platform}.example/jobs/1", "title": "Data engineer",
        "scraped_at": SCRAPED_AT,
    }
    base.update(fields)
    return new_posting(**base)


def test_text_no_database_can_hold_is_removed_from_fields_and_raw_and_counted() -> None:
    raw = {"description": "team \ud83d here", "company\x00": "A\x00B", "list": ["\ud83d\ude00", "C:\\u0000"], "n": 1}
    item = posting(title="Lone \ud83d and NUL\x00", client="A\x00B", skills=["Go\x00"], raw=raw)
    assert item["title"] == "Lone \ufffd and NUL"
    assert (item["client"], item["skills"]) == ("AB", ["Go"])
    assert item["raw"] == {"description": "team \ufffd here", "company": "AB", "list": ["\U0001f600", "C:\\u0000"], "n": 1}
    assert item["raw_as_built"] is item["raw"]
    assert item["stat_counts"] == {
        keys.VALIDATION_NUL_STRIPPED: 5, keys.TEXT_SURROGATES_REPAIRED: 3, keys.VALIDATION_ITEMS_WITH_NUL: 1}
    assert check_posting(dict(item)) == []


def test_a_clean_payload_is_not_copied_and_literal_escapes_stay() -> None:
    raw = {"description": "path C:\\u0000 and a\\nb", "tags": ["x"]}
    item = posting(raw=raw)
    assert item["raw"] == raw and item["raw"]["description"] == "path C:\\u0000 and a\\nb"
    assert item["stat_counts"] == {}


def test_whole_floats_become_integers() -> None:
    item = posting(budget_min=1500.0, budget_max=2500.5, currency="USD")
    assert (item["budget_min"], type(item["budget_min"]), item["budget_max"]) == (1500, int, 2500.5)


def test_personal_data_is_removed_on_private_client_platforms_only() -> None:
    private = posting("guru", description="Call 010 - 2345 - 6789 or a＠b.co", client="owner@shop.example",
                      raw={"html": "<b>010</b>-9876-5432"})
    assert private["description"] == "Call [phone removed] or [email removed]"
    assert private["client"] is None
    assert private["raw"] == {"html": "<b>[phone removed]"}
    assert private["stat_counts"] == {keys.PII_REMOVED: 3, keys.PII_ITEMS: 1}
    board = posting("remoteok", description="Apply: jobs@company.example", raw={"apply": "jobs@company.example"})
    assert board["description"] == "Apply: jobs@company.example" and board["raw"] == {"apply": "jobs@company.example"}


def test_parser_counters_travel_with_the_item() -> None:
    key = keys.unknown_value("peopleperhour", "location_type", "Remote Planet!")
    assert key == "outsourcing/unknown_values/peopleperhour/location_type/remote_planet_"
    item = posting("peopleperhour", counts={key: 1})
    assert item["stat_counts"] == {key: 1}


# --- validation only checks ---------------------------------------------------------------------


@pytest.fixture
def pipeline() -> ValidationPipeline:
    crawler = get_crawler(settings_dict={"ITEM_PIPELINES": {}})
    crawler.stats.open_spider()
    return ValidationPipeline.from_crawler(crawler)


def run(pipeline: ValidationPipeline, item: Any) -> Any:
    return asyncio.run(pipeline.process_item(item))


def test_the_builders_counts_reach_the_stats(pipeline: ValidationPipeline) -> None:
    item = posting("guru", title="x\x00", description="mail a@b.co", raw={"note": "a@b.co"})
    assert run(pipeline, item) is item
    stats = pipeline.stats.get_stats()
    assert stats[keys.VALIDATION_NUL_STRIPPED] == 1 and stats[keys.VALIDATION_ITEMS_WITH_NUL] == 1
    assert stats[keys.PII_REMOVED] == 2 and stats[keys.PII_ITEMS] == 1
    assert not any(key.startswith("outsourcing/rejected/") for key in stats)


def _unbuilt(**fields: Any) -> PostingItem:
    """A posting put together without the builder (or changed after it)."""
    item = posting(fields.pop("platform", "remoteok"))
    for name, value in fields.items():
        item[name] = value
    return item


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": "NUL\x00"}, "text:title"),
        ({"description": "lone \ud83d"}, "text:description"),
        ({"skills": ["ok", "b\x00d"]}, "text:skills"),
        ({"raw": {"k": "v\x00"}}, "text:raw"),
        ({"raw": {"list": [{"deep": "\udc00"}]}}, "text:raw"),
        ({"platform": "guru", "description": "call 010-2345-6789"}, "pii:description"),
        ({"platform": "guru", "skills": ["me＠mail.example"]}, "pii:skills"),
        ({"platform": "guru", "raw": {"html": "<b>010</b>-9876-5432"}}, "pii:raw"),
        ({"budget_min": 100.0, "budget_max": 200, "currency": "USD"}, "format:budget_min"),
    ],
)
def test_what_was_not_made_safe_is_rejected_not_repaired(pipeline: ValidationPipeline, fields: dict[str, Any],
                                                         reason: str) -> None:
    item = _unbuilt(**fields)
    before = dict(item)
    with pytest.raises(DropItem, match=reason):
        run(pipeline, item)
    assert pipeline.stats.get_value(keys.rejected(reason)) == 1
    assert dict(item) == before  # nothing repaired


def test_an_email_on_a_company_board_is_not_personal_data(pipeline: ValidationPipeline) -> None:
    item = _unbuilt(description="Apply: jobs@company.example", raw={"apply": "jobs@company.example"})
    assert run(pipeline, item) is item
