"""Whole numbers in the spellings platforms send them (strings or numbers, with commas)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from outsourcing.normalize.values import positive_number, whole_number


@pytest.mark.parametrize(
    ("value", "signed", "expected"),
    [
        (3, False, 3), ("3", False, 3), (" 7 ", False, 7), ("1,234", False, 1234), (35.0, False, 35),
        ("7.0", False, 7), (Decimal("12"), False, 12), (-2, True, -2), ("-2", True, -2),
        (-2, False, None), (2.5, False, None), ("2.5", False, None), (True, False, None), (None, False, None),
        ("many", False, None), ("", False, None), (float("nan"), False, None), (float("inf"), False, None),
    ],
)
def test_whole_number(value: object, signed: bool, expected: int | None) -> None:
    result = whole_number(value, signed=signed)
    assert result == expected and (result is None or type(result) is int)


def test_positive_number_reads_zero_as_not_given() -> None:
    assert (positive_number("0"), positive_number(0), positive_number("40")) == (None, None, 40)
