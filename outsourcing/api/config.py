"""The API's settings (environment only: secrets never come from files) and log masking."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from outsourcing.query.connection import mask_secrets

ENV_TOKEN = "API_TOKEN"


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError as error:
        raise ValueError(f"{name} must be an integer, got {value!r}") from error


@dataclass(frozen=True)
class ApiSettings:
    api_token: str | None = field(default=None, repr=False)
    statement_timeout_ms: int = 5000
    pool_size: int = 10
    acquire_timeout: float = 5.0
    connect_timeout: float = 5.0

    @classmethod
    def from_environment(cls) -> ApiSettings:
        return cls(
            api_token=os.environ.get(ENV_TOKEN) or None,
            statement_timeout_ms=_int("API_STATEMENT_TIMEOUT_MS", 5000),
            pool_size=_int("API_POOL_SIZE", 10),
        )


class SecretMaskFilter(logging.Filter):
    """Replaces the API token and the database password in every record a handler emits."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None
        self.dsn: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token and not self.dsn:
            return True
        message = record.getMessage()
        masked = mask_secrets(message, self.dsn)
        if self.token:
            masked = masked.replace(self.token, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


#: One filter for the process: every handler gets it, so every log line is masked.
MASK = SecretMaskFilter()


def install_mask(token: str | None, dsn: str | None) -> None:
    MASK.token, MASK.dsn = token, dsn
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in ("uvicorn", "uvicorn.error",
                                                                         "uvicorn.access", "gunicorn.error"))]
    for logger in loggers:
        for handler in logger.handlers:
            if MASK not in handler.filters:
                handler.addFilter(MASK)
