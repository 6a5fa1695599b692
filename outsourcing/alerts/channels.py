"""Where alerts go: Apprise (any notification service), a Standard Webhooks endpoint, a JSON Lines
file, stdout. Each channel turns a Message into one send and says whether the receiver
acknowledged it; the dispatcher records the answer in the ledger and decides about retries.

Every send is bounded in time (ALERTS_SEND_TIMEOUT): a receiver that hangs costs one timeout,
never a stuck dispatcher. Apprise is synchronous (requests): its sends run in worker threads,
with Apprise's own connect/read timeouts set to the same bound.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from outsourcing import __version__
from outsourcing.alerts.config import ChannelConfig, SecretMasker
from outsourcing.alerts.messages import Message

logger = logging.getLogger(__name__)

USER_AGENT = f"outsourcing-alerts/{__version__}"


@dataclass
class SendResult:
    ok: bool
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None   # the receiver asked for a pause (429/503 Retry-After)
    refused: bool = False              # the receiver answered, but not 2xx (vs. no answer at all)


class Channel(Protocol):
    config: ChannelConfig

    async def send(self, message: Message) -> SendResult: ...

    async def close(self) -> None: ...


def payload_bytes(message: Message) -> bytes:
    return json.dumps(message.payload(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- Standard Webhooks ---------------------------------------------------------------------------------


def sign(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: v1,base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))
    (Standard Webhooks; verified in the tests with the reference implementation)."""
    digest = hmac.new(secret, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class WebhookChannel:
    def __init__(self, config: ChannelConfig, timeout: float, masker: SecretMasker) -> None:
        import httpx

        assert config.url and config.secret
        self.config = config
        self.masker = masker
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False,
                                         headers={"User-Agent": USER_AGENT})

    async def send(self, message: Message) -> SendResult:
        import httpx

        body = payload_bytes(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            # The idempotency key, the same on every attempt: receivers drop repeats by it.
            "webhook-id": message.key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.config.secret or b"", message.key, timestamp, body),
        }
        assert self.config.url
        try:
            response = await self._client.post(self.config.url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            return SendResult(False, error=f"no answer within the timeout ({type(error).__name__})")
        except httpx.HTTPError as error:
            return SendResult(False, error=self.masker.mask(f"{type(error).__name__}: {error}"))
        if 200 <= response.status_code < 300:
            return SendResult(True, http_status=response.status_code)
        return SendResult(False, http_status=response.status_code, refused=True,
                          retry_after=_retry_after(response.headers.get("retry-after")),
                          error=self.masker.mask(f"HTTP {response.status_code}: {response.text[:200]}"))

    async def close(self) -> None:
        await self._client.aclose()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


# --- Apprise ---------------------------------------------------------------------------------------------


class AppriseChannel:
    """Any service Apprise knows (tgram://, slack://, discord://, mailto://, ntfy://, json://, ...):
    one well-kept library instead of a client per service. The URL comes from the environment."""

    def __init__(self, config: ChannelConfig, timeout: float, masker: SecretMasker) -> None:
        import apprise

        assert config.url
        self.config = config
        self.timeout = timeout
        self.masker = masker
        asset = apprise.AppriseAsset(app_id="outsourcing", app_desc="outsourcing alerts", async_mode=False)
        self._apprise = apprise.Apprise(asset=asset)
        if not self._apprise.add(config.url):
            raise ValueError(f"channel {config.name}: Apprise does not understand ${config.url_env}")
        for server in self._apprise:
            # Apprise's own socket timeouts (cto/rto): the worker thread ends within the bound too.
            server.socket_connect_timeout = timeout
            server.socket_read_timeout = timeout

    def _notify(self, title: str, body: str) -> tuple[bool, list[str]]:
        """Apprise's notify in a worker thread: (acknowledged, the warnings Apprise noted for this
        call, e.g. "Failed to send JSON notification to 127.0.0.1: Internal Server Error")."""
        import apprise

        try:
            result = self._apprise.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
        except Exception as error:  # noqa: BLE001 - a plugin's bug is a failed send, not a dead dispatcher
            return False, [f"{type(error).__name__}: {error}"]
        if isinstance(result, bool) or not hasattr(result, "logs"):
            return bool(result), []
        lines = [entry.message for entry in result.logs()
                 if getattr(entry, "level", "") in ("WARNING", "ERROR", "CRITICAL")
                 or getattr(getattr(entry, "level", None), "name", "") in ("WARNING", "ERROR", "CRITICAL")]
        return result.success_count > 0 and result.failed_count == 0, lines

    async def send(self, message: Message) -> SendResult:
        title, body = message.text(self.config.language)
        try:
            ok, lines = await asyncio.wait_for(asyncio.to_thread(self._notify, title, body), self.timeout * 2 + 1)
        except TimeoutError:
            return SendResult(False, error="Apprise did not finish within the timeout")
        if ok:
            return SendResult(True)
        reason = "; ".join(lines[-3:]) or "Apprise reported a failed notification"
        return SendResult(False, error=self.masker.mask(reason))

    async def close(self) -> None:
        pass


# --- JSON Lines and stdout -------------------------------------------------------------------------------------


class JsonLinesChannel:
    """Appends one JSON object per message (the webhook payload plus "id" = the idempotency key)
    and fsyncs before acknowledging. After a crash between the write and the ledger update the
    line may appear twice: readers drop repeats by "id"."""

    _locks: dict[Path, threading.Lock] = {}

    def __init__(self, config: ChannelConfig) -> None:
        assert config.path is not None
        self.config = config
        self.path = config.path
        self._lock = self._locks.setdefault(self.path.resolve(), threading.Lock())

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with self.path.open("ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    async def send(self, message: Message) -> SendResult:
        line = json.dumps({"id": message.key, **message.payload()}, ensure_ascii=False, separators=(",", ":"))
        try:
            await asyncio.to_thread(self._append, line.encode("utf-8") + b"\n")
        except OSError as error:
            return SendResult(False, error=f"cannot write {self.path}: {error.strerror or error}")
        return SendResult(True)

    async def close(self) -> None:
        pass


class StdoutChannel:
    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    async def send(self, message: Message) -> SendResult:
        line = json.dumps({"id": message.key, **message.payload()}, ensure_ascii=False, separators=(",", ":"))
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (OSError, ValueError) as error:
            return SendResult(False, error=f"cannot write to stdout: {error}")
        return SendResult(True)

    async def close(self) -> None:
        pass


def make_channel(config: ChannelConfig, *, timeout: float, masker: SecretMasker) -> Any:
    if config.type == "webhook":
        return WebhookChannel(config, timeout, masker)
    if config.type == "apprise":
        return AppriseChannel(config, timeout, masker)
    if config.type == "jsonl":
        return JsonLinesChannel(config)
    return StdoutChannel(config)
