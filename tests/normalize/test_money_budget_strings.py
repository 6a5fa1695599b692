"""Budget strings as postings write them, Korean and English, with the numbers a reader takes from
them; and a property: no number beside the amount (a year, a length, a count, a percentage, a
date) ever enters it.

Expectations are written from what the string says, not from running the parser: won in whole
won, open bounds None, `budget_type` null where the pay basis has no contract type (a daily or
weekly rate, "fixed price or hourly").
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outsourcing.normalize.money import Budget, parse_krw, parse_money

KRW = "KRW"

BUDGET_STRINGS = [
    # (text, minimum, maximum, currency, budget_type)
    ("월 550만 원 (6개월)", 5_500_000, 5_500_000, KRW, "monthly"),
    ("2,000만원 (2026년 기준, 부가세 별도)", 20_000_000, 20_000_000, KRW, "fixed"),
    ("예상 금액 3,000만원 · 3개월", 30_000_000, 30_000_000, KRW, "fixed"),
    ("월 단가 : 650만원 ~ 750", 6_500_000, 7_500_000, KRW, "monthly"),
    ("일 30만원", 300_000, 300_000, KRW, None),
    ("주 100만원", 1_000_000, 1_000_000, KRW, None),
    ("30만원/일 (주 5일)", 300_000, 300_000, KRW, None),
    ("총 2,400만원 / 6개월 / 3명", 24_000_000, 24_000_000, KRW, "fixed"),
    ("월 500만원 (주 3일 출근)", 5_000_000, 5_000_000, KRW, "monthly"),
    ("시급 15,000원 (주 20시간)", 15_000, 15_000, KRW, "hourly"),
    ("2026.10.01 마감, 예상 금액 700만원", 7_000_000, 7_000_000, KRW, "fixed"),
    ("10% 선금 후 잔금, 총 1,000만원", 10_000_000, 10_000_000, KRW, "fixed"),
    ("월 450~550만원 (경력 5년 이상)", 4_500_000, 5_500_000, KRW, "monthly"),
    ("예상 금액 1억 5,000만원 (VAT 포함)", 150_000_000, 150_000_000, KRW, "fixed"),
    ("3천명 대상 서비스, 예산 2천만원", 20_000_000, 20_000_000, KRW, "fixed"),
    ("예상 금액 12,500,000원 (2차 분할 지급)", 12_500_000, 12_500_000, KRW, "fixed"),
    ("월 금액 7,000,000원 /월 (12개월 계약)", 7_000_000, 7_000_000, KRW, "monthly"),
    ("500만원 이상 (1인 기준)", 5_000_000, None, KRW, "fixed"),
    ("최대 800만원, 2회 분할", None, 8_000_000, KRW, "fixed"),
    ("300 ~ 500만원 / 2026년 11월 착수", 3_000_000, 5_000_000, KRW, "fixed"),
    ("예상 금액 350,000원 · 예상 기간 3일", 350_000, 350_000, KRW, "fixed"),
    ("1.5억원 (3년 유지보수 포함)", 150_000_000, 150_000_000, KRW, "fixed"),
    ("월 단가 700만원, 투입 2명", 7_000_000, 7_000_000, KRW, "monthly"),
    ("금액 협의 (최대 500만원)", None, 5_000_000, KRW, "fixed"),
    ("협의 후 결정", None, None, None, None),
    # English
    ("Fixed Price or Hourly", None, None, None, None),
    ("Fixed Price or Hourly | Under $250", None, 250, "USD", None),
    ("Fixed Price | $1k-$2.5k (3 milestones)", 1_000, 2_500, "USD", "fixed"),
    ("Hourly | $25-$50/hr | 10-30 hrs/week | 1-3 months", 25, 50, "USD", "hourly"),
    ("$300/day for 20 days", 300, 300, "USD", None),
    ("£2,000 per week, 6 weeks", 2_000, 2_000, "GBP", None),
    ("€45/hour, 2 developers, 2026 budget", 45, 45, "EUR", "hourly"),
    ("Budget: $5,000 (50% upfront)", 5_000, 5_000, "USD", None),
    ("Up to $800 by Oct 31, 2026", None, 800, "USD", None),
]


@pytest.mark.parametrize(("text", "low", "high", "currency", "budget_type"), BUDGET_STRINGS)
def test_budget_strings(text: str, low: float | None, high: float | None, currency: str | None,
                        budget_type: str | None) -> None:
    # Korean platforms' strings go through parse_krw (a bare amount there is a fixed price), the
    # others through parse_money; parse_money hands won strings on, typed only where they say so.
    korean = any("\uac00" <= char <= "\ud7a3" for char in text)
    if korean:
        assert parse_krw(text) == Budget(low, high, currency, budget_type)
        if budget_type != "fixed":
            assert parse_money(text) == Budget(low, high, currency, budget_type)
    else:
        assert parse_money(text) == Budget(low, high, currency, budget_type)


def test_the_table_is_large_enough() -> None:
    assert len(BUDGET_STRINGS) >= 30


# --- property: only the amount ---------------------------------------------------------------

_UNITS = {"": 1, "만": 10_000, "천만": 10_000_000, "억": 100_000_000}


@st.composite
def amounts(draw: st.DrawFn) -> tuple[str, int]:
    """A won amount as written ("3,000만원", "350,000원", "1억") and its value."""
    unit = draw(st.sampled_from(list(_UNITS)))
    figure = draw(st.integers(min_value=1, max_value=9_999 if unit else 99_999_999))
    written = f"{figure:,}" if draw(st.booleans()) else str(figure)
    return f"{written}{unit}원", figure * _UNITS[unit]


_NOISE = [
    lambda n: f"({n}개월)", lambda n: f"· {n}개월", lambda n: f"({2000 + n % 100}년 기준)", lambda n: f"{n}명",
    lambda n: f"{n % 100}% 선금", lambda n: f"(주 {n % 7 + 1}일)", lambda n: f"{n}주", lambda n: f"{n}회 분할",
    lambda n: f"2026.{n % 12 + 1:02d}.{n % 28 + 1:02d} 마감", lambda n: f"{n % 24:02d}:30 미팅", lambda n: f"예상 기간 {n}일",
    lambda n: f"경력 {n % 20}년 이상", lambda n: f"{n}시간",
]


@settings(max_examples=400, deadline=None)
@given(amount=amounts(), noise=st.lists(st.tuples(st.sampled_from(range(len(_NOISE))), st.integers(1, 9999)), max_size=3),
       label=st.sampled_from(["", "예상 금액 ", "총 ", "예산 "]), noise_first=st.booleans())
def test_no_number_beside_the_amount_enters_it(amount: tuple[str, int], noise: list[tuple[int, int]], label: str,
                                               noise_first: bool) -> None:
    written, value = amount
    extras = " ".join(_NOISE[index](n) for index, n in noise)
    text = f"{extras}, {label}{written}" if noise_first and extras else f"{label}{written} {extras}"
    budget = parse_krw(text)
    assert (budget.minimum, budget.maximum, budget.currency) == (value, value, KRW), text
