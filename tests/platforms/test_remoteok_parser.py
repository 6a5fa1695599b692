"""RemoteOK parser: the real capture and our fixture, field by field."""

from __future__ import annotations

import json

import pytest

from outsourcing.pipelines.validation import check_posting
from outsourcing.platforms.pages import PageNotRecognised
from outsourcing.platforms.remoteok import parser
from tests.helpers import SCRAPED_AT, assert_fields, looks_like_mojibake, response_from

API_URL = "https://remoteok.com/api"


def test_real_capture(captures) -> None:
    path = captures / "remoteok" / "api-first-8-jobs.json"
    items = parser.parse_listing(response_from(path, API_URL), SCRAPED_AT).items
    raw = json.loads(path.read_text())
    assert len(items) == len(raw) - 1 == 8
    first = items[0]
    assert_fields(first, {
        "platform": "remoteok",
        "external_id": "1093848",
        "url": "https://remoteok.com/remote-jobs/remote-werkstudent-in-projektmanagement-amp-client-service-applike-group-1093848",
        "title": "Werkstudent in Projektmanagement & Client Service",
        "client": "applike group",
        "skills": ["game", "gaming", "mobile", "marketing", "branding", "non tech"],
        "budget_min": 35000, "budget_max": 70000, "currency": "USD", "budget_type": "yearly",
        "location": "Hamburg", "remote": True, "status": "open",
        "posted_at": "2025-08-18T16:00:30+00:00",
    })
    assert first["description"].startswith("Game Game verwandelt klassisches Marketing")
    # Mojibake in the capture ("Youâ€™ll") is repaired.
    finance = next(item for item in items if item["external_id"] == "1093841")
    assert "You\u2019ll apply your investment banking" in finance["description"]
    assert "\u00e2\u0080" not in finance["description"]
    assert finance["location"] is None  # "" in the API
    for item in items:
        assert check_posting(dict(item)) == [], item["external_id"]


def test_real_capture_has_no_mojibake_or_escapes_left_in_any_job(captures) -> None:
    """Every job of the capture, not one: two of the eight carry hundreds of mojibake characters
    (Cyrillic read as Latin-1, "Â\\xa0" for every non-breaking space) that repair must undo before
    white space and <br> are touched; six carry the two characters backslash-n from the site's own
    HTML, which stand for line breaks."""
    path = captures / "remoteok" / "api-first-8-jobs.json"
    items = parser.parse_listing(response_from(path, API_URL), SCRAPED_AT).items
    assert len(items) == 8
    for item in items:
        for field in ("title", "description", "client", "location", "category"):
            assert not looks_like_mojibake(item[field]), (item["external_id"], field, item[field])
        assert "\\n" not in item["description"], item["external_id"]
    cyrillic = next(item for item in items if item["external_id"] == "1093847")
    assert "Обов" in cyrillic["description"]  # Ð\x9eÐ±Ð¾Ð² in the capture


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><title>Just a moment...</title><div id='cf-chl'></div></html>", "challenge_page"),
        (b"<html><body>Welcome</body></html>", "not_json"),
        (b'[{"legal": "x"}, {"id": "1", "position": "A"', "invalid_json"),
        (b'{"error": "rate limited"}', "not_json"),
        (b'[{"legal": "x"}, {"slug": "no-id"}]', "unexpected_structure"),
    ],
)
def test_unrecognised_pages_raise(body: bytes, reason: str) -> None:
    with pytest.raises(PageNotRecognised) as error:
        parser.parse_listing(response_from(body, API_URL), SCRAPED_AT)
    assert error.value.reason == reason


def test_genuinely_empty_board_is_not_an_error() -> None:
    assert parser.parse_listing(response_from(b'[{"legal": "x", "last_updated": 1}]', API_URL), SCRAPED_AT).items == []
