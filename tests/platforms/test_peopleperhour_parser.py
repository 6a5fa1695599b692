"""PeoplePerHour parser: our listing fixtures (the embedded `window.PPHReact.initialState` JSON, built
to the structure in platforms.md 2.9), field by field, and pages whose layout changed."""

from __future__ import annotations

import json

import pytest

from outsourcing.normalize.money import Budget
from outsourcing.platforms.pages import PageNotRecognised
from outsourcing.platforms.peopleperhour import parser
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, assert_fields, response_from

PAGE_1 = "https://www.peopleperhour.com/freelance-jobs"
PAGE_2 = "https://www.peopleperhour.com/freelance-jobs?page=2"


def listing(name: str, url: str = PAGE_1) -> parser.Listing:
    return parser.parse_listing(response_from(fixture_path("peopleperhour", name), url, kind="html"), SCRAPED_AT)


def page_with_state(state: object) -> bytes:
    script = f"window.PPHReact={{}};window.PPHReact.initialState={json.dumps(state)};window.PPHReact.data={{a:function(){{}}}};"
    return f"<html><body><div id='app'></div><script>{script}</script></body></html>".encode()


def test_only_the_main_listing_in_its_order() -> None:
    # The featured project 4521800 is an entity of the page but not one of its listed postings.
    assert [item["external_id"] for item in listing("freelance-jobs-page-1.html").items] == ["4521929", "4521928", "4521927"]


def test_raw_is_the_entity_without_personal_data() -> None:
    first, _, third = listing("freelance-jobs-page-1.html").items
    assert first["raw"]["id"] == "4521929"
    assert first["raw"]["attributes"]["posted_dt"] == "2026-09-16 18:39:37"
    assert first["raw"]["attributes"]["client"]["public_name"] == "Sarah K."
    dumped = json.dumps(first["raw"]) + json.dumps(third["raw"])
    assert "sarah.k@example.co.uk" not in dumped and "900123" not in dumped


def test_state_without_listing_order_uses_every_project() -> None:
    state = {"entities": {"projects": {"7": {"id": "7", "attributes": {
        "title": "Seven", "url": "https://www.peopleperhour.com/freelance-jobs/x/y/seven-7",
        "budget": 90, "currency": "GBP", "project_type": "hourly", "posted_dt": "2026-01-31 23:30:00"}}}}}
    page = parser.parse_listing(response_from(page_with_state(state), PAGE_1, kind="html"), SCRAPED_AT)
    assert page.pages is None
    assert_fields(page.items[0], {"external_id": "7", "title": "Seven", "budget_min": 90, "budget_max": 90,
                                  "currency": "GBP", "budget_type": "hourly", "posted_at": "2026-01-31T23:30:00+00:00",
                                  "status": "open"})


def test_a_state_listing_no_projects_is_a_genuine_empty_page() -> None:
    state = {"freelanceJobs": {"main": {"data": [], "meta": {"current-page": 9, "total-pages": 8}}}, "entities": {"projects": {}}}
    page = parser.parse_listing(response_from(page_with_state(state), PAGE_1, kind="html"), SCRAPED_AT)
    assert page == parser.Listing(page=9, pages=8)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"budget": 250, "currency": "GBP", "project_type": "fixed_price"}, Budget(250, 250, "GBP", "fixed")),
        ({"budget": 35.5, "currency": "usd", "project_type": "hourly"}, Budget(35.5, 35.5, "USD", "hourly")),
        ({"budget": "1,200", "currency": "\u00a3", "project_type": "fixed_price"}, Budget(1200, 1200, "GBP", "fixed")),
        ({"budget": "\u00a3300-\u00a3500", "currency": "GBP", "project_type": "fixed_price"}, Budget(300, 500, "GBP", "fixed")),
        ({"budget": 0, "currency": "GBP", "project_type": "fixed_price"}, Budget(None, None, None, "fixed")),
        ({"budget": 400, "project_type": "fixed_price"}, Budget(None, None, None, "fixed")),  # no currency
        ({}, Budget()),
    ],
)
def test_budgets(attributes: dict, expected: Budget) -> None:
    assert parser.project_budget(attributes) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [("freelance-jobs-layout-changed.html", "no_initial_state"), ("freelance-jobs-no-projects.html", "no_projects_entity")],
)
def test_layout_changed_pages_raise(name: str, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        listing(name)
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><head><title>Just a moment...</title></head><body><div class='cf-chl'></div></body></html>", "challenge_page"),
        (b"<html><body><script>window.PPHReact.initialState={\"entities\": {\"projects\": {</script></body></html>",
         "invalid_state_json"),
        (b"<html><body><script>window.PPHReact.initialState=[1, 2];</script></body></html>", "unexpected_structure"),
        (page_with_state({"freelanceJobs": {"main": {"data": [{"id": "1"}]}}, "entities": {"projects": {"2": {}}}}),
         "unexpected_structure"),
    ],
)
def test_unrecognised_pages_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response_from(body, PAGE_1, kind="html"), SCRAPED_AT)
    assert error.value.reason == reason


def test_every_location_type_maps_and_an_unknown_one_is_counted() -> None:
    items = listing("freelance-jobs-locations.html").items
    assert [(item["raw"]["attributes"]["location_type"], item["remote"]) for item in items] == [
        ("remote", True), ("remote_country", True), ("onsite", False), ("local", False), ("hybrid", False),
        ("remote_galaxy", None), ("", None)]
    unknown = items[5]["stat_counts"]
    assert unknown["outsourcing/unknown_values/peopleperhour/location_type/remote_galaxy"] == 1
    assert all(not any(key.startswith("outsourcing/unknown_values/") for key in item["stat_counts"])
               for item in items[:5] + items[6:])
    assert items[5]["description"] == "Call me on [phone removed] or [phone removed], or mail [email removed]"
