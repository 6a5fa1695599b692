"""`scrapy sql "QUERY"` prints every column of the answer, in order, also when two have the same
name (`min(posted_at), min(first_seen_at)` are both "min")."""

from __future__ import annotations

import asyncio

import pytest

from outsourcing.commands.sql import _print_query


def test_columns_of_the_same_name_each_show_their_own_value(database_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert asyncio.run(_print_query(database_url, "SELECT 1 AS n, 'two' AS n, 3 AS other")) == 0
    header, _, row, count = capsys.readouterr().out.splitlines()
    assert [cell.strip() for cell in header.split("|")] == ["n", "n", "other"]
    assert [cell.strip() for cell in row.split("|")] == ["1", "two", "3"]
    assert count == "(1 rows)"
