"""Date normalisers: every time in the contract is an ISO 8601 instant in UTC with offset
(`2025-08-18T16:00:30+00:00`).

- A platform's local time without an offset is read in its time zone (`KST` for the Korean
  platforms); a date without a time means 00:00 there.
- Relative times ("마감 2주 2일 전", "3 days left", "Posted 27 mins ago") are resolved against the
  response's time and rounded to the day (00:00 local), so one posting gives the same value in
  two runs on the same day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

UTC = UTC
KST = ZoneInfo("Asia/Seoul")

# Instants before this or after this are not postings' times but broken values (0, 9999...).
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """The contract's instant format. Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def now_utc() -> str:
    return iso_utc(datetime.now(UTC))


def from_epoch(value: Any) -> str | None:
    """Unix seconds (int, float or numeric string; milliseconds are recognised) to an instant."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds != seconds or seconds <= 0:
        return None
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        moment = datetime.fromtimestamp(int(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return iso_utc(moment) if _EARLIEST <= moment < _LATEST else None


_KOREAN_DATE = re.compile(
    r"(?P<y>\d{4})\s*(?:년|[./\-])\s*(?P<m>\d{1,2})\s*(?:월|[./\-])\s*(?P<d>\d{1,2})\s*(?:일|\.)?"
    r"(?:\s*(?:(?P<ampm>오전|오후|AM|PM|am|pm)\s*)?(?P<H>\d{1,2})\s*(?:시|:)\s*(?P<M>\d{1,2})?\s*(?:분)?(?::(?P<S>\d{1,2}))?)?"
)


def parse_instant(value: Any, tz: Any = UTC) -> str | None:
    """An absolute time in any of the platforms' forms, to the contract's instant.

    Accepts datetimes, dates, unix seconds, ISO 8601 (with or without offset), RFC 822
    ("Thu, 13 Oct 2022 18:10:18 +0000"), numeric dates ("2026.08.05.", "2026-08-05 14:03:00",
    "2026년 10월 08일") and English dates ("Feb 22, 2026"). Values without an offset are in `tz`.
    Returns None for anything it cannot read; never raises.
    """
    try:
        moment = _parse(value, tz)
    except (ValueError, TypeError, OverflowError):
        return None
    if moment is None or not (_EARLIEST <= moment < _LATEST):
        return None
    return iso_utc(moment)


def _parse(value: Any, tz: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz)
    if isinstance(value, (int, float)):
        text = from_epoch(value)
        return datetime.fromisoformat(text) if text else None
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(?:\.\d+)?", text):
        epoch = from_epoch(text)
        return datetime.fromisoformat(epoch) if epoch else None
    iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
    try:
        moment = datetime.fromisoformat(iso)
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    except ValueError:
        pass
    if re.match(r"^[A-Za-z]{3},", text):
        try:
            moment = parsedate_to_datetime(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=tz)
        except (TypeError, ValueError, IndexError):
            pass
    match = _KOREAN_DATE.search(text)
    if match:
        hour = int(match.group("H") or 0)
        if match.group("ampm") in ("오후", "PM", "pm") and hour < 12:
            hour += 12
        if match.group("ampm") in ("오전", "AM", "am") and hour == 12:
            hour = 0
        return datetime(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            hour, int(match.group("M") or 0), int(match.group("S") or 0), tzinfo=tz,
        )
    return _dateparser(text, tz)


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_ENGLISH_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}(?:,?\s+\d{{1,2}}:\d{{2}}(?:\s*[AaPp][Mm])?)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}",
    re.I,
)


def _dateparser(text: str, tz: Any) -> datetime | None:
    """English dates inside text ("Posted on Feb 22, 2026"): the date is cut out first, so
    surrounding words cannot make dateparser guess."""
    match = _ENGLISH_DATE.search(text)
    if not match:
        return None
    text = match.group(0)
    import dateparser  # slow to import; only free-form English dates need it

    zone = getattr(tz, "key", None) or "UTC"
    moment = dateparser.parse(
        text,
        languages=["en"],
        settings={"TIMEZONE": zone, "RETURN_AS_TIMEZONE_AWARE": True, "PREFER_DAY_OF_MONTH": "first"},
    )
    return moment


# --- relative times ---------------------------------------------------------------------------

_UNITS: dict[str, timedelta] = {
    "year": timedelta(days=365), "년": timedelta(days=365),
    "month": timedelta(days=30), "개월": timedelta(days=30), "달": timedelta(days=30),
    "week": timedelta(weeks=1), "주": timedelta(weeks=1),
    "day": timedelta(days=1), "일": timedelta(days=1),
    "hour": timedelta(hours=1), "시간": timedelta(hours=1), "hr": timedelta(hours=1),
    "minute": timedelta(minutes=1), "min": timedelta(minutes=1), "분": timedelta(minutes=1),
    "second": timedelta(seconds=1), "sec": timedelta(seconds=1), "초": timedelta(seconds=1),
}
_TERM = re.compile(
    r"(\d+)\s*(years?|months?|weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?|개월|년|달|주|일|시간|분|초)",
    re.I,
)
_FUTURE = re.compile(r"마감|남음|남았|후|left|remaining|to go|\bin\s+\d|ends?\b|closes?\b", re.I)
_PAST = re.compile(r"전|ago|posted", re.I)


def resolve_relative(text: Any, now: datetime | str, tz: Any = UTC) -> str | None:
    """A relative time against `now` (the response's time), rounded to 00:00 local of that day.

    "마감 2주 2일 전" (closes in 2 weeks 2 days) and "3 days left" point forward; "3일 전",
    "Posted 27 mins ago" point back; "오늘"/"today", "어제"/"yesterday" are understood.
    Returns None when `text` holds no relative time.
    """
    if text is None:
        return None
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    source = str(text).strip()
    lowered = source.lower()
    local_today = now.astimezone(tz).date()
    if re.search(r"오늘|today|just now|방금", lowered):
        return _midnight(local_today, tz)
    if re.search(r"어제|yesterday", lowered):
        return _midnight(local_today - timedelta(days=1), tz)
    if re.search(r"내일|tomorrow", lowered):
        return _midnight(local_today + timedelta(days=1), tz)
    terms = _TERM.findall(source)
    if not terms:
        return None
    delta = timedelta(0)
    for amount, unit in terms:
        key = unit.lower()
        key = key if key in _UNITS else key.rstrip("s")
        try:
            delta += int(amount) * _UNITS[key]
        except (KeyError, OverflowError):
            return None
    # "마감 … 전" is "… before the close": the close lies ahead, although 전 means "before".
    forward = bool(_FUTURE.search(source)) and not re.search(r"ago|posted", lowered)
    if not forward and not _PAST.search(source):
        forward = True  # a bare "3 days" on a deadline field means remaining time
    try:
        moment = now + delta if forward else now - delta
    except OverflowError:
        return None
    return _midnight(moment.astimezone(tz).date(), tz)


def _midnight(day: date, tz: Any) -> str | None:
    moment = datetime.combine(day, time(0), tzinfo=tz)
    return iso_utc(moment) if _EARLIEST <= moment < _LATEST else None


def local_day_start(value: str | None, tz: Any) -> str | None:
    """00:00 in `tz` of the local day an instant falls on (date-only values)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value).astimezone(tz)
    return _midnight(moment.date(), tz)
