"""The shared normalisers on the Korean strings the Wishket and Freemoa parsers hand them (values
as the sites write them), so a change to a normaliser that would break those parsers fails here."""

from __future__ import annotations

import pytest

from outsourcing.normalize.dates import KST, parse_instant, resolve_relative
from outsourcing.normalize.money import MANWON, Budget, budget_from_amounts, parse_krw
from outsourcing.normalize.text import clean_skills, scrub_pii

NOW = "2026-10-02T06:00:00+00:00"  # 15:00 KST


@pytest.mark.parametrize(
    ("text", "default_type", "budget"),
    [
        ("월 금액 7,000,000원 /월", "fixed", Budget(7000000, 7000000, "KRW", "monthly")),
        ("5,500,000원/월", "fixed", Budget(5500000, 5500000, "KRW", "monthly")),
        ("예상 금액 350,000원", "monthly", Budget(350000, 350000, "KRW", "fixed")),
        ("예상 금액 1억 2,000만원", "fixed", Budget(120000000, 120000000, "KRW", "fixed")),
        ("2,000만원 (부가세 별도)", "fixed", Budget(20000000, 20000000, "KRW", "fixed")),
        ("15,000,000원 ~ 22,000,000원", "fixed", Budget(15000000, 22000000, "KRW", "fixed")),
        ("시급 20,000원", None, Budget(20000, 20000, "KRW", "hourly")),
        ("협의 후 결정", "fixed", Budget()),
    ],
)
def test_parse_krw(text: str, default_type: str | None, budget: Budget) -> None:
    assert parse_krw(text, default_type=default_type) == budget


def test_manwon_amounts() -> None:
    assert budget_from_amounts("250", "500", "KRW", "fixed", unit=MANWON) == Budget(2500000, 5000000, "KRW", "fixed")
    assert budget_from_amounts("0", "0", "KRW", "fixed", unit=MANWON, zero_is_unknown=True) == Budget()


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026년 10월 08일", "2026-10-07T15:00:00+00:00"),
        ("· 등록일자 2026.08.05.", "2026-08-04T15:00:00+00:00"),
        ("등록 일자 2026.10.02.", "2026-10-01T15:00:00+00:00"),
        ("2026-10-01 11:30:33", "2026-10-01T02:30:33+00:00"),
        ("2026-10-12T23:59:59", "2026-10-12T14:59:59+00:00"),
        ("2026-09-28", "2026-09-27T15:00:00+00:00"),
    ],
)
def test_korean_local_times(text: str, instant: str) -> None:
    assert parse_instant(text, KST) == instant


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("마감 2주 2일 전", "2026-10-17T15:00:00+00:00"),   # closes in 16 days: 전 = "before the close"
        ("마감 6일 6시간 전", "2026-10-07T15:00:00+00:00"),
        ("마감 3일 전", "2026-10-04T15:00:00+00:00"),
        ("오늘 마감", "2026-10-01T15:00:00+00:00"),
        ("마감", None),
    ],
)
def test_relative_deadlines(text: str, instant: str | None) -> None:
    assert resolve_relative(text, NOW, KST) == instant


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("문의: 010-2345-6789 또는 walk.owner@example.com", "문의: [phone removed] 또는 [email removed]"),
        ("대표번호 02-555-0123", "대표번호 [phone removed]"),
        ("예상 금액 7,000,000원, 2026.10.08. 마감", "예상 금액 7,000,000원, 2026.10.08. 마감"),
        ("INS_TIME 2026-10-01 11:30:33, endtime 1792249200", "INS_TIME 2026-10-01 11:30:33, endtime 1792249200"),
    ],
)
def test_scrub_pii_korean(text: str, scrubbed: str) -> None:
    assert scrub_pii(text) == scrubbed


def test_skill_chips() -> None:
    assert clean_skills(["Java · 경력 무관", "Kotlin · 3년 이상", "java"]) == ["Java", "Kotlin"]
    assert clean_skills("Vue, AOS, iOS, Supabase") == ["Vue", "AOS", "iOS", "Supabase"]
