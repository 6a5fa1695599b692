"""What a run records for later incremental runs, end to end: its scope (the filter arguments)
and whether its listing was complete, in typed crawl_runs columns; the watermark of its scope
moves only after a clean, complete run."""

from __future__ import annotations

import pytest

from tests.conftest import query
from tests.e2e.test_incremental_global import FL_NEWEST_OLD, Listing, hourly, serve_freelancer
from tests.helpers import watermark

pytestmark = pytest.mark.e2e


def test_scope_and_completeness_are_recorded_and_only_complete_runs_move_the_watermark(
        mirror, crawl, database_url) -> None:
    listing = Listing(per_page=2, postings=hourly(55000000, 5, FL_NEWEST_OLD))
    serve_freelancer(mirror, listing)

    def last_run() -> tuple[str, bool, int]:
        row = query(database_url, "SELECT watermark_scope, listing_complete, exit_code FROM crawl_runs "
                                  "ORDER BY id DESC LIMIT 1")[0]
        return row["watermark_scope"], row["listing_complete"], row["exit_code"]

    # Cut short by max_pages: clean (exit 0) but not complete; no watermark.
    cut = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "2", "max_pages": "1"})
    assert cut.returncode == 0, cut.log[-3000:]
    assert last_run() == ("", False, 0)
    assert watermark(database_url, "freelancer") is None
    assert "freelancer: watermark not advanced: the run stopped at max_pages before reaching it" in cut.log

    # A filtered run has a scope and a watermark of its own; the unfiltered one stays unset.
    filtered = crawl("freelancer", base_url=mirror.url, database_url=database_url,
                     args={"page_size": "2", "query": "python", "_job": "scrapyd-job-1"})
    assert filtered.returncode == 0, filtered.log[-3000:]
    assert last_run() == ("query=python", True, 0)
    assert watermark(database_url, "freelancer", "query=python") == FL_NEWEST_OLD
    assert watermark(database_url, "freelancer") is None

    # A complete unfiltered run sets the unfiltered watermark.
    full = crawl("freelancer", base_url=mirror.url, database_url=database_url, args={"page_size": "2"})
    assert full.returncode == 0, full.log[-3000:]
    assert last_run() == ("", True, 0)
    assert watermark(database_url, "freelancer") == FL_NEWEST_OLD
