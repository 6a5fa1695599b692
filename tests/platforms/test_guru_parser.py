"""Guru parser: our listing fixtures (built to the structure in platforms.md 2.8), field by field,
and pages it must not mistake for an empty listing."""

from __future__ import annotations

import pytest

from outsourcing.platforms.guru import parser
from outsourcing.platforms.pages import PageNotRecognised
from tests.conftest import fixture_path
from tests.helpers import SCRAPED_AT, response_from

PAGE_1 = "https://www.guru.com/d/jobs/"
PAGE_2 = "https://www.guru.com/d/jobs/pg/2/"


def listing(name: str, url: str) -> parser.Listing:
    return parser.parse_listing(response_from(fixture_path("guru", name), url, kind="html"), SCRAPED_AT)


def test_raw_keeps_the_card_without_personal_data() -> None:
    page = listing("jobs-page-1.html", PAGE_1)
    first, _, third = page.items
    assert first["raw"]["data_gid"] == "2119835"
    assert first["raw"]["budget"] == "Fixed Price | $500-$1k"
    assert first["raw"]["href"].endswith("&SearchUrl=search.aspx%3fpg%3d1")  # as the page had it
    assert first["raw"]["rating"] == "4.9"
    assert 'data-gid="2119835"' in first["raw"]["html"]
    assert third["raw"]["data_gid"] is None  # id taken from the URL
    assert "owner@tea-shop.example" not in third["raw"]["html"] and "7946" not in third["raw"]["html"]


def test_next_page_link_is_followed_from_the_page_number_in_the_url() -> None:
    # On a mirror the response URL names the mirror: the next link resolves against it.
    response = response_from(fixture_path("guru", "jobs-page-1.html"), "http://127.0.0.1:8080/d/jobs/", kind="html")
    assert parser.parse_listing(response, SCRAPED_AT).next_url == "http://127.0.0.1:8080/d/jobs/pg/2/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Posted 27 mins ago", "2026-10-02T04:00:00+00:00"),  # 01:33 in New York: that day's 00:00
        ("Posted 5 hrs ago", "2026-10-01T04:00:00+00:00"),  # 21:00 the day before in New York
        ("Posted on Feb 22, 2026", "2026-02-22T05:00:00+00:00"),  # EST, UTC-5
        ("Posted on Jul 4, 2026", "2026-07-04T04:00:00+00:00"),  # EDT, UTC-4
        ("Posted yesterday", "2026-10-01T04:00:00+00:00"),
        ("Expires in 5 days", "2026-10-07T04:00:00+00:00"),
        (None, None),
        ("", None),
    ],
)
def test_guru_times(text: str | None, expected: str | None) -> None:
    assert parser.guru_time(text, SCRAPED_AT) == expected


@pytest.mark.parametrize(
    ("meta", "expected"),
    [("Posted 2 hrs ago | 5 Quotes Received", 5), ("Posted 2 hrs ago | 1 Quote Received", 1),
     ("Posted 2 hrs ago | No Quotes Received", 0), ("Posted 2 hrs ago | 1,204 Quotes Received", 1204),
     ("Posted 2 hrs ago", None)],
)
def test_proposals(meta: str, expected: int | None) -> None:
    assert parser.proposals(meta) == expected


def test_detail_url_drops_the_search_tail() -> None:
    assert parser.detail_url("/jobs/a-b/123&SearchUrl=search.aspx%3fpg%3d3") == "https://www.guru.com/jobs/a-b/123"
    assert parser.detail_url("https://WWW.GURU.COM/jobs/a-b/123") == "https://www.guru.com/jobs/a-b/123"


def test_layout_changed_page_is_not_an_empty_listing() -> None:
    with pytest.raises(PageNotRecognised) as error:
        listing("jobs-layout-changed.html", PAGE_1)
    assert error.value.reason == "no_job_cards"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><head><title>Just a moment...</title></head><body><div id='cf-chl-widget'></div></body></html>",
         "challenge_page"),
        (b"<html><body><p>Service unavailable</p></body></html>", "no_job_cards"),
        (b'<div class="record jobRecord" data-gid="1"><h2 class="jobRecord__title">No link</h2></div>',
         "unexpected_structure"),
    ],
)
def test_unrecognised_pages_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response_from(body, PAGE_1, kind="html"), SCRAPED_AT)
    assert error.value.reason == reason


def test_todays_cards_chips_are_category_subcategory_and_skills() -> None:
    """A 2026 card's chip list holds the category (/d/jobs/c/...) and subcategory (/sc/...) chips
    before the skills: they are the category, most general first, and never skills."""
    first, logo, translation, bookkeeping = listing("jobs-chips.html", PAGE_1).items
    assert (first["category"], first["skills"]) == ("Programming & Development > Programming & Software", ["Python", "Django"])
    assert (logo["category"], logo["skills"]) == ("Design & Art > Logo Design & Branding", [])  # chips only
    # A skill named like the subcategory links to /skill/: it stays a skill.
    assert bookkeeping["skills"] == ["Xero", "Bookkeeping"]
    # "Fixed Price or Hourly" states no pay basis; an amount beside it is still read.
    assert (translation["budget_type"], translation["budget_min"], translation["budget_max"]) == (None, None, None)
    assert (bookkeeping["budget_type"], bookkeeping["budget_max"], bookkeeping["currency"]) == (None, 250, "USD")


def test_contact_data_split_by_markup_leaves_neither_text_nor_raw() -> None:
    translation = listing("jobs-chips.html", PAGE_1).items[2]
    assert translation["description"].endswith("Call [phone removed] or write to [email removed].")
    html = translation["raw"]["html"]
    assert "9876" not in html and "lumen.owner" not in html and "[phone removed]" in html
    assert translation["stat_counts"] == {"outsourcing/pii/removed": 2, "outsourcing/pii/items": 1}
