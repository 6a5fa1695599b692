"""Storage under attack: what an adversarial user and a hostile site did to the writer, the spill
file and the exit status (issue 10, items 1-4, 6 and 7), as real crawls against the mirror and
a real PostgreSQL. Each scenario records its row for docs/reliability.md (make_report.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outsourcing.mirror import Mirror, Reply
from tests.conftest import CrawlResult, CrawlRunner, query
from tests.faults.sites import remoteok_body, serve_wwr
from tests.faults.spiders import SPIDER_MODULES, raw_posting
from tests.faults.test_scenarios import last_run, record
from tests.helpers import stored_count, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

DOWN = "postgresql://crawler:s3cr3t-pw@127.0.0.1:9/postings"  # nothing listens on port 9
SITE_DOWN = "http://127.0.0.1:9"
JSON = "application/json"
WITHOUT_VALIDATION = {"outsourcing.pipelines.dedup.DeduplicationPipeline": 400,
                      "outsourcing.pipelines.postgres.PostgresPipeline": 800}


def spilled_records(directory: Path) -> list[dict[str, Any]]:
    """The posting records of the spill files in `directory` (read line by line, as any reader of
    the documented format may)."""
    entries = [json.loads(line) for path in sorted(directory.glob("*.jsonl"))
               for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    return [entry["record"] for entry in entries if entry.get("kind") == "posting"]


@pytest.fixture(scope="module")
def spilled_120(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The records of a real spill file: a RemoteOK crawl of 120 postings with the database down
    (one crawl for the module; each test writes them into spill files of its own)."""
    runner = CrawlRunner(tmp_path_factory.mktemp("spill-once"))
    with Mirror() as mirror:
        mirror.add("/api", remoteok_body(120), content_type=JSON)
        first = runner("remoteok", base_url=mirror.url, database_url=DOWN, settings={"DB_RETRY_TIMEOUT": "1"}, feed=False)
    assert first.returncode == 1 and first.stat("outsourcing/storage/spilled") == 120, first.log[-3000:]
    records = spilled_records(runner.home / "spill")
    assert len(records) == 120
    return records


def write_v1(path: Path, lines: list[str]) -> None:
    """A spill file as format 1 crawlers wrote it: no header, one JSON record per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def v1_line(record: dict[str, Any]) -> str:
    return json.dumps({"kind": "posting", "record": record}, ensure_ascii=False)


# --- item 1: text no database can hold reaches storage ----------------------------------------

@pytest.mark.parametrize("batch_size", ["1", "500"])
def test_unencodable_text_is_rejected_with_a_reason_and_the_writer_goes_on(mirror, crawl, database_url, batch_size) -> None:
    # Raw dicts, straight from a spider: no item builder removed the lone surrogate (the payload a
    # platform sent, e.g. RemoteOK's JSON "\ud83d"), and no validation pipeline refuses it (it
    # would: `text:raw`), as with a bug in either or a project's own pipeline list. Storage must
    # cope on its own.
    postings = [raw_posting(n) for n in range(6)]
    postings[2]["raw"] = {"description": "emoji cut in half: \ud83d"}
    mirror.add("/items.json", json.dumps(postings), content_type=JSON)
    result = crawl("rawitems", base_url=mirror.url, database_url=database_url, timeout=120, feed=False,
                   settings={"SPIDER_MODULES": SPIDER_MODULES, "DB_BATCH_SIZE": batch_size, "DB_RETRY_TIMEOUT": "2",
                             "ITEM_PIPELINES": json.dumps(WITHOUT_VALIDATION)})
    assert result.returncode == 0, result.log[-3000:]  # every posting stored or rejected with a reason
    assert stored_count(database_url) == 5
    rejected = query(database_url, "SELECT * FROM rejected_items")
    assert [(r["external_id"], r["reason"]) for r in rejected] == [("5000002", "database:UnicodeEncodeError")]
    assert "surrogates not allowed" in rejected[0]["detail"]
    assert json.loads(rejected[0]["item"])["raw"]["description"] == "emoji cut in half: \ufffd"
    run = last_run(database_url)
    assert (run["finish_reason"], run["exit_code"], run["inserted"]) == ("finished", 0, 5)
    assert run["finished_at"] is not None
    figures = record(f"text no database can hold (a lone surrogate) reaches storage, batches of {batch_size}", 6,
                     database_url, "exit 0; 5 stored, 1 in rejected_items (database:UnicodeEncodeError); run recorded")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- item 2: the database is down and the spill disk is full ----------------------------------

@pytest.fixture
def unwritable_spill_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A spill folder the kernel refuses writes to: a full 32 KB tmpfs (as root), else a folder
    without write permission."""
    directory = tmp_path / "spill-full"
    directory.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(directory)], capture_output=True).returncode == 0
    if not mounted:
        directory.chmod(0o500)
        try:
            yield directory, "a spill folder without write permission"
        finally:
            directory.chmod(0o700)
        return
    try:
        filler = directory / "filler"
        with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 4096)
        os.truncate(filler, filler.stat().st_size - 4096)  # one page left: a header fits, records do not
        yield directory, "a full disk (32 KB tmpfs)"
    finally:
        subprocess.run(["umount", str(directory)], check=False)


def test_database_down_and_spill_disk_full_fails_loudly(mirror, crawl, database_url, unwritable_spill_dir) -> None:
    spill_dir, what = unwritable_spill_dir
    mirror.add("/api", remoteok_body(120), content_type=JSON)
    settings = {"SPILL_DIR": str(spill_dir), "DB_RETRY_TIMEOUT": "1"}
    first = crawl("remoteok", base_url=mirror.url, database_url=DOWN, settings=settings, feed=False, timeout=120)
    assert first.returncode == 1, first.log[-3000:]
    assert first.stat("outsourcing/storage/lost") == 120
    assert first.stat("outsourcing/storage/spilled") is None  # nothing claims to wait in a spill file
    assert "records are neither stored nor spilled and are LOST" in first.log
    assert "crawl failed: 120 records could be neither stored nor spilled: they are lost" in first.log
    assert spilled_records(spill_dir) == []  # no torn or partial batch left behind either
    # The failed run is the alarm; the next run, with the database back, stores everything.
    second = crawl("remoteok", base_url=mirror.url, database_url=database_url, settings=settings, feed=False)
    assert second.returncode == 0, second.log[-3000:]
    figures = record(f"PostgreSQL down and {what} for the spill file", 120, database_url,
                     "run 1 exit 1: 120 records reported LOST (neither stored nor spillable); run 2 exit 0 stored them")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- item 3: a rejected item whose text looks like an escape ----------------------------------

def literal_escape_jobs() -> bytes:
    # The description holds the characters C, :, \, u, 0, 0, 0, 0 (a Windows path, not a NUL).
    return remoteok_body(5, extra={2: {"position": "   ", "description": "<p>C:\\u0000 is where it lives</p>"}})


def test_rejected_item_with_a_literal_backslash_u0000_is_stored(mirror, crawl, database_url) -> None:
    mirror.add("/api", literal_escape_jobs(), content_type=JSON)
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url, settings={"DB_RETRY_TIMEOUT": "2"},
                   feed=False)
    assert result.returncode == 0, result.log[-3000:]
    [rejected] = query(database_url, "SELECT * FROM rejected_items")
    assert rejected["reason"] == "missing:title"
    assert json.loads(rejected["item"])["description"] == "C:\\u0000 is where it lives"
    run = last_run(database_url)
    assert (run["inserted"], run["spilled"], run["exit_code"]) == (4, 0, 0)
    figures = record("rejected item holding the text C:\\u0000 (a literal escape)", 5, database_url,
                     "exit 0; 4 stored, 1 in rejected_items with its text intact; nothing spilled")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_a_data_error_in_replay_is_isolated_not_taken_for_an_outage(mirror, crawl, database_url) -> None:
    mirror.add("/api", literal_escape_jobs(), content_type=JSON)
    first = crawl("remoteok", base_url=mirror.url, database_url=DOWN, settings={"DB_RETRY_TIMEOUT": "1"}, feed=False)
    assert first.returncode == 1 and first.stat("outsourcing/storage/spilled_rejected") == 1, first.log[-3000:]
    # The database is back (the site is not): the spill is written, its rejected item included.
    second = crawl("remoteok", base_url=SITE_DOWN, database_url=database_url, settings={"DB_RETRY_TIMEOUT": "2"},
                   feed=False)
    assert second.returncode == 1  # no listing page could be read this time
    assert "is unreachable" not in second.log, second.log[-3000:]
    assert second.stat("outsourcing/storage/replayed") == 4
    assert second.stat("outsourcing/storage/spilled") is None
    assert not list((crawl.home / "spill").iterdir())
    [rejected] = query(database_url, "SELECT * FROM rejected_items")
    assert json.loads(rejected["item"])["description"] == "C:\\u0000 is where it lives"
    figures = record("spilled rejected item holding C:\\u0000, replayed by the next run", 5, database_url,
                     "run 1 exit 1 (database down), 4 + 1 spilled; run 2 replayed all: no outage assumed, folder empty")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- item 4: spill files that are torn, old, or claimed by a process long gone -----------------

def test_a_torn_line_in_the_middle_is_kept_aside_with_a_warning(mirror, crawl, database_url, spilled_120) -> None:
    records = spilled_120
    mirror.add("/api", remoteok_body(120), content_type=JSON)
    spill_dir = crawl.home / "spill"
    path = spill_dir / "remoteok-20261101T000000Z-4242-torn.jsonl"
    lines = [v1_line(r) for r in records]
    torn = lines[60][:40]  # the process died mid-write, and a later run appended after it
    write_v1(path, lines[:60] + [torn] + lines[61:])
    second = crawl("remoteok", base_url=SITE_DOWN, database_url=database_url, feed=False)
    assert second.stat("outsourcing/storage/replayed") == 119, second.log[-3000:]
    assert second.stat("outsourcing/storage/spill_unreadable") == 1
    assert f"1 unreadable lines in spill file {path}" in second.log
    aside = path.with_name(path.name + ".unreadable")
    assert aside.read_text(encoding="utf-8") == torn + "\n"
    assert not path.exists()
    # The posting of the torn line is not lost for good: the next crawl of the site stores it.
    third = crawl("remoteok", base_url=mirror.url, database_url=database_url, feed=False)
    assert third.returncode == 0, third.log[-3000:]
    figures = record("spill file with a torn line in the middle", 120, database_url,
                     "119 replayed; the torn line kept aside in <file>.unreadable with a warning; the next crawl stored the 120th")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_an_older_format_file_with_an_unknown_line_is_replayed(crawl, database_url, spilled_120) -> None:
    records = spilled_120
    spill_dir = crawl.home / "spill"
    path = spill_dir / "remoteok-20261101T000000Z-4242.jsonl"
    odd = json.dumps({"record": records[0]})  # a line without "kind": no known shape
    write_v1(path, [v1_line(r) for r in records[:60]] + [odd] + [v1_line(r) for r in records[60:]])
    second = crawl("remoteok", base_url=SITE_DOWN, database_url=database_url, feed=False)
    assert second.stat("outsourcing/storage/replayed") == 120, second.log[-3000:]
    assert stored_count(database_url) == 120
    assert sorted(p.name for p in spill_dir.iterdir()) == [path.name + ".unreadable"]  # nothing left claimed
    figures = record("spill file in the older format, with a line of unknown shape", 120, database_url,
                     "all 120 replayed; the unknown line kept aside; no file left claimed")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def test_claims_of_dead_processes_are_recovered_and_live_ones_respected(crawl, database_url, spilled_120) -> None:
    records = spilled_120
    spill_dir = crawl.home / "spill"
    # Claimed by renaming, by a crawler whose pid is now 1: alive in every container, never ours.
    legacy = spill_dir / "remoteok-20261101T000000Z-77.jsonl.replaying-1"
    write_v1(legacy, [v1_line(r) for r in records[:60]])
    # Held by a live process (a run replaying it right now).
    held = spill_dir / "remoteok-20261101T000000Z-78.jsonl"
    write_v1(held, [v1_line(r) for r in records[60:]])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        second = crawl("remoteok", base_url=SITE_DOWN, database_url=database_url, feed=False)
        assert second.stat("outsourcing/storage/replayed") == 60, second.log[-3000:]
        assert not legacy.exists() and held.exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # it dies without a word: its lock goes with it
        holder.wait(timeout=30)
    third = crawl("remoteok", base_url=SITE_DOWN, database_url=database_url, feed=False)
    assert third.stat("outsourcing/storage/replayed") == 60, third.log[-3000:]
    assert not list(spill_dir.iterdir())
    figures = record("spill files claimed by a process that is gone (pid 1 after a restart; SIGKILL)", 120,
                     database_url, "the stale claim replayed at once; the live claim left alone until its holder died")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- item 6: SIGTERM while spill files are replayed -------------------------------------------

def test_sigterm_during_spill_replay_reads_like_a_shutdown(mirror, crawl, database_url) -> None:
    feeds, per_feed = 10, 50
    slugs = serve_wwr(mirror, feeds, per_feed)
    args = {"categories": ",".join(slugs)}
    first = crawl("weworkremotely", base_url=mirror.url, database_url=DOWN, args=args,
                  settings={"DB_RETRY_TIMEOUT": "1"}, feed=False)
    assert first.stat("outsourcing/storage/spilled") == feeds * per_feed, first.log[-3000:]
    slugs = serve_wwr(mirror, feeds, per_feed, delay=0.25)
    # Batches of 1: replaying 500 postings takes 500 transactions, long enough to interrupt.
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url, args=args,
                          settings={"DB_BATCH_SIZE": "1", "DOWNLOAD_DELAY": "0.1"}, feed=False)
    wait_for(lambda: stored_count(database_url) > 0)
    running.process.send_signal(signal.SIGTERM)
    result: CrawlResult = running.wait(timeout=120)
    assert stored_count(database_url) < feeds * per_feed, "the signal must land mid-replay"
    assert result.returncode == 1
    run = last_run(database_url)
    assert (run["finish_reason"], run["exit_code"]) == ("shutdown", 1), result.log[-3000:]
    assert run["finished_at"] is not None
    third = crawl("weworkremotely", base_url=mirror.url, database_url=database_url, args=args, feed=False)
    assert third.returncode == 0, third.log[-3000:]
    assert not list((crawl.home / "spill").glob("*.jsonl"))
    figures = record("SIGTERM while an earlier run's spill file is replayed", feeds * per_feed, database_url,
                     "exit 1, crawl_runs finished with finish_reason shutdown; the next run wrote the rest")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- item 7: a detail page fails once ---------------------------------------------------------

def test_a_transient_detail_failure_does_not_rewrite_stored_data(mirror, crawl, database_url) -> None:
    from tests.e2e.test_wishket_crawl import serve_wishket

    serve_wishket(mirror, [])
    columns = "external_id, title, description, category, skills, posted_at, deadline_at, proposals, budget_min, content_hash"
    first = crawl("wishket", base_url=mirror.url, database_url=database_url, feed=False)
    assert first.returncode == 0, first.log[-3000:]
    before = query(database_url, f"SELECT {columns} FROM postings ORDER BY external_id")
    # Every attempt at one detail page answers 500 (Scrapy retries it three times).
    mirror.fail("/project/201001/", [Reply(status=500)] * 4)
    second = crawl("wishket", base_url=mirror.url, database_url=database_url, feed=False)
    assert second.returncode == 0, second.log[-3000:]
    assert second.stat("outsourcing/request_errors/http_500") == 1  # the card was all this run saw
    assert query(database_url, f"SELECT {columns} FROM postings ORDER BY external_id") == before
    third = crawl("wishket", base_url=mirror.url, database_url=database_url, feed=False)
    assert third.returncode == 0, third.log[-3000:]
    runs = query(database_url, "SELECT inserted, updated, unchanged FROM crawl_runs ORDER BY id")
    assert [(r["inserted"], r["updated"], r["unchanged"]) for r in runs] == [(5, 0, 0), (0, 0, 5), (0, 0, 5)]
    figures = record("a detail page answers 500 for one run (Wishket), then recovers", 5, database_url,
                     "exit 0 each run; the card did not overwrite the detail's values: no update, no history row")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- the exit rule for postings a pipeline failed on ------------------------------------------

def test_a_posting_a_pipeline_fails_on_fails_the_crawl(mirror, crawl, database_url) -> None:
    postings = [raw_posting(n) for n in range(4)]
    postings[1]["raw"] = {"fail_in_pipeline": True}
    mirror.add("/items.json", json.dumps(postings), content_type=JSON)
    pipelines = {"outsourcing.pipelines.validation.ValidationPipeline": 300,
                 "outsourcing.pipelines.dedup.DeduplicationPipeline": 400,
                 "tests.faults.spiders.FailOnMarkedItem": 500,
                 "outsourcing.pipelines.postgres.PostgresPipeline": 800}
    result = crawl("rawitems", base_url=mirror.url, database_url=database_url, feed=False,
                   settings={"SPIDER_MODULES": SPIDER_MODULES, "ITEM_PIPELINES": json.dumps(pipelines)})
    assert result.returncode == 1, result.log[-3000:]
    assert stored_count(database_url) == 3
    problem = "1 postings failed in the pipelines (neither stored nor rejected)"
    assert f"crawl failed: {problem}" in result.log
    assert last_run(database_url)["problems"] == [problem]
