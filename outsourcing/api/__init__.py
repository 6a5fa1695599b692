"""The read API and web page over the stored postings (FastAPI). `outsourcing.api:app` is the
ASGI application; the shared queries live in outsourcing.query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from outsourcing.api.app import create_app

    app: FastAPI

__all__ = ["app", "create_app"]


def __getattr__(name: str) -> Any:
    # Built on first use: every `scrapy` command loads the command modules (serve's among them),
    # and FastAPI with the application costs each crawl process half a second of imports.
    if name == "create_app":
        from outsourcing.api.app import create_app

        return create_app
    if name == "app":
        from outsourcing.api.app import create_app

        globals()["app"] = application = create_app()
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
