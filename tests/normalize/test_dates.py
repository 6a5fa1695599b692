"""Date normalisers, table-driven: absolute forms, KST, relative times rounded to the day."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from outsourcing.normalize.dates import KST, UTC, from_epoch, parse_instant, resolve_relative

# 2026-10-02 06:00 UTC is 15:00 the same day in Seoul.
NOW = datetime(2026, 10, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2025-08-18T16:00:30+00:00", UTC, "2025-08-18T16:00:30+00:00"),
        ("2025-08-18T16:00:30Z", UTC, "2025-08-18T16:00:30+00:00"),
        ("2025-08-19T01:00:30+09:00", UTC, "2025-08-18T16:00:30+00:00"),
        ("Thu, 13 Oct 2022 18:10:18 +0000", UTC, "2022-10-13T18:10:18+00:00"),
        ("Sun, 20 Sep 2026 23:15:00 +0200", UTC, "2026-09-20T21:15:00+00:00"),
        ("2026-08-05 14:03:00", KST, "2026-08-05T05:03:00+00:00"),  # local time without offset
        ("2026.08.05.", KST, "2026-08-04T15:00:00+00:00"),           # date only: 00:00 in Seoul
        ("· 등록일자 2026.08.05.", KST, "2026-08-04T15:00:00+00:00"),
        ("등록 일자 2026.10.02.", KST, "2026-10-01T15:00:00+00:00"),
        ("2026년 10월 08일", KST, "2026-10-07T15:00:00+00:00"),
        ("2026년 10월 8일 오후 3시", KST, "2026-10-08T06:00:00+00:00"),
        ("2026-10-08", KST, "2026-10-07T15:00:00+00:00"),
        ("Posted on Feb 22, 2026", UTC, "2026-02-22T00:00:00+00:00"),
        ("22 February 2026", UTC, "2026-02-22T00:00:00+00:00"),
        (1755532830, UTC, "2025-08-18T16:00:30+00:00"),
        ("1755532830", UTC, "2025-08-18T16:00:30+00:00"),
        (1755532830000, UTC, "2025-08-18T16:00:30+00:00"),  # milliseconds
        (datetime(2026, 1, 1, 9, 0), KST, "2026-01-01T00:00:00+00:00"),
        (date(2026, 1, 1), KST, "2025-12-31T15:00:00+00:00"),
        ("", UTC, None), (None, UTC, None), ("soon", UTC, None), (0, UTC, None),
        ("9999-12-31", UTC, None),  # a sentinel, not a time
    ],
)
def test_parse_instant(value, tz, expected) -> None:
    assert parse_instant(value, tz) == expected


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # Wishket: "마감 2주 2일 전" = closes in 2 weeks 2 days: Seoul day 10-02 + 16 = 10-18.
        ("마감 2주 2일 전", KST, "2026-10-17T15:00:00+00:00"),
        ("마감 6일 5시간 전", KST, "2026-10-07T15:00:00+00:00"),
        ("마감 3시간 전", KST, "2026-10-01T15:00:00+00:00"),  # later the same Seoul day
        ("3일 전", KST, "2026-09-28T15:00:00+00:00"),
        ("오늘", KST, "2026-10-01T15:00:00+00:00"),
        ("어제", KST, "2026-09-30T15:00:00+00:00"),
        ("3 days left", UTC, "2026-10-05T00:00:00+00:00"),
        ("Posted 27 mins ago", UTC, "2026-10-02T00:00:00+00:00"),
        ("Posted 2 hours ago", UTC, "2026-10-02T00:00:00+00:00"),
        ("Posted 1 week ago", UTC, "2026-09-25T00:00:00+00:00"),
        ("5 days", UTC, "2026-10-07T00:00:00+00:00"),  # a bare span on a deadline: time left
        ("no date here", UTC, None),
        ("", UTC, None),
    ],
)
def test_resolve_relative(text, tz, expected) -> None:
    assert resolve_relative(text, NOW, tz) == expected


def test_relative_is_stable_within_a_day() -> None:
    later = datetime(2026, 10, 2, 14, 59, tzinfo=UTC)  # 23:59 in Seoul, same day
    assert resolve_relative("마감 2주 2일 전", NOW, KST) == resolve_relative("마감 2주 2일 전", later, KST)


@pytest.mark.parametrize(("value", "expected"), [(1755532830, "2025-08-18T16:00:30+00:00"), ("x", None), (-1, None), (None, None)])
def test_from_epoch(value, expected) -> None:
    assert from_epoch(value) == expected
