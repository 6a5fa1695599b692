"""A crawl's outcome and exit status, as the contract defines them.

0 when the crawl finished and every extracted posting was stored or rejected with a reason,
even if some pages failed (those are warnings and stats). Non-zero when postings could not be
stored (they wait in the spill file), when no listing page of the platform could be read or
recognised, or when the crawl did not finish (`finish_reason` other than `finished`).
Scrapy's own `crawl` exits 0 in all of these; the project's commands use this instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outsourcing import stats as keys

EXIT_OK = 0
EXIT_FAILED = 1



def crawl_outcome(stats: Mapping[str, Any], reason: str | None = None) -> tuple[int, list[str]]:
    """(exit code, problems) for a crawl's stats; `reason` overrides stats' finish_reason."""
    problems: list[str] = []
    reason = reason or stats.get("finish_reason")
    if reason != "finished":
        problems.append(f"the crawl did not finish (finish_reason: {reason})")
    spilled = int(stats.get(keys.STORAGE_SPILLED, 0)) + int(
        stats.get(keys.STORAGE_SPILLED_REJECTED, 0)
    )
    if spilled:
        problems.append(f"{spilled} records could not be stored and wait in the spill file")
    item_errors = int(stats.get(keys.ITEM_ERRORS, 0))
    if item_errors:
        problems.append(f"{item_errors} postings failed in the pipelines (neither stored nor rejected)")
    callback_errors = int(stats.get(keys.CALLBACK_ERRORS, 0))
    if callback_errors:
        problems.append(f"{callback_errors} pages failed in the spider's code (the rest of such a page, and "
                        "what it would have led to, was not read)")
    if not int(stats.get(keys.LISTING_OK, 0)):
        problems.append("no listing page of the platform could be read or recognised")
        problems += _why_no_listing(stats)
    return (EXIT_FAILED if problems else EXIT_OK), problems


_LISTING_FAILURES = {
    "unreachable": "the site could not be reached",
    "refused": "the site refused the crawler",
    "error": "the site answered with an error",
    "unrecognised": "the site answered with a page whose structure is not recognised (its layout may have changed)",
}


def _why_no_listing(stats: Mapping[str, Any]) -> list[str]:
    """Why, per kind of failure: "the site could not be reached: CannotResolveHostError: ... (URL)"."""
    return [f"{_LISTING_FAILURES[kind]}: {stats.get(keys.listing_failure_example(kind))}"
            + (f" and {count - 1} more" if (count := int(stats.get(keys.listing_failure(kind), 0))) > 1 else "")
            for kind in keys.LISTING_FAILURE_KINDS if stats.get(keys.listing_failure(kind))]
