"""PeoplePerHour's job listing (`/freelance-jobs?page=N`) to items, from the page's embedded state.

The page ships its React state in an inline script:
`window.PPHReact.initialState={...};window.PPHReact.data=...;` (what follows the state is not
JSON, so the state is decoded as one JSON value from its first brace). In it:
- `freelanceJobs.main.data`: the listing, in page order (`[{"id": "4521929", "type": "projects"}]`),
  and `freelanceJobs.main.meta` (`current-page`, `total-pages`);
- `entities.projects[<id>].attributes`: `url`, `title`, `proj_desc`, `client.public_name`,
  `budget` with `currency`, `project_type` (fixed_price/hourly), `posted_dt`, `proposalCount`,
  `category.cate_name`, `sub_category.subcate_name`, `location_type`, `open`/`item_state`.

CSS class names on the page are generated hashes, so nothing here selects by class.

`posted_dt` ("2026-09-16 18:39:37") has no offset; it is UTC wall-clock time (public crawlers
that compared it with the page's own `serverTime` found it so), read as UTC.

`location_type` says where the work happens, with the values the posting form offers: `remote`
(anywhere) and `remote_country` / `remote_region` (remote, from within a country or region) are
remote; `onsite`, `on_site`, `local`, `in_person`, `office` are not; `hybrid` is partly on site,
so not remote either (as Elancer's 반상주). A value not in that list gives null and is counted
under `outsourcing/unknown_values/peopleperhour/location_type/<value>`, so a new one is noticed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from scrapy.http import TextResponse

from outsourcing import stats as keys
from outsourcing.items import PostingItem, new_posting
from outsourcing.normalize.dates import UTC, iso_utc, parse_instant
from outsourcing.normalize.money import CURRENCY_SYMBOLS, UNKNOWN, Budget, budget_from_amounts, number, parse_money
from outsourcing.normalize.text import clean_line, html_to_text
from outsourcing.normalize.urls import canonical_url
from outsourcing.normalize.values import positive_number, whole_number
from outsourcing.platforms.pages import Listing, PageNotRecognised, looks_like_challenge, read_records

PLATFORM = "peopleperhour"
ORIGIN = "https://www.peopleperhour.com"

_STATE = re.compile(r"window\.PPHReact\.initialState\s*=\s*")
_POSTED_FORMAT = "%Y-%m-%d %H:%M:%S"
_BUDGET_TYPES = {"fixed_price": "fixed", "fixed": "fixed", "hourly": "hourly"}
#: location_type values: remote anywhere or from within a country/region -> True; on site or
#: partly on site -> False. Anything else: null, and counted.
LOCATION_TYPES: dict[str, bool] = {
    "remote": True, "remote_country": True, "remote_region": True, "remote_worldwide": True, "anywhere": True,
    "onsite": False, "on_site": False, "on-site": False, "local": False, "in_person": False, "office": False,
    "hybrid": False,
}
_CLOSED_STATES = frozenset({"closed", "completed", "complete", "cancelled", "expired", "awarded", "hired"})


def parse_listing(response: TextResponse, scraped_at: str) -> Listing:
    """Every project the page lists. Raises PageNotRecognised for a page without the state or
    without `entities.projects`; a state that lists no projects is a genuine empty page."""
    state = load_state(response)
    entities = state.get("entities")
    projects = entities.get("projects") if isinstance(entities, dict) else None
    if not isinstance(projects, dict):
        raise PageNotRecognised("no_projects_entity", "the state has no entities.projects")
    listing = _dig(state, "freelanceJobs", "main")
    refs = listing.get("data") if isinstance(listing, dict) else None
    completed = {str(ref.get("id")) for ref in _dig(state, "freelanceJobs", "completed").get("data") or []
                 if isinstance(ref, dict)}
    if isinstance(refs, list):
        # The listing's own order and members: featured or completed projects elsewhere on the
        # page are entities too, but not this page's postings.
        ids = [str(ref["id"]) for ref in refs if isinstance(ref, dict) and ref.get("id") is not None]
    else:
        ids = list(projects)
    entries = [(project_id, projects[project_id]) for project_id in ids if isinstance(projects.get(project_id), dict)]
    if ids and not entries:
        raise PageNotRecognised("unexpected_structure", f"none of the {len(ids)} listed projects is in entities.projects")
    items, unreadable = read_records(
        PLATFORM, entries, lambda entry: parse_project(entry[0], entry[1], scraped_at, closed=entry[0] in completed),
        id_of=lambda entry: entry[0], raw_of=lambda entry: entry[1])
    meta = _dig(listing, "meta")
    return Listing(items=items, unreadable=unreadable, page=positive_number(meta.get("current-page")), pages=positive_number(meta.get("total-pages")))


def load_state(response: TextResponse) -> dict[str, Any]:
    """The `window.PPHReact.initialState` object of the page's inline scripts."""
    for script in response.xpath("//script[not(@src)]/text()").getall():
        match = _STATE.search(script)
        if not match:
            continue
        try:
            state, _ = json.JSONDecoder().raw_decode(script, match.end())
        except json.JSONDecodeError as error:
            raise PageNotRecognised("invalid_state_json", str(error)[:200]) from None
        if not isinstance(state, dict):
            raise PageNotRecognised("unexpected_structure", f"initialState is a {type(state).__name__}")
        return state
    if looks_like_challenge(response.text):
        raise PageNotRecognised("challenge_page", "a challenge or captcha page instead of the job listing")
    raise PageNotRecognised("no_initial_state", "no script with window.PPHReact.initialState (layout changed?)")


def parse_project(project_id: str, entity: dict[str, Any], scraped_at: str, *, closed: bool = False) -> PostingItem:
    attributes = _dig(entity, "attributes")
    url = attributes.get("url")
    categories = [clean_line(_dig(attributes, "category").get("cate_name")),
                  clean_line(_dig(attributes, "sub_category").get("subcate_name"))]
    remote, counts = location_type(attributes.get("location_type"))
    return new_posting(
        counts=counts,
        platform=PLATFORM,
        external_id=project_id,
        url=canonical_url(url, ORIGIN) if isinstance(url, str) and url.strip() else None,
        title=clean_line(attributes.get("title")),
        description=html_to_text(attributes.get("proj_desc")),
        client=clean_line(_dig(attributes, "client").get("public_name")),
        category=" > ".join(part for part in categories if part) or None,
        skills=[],  # the listing state carries no skill tags
        **project_budget(attributes).fields(),
        duration_days=None,
        location=None,
        remote=remote,
        posted_at=posted_at(attributes.get("posted_dt")),
        deadline_at=None,
        proposals=whole_number(attributes.get("proposalCount")),
        status=project_status(attributes, closed),
        scraped_at=scraped_at,
        raw={"id": project_id, "attributes": attributes},
    )


def location_type(value: Any) -> tuple[bool | None, dict[str, int]]:
    """`remote` from `location_type` (see the module docstring), and the stats counter for a
    value the parser does not know."""
    text = str(value or "").strip().lower()
    if not text:
        return None, {}
    if text in LOCATION_TYPES:
        return LOCATION_TYPES[text], {}
    return None, {keys.unknown_value(PLATFORM, "location_type", text): 1}


def project_budget(attributes: dict[str, Any]) -> Budget:
    """`budget` in `currency` (a code, or a symbol), paying for what `project_type` says. An
    amount without a currency is not an amount we can state: unknown then (kept in raw), with
    the type kept."""
    budget_type = _BUDGET_TYPES.get(str(attributes.get("project_type") or "").strip().lower())
    currency_value = str(attributes.get("currency") or "").strip()
    currency = CURRENCY_SYMBOLS.get(currency_value) or (currency_value.upper() if re.fullmatch(r"[A-Za-z]{3}", currency_value) else None)
    amount = attributes.get("budget")
    if isinstance(amount, str) and number(amount) is None:
        return parse_money(amount, default_currency=currency, default_type=budget_type)
    # 0 is how an unset budget shows; no project pays nothing.
    budget = budget_from_amounts(amount, amount, currency, budget_type, zero_is_unknown=True) if currency else UNKNOWN
    # Without an amount the project still says how it pays (fixed price or hourly).
    return budget if budget.known else Budget(None, None, None, budget_type)


def posted_at(value: Any) -> str | None:
    """`posted_dt`, UTC wall-clock time "%Y-%m-%d %H:%M:%S", as an instant."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return iso_utc(datetime.strptime(value.strip(), _POSTED_FORMAT).replace(tzinfo=UTC))
    except ValueError:
        return parse_instant(value, UTC)


def project_status(attributes: dict[str, Any], closed: bool) -> str:
    if isinstance(attributes.get("open"), bool):
        return "open" if attributes["open"] else "closed"
    state = str(attributes.get("item_state") or "").strip().lower()
    if state in _CLOSED_STATES or closed:
        return "closed"
    return "open"  # the listing shows projects that take proposals


def _dig(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}
