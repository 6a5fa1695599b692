"""Generated pages the local mirror serves for the benchmarks.

- `/api`: RemoteOK's API answer with N jobs (one response, N postings): the ingest benchmarks.
- `/bench/api?page=K`: RemoteOK-shaped JSON pages of `PAGE_SIZE` (100) jobs each, as real
  listing APIs page them; a page past the end is an empty array: the memory benchmark.
- `/bench/list?page=K` and `/bench/job?id=I`: an HTML site of listing pages (20 postings
  each, with a next link) and detail pages (~6 KB each, like a real posting page): the
  crawl-shape benchmark.

Pages are generated on request from the posting's number, so the mirror holds no more than
one page at a time however large the crawl.
"""

from __future__ import annotations

import html
import json
import random

from bench.data import COMPANIES, LEGAL, LOCATIONS, TAGS, WORDS, api_body, job
from outsourcing.mirror import Mirror, MirrorRequest, Reply

JSON = "application/json"
HTML = "text/html; charset=utf-8"
PAGE_SIZE = 100
SHAPE_PAGE_SIZE = 20
CATEGORIES = ("Programming & Development", "Design & Art", "Writing & Translation", "Sales & Marketing",
              "Admin & Support", "Engineering & Architecture")
BOILERPLATE = "".join(
    f'<li><a href="/help/topic-{n}">Help topic {n}: how hiring works on the platform</a></li>' for n in range(30)
)


def _page(request: MirrorRequest, name: str = "page") -> int:
    try:
        return int(request.query.get(name, ["1"])[0])
    except ValueError:
        return 1


def serve_api(mirror: Mirror, count: int) -> None:
    mirror.add("/api", Reply(body=api_body(count), content_type=JSON))


def serve_paged_api(mirror: Mirror, count: int) -> None:
    def page(request: MirrorRequest) -> Reply:
        number = _page(request)
        start = (number - 1) * PAGE_SIZE
        size = max(0, min(PAGE_SIZE, count - start))
        if number == 1:
            body = [LEGAL] + [job(i) for i in range(start, start + size)]
        else:
            body = [job(i) for i in range(start, start + size)]
        return Reply(body=json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type=JSON)

    mirror.add("/bench/api", page)


def serve_shape(mirror: Mirror, count: int) -> None:
    pages = max(1, -(-count // SHAPE_PAGE_SIZE))

    def listing(request: MirrorRequest) -> Reply:
        number = _page(request)
        start = (number - 1) * SHAPE_PAGE_SIZE
        cards = []
        for i in range(start, min(count, start + SHAPE_PAGE_SIZE)):
            rng = random.Random(i)
            cards.append(
                f'<div class="card"><h2><a class="job-link" href="/bench/job?id={i}">'
                f'{html.escape(rng.choice(WORDS).capitalize())} project {i}</a></h2>'
                f'<p class="teaser">{" ".join(rng.choice(WORDS) for _ in range(25))}</p></div>'
            )
        next_link = f'<a class="next" href="/bench/list?page={number + 1}">Next</a>' if number < pages else ""
        body = (f"<html><head><title>Jobs, page {number}</title></head><body><nav><ul>{BOILERPLATE}</ul></nav>"
                f'<main class="jobs">{"".join(cards)}</main><div class="pager">{next_link}</div></body></html>')
        return Reply(body=body.encode("utf-8"), content_type=HTML)

    def detail(request: MirrorRequest) -> Reply:
        number = _page(request, "id")
        return Reply(body=detail_page(number).encode("utf-8"), content_type=HTML)

    mirror.add("/bench/list", listing)
    mirror.add("/bench/job", detail)


def detail_page(i: int) -> str:
    """The detail page of posting i: an HTML page as a freelance platform renders one."""
    rng = random.Random(i)
    data = job(i, random.Random(i))
    low = rng.choice((100, 250, 500, 1000, 2500, 5000))
    budget = rng.choice((f"Fixed Price | ${low:,} - ${low * 2:,}", f"Hourly | ${low // 50}/hr", f"Under ${low:,}"))
    skills = "".join(f"<li class=\"skill\">{html.escape(tag)}</li>" for tag in data["tags"])
    category = rng.choice(CATEGORIES)
    return (
        f"<html><head><title>{data['position']} | Bench</title></head><body>"
        f"<nav><ul>{BOILERPLATE}</ul></nav>"
        f'<article class="job" data-id="{i}">'
        f"<h1 class=\"title\">{data['position']}</h1>"
        f'<div class="client"><a href="/client/{i % 977}">{html.escape(rng.choice(COMPANIES))}</a></div>'
        f'<ul class="crumbs"><li>{html.escape(category)}</li><li>{html.escape(rng.choice(WORDS).capitalize())}</li></ul>'
        f'<p class="budget">{budget}</p>'
        f'<time class="posted" datetime="{data["epoch"]}">posted</time>'
        f'<p class="location">{html.escape(rng.choice(LOCATIONS) or "Anywhere")}</p>'
        f'<p class="proposals">{rng.randint(0, 60)} proposals</p>'
        f'<ul class="skills">{skills}</ul>'
        f'<div class="description">{data["description"]}</div>'
        f"</article><footer><ul>{BOILERPLATE}</ul></footer></body></html>"
    )


__all__ = ["serve_api", "serve_paged_api", "serve_shape", "detail_page", "PAGE_SIZE", "SHAPE_PAGE_SIZE", "TAGS"]
