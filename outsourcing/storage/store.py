"""PostingStore: the per-crawl connection to PostgreSQL that the pipelines share.

It owns the asyncpg pool (opened on the running asyncio loop), the buffers of postings and
rejected items, one background writer task that writes full batches in order, the retry policy,
the spill file, and the crawl's row in crawl_runs.

- `add_posting` buffers; a full buffer is handed to the writer, and when the writer is
  `DB_MAX_PENDING_BATCHES` behind, `add_posting` waits (back-pressure instead of memory growth).
  A buffer older than `DB_BATCH_MAX_AGE` seconds is handed over too, so a slow crawl still
  lands its postings within seconds.
- A batch that fails with anything but a data error is retried with exponential backoff for
  up to `DB_RETRY_TIMEOUT` seconds (asyncpg's pool replaces dead connections but re-runs
  nothing). After that it goes to the spill file and the store is "down": later batches get one
  attempt each before they are spilled, so a dead database does not stall the crawl.
- Data errors are isolated to single rows by the writer and stored in rejected_items.
- On open, spill files left by earlier runs are written first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import asyncpg
from scrapy import signals
from scrapy.crawler import Crawler

from outsourcing import stats as keys
from outsourcing.outcome import crawl_outcome
from outsourcing.signals import run_finishing
from outsourcing.storage import lifecycle
from outsourcing.storage import spill as spill_files
from outsourcing.storage.database import (
    EmbeddedPostgres,
    apply_schema,
    configured_database_url,
    home_dir,
    mask_dsn,
    mask_secrets,
)
from outsourcing.storage.writer import BatchResult, is_data_error, prepare_connection, write_batch, write_rejected

logger = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    pass


class PostingStore:
    @classmethod
    def of(cls, crawler: Crawler) -> PostingStore:
        """The crawl's one store, shared by the pipelines that need it."""
        store = getattr(crawler, "_outsourcing_store", None)
        if store is None:
            store = cls(crawler)
            crawler._outsourcing_store = store  # type: ignore[attr-defined]
        return store

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.batch_size = settings.getint("DB_BATCH_SIZE", 500)
        self.max_age = settings.getfloat("DB_BATCH_MAX_AGE", 5.0)
        self.pool_size = settings.getint("DB_POOL_SIZE", 2)
        self.connect_timeout = settings.getfloat("DB_CONNECT_TIMEOUT", 10.0)
        self.retry_timeout = settings.getfloat("DB_RETRY_TIMEOUT", 60.0)
        self.backoff_max = settings.getfloat("DB_RETRY_BACKOFF_MAX", 8.0)
        self.max_pending = settings.getint("DB_MAX_PENDING_BATCHES", 2)
        self.close_after_days = settings.getfloat("CLOSE_UNSEEN_AFTER_DAYS", 14.0)
        spill_dir = settings.get("SPILL_DIR") or str(home_dir(settings) / "spill")
        self.spill_dir = Path(spill_dir)
        self.configured_url = configured_database_url(settings)
        self.dsn: str | None = None
        self.pool: asyncpg.Pool | None = None
        self.embedded: EmbeddedPostgres | None = None
        self.run_id: int | None = None
        self.down = False
        self.started_at = time.time()
        self.spill: spill_files.SpillFile | None = None
        self.result = BatchResult()
        self._users = 0
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._postings: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._oldest: float | None = None
        self._queue: asyncio.Queue[tuple[list[dict[str, Any]], list[dict[str, Any]]] | None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._ager_task: asyncio.Task[None] | None = None
        self._finished = False
        self._done = asyncio.Event()  # set when finish() has recorded the run
        crawler.signals.connect(self.finish, signal=signals.spider_closed)

    @property
    def platform(self) -> str:
        spider = self.crawler.spider
        return spider.name if spider is not None else "crawl"

    @property
    def database_name(self) -> str:
        if self.dsn:
            return mask_dsn(self.dsn)
        return mask_dsn(self.configured_url) if self.configured_url else "the embedded PostgreSQL"

    # --- opening ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, apply the schema, start the run's row, write spilled batches. Idempotent:
        every pipeline that uses the store calls it."""
        self._users += 1
        async with self._open_lock:
            if self._opened:
                return
            self._opened = True
            spider = self.crawler.spider
            self.spill = spill_files.SpillFile(self.spill_dir, spider.name if spider else "crawl")
            self._queue = asyncio.Queue(maxsize=max(1, self.max_pending))
            try:
                await self._connect(self.retry_timeout)
            except DatabaseUnavailable as error:
                self.down = True
                logger.error(
                    "%s: database %s is unreachable (%s): postings will wait in the spill file %s "
                    "and be written by the next run that reaches the database",
                    self.platform, self.database_name, error, self.spill.path,
                )
                self._count("errors")
            self._writer_task = asyncio.create_task(self._writer(), name="outsourcing-writer")
            self._ager_task = asyncio.create_task(self._ager(), name="outsourcing-batch-ager")

    async def _connect(self, budget: float) -> None:
        """Create the pool, apply the schema, open the run row, replay spills; retried with
        backoff for `budget` seconds."""
        if self.dsn is None:
            if self.configured_url:
                self.dsn = self.configured_url
            else:
                self.embedded = EmbeddedPostgres(home_dir(self.crawler.settings) / "pgdata")
                try:
                    self.dsn = await asyncio.to_thread(self.embedded.start)
                except Exception as error:  # noqa: BLE001 - reported, then spilled
                    self.embedded = None
                    raise DatabaseUnavailable(f"embedded PostgreSQL did not start: {error}") from error
        deadline = time.monotonic() + budget
        delay = 0.5
        while True:
            try:
                if self.pool is None:
                    await self._apply_schema()
                    self.pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=max(1, self.pool_size),
                        timeout=self.connect_timeout,
                        command_timeout=max(60.0, self.retry_timeout),
                        init=prepare_connection,
                    )
                if self.run_id is None:
                    await self._start_run()
                logger.info("%s: storing postings in %s (crawl run %s)", self.platform, self.database_name, self.run_id)
                await self._replay_spills()
                return
            except Exception as error:  # noqa: BLE001 - connection faults of every kind
                if self.pool is not None:
                    await self._discard_pool()
                message = mask_secrets(f"{type(error).__name__}: {error}", self.dsn)
                if time.monotonic() + delay > deadline or is_data_error(error) and not _is_connection_error(error):
                    raise DatabaseUnavailable(message) from error
                logger.warning("%s: database %s not ready (%s); retrying in %.1fs", self.platform, self.database_name, message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    async def _apply_schema(self) -> None:
        """Apply schema.sql over a plain connection before the pool exists: the pool's `init`
        creates a stage table shaped like `postings`, which must exist first."""
        connection = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        try:
            version = await apply_schema(connection)
            logger.debug("Schema version %s applied", version)
        finally:
            await connection.close()

    async def _discard_pool(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.terminate()

    async def _start_run(self) -> None:
        assert self.pool is not None
        spider = self.crawler.spider
        self.run_id = await self.pool.fetchval(
            "INSERT INTO crawl_runs (spider, mode, started_at, host, pid) "
            "VALUES ($1, $2, to_timestamp($3), $4, $5) RETURNING id",
            spider.name if spider else "crawl",
            getattr(spider, "mode", "full"),
            self.started_at,
            socket.gethostname(),
            os.getpid(),
        )
        self.stats.set_value(keys.STORAGE_RUN_ID, self.run_id)

    async def _replay_spills(self) -> None:
        """Spill files of earlier runs (or of other crawls sharing the folder) are written first."""
        for path in spill_files.pending_files(self.spill_dir):
            if self.spill is not None and path == self.spill.path:
                continue
            written = await self._write_spill_file(path, "spilled by an earlier run")
            if written is not None:
                self._count("replayed", written[0])

    async def _take_back_spill(self) -> None:
        """The database is back within this run: write what this run spilled while it was gone,
        so the run ends with nothing waiting (and, if all else went well, exits 0)."""
        if self.spill is None or not self.spill.path.exists():
            return
        try:
            written = await self._write_spill_file(self.spill.path, "spilled earlier in this run")
        except Exception as error:  # noqa: BLE001 - the file stays for the next run
            logger.warning("%s: could not write back this run's spill file yet (%s)", self.platform,
                           mask_secrets(str(error), self.dsn))
            return
        if written is not None:
            postings, rejected = written
            self._count("spilled", -postings)
            self._count("spilled_rejected", -rejected)
            self._count("taken_back", postings)

    async def _write_spill_file(self, path: Path, origin: str) -> tuple[int, int] | None:
        """Claim a spill file, write its records, delete it; (postings, rejected) written, or None
        when another run claimed it first. On failure the file is given back and the error raised
        (writing some records twice later is harmless: the upsert finds them unchanged)."""
        claimed = spill_files.claim(path)
        if claimed is None:
            return None
        postings: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for kind, record in spill_files.read_records(claimed):
            (postings if kind == "posting" else rejected).append(record)
        logger.info("%s: writing %d postings and %d rejected items %s (%s)",
                    self.platform, len(postings), len(rejected), origin, path.name)
        try:
            for start in range(0, max(len(postings), 1), self.batch_size):
                chunk = _last_per_key(postings[start:start + self.batch_size])
                self._record(await self._write_once(chunk, rejected if start == 0 else []))
        except BaseException:
            claimed.rename(path)
            raise
        claimed.unlink()
        return len(postings), len(rejected)

    # --- buffering -------------------------------------------------------------------------

    async def add_posting(self, record: dict[str, Any]) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()
        self._postings.append(record)
        if len(self._postings) >= self.batch_size:
            await self._hand_over()

    async def add_rejected(self, entry: dict[str, Any]) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()
        self._rejected.append(entry)
        if len(self._rejected) >= self.batch_size:
            await self._hand_over()

    async def _hand_over(self) -> None:
        if not self._postings and not self._rejected:
            return
        batch = (self._postings, self._rejected)
        self._postings, self._rejected, self._oldest = [], [], None
        assert self._queue is not None
        await self._queue.put(batch)  # waits while the writer is max_pending batches behind

    async def flush(self) -> None:
        """Hand over what is buffered and wait until every batch is written or spilled."""
        if self._queue is None:
            return
        await self._hand_over()
        await self._queue.join()

    async def _ager(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.max_age / 4))
            if self._oldest is not None and time.monotonic() - self._oldest >= self.max_age:
                await self._hand_over()

    # --- writing ---------------------------------------------------------------------------

    async def _writer(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._queue.get()
            try:
                if batch is None:
                    return
                await self._write(*batch)
            except Exception:  # noqa: BLE001 - the writer must outlive any one batch
                logger.exception("%s: unexpected error while storing a batch; spilling it", self.platform)
                if batch is not None:
                    self._spill(*batch)
            finally:
                self._queue.task_done()

    async def _write(self, postings: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
        postings = _last_per_key(postings)
        budget = 0.0 if self.down else self.retry_timeout
        deadline = time.monotonic() + budget
        delay = 0.5
        while True:
            try:
                if self.pool is None:
                    await self._connect(0.0)
                result = await self._write_once(postings, rejected)
                self._record(result)
                if self.down:
                    logger.info("%s: database %s is reachable again", self.platform, self.database_name)
                    self.down = False
                    await self._take_back_spill()
                return
            except Exception as error:  # noqa: BLE001 - connection faults of every kind
                message = mask_secrets(f"{type(error).__name__}: {error}", self.dsn)
                self._count("write_failures")
                if time.monotonic() + delay > deadline:
                    if not self.down:
                        logger.error(
                            "%s: could not write a batch of %d postings to %s within %.0fs (%s); spilling it to %s",
                            self.platform, len(postings), self.database_name, self.retry_timeout, message,
                            self.spill.path if self.spill else "?",
                        )
                    self.down = True
                    self._spill(postings, rejected)
                    return
                logger.warning("%s: writing a batch to %s failed (%s); retrying in %.1fs",
                               self.platform, self.database_name, message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    async def _write_once(self, postings: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> BatchResult:
        if self.pool is None:
            raise DatabaseUnavailable("no connection pool")
        async with self.pool.acquire() as connection:
            result = await write_batch(connection, postings, self.run_id)
            refused = [
                {
                    "platform": record.get("platform"),
                    "external_id": record.get("external_id"),
                    "reason": reason,
                    "detail": mask_secrets(message, self.dsn),
                    "item": record,
                }
                for record, reason, message in result.refused
            ]
            for entry in refused:
                logger.error("%s: posting %s refused by the database: %s",
                             entry["platform"], entry["external_id"], entry["detail"])
            await write_rejected(connection, [*rejected, *refused], self.run_id)
        return result

    def _record(self, result: BatchResult) -> None:
        self.result.add(BatchResult(result.inserted, result.updated, result.unchanged))
        self._count("inserted", result.inserted)
        self._count("updated", result.updated)
        self._count("unchanged", result.unchanged)
        if result.refused:
            self._count("refused", len(result.refused))
            for _, reason, _ in result.refused:
                self.stats.inc_value(keys.rejected(reason))

    def _spill(self, postings: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
        assert self.spill is not None
        if postings:
            self.spill.append("posting", postings)
        if rejected:
            self.spill.append("rejected", rejected)
        self._count("spilled", len(postings))
        self._count("spilled_rejected", len(rejected))

    def _count(self, name: str, value: int = 1) -> None:
        if value:
            self.stats.inc_value(keys.storage(name), value)
            if name in ("errors", "refused"):
                self.stats.inc_value(keys.ERRORS, value)

    # --- closing ---------------------------------------------------------------------------

    async def release(self) -> None:
        """A pipeline is done with the store: write what is buffered."""
        self._users -= 1
        await self.flush()

    async def finish(self, spider: Any = None, reason: str = "finished") -> None:
        """spider_closed: everything is flushed; record the run and close the pool."""
        try:
            await self._finish(reason)
        finally:
            self._done.set()

    async def wait_finished(self) -> None:
        """Until finish() is through (other spider_closed handlers run concurrently with it)."""
        if self._opened:
            await self._done.wait()

    async def _finish(self, reason: str) -> None:
        if self._finished or not self._opened:
            return
        self._finished = True
        await self.flush()
        for task in (self._ager_task,):
            if task is not None:
                task.cancel()
        if self._queue is not None and self._writer_task is not None:
            await self._queue.put(None)
            await self._writer_task
        if self.spill is not None and self.spill.path.exists():
            # Batches spilled while the database was away: one more try before giving up on them.
            try:
                if self.pool is None:
                    await self._connect(0.0)
                await self._take_back_spill()
            except DatabaseUnavailable:
                pass
        stats = self.crawler.stats.get_stats()
        code, problems = crawl_outcome(stats, reason)
        self.stats.set_value(keys.EXIT_CODE, code)
        if self.pool is not None and self.run_id is not None:
            try:
                # Work that may only follow a clean run listens (outsourcing.signals): the
                # incremental watermark (outsourcing.incremental).
                await self.crawler.signals.send_catch_log_async(
                    signal=run_finishing, run_id=self.run_id, exit_code=code, pool=self.pool)
                if code == 0:
                    await self._after_clean_run()
                stats = self.crawler.stats.get_stats()
                await self._finish_run(reason, code, problems, stats)
            except Exception as error:  # noqa: BLE001
                logger.error("%s: could not record the crawl run in %s: %s", self.platform, self.database_name,
                             mask_secrets(str(error), self.dsn))
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)

    async def _after_clean_run(self) -> None:
        """After a complete, unfiltered full run, close postings unseen for long.

        A run cut short by max_pages/max_items saw only the newest part of the listing, and a
        filtered run (a category, a query) only part of the platform: they close nothing, since
        they did not look.
        """
        assert self.pool is not None and self.run_id is not None
        spider = self.crawler.spider
        if spider is None:
            return
        platform = spider.name
        scope = getattr(spider, "watermark_scope", "")
        stats = self.crawler.stats.get_stats()
        truncated = any(k.startswith(keys.TRUNCATED_PREFIX) for k in stats)
        complete_full_run = getattr(spider, "mode", "full") == "full" and not truncated and scope == ""
        if complete_full_run and self.close_after_days > 0:
            async with self.pool.acquire() as connection:
                closed = await lifecycle.close_unseen(connection, platform, self.close_after_days, self.run_id)
            if closed:
                logger.info("%s: %d postings not seen for %.0f days marked closed", platform, closed, self.close_after_days)
                self._count("closed", closed)

    async def _finish_run(self, reason: str, code: int, problems: list[str], stats: dict[str, Any]) -> None:
        assert self.pool is not None
        get = stats.get
        dropped = sum(v for k, v in stats.items() if k.startswith("item_dropped_reasons_count/"))
        await self.pool.execute(
            """
            UPDATE crawl_runs SET finished_at = now(), finish_reason = $2, exit_code = $3,
                scraped = $4, inserted = $5, updated = $6, unchanged = $7, dropped = $8,
                errors = $9, spilled = $10, replayed = $11, problems = $12, stats = $13::jsonb
            WHERE id = $1
            """,
            self.run_id,
            reason,
            code,
            int(get("item_scraped_count", 0)) + int(get("item_dropped_count", 0)),
            self.result.inserted,
            self.result.updated,
            self.result.unchanged,
            int(dropped or get("item_dropped_count", 0)),
            int(get(keys.ERRORS, 0)),
            int(get(keys.STORAGE_SPILLED, 0)),
            int(get(keys.STORAGE_REPLAYED, 0)),
            problems,
            json.dumps(stats, default=str),
        )


def _last_per_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most one record per posting in a batch (the latest), as the upsert requires."""
    latest: dict[tuple[Any, Any], dict[str, Any]] = {}
    for record in records:
        latest[(record.get("platform"), record.get("external_id"))] = record
    return list(latest.values())


def _is_connection_error(error: BaseException) -> bool:
    return isinstance(error, (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                              asyncio.TimeoutError, ConnectionError))
