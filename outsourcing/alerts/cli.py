"""The actions of `scrapy alerts` (outsourcing/commands/alerts.py parses the command line; this
module, with pydantic and the query layer behind it, is imported only when the command runs, so
other commands do not pay for it)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from scrapy.exceptions import UsageError

from outsourcing.alerts import queue
from outsourcing.alerts.config import AlertsConfig, ConfigError, config_path, install_masking, load_config
from outsourcing.alerts.dispatcher import Dispatcher, DispatcherOptions
from outsourcing.query.connection import DatabaseTarget, apply_schema, mask_secrets

logger = logging.getLogger("outsourcing.alerts")

def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An instant: ISO 8601 (a date means 00:00 UTC), or a span back from now: 90m, 12h, 3d."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise UsageError(f"--since {text!r}: give an ISO date or time (2026-10-01, 2026-10-01T09:00+09:00) "
                         "or a span such as 12h or 3d", print_help=False) from error
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def main(action: str, rest: list[str], opts: argparse.Namespace, settings: Any) -> int:
    """Run one action against the database a crawl would use; the exit status."""
    actions = Actions(settings)
    handler: Callable[[DatabaseTarget, list[str], argparse.Namespace], Coroutine[Any, Any, int]] = \
        getattr(actions, f"_{action}")
    target = DatabaseTarget.from_environment(settings)
    try:
        target.open(settings)
        return asyncio.run(handler(target, rest, opts))
    except ConfigError as error:
        logger.error("%s", error)
        return 2
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        logger.error("alerts: database %s: %s", target.masked, mask_secrets(f"{type(error).__name__}: {error}",
                                                                        target.url))
        return 1
    finally:
        target.close()


class Actions:
    def __init__(self, settings: Any) -> None:
        self.settings = settings

    # --- helpers -------------------------------------------------------------------------------------

    def _config(self, opts: argparse.Namespace, *, required: bool = True) -> AlertsConfig | None:
        path = Path(opts.config).expanduser() if opts.config else config_path(self.settings)
        if path is None:
            if required:
                raise UsageError("no alerts config: --config PATH, OUTSOURCING_ALERTS_CONFIG or the ALERTS_CONFIG "
                                 "setting", print_help=False)
            return None
        config = load_config(path)
        install_masking(config.masker)
        return config

    async def _connect(self, target: DatabaseTarget) -> asyncpg.Connection:
        assert target.url is not None
        connection = await asyncpg.connect(target.url, timeout=10)
        version = await queue.schema_version(connection)
        if version is None or version < queue.SCHEMA_VERSION:
            await apply_schema(connection)
        await queue.init_connection(connection)
        return connection

    # --- actions -----------------------------------------------------------------------------------------

    async def _run(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        config = self._config(opts)
        assert config is not None and target.url is not None
        dispatcher = Dispatcher(config, target.url, DispatcherOptions.from_settings(self.settings))
        if opts.once:
            try:
                await dispatcher.run_once()
            finally:
                await dispatcher.stop()
            logger.info("alerts: %s", dispatcher.summary())
            return 0
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        dispatcher.start()
        await stopped.wait()
        logger.info("alerts: stopping (the current sends finish first)")
        await dispatcher.stop()
        logger.info("alerts: %s", dispatcher.summary())
        return 0

    async def _sync(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        config = self._config(opts)
        assert config is not None
        connection = await self._connect(target)
        try:
            rows = await queue.sync_searches(connection, config, "scrapy alerts sync")
        finally:
            await connection.close()
        for row in rows:
            print(f"{row['name']}: {'new, ' if row['created'] else ''}alerts postings committed from "
                  f"{row['active_from'].astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC on")
        return 0

    async def _backfill(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        if len(rest) != 1 or not opts.since:
            raise UsageError("backfill NAME --since WHEN", print_help=False)
        since = parse_since(opts.since)
        config = self._config(opts, required=False)
        connection = await self._connect(target)
        try:
            if config is not None:
                await queue.sync_searches(connection, config, "scrapy alerts backfill")
            try:
                result = await queue.backfill(connection, rest[0], since)
            except LookupError as error:
                logger.error("%s", error)
                return 1
        finally:
            await connection.close()
        print(f"{rest[0]}: {result.deliveries} deliveries in {result.messages} messages for postings first seen "
              f"since {since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC; a dispatcher sends them")
        return 0

    async def _set_enabled(self, target: DatabaseTarget, rest: list[str], enabled: bool) -> int:
        if len(rest) != 1:
            raise UsageError(f"{'enable' if enabled else 'disable'} NAME", print_help=False)
        connection = await self._connect(target)
        try:
            found = await queue.set_enabled(connection, rest[0], enabled)
        finally:
            await connection.close()
        if not found:
            logger.error("no saved search named %r", rest[0])
            return 1
        print(f"{rest[0]}: {'enabled (from now on)' if enabled else 'disabled'}")
        return 0

    async def _disable(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        return await self._set_enabled(target, rest, False)

    async def _enable(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        return await self._set_enabled(target, rest, True)

    def _ids(self, rest: list[str], opts: argparse.Namespace, action: str) -> list[int]:
        try:
            ids = [int(value) for value in rest]
        except ValueError as error:
            raise UsageError(f"{action}: message ids are numbers (see scrapy alerts status)", print_help=False) from error
        if not ids and not opts.failed:
            raise UsageError(f"{action} ID ... or {action} --failed [--search NAME]", print_help=False)
        return ids

    async def _retry(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        count = await self._change_messages(target, rest, opts, "retry", queue.retry)
        attempts = DispatcherOptions.from_settings(self.settings).max_attempts
        print(f"{count} messages back to pending (due now, {attempts} more attempts)")
        return 0

    async def _drop(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        count = await self._change_messages(target, rest, opts, "drop", queue.drop)
        print(f"{count} messages dropped (still listed as dropped; scrapy alerts retry ID brings one back)")
        return 0

    async def _change_messages(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace, action: str,
                               change: Callable[..., Coroutine[Any, Any, int]]) -> int:
        ids = self._ids(rest, opts, action)
        connection = await self._connect(target)
        try:
            return await change(connection, ids=ids, search=opts.search, all_failed=opts.failed)
        finally:
            await connection.close()

    async def _status(self, target: DatabaseTarget, rest: list[str], opts: argparse.Namespace) -> int:
        config = self._config(opts, required=False)
        connection = await self._connect(target)
        try:
            state = await queue.status(connection, search=opts.search, limit=opts.limit)
        finally:
            await connection.close()
        if opts.json:
            print(json.dumps(state, default=_json_default, ensure_ascii=False, indent=1))
            return 0
        print(format_status(state, config))
        return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def format_status(state: dict[str, Any], config: AlertsConfig | None) -> str:
    here = {search.name for search in config.searches} if config is not None else None
    rows = []
    for s in state["searches"]:
        mode = f"digest {s['digest_minutes']} min" if s["digest_minutes"] else "each"
        if s["changes"]:
            mode += ", changes" + (f" of {','.join(s['change_fields'])}" if s["change_fields"] else "")
        rows.append([s["name"], "yes" if s["enabled"] else "no",
                     "-" if here is None else ("yes" if s["name"] in here else "no"),
                     ",".join(s["channels"]), mode, _when(s["active_from"]), _when(s["last_delivery"]),
                     str(s["delivered"]), str(s["pending"]), str(s["waiting_digest"]), str(s["failed"]),
                     str(s["dropped"])])
    lines = ["Saved searches (times UTC):",
             _table(["search", "enabled", "in config", "channels", "mode", "alerts from", "last delivery",
                     "delivered", "pending", "in digest", "failed", "dropped"], rows) if rows else "  none",
             ""]
    outbox = state["outbox"]
    lines.append(f"Outbox: {outbox['events']} committed postings not matched yet"
                 + (f" (oldest {_when(outbox['oldest'])})" if outbox["events"] else ""))
    lines.append("")
    messages = state["messages"]
    if messages:
        lines.append("Failed and pending messages (failed first):")
        lines.append(_table(
            ["id", "search", "channel", "status", "attempts", "next attempt", "postings", "key", "last error"],
            [[str(m["id"]), m["search"], m["channel"], m["status"], str(m["attempts"] - m["retry_base"]),
              _when(m["next_attempt_at"]) if m["status"] != "failed" else "-", str(m["postings"]), m["key"],
              (m["last_error"] or "")[:120]] for m in messages]))
        lines.append("")
        lines.append("scrapy alerts retry ID (or --failed) sends a failed message again; scrapy alerts drop ID gives up on one.")
    else:
        lines.append("No failed or pending messages.")
    return "\n".join(lines)

