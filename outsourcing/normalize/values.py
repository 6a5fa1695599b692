"""Plain values the platforms send in many spellings: counts and other whole numbers, and
objects that may be missing or of another type.

An API says `"ALL_APPLY_COUNT": "3"` on one row and `3` on the next, `"bid_count": 35.0`, `"total":
"1,234"`; all are the whole number they spell. Parsers share this one reading instead of each
keeping its own `_int`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def whole_number(value: Any, *, signed: bool = False) -> int | None:
    """An int from an int, a whole float or Decimal, or a numeric string ("1,234", " 7 ",
    "7.0"). None for booleans, fractions, non-finite or non-numeric values, and negatives unless
    `signed`."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        number: Decimal = Decimal(value)
    else:
        try:
            number = Decimal(str(value).replace(",", "").strip())
        except (InvalidOperation, ValueError):
            return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    if number < 0 and not signed:
        return None
    return int(number)


def positive_number(value: Any) -> int | None:
    """`whole_number`, with 0 read as "not given" (a length of 0 days, page 0)."""
    number = whole_number(value)
    return number if number else None


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: an API that sends `null`, `[]` or a
    string where an object usually is ("currency", "budget", "users") reads as "nothing given"."""
    return value if isinstance(value, dict) else {}
