"""The filter model alone: one validation whether it is built from query parameters, a TOML
table or command-line options, and the SQL it becomes."""

from __future__ import annotations

import argparse
import tomllib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from outsourcing.query.filters import PostingFilter, SqlParams, describe_errors, like_escape, search_terms

TOML = """
[searches.react-kr]
platform = ["wishket", "kmong"]
q = '웹 "관리자 페이지"'
skills = ["React"]
currency = "KRW"
min_budget = 5000000
remote = true
posted_since = 2026-10-01
"""


def test_the_same_filter_from_toml_cli_and_query_parameters() -> None:
    table = tomllib.loads(TOML)["searches"]["react-kr"]
    from_toml = PostingFilter.from_mapping(table)

    parser = argparse.ArgumentParser()
    PostingFilter.add_arguments(parser)
    namespace = parser.parse_args(["--platform", "wishket,kmong", "--q", '웹 "관리자 페이지"', "--skills", "React",
                                   "--currency", "krw", "--min-budget", "5000000", "--remote", "true",
                                   "--posted-since", "2026-10-01"])
    from_cli = PostingFilter.from_arguments(namespace)
    from_query = PostingFilter.from_mapping({"platform": ["wishket", "kmong"], "q": '웹 "관리자 페이지"',
                                             "skills": "React", "currency": "KRW", "min_budget": "5000000",
                                             "remote": "true", "posted_since": "2026-10-01T00:00:00Z"})
    assert from_toml == from_cli == from_query
    assert from_toml.terms == ["웹", "관리자 페이지"]
    assert from_toml.posted_since == datetime(2026, 10, 1, tzinfo=UTC)
    assert from_toml.min_budget == Decimal(5_000_000)


def test_where_is_parameterised_and_combines_with_other_clauses() -> None:
    posting_filter = PostingFilter(platform=["kmong"], q="50%_off 웹 개발", skills=["React"], remote=False)
    params = SqlParams(["already", "there"])  # a caller's own $1, $2
    where = posting_filter.where(params, alias="p")
    assert "$1" not in where and "$3" in where
    assert params.values[:2] == ["already", "there"]
    assert "%50\\%\\_off%" in params.values  # LIKE wildcards in a term are literal
    assert "'웹':*" in params.values and "'개발'" in params.values  # short Hangul terms: syllable grams
    assert "50%" not in where and "React" not in where  # values never in the SQL text
    assert PostingFilter().where(SqlParams()) == "TRUE"
    only_text = posting_filter.where(SqlParams(), text="plain")
    assert "hangul" not in only_text and "platform" not in only_text


@pytest.mark.parametrize("data, message", [
    ({"min_budget": 10}, "min_budget needs currency"),
    ({"platform": ["myspace"]}, "Input should be 'wishket'"),
    ({"plattform": ["kmong"]}, "Extra inputs are not permitted"),
    ({"posted_since": 1790000000}, "ISO 8601"),
    ({"currency": "dollars"}, "three-letter ISO 4217"),
    ({"q": "x" * 101}, "at most 100 characters"),
])
def test_one_validation_with_messages_a_person_can_act_on(data, message) -> None:
    with pytest.raises(ValidationError) as raised:
        PostingFilter.from_mapping(data)
    assert any(message in line for line in describe_errors(raised.value)), describe_errors(raised.value)


def test_terms_and_escaping() -> None:
    assert search_terms('  react   "data  pipeline" 웹 ') == ["react", "data pipeline", "웹"]
    assert search_terms(None) == []
    assert like_escape("100%_\\") == "100\\%\\_\\\\"
