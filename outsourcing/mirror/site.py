"""The recorded site: the project's own recorded pages of all nine platforms, served by a `Mirror`
at the platforms' real paths, so that every spider can run a real crawl with no network.

    with Mirror() as mirror:
        serve_recorded_site(mirror)
        # scrapy crawlall wishket freemoa ... -a base_url=<mirror.url>

The pages live in `outsourcing/mirror/pages/<platform>/` inside the package (the scrapyd egg and a
wheel carry them too) and are read with importlib.resources, so this works from a zip. The parser
tests read the same files, with what each must parse to beside it (`*.expected.json`): there is
one copy. Some pages are on purpose what a crawler meets in real life (a login wall, a partner-only
detail, a project page without structured data); a crawl of this site shows how each is reported.

`python -m outsourcing.mirror` serves this site on a port; `scrapy demo` crawls it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from fnmatch import fnmatch
from importlib import resources
from importlib.resources.abc import Traversable

from outsourcing.mirror.server import Mirror, MirrorRequest, Reply
from outsourcing.platforms.freelancer.spider import API_PATH as FREELANCER_API_PATH
from outsourcing.platforms.freemoa import parser as freemoa
from outsourcing.platforms.kmong import parser as kmong
from outsourcing.platforms.peopleperhour.spider import (
    listing_path as peopleperhour_listing_path,
)
from outsourcing.platforms.wishket import parser as wishket

HTML = "text/html; charset=utf-8"
JSON = "application/json"
XML = "application/xml"
RSS = "application/rss+xml; charset=utf-8"
#: Freemoa's PHP backend sends its JSON as text/html.
PHP_JSON = "text/html; charset=UTF-8"


def pages_dir(platform: str) -> Traversable:
    return resources.files("outsourcing.mirror").joinpath("pages", platform)


def page(platform: str, name: str) -> bytes:
    """One recorded file's bytes."""
    return pages_dir(platform).joinpath(name).read_bytes()


def pages(platform: str, pattern: str) -> dict[str, bytes]:
    """The platform's recorded files whose names match `pattern` (fnmatch), by name."""
    return {entry.name: entry.read_bytes() for entry in sorted(pages_dir(platform).iterdir(), key=lambda e: e.name)
            if entry.is_file() and fnmatch(entry.name, pattern)}


# --- one function per platform: its routes --------------------------------------------------------


def serve_remoteok(mirror: Mirror) -> None:
    mirror.add("/api", page("remoteok", "api.json"), content_type=JSON)


def serve_weworkremotely(mirror: Mirror) -> None:
    mirror.add("/remote-jobs.rss", page("weworkremotely", "remote-jobs.rss"), content_type=RSS)


def serve_wishket(mirror: Mirror) -> None:
    """The list endpoint answers the XHR call with `{"result": cards HTML, "count": N}` for the
    page inside its LZString filter (any filter: the recorded cards are all there is); then
    each card's detail page."""
    card_pages = {int(name.removeprefix("list-page-").removesuffix(".cards.html")): body.decode("utf-8")
                  for name, body in pages("wishket", "list-page-*.cards.html").items()}
    project_ids = [found for number in sorted(card_pages)
                   for found in re.findall(r'href="/project/(\d+)/"', card_pages[number])]

    def listing(request: MirrorRequest) -> Reply:
        if request.headers.get("X-Requested-With") != "XMLHttpRequest":
            # Without the XHR header the site sends its full page, not the JSON fragment.
            return Reply(body=b"<!DOCTYPE html><html><body><div class='project-list-view'></div></body></html>")
        number = int(wishket.decode_filter(request.query.get("d", [""])[0]).get("page", "1"))
        body = {"result": card_pages.get(number, ""), "count": len(project_ids)}
        return Reply(body=json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type=JSON)

    mirror.add("/project/", listing)
    details = {"201001": "detail-201001.html", "201002": "detail-201002.html",
               "201003": "detail-201003-private.html", "201004": "detail-201004-unrecognised.html"}
    for project_id in project_ids:
        # A card without a recorded detail page gets the login wall logged-out visitors see.
        mirror.add(f"/project/{project_id}/", page("wishket", details.get(project_id, "detail-201003-locked.html")),
                   content_type=HTML)


def serve_freemoa(mirror: Mirror) -> None:
    """The board page sets the session cookie; the form-POST API lists the recorded rows and
    answers each detail call (a login-only and a partner-only one among them)."""
    mirror.add(freemoa.SESSION_PATH, Reply(body=b"<html><body><div id='projectListNew'></div></body></html>",
                                           headers={"Set-Cookie": "PHPSESSID=recorded-site; Path=/; HttpOnly"}))
    mirror.add(freemoa.LIST_PATH, page("freemoa", "list-page-1.json"), method="POST", content_type=PHP_JSON)
    details = {"60001": "detail-60001.json", "60002": "detail-login.json",
               "60003": "detail-60003.json", "60004": "detail-restricted.json"}
    refused = json.dumps({"ERROR": {"NO": -1, "MSG": "존재하지 않는 프로젝트입니다."}, "DATA": {}}, ensure_ascii=False)

    def detail(request: MirrorRequest) -> Reply:
        name = details.get(request.form.get("pno", [""])[0])
        body = page("freemoa", name) if name else refused.encode("utf-8")
        return Reply(body=body, content_type=PHP_JSON)

    mirror.add(freemoa.DETAIL_PATH, detail, method="POST")


def serve_kmong(mirror: Mirror) -> None:
    """The list API at its exact paths and queries (both project types), every request's detail,
    and the public board page (any query) that `-a browser=1` loads in Chromium."""
    for name, body in pages("kmong", "list-*-page-*.json").items():
        kind, _, number = name.removeprefix("list-").removesuffix(".json").rpartition("-page-")
        mirror.add(kmong.list_path(int(number), kind.upper()), body, content_type=JSON)
    for name, body in pages("kmong", "detail-*.json").items():
        mirror.add(kmong.detail_path(name.removeprefix("detail-").removesuffix(".json")), body, content_type=JSON)
    mirror.add(kmong.BOARD_PATH, page("kmong", "board.html"), content_type=HTML)


def serve_elancer(mirror: Mirror) -> None:
    for name, body in pages("elancer", "sitemap*.xml").items():
        mirror.add(f"/{name}", body, content_type=XML)
    for name, body in pages("elancer", "project_detail-*.html").items():
        mirror.add(f"/project_detail/{name.removeprefix('project_detail-').removesuffix('.html')}", body,
                   content_type=HTML)


def serve_freelancer(mirror: Mirror) -> None:
    # One page of the API holds every recorded project (total_count says so): any query gets it.
    mirror.add(FREELANCER_API_PATH, page("freelancer", "projects-page.json"), content_type=JSON)


def serve_guru(mirror: Mirror) -> None:
    mirror.add("/d/jobs/", page("guru", "jobs-page-1.html"), content_type=HTML)
    mirror.add("/d/jobs/pg/2/", page("guru", "jobs-page-2.html"), content_type=HTML)


def serve_peopleperhour(mirror: Mirror) -> None:
    for number in (1, 2):
        mirror.add(peopleperhour_listing_path(number), page("peopleperhour", f"freelance-jobs-page-{number}.html"),
                   content_type=HTML)


#: Every platform of the project and the function that puts its recorded pages on a mirror.
SITES: dict[str, Callable[[Mirror], None]] = {
    "wishket": serve_wishket,
    "freemoa": serve_freemoa,
    "kmong": serve_kmong,
    "elancer": serve_elancer,
    "freelancer": serve_freelancer,
    "guru": serve_guru,
    "peopleperhour": serve_peopleperhour,
    "remoteok": serve_remoteok,
    "weworkremotely": serve_weworkremotely,
}


def serve_recorded_site(mirror: Mirror) -> Mirror:
    """Put every platform's recorded pages on `mirror` (one origin serves all their paths)."""
    for serve in SITES.values():
        serve(mirror)
    return mirror
