"""Running the API under uvicorn: `python -m outsourcing.api` and `scrapy serve` share this."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_arguments(parser: Any) -> None:
    parser.add_argument("--host", default=os.environ.get("API_HOST", DEFAULT_HOST),
                        help=f"address to listen on (default {DEFAULT_HOST}; API_HOST)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", DEFAULT_PORT)),
                        help=f"port (default {DEFAULT_PORT}; API_PORT)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("API_WORKERS", "1")),
                        help="worker processes (default 1; API_WORKERS)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the secret mask on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"mask": {"()": "outsourcing.api.server.mask_filter"}}
    config["handlers"] = {name: {**handler, "filters": ["mask"]} for name, handler in LOGGING_CONFIG["handlers"].items()}
    config["loggers"] = {**LOGGING_CONFIG["loggers"], "outsourcing": {"handlers": ["default"], "level": "INFO",
                                                                       "propagate": False}}
    return config


def mask_filter() -> logging.Filter:
    from outsourcing.api.config import MASK

    return MASK


def serve(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    import uvicorn

    if workers < 1:
        raise SystemExit("--workers must be at least 1")
    # Several workers: uvicorn starts that many processes, each with its own lifespan and pool.
    # Without DATABASE_URL they share the one embedded server (it counts its users).
    uvicorn.run("outsourcing.api:app", host=host, port=port, workers=workers, log_level=log_level,
                log_config=log_config(), proxy_headers=True, forwarded_allow_ips="127.0.0.1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outsourcing.api",
                                     description="Serve the read API and web page over the stored postings.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers, args.log_level)
    return 0
