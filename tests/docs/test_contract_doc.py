"""docs/contract.md stays true to the code where that can be checked mechanically: the posting's
fields, which of them may be null, the platforms and enum values (outsourcing/items.py), every
table and column of schema.sql, and the exit reasons of outsourcing/outcome.py. A field or column
added, renamed or dropped in the code without the page following fails here."""

from __future__ import annotations

import re

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


def schema_tables() -> dict[str, list[str]]:
    """{table: columns} of every CREATE TABLE in schema.sql, in order."""
    sql = (REPO / "schema.sql").read_text(encoding="utf-8")
    sql = re.sub(r"--[^\n]*", "", sql)
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)", sql, re.DOTALL):
        columns = []
        for line in body.splitlines():
            word = line.strip().split(" ", 1)[0]
            if word and word.upper() not in {"PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT", "FOREIGN"}:
                columns.append(word)
        tables[name] = columns
    assert tables, "no CREATE TABLE found in schema.sql"
    return tables


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


def test_the_view_is_documented() -> None:
    sql = (REPO / "schema.sql").read_text(encoding="utf-8")
    for view in re.findall(r"CREATE (?:OR REPLACE )?VIEW (\w+)", sql):
        section(contract_text(), f"`{view}` (a view)")


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
