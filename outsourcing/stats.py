"""Every stats key the project writes, in one place.

Scrapy's stats collector is a flat dict shared by every component of a crawl; keys written by
one component and read by another (the spider writes truncation, the outcome reads listing
pages, `crawlall` reads the storage counts) are a protocol, so they are named here rather than
spelled out where they are used. The values are public too: they appear in the stats dump at the
end of a crawl, in `crawl_runs.stats`, and the README names some of them.

Keys that carry a variable part (a reason, a status code) are built by the functions below.
"""

from __future__ import annotations

PREFIX = "outsourcing/"

# --- outcome (outsourcing/outcome.py decides the exit status from these) ------------------------
ERRORS = PREFIX + "errors"                 # every error of the run: pages, storage, pipelines
EXIT_CODE = PREFIX + "exit_code"           # the crawl's exit status, set when it closes
PROBLEMS = PREFIX + "problems"             # the reasons behind a non-zero exit status
ITEM_ERRORS = PREFIX + "item_errors"       # postings a pipeline failed on (neither stored nor rejected)
CALLBACK_ERRORS = PREFIX + "callback_errors"  # pages whose callback raised (a bug, or input it cannot handle)

# --- pages ---------------------------------------------------------------------------------------
LISTING_TRIED = PREFIX + "listing_pages/requested"
LISTING_OK = PREFIX + "listing_pages/recognised"
LISTING_POSTINGS = PREFIX + "listing_postings"  # postings listed on recognised listing pages
DETAILS_REQUESTED = PREFIX + "detail_pages/requested"


def unrecognised(reason: str) -> str:
    """A page a parser did not recognise, per reason (challenge_page, not_json, ...)."""
    return f"{PREFIX}unrecognised/{reason}"


def request_error(reason: str) -> str:
    """A page that could not be fetched after retries, per reason (http_404, TimeoutError ...)."""
    return f"{PREFIX}request_errors/{reason}"


#: Why listing pages failed, by kind (listing_failure): the site could not be reached (DNS,
#: connection, TLS, time-out), it refused (401/403/407/429/451/503, a challenge or login page,
#: robots.txt), it answered with an error status (404, 500 ...), or with a page whose structure
#: the parser does not recognise (a layout change).
LISTING_FAILURE_KINDS = ("unreachable", "refused", "error", "unrecognised")


def listing_failure(kind: str) -> str:
    """Listing pages that failed, per kind (LISTING_FAILURE_KINDS)."""
    return f"{PREFIX}listing_failures/{kind}"


def listing_failure_example(kind: str) -> str:
    """The first failure of that kind, as "reason (URL)", for the outcome's wording."""
    return f"{PREFIX}listing_failures/{kind}/first"


def detail_restricted(reason: str) -> str:
    """A detail page the platform withholds on purpose (login wall); the listing entry is kept."""
    return f"{PREFIX}detail_restricted/{reason}"


def detail_unrecognised(reason: str) -> str:
    """A detail page not understood; the listing entry is kept, and it counts as an error."""
    return f"{PREFIX}detail_unrecognised/{reason}"


def backoff(status: int) -> str:
    """Answers (429, 503) that paused requests to a host."""
    return f"{PREFIX}backoff/{status}"


# --- a run cut short, and incremental runs ------------------------------------------------------
TRUNCATED_PREFIX = PREFIX + "truncated/"
TRUNCATED_MAX_PAGES = TRUNCATED_PREFIX + "max_pages"
TRUNCATED_MAX_ITEMS = TRUNCATED_PREFIX + "max_items"
WATERMARK_SCOPE = PREFIX + "watermark_scope"
INCREMENTAL_STOPPED_AT_WATERMARK = PREFIX + "incremental/stopped_at_watermark"
INCREMENTAL_STOPPED_AT_PAGE = PREFIX + "incremental/stopped_at_page"
INCREMENTAL_PAGES_NOT_READ = PREFIX + "incremental/pages_not_read"
INCREMENTAL_SKIPPED_STORED = PREFIX + "incremental/skipped_stored"

# --- items ---------------------------------------------------------------------------------------
DUPLICATES = PREFIX + "duplicates"
# Counted where a posting is built (outsourcing.items.new_posting) and added to the stats by the
# validation pipeline. The NUL keys keep the names they had when validation stripped NULs itself:
# dashboards read them.
VALIDATION_NUL_STRIPPED = PREFIX + "validation/nul_stripped"     # NUL characters dropped
VALIDATION_ITEMS_WITH_NUL = PREFIX + "validation/items_with_nul"  # postings that had any
TEXT_SURROGATES_REPAIRED = PREFIX + "text/surrogates_repaired"   # UTF-16 surrogates (lone: U+FFFD)
PII_REMOVED = PREFIX + "pii/removed"    # fields, skills and raw strings that held personal data
PII_ITEMS = PREFIX + "pii/items"        # postings that held any


def unknown_value(platform: str, field: str, value: str) -> str:
    """A value of a platform's own field that the parser has no mapping for (PeoplePerHour's
    `location_type`), so that a new one is noticed in the stats rather than silently null."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value.strip().lower())[:40] or "empty"
    return f"{PREFIX}unknown_values/{platform}/{field}/{cleaned}"
KMONG_CONFIDENTIAL_SKIPPED = PREFIX + "kmong/confidential_skipped"


def rejected(reason: str) -> str:
    """Postings rejected with a reason (validation's missing:title, the database's database:54000)."""
    return f"{PREFIX}rejected/{reason}"


# --- storage -------------------------------------------------------------------------------------
STORAGE_PREFIX = PREFIX + "storage/"
STORAGE_RUN_ID = STORAGE_PREFIX + "run_id"
STORAGE_INSERTED = STORAGE_PREFIX + "inserted"
STORAGE_UPDATED = STORAGE_PREFIX + "updated"
STORAGE_UNCHANGED = STORAGE_PREFIX + "unchanged"
STORAGE_REFUSED = STORAGE_PREFIX + "refused"
STORAGE_ERRORS = STORAGE_PREFIX + "errors"
STORAGE_WRITE_FAILURES = STORAGE_PREFIX + "write_failures"
STORAGE_SPILLED = STORAGE_PREFIX + "spilled"
STORAGE_SPILLED_REJECTED = STORAGE_PREFIX + "spilled_rejected"
STORAGE_LOST = STORAGE_PREFIX + "lost"                      # neither stored, rejected nor spilled
STORAGE_WRITER_STOPPED = STORAGE_PREFIX + "writer_stopped"  # the writer task ended early (a bug)
STORAGE_SPILL_UNREADABLE = STORAGE_PREFIX + "spill_unreadable"  # spill lines kept aside, unread
STORAGE_REPLAYED = STORAGE_PREFIX + "replayed"
STORAGE_TAKEN_BACK = STORAGE_PREFIX + "taken_back"
STORAGE_WATERMARK = STORAGE_PREFIX + "watermark"
STORAGE_CLOSED = STORAGE_PREFIX + "closed"


def storage(name: str) -> str:
    """A storage counter by its short name (inserted, spilled ...), as the store counts them."""
    return STORAGE_PREFIX + name


# --- proxies -------------------------------------------------------------------------------------
PROXY_REQUESTS = PREFIX + "proxy/requests"
PROXY_REFUSED = PREFIX + "proxy/refused"
PROXY_ERRORS = PREFIX + "proxy/errors"
