"""`scrapy demo`: see the crawler work on all nine platforms with no network and no database.

1. Serves the recorded site (outsourcing/mirror/site.py: the project's own recorded pages of every
   platform, at the platforms' real paths) on 127.0.0.1.
2. Starts an embedded PostgreSQL of the demo's own, in `<OUTSOURCING_HOME>/demo/pgdata`.
3. Runs `scrapy crawlall <all nine spiders> -a base_url=<the site>` in a child process, exactly
   as a user runs it, with its log in `<demo home>/crawl.log`; its summary table is shown.
4. Shows a few stored postings with `scrapy sql`, what the crawl reported (the recorded site
   holds a few pages that a real crawl meets: login walls, partner-only details, a page whose
   structure is not recognised), and what to try next on the demo's database: SQL, the read API
   and web page (`scrapy serve`), the market report, and alerts with a config of the demo's own
   (`<demo home>/alerts.toml`, written here: one saved search, sent to stdout).

The demo's postings never mix with real ones: DATABASE_URL is not used and the demo keeps its own
OUTSOURCING_HOME (so its own embedded database and spill folder). Mixed in, recorded postings
would count in figures and alerts, and a real full run would mark them closed after two weeks.
Nor does its crawl use the environment's alerts config (OUTSOURCING_ALERTS_CONFIG, ALERTS_CONFIG):
the recorded postings would reach the real channels.
Run it again and the same postings come back unchanged (the `unchanged` column).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from outsourcing.alerts.location import ENV_CONFIG as ENV_ALERTS_CONFIG
from outsourcing.alerts.location import SETTING_CONFIG as ALERTS_CONFIG_SETTING
from outsourcing.storage.database import (
    ENV_DATABASE_URL,
    ENV_HOME,
    EmbeddedPostgres,
    home_dir,
)

#: Seconds between two requests to one platform. The site is local, so the platforms' own
#: delays (Wishket 5 s) would only make the demo slow; a little pause keeps it a crawl, not a flood.
DEMO_DOWNLOAD_DELAY = 0.25
#: Environment that would send the demo's postings or requests elsewhere (the alerts config: its
#: channels would receive the recorded postings).
_NOT_PASSED_ON = (ENV_DATABASE_URL, "OUTSOURCING_FEEDS_DIR", ENV_ALERTS_CONFIG)
SAMPLE_QUERY = ("SELECT platform, title, budget_min, budget_max, currency, budget_type FROM postings "
                "ORDER BY posted_at DESC NULLS LAST, platform LIMIT 8")
#: What to try after the demo: (what it shows, the command after `scrapy `); `{alerts}` is the
#: demo's alerts config. The README's demo section shows the same commands.
NEXT_STEPS: list[tuple[str, str]] = [
    ("postings per platform", 'sql "SELECT platform, count(*) FROM postings GROUP BY 1 ORDER BY 1"'),
    ("what each run did", ('sql "SELECT spider, exit_code, inserted, unchanged, errors, problems FROM crawl_runs '
                           'ORDER BY id DESC LIMIT 9"')),
    ("psql on the demo database", "sql"),
    ("the read API and web page: open http://127.0.0.1:8000/ or, in another shell,\n"
     "  #   curl -s 'http://127.0.0.1:8000/postings?currency=KRW&min_budget=10000000'  (Ctrl-C stops the server)",
     "serve"),
    # The recorded pages' postings were posted in September 2026 (a few are dated relative to
    # the day of the crawl): the report's default period, the last 28 days, would miss them.
    ("the market report of the recorded postings (add --format html --output report.html for charts)",
     "report --from 2026-09-01 --to 2026-10-02"),
    ("alerts: the saved search of {alerts} (KRW budgets of 1,000만원 or more), for the postings stored so far",
     "alerts backfill demo --since 2020-01-01 --config {alerts}"),
    ("alerts: deliver them (one JSON object per alert on stdout), then see what was sent",
     "alerts run --once --config {alerts}"),
    ("", "alerts status --config {alerts}"),
]
#: The demo's alerts config (written into the demo home): a stdout channel and one saved search,
#: so alerts work on the demo's postings with no secret and no receiver.
ALERTS_CONFIG = """\
# Written by `scrapy demo` (again on every run): alerts on the demo's database, with no secrets.
# A search alerts postings committed after it was first synced; `scrapy alerts backfill demo
# --since ...` alerts the ones stored before. Every key of [[searches]] but name, channels,
# changes and digest_minutes is a filter of the read API (README, "Alerts").

[channels.console]
type = "stdout"            # one JSON object per alert on standard output

[[searches]]
name = "demo"
channels = ["console"]
currency = "KRW"
min_budget = 10000000      # 1,000만원 or more: the posting's upper bound, in won
"""
_LOG_REPORT = re.compile(r"^\S+ \S+ \[[^\]]+\] (WARNING|ERROR): (.*)$")


class Command(ScrapyCommand):
    requires_project = True
    # Nothing crawls in this process: the crawl is a child `scrapy crawlall`, as a user runs it.
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl recorded pages of all nine platforms into a demo database (no network needed)"

    def long_desc(self) -> str:
        return ("Serves the project's recorded pages of every platform on 127.0.0.1, crawls them with every "
                "spider (scrapy crawlall -a base_url=...) into an embedded PostgreSQL of the demo's own "
                "(<OUTSOURCING_HOME>/demo; DATABASE_URL is not used), then shows what was stored and what to try "
                "next. -s settings go to the crawl.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--home", metavar="DIR", default=None,
                            help="the demo's OUTSOURCING_HOME (default <OUTSOURCING_HOME>/demo)")
        parser.add_argument("--port", type=int, default=0, metavar="N",
                            help="port of the recorded site on 127.0.0.1 (default: a free one)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy demo takes no arguments", print_help=False)
        assert self.settings is not None
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        home = Path(opts.home).expanduser().resolve() if opts.home else home_dir(self.settings) / "demo"
        home.mkdir(parents=True, exist_ok=True)
        # Here, not at the top: every `scrapy` process (each crawl) loads every command module.
        from outsourcing.mirror.server import Mirror
        from outsourcing.mirror.site import SITES, serve_recorded_site

        try:
            mirror = Mirror(port=opts.port)
        except OSError as error:
            raise UsageError(f"cannot listen on 127.0.0.1:{opts.port}: {error.strerror or error}",
                             print_help=False) from None
        serve_recorded_site(mirror)
        print(f"outsourcing demo: recorded pages of all {len(SITES)} platforms, crawled into a database of the demo's own")
        print(f"  demo home (its database and log): {home}")
        database = EmbeddedPostgres(home / "pgdata")
        with mirror:
            print(f"  recorded site: {mirror.url}", flush=True)
            started = time.monotonic()
            database.start()  # held open across the crawl and the queries: one server start
            try:
                print(f"  PostgreSQL ready ({time.monotonic() - started:.1f}s); crawling...", flush=True)
                self.exitcode = self._crawl(home, mirror.url, opts.set)
                self._show(home)
            finally:
                database.stop()
        alerts = home / "alerts.toml"
        alerts.write_text(ALERTS_CONFIG, encoding="utf-8")
        self._next_steps(home, alerts, home_dir(self.settings) / "pgdata")

    # --- steps -----------------------------------------------------------------------------------

    def _crawl(self, home: Path, site: str, settings: list[str]) -> int:
        from outsourcing.mirror.site import SITES

        log = home / "crawl.log"
        shown = ["crawlall", *SITES, "-a", f"base_url={site}"]
        command = [*shown, "--logfile", str(log), "-s", "LOG_FILE_APPEND=False",
                   "-s", f"DOWNLOAD_DELAY={DEMO_DOWNLOAD_DELAY}",
                   "-s", f"{ENV_DATABASE_URL}=",  # not even from a project setting
                   "-s", f"{ALERTS_CONFIG_SETTING}="]
        for setting in settings:  # the user's -s last: they win
            command += ["-s", setting]
        print(f"\n$ {_shown('scrapy', *shown)}\n  (log: {log})", flush=True)
        done = subprocess.run([sys.executable, "-m", "scrapy", *command], env=_child_environment(home), check=False)
        reported = [f"{level}: {message}" for level, message in _log_reports(log)]
        if reported:
            print("\nWhat the crawl reported (pages a real crawl meets too; each names its platform, URL and reason):")
            for line in reported[:12]:
                print(f"  {line}")
            if len(reported) > 12:
                print(f"  ... {len(reported) - 12} more in {log}")
        outcome = ("exit status 0: every posting was stored or rejected with a reason" if done.returncode == 0
                   else f"exit status {done.returncode}: see the reasons above and {log}")
        print(f"\nThe crawl finished ({outcome}).", flush=True)
        return done.returncode

    def _show(self, home: Path) -> None:
        print(f"\nA few of the stored postings:\n$ {_shown('scrapy', 'sql', SAMPLE_QUERY)}", flush=True)
        subprocess.run([sys.executable, "-m", "scrapy", "sql", SAMPLE_QUERY], env=_child_environment(home), check=False)

    def _next_steps(self, home: Path, alerts: Path, own_database: Path) -> None:
        prefix = f"{ENV_HOME}={shlex.quote(str(home))} {_launcher()}scrapy "
        if os.environ.get(ENV_ALERTS_CONFIG):
            # Else the crawl below would send the demo's postings to the real alert channels.
            prefix = f"{ENV_ALERTS_CONFIG}= {prefix}"
        if os.environ.get(ENV_DATABASE_URL):
            # Else these would read the database the environment names, not the demo's.
            prefix = f"{ENV_DATABASE_URL}= {prefix}"
        print("\nTry next (on the demo's database):")
        for what, command in NEXT_STEPS:
            comment = what.format(alerts=alerts)
            print(f"  # {comment}\n  {prefix}{command.format(alerts=shlex.quote(str(alerts)))}" if comment
                  else f"  {prefix}{command.format(alerts=shlex.quote(str(alerts)))}")
        print(f"  # serve the recorded site yourself and crawl one platform from it\n"
              f"  {_launcher(python=True)} -m outsourcing.mirror --port 8080 &\n"
              f"  {prefix}crawl guru -a base_url=http://127.0.0.1:8080")
        print("Your own crawls (scrapy crawl <spider>) write to DATABASE_URL or to the embedded database in "
              f"{own_database}, never to the demo's.")


def _child_environment(home: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in _NOT_PASSED_ON and not key.startswith("OUTSOURCING_PROXY_")}
    environment[ENV_HOME] = str(home)
    environment.setdefault("SCRAPY_SETTINGS_MODULE", "outsourcing.settings")
    # A proxy from the environment (http_proxy) must not see requests to the local site.
    for name in ("no_proxy", "NO_PROXY"):
        hosts = [host for host in environment.get(name, "").split(",") if host.strip()]
        environment[name] = ",".join([*hosts, "127.0.0.1", "localhost"])
    return environment


def _log_reports(log: Path) -> list[tuple[str, str]]:
    """(level, message) of the warnings and errors in a crawl log, in order."""
    if not log.exists():
        return []
    found = (_LOG_REPORT.match(line) for line in log.read_text(encoding="utf-8", errors="replace").splitlines())
    return [(match[1], match[2]) for match in found if match]


def _launcher(python: bool = False) -> str:
    """How the user started us, for commands they can paste: `./run ` inside the project's run
    script (which sets OUTSOURCING_RUN), else nothing (`python3` for a Python command)."""
    run = os.environ.get("OUTSOURCING_RUN")
    if python:
        return f"{run} python" if run else "python3"
    return f"{run} " if run else ""


def _shown(*words: str) -> str:
    return " ".join(shlex.quote(word) for word in words)
