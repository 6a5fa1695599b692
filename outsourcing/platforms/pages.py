"""Checks the parsers and spiders share to tell an answer they can read from one they cannot:
an API's JSON, an error status, a body that is not text. Each raises `PageNotRecognised` with
the reason codes the crawl reports and the tests assert (`challenge_page`, `not_json`,
`invalid_json`, `unexpected_structure`, `http_<status>`, `not_text`), so a block page or a
layout change is never read as "no postings".

Pure functions of the response (no spider state, no I/O), like the parsers that call them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scrapy.http import Response, TextResponse


class PageNotRecognised(Exception):
    """The page lacks the structure that holds postings (challenge page, login wall, HTML where
    JSON was due, a listing without its cards). Never to be read as "no new postings"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


CHALLENGE_MARKERS: tuple[str, ...] = (
    "cf-chl", "challenge-platform", "Just a moment...", "Attention Required! | Cloudflare",
    "g-recaptcha", "hcaptcha", "captcha",
)


def looks_like_challenge(text: str) -> bool:
    head = text[:20000]
    return any(marker in head for marker in CHALLENGE_MARKERS)


# What may stand before a JSON document: white space, and a byte order mark that a body decoded
# without stripping it keeps.
_LEADING = re.compile(r"^[\s\ufeff]+")
# The first character of a JSON document of each type: anything else where JSON was due is a
# page (HTML block or challenge page, a login form), named as such rather than as broken JSON.
_OPENERS: dict[type, str] = {dict: "{", list: "["}


def load_json(text: str, *, expect: type | tuple[type, ...], what: str) -> Any:
    """The JSON document of an answer, of type `expect` (dict, list, or both as a tuple).

    Raises PageNotRecognised: `challenge_page` or `not_json` when the text does not start as
    such a document (HTML where the JSON was due), `invalid_json` when it does but does not
    parse (a truncated answer), `unexpected_structure` when it is JSON of another type. `what`
    names the document in the error's detail ("the API's JSON array")."""
    kinds = expect if isinstance(expect, tuple) else (expect,)
    stripped = _LEADING.sub("", text, count=1)
    if not stripped.startswith(tuple(_OPENERS[kind] for kind in kinds)):
        reason = "challenge_page" if looks_like_challenge(text) else "not_json"
        raise PageNotRecognised(reason, f"expected {what}, got {stripped[:80]!r}")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise PageNotRecognised("invalid_json", str(error)) from None
    # The opening character already decides the type; checked so that callers may rely on it.
    if not isinstance(data, kinds):
        raise PageNotRecognised("unexpected_structure", f"a JSON {type(data).__name__}, not {what}")
    return data


def refuse_error_status(response: TextResponse) -> None:
    """An answer with an error status that the spider let through (block and challenge pages
    come with 403): named by what it is rather than by its status alone."""
    if response.status >= 400:
        reason = "challenge_page" if looks_like_challenge(response.text) else f"http_{response.status}"
        raise PageNotRecognised(reason, f"HTTP {response.status}")


def require_text(response: Response) -> TextResponse:
    """The response as text; a binary answer (an image, a download) where a page or JSON was due
    is not recognised."""
    if not isinstance(response, TextResponse):
        raise PageNotRecognised("not_text", f"content type {response.headers.get('Content-Type')!r}")
    return response
