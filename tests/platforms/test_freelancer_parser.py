"""Freelancer.com parser: the real API capture and our own fixture, field by field."""

from __future__ import annotations

import json

import pytest

from outsourcing.pipelines.validation import check_posting
from outsourcing.platforms.freelancer import parser
from outsourcing.platforms.freelancer.spider import projects_path
from outsourcing.platforms.pages import PageNotRecognised
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, assert_contract_shape, assert_fields, response_from

API_URL = ("https://www.freelancer.com/api/projects/0.1/projects/active/?full_description=true&job_details=true"
           "&user_details=true&limit=100&offset=0&sort_field=time_submitted")


def parse(body: bytes) -> parser.Listing:
    return parser.parse_listing(response_from(body, API_URL), SCRAPED_AT)


def test_real_capture_field_by_field(captures) -> None:
    path = captures / "freelancer" / "projects-active-3.json"
    page = parser.parse_listing(response_from(path, API_URL), SCRAPED_AT)
    assert (page.total, page.listed, len(page.items)) == (3, 3, 3)
    usd, inr, gbp = page.items
    assert_fields(usd, {
        "platform": "freelancer",
        "external_id": "31556945",
        "url": "https://www.freelancer.com/projects/magento/Magento-Infinite-Scroll-Category-pages",
        "title": "Magento 2 Infinite Scroll on Category pages",
        "description": "Magento 2 Infinite Scroll on Category pages",
        "client": "monetise",  # display_name of result.users["1411374"]
        "category": "Websites, IT & Software",
        "skills": ["PHP", "JavaScript", "Magento", "HTML"],
        "budget_min": 250, "budget_max": 750, "currency": "USD", "budget_type": "fixed",
        "duration_days": None,  # bidperiod 7 is the bidding window, not the work's length
        "location": None,  # location {"country": {}}
        "remote": None,  # local: false says nothing about remote work
        "posted_at": "2021-09-20T08:48:08+00:00",  # time_submitted 1632127688
        "deadline_at": "2021-09-27T08:48:08+00:00",  # + bidperiod 7 days
        "proposals": 35,
        "status": "open",
        "scraped_at": SCRAPED_AT,
    })
    assert_fields(inr, {
        "external_id": "31555987",
        "url": "https://www.freelancer.com/projects/javascript/Dynamic-Game-Development",
        "title": "Dynamic Game Development",
        "client": "MuktaSadana",
        "category": "Websites, IT & Software",  # the first job's (JavaScript), not CSS's "Design, Media & Architecture"
        "skills": ["JavaScript", "CSS", "HTML5", "Game Development", "AngularJS"],
        # In rupees, as the project states them: never converted with exchange_rate.
        "budget_min": 37500, "budget_max": 75000, "currency": "INR", "budget_type": "fixed",
        "duration_days": None,
        "posted_at": "2021-09-20T08:47:17+00:00",
        "deadline_at": "2021-09-27T08:47:17+00:00",
        "proposals": 4,
        "status": "open",
    })
    assert inr["description"].startswith("We are looking for an expert web-based game developer to develop the front-end of our game.\n\nTechnology preference: AngularJS")
    assert inr["description"].endswith("configurable colors, images, etc.")
    assert inr["description"].count("\n\n") == 3  # four paragraphs kept
    assert_fields(gbp, {
        "external_id": "31556918",
        "url": "https://www.freelancer.com/projects/php/Radio-Meteor-Detection",
        "title": "Radio Meteor Detection",  # trailing space trimmed
        "client": "Jberman44",
        "category": "Websites, IT & Software",
        "skills": ["PHP", "JavaScript", "MySQL", "Web Hosting"],
        "budget_min": 10, "budget_max": 15, "currency": "GBP", "budget_type": "hourly",
        # hourly_project_info: 40 hours a week, duration_enum "unspecified": no length in days.
        "duration_days": None,
        "posted_at": "2021-09-20T08:44:10+00:00",
        "deadline_at": "2021-09-27T08:44:10+00:00",
        "proposals": 16,
        "status": "open",
    })
    assert "https://radiometeordetection.org/welcome" in gbp["description"]  # a web address is not personal data
    assert gbp["raw"]["hourly_project_info"] == {"commitment": {"hours": 40, "interval": "week"}, "duration_enum": "unspecified"}
    for item in page.items:
        assert_contract_shape(item)
        assert check_posting(dict(item)) == [], item["external_id"]
        # raw is the project object, without the owner's user record.
        assert item["raw"]["id"] == int(item["external_id"]) and "users" not in item["raw"]
    assert json.dumps(usd["raw"]).count("reputation") == 0


def test_personal_data_is_removed_from_text_and_raw() -> None:
    page = parser.parse_listing(response_from(fixture_path("freelancer", "projects-page.json"), API_URL), SCRAPED_AT)
    first, _, third, _ = page.items
    dumped = json.dumps(first["raw"])
    assert "jane.doe@example.com" not in dumped and "7946" not in dumped
    assert "[email removed]" in first["raw"]["description"]
    # An e-mail address as display name is never the client: the username is used instead.
    assert third["client"] == "bob_builds"


def test_empty_projects_list_is_a_genuine_empty_result() -> None:
    page = parse(b'{"status": "success", "result": {"projects": [], "total_count": 0, "users": {}}, "request_id": "x"}')
    assert page == parser.Listing(total=0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"status": "error", "message": "You must be logged in", "error_code": "AUTH_UNAUTHORIZED", "request_id": "r"}',
         "api_error"),
        (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body class='cf-chl'></body></html>",
         "challenge_page"),
        (b"<html><body><h1>Freelancer</h1></body></html>", "not_json"),
        (b'{"status": "success", "result": {"projects": [', "invalid_json"),
        (b'{"status": "success", "result": {"total_count": 3}}', "unexpected_structure"),
        (b'{"status": "success", "result": {"projects": [{"seo_url": "x"}]}}', "unexpected_structure"),
        (b'["not", "an", "object"]', "not_json"),
        (b'{"status": "pending"}', "unexpected_structure"),
    ],
)
def test_unrecognised_answers_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parse(body)
    assert error.value.reason == reason


def test_api_error_names_the_error_code() -> None:
    with pytest.raises(PageNotRecognised) as error:
        parse(b'{"status": "error", "message": "Invalid offset", "error_code": "PROJECT_INVALID_OFFSET"}')
    assert "PROJECT_INVALID_OFFSET" in str(error.value) and "Invalid offset" in str(error.value)


def test_request_parameters() -> None:
    assert projects_path(0) == (
        "/api/projects/0.1/projects/active/?full_description=true&job_details=true&user_details=true"
        "&limit=100&offset=0&sort_field=time_submitted"
    )
    assert projects_path(200, limit=50, from_time=1790000000, query="web scraping") == (
        "/api/projects/0.1/projects/active/?full_description=true&job_details=true&user_details=true"
        "&limit=50&offset=200&sort_field=time_submitted&from_time=1790000000&query=web+scraping"
    )


def test_a_project_the_parser_cannot_read_is_set_aside_and_the_rest_is_read() -> None:
    """pages.read_records: one project whose `jobs` is a number (a list was due) makes the
    parser's code raise; it becomes an UnreadablePosting (its id, the error and where, its
    record without personal data) and the other projects of the page are still read."""
    data = json.loads(fixture_path("freelancer", "projects-page.json").read_text(encoding="utf-8"))
    projects = data["result"]["projects"]
    assert len(projects) >= 2
    projects[0]["jobs"] = 3
    projects[0]["description"] = "call me on 010-1234-5678 or mail kim@example.com"
    page = parse(json.dumps(data).encode())
    [unreadable] = page.unreadable
    assert unreadable.platform == "freelancer" and unreadable.external_id == str(projects[0]["id"])
    assert unreadable.error.startswith("TypeError: ") and "(freelancer/parser.py:" in unreadable.error
    assert unreadable.raw["jobs"] == 3
    assert "010-1234-5678" not in json.dumps(unreadable.raw) and "kim@example.com" not in json.dumps(unreadable.raw)
    assert [item["external_id"] for item in page.items] == [str(project["id"]) for project in projects[1:]]
    assert page.listed == len(projects)


def test_a_page_of_which_no_project_can_be_read_is_not_recognised() -> None:
    """Every record failing is a layout change, not odd postings: the page is not recognised
    (an error of the page), rather than a page of rejected postings."""
    data = json.loads(fixture_path("freelancer", "projects-page.json").read_text(encoding="utf-8"))
    for project in data["result"]["projects"]:
        project["jobs"] = 3
    with pytest.raises(PageNotRecognised) as error:
        parse(json.dumps(data).encode())
    assert error.value.reason == "unreadable_records"
    assert f"none of the {len(data['result']['projects'])} postings could be read: TypeError" in error.value.detail
