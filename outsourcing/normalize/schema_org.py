"""schema.org JSON-LD, as job pages embed it: the JobPosting among a page's blocks, and its
`baseSalary` (a MonetaryAmount) as the contract's budget.

Wishket and Elancer detail pages (and RemoteOK's) carry a `<script type="application/ld+json">`
JobPosting. Templates write it loosely: raw newlines inside strings, quotes escaped as HTML
entities, the object alone, in a list or in an `@graph`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from outsourcing.normalize.money import UNKNOWN, Budget, budget_from_amounts
from outsourcing.normalize.text import clean_line

#: schema.org unitText of a QuantitativeValue to the contract's budget_type. DAY and WEEK have no
#: contract type: the amount is kept with a null type.
UNIT_TYPES: dict[str, str | None] = {"HOUR": "hourly", "DAY": None, "WEEK": None, "MONTH": "monthly", "YEAR": "yearly"}


def load_block(text: str) -> Any:
    """One JSON-LD block's JSON, or None when it is not JSON even once its HTML entities are
    decoded. Literal newlines inside strings are accepted (strict=False)."""
    for candidate in (text, html.unescape(text)):
        try:
            return json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
    return None


def nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document: itself, the members of a list, an @graph's."""
    if isinstance(data, list):
        for item in data:
            yield from nodes(item)
    elif isinstance(data, dict):
        yield data
        if isinstance(data.get("@graph"), list):
            yield from nodes(data["@graph"])


def is_job_posting(node: dict[str, Any]) -> bool:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return "JobPosting" in kinds


def job_posting(blocks: Iterable[str]) -> tuple[dict[str, Any] | None, int]:
    """The first JobPosting among the texts of a page's JSON-LD blocks, and how many blocks were
    JSON at all (so a caller can tell "no JSON-LD", "broken JSON-LD" and "no JobPosting" apart)."""
    parsed = 0
    for block in blocks:
        data = load_block(block)
        if data is None:
            continue
        parsed += 1
        for node in nodes(data):
            if is_job_posting(node):
                return node, parsed
    return None, parsed


def text_value(value: Any) -> str | None:
    """A property's text: the first of a list, a node's `name` or `@value`."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return None if value is None else str(value)


def monetary_amount(
    value: Any,
    *,
    default_type: str | None,
    default_currency: str = "KRW",
    from_text: Callable[[str], Budget] | None = None,
) -> Budget:
    """A `baseSalary`: a MonetaryAmount {currency, value: number | QuantitativeValue{value |
    minValue/maxValue, unitText}}, whose amounts are whole currency units. The QuantitativeValue's
    unitText says what it pays for (HOUR, MONTH ...); without one, `default_type`. A 0 is "not
    given". A string (some sites write "2,000만원 (부가세 별도)") goes to `from_text`, as do
    amounts written as strings."""
    if isinstance(value, str):
        return from_text(value) if from_text else UNKNOWN
    if not isinstance(value, dict):
        return UNKNOWN
    amount = value.get("value")
    unit = None
    if isinstance(amount, dict):
        unit = (clean_line(amount.get("unitText")) or "").upper() or None
        single = amount.get("value")
        low, high = amount.get("minValue", single), amount.get("maxValue", single)
    else:
        low = high = amount
    budget_type = UNIT_TYPES.get(unit, default_type) if unit else default_type
    if isinstance(low, str) or isinstance(high, str):
        if from_text is None:
            return UNKNOWN
        text = f"{low}" if low == high else f"{low}~{high}"
        return from_text(text if any(mark in text for mark in "원만억") else f"{text}원")
    currency = (clean_line(value.get("currency")) or default_currency).upper()
    return budget_from_amounts(low, high, currency, budget_type, zero_is_unknown=True)
