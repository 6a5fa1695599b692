"""Every platform parser on its recorded cases, field by field.

The cases are data: outsourcing/mirror/pages/<platform>/cases.json says which responses make a case and how
(see tests/helpers.py), <case>.expected.json what must come out. Each expected value is its own
test, so a failure names the platform, the case, the posting and the field:
`test_field[guru/jobs-page-1#2:category]`. Platform-specific rules (pages to refuse, helper tables,
the real captures) stay in the per-platform test files.
"""

from __future__ import annotations

from typing import Any

import pytest

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.pipelines.validation import check_posting
from tests.helpers import SCRAPED_AT, case_expected, case_names, run_case

CASES = case_names()


def _fields() -> list[Any]:
    params = []
    for platform, name in CASES:
        for index, item in enumerate(case_expected(platform, name)["items"]):
            for field, value in item.items():
                if field == "raw":
                    for key, raw_value in value.items():
                        params.append(pytest.param(platform, name, index, f"raw.{key}", raw_value,
                                                   id=f"{platform}/{name}#{index}:raw.{key}"))
                else:
                    params.append(pytest.param(platform, name, index, field, value,
                                               id=f"{platform}/{name}#{index}:{field}"))
    return params


def _listing_facts() -> list[Any]:
    params = []
    for platform, name in CASES:
        for index, facts in enumerate(case_expected(platform, name).get("listings", [])):
            for attribute, value in facts.items():
                params.append(pytest.param(platform, name, index, attribute, value,
                                           id=f"{platform}/{name}@{index}:{attribute}"))
    return params


def _items() -> list[Any]:
    return [pytest.param(platform, name, index, id=f"{platform}/{name}#{index}")
            for platform, name in CASES
            for index in range(len(case_expected(platform, name)["items"]))]


def test_every_case_has_its_expectations() -> None:
    assert {platform for platform, _ in CASES} == {
        "wishket", "freemoa", "kmong", "elancer", "freelancer", "guru", "peopleperhour", "remoteok", "weworkremotely"}


@pytest.mark.parametrize(("platform", "name"), [pytest.param(*case, id="/".join(case)) for case in CASES])
def test_postings_and_entries_accounted_for(platform: str, name: str) -> None:
    """As many postings as expected, in the same order, and the entries that gave none (private
    or unrecognised detail answers) are the expected ones."""
    result = run_case(platform, name)
    expected = case_expected(platform, name)
    assert [item["external_id"] for item in result.items] == [want["external_id"] for want in expected["items"]]
    assert result.skipped == expected.get("skipped", [])
    assert result.unrecognised == expected.get("unrecognised", {})
    assert len(result.listings) == len(expected.get("listings", result.listings))


@pytest.mark.parametrize(("platform", "name", "index", "field", "value"), _fields())
def test_field(platform: str, name: str, index: int, field: str, value: Any) -> None:
    items = run_case(platform, name).items
    assert index < len(items), f"posting #{index} missing"
    item = items[index]
    if field.startswith("raw."):
        got = (item["raw"] or {}).get(field[4:])
    else:
        got = item[field]
    assert got == value


@pytest.mark.parametrize(("platform", "name", "index"), _items())
def test_posting_keeps_the_contract(platform: str, name: str, index: int) -> None:
    """Every contract field is present (feeds have fixed columns) and the posting passes
    validation as built."""
    item = run_case(platform, name).items[index]
    assert [field for field in CONTRACT_FIELDS if field not in item] == []
    assert item["scraped_at"] == SCRAPED_AT
    assert check_posting(dict(item)) == []


@pytest.mark.parametrize(("platform", "name", "index", "attribute", "value"), _listing_facts())
def test_listing(platform: str, name: str, index: int, attribute: str, value: Any) -> None:
    assert getattr(run_case(platform, name).listings[index], attribute) == value
