"""Money normalisers, table-driven: Korean won strings, amounts with symbols and codes, and
amounts given as numbers."""

from __future__ import annotations

import pytest

from outsourcing.normalize.money import MANWON, Budget, budget_from_amounts, number, parse_krw, parse_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("예상 금액 350,000원", Budget(350000, 350000, "KRW", "fixed")),
        ("350,000원", Budget(350000, 350000, "KRW", "fixed")),
        ("월 금액 7,000,000원 /월", Budget(7000000, 7000000, "KRW", "monthly")),
        ("월 500만원", Budget(5000000, 5000000, "KRW", "monthly")),
        ("500만원", Budget(5000000, 5000000, "KRW", "fixed")),
        ("1억 2,000만원", Budget(120000000, 120000000, "KRW", "fixed")),
        ("1억", Budget(100000000, 100000000, "KRW", "fixed")),
        ("1.5억원", Budget(150000000, 150000000, "KRW", "fixed")),
        ("300~500만원", Budget(3000000, 5000000, "KRW", "fixed")),
        ("300만원 ~ 500만원", Budget(3000000, 5000000, "KRW", "fixed")),
        ("500만원 이상", Budget(5000000, None, "KRW", "fixed")),
        ("최대 800만원", Budget(None, 8000000, "KRW", "fixed")),
        ("300만원 이하", Budget(None, 3000000, "KRW", "fixed")),
        ("시급 15,000원", Budget(15000, 15000, "KRW", "hourly")),
        ("협의 후 결정", Budget()),
        ("금액 협의", Budget()),
        ("", Budget()),
        (None, Budget()),
    ],
)
def test_parse_krw(text, expected) -> None:
    assert parse_krw(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1k", Budget(1000, 1000, "USD", None)),
        ("$1.5k", Budget(1500, 1500, "USD", None)),
        ("Under $250", Budget(None, 250, "USD", None)),
        ("Less than $500", Budget(None, 500, "USD", None)),
        ("Over $5k", Budget(5000, None, "USD", None)),
        ("$5k+", Budget(5000, None, "USD", None)),
        ("Fixed Price | $500-$1k", Budget(500, 1000, "USD", "fixed")),
        ("Fixed Price | Under $250", Budget(None, 250, "USD", "fixed")),
        ("Hourly | $15-$25/hr", Budget(15, 25, "USD", "hourly")),
        ("Hourly", Budget(None, None, None, "hourly")),
        ("£20/hr", Budget(20, 20, "GBP", "hourly")),
        ("€1,200", Budget(1200, 1200, "EUR", None)),
        ("₹ 12,500", Budget(12500, 12500, "INR", None)),
        ("INR 1,500 - 12,500", Budget(1500, 12500, "INR", None)),
        ("$10 - $30 USD", Budget(10, 30, "USD", None)),
        ("CA$2,000", Budget(2000, 2000, "CAD", None)),
        ("AU$ 50 per hour", Budget(50, 50, "AUD", "hourly")),
        ("$1-2k", Budget(1000, 2000, "USD", None)),
        ("$250 – 750 Avg Bid", Budget(250, 750, "USD", None)),
        ("$12.50/hr", Budget(12.5, 12.5, "USD", "hourly")),
        ("500", Budget()),  # a number without any currency is not an amount we can state
        ("To be discussed", Budget()),
        ("월 500만원", Budget(5000000, 5000000, "KRW", "monthly")),  # won strings go to parse_krw
    ],
)
def test_parse_money(text, expected) -> None:
    assert parse_money(text) == expected


def test_parse_money_default_currency_and_type() -> None:
    assert parse_money("500 - 1000", default_currency="GBP", default_type="fixed") == Budget(500, 1000, "GBP", "fixed")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((35000, 70000, "USD", "yearly"), {"zero_is_unknown": True}, Budget(35000, 70000, "USD", "yearly")),
        ((0, 0, "USD", "yearly"), {"zero_is_unknown": True}, Budget()),
        ((0, 85000, "USD", "yearly"), {"zero_is_unknown": True}, Budget(None, 85000, "USD", "yearly")),
        ((300, 500, "KRW", "fixed"), {"unit": MANWON}, Budget(3000000, 5000000, "KRW", "fixed")),
        (("300", "500", "KRW", "fixed"), {"unit": MANWON}, Budget(3000000, 5000000, "KRW", "fixed")),
        ((500, 300, "KRW", "fixed"), {"unit": MANWON}, Budget(3000000, 5000000, "KRW", "fixed")),  # swapped
        ((None, None, "KRW", "fixed"), {}, Budget()),
        ((12.5, 20, "GBP", "hourly"), {}, Budget(12.5, 20, "GBP", "hourly")),
        ((-5, 10, "USD", "fixed"), {}, Budget(None, 10, "USD", "fixed")),  # negative is not an amount
    ],
)
def test_budget_from_amounts(args, kwargs, expected) -> None:
    assert budget_from_amounts(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1500, 1500), (1500.0, 1500), ("1,500", 1500), ("12.50", 12.5), (None, None), (True, None),
     ("abc", None), (float("nan"), None), (float("inf"), None), (-1, None)],
)
def test_number_is_a_json_number_integer_when_whole(value, expected) -> None:
    result = number(value)
    assert result == expected and type(result) is type(expected)


def test_budget_fields_are_the_contract_names() -> None:
    assert Budget(1, 2, "USD", "fixed").fields() == {
        "budget_min": 1, "budget_max": 2, "currency": "USD", "budget_type": "fixed"}
