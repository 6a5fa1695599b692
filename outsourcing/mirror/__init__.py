"""The local mirror server (server.py) that tests and benchmarks crawl instead of the sites."""

from outsourcing.mirror.server import Mirror, MirrorRequest, Reply

__all__ = ["Mirror", "MirrorRequest", "Reply"]
