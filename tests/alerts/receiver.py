"""A real HTTP receiver on 127.0.0.1 for alert tests: records every request, answers with what
the test says (fail the first N, hold requests until released), and counts what it acknowledged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)   # wall clock: compared with database times
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a sender killed mid-request is what some tests do


class Receiver:
    def __init__(self, *, fail_first: int = 0, fail_status: int = 500,
                 status_for: Callable[[Received], int] | None = None) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.status_for = status_for
        self.requests: list[Received] = []
        self.hold = threading.Event()
        self.hold.set()                    # clear() to hold every request until set() again
        self.holding = threading.Event()   # set while a request is being held
        self.arrived = threading.Event()   # set by the first request
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def acknowledged(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def ids(self, *, acknowledged: bool = True) -> list[str]:
        requests = self.acknowledged() if acknowledged else list(self.requests)
        return [r.headers.get("webhook-id", "") for r in requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                receiver.arrived.set()
                if not receiver.hold.is_set():
                    receiver.holding.set()
                    receiver.hold.wait(60)
                with receiver._lock:
                    failing = len(receiver.requests) < receiver.fail_first
                    received.status = receiver.fail_status if failing else (
                        receiver.status_for(received) if receiver.status_for else 200)
                    receiver.requests.append(received)
                body = b'{"ok": true}' if received.status < 300 else b'{"error": "try again"}'
                try:
                    self.send_response(received.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    # The sender is gone (killed): it never saw this answer.
                    with receiver._lock:
                        received.status = -received.status

        return Handler

    def __enter__(self) -> Receiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.hold.set()
        self._server.shutdown()
        self._server.server_close()
