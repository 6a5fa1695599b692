"""docs/contract.md stays true to the code where that can be checked mechanically: the posting's
fields, which of them may be null, the platforms and enum values (outsourcing/items.py), every
table, column and view column of schema.sql, the exit reasons of outsourcing/outcome.py, the
fields of the read API's response models (outsourcing/api/models.py), the keys of an alert's
payload and the webhook headers (outsourcing/alerts), and the report's top-level JSON keys
(outsourcing/report/figures.py). A field or column added, renamed or dropped in the code
without the page following fails here."""

from __future__ import annotations

import ast
import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

from outsourcing import stats as keys
from outsourcing.items import (
    BUDGET_TYPES,
    CONTRACT_FIELDS,
    PLATFORMS,
    REQUIRED_FIELDS,
    STATUSES,
)
from outsourcing.outcome import crawl_outcome
from tests.conftest import REPO

CONTRACT = REPO / "docs" / "contract.md"
_ROW_NAME = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def contract_text() -> str:
    return CONTRACT.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under a markdown heading (any level), up to the next heading of any level."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.fullmatch(r"#+\s+" + re.escape(heading), line.strip()):
            body = []
            for following in lines[index + 1:]:
                if following.startswith("#"):
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"docs/contract.md has no section {heading!r}")


def table_rows(text: str) -> dict[str, list[str]]:
    """{first cell's `name`: cells} of the markdown table rows in `text`."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _ROW_NAME.match(line.strip())
        if match:
            rows[match[1]] = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return rows


def schema_sql() -> str:
    """schema.sql without its comments."""
    return re.sub(r"--[^\n]*", "", (REPO / "schema.sql").read_text(encoding="utf-8"))


def schema_tables() -> dict[str, list[str]]:
    """{table: columns} of every CREATE TABLE in schema.sql, in order, with the columns later
    migrations add (ALTER TABLE ... ADD COLUMN) after the table's own, as PostgreSQL orders them."""
    sql = schema_sql()
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)", sql, re.DOTALL):
        columns = []
        for line in body.splitlines():
            word = line.strip().split(" ", 1)[0]
            if word and word.upper() not in {"PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT", "FOREIGN"}:
                columns.append(word)
        tables[name] = columns
    assert tables, "no CREATE TABLE found in schema.sql"
    for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+)", sql):
        tables[table].append(column)
    return tables


def _top_level_split(text: str) -> list[str]:
    """`text` split at the commas outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        depth += (char == "(") - (char == ")")
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def schema_views() -> dict[str, list[str]]:
    """{view: output columns} of every CREATE VIEW in schema.sql: the alias after AS, else the
    column name itself; `p.*` stays `*` (the columns of the table behind it)."""
    views = {}
    for name, select in re.findall(r"CREATE (?:OR REPLACE )?VIEW (\w+) AS\s+SELECT (.*?)\s+FROM ", schema_sql(), re.DOTALL):
        columns = []
        for expression in _top_level_split(select):
            alias = re.search(r"\bAS (\w+)$", expression)
            columns.append(alias[1] if alias else expression.rsplit(".", 1)[-1])
        views[name] = columns
    assert views, "no CREATE VIEW found in schema.sql"
    return views


def test_every_posting_field_is_documented_in_order_with_its_nullability() -> None:
    rows = table_rows(section(contract_text(), "The posting"))
    assert list(rows) == list(CONTRACT_FIELDS)
    not_null = {name for name, cells in rows.items() if cells[2].startswith("no")}
    assert not_null == set(REQUIRED_FIELDS)


def test_every_enum_value_is_named_in_its_field_row() -> None:
    rows = table_rows(section(contract_text(), "The posting"))
    for field, values in (("budget_type", BUDGET_TYPES), ("status", STATUSES)):
        missing = [value for value in values if f"`{value}`" not in rows[field][1]]
        assert not missing, f"{field}: {missing} not in docs/contract.md"


def test_every_platform_is_a_documented_spider() -> None:
    rows = table_rows(section(contract_text(), "Spiders"))
    common_arguments = {"base_url", "max_pages", "max_items", "mode"}
    assert common_arguments <= set(rows)
    assert [name for name in rows if name not in common_arguments] == list(PLATFORMS)


def test_every_table_and_column_of_the_schema_is_documented() -> None:
    text = contract_text()
    for table, columns in schema_tables().items():
        documented = list(table_rows(section(text, f"`{table}`")))
        assert documented == columns, f"{table}: schema.sql has {columns}, docs/contract.md {documented}"


def test_every_view_and_its_columns_are_documented() -> None:
    text = contract_text()
    for view, columns in schema_views().items():
        body = section(text, f"`{view}` (a view)")
        documented = list(table_rows(body))
        if "*" in columns:
            # SELECT p.*, ...: the page names the table whose columns come first, then the rest.
            assert columns.index("*") == 0 and "Every column of `postings`" in body, view
            columns = columns[1:]
        assert documented == columns, f"{view}: schema.sql has {columns}, docs/contract.md {documented}"


def test_every_exit_reason_is_documented() -> None:
    # Stats that trip every rule of outcome.py at once.
    code, problems = crawl_outcome({keys.STORAGE_SPILLED: 3, keys.STORAGE_LOST: 1, keys.STORAGE_WRITER_STOPPED: 1,
                                    keys.ITEM_ERRORS: 2, keys.CALLBACK_ERRORS: 1}, "shutdown")
    assert code == 1 and len(problems) == 7
    documented = re.sub(r"\s+", " ", section(contract_text(), "Exit status"))
    for problem in problems:
        # Counts and the finish reason vary per run: compare the wording around them.
        wording = re.sub(r"\s*\(finish_reason: \w+\)|^\d+ ", "", problem)
        assert wording in documented, f"exit reason not in docs/contract.md: {wording!r}"


def test_the_readme_points_at_the_projects_own_contract() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/contract.md" in readme
    assert "../shared/" not in readme, "a clone has no ../shared: document it in the project"
    for path in (REPO / "outsourcing").rglob("*.py"):
        assert "../shared/docs/contract.md" not in path.read_text(encoding="utf-8"), path
    assert "../shared/docs/contract.md" not in (REPO / "schema.sql").read_text(encoding="utf-8")


# --- what the serving side hands out ------------------------------------------------------------


def model_fields(*models: type) -> set[str]:
    """The JSON names of the fields of pydantic models (aliases where they have one: `from`)."""
    return {field.alias or name for model in models for name, field in model.model_fields.items()}


def test_every_field_of_the_read_apis_answers_is_documented() -> None:
    from outsourcing.api import models as m

    text = contract_text()
    # Section: (the models of that answer, the posting model whose contract fields the section
    # refers to as "every field of the posting" instead of listing them again).
    answers: dict[str, tuple[tuple[type, ...], type | None]] = {
        "GET /postings": ((m.PostingPage, m.PostingListItem), m.PostingListItem),
        "GET /postings/{platform}/{external_id}": ((m.PostingDetail, m.Change), m.PostingDetail),
        "GET /market/daily": ((m.DailyCounts, m.Period, m.DayCount, m.PlatformCount), None),
        "GET /market/budgets": ((m.BudgetQuartiles, m.BudgetGroup), None),
        "GET /market/skills": ((m.TopSkills, m.SkillCount), None),
        "GET /crawls/health": ((m.CrawlHealth, m.PlatformHealth, m.CrawlRun), None),
        "GET /health": ((m.Health,), None),
    }
    for heading, (models, posting) in answers.items():
        body = section(text, heading)
        # Fields of these models that only a prose sentence names (a name documented in a row
        # of the same section already, like the `n` of each entry).
        expected = model_fields(*models) - (set(CONTRACT_FIELDS) if posting else set())
        documented = set(table_rows(body))
        assert documented == expected, (f"{heading}: models have {sorted(expected - documented)} undocumented, "
                                        f"docs/contract.md has {sorted(documented - expected)} not in the models")
    # "Each item holds every field of the posting but `description`"; the detail holds them all.
    assert model_fields(m.PostingListItem) & set(CONTRACT_FIELDS) == set(CONTRACT_FIELDS) - {"description"}
    assert "every field of the posting but `description`" in section(text, "GET /postings")
    assert model_fields(m.PostingDetail) & set(CONTRACT_FIELDS) == set(CONTRACT_FIELDS)


def _alert_payloads() -> list[dict[str, Any]]:
    """A JSON Lines line of each kind of message: one new posting, one change, a digest."""
    from outsourcing.alerts.messages import Alert, Message

    at = datetime(2026, 10, 2, 6, 0, 1, tzinfo=UTC)
    change = {"changed_at": "2026-10-02T06:00:00.000000+00:00", "changed_fields": ["budget_max"],
              "old_values": {"budget_max": 1}, "new_values": {"budget_max": 2}}
    new = Alert(search="s", key="s:wishket:1", kind="new", event_at=at, posting={"platform": "wishket"})
    changed = Alert(search="s", key="s:wishket:1:20261002T060000.000000Z", kind="changed", event_at=at,
                    posting={"platform": "wishket"}, change=change)
    messages = [Message(1, "s", "c", new.key, False, [new]), Message(2, "s", "c", changed.key, False, [changed]),
                Message(3, "s", "c", "s:digest:3", True, [new, changed])]
    return [{"id": message.key, **message.payload()} for message in messages]


def _keys(value: Any) -> set[str]:
    """Every key of nested objects, not descending into a posting or into old/new values."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            if key not in ("posting", "old_values", "new_values"):
                found |= _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _keys(inner)
    return found


def test_every_key_of_the_alert_payload_is_documented() -> None:
    expected = set().union(*(_keys(payload) for payload in _alert_payloads()))
    documented = set(table_rows(section(contract_text(), "Alert payload")))
    assert documented == expected, f"payload keys {sorted(expected)}, docs/contract.md {sorted(documented)}"


def test_the_webhook_headers_and_signature_are_as_documented() -> None:
    import base64
    import hashlib
    import hmac

    import httpx

    from outsourcing.alerts.channels import WebhookChannel
    from outsourcing.alerts.config import ChannelConfig, SecretMasker
    from outsourcing.alerts.messages import Alert, Message

    secret = b"0123456789abcdef0123456789abcdef"
    channel = WebhookChannel(ChannelConfig(name="hook", type="webhook", url="http://receiver.invalid/hook",
                                           secret=secret), timeout=5, masker=SecretMasker())
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    async def send() -> None:
        # The channel's own client (its headers, its settings), answered in memory.
        channel._client._transport = httpx.MockTransport(receive)
        alert = Alert(search="s", key="s:wishket:1", kind="new", event_at=datetime(2026, 10, 2, tzinfo=UTC),
                      posting={"platform": "wishket"})
        result = await channel.send(Message(1, "s", "hook", alert.key, False, [alert]))
        await channel.close()
        assert result.ok

    asyncio.run(send())
    (request,) = sent
    rows = table_rows(section(contract_text(), "Webhook headers"))
    ours = {name for name in request.headers if name.startswith("webhook-")}
    assert {name for name in rows if name.startswith("webhook-")} == ours
    for name in rows:
        assert name.lower() in request.headers, f"documented header {name} not sent"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("outsourcing-alerts/")
    assert request.headers["webhook-id"] == "s:wishket:1"
    # v1, + base64 of HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}"
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.content
    expected = "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == expected
    assert json.loads(request.content)["data"]["idempotency_key"] == "s:wishket:1"


def test_every_top_level_key_of_the_report_is_documented() -> None:
    """The keys of the dict `build_report` returns (read from its source: the report needs a
    database to run)."""
    tree = ast.parse((REPO / "outsourcing" / "report" / "figures.py").read_text(encoding="utf-8"))
    build = next(node for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef) and node.name == "build_report")
    report = next(node.value for node in ast.walk(build) if isinstance(node, ast.Assign)
                  and any(isinstance(target, ast.Name) and target.id == "report" for target in node.targets))
    assert isinstance(report, ast.Dict)
    keys = [key.value for key in report.keys if isinstance(key, ast.Constant)]
    assert len(keys) == len(report.keys) and "notes" in keys
    assert list(table_rows(section(contract_text(), "Market report (JSON)"))) == keys
