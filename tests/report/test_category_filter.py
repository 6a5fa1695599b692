"""PostingFilter.category: the contract's ' > '-joined category and everything below it,
case-insensitive, on level boundaries; checked on a real PostgreSQL against a Python matcher,
with LIKE's metacharacters in category names."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from outsourcing.query.filters import PostingFilter, SqlParams

CATEGORIES = [
    "개발", "개발 > 웹", "개발 > 웹 > 프론트엔드", "개발 > 앱", "개발자 커뮤니티", "개발, 디자인 > 안드로이드, iOS",
    "디자인 > 웹", "Websites, IT & Software", "Websites, IT & Software > PHP", "websites, it & software > Python",
    "QA_Test > 100%", "QAxTest > 100%", "QA_Test > 100x", None,
]


def python_match(category: str | None, wanted: str) -> bool:
    if category is None:
        return False
    category, wanted = category.lower(), wanted.lower()
    return category == wanted or category.startswith(wanted + " > ")


@pytest.mark.parametrize("given, normalised", [
    ("개발", "개발"), ("개발>웹", "개발 > 웹"), ("  개발  >  웹  ", "개발 > 웹"),
    ("Websites, IT & Software", "Websites, IT & Software"), ("", None), ("  ", None),
])
def test_category_is_written_as_the_contract_joins_levels(given: str, normalised: str | None) -> None:
    assert PostingFilter.from_mapping({"category": given}).category == normalised


@pytest.mark.parametrize("bad", ["개발 >", "> 웹", "개발 >> 웹", "a\x00b", "x" * 201])
def test_a_malformed_category_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        PostingFilter.from_mapping({"category": bad})


def test_category_is_an_option_of_every_command_line_that_takes_a_filter() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    PostingFilter.add_arguments(parser)
    options = parser.parse_args(["--category", "개발 > 웹", "--platform", "kmong"])
    assert PostingFilter.from_arguments(options).category == "개발 > 웹"


async def _matches(url: str, wanted: str) -> set[Any]:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE TEMP TABLE postings (id int, category text)")
        await connection.executemany("INSERT INTO postings VALUES ($1, $2)", list(enumerate(CATEGORIES)))
        params = SqlParams()
        where = PostingFilter.from_mapping({"category": wanted}).where(params, "p")
        rows = await connection.fetch(f"SELECT id FROM postings p WHERE {where}", *params.values)
        return {CATEGORIES[row["id"]] for row in rows}
    finally:
        await connection.close()


@pytest.mark.parametrize("wanted", ["개발", "개발 > 웹", "개발 > 웹 > 프론트엔드", "개발자", "웹", "websites, it & software",
                                    "QA_Test", "QA_Test > 100%", "개발, 디자인"])
def test_category_matches_itself_and_below_on_postgresql(server_url: str, wanted: str) -> None:
    got = asyncio.run(_matches(server_url, wanted))  # a temporary table: no database needed
    assert got == {c for c in CATEGORIES if python_match(c, wanted)}
    if wanted == "개발":
        assert "개발자 커뮤니티" not in got and "개발 > 웹 > 프론트엔드" in got
    if wanted == "QA_Test":
        assert got == {"QA_Test > 100%", "QA_Test > 100x"}  # '_' is a letter here, not LIKE's wildcard
    if wanted == "QA_Test > 100%":
        assert got == {"QA_Test > 100%"}
