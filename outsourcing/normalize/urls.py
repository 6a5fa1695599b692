"""URL normalisers: item URLs name the real platform over https with a lower-case host."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit


def canonical_url(url: str, origin: str | None = None) -> str:
    """`url` made absolute against `origin`, forced to https, host lower-cased.

    RemoteOK writes its own links as `https://remoteOK.com/...`; the contract wants one spelling.
    """
    if origin:
        url = urljoin(origin.rstrip("/") + "/", url)
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme
    return urlunsplit((scheme, parts.netloc.lower(), parts.path or "/", parts.query, parts.fragment))


def last_path_segment(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1]
