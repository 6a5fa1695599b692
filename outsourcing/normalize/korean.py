"""Korean labels the Korean platforms share: lengths of work ("3개월", "예상 기간300일"), where
the work happens (상주, 재택, 반상주), applicant counts ("지원자 7명").

A month counts 30 days and a year 365, as in the relative-date rules (outsourcing.normalize.dates).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from outsourcing.normalize.text import clean_line

SPAN_DAYS: dict[str, int] = {"개월": 30, "달": 30, "주": 7, "일": 1, "년": 365}
_SPAN = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(개월|달|주|일|년)")
MAX_DAYS = 3650


def span_days(text: str | None) -> int | None:
    """The first length of time in `text` in days: "예상 기간300일" 300, "2주" 14, "3개월" 90,
    "1.5개월" 45, "1,000일" 1000. None without one, or for 0 or more than ten years."""
    match = _SPAN.search(text or "")
    return days_of(match) if match else None


def days_of(match: re.Match[str]) -> int | None:
    """Days of a `_SPAN`-like match: group 1 the figure, group 2 the unit."""
    days = round(float(match.group(1).replace(",", "")) * SPAN_DAYS[match.group(2)])
    return days if 0 < days <= MAX_DAYS else None


def work_place(text: str | None) -> bool | None:
    """Where the work happens, from one label or tag: 재택/원격/비상주 -> True; 상주 and 반상주 ->
    False (반상주 means some days on site: not work from anywhere); "재택 불가" -> False; nothing
    said -> None. 외주/도급/기간제 say how the work is contracted, not where: None."""
    if not text:
        return None
    if re.search(r"반\s*상주|부분\s*상주|하이브리드|hybrid", text, re.I):
        return False
    if re.search(r"비\s*상주", text):
        return True
    if re.search(r"(?:재택|원격)\s*(?:근무\s*)?불가", text):
        return False
    if "상주" in text:
        return False
    if re.search(r"재택|원격|리모트|remote|telecommut", text, re.I):
        return True
    return None


def work_place_of_labels(labels: Iterable[str | None]) -> bool | None:
    """Several labels of one posting: their common verdict; None when they say nothing or
    contradict each other (재택 on one, 상주 on another)."""
    verdicts = {work_place(label) for label in labels if label} - {None}
    return verdicts.pop() if len(verdicts) == 1 else None


def applicants(text: str | None) -> int | None:
    """"지원자 7명" -> 7, "지원자 없음" -> 0, "비공개" (private) -> unknown."""
    source = clean_line(text)
    if not source or "비공개" in source:
        return None
    if "없음" in source:
        return 0
    match = re.search(r"(\d[\d,]*)", source)
    return int(match.group(1).replace(",", "")) if match else None
