"""Exchange rates for the report's labelled KRW/USD equivalents.

Why a file and not a table: the report never writes to the crawler's database (its sessions
are read-only), rates are the reader's reference data rather than crawled facts, and they must
work with the embedded database and on a machine without one. So there are two files, both
JSON of the same shape (won per one unit of each currency, each rate with its date):

- the shipped defaults, `outsourcing/report/rates.json` (package data, read with
  importlib.resources so it works from a scrapyd egg), dated when they were entered;
- the user's file, `$OUTSOURCING_HOME/rates.json`, written only by
  `scrapy report rates USD=1470 [EUR=1700 ...] [--date YYYY-MM-DD]`; its rates win, currency by currency.

An equivalent is only ever an extra next to a figure in its own currency, labelled with the rate
and its date; amounts in different currencies are never added up or compared through it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

BASE = "KRW"
USER_FILE = "rates.json"
TARGETS = ("KRW", "USD")
#: A rate older (or newer) than this many days relative to the period's end is flagged.
STALE_DAYS = 45


class RatesError(ValueError):
    """A rates file or a CUR=WON value that cannot be used; the message says why."""


@dataclass(frozen=True)
class Rate:
    currency: str
    krw: Decimal      # won per one unit of `currency`
    date: date
    source: str       # "shipped" or the user file's path


@dataclass
class Rates:
    rates: dict[str, Rate]
    note: str = ""

    def get(self, currency: str) -> Rate | None:
        if currency == BASE:
            return Rate(BASE, Decimal(1), date.min, "identity")
        return self.rates.get(currency)

    def convert(self, amount: Decimal | float, currency: str, target: str) -> tuple[Decimal, list[Rate]] | None:
        """`amount` of `currency` in `target`, and the rates used (through won); None when a
        rate is missing."""
        if currency == target:
            return None
        source, goal = self.get(currency), self.get(target)
        if source is None or goal is None:
            return None
        value = Decimal(str(amount)) * source.krw / goal.krw
        used = [rate for rate in (source, goal) if rate.currency != BASE]
        return value, used

    def as_json(self) -> dict[str, Any]:
        return {"base": BASE, "note": self.note,
                "rates": {code: {"krw": _number(rate.krw), "date": rate.date.isoformat(), "source": rate.source}
                          for code, rate in sorted(self.rates.items())}}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _check_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise RatesError(f"{code!r} is not an ISO 4217 currency code (three letters, e.g. USD)")
    return code


def _check_rate(code: str, value: Any) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as error:
        raise RatesError(f"the rate of {code} is not a number: {value!r}") from error
    if not rate.is_finite() or rate <= 0:
        raise RatesError(f"the rate of {code} must be a positive number of won per {code}, not {value!r}")
    return rate


def _parse(data: Any, *, source: str, default_date: date | None) -> tuple[dict[str, Rate], str]:
    if not isinstance(data, dict) or data.get("base", BASE) != BASE or not isinstance(data.get("rates"), dict):
        raise RatesError(f"{source}: expected {{\"base\": \"KRW\", \"rates\": {{\"USD\": ...}}}}")
    file_date = data.get("date")
    rates: dict[str, Rate] = {}
    for raw_code, entry in data["rates"].items():
        code = _check_code(raw_code)
        if isinstance(entry, dict):
            value, when = entry.get("krw"), entry.get("date", file_date)
        else:
            value, when = entry, file_date
        if when is None and default_date is None:
            raise RatesError(f"{source}: the rate of {code} has no date")
        try:
            day = date.fromisoformat(str(when)) if when is not None else default_date
        except ValueError as error:
            raise RatesError(f"{source}: the date of {code} is not YYYY-MM-DD: {when!r}") from error
        assert day is not None
        rates[code] = Rate(code, _check_rate(code, value), day, source)
    return rates, str(data.get("note", ""))


def shipped() -> Rates:
    text = resources.files("outsourcing.report").joinpath("rates.json").read_text(encoding="utf-8")
    rates, note = _parse(json.loads(text), source="shipped", default_date=None)
    return Rates(rates, note)


def user_path(home: Path) -> Path:
    return home / USER_FILE


def load(home: Path | None) -> Rates:
    """The shipped rates, overridden currency by currency by the user's file when it exists."""
    rates = shipped()
    if home is None:
        return rates
    path = user_path(home)
    if not path.exists():
        return rates
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RatesError(f"{path}: cannot read it ({error}); fix or delete it") from error
    own, _ = _parse(data, source=str(path), default_date=None)
    rates.rates.update(own)
    return rates


def parse_assignments(values: Iterable[str]) -> dict[str, Decimal]:
    """`USD=1470` (won per dollar) and `USD=1470,EUR=1700` into {code: rate}."""
    result: dict[str, Decimal] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            code, sep, rate = part.partition("=")
            if not sep:
                raise RatesError(f"{part!r}: write CURRENCY=WON, e.g. USD=1470 (won per one dollar)")
            code = _check_code(code)
            if code == BASE:
                raise RatesError("KRW is the base: its rate is 1 by definition")
            result[code] = _check_rate(code, rate.replace("_", "").replace(" ", ""))
    if not result:
        raise RatesError("nothing to set: give CURRENCY=WON, e.g. USD=1470")
    return result


def save(home: Path, assignments: dict[str, Decimal], day: date) -> Path:
    """Add or replace rates in the user's file (written whole, atomically: a reader never sees
    half a file). Rates not named keep their own dates."""
    path = user_path(home)
    existing: dict[str, Rate] = {}
    if path.exists():
        try:
            existing, _ = _parse(json.loads(path.read_text(encoding="utf-8")), source=str(path), default_date=None)
        except (OSError, json.JSONDecodeError) as error:
            raise RatesError(f"{path}: cannot read it ({error}); fix or delete it") from error
    for code, rate in assignments.items():
        existing[code] = Rate(code, rate, day, str(path))
    data = {"base": BASE, "note": "Set with `scrapy report rates`: won per one unit of each currency.",
            "rates": {code: {"krw": _number(rate.krw), "date": rate.date.isoformat()}
                      for code, rate in sorted(existing.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".rates-", suffix=".json", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    os.replace(temporary, path)
    return path
