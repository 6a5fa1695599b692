"""`python -m outsourcing.mirror`: serve the recorded site (outsourcing/mirror/site.py) until stopped.

    python -m outsourcing.mirror                 # http://127.0.0.1:8080
    scrapy crawl guru -a base_url=http://127.0.0.1:8080      # in another shell
    scrapy crawlall -a base_url=http://127.0.0.1:8080        # every platform: one origin serves all paths

Only 127.0.0.1 by default: the site is for crawls on this machine.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from outsourcing.mirror.server import Mirror
from outsourcing.mirror.site import SITES, serve_recorded_site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m outsourcing.mirror",
        description="Serve the project's recorded pages of every platform at their real paths, for "
                    "crawls with -a base_url=http://HOST:PORT (no network needed).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    options = parser.parse_args(argv)

    try:
        mirror = Mirror(options.host, options.port)
    except OSError as error:
        print(f"cannot listen on {options.host}:{options.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    serve_recorded_site(mirror)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with mirror:
        print(f"Serving the recorded pages of {', '.join(SITES)} at {mirror.url}", flush=True)
        print(f"Crawl them with: scrapy crawl <spider> -a base_url={mirror.url}   (Ctrl-C stops the server)",
              flush=True)
        stop.wait()
    print(f"Stopped after {len(mirror.requests)} requests.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
