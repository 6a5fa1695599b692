"""A local mirror of the platforms: recorded responses served at the platforms' real paths on
127.0.0.1, with injectable faults. Tests and benchmarks crawl it with `-a base_url=<mirror.url>`.

    with Mirror() as mirror:
        mirror.add("/api", body, content_type="application/json")
        mirror.fail("/api", [Reply(status=429, headers={"Retry-After": "1"})])  # first call only
        subprocess.run(["scrapy", "crawl", "remoteok", "-a", f"base_url={mirror.url}"])

Routes match on method and path-with-query exactly (a route without a query also answers any
query when no exact route exists). A route may be a callable taking the `MirrorRequest` (for
form POSTs and generated pages). Faults are queued per route and consumed in order: a status,
a delay, a dropped connection, or a body cut short.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds before answering (a slow server)
    drop: bool = False          # close the connection without an answer
    truncate: int | None = None  # announce the full length, send only this many bytes


@dataclass
class MirrorRequest:
    method: str
    path: str                   # path with query, as requested
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


Route = Reply | Callable[[MirrorRequest], Reply]

DEFAULT_ROBOTS = b"User-agent: *\nAllow: /\n"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (a crawl being killed, a cancelled download) is expected here.
        pass


class Mirror:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.faults: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.requests: list[MirrorRequest] = []
        self._lock = threading.Lock()
        self._server = _QuietServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.add("/robots.txt", DEFAULT_ROBOTS, content_type="text/plain")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode("ascii")
        return f"http://{host}:{port}"

    # --- configuration ---------------------------------------------------------------------

    def add(self, path: str, body: bytes | str | Route, *, method: str = "GET", status: int = 200,
            content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> None:
        """Serve `body` (or a Reply, or a callable route) at `path` (with its query)."""
        if callable(body) or isinstance(body, Reply):
            route: Route = body
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
            route = Reply(status=status, body=data, content_type=content_type, headers=dict(headers or {}))
        self.routes[(method.upper(), path)] = route

    def add_file(self, path: str, file: Path | str, *, content_type: str, method: str = "GET") -> None:
        self.add(path, Path(file).read_bytes(), content_type=content_type, method=method)

    def fail(self, path: str, replies: list[Reply], *, method: str = "GET") -> None:
        """The next len(replies) requests to `path` get these replies instead of the route."""
        with self._lock:
            self.faults[(method.upper(), path)].extend(replies)

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests received (for `path`, with or without its query)."""
        with self._lock:
            return sum(
                1 for r in self.requests
                if (path is None or r.path == path or urlsplit(r.path).path == path)
                and (method is None or r.method == method.upper())
            )

    # --- running ---------------------------------------------------------------------------

    def start(self) -> Mirror:
        self._thread = threading.Thread(target=self._server.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, request: MirrorRequest) -> Reply:
        key = (request.method, request.path)
        bare = (request.method, urlsplit(request.path).path)
        with self._lock:
            self.requests.append(request)
            for candidate in (key, bare):
                if self.faults.get(candidate):
                    return self.faults[candidate].popleft()
        route = self.routes.get(key) or self.routes.get(bare)
        if route is None:
            return Reply(status=404, body=b"not in the mirror", content_type="text/plain")
        return route(request) if callable(route) else route

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = MirrorRequest(self.command, self.path, dict(self.headers.items()), body)
                reply = mirror._reply_for(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.truncate is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload if reply.truncate is None else payload[: reply.truncate])
                if reply.truncate is not None:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.close()

            do_GET = do_POST = do_HEAD = _serve

        return Handler
