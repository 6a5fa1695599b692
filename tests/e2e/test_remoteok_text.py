"""Text no database can hold, end to end: a real `scrapy crawl remoteok` against the local mirror
writing into a fresh PostgreSQL, with a job whose description holds a lone surrogate escape
("\\ud83d"), a company name with a NUL, and the six characters `C:\\u0000` written as text.

Before, the surrogate made PostgreSQL refuse the row (and the writer die); now the text is made
storable where the posting is built, so the posting is stored and the crawl exits 0.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import fixture_path, query

pytestmark = pytest.mark.e2e


def test_unstorable_text_is_repaired_where_built_and_the_posting_stored(mirror, crawl, database_url) -> None:
    mirror.add_file("/api", fixture_path("remoteok", "api-2026.json"), content_type="application/json")
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-3000:]
    rows = {row["external_id"]: row for row in query(database_url, "SELECT * FROM postings ORDER BY external_id")}
    assert sorted(rows) == ["1120001", "1120002", "1120003"]
    platform = rows["1120003"]
    # The lone surrogate became U+FFFD; the literal `C:\u0000` (six characters) is text, kept.
    assert platform["description"] == (
        "We run Windows agents from C:\\u0000 and C:\\new\\tools.\n\nBuild things \ufffd together.\n\nApply below."
    )
    assert platform["client"] == "Umbrella Systems"  # the NUL is gone
    raw = json.loads(platform["raw"])
    assert raw["company"] == "Umbrella Systems"
    assert "C:\\u0000 and" in raw["description"] and "\ufffd" in raw["description"]
    # The empty slug's posting points at its own page, not the listing.
    assert rows["1120001"]["url"] == "https://remoteok.com/remote-jobs/1120001"
    assert rows["1120002"]["title"] == "Senior Data Engineer, Customer Attribute"
    assert query(database_url, "SELECT count(*) AS n FROM rejected_items")[0]["n"] == 0
    assert result.stat("outsourcing/validation/nul_stripped") == 1
    assert result.stat("outsourcing/text/surrogates_repaired") == 1
    assert result.feed is not None and len(result.feed) == 3
