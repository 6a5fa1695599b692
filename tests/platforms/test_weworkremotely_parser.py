"""We Work Remotely parser: the real capture and our fixture, field by field."""

from __future__ import annotations

import pytest

from outsourcing.pipelines.validation import check_posting
from outsourcing.platforms.pages import PageNotRecognised
from outsourcing.platforms.weworkremotely import parser
from tests.helpers import SCRAPED_AT, assert_fields, response_from

FEED_URL = "https://weworkremotely.com/remote-jobs.rss"


def test_real_capture(captures) -> None:
    url = "https://weworkremotely.com/categories/remote-programming-jobs.rss"
    items = parser.parse_listing(response_from(captures / "weworkremotely" / "remote-programming-jobs.rss", url, kind="xml"), SCRAPED_AT).items
    assert len(items) == 25
    assert_fields(items[0], {
        "external_id": "madeo-web-developer-drupal-or-wordpress",
        "url": "https://weworkremotely.com/remote-jobs/madeo-web-developer-drupal-or-wordpress",
        "title": "Web Developer (Drupal or Wordpress)",
        "client": "Madeo",
        "category": "Full-Stack Programming",
        "location": "USA Only",
        "posted_at": "2022-10-13T18:10:18+00:00",
        "deadline_at": None,  # this feed has no expires_at
        "remote": True,
        "status": "open",
    })
    assert items[0]["description"].startswith("Headquarters: Brooklyn, NY\nURL: https://madeostudio.com/")
    assert "<" not in items[0]["description"]
    assert len({item["external_id"] for item in items}) == 25
    for item in items:
        assert check_posting(dict(item)) == [], item["external_id"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body class='challenge-platform'></body></html>", "challenge_page"),
        (b"<html><body><h1>Sign in</h1></body></html>", "html_not_rss"),
        (b"<?xml version='1.0'?><rss><channel><item><title>x", "invalid_xml"),
        (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'></feed>", "not_rss"),
    ],
)
def test_unrecognised_feeds_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response_from(body, FEED_URL, kind="xml"), SCRAPED_AT)
    assert error.value.reason == reason


def test_empty_channel_is_a_genuine_empty_feed() -> None:
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
    assert parser.parse_listing(response_from(body, FEED_URL, kind="xml"), SCRAPED_AT).items == []
