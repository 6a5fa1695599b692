"""A webhook receiver in a process of its own, for the alerts benchmark: `python -m bench.receiver
OUT.jsonl` prints its port, answers every POST with 200 and appends one line per request to
OUT.jsonl: {"id": webhook-id, "at": wall-clock seconds}. A separate process, so the receiver's
CPU is not taken from the dispatcher being measured; uvicorn (httptools, uvloop) so that the
receiver is not what limits the figures. SIGTERM stops it."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


def main(out_path: str) -> int:
    import uvicorn

    out = open(out_path, "a", encoding="utf-8", buffering=1)

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                  send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        at = time.time()
        headers = dict(scope["headers"])
        out.write(json.dumps({"id": headers.get(b"webhook-id", b"").decode(), "at": at}) + "\n")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, loop="uvloop", http="httptools",
                            lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
