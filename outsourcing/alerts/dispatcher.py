"""The dispatcher: wakes when postings are committed, matches them, sends what is due.

One asyncio task per process. It LISTENs on `outsourcing_alerts` (the outbox triggers NOTIFY at
the writer's commit; a match NOTIFYs when it made messages) and polls every
ALERTS_POLL_INTERVAL seconds as a fallback (a notification lost while the LISTEN connection
was down, a retry coming due). Each step:

1. matches outbox events until the outbox is empty (queue.match_events);
2. claims up to ALERTS_BATCH due messages of the searches and channels it can send
   (FOR UPDATE SKIP LOCKED, with a lease) and sends them, ALERTS_CONCURRENCY at a time;
3. records every answer in the ledger; a failure is retried after
   ALERTS_BACKOFF_BASE * 2^(n-1) seconds (jittered, at most ALERTS_BACKOFF_MAX, longer when the
   receiver sent Retry-After), and after ALERTS_MAX_ATTEMPTS the message is `failed`.

Liveness: the LISTEN connection also holds the session advisory lock (727276, lease_key). If the
process dies, PostgreSQL drops the lock with the session and any other dispatcher (or this one
restarted) takes over its `sending` messages at once instead of waiting for the lease to end.

It uses its own small pool (two connections plus the LISTEN one) and never touches the
crawler's pool or tables; every error is logged (secrets masked) and retried, never raised into
the crawl.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg

from outsourcing.alerts import queue
from outsourcing.alerts.channels import SendResult, make_channel
from outsourcing.alerts.config import AlertsConfig
from outsourcing.alerts.messages import Message, alert_from_row
from outsourcing.query.connection import apply_schema, mask_secrets

logger = logging.getLogger(__name__)


@dataclass
class DispatcherOptions:
    poll_interval: float = 5.0
    send_timeout: float = 10.0
    lease_seconds: float = 60.0
    max_attempts: int = 10
    backoff_base: float = 5.0
    backoff_max: float = 3600.0
    batch: int = 100
    concurrency: int = 8
    connect_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> DispatcherOptions:
        options = cls(
            poll_interval=settings.getfloat("ALERTS_POLL_INTERVAL", 5.0),
            send_timeout=settings.getfloat("ALERTS_SEND_TIMEOUT", 10.0),
            lease_seconds=settings.getfloat("ALERTS_LEASE_SECONDS", 60.0),
            max_attempts=settings.getint("ALERTS_MAX_ATTEMPTS", 10),
            backoff_base=settings.getfloat("ALERTS_BACKOFF_BASE", 5.0),
            backoff_max=settings.getfloat("ALERTS_BACKOFF_MAX", 3600.0),
            batch=settings.getint("ALERTS_BATCH", 100),
            concurrency=settings.getint("ALERTS_CONCURRENCY", 8),
            connect_timeout=settings.getfloat("DB_CONNECT_TIMEOUT", 10.0),
        )
        # A lease must outlast any send (Apprise: connect + read timeouts), or a slow but live
        # send could be taken over and sent twice.
        options.lease_seconds = max(options.lease_seconds, 3 * options.send_timeout + 5)
        return options

    def backoff(self, failures: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, failures - 1))
        return delay * random.uniform(0.8, 1.2)


class Dispatcher:
    def __init__(self, config: AlertsConfig, dsn: str, options: DispatcherOptions | None = None, *,
                 node: str | None = None) -> None:
        self.config = config
        self.dsn = dsn
        self.options = options or DispatcherOptions()
        self.node = node or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.lease_key = random.randint(1, 2**31 - 1)
        self.routes = config.routes()
        used = {channel for _, channel in self.routes}
        self.channels = {name: make_channel(config.channels[name], timeout=self.options.send_timeout,
                                            masker=config.masker) for name in sorted(used)}
        self.pool: asyncpg.Pool | None = None
        self.counts: Counter[str] = Counter()
        self.ready = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._step_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and run in the background; returns at once (connection errors are retried)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout: float | None = None) -> None:
        """Stop after the current step (its sends are bounded by the send timeout)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout or self.options.send_timeout * 2 + 5)
            except TimeoutError:
                self._task.cancel()
                try:
                    await self._task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001
                    pass
            except Exception:  # noqa: BLE001 - already logged by the loop
                pass
        for channel in self.channels.values():
            try:
                await channel.close()
            except Exception:  # noqa: BLE001
                pass
        await self._close_connections()

    async def _close_connections(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            try:
                await asyncio.wait_for(listener.close(), 5)
            except Exception:  # noqa: BLE001
                listener.terminate()
        pool, self.pool = self.pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 5)
            except Exception:  # noqa: BLE001
                pool.terminate()

    def _mask(self, text: str) -> str:
        return self.config.masker.mask(mask_secrets(text, self.dsn))

    async def _connect(self) -> None:
        if self.pool is None:
            connection = await asyncpg.connect(self.dsn, timeout=self.options.connect_timeout)
            try:
                version = await queue.schema_version(connection)
                if version is None or version < queue.SCHEMA_VERSION:
                    logger.info("alerts: applying schema.sql (the database has version %s, alerts need %s)",
                                version, queue.SCHEMA_VERSION)
                    await apply_schema(connection)
                await queue.init_connection(connection)
                rows = await queue.sync_searches(connection, self.config, self.node)
            finally:
                await connection.close()
            for row in rows:
                if row["created"]:
                    logger.info("alerts: new saved search %r alerts postings committed from %s on "
                                "(earlier ones: scrapy alerts backfill %s --since DATE)",
                                row["name"], row["active_from"].isoformat(), row["name"])
            self.pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=2, timeout=self.options.connect_timeout, command_timeout=60,
                init=queue.init_connection,
                server_settings={"application_name": "outsourcing-alerts", "statement_timeout": "60000"})
        if self._listener is None or self._listener.is_closed():
            await self._listen()

    async def _listen(self) -> None:
        listener = await asyncpg.connect(self.dsn, timeout=self.options.connect_timeout,
                                         server_settings={"application_name": "outsourcing-alerts-listen"})
        for _ in range(20):
            if await listener.fetchval("SELECT pg_try_advisory_lock($1, $2)", queue.LOCK_NAMESPACE, self.lease_key):
                break
            self.lease_key = random.randint(1, 2**31 - 1)
        await listener.add_listener(queue.NOTIFY_CHANNEL, self._notified)
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _notified(self, *args: Any) -> None:
        self._wake.set()

    def _listener_lost(self, *args: Any) -> None:
        if not self._stopping:
            logger.warning("alerts: lost the LISTEN connection; polling every %.0fs until it is back",
                           self.options.poll_interval)
        self._wake.set()

    async def _run(self) -> None:
        delay = 1.0
        logger.info("alerts: dispatcher %s for %d saved searches (%s) over channels %s", self.node,
                    len(self.config.searches), ", ".join(s.name for s in self.config.searches),
                    ", ".join(self.config.channels[name].describe() for name in self.channels))
        while not self._stopping:
            try:
                await self._connect()
                self.ready.set()
                delay = 1.0
                worked = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a database or network fault: retried
                self.counts["errors"] += 1
                logger.warning("alerts: %s; retrying in %.0fs", self._mask(f"{type(error).__name__}: {error}"), delay)
                if self._listener is not None and self._listener.is_closed():
                    self._listener = None
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if worked or self._stopping:
                continue
            await self._sleep(await self._idle_time())

    async def _idle_time(self) -> float:
        wait = self.options.poll_interval
        if self.pool is not None:
            try:
                async with self.pool.acquire() as connection:
                    due = await queue.next_due(connection, self.routes)
                if due is not None:
                    wait = min(wait, due + 0.05)
            except Exception:  # noqa: BLE001 - the next step reports it
                pass
        if self._listener is None or self._listener.is_closed():
            wait = min(wait, 1.0)
        return wait

    async def _sleep(self, seconds: float) -> None:
        # Not cleared here: a notification that came during the step must start the next one.
        try:
            await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))
        except TimeoutError:
            pass

    # --- work --------------------------------------------------------------------------------------

    async def step(self) -> bool:
        """Match every outbox event, then claim and send one batch. True when anything was done."""
        async with self._step_lock:
            assert self.pool is not None
            self._wake.clear()
            matched = 0
            while True:
                async with self.pool.acquire() as connection:
                    result = await queue.match_events(connection)
                matched += result.events
                self.counts["matched_events"] += result.events
                self.counts["messages"] += result.messages
                if result.busy or result.events == 0:
                    break
            async with self.pool.acquire() as connection:
                claimed = await queue.claim(connection, self.routes, limit=self.options.batch,
                                            lease_seconds=self.options.lease_seconds, node=self.node,
                                            lease_key=self.lease_key)
            if claimed:
                await self._deliver(claimed)
            return bool(matched or claimed)

    async def _deliver(self, claimed: list[queue.Claimed]) -> None:
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            rows = await queue.message_postings(connection, [c.message_id for c in claimed])
        by_message: dict[int, list[Any]] = {}
        for row in rows:
            by_message.setdefault(row["message_id"], []).append(row)
        semaphore = asyncio.Semaphore(max(1, self.options.concurrency))

        async def send(item: queue.Claimed) -> SendResult:
            postings = by_message.get(item.message_id)
            if not postings:
                return SendResult(False, error="the message's postings are not in the database")
            message = Message(message_id=item.message_id, search=item.search, channel=item.channel, key=item.key,
                              digest=item.digest, alerts=[alert_from_row(item.search, row) for row in postings])
            async with semaphore:
                try:
                    return await self.channels[item.channel].send(message)
                except Exception as error:  # noqa: BLE001 - a channel's bug fails this attempt only
                    return SendResult(False, error=self._mask(f"{type(error).__name__}: {error}"))

        results = await asyncio.gather(*(send(item) for item in claimed))
        done: list[tuple[queue.Claimed, int | None]] = []
        failed: list[tuple[queue.Claimed, int | None, str, str, float]] = []
        for item, result in zip(claimed, results, strict=True):
            if result.ok:
                done.append((item, result.http_status))
                continue
            failures = item.attempt - item.retry_base
            retry_in = self.options.backoff(failures)
            if result.retry_after is not None:
                retry_in = max(retry_in, min(result.retry_after, self.options.backoff_max))
            error = self._mask(result.error or "failed")
            failed.append((item, result.http_status, "refused" if result.refused else "error", error, retry_in))
            last = failures >= self.options.max_attempts
            logger.log(logging.ERROR if last else logging.WARNING,
                       "alerts: %s -> %s (%s): attempt %d failed: %s; %s", item.search,
                       self.config.channels[item.channel].describe(), item.key, item.attempt, error,
                       f"marked failed after {failures} attempts (scrapy alerts retry {item.message_id})" if last
                       else f"next attempt in {retry_in:.0f}s")
        async with self.pool.acquire() as connection:
            async with connection.transaction():
                acknowledged = await queue.complete_ok(connection, done, self.node)
                now_failed = await queue.complete_failed(connection, failed, self.node, self.options.max_attempts)
        self.counts["delivered"] += acknowledged
        self.counts["lease_lost"] += len(done) - acknowledged
        self.counts["attempts_failed"] += len(failed)
        self.counts["failed"] += now_failed
        if done:
            logger.debug("alerts: %d messages delivered", acknowledged)

    async def drain(self, timeout: float) -> None:
        """Deliver what is due now, for at most `timeout` seconds: used when a crawl ends, so its
        last batch's alerts go out before the process exits. Stops at the first failed attempt
        (a failing receiver gets its retries later, from the next run or a standalone
        dispatcher), so a broken receiver never holds the crawl."""
        deadline = time.monotonic() + timeout
        # Connected within a few seconds or the database is away: then there is nothing to
        # drain now, and the crawl must not wait for it.
        if not await self.wait_ready(min(3.0, max(0.0, deadline - time.monotonic()))):
            logger.warning("alerts: not connected to the database; undelivered alerts wait there for the next run")
            return
        while time.monotonic() < deadline and not self._stopping:
            failed_before = self.counts["attempts_failed"]
            try:
                worked = await asyncio.wait_for(self.step(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                return
            except Exception as error:  # noqa: BLE001
                logger.warning("alerts: %s", self._mask(f"{type(error).__name__}: {error}"))
                return
            if not worked or self.counts["attempts_failed"] > failed_before:
                return

    async def run_once(self) -> None:
        """Connect, then match and send until nothing is due now (`scrapy alerts run --once`)."""
        await self._connect()
        self.ready.set()
        while await self.step():
            pass

    def summary(self) -> str:
        c = self.counts
        return (f"{c['matched_events']} postings matched, {c['messages']} messages created, {c['delivered']} delivered, "
                f"{c['attempts_failed']} failed attempts, {c['failed']} messages failed for good")
