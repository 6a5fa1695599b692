"""`scrapy crawlall`: every platform (or the ones named) in one process, at the same time, then a
per-platform summary table; exit status 1 when any platform failed (outsourcing.outcome).

    scrapy crawlall                                   # every spider but the restricted ones
    scrapy crawlall remoteok weworkremotely -a max_pages=5
    scrapy crawlall -a weworkremotely:categories=remote-programming-jobs
    scrapy crawlall --every 3600                      # a loop: one round an hour, until stopped
    scrapy crawlall --every 600 --times 3             # three rounds, ten minutes apart

- `-a NAME=VALUE` goes to every spider (the contract's arguments, base_url included: one mirror
  serves every platform's paths); `-a SPIDER:NAME=VALUE` goes to that spider only and wins over
  the shared one. `-s` settings apply to every crawler.
- `-o`/`-O` need `%(name)s` in the file name when several spiders run (one file per spider);
  FEEDS_DIR gives per-platform files without that.
- `--every SECONDS` starts a round every SECONDS (start to start; a round that takes longer is
  followed at once by the next). `--times N` stops after N rounds. With a loop the exit status
  is 1 when any platform failed in any round. Ctrl-C / SIGTERM stops gracefully, as `crawl` does.
- After each round the last FAILING_RUNS_THRESHOLD (default 3) finished runs of each spider are
  read from crawl_runs; a platform whose runs all failed is flagged in the table and logged.

All crawlers share one reactor and one asyncio loop; each has its own PostingStore. Without
DATABASE_URL the embedded PostgreSQL is started once here and shared by all of them: its handles
are counted per process, so a store that closed it would stop the server under the others.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from scrapy.commands import BaseRunSpiderCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.utils.defer import ensure_awaitable

from outsourcing import logs
from outsourcing import stats as keys
from outsourcing.commands.crawl import refuse_arguments
from outsourcing.outcome import EXIT_FAILED, EXIT_OK, exit_code_of, problems_of
from outsourcing.storage.database import (
    ENV_DATABASE_URL,
    EmbeddedPostgres,
    configured_database_url,
    home_dir,
    mask_secrets,
)

logger = logging.getLogger(__name__)

SPIDER_ARG_SEPARATOR = ":"


# --- choosing spiders and their arguments --------------------------------------------------


def select_spiders(available: Iterable[str], requested: Sequence[str]) -> list[str]:
    """The spiders to run: the requested ones in the given order (duplicates dropped), or all
    of the project's, sorted. Unknown names are a usage error."""
    known = sorted(set(available))
    if not requested:
        return known
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise UsageError(f"unknown spider(s): {', '.join(unknown)}; known: {', '.join(known)}", print_help=False)
    return list(dict.fromkeys(requested))


def leave_out_restricted(names: Sequence[str], restricted: Mapping[str, str],
                         enabled: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """For a run of every spider: the names without the platforms whose terms restrict crawling
    (RESTRICTED_PLATFORMS) unless enabled (RESTRICTED_PLATFORMS_ENABLED), and those left out
    with the reason. Platforms named on the command line are never left out: naming is opting in."""
    allowed = set(enabled)
    skipped = {name: restricted[name] for name in names if name in restricted and name not in allowed}
    return [name for name in names if name not in skipped], skipped


def skipped_note(skipped: Mapping[str, str]) -> str:
    return "".join(
        f"not run: {name}: {reason}; name it (scrapy crawlall {name}) or add it to RESTRICTED_PLATFORMS_ENABLED "
        "once permission is granted\n"
        for name, reason in skipped.items()
    )


def spider_arguments(spargs: Mapping[str, str], names: Sequence[str], known: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each spider's arguments: the shared `-a NAME=VALUE` ones, overridden by its own
    `-a SPIDER:NAME=VALUE` ones."""
    known_set = set(known)
    shared = {key: value for key, value in spargs.items() if SPIDER_ARG_SEPARATOR not in key}
    own: dict[str, dict[str, str]] = {name: {} for name in names}
    for key, value in spargs.items():
        if SPIDER_ARG_SEPARATOR not in key:
            continue
        spider, _, argument = key.partition(SPIDER_ARG_SEPARATOR)
        if spider not in known_set or not argument:
            raise UsageError(f"-a {key}=...: {spider!r} is not a spider of this project", print_help=False)
        if spider in own:  # a spider not chosen this time just ignores its arguments
            own[spider][argument] = value
    return {name: {**shared, **own[name]} for name in names}


def check_feed_options(opts: argparse.Namespace, names: Sequence[str]) -> None:
    """-o/-O with several spiders must name one file per spider, or they would all write one."""
    uris = [*(opts.output or []), *(opts.overwrite_output or [])]
    if len(names) > 1 and any("%(name)s" not in uri for uri in uris):
        raise UsageError(
            "with several spiders, -o/-O need %(name)s in the file name (e.g. -O 'out/%(name)s.jsonl'), "
            "or use -s FEEDS_DIR=DIR",
            print_help=False,
        )


# --- results ---------------------------------------------------------------------------------


@dataclass
class PlatformResult:
    """One spider's run in one round, from its crawler's stats."""

    name: str
    exit_code: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped: int = 0
    errors: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    #: Exit codes of the last runs (newest first) when they all failed, else None.
    failing_streak: list[int | None] | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


def result_from_crawler(name: str, crawler: Crawler | None, error: BaseException | None) -> PlatformResult:
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler is not None and crawler.stats else {}
    if error is not None or not getattr(crawler, "spider", None):
        reason = f"{type(error).__name__}: {error}" if error is not None else "the spider was not created"
        return PlatformResult(name, EXIT_FAILED, problems=[f"the crawl did not start ({reason})"])
    code = exit_code_of(stats)
    problems = problems_of(stats)
    return PlatformResult(
        name=name,
        exit_code=code,
        inserted=int(stats.get(keys.STORAGE_INSERTED, 0)),
        updated=int(stats.get(keys.STORAGE_UPDATED, 0)),
        unchanged=int(stats.get(keys.STORAGE_UNCHANGED, 0)),
        dropped=int(stats.get("item_dropped_count", 0)),
        errors=int(stats.get(keys.ERRORS, 0)),
        seconds=float(stats.get("elapsed_time_seconds", 0.0)),
        problems=problems,
    )


async def failing_streaks(dsn: str, names: Sequence[str], threshold: int, timeout: float = 10.0) -> dict[str, list[int | None]]:
    """Spiders whose last `threshold` finished runs in crawl_runs all failed, with those runs'
    exit codes (newest first). Runs still going (no finished_at) are not judged."""
    connection = await asyncpg.connect(dsn, timeout=timeout)
    try:
        rows = await connection.fetch(
            """
            SELECT spider, array_agg(exit_code ORDER BY started_at DESC, id DESC) AS codes
            FROM (
                SELECT spider, exit_code, started_at, id,
                       row_number() OVER (PARTITION BY spider ORDER BY started_at DESC, id DESC) AS n
                FROM crawl_runs
                WHERE spider = ANY($1::text[]) AND finished_at IS NOT NULL
            ) recent
            WHERE n <= $2
            GROUP BY spider
            """,
            list(names),
            threshold,
        )
    finally:
        await connection.close()
    streaks: dict[str, list[int | None]] = {}
    for row in rows:
        codes = list(row["codes"])
        if len(codes) >= threshold and all(code != EXIT_OK for code in codes):
            streaks[row["spider"]] = codes
    return streaks


# --- the summary table -------------------------------------------------------------------------

_COLUMNS = ("platform", "result", "inserted", "updated", "unchanged", "dropped", "errors", "time", "notes")
_NUMERIC = frozenset({"inserted", "updated", "unchanged", "dropped", "errors", "time"})


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_summary(results: Sequence[PlatformResult], wall_seconds: float, round_number: int | None = None) -> str:
    """A plain-text table a person reads at the end of a run (and a script can grep). The
    total's time is the round's wall time: the platforms run at the same time."""
    rows: list[dict[str, str]] = []
    for result in results:
        notes = list(result.problems)
        if result.failing_streak is not None:
            notes.insert(0, f"FAILING: the last {len(result.failing_streak)} runs failed")
        rows.append({
            "platform": result.name,
            "result": "ok" if result.ok else "FAILED",
            "inserted": str(result.inserted),
            "updated": str(result.updated),
            "unchanged": str(result.unchanged),
            "dropped": str(result.dropped),
            "errors": str(result.errors),
            "time": format_duration(result.seconds),
            "notes": "; ".join(notes),
        })
    failed = sum(1 for result in results if not result.ok)
    rows.append({
        "platform": "total",
        "result": f"{failed} failed" if failed else "ok",
        **{key: str(sum(getattr(r, key) for r in results)) for key in ("inserted", "updated", "unchanged", "dropped", "errors")},
        "time": format_duration(wall_seconds),
        "notes": "",
    })
    widths = {column: max(len(column), *(len(row[column]) for row in rows)) for column in _COLUMNS}

    def line(values: Mapping[str, str]) -> str:
        cells = [values[c].rjust(widths[c]) if c in _NUMERIC else values[c].ljust(widths[c]) for c in _COLUMNS]
        return "  ".join(cells).rstrip()

    title = "crawlall summary" + (f" (round {round_number})" if round_number is not None else "")
    rule = "-" * len(line({c: c for c in _COLUMNS}))
    body = [line(row) for row in rows[:-1]]
    return "\n".join([title, line({c: c for c in _COLUMNS}), rule, *body, rule, line(rows[-1])])


# --- log lines that name their platform ----------------------------------------------------------


class PlatformLogRecord(logging.LogRecord):
    """A log record whose message starts with `<spider>: ` when it is about one crawl.

    Scrapy's own lines about a crawl ("Spider opened", "Retrying <GET ...>", the stats dump)
    carry the spider in `extra` but do not name it; with several crawlers interleaved in one
    log a person could not tell which platform they belong to. The project's own lines already
    start with the spider name and are left as they are. A record factory (not a formatter)
    because Scrapy replaces its log handler, formatter included, for every new crawler.
    """

    def getMessage(self) -> str:
        message = super().getMessage()
        name = _spider_name(self)
        if name and not message.startswith(f"{name}:"):
            return f"{name}: {message}"
        return message


def _spider_name(record: logging.LogRecord) -> str | None:
    spider = record.__dict__.get("spider")
    if spider is None:
        spider = getattr(record.__dict__.get("crawler"), "spidercls", None)
    name = getattr(spider, "name", None)
    return name if isinstance(name, str) else None


def name_platforms_in_log() -> None:
    """Use PlatformLogRecord for this process's log records (unless someone else already
    installed a record factory: theirs stays)."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(PlatformLogRecord)


# --- the shared embedded database -----------------------------------------------------------------


class SharedDatabase:
    """The database every crawler of this process uses. With DATABASE_URL (environment or
    setting) that is it; without, the embedded PostgreSQL is started once and its URL exported
    as DATABASE_URL for this process, so the stores connect to it and never start or stop it."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.embedded: EmbeddedPostgres | None = None
        self.dsn: str | None = configured_database_url(settings)

    def open(self) -> None:
        if self.dsn is not None:
            return
        self.embedded = EmbeddedPostgres(home_dir(self.settings) / "pgdata")
        try:
            self.dsn = self.embedded.start()
        except Exception as error:  # noqa: BLE001 - each store then reports and spills
            logger.error("The embedded PostgreSQL did not start: %s", error)
            self.embedded = None
            return
        os.environ[ENV_DATABASE_URL] = self.dsn
        logger.info("Every platform of this run shares the embedded PostgreSQL")

    def close(self) -> None:
        if self.embedded is not None:
            os.environ.pop(ENV_DATABASE_URL, None)
            self.embedded.stop()
            self.embedded = None


# --- the command ---------------------------------------------------------------------------


class Command(BaseRunSpiderCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[options] [spider ...]"

    def short_desc(self) -> str:
        return "Run every spider (or the named ones) in one process; print a summary table"

    def long_desc(self) -> str:
        return (
            "Run every spider of the project (but those whose terms restrict crawling, RESTRICTED_PLATFORMS, "
            "unless named or enabled), or the named ones, at the same time in one process, "
            "then print a per-platform summary (inserted, updated, unchanged, dropped, errors, time). "
            "Exits 1 when any platform failed. -a NAME=VALUE goes to every spider, "
            "-a SPIDER:NAME=VALUE to one. --every SECONDS repeats the round until stopped "
            "(or --times N rounds)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--every", type=float, metavar="SECONDS", default=None,
                            help="start a round every SECONDS until stopped (or --times rounds)")
        parser.add_argument("--times", type=int, metavar="N", default=None,
                            help="stop after N rounds (default: 1, or unlimited with --every)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if opts.every is not None and opts.every < 0:
            raise UsageError("--every needs a number of seconds >= 0", print_help=False)
        if opts.times is not None and opts.times < 1:
            raise UsageError("--times needs a number >= 1", print_help=False)
        if opts.times is not None and opts.times > 1 and opts.every is None:
            raise UsageError("--times N > 1 needs --every SECONDS", print_help=False)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        available = self.crawler_process.spider_loader.list()
        names = select_spiders(available, args)
        skipped: dict[str, str] = {}
        if not args:
            names, skipped = leave_out_restricted(names, self.settings.getdict("RESTRICTED_PLATFORMS"),
                                                  self.settings.getlist("RESTRICTED_PLATFORMS_ENABLED"))
            for name, reason in skipped.items():
                logger.warning("crawlall: not running %s: %s (name it, or add it to RESTRICTED_PLATFORMS_ENABLED)",
                               name, reason)
        check_feed_options(opts, names)
        arguments = spider_arguments(opts.spargs, names, available)
        for name in names:
            refuse_arguments(self.crawler_process.spider_loader.load(name), arguments[name])
        rounds = opts.times if opts.times is not None else (None if opts.every is not None else 1)
        name_platforms_in_log()
        logs.install()
        database = SharedDatabase(self.settings)
        database.open()
        loop = RoundLoop(self, names, arguments, every=opts.every or 0.0, rounds=rounds, database=database,
                         skipped=skipped)
        try:
            self.exitcode = loop.run()
        finally:
            database.close()


class RoundLoop:
    """Runs rounds of crawls on the reactor until the rounds are done or the process is told to
    stop, printing each round's summary."""

    def __init__(self, command: Command, names: Sequence[str], arguments: Mapping[str, dict[str, str]], *,
                 every: float, rounds: int | None, database: SharedDatabase,
                 skipped: Mapping[str, str] | None = None) -> None:
        assert command.crawler_process is not None and command.settings is not None
        self.command = command
        self.process = command.crawler_process
        self.names = list(names)
        self.arguments = arguments
        self.every = every
        self.rounds = rounds
        self.database = database
        self.skipped = dict(skipped or {})
        self.threshold = command.settings.getint("FAILING_RUNS_THRESHOLD", 3)
        self.any_failed = False
        self.round = 0
        #: The round not yet reported: spider name -> its crawler (for a summary after a stop).
        self._current: dict[str, Crawler] | None = None
        self._task: asyncio.Future[None] | None = None  # held: the loop keeps only weak references
        self._round_started = time.monotonic()

    def run(self) -> int:
        from twisted.internet import reactor

        reactor.callWhenRunning(self._start)
        self.process.start(stop_after_crawl=False)
        if self._current is not None:
            # Stopped (Ctrl-C, SIGTERM) before the round was reported: report what the crawlers
            # got to (without the run history: the loop is gone).
            results = [result_from_crawler(name, crawler, None) for name, crawler in self._current.items()]
            self._report(results, time.monotonic() - self._round_started)
        return EXIT_FAILED if self.any_failed else EXIT_OK

    def _start(self) -> None:
        self._task = asyncio.ensure_future(self._main())

    async def _main(self) -> None:
        try:
            while self.rounds is None or self.round < self.rounds:
                self.round += 1
                started = time.monotonic()
                results = await self._run_round()
                await self._flag_failing(results)
                self._report(results, time.monotonic() - started)
                self._current = None
                if self.rounds is not None and self.round >= self.rounds:
                    break
                wait = started + self.every - time.monotonic()
                if wait <= 0:
                    logger.warning("crawlall: round %d took %s, longer than --every %s; starting the next now",
                                   self.round, format_duration(time.monotonic() - started), format_duration(self.every))
                else:
                    logger.info("crawlall: next round in %s", format_duration(wait))
                    await asyncio.sleep(wait)
        except Exception:  # noqa: BLE001 - never leave the reactor running with nobody driving it
            logger.exception("crawlall: unexpected error")
            self.any_failed = True
        finally:
            self._stop_reactor()

    async def _run_round(self) -> list[PlatformResult]:
        logger.info("crawlall: round %d: %s", self.round, ", ".join(self.names))
        self._round_started = time.monotonic()
        crawlers = {name: self.command._create_crawler(name) for name in self.names}
        self._current = crawlers
        runs = [ensure_awaitable(self.process.crawl(crawler, **self.arguments[name])) for name, crawler in crawlers.items()]
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
        results: list[PlatformResult] = []
        for (name, crawler), outcome in zip(crawlers.items(), outcomes, strict=True):
            error = outcome if isinstance(outcome, BaseException) else None
            if error is not None:
                logger.error("%s: the crawl did not start: %s: %s", name, type(error).__name__, error)
            results.append(result_from_crawler(name, crawler, error))
        return results

    async def _flag_failing(self, results: list[PlatformResult]) -> None:
        dsn = self.database.dsn
        if not dsn or self.threshold < 1:
            return
        try:
            streaks = await failing_streaks(dsn, [r.name for r in results], self.threshold)
        except Exception as error:  # noqa: BLE001 - the history is a hint; the round's results stand
            logger.warning("crawlall: could not read the run history from the database: %s",
                           mask_secrets(f"{type(error).__name__}: {error}", dsn))
            return
        for result in results:
            result.failing_streak = streaks.get(result.name)
            if result.failing_streak is not None:
                logger.error("%s: the last %d runs all failed (exit codes, newest first: %s)", result.name,
                             len(result.failing_streak), result.failing_streak)

    def _report(self, results: list[PlatformResult], wall_seconds: float) -> None:
        self.any_failed |= any(not r.ok for r in results)
        for result in results:
            if not result.ok:
                logger.error("%s: FAILED: %s", result.name, "; ".join(result.problems) or "see the log above")
        sys.stdout.write(format_summary(results, wall_seconds, self.round if self.rounds != 1 else None) + "\n"
                         + skipped_note(self.skipped))
        sys.stdout.flush()

    def _stop_reactor(self) -> None:
        from twisted.internet import reactor
        from twisted.internet.error import ReactorNotRunning

        try:
            # twisted.internet.reactor is a module object standing in for the installed reactor;
            # mypy reads zope's interface methods as unbound functions.
            reactor.stop()  # type: ignore[misc]
        except (ReactorNotRunning, RuntimeError):
            pass  # already stopping: a signal got there first
