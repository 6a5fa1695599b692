"""`scrapy report`: what the stored postings say about the market over a period, as a terminal
summary, JSON or a self-contained HTML page; `scrapy report rates`: the exchange rates of the
labelled KRW/USD equivalents. Reads the crawler's database (DATABASE_URL, else the embedded
PostgreSQL) through read-only sessions: it never writes there.

    scrapy report --from 2026-11-01 --to 2026-12-01 --tz Asia/Seoul --format html --output nov.html
    scrapy report --platform wishket,kmong --category 개발 --skills React --format json
    scrapy report rates                      # the rates in use, with their dates
    scrapy report rates USD=1470 EUR=1700 --date 2026-12-01

Exit status: 0 written; 1 the database could not be read (or holds no schema 7 yet); 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from pydantic import ValidationError
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from outsourcing.query.connection import (
    DatabaseTarget,
    create_read_only_pool,
    home_dir,
    mask_secrets,
)
from outsourcing.query.filters import PostingFilter, describe_errors
from outsourcing.query.market import DEFAULT_TIME_ZONE
from outsourcing.query.report import (
    REPORT_SCHEMA_VERSION,
    prepare_session,
    report_schema_ready,
)
from outsourcing.report import rates as rates_module
from outsourcing.report.figures import (
    DEFAULT_DAYS,
    DEFAULT_TOP_SKILLS,
    PeriodSpec,
    build_report,
)

FORMATS = ("text", "json", "html")


class DatabaseProblem(RuntimeError):
    pass


class ReportCommand(ScrapyCommand):
    requires_project = True
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options] | rates [CUR=WON ...] [--date YYYY-MM-DD]"

    def short_desc(self) -> str:
        return "Market report over the stored postings (text, JSON or HTML); `report rates` for exchange rates"

    def long_desc(self) -> str:
        return __doc__ or ""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        group = parser.add_argument_group("report")
        group.add_argument("--from", dest="period_from", metavar="YYYY-MM-DD",
                           help=f"first day of the period, in --tz (default: {DEFAULT_DAYS} days before --to)")
        group.add_argument("--to", dest="period_to", metavar="YYYY-MM-DD",
                           help="day after the last one (exclusive; default: tomorrow, so today is included)")
        group.add_argument("--tz", default=DEFAULT_TIME_ZONE, metavar="ZONE",
                           help=f"IANA time zone of the days and weeks (default {DEFAULT_TIME_ZONE})")
        group.add_argument("--format", dest="report_format", choices=FORMATS, default="text",
                           help="text (terminal tables), json (every figure) or html (one file with charts)")
        group.add_argument("--output", dest="report_output", metavar="FILE",
                           help="write to FILE instead of standard output")
        group.add_argument("--equivalent", default="KRW", choices=("KRW", "USD", "none"),
                           help="labelled extra next to each budget figure in another currency (default KRW)")
        group.add_argument("--top-skills", type=int, default=DEFAULT_TOP_SKILLS, metavar="N",
                           help=f"skills in the top and rising lists (default {DEFAULT_TOP_SKILLS})")
        group.add_argument("--statement-timeout", type=float, default=600.0, metavar="SECONDS",
                           help="longest a query of the report may run (default 600)")
        group.add_argument("--date", dest="rates_date", metavar="YYYY-MM-DD",
                           help="report rates only: the date of the rates being set (default: today, UTC)")
        PostingFilter.add_arguments(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args and args[0] == "rates":
            self.exitcode = self._rates(args[1:], opts)
            return
        if args:
            raise UsageError(f"unexpected argument {args[0]!r}: `scrapy report [options]` or `scrapy report rates`")
        try:
            posting_filter = PostingFilter.from_arguments(opts)
        except ValidationError as error:
            raise UsageError("; ".join(describe_errors(error))) from error
        try:
            spec = PeriodSpec.build(_day(opts.period_from, "--from"), _day(opts.period_to, "--to"), opts.tz)
        except ValueError as error:
            raise UsageError(str(error)) from error
        if opts.top_skills < 1 or opts.top_skills > 200:
            raise UsageError("--top-skills must be between 1 and 200")
        assert self.settings is not None
        try:
            rates = rates_module.load(home_dir(self.settings))
        except rates_module.RatesError as error:
            raise UsageError(str(error)) from error
        equivalent = None if opts.equivalent == "none" else opts.equivalent

        target = DatabaseTarget.from_environment(self.settings)
        try:
            url = target.open(self.settings)
            report = asyncio.run(_read(url, posting_filter, spec, rates, equivalent, opts.top_skills,
                                       opts.statement_timeout))
        except DatabaseProblem as error:
            print(f"report: {error}", file=sys.stderr)
            self.exitcode = 1
            return
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            # The server refused, failed or timed out: said, exit status 1.
            print(f"report: could not read the database {target.masked}: {mask_secrets(str(error), target.url)}", file=sys.stderr)
            self.exitcode = 1
            return
        finally:
            target.close()
        text = render(report, opts.report_format)
        if opts.report_output:
            path = Path(opts.report_output)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"report written to {path} ({opts.report_format}, {report['postings']['n']:,} postings)",
                  file=sys.stderr)
        else:
            sys.stdout.write(text)
        self.exitcode = 0

    def _rates(self, args: list[str], opts: argparse.Namespace) -> int:
        assert self.settings is not None
        home = home_dir(self.settings)
        try:
            if args:
                assignments = rates_module.parse_assignments(args)
                day = _day(opts.rates_date, "--date") or datetime.now(UTC).date()
                path = rates_module.save(home, assignments, day)
                print(f"rates written to {path}: " + ", ".join(
                    f"1 {code} = {value} KRW ({day.isoformat()})" for code, value in assignments.items()))
            current = rates_module.load(home)
        except (rates_module.RatesError, ValueError) as error:
            raise UsageError(str(error)) from error
        if opts.report_format == "json":
            print(json.dumps(current.as_json(), ensure_ascii=False, indent=2))
        else:
            print(f"Won per one unit (base {rates_module.BASE}); user file: {rates_module.user_path(home)}")
            for code, rate in sorted(current.rates.items()):
                source = "shipped" if rate.source == "shipped" else "yours"
                print(f"  {code}  {rate.krw:>12,}  {rate.date.isoformat()}  {source}")
            if current.note:
                print(current.note)
        return 0


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from error


def render(report: dict[str, Any], kind: str) -> str:
    if kind == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if kind == "html":
        from outsourcing.report.html import render_html

        return render_html(report)
    from outsourcing.report.text import render_text

    return render_text(report)


async def open_report_pool(url: str, timeout: float) -> asyncpg.Pool:
    """One read-only session (default_transaction_read_only, like the API's), with a statement
    timeout: the report can neither write nor hold the database indefinitely."""
    return await create_read_only_pool(url, min_size=1, max_size=1, statement_timeout_ms=int(timeout * 1000),
                                       application_name="outsourcing-report")


async def _read(url: str, posting_filter: PostingFilter, spec: PeriodSpec, rates: rates_module.Rates,
                equivalent: str | None, top_skills: int, timeout: float) -> dict[str, Any]:
    pool = await open_report_pool(url, timeout)
    try:
        async with pool.acquire() as connection:
            if not await report_schema_ready(connection):
                raise DatabaseProblem(
                    f"the database has no schema version {REPORT_SCHEMA_VERSION} yet (the report's views): run a "
                    "crawl with this version of the project first; it applies the migrations (the report never writes)")
            await prepare_session(connection)
            return await build_report(connection, posting_filter, spec, rates, equivalent=equivalent,
                                      top_skills=top_skills)
    finally:
        await pool.close()
