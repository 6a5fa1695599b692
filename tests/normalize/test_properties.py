"""Property-based tests (hypothesis): any string in, a valid value or None out, never an
exception."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from outsourcing.items import BUDGET_TYPES
from outsourcing.normalize.dates import KST, UTC, parse_instant, resolve_relative
from outsourcing.normalize.money import parse_krw, parse_money
from outsourcing.normalize.text import clean_line, clean_skills, html_to_text, scrub_pii

# Strings that look like the platforms' inputs, mixed with anything at all.
money_like = st.one_of(
    st.text(),
    st.from_regex(r"(예상 금액|월 금액|Fixed Price \||Under|Over)? ?[$£€₩]?[0-9,]{0,12}(\.[0-9]{1,3})?(k|만|억|원)?( ?[~-] ?[$]?[0-9,]{0,9}(k|만원)?)?( /월|/hr)?", fullmatch=True),
)
date_like = st.one_of(
    st.text(),
    st.from_regex(r"(마감 |Posted )?[0-9]{1,6} ?(주|일|시간|분|days?|hours?|mins?|weeks?) ?(전|ago|left)?", fullmatch=True),
    st.from_regex(r"[0-9]{1,5}[./-][0-9]{1,3}[./-][0-9]{1,3}\.?( [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?", fullmatch=True),
)


def _valid_budget(budget) -> bool:
    numbers_ok = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0)
                     for v in (budget.minimum, budget.maximum))
    order_ok = budget.minimum is None or budget.maximum is None or budget.minimum <= budget.maximum
    currency_ok = (budget.currency is None) == (budget.minimum is None and budget.maximum is None)
    type_ok = budget.budget_type is None or budget.budget_type in BUDGET_TYPES
    return numbers_ok and order_ok and currency_ok and type_ok


@settings(max_examples=300, deadline=None)
@given(money_like)
def test_money_any_string(text: str) -> None:
    assert _valid_budget(parse_krw(text))
    assert _valid_budget(parse_money(text))


def _valid_instant(value) -> bool:
    if value is None:
        return True
    moment = datetime.fromisoformat(value)
    return value.endswith("+00:00") and moment.utcoffset().total_seconds() == 0


@settings(max_examples=300, deadline=None)
@given(date_like)
def test_dates_any_string(text: str) -> None:
    assert _valid_instant(parse_instant(text, KST))
    assert _valid_instant(parse_instant(text, UTC))
    assert _valid_instant(resolve_relative(text, datetime(2026, 10, 2, 6, tzinfo=UTC), KST))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_text_any_string(text: str) -> None:
    line = clean_line(text)
    assert line is None or (line == line.strip() and line and "\n" not in line)
    body = html_to_text(text)
    assert body is None or (body == body.strip() and body and "\n\n\n" not in body)
    assert all(isinstance(s, str) and s for s in clean_skills([text, text]))
    assert isinstance(scrub_pii(text), str)
