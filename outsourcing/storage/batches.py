"""Batching, retries and the spill file: how records get from the pipelines into PostgreSQL.

- `add_posting` / `add_rejected` buffer records; a full buffer (`DB_BATCH_SIZE`) is handed to one
  writer task, and while the writer is `DB_MAX_PENDING_BATCHES` behind they wait (back-pressure
  instead of memory growth). A buffer older than `DB_BATCH_MAX_AGE` seconds is handed over too.
- The writer writes a batch's postings, then its rejected items (the postings PostgreSQL refused
  among them); a step that fails with a connection fault is retried with exponential backoff for
  `DB_RETRY_TIMEOUT` seconds, and a step done is never redone. After that the rest of the batch
  goes to the spill file and the database counts as "down": later batches get one try each, so a
  dead database does not stall the crawl. When a write succeeds again, what this run spilled is
  written back ("taken back"). A shutdown (Ctrl-C, SIGTERM) stops retrying: the batch is spilled.
- Spill files of earlier runs are written first, by the writer, before this run's batches.
  Records PostgreSQL refuses there are rejected like any other; only connection faults leave a
  file for a later run.
- Every record ends stored, rejected, spilled, or counted as lost (`outsourcing/storage/lost`:
  the spill file could not be written either). The writer never stops on a bad batch; should it
  stop anyway (a bug), that is logged, counted (`outsourcing/storage/writer_stopped`), and every
  record handed over afterwards is counted as lost instead of waiting forever, so the crawl still
  closes, records its run and fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from outsourcing import stats as keys
from outsourcing.storage import spill as spill_files
from outsourcing.storage.connection import Database, DatabaseUnavailable, is_connection_error
from outsourcing.storage.writer import BatchResult, write_batch, write_rejected

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Batch = tuple[list[Record], list[Record]]


class BatchWriter:
    def __init__(self, database: Database, spill: spill_files.SpillFile, stats: Any, settings: Any, *,
                 on_connect: Callable[[asyncpg.Pool], Awaitable[None]], stopping: Callable[[], bool]) -> None:
        self.database = database
        self.spill = spill
        self.stats = stats
        self.label = database.label
        self.batch_size = max(1, settings.getint("DB_BATCH_SIZE", 500))
        self.max_age = settings.getfloat("DB_BATCH_MAX_AGE", 5.0)
        self.max_pending = max(1, settings.getint("DB_MAX_PENDING_BATCHES", 2))
        self.retry_timeout = settings.getfloat("DB_RETRY_TIMEOUT", 60.0)
        self.backoff_max = settings.getfloat("DB_RETRY_BACKOFF_MAX", 8.0)
        self.on_connect = on_connect
        self.stopping = stopping
        self.down = False
        self.stopped: BaseException | None = None  # why the writer task ended early, if it did
        self._postings: list[Record] = []
        self._rejected: list[Record] = []
        self._oldest: float | None = None
        self._queue: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=self.max_pending)
        self._writer: asyncio.Task[None] | None = None
        self._ager: asyncio.Task[None] | None = None
        self._ended_normally = False
        self._replayed_earlier = False
        self._current: Batch | None = None  # the batch the writer is on

    def start(self, *, down: bool) -> None:
        self.down = down
        self._writer = asyncio.create_task(self._write_batches(), name=f"outsourcing-writer-{self.label}")
        self._writer.add_done_callback(self._writer_ended)
        self._ager = asyncio.create_task(self._age_buffers(), name=f"outsourcing-batch-ager-{self.label}")

    # --- buffering -------------------------------------------------------------------------

    async def add_posting(self, record: Record) -> None:
        if self._oldest is None:
            self._oldest = time.monotonic()
        self._postings.append(record)
        if len(self._postings) >= self.batch_size:
            await self._hand_over()

    async def add_rejected(self, entry: Record) -> None:
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
        if self.stopped is not None:
            self._lose(*batch, "the storage writer has stopped")
            return
        await self._queue.put(batch)  # waits while the writer is max_pending batches behind
        if self.stopped is not None:
            self._drain_as_lost()

    async def flush(self) -> None:
        """Hand over what is buffered and wait until every batch is written, spilled or lost."""
        await self._hand_over()
        if self.stopped is None:
            await self._queue.join()

    async def _age_buffers(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.max_age / 4))
            if self._oldest is not None and time.monotonic() - self._oldest >= self.max_age:
                await self._hand_over()

    async def close(self) -> None:
        """Flush, stop the writer, and give what this run spilled one more try."""
        await self.flush()
        if self._ager is not None:
            self._ager.cancel()
        if self._writer is not None and self.stopped is None:
            await self._queue.put(None)
            await asyncio.wait([self._writer])
        if self.spill.exists and not self.stopping():
            try:
                if self.database.pool is None:
                    await self.database.connect(0.0, then=self.on_connect)
                await self._take_back()
            except Exception as error:  # noqa: BLE001 - the file stays for the next run
                logger.info("%s: what this run spilled stays in %s for the next run (%s)", self.label,
                            self.spill.path, self.database.describe(error))
        self.spill.close()  # the lock goes: what is left is the next run's to replay

    # --- the writer task -------------------------------------------------------------------

    async def _write_batches(self) -> None:
        await self._replay_earlier_spills()
        while True:
            batch = await self._queue.get()
            try:
                if batch is None:
                    self._ended_normally = True
                    return
                self._current = batch
                try:
                    await self._write(*batch)
                except Exception:  # noqa: BLE001 - a bug in one batch must not end the writer
                    logger.exception("%s: unexpected error while storing a batch; spilling it", self.label)
                    self._spill(*batch)
                self._current = None
            finally:
                self._queue.task_done()

    def _writer_ended(self, task: asyncio.Task[None]) -> None:
        if self._ended_normally:
            return
        error: BaseException = asyncio.CancelledError() if task.cancelled() else (
            task.exception() or RuntimeError("the writer returned early"))
        self.stopped = error
        self._count("writer_stopped")
        self._count("errors")
        logger.error("%s: the storage writer stopped unexpectedly (%s: %s); records handed over from now on "
                     "are counted as lost", self.label, type(error).__name__, self.database.mask(str(error)))
        if self._current is not None:  # the batch it was writing: some of it may be stored, none is sure
            self._lose(*self._current, "the storage writer stopped while writing them")
            self._current = None
        self._drain_as_lost()

    def _drain_as_lost(self) -> None:
        while not self._queue.empty():
            batch = self._queue.get_nowait()
            self._queue.task_done()
            if batch is not None:
                self._lose(*batch, "the storage writer has stopped")

    async def _write(self, postings: list[Record], rejected: list[Record]) -> None:
        """Write one batch: postings, then rejected items; each step retried until it is done or
        the retry window is over (then what is left is spilled)."""
        postings = last_per_key(postings)
        rejected = list(rejected)
        was_down = self.down
        deadline = time.monotonic() + (0.0 if self.down else self.retry_timeout)
        delay = 0.5
        while True:
            try:
                if self.database.pool is None:
                    await self.database.connect(0.0, then=self.on_connect)
                if postings:
                    rejected += self._record(await self._write_postings(postings))
                    postings = []
                if rejected:
                    await self._write_rejected(rejected)
                    rejected = []
                break
            except Exception as error:  # noqa: BLE001 - connection faults of every kind
                message = self.database.describe(error)
                self._count("write_failures")
                if self.stopping() or time.monotonic() + delay > deadline:
                    if not self.down:
                        logger.error("%s: could not write a batch of %d postings to %s within %.0fs (%s); spilling it to %s",
                                     self.label, len(postings), self.database.name, self.retry_timeout, message,
                                     self.spill.directory)
                    self.down = True
                    self._spill(postings, rejected)
                    return
                logger.warning("%s: writing a batch to %s failed (%s); retrying in %.1fs",
                               self.label, self.database.name, message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
        if was_down:
            logger.info("%s: database %s is reachable again", self.label, self.database.name)
            self.down = False
            await self._after_reconnect()

    async def _write_postings(self, postings: list[Record]) -> BatchResult:
        if self.database.pool is None:
            raise DatabaseUnavailable("no connection pool")
        async with self.database.pool.acquire() as connection:
            return await write_batch(connection, postings, self.stats.get_value(keys.STORAGE_RUN_ID))

    async def _write_rejected(self, rejected: list[Record]) -> None:
        if self.database.pool is None:
            raise DatabaseUnavailable("no connection pool")
        async with self.database.pool.acquire() as connection:
            await write_rejected(connection, rejected, self.stats.get_value(keys.STORAGE_RUN_ID))

    def _record(self, result: BatchResult) -> list[Record]:
        """Count a written batch; the postings PostgreSQL refused, as rejected items to store."""
        self._count("inserted", result.inserted)
        self._count("updated", result.updated)
        self._count("unchanged", result.unchanged)
        refused = []
        for record, reason, message in result.refused:
            detail = self.database.mask(message)
            logger.error("%s: posting %s refused by the database: %s", record.get("platform"),
                         record.get("external_id"), detail)
            self.stats.inc_value(keys.rejected(reason))
            refused.append({"platform": record.get("platform"), "external_id": record.get("external_id"),
                            "reason": reason, "detail": detail, "item": record})
        self._count("refused", len(refused))
        return refused

    # --- spilling ----------------------------------------------------------------------------

    def _spill(self, postings: list[Record], rejected: list[Record]) -> None:
        """Append to this run's spill file; what cannot be appended is lost (and counted)."""
        if not postings and not rejected:
            return
        try:
            self.spill.append([*(("posting", r) for r in postings), *(("rejected", r) for r in rejected)])
        except Exception as error:  # noqa: BLE001 - a full disk, a read-only folder, a bug: all the same here
            self._lose(postings, rejected, f"the spill file could not be written ({type(error).__name__}: {error})")
            return
        self._count("spilled", len(postings))
        self._count("spilled_rejected", len(rejected))

    def _lose(self, postings: list[Record], rejected: list[Record], why: str) -> None:
        lost = len(postings) + len(rejected)
        if not lost:
            return
        self._count("lost", lost)
        self._count("errors")
        named = ", ".join(f"{r.get('platform')}/{r.get('external_id')}" for r in [*postings, *rejected][:10])
        logger.error("%s: %d records are neither stored nor spilled and are LOST: %s (%s%s)", self.label, lost,
                     self.database.mask(why), named, ", ..." if lost > 10 else "")

    async def _after_reconnect(self) -> None:
        """The database is back: write back what this run spilled, then earlier runs' files."""
        try:
            await self._take_back()
        except Exception as error:  # noqa: BLE001 - the file stays for the end of the run, or the next run
            logger.warning("%s: could not write back this run's spill file yet (%s)", self.label,
                           self.database.describe(error))
            return
        if not self._replayed_earlier:
            await self._replay_earlier_spills()

    async def _take_back(self) -> None:
        """Write what this run spilled (so a run whose database came back ends with nothing
        waiting); the counts move from spilled to taken back. Raises on a connection fault."""
        if not self.spill.exists:
            return
        contents = self.spill.read()
        if not await self._write_contents(contents, "spilled earlier in this run", self.spill.path):
            return
        self._count("spilled", -len(contents.postings))
        self._count("spilled_rejected", -len(contents.rejected))
        self._count("taken_back", len(contents.postings))
        self._report_unreadable(self.spill.path, contents)
        self.spill.discard(contents)

    async def _replay_earlier_spills(self) -> None:
        """Spill files of earlier runs (or of other crawls sharing the folder), oldest first. A
        file another live process holds is skipped; one that fails on a connection fault stays."""
        if self.database.pool is None or self.down:
            return
        self._replayed_earlier = True
        try:
            pending = spill_files.pending_files(self.spill.directory, own=self.spill.path)
        except OSError as error:
            logger.warning("%s: could not list the spill folder %s (%s)", self.label, self.spill.directory, error)
            return
        for path in pending:
            if self.stopping():
                return
            try:
                with spill_files.claim(path) as claim:
                    if claim is None:
                        continue
                    try:
                        contents = claim.read()
                    except spill_files.NewerSpillFormat as error:
                        logger.warning("%s: leaving spill file %s alone: %s", self.label, path, error)
                        continue
                    if not await self._write_contents(contents, "spilled by an earlier run", path):
                        return
                    self._report_unreadable(path, contents)
                    claim.done(contents)
                    self._count("replayed", len(contents.postings))
            except Exception as error:  # noqa: BLE001 - whatever it was, the file stays for a later run
                if is_connection_error(error):
                    logger.warning("%s: could not replay spill file %s now (%s); it stays for a later run",
                                   self.label, path.name, self.database.describe(error))
                    self._replayed_earlier = False
                    return
                logger.exception("%s: could not replay spill file %s; it stays for a later run", self.label, path.name)

    async def _write_contents(self, contents: spill_files.SpillContents, origin: str, path: Any) -> bool:
        """Write a spill file's records: its postings in batches, then every rejected item (the
        file's and those PostgreSQL refused) at once, so a fault midway writes no rejected item
        twice when the file is tried again. False when a shutdown stopped it (the file stays)."""
        name = getattr(path, "name", str(path))
        logger.info("%s: writing %d postings and %d rejected items %s (%s)",
                    self.label, len(contents.postings), len(contents.rejected), origin, name)
        rejected = list(contents.rejected)
        for start in range(0, len(contents.postings), self.batch_size):
            if self.stopping():
                logger.info("%s: shutting down: %s stays for a later run", self.label, name)
                return False
            rejected += self._record(await self._write_postings(last_per_key(contents.postings[start:start + self.batch_size])))
        if rejected:
            await self._write_rejected(rejected)
        return True

    def _report_unreadable(self, path: Any, contents: spill_files.SpillContents) -> None:
        if contents.unreadable:
            self._count("spill_unreadable", len(contents.unreadable))
            logger.warning("%s: %d unreadable lines in spill file %s (torn or in no known format) are kept in %s",
                           self.label, len(contents.unreadable), path,
                           f"{path}{spill_files.UNREADABLE_SUFFIX}")

    def _count(self, name: str, value: int = 1) -> None:
        if value:
            self.stats.inc_value(keys.storage(name), value)
            if name in ("errors", "refused"):
                self.stats.inc_value(keys.ERRORS, value)


def last_per_key(records: list[Record]) -> list[Record]:
    """At most one record per posting in a batch (the latest), as the upsert requires."""
    latest: dict[tuple[Any, Any], Record] = {}
    for record in records:
        latest[(record.get("platform"), record.get("external_id"))] = record
    return list(latest.values())
