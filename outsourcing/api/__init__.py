"""The read API and web page over the stored postings (FastAPI). `outsourcing.api:app` is the
ASGI application; the shared queries live in outsourcing.query."""

from outsourcing.api.app import create_app

app = create_app()

__all__ = ["app", "create_app"]
