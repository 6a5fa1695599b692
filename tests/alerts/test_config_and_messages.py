"""The alerts config (secrets from the environment, one filter model), the payload and text, the
signature (checked with the Standard Webhooks reference implementation) and the idempotency key
(Python and SQL agree)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from outsourcing.alerts.channels import payload_bytes, sign
from outsourcing.alerts.config import (
    ConfigError,
    MaskingFilter,
    SecretMasker,
    load_config,
    parse_config,
)
from outsourcing.alerts.messages import Alert, Message, idempotency_key, split_key, won
from outsourcing.query.filters import PostingFilter
from outsourcing.storage.database import apply_schema
from tests.alerts.conftest import SECRET, SECRET_ENV
from tests.conftest import run

CONFIG = Path("/etc/outsourcing/alerts.toml")
ENV = {SECRET_ENV: SECRET, "ALERT_TELEGRAM_URL": "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"}

VALID = {
    "channels": {
        "telegram": {"type": "apprise", "url_env": "ALERT_TELEGRAM_URL", "language": "ko"},
        "hooks": {"type": "webhook", "url": "https://hooks.example.com/outsourcing", "secret_env": SECRET_ENV},
        "file": {"type": "jsonl", "path": "alerts/out.jsonl"},
        "console": {"type": "stdout"},
    },
    "searches": [
        {"name": "python-kr", "channels": ["telegram", "hooks"], "platform": ["wishket", "kmong"],
         "skills": ["Python"], "currency": "KRW", "min_budget": 3000000, "budget_type": "fixed", "q": "웹 개발"},
        {"name": "budget watch", "channels": ["file", "console"], "changes": ["budget_min", "budget_max", "status"],
         "digest_minutes": 30, "remote": True},
    ],
}


def test_a_search_is_a_posting_filter_and_channels_resolve_from_the_environment() -> None:
    config = parse_config(VALID, CONFIG, ENV)
    search = config.searches[0]
    assert search.filter == PostingFilter.from_mapping(
        {"platform": ["wishket", "kmong"], "skills": ["Python"], "currency": "KRW", "min_budget": 3000000,
         "budget_type": "fixed", "q": "웹 개발"})
    # What alert_searches.filter stores reads back as the same filter.
    assert PostingFilter.from_mapping(json.loads(json.dumps(search.filter_json()))) == search.filter
    assert config.searches[1].changes and config.searches[1].change_fields == ("budget_min", "budget_max", "status")
    assert config.searches[1].digest_minutes == 30
    assert config.channels["telegram"].url == ENV["ALERT_TELEGRAM_URL"]
    assert config.channels["hooks"].secret == b"alerts-test-secret-0123456789abc"
    assert config.channels["file"].path == CONFIG.parent / "alerts/out.jsonl"  # relative to the config file
    assert config.routes() == [("python-kr", "telegram"), ("python-kr", "hooks"), ("budget watch", "file"),
                               ("budget watch", "console")]
    # Channel descriptions (logs, status) never carry the URL.
    assert "AAHdq" not in config.channels["telegram"].describe()


@pytest.mark.parametrize(("change", "message"), [
    ({"channels": {"telegram": {"type": "apprise", "url": "tgram://123:abc/1"}}},
     "channels.telegram: Apprise URLs carry tokens and passwords; put the URL in an environment variable"),
    ({"channels": {"hooks": {"type": "webhook", "url": "https://x.example/h", "secret_env": "NOT_SET_ANYWHERE"}}},
     "channels.hooks: the environment variable NOT_SET_ANYWHERE (secret_env) is not set"),
    ({"channels": {"hooks": {"type": "webhook", "url": "https://x.example/h"}}},
     "channels.hooks: secret_env is required"),
    ({"channels": {"hooks": {"type": "webhook", "url": "https://x.example/h", "secret_env": "SHORT"}}},
     "channels.hooks: $SHORT is too short"),
    ({"searches": [{"name": "a", "channels": ["hooks"], "min_budget": 100}]},
     "searches[1] (a).min_budget needs currency"),
    ({"searches": [{"name": "a", "channels": ["hooks"], "budget": 100}]}, "searches[1] (a).budget: Extra inputs"),
    ({"searches": [{"name": "a", "channels": ["nowhere"]}]}, "searches[1] (a).channels: no [channels.nowhere] table"),
    ({"searches": [{"name": "a", "channels": ["hooks"], "changes": ["salary"]}]}, "searches[1] (a).changes:"),
])
def test_bad_configs_name_the_table_and_the_problem(change: dict, message: str) -> None:
    data = {"channels": {**VALID["channels"], **change.get("channels", {})},
            "searches": change.get("searches", VALID["searches"])}
    with pytest.raises(ConfigError) as raised:
        parse_config(data, CONFIG, {**ENV, "SHORT": "whsec_c2hvcnQ="})
    assert any(message in problem for problem in raised.value.problems), raised.value.problems
    assert "AAHdq" not in str(raised.value)


def test_a_file_that_is_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text("[[searches]\nname = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, ENV)


def test_secrets_are_masked_in_log_lines() -> None:
    config = parse_config(VALID, CONFIG, ENV)
    record = logging.LogRecord("apprise", logging.WARNING, __file__, 1, "sending to %s failed",
                               (ENV["ALERT_TELEGRAM_URL"],), None)
    MaskingFilter(config.masker).filter(record)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in record.getMessage()
    assert "***" in record.getMessage()
    # A token on its own (as a plugin might log it) is masked too.
    assert "AAHdq" not in config.masker.mask("token AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw rejected")
    assert SECRET not in SecretMasker([SECRET]).mask(f"secret={SECRET}")


def _message(kind: str = "new") -> Message:
    posting = {"platform": "wishket", "external_id": "201001", "url": "https://www.wishket.com/project/201001/",
               "title": "쇼핑몰 웹 개발", "description": "설명", "skills": ["Python", "Django"], "budget_min": 3000000,
               "budget_max": 5000000, "currency": "KRW", "budget_type": "fixed",
               "deadline_at": "2026-10-15T15:00:00+00:00"}
    key = idempotency_key("python-kr", "wishket", "201001")
    alert = Alert("python-kr", key, kind, datetime(2026, 10, 2, 6, 0, 1, tzinfo=UTC), posting)
    return Message(1, "python-kr", "hooks", key, False, [alert])


def test_signature_verifies_with_the_standard_webhooks_reference() -> None:
    message = _message()
    body = payload_bytes(message)
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {"webhook-id": message.key, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(b"alerts-test-secret-0123456789abc", message.key, timestamp, body)}
    payload = Webhook(SECRET).verify(body, headers)
    assert payload["type"] == "posting.new"
    assert payload["data"]["idempotency_key"] == "python-kr:wishket:201001"
    assert payload["data"]["posting"]["budget_min"] == 3000000
    # A changed byte fails the reference's check (the test can fail).
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"3000000", b"3000001"), headers)


def test_text_is_readable_in_korean_and_english() -> None:
    title, body = _message().text("both")
    assert title == "[python-kr] 쇼핑몰 웹 개발"
    assert "예산 Budget: 300만원 ~ 500만원 (3,000,000–5,000,000 KRW), 고정 금액 fixed price" in body
    assert "마감 Deadline: 2026-10-16 00:00 KST" in body
    assert "플랫폼 Platform: 위시켓 Wishket" in body
    assert "링크 Link: https://www.wishket.com/project/201001/" in body
    _, english = _message().text("en")
    assert "Budget: 3,000,000 KRW ~ 5,000,000 KRW, fixed price" in english and "예산" not in english
    _, korean = _message().text("ko")
    assert "예산: 300만원 ~ 500만원, 고정 금액" in korean
    assert won(150_000_000) == "1억 5,000만원" and won(350_500) == "350,500원"


def test_idempotency_key_is_the_same_in_python_and_sql(database_url: str) -> None:
    parts = [("python-kr", "wishket", "201001", ""), ("파이썬 웹: 서울/원격", "remoteok", "a:b c%d", ""),
             ("s", "guru", "42", "20261002T060000.000000Z")]

    async def keys() -> list[str]:
        connection = await asyncpg.connect(database_url)
        try:
            await apply_schema(connection)
            return [await connection.fetchval("SELECT outsourcing_alert_key($1, $2, $3, $4)", *p) for p in parts]
        finally:
            await connection.close()

    sql_keys = run(keys())
    assert sql_keys == [idempotency_key(*p) for p in parts]
    assert all(key.isascii() for key in sql_keys)
    assert split_key(sql_keys[1]) == ["파이썬 웹: 서울/원격", "remoteok", "a:b c%d"]
