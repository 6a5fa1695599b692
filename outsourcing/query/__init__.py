"""The shared query layer: what the API, alerts and the report read from the crawler's
database. No web framework here: plain asyncpg, parameterised SQL, one filter model."""

from outsourcing.query.connection import (
    EXPECTED_SCHEMA_VERSION,
    DatabaseTarget,
    SchemaStatus,
    create_read_only_pool,
    read_schema_status,
)
from outsourcing.query.filters import PostingFilter, SqlParams, describe_errors
from outsourcing.query.postings import (
    Cursor,
    CursorError,
    Page,
    get_posting,
    iter_postings,
    search_postings,
)

__all__ = [
    "EXPECTED_SCHEMA_VERSION",
    "Cursor",
    "CursorError",
    "DatabaseTarget",
    "Page",
    "PostingFilter",
    "SchemaStatus",
    "SqlParams",
    "create_read_only_pool",
    "describe_errors",
    "get_posting",
    "iter_postings",
    "read_schema_status",
    "search_postings",
]
