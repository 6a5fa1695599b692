"""Feeds (FEEDS_DIR / OUTSOURCING_FEEDS_DIR) and per-platform proxies (PLATFORM_PROXIES /
OUTSOURCING_PROXY_<SPIDER>), end to end: real `scrapy crawl` / `scrapy crawlall` processes, the
local mirror, a real PostgreSQL, and a small forwarding HTTP proxy on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from outsourcing.items import CONTRACT_FIELDS
from outsourcing.mirror import Mirror
from tests.conftest import query
from tests.e2e.test_crawlall import CHALLENGE, run_scrapy, serve_platforms

pytestmark = pytest.mark.e2e

FEED_NAME = re.compile(r"^(?P<name>[a-z]+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\+00-00\.jsonl$")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- a forwarding proxy ------------------------------------------------------------------------


@dataclass
class ProxiedRequest:
    method: str
    target: str                 # the absolute URI the client asked the proxy for
    authorization: str | None   # its Proxy-Authorization header


@dataclass
class LocalProxy:
    """An HTTP proxy for plain-http targets on 127.0.0.1 only (never the network). It checks
    Basic credentials when `user` is set (407 otherwise), records every request, and marks the
    requests it forwards with `Via: 1.1 test-proxy`."""

    user: str | None = None
    password: str | None = None
    requests: list[ProxiedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-proxy", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def url(self, user: str | None = None, password: str | None = None) -> str:
        credentials = f"{user}:{password}@" if user else ""
        return f"http://{credentials}{self.address}"

    def paths(self) -> set[str]:
        with self._lock:
            return {urlsplit(r.target).path for r in self.requests}

    def _expected_authorization(self) -> str | None:
        if self.user is None:
            return None
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                authorization = self.headers.get("Proxy-Authorization")
                with proxy._lock:
                    proxy.requests.append(ProxiedRequest(self.command, self.path, authorization))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                expected = proxy._expected_authorization()
                if expected is not None and authorization != expected:
                    self._answer(407, b"proxy authentication required",
                                 {"Proxy-Authenticate": 'Basic realm="test"'})
                    return
                target = urlsplit(self.path)
                if target.scheme != "http" or target.hostname != "127.0.0.1":
                    self._answer(403, b"this test proxy forwards to 127.0.0.1 only", {})
                    return
                headers = {k: v for k, v in self.headers.items()
                           if not k.lower().startswith("proxy-") and k.lower() not in ("connection", "host")}
                headers["Via"] = "1.1 test-proxy"
                upstream = http.client.HTTPConnection("127.0.0.1", target.port or 80, timeout=30)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path or "/", body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    passed = {k: v for k, v in response.getheaders()
                              if k.lower() not in ("content-length", "connection", "transfer-encoding")}
                    self._answer(response.status, payload, passed)
                finally:
                    upstream.close()

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _forward

        return Handler

    def __enter__(self) -> LocalProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy() -> Iterator[LocalProxy]:
    with LocalProxy(user="scraper", password="s3cret-proxy-pass") as server:
        yield server


def via_proxy(mirror: Mirror, path: str) -> list[bool]:
    """For each request the mirror got at `path`: whether it came through the test proxy."""
    return [r.headers.get("Via") == "1.1 test-proxy" for r in mirror.requests if urlsplit(r.path).path == path]


# --- feeds ---------------------------------------------------------------------------------------


def test_feeds_dir_gives_a_timestamped_contract_feed_and_dash_o_still_works(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    feeds = tmp_path / "feeds"
    single = tmp_path / "single.jsonl"
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", f"FEEDS_DIR={feeds}", "-O", str(single)],
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 0, run.log[-3000:]

    files = sorted(p for p in feeds.rglob("*") if p.is_file())
    assert len(files) == 1, files
    match = FEED_NAME.match(files[0].name)
    assert match and match["name"] == "remoteok" and files[0].parent.name == "remoteok", files[0]
    rows = read_jsonl(files[0])
    assert len(rows) == 3
    assert all(list(row) == list(CONTRACT_FIELDS) for row in rows), "exactly the contract's fields, in order"
    assert {row["external_id"] for row in rows} == {"2000001", "2000002", "2000003"}
    # -O wrote the same postings; the database got them too.
    assert read_jsonl(single) == rows
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3
    assert f"Stored jsonlines feed (3 items) in: {files[0]}" in run.log


def test_feeds_env_gives_one_file_per_platform_in_crawlall(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    feeds = tmp_path / "feeds"
    run = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-a", f"base_url={mirror.url}"],
                     home=tmp_path / "home", database_url=database_url, env={"OUTSOURCING_FEEDS_DIR": str(feeds)})
    assert run.returncode == 0, run.log[-3000:]
    files = sorted(p for p in feeds.rglob("*") if p.is_file())
    assert [p.parent.name for p in files] == ["remoteok", "weworkremotely"]
    assert not [p for p in files if p.name.endswith(".part")], "no half-written feed is left behind"
    for path in files:
        rows = read_jsonl(path)
        assert FEED_NAME.match(path.name)["name"] == path.parent.name
        assert len(rows) == 3 and {row["platform"] for row in rows} == {path.parent.name}
        assert all(list(row) == list(CONTRACT_FIELDS) for row in rows)


def test_failed_crawl_leaves_no_feed_behind(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    """An unrecognised listing: a non-zero exit, and no feed file at all (issue 13.10: an empty
    feed would read as "nothing new"; the platform's earlier feeds stay the newest), nor a
    stray .part file."""
    mirror.add("/api", CHALLENGE)
    feeds = tmp_path / "feeds"
    earlier = feeds / "remoteok" / "remoteok-2026-10-01T06-00-00+00-00.jsonl"
    earlier.parent.mkdir(parents=True)
    earlier.write_text('{"platform": "remoteok"}\n', encoding="utf-8")
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", f"FEEDS_DIR={feeds}"],
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 1
    assert [p for p in feeds.rglob("*") if p.is_file()] == [earlier]
    assert "not written, the crawl failed (no listing page of the platform could be read or recognised" in run.log
    assert "Traceback" not in run.log


def test_a_partial_feed_is_not_left_behind(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    """Page 1 of 2 exported, then an error in the spider's code on page 2 (a planted bug,
    tests/faults/buggy_freelancer.py): the postings of page 1 are stored, but the feed would be
    partial, so it is removed."""
    from tests.e2e.test_incremental_global import FL_NEWEST_OLD, Listing, hourly, serve_freelancer

    serve_freelancer(mirror, Listing(per_page=3, postings=hourly(56000000, 6, FL_NEWEST_OLD)))
    feeds = tmp_path / "feeds"
    run = run_scrapy(["crawl", "freelancer", "-a", f"base_url={mirror.url}", "-a", "page_size=3",
                      "-s", f"FEEDS_DIR={feeds}", "-s", "SPIDER_MODULES=tests.faults.buggy_freelancer",
                      "-s", "BUG_AT_OFFSET=3"], home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 1, run.log[-3000:]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3
    assert [p for p in feeds.rglob("*") if p.is_file()] == []
    assert "not written, the crawl failed (1 pages failed in the spider's code" in run.log


def test_a_crawl_whose_postings_wait_in_the_spill_file_keeps_its_complete_feed(mirror: Mirror, tmp_path: Path) -> None:
    """The database was down, so the run exits 1, but every posting was extracted: the feed is
    complete and written."""
    serve_platforms(mirror)
    feeds = tmp_path / "feeds"
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", f"FEEDS_DIR={feeds}",
                      "-s", "DB_RETRY_TIMEOUT=1"], home=tmp_path / "home",
                     database_url="postgresql://crawler@127.0.0.1:9/nowhere")
    assert run.returncode == 1
    [path] = [p for p in feeds.rglob("*") if p.is_file()]
    assert FEED_NAME.match(path.name) and len(read_jsonl(path)) == 3


# --- proxies ------------------------------------------------------------------------------------


def test_platform_proxies_setting_sends_every_request_through_the_proxy(mirror: Mirror, proxy: LocalProxy,
                                                                         database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    proxies = json.dumps({"remoteok": proxy.url("scraper", "s3cret-proxy-pass")})
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}", "-s", f"PLATFORM_PROXIES={proxies}"],
                     home=tmp_path / "home", database_url=database_url)
    assert run.returncode == 0, run.log[-3000:]
    # robots.txt and the API both went through the proxy, with the credentials as a header.
    assert {urlsplit(r.target).path for r in proxy.requests} == {"/robots.txt", "/api"}
    assert all(r.target.startswith(mirror.url) for r in proxy.requests)
    assert {r.authorization for r in proxy.requests} == {proxy._expected_authorization()}
    assert via_proxy(mirror, "/api") == [True] and via_proxy(mirror, "/robots.txt") == [True]
    assert query(database_url, "SELECT count(*) AS n FROM postings")[0]["n"] == 3
    # The log names the proxy with its password masked, and never shows the password.
    assert f"remoteok: requests go through the proxy http://scraper:***@{proxy.address}" in run.log
    assert "s3cret-proxy-pass" not in run.log + run.stdout


def test_environment_proxy_applies_to_its_platform_only(mirror: Mirror, proxy: LocalProxy,
                                                        database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    run = run_scrapy(["crawlall", "remoteok", "weworkremotely", "-a", f"base_url={mirror.url}"],
                     home=tmp_path / "home", database_url=database_url,
                     env={"OUTSOURCING_PROXY_REMOTEOK": proxy.url("scraper", "s3cret-proxy-pass")})
    assert run.returncode == 0, run.log[-3000:]
    assert "/remote-jobs.rss" not in proxy.paths() and "/api" in proxy.paths()
    assert via_proxy(mirror, "/api") == [True]
    assert via_proxy(mirror, "/remote-jobs.rss") == [False]
    counts = query(database_url, "SELECT platform, count(*) AS n FROM postings GROUP BY 1 ORDER BY 1")
    assert [(r["platform"], r["n"]) for r in counts] == [("remoteok", 3), ("weworkremotely", 3)]
    assert "s3cret-proxy-pass" not in run.log + run.stdout


def test_proxy_refusing_the_credentials_is_a_warning_naming_platform_url_and_proxy(
        mirror: Mirror, proxy: LocalProxy, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}"],
                     home=tmp_path / "home", database_url=database_url,
                     env={"OUTSOURCING_PROXY_REMOTEOK": proxy.url("scraper", "wrong-password")})
    assert run.returncode == 1, "no listing page could be read"
    assert (f"WARNING: remoteok: the proxy http://scraper:***@{proxy.address} refused the request "
            f"(HTTP 407, check its credentials): {mirror.url}/api") in run.log
    assert "wrong-password" not in run.log
    assert mirror.count("/api") == 0, "nothing reached the platform directly"


def test_a_proxy_url_that_is_not_http_stops_the_crawl(mirror: Mirror, database_url: str, tmp_path: Path) -> None:
    serve_platforms(mirror)
    run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}"],
                     home=tmp_path / "home", database_url=database_url,
                     env={"OUTSOURCING_PROXY_REMOTEOK": "socks5://user:hidden-pass@127.0.0.1:1080"})
    assert run.returncode == 1
    assert "remoteok: proxy 'socks5://user:***@127.0.0.1:1080' is not an http:// or https:// URL" in run.log
    assert "hidden-pass" not in run.log
    assert mirror.count("/api") == 0


def test_which_proxy_a_platform_gets() -> None:
    from outsourcing.proxies import ProxyMisconfigured, env_name, proxy_for

    settings = {"freemoa": "http://kr-proxy:3128", "wishket": "http://kr-proxy:3128"}
    environ = {"OUTSOURCING_PROXY_FREEMOA": "http://user:pw@other:3128", "OUTSOURCING_PROXY_WISHKET": "direct"}
    assert env_name("freemoa") == "OUTSOURCING_PROXY_FREEMOA"
    assert proxy_for("freemoa", settings, environ) == "http://user:pw@other:3128"  # the environment wins
    assert proxy_for("wishket", settings, environ) is None                         # "direct" turns it off
    assert proxy_for("kmong", settings, environ) is None                           # not configured: direct
    assert proxy_for("freemoa", settings, {}) == "http://kr-proxy:3128"
    with pytest.raises(ProxyMisconfigured, match=r"kmong: proxy 'kr-proxy:3128'"):
        proxy_for("kmong", {"kmong": "kr-proxy:3128"}, {})


def test_a_proxy_password_with_reserved_characters_works_and_never_shows(mirror: Mirror, database_url: str,
                                                                         tmp_path: Path) -> None:
    """`#` and `?` unencoded in a proxy password: Scrapy's proxy parser reads them (the proxy
    gets the right credentials), and the log masks the whole password, not what urlsplit sees."""
    serve_platforms(mirror)
    password = "s3c#r?t-proxy"
    with LocalProxy(user="scraper", password=password) as local:
        run = run_scrapy(["crawl", "remoteok", "-a", f"base_url={mirror.url}"],
                         home=tmp_path / "home", database_url=database_url,
                         env={"OUTSOURCING_PROXY_REMOTEOK": local.url("scraper", password)})
        assert run.returncode == 0, run.log[-3000:]
        assert {r.authorization for r in local.requests} == {local._expected_authorization()}
    assert f"remoteok: requests go through the proxy http://scraper:***@{local.address}" in run.log
    # The last line is the outcome (issue 13.4).
    assert run.log.rstrip().splitlines()[-1].endswith(
        "INFO: remoteok: done, exit 0: 3 postings stored (3 new, 0 updated, 0 unchanged), 0 dropped, 0 errors")
    for piece in (password, "s3c", "r?t-proxy", "t-proxy"):
        assert piece not in run.log + run.stdout, piece
