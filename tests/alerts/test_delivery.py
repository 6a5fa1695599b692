"""Alerts end to end: real crawls of the mirror into a real PostgreSQL, real dispatchers (inside the
crawl and as `scrapy alerts run` processes), a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from outsourcing.alerts.messages import idempotency_key
from outsourcing.mirror import Reply
from tests.alerts.conftest import (
    FAST,
    SECRET,
    SECRET_ENV,
    alerts_env,
    dispatch_once,
    remoteok_jobs,
    scrapy_alerts,
    serve_remoteok,
    start_dispatcher,
    sync,
    write_config,
)
from tests.alerts.receiver import Receiver
from tests.conftest import fixture_path, query, run
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


def webhook_channel(name: str, url: str) -> str:
    return f'[channels.{name}]\ntype = "webhook"\nurl = "{url}"\nsecret_env = "{SECRET_ENV}"\n'


def key(search: str, external_id: str, platform: str = "remoteok") -> str:
    return idempotency_key(search, platform, external_id)


def attempts(database_url: str) -> list[dict]:
    return query(database_url, "SELECT a.*, m.key, m.channel FROM alert_attempts a JOIN alert_messages m "
                               "ON m.id = a.message_id ORDER BY a.id")


def test_each_matching_posting_reaches_the_receiver_once_across_two_crawls_and_a_restart(
        mirror, crawl, database_url, tmp_path) -> None:
    """The webhook receiver fails the first two requests, then accepts. Apprise (json:// and
    form://) goes to the same receiver. A second search asks for budget changes and collects a
    digest in a JSON Lines file."""
    failures = {"left": 2}
    lock = threading.Lock()

    def status_for(request) -> int:
        if request.path == "/hook":
            with lock:
                if failures["left"] > 0:
                    failures["left"] -= 1
                    return 500
        return 200

    jsonl = tmp_path / "out" / "budget.jsonl"
    with Receiver(status_for=status_for) as receiver:
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") + f"""
[channels.chat]
type = "apprise"
url_env = "ALERT_TEST_APPRISE_URL"
[channels.form]
type = "apprise"
url_env = "ALERT_TEST_APPRISE_FORM_URL"
language = "en"
[channels.file]
type = "jsonl"
path = "{jsonl}"

[[searches]]
name = "파이썬 remote"
channels = ["hook", "chat", "form"]
platform = ["remoteok"]
skills = ["Python"]

[[searches]]
name = "budget"
channels = ["file"]
currency = "USD"
min_budget = 100000
changes = ["budget_min", "budget_max"]
digest_minutes = 60
""")
        env = alerts_env(config, ALERT_TEST_APPRISE_URL=f"json://{receiver.host_port}/apprise",
                         ALERT_TEST_APPRISE_FORM_URL=f"form://{receiver.host_port}/form")
        home = tmp_path / "home"
        synced = scrapy_alerts(["sync"], database_url=database_url, home=home, env=env)
        assert synced.returncode == 0, synced.stderr[-3000:]

        serve_remoteok(mirror, remoteok_jobs())
        first = crawl("remoteok", base_url=mirror.url, database_url=database_url, env=env, settings=FAST)
        assert first.returncode == 0, first.log[-3000:]  # failed deliveries never fail the crawl

        jobs = remoteok_jobs(1)                     # a new Python job: 3000000
        jobs[1]["salary_max"] = 150000              # 2000001's budget goes up: a change
        serve_remoteok(mirror, jobs)
        time.sleep(0.3)                             # the failed webhook's retry comes due
        second = crawl("remoteok", base_url=mirror.url, database_url=database_url, env=env, settings=FAST)
        assert second.returncode == 0, second.log[-3000:]

        # The restart: a fresh dispatcher delivers what is due and sends nothing twice.
        dispatch_once(database_url, config, env)

        hook = [r for r in receiver.acknowledged() if r.path == "/hook"]
        expected = {key("파이썬 remote", "2000001"), key("파이썬 remote", "3000000")}
        assert Counter(r.headers["webhook-id"] for r in hook) == Counter(expected)  # each exactly once
        for request in hook:
            payload = Webhook(SECRET).verify(request.body, request.headers)  # the reference algorithm
            assert payload["data"]["idempotency_key"] == request.headers["webhook-id"]
            assert payload["data"]["search"] == "파이썬 remote"
            posting = payload["data"]["posting"]
            assert "raw" not in posting and "content_hash" not in posting
            assert posting["posted_at"].endswith("+00:00") and isinstance(posting["skills"], list)
        refused = [r for r in receiver.requests if r.path == "/hook" and r.status == 500]
        assert len(refused) == 2
        # The budget change of 2000001 did not alert "파이썬 remote" again (no `changes` there).
        assert all(json.loads(r.body)["type"] == "posting.new" for r in hook)

        chat = [r.json() for r in receiver.acknowledged() if r.path == "/apprise"]
        assert sorted(m["title"] for m in chat) == ["[파이썬 remote] Python Engineer 0",
                                                     "[파이썬 remote] Senior Data Engineer & Platform Lead"]
        senior = next(m["message"] for m in chat if "Senior" in m["title"])
        assert "예산 Budget: 90,000 USD ~ 120,000 USD, 연봉 per year" in senior
        assert "링크 Link: https://remoteok.com/remote-jobs/remote-senior-data-engineer-acme-analytics-2000001" in senior
        form = [r.form() for r in receiver.acknowledged() if r.path == "/form"]
        assert len(form) == 2 and all("Budget:" in f["message"][0] and "예산" not in f["message"][0] for f in form)

    # Ledger: every attempt, one acknowledged per message, the two refusals with their status.
    ledger = attempts(database_url)
    acknowledged = Counter(row["message_id"] for row in ledger if row["outcome"] == "acknowledged")
    assert set(acknowledged.values()) == {1}
    assert [(row["http_status"], row["outcome"]) for row in ledger if row["outcome"] != "acknowledged"] == \
        [(500, "refused"), (500, "refused")]
    assert {row["status"] for row in query(database_url, "SELECT status FROM alert_messages")} == {"delivered"}

    # The budget search: its first match went out at once as a digest (a quiet search is not held
    # back); the new posting and the budget change of 2000001 wait for the next one (60 minutes).
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == ["postings.digest"]
    assert [(i["kind"], i["posting"]["external_id"]) for i in lines[0]["data"]["postings"]] == [("new", "2000001")]
    waiting = query(database_url, "SELECT kind, external_id, change_at IS NOT NULL AS versioned FROM alert_deliveries "
                                  "WHERE search = 'budget' AND message_id IS NULL ORDER BY external_id")
    assert waiting == [{"kind": "changed", "external_id": "2000001", "versioned": True},
                       {"kind": "new", "external_id": "3000000", "versioned": False}]


def test_alerts_go_out_while_the_crawl_runs(mirror, crawl, database_url, tmp_path) -> None:
    """Page 2 of the listing is answered only once the receiver has an alert for page 1 (or after
    60 s): the alert must come from the running crawl's first commit, not from its end."""
    released_by_alert = threading.Event()
    with Receiver() as receiver:

        def page_two(request) -> Reply:
            if receiver.arrived.wait(45):
                released_by_alert.set()
            return Reply(body=fixture_path("guru", "jobs-page-2.html").read_bytes())

        mirror.add_file("/d/jobs/", fixture_path("guru", "jobs-page-1.html"), content_type="text/html; charset=utf-8")
        mirror.add("/d/jobs/pg/2/", page_two)
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") +
                              '\n[[searches]]\nname = "guru"\nchannels = ["hook"]\nplatform = ["guru"]\n')
        env = alerts_env(config)
        sync(database_url, config, env)
        result = crawl("guru", base_url=mirror.url, database_url=database_url, env=env, settings=FAST)
        assert result.returncode == 0, result.log[-3000:]
        assert released_by_alert.is_set(), "the first alert only arrived after the crawl stopped waiting"
        assert len(set(receiver.ids())) == 5
        # Latency as the database saw it: commit (the trigger's clock) -> the receiver's clock.
        first = query(database_url, "SELECT extract(epoch FROM min(event_at)) AS t FROM alert_deliveries")[0]["t"]
        print(f"first alert {min(r.at for r in receiver.requests) - float(first):.3f}s after its commit")


def test_two_dispatchers_deliver_each_key_once(mirror, crawl, database_url, tmp_path) -> None:
    count = 80
    with Receiver(status_for=lambda request: (time.sleep(0.02), 200)[1]) as receiver:
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") +
                              '\n[[searches]]\nname = "python"\nchannels = ["hook"]\nskills = ["python"]\n')
        env = alerts_env(config)
        home = tmp_path / "home"
        sync(database_url, config, env)
        small_batches = {"ALERTS_BATCH": "5", "ALERTS_CONCURRENCY": "4"}
        dispatchers = [start_dispatcher(database_url=database_url, home=home, env=env, settings=small_batches,
                                        log=tmp_path / f"dispatcher-{n}.log") for n in range(2)]
        try:
            # Both are listening (each holds its liveness lock) before the postings arrive.
            wait_for(lambda: query(database_url, "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' "
                                                 "AND classid = 727276 AND objsubid = 2")[0]["n"] == 2, timeout=60)
            serve_remoteok(mirror, remoteok_jobs(count))
            # This crawl has no alerts config: the two standalone dispatchers do the work.
            result = crawl("remoteok", base_url=mirror.url, database_url=database_url, feed=False)
            assert result.returncode == 0, result.log[-3000:]
            wait_for(lambda: len(set(receiver.ids())) >= count + 1, timeout=90)
        finally:
            for process in dispatchers:
                process.send_signal(signal.SIGTERM)
            for process in dispatchers:
                process.wait(30)
        assert all(process.returncode == 0 for process in dispatchers)
        assert Counter(receiver.ids(acknowledged=False)).most_common(1)[0][1] == 1  # no key sent twice
        assert len(receiver.requests) == count + 1
    nodes = query(database_url, "SELECT node, count(*) AS n FROM alert_attempts GROUP BY node")
    assert len(nodes) == 2, nodes   # both took part (SKIP LOCKED split the work)
    assert query(database_url, "SELECT count(*) AS n FROM alert_attempts WHERE outcome = 'acknowledged'")[0]["n"] == count + 1


def test_sigkill_mid_delivery_loses_nothing(mirror, crawl, database_url, tmp_path) -> None:
    with Receiver() as receiver:
        receiver.hold.clear()   # requests wait until the test lets them go
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") +
                              '\n[[searches]]\nname = "all"\nchannels = ["hook"]\n')
        env = alerts_env(config)
        home = tmp_path / "home"
        sync(database_url, config, env)
        serve_remoteok(mirror, remoteok_jobs())
        assert crawl("remoteok", base_url=mirror.url, database_url=database_url, feed=False).returncode == 0
        dispatcher = start_dispatcher(database_url=database_url, home=home, env=env, log=tmp_path / "killed.log",
                                      settings={"ALERTS_SEND_TIMEOUT": "30"})
        try:
            assert receiver.holding.wait(60), (tmp_path / "killed.log").read_text()
            dispatcher.send_signal(signal.SIGKILL)   # mid-delivery: the receiver holds the requests
            dispatcher.wait(30)
        finally:
            if dispatcher.poll() is None:
                dispatcher.kill()
        assert {row["status"] for row in query(database_url, "SELECT status FROM alert_messages")} == {"sending"}
        # The held requests end without being taken (as if the receiver crashed with the sender);
        # only a delivery after the restart can be acknowledged.
        receiver.status_for = lambda request: 503
        receiver.hold.set()
        wait_for(lambda: len(receiver.requests) == 3, timeout=30)
        receiver.status_for = None
        # Restarted: the dead dispatcher's lease is taken over at once (its liveness lock is gone),
        # long before the 95 s lease would end.
        restarted = scrapy_alerts(["run", "--once"], database_url=database_url, home=home, env=env,
                                  settings={"ALERTS_SEND_TIMEOUT": "30"})
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        expected = {key("all", external_id) for external_id in ("2000001", "2000002", "2000003")}
        assert set(receiver.ids()) == expected   # nothing lost; repeats carry the same webhook-id
    assert {row["status"] for row in query(database_url, "SELECT status FROM alert_messages")} == {"delivered"}
    ledger = attempts(database_url)
    assert Counter(row["outcome"] for row in ledger)["acknowledged"] == 3
    assert {row["outcome"] for row in ledger if row["attempt"] == 1} == {"interrupted"}


def test_failed_messages_are_visible_retryable_and_never_slow_the_crawl(mirror, crawl, database_url, tmp_path) -> None:
    with Receiver(status_for=lambda request: 503) as receiver:
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") +
                              '\n[[searches]]\nname = "all"\nchannels = ["hook"]\n')
        env = alerts_env(config)
        home = tmp_path / "home"
        settings = {"ALERTS_MAX_ATTEMPTS": "2", "ALERTS_BACKOFF_BASE": "0.1"}
        sync(database_url, config, env)
        serve_remoteok(mirror, remoteok_jobs())
        result = crawl("remoteok", base_url=mirror.url, database_url=database_url, env=env,
                       settings={**FAST, **settings})
        assert result.returncode == 0, result.log[-3000:]
        assert "attempt 1 failed: HTTP 503" in result.log
        time.sleep(0.3)
        dispatch_once(database_url, config, env, settings)
        status = scrapy_alerts(["status"], database_url=database_url, home=home, env=env)
        assert status.returncode == 0, status.stderr[-2000:]
        assert "failed" in status.stdout and "HTTP 503" in status.stdout, status.stdout
        rows = query(database_url, "SELECT id, status, attempts FROM alert_messages ORDER BY id")
        assert [(row["status"], row["attempts"]) for row in rows] == [("failed", 2)] * 3

        # Drop one by hand, retry the rest once the receiver works again.
        assert run(_drop(database_url, rows[0]["id"])) == 1
        receiver.status_for = None
        retried = scrapy_alerts(["retry", "--failed"], database_url=database_url, home=home, env=env)
        assert "2 messages back to pending" in retried.stdout, retried.stdout + retried.stderr
        assert dispatch_once(database_url, config, env, settings)["delivered"] == 2
        assert len(receiver.acknowledged()) == 2
    rows = query(database_url, "SELECT status FROM alert_messages ORDER BY id")
    assert [row["status"] for row in rows] == ["dropped", "delivered", "delivered"]


def test_a_new_search_starts_from_now_unless_backfilled(mirror, crawl, database_url, tmp_path) -> None:
    serve_remoteok(mirror, remoteok_jobs())
    assert crawl("remoteok", base_url=mirror.url, database_url=database_url, feed=False).returncode == 0
    jsonl = tmp_path / "late.jsonl"
    config = write_config(tmp_path, f'[channels.file]\ntype = "jsonl"\npath = "{jsonl}"\n'
                                    '\n[[searches]]\nname = "late"\nchannels = ["file"]\n'
                                    '\n[[searches]]\nname = "designers"\nchannels = ["file"]\nq = "DESIGNER"\n')
    env = alerts_env(config)
    home = tmp_path / "home"
    # The search is new: the postings stored before it never alert (no flood)...
    sync(database_url, config, env)
    assert dispatch_once(database_url, config, env)["messages"] == 0 and not jsonl.exists()
    assert query(database_url, "SELECT count(*) AS n FROM alert_deliveries")[0]["n"] == 0
    # ...unless asked: backfill the last day.
    filled = scrapy_alerts(["backfill", "late", "--since", "1d"], database_url=database_url, home=home, env=env)
    assert "3 deliveries in 3 messages" in filled.stdout, filled.stdout + filled.stderr
    dispatch_once(database_url, config, env)
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["data"]["posting"]["external_id"] for line in lines) == ["2000001", "2000002", "2000003"]
    # A second backfill finds them alerted: no repeats.
    assert run(_backfill(database_url, "late")) == (0, 0)
    # The search's text filter is the API's: only "Product Designer" (case-insensitive substring).
    assert run(_backfill(database_url, "designers")) == (1, 1)


def test_crawlall_runs_one_dispatcher_for_every_platform(mirror, database_url, tmp_path) -> None:
    from tests.conftest import REPO

    serve_remoteok(mirror, remoteok_jobs())
    mirror.add_file("/remote-jobs.rss", fixture_path("weworkremotely", "remote-jobs.rss"),
                    content_type="application/rss+xml; charset=utf-8")
    jsonl = tmp_path / "all.jsonl"
    config = write_config(tmp_path, f'[channels.file]\ntype = "jsonl"\npath = "{jsonl}"\n'
                                    '\n[[searches]]\nname = "all"\nchannels = ["file"]\n')
    env = alerts_env(config)
    home = tmp_path / "home"
    sync(database_url, config, env)
    import os
    import sys

    environment = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **env,
                   "DATABASE_URL": database_url, "OUTSOURCING_HOME": str(home), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "scrapy", "crawlall", "remoteok", "weworkremotely", "-a",
               f"base_url={mirror.url}", "-s", "DOWNLOAD_DELAY=0", "-s", "DB_BATCH_MAX_AGE=0.5"]
    done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("alerts: dispatcher ") == 1   # one per process, shared by the crawlers
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    stored = query(database_url, "SELECT platform, external_id FROM postings")
    assert sorted((line["data"]["posting"]["platform"], line["data"]["posting"]["external_id"]) for line in lines) == \
        sorted((row["platform"], row["external_id"]) for row in stored)
    assert {row["platform"] for row in stored} == {"remoteok", "weworkremotely"}


async def _drop(database_url: str, message_id: int) -> int:
    import asyncpg

    from outsourcing.alerts import queue

    connection = await asyncpg.connect(database_url)
    try:
        return await queue.drop(connection, ids=[message_id])
    finally:
        await connection.close()


async def _backfill(database_url: str, name: str) -> tuple[int, int]:
    import asyncpg

    from outsourcing.alerts import queue

    connection = await asyncpg.connect(database_url)
    try:
        await queue.init_connection(connection)
        result = await queue.backfill(connection, name, datetime.now(UTC) - timedelta(days=1))
    finally:
        await connection.close()
    return result.deliveries, result.messages


@pytest.mark.scrapyd
def test_a_scrapyd_job_delivers_alerts(mirror, database_url, tmp_path) -> None:
    """A job run from the deployed egg, with the alerts config in scrapyd's environment (as the
    crawler's EnvironmentFile would give it), signs and delivers like any crawl."""
    from tests.e2e.test_scrapyd import copy_project, scrapyd_deploy, scrapyd_node

    serve_remoteok(mirror, remoteok_jobs())
    with Receiver() as receiver:
        config = write_config(tmp_path, webhook_channel("hook", f"{receiver.url}/hook") +
                              '\n[[searches]]\nname = "python"\nchannels = ["hook"]\nskills = ["python"]\n')
        env = alerts_env(config)
        sync(database_url, config, env)
        project = copy_project(tmp_path / "project")
        with scrapyd_node(tmp_path / "node", database_url, env) as node:
            scrapyd_deploy(project, "env", "--version", "r1", scrapyd_url=node.url)
            job = node.schedule("remoteok", args={"base_url": mirror.url},
                                settings={"DOWNLOAD_DELAY": "0", "DB_BATCH_MAX_AGE": "0.5"})
            node.wait_for(job, "finished")
            log = node.job_log("remoteok", job)
        assert "alerts: dispatcher" in log, log[-3000:]
        assert receiver.ids() == [key("python", "2000001")]
        Webhook(SECRET).verify(receiver.acknowledged()[0].body, receiver.acknowledged()[0].headers)
        assert SECRET not in log
