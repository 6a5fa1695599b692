"""Money normalisers: amounts, currencies, ranges, open bounds and what the amount pays for.

Every platform's budget ends up as the contract's four fields (`budget_min`, `budget_max`,
`currency`, `budget_type`) through `Budget`. Amounts are whole units of the platform's own
currency (won, not 만원; dollars, not cents), never converted; an open bound is None; both None
when the amount is unknown or to be agreed (협의).

Where a platform's budget string becomes numbers:
- Korean strings ("예상 금액 350,000원", "월 500만원", "1억 2,000만원", "협의 후 결정"): `parse_krw`
- English strings ("Fixed Price | $500-$1k", "Under $250", "£20/hr", "INR 1,500"): `parse_money`
- numbers a platform gives in fields (Freemoa's 만원, RemoteOK's 0 = unknown): `budget_from_amounts`
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

Number = int | float


@dataclass(frozen=True)
class Budget:
    minimum: Number | None = None
    maximum: Number | None = None
    currency: str | None = None
    budget_type: str | None = None

    def fields(self) -> dict[str, Any]:
        """The contract's four budget fields."""
        return {
            "budget_min": self.minimum,
            "budget_max": self.maximum,
            "currency": self.currency,
            "budget_type": self.budget_type,
        }

    @property
    def known(self) -> bool:
        return self.minimum is not None or self.maximum is not None


UNKNOWN = Budget()

# 만원 and friends: Korean amounts are often written in units of 10^4 and 10^8.
KRW_UNITS: dict[str, int] = {"억": 100_000_000, "천만": 10_000_000, "백만": 1_000_000, "만": 10_000, "천": 1_000}
MANWON = 10_000

CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD", "NZ$": "NZD",
    "HK$": "HKD", "S$": "SGD", "R$": "BRL", "$": "USD", "£": "GBP", "€": "EUR", "₹": "INR",
    "₩": "KRW", "¥": "JPY", "₱": "PHP", "₦": "NGN", "₺": "TRY", "₪": "ILS", "zł": "PLN",
}
# ISO 4217 codes the platforms in scope use; any other three capitals next to a number are
# accepted too, as long as they look like a code (checked by the validation pipeline).
_CODE = r"(?:USD|EUR|GBP|INR|KRW|JPY|CAD|AUD|NZD|HKD|SGD|BRL|PHP|NGN|TRY|ILS|PLN|CHF|SEK|NOK|DKK|ZAR|MXN|CNY|PKR|BDT|IDR|MYR|AED)"
_SYMBOL = "|".join(re.escape(symbol) for symbol in sorted(CURRENCY_SYMBOLS, key=len, reverse=True))
_UNKNOWN_WORDS = re.compile(r"협의|미정|추후|상의|negotia|to be (?:agreed|discussed)|\bTBD\b|\bN/?A\b", re.I)

_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # A daily or weekly rate ("일 30만원", "주 100만원", "$300/day") is neither fixed nor monthly:
    # the contract has no type for it, so the amount is kept and the type is null.
    # "/day" and "/week" count only right after an amount: "10-30 hrs/week" is a workload.
    ("daily", re.compile(r"^\s*일\s*(?=[\d(₩])|일당|일급|일\s*단가|(?:\d[\d,.]*[kKmM]?|원)\s*/\s*(?:일|day)\b|\d\s*(?:per|a)\s+day\b|\bdaily\b", re.I)),
    ("weekly", re.compile(r"^\s*주\s*(?=[\d(₩])|주급|주\s*단가|(?:\d[\d,.]*[kKmM]?|원)\s*/\s*(?:주|w(?:ee)?k)\b|\d\s*(?:per|a)\s+week\b|\bweekly\b", re.I)),
    ("monthly", re.compile(r"/\s*월|월\s*(?:금액|단가|급여|급)|^\s*월\s|per\s+month|/\s*mo(?:nth)?\b|monthly|기간제", re.I)),
    ("hourly", re.compile(r"/\s*(?:시간|hr|hour|h)\b|시급|시간당|per\s+hour|hourly", re.I)),
    ("yearly", re.compile(r"연봉|/\s*(?:년|yr|year)\b|per\s+(?:year|annum)|yearly|annual", re.I)),
    ("fixed", re.compile(r"fixed|고정|총\s*금액|예상\s*금액|도급|외주", re.I)),
)
# "Fixed Price or Hourly": a posting that offers both states no pay basis.
_EITHER = re.compile(r"fixed[\w ]*?(?:\bor\b|/|,|&|\band\b)\s*hourly|hourly[\w ]*?(?:\bor\b|/|,|&|\band\b)\s*fixed", re.I)
#: Pay bases the contract has no budget_type for: the amount is kept, the type is null.
UNTYPED_BASES = frozenset({"daily", "weekly", "either"})


def number(value: Any) -> Number | None:
    """A JSON number from an int, float, Decimal or numeric string; integers when whole.

    None for missing, non-numeric, negative, NaN or infinite values.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
    try:
        decimal = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None
    if not decimal.is_finite() or decimal < 0:
        return None
    if decimal == decimal.to_integral_value():
        return int(decimal)
    result = float(decimal)
    return result if math.isfinite(result) else None


def budget_from_amounts(
    minimum: Any,
    maximum: Any,
    currency: str | None,
    budget_type: str | None,
    *,
    unit: int = 1,
    zero_is_unknown: bool = False,
) -> Budget:
    """A budget from the numbers a platform gives in separate fields.

    `unit` scales them to whole currency units (10_000 for amounts in 만원); with
    `zero_is_unknown`, a 0 means "not given" (RemoteOK). One amount alone is used as both
    bounds only when the platform gives one amount (pass it twice); a single missing bound is
    an open bound. Reversed bounds are swapped. With no amount at all, the budget is unknown
    (type included: a RemoteOK salary of 0 says nothing about how the work pays).
    """
    low = number(minimum)
    high = number(maximum)
    if zero_is_unknown:
        low = None if low == 0 else low
        high = None if high == 0 else high
    if low is not None:
        low = number(Decimal(str(low)) * unit)
    if high is not None:
        high = number(Decimal(str(high)) * unit)
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is None and high is None:
        return UNKNOWN
    return Budget(low, high, currency, budget_type)


def pay_basis(text: str) -> str | None:
    """What an amount pays for, as the text says it: a contract type (fixed, hourly, monthly,
    yearly), or "daily", "weekly", "either" (fixed or hourly), which the contract has no type
    for; None when the text does not say."""
    if _EITHER.search(text):
        return "either"
    for name, pattern in _TYPE_PATTERNS:
        if pattern.search(text):
            return name
    return None


def detect_budget_type(text: str, default: str | None = None) -> str | None:
    """The contract's budget_type the text states; `default` when it states none; None when it
    states a basis the contract has no type for (a daily or weekly rate, "fixed or hourly")."""
    basis = pay_basis(text)
    if basis in UNTYPED_BASES:
        return None
    return basis or default


# --- Korean amounts ---------------------------------------------------------------------------

# One term of an amount: a number, an optional unit of 10^3..10^8, an optional 원. What follows a
# number can make it something else than money: 2026년, 6개월, 3명, 10%, 2회 ...
_KRW_TERM = re.compile(
    r"(?<![\d.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d,]*\.\d)"
    r"[ \t]*(?P<unit>억|천만|백만|만|천)?"
    r"(?P<won>[ \t]*(?:원|KRW\b))?"
    r"(?P<other>[ \t]*(?:개월|년|달|주|일|시간|분|초|명|인|%|퍼센트|회|차|건|개|세|월|호|층|위|등|번|배|페이지|시|page|pages|months?|years?|weeks?|days?|hours?|people)(?![A-Za-z]))?",
    re.I,
)
# Dates, times and phone-like runs are not amounts: blanked out (same length) before reading.
_NOT_AMOUNTS = re.compile(
    r"\d{2,4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{1,2}\.?"   # 2026.10.01, 26-10-01
    r"|\d{1,2}:\d{2}(?::\d{2})?"                          # 09:30
    r"|\d{4}\s*[./]\s*\d{1,2}(?![\d,])"                   # 2026.10
)
_KRW_UNIT_ORDER = {unit: value for unit, value in KRW_UNITS.items()}
_RANGE_JOIN = re.compile(r"[ \t]*(?:~|～|〜|–|—|-|에서|부터)[ \t]*")
_LOWER_WORDS = re.compile(r"이상|초과|부터|최소|\+")
_UPPER_WORDS = re.compile(r"이하|미만|까지|최대")


@dataclass(frozen=True)
class _Amount:
    value: Decimal
    unit: int          # multiplier of its last term (1 for plain won)
    money: bool        # written with a unit or 원, so money for sure
    start: int
    end: int


def _krw_amounts(text: str) -> list[_Amount]:
    """The amounts in a Korean budget string, in order. A number followed by another unit
    (years, months, counts) is not one; consecutive terms with falling units are one amount
    ("1억 2,000만원")."""
    amounts: list[_Amount] = []
    current: _Amount | None = None
    for match in _KRW_TERM.finditer(text):
        if match.group("other"):
            if current:
                amounts.append(current)
                current = None
            continue
        try:
            value = Decimal(match.group("num").replace(",", ""))
        except InvalidOperation:
            continue
        unit_name = match.group("unit")
        unit = KRW_UNITS[unit_name] if unit_name else 1
        money = bool(unit_name or match.group("won"))
        joinable = (
            current is not None and unit_name and current.unit > unit and current.money
            and not text[current.end: match.start()].strip()
            and not re.search("원|KRW", text[current.start: current.end], re.I)
        )
        if joinable and current is not None:
            current = _Amount(current.value + value * unit, unit, True, current.start, match.end())
        else:
            if current:
                amounts.append(current)
            current = _Amount(value * unit, unit, money, match.start(), match.end())
        if match.group("won") and current is not None:
            amounts.append(current)
            current = None
    if current:
        amounts.append(current)
    return amounts


def parse_krw(text: Any, *, default_type: str | None = "fixed") -> Budget:
    """A Korean budget string in won: "350,000원", "500만원", "1억 2,000만원", "300~500만원",
    "월 단가 : 650만원 ~ 750" (the first bound's unit applies to the second), "월 금액 7,000,000원
    /월" (monthly), "500만원 이상" (open upper bound), "협의 후 결정" (unknown).

    Only the amount counts: years, months, durations and counts written beside it ("월 550만 원
    (6개월)", "2,000만원 (2026년 기준)", "3,000만원 · 3개월") never enter it. A daily or weekly rate
    ("일 30만원") keeps its amount with a null type (the contract has none for it)."""
    if text is None:
        return UNKNOWN
    source = str(text).strip()
    if not source or _UNKNOWN_WORDS.search(source) and not re.search(r"\d", source):
        return UNKNOWN
    budget_type = detect_budget_type(source, default_type)
    reading = _NOT_AMOUNTS.sub(lambda m: " " * len(m.group(0)), source)
    amounts = _krw_amounts(reading)
    if not amounts:
        return UNKNOWN
    # The first two amounts a range joins; else the first that is money for sure; else the only
    # bare number.
    pair: tuple[_Amount, _Amount] | None = None
    for first, second in zip(amounts, amounts[1:], strict=False):
        if (first.money or second.money) and _RANGE_JOIN.fullmatch(reading[first.end: second.start]):
            pair = (first, second)
            break
    if pair is None and len(amounts) == 2 and not amounts[0].money and not amounts[1].money \
            and _RANGE_JOIN.fullmatch(reading[amounts[0].end: amounts[1].start]):
        pair = (amounts[0], amounts[1])
    if pair:
        first, second = pair
        low_value, high_value = first.value, second.value
        if not first.money and second.money:      # "300~500만원": the unit written once, at the end
            low_value *= second.unit
        elif first.money and not second.money:    # "650만원 ~ 750": the first bound's unit
            high_value *= first.unit
        return budget_from_amounts(number(low_value), number(high_value), "KRW", budget_type)
    money = [amount for amount in amounts if amount.money]
    if money:
        chosen = money[0]
    elif len(amounts) == 1:
        chosen = amounts[0]
    else:
        return UNKNOWN  # several bare numbers and no unit: nothing says which is the amount
    value = number(chosen.value)
    low: Number | None = value
    high: Number | None = value
    before = reading[max(0, chosen.start - 6): chosen.start]
    after = reading[chosen.end: chosen.end + 6]
    if _LOWER_WORDS.search(after) or re.search("최소", before) or re.search(r"부터\s*$", reading):
        high = None
    elif _UPPER_WORDS.search(after) or re.search("최대", before):
        low = None
    return budget_from_amounts(low, high, "KRW", budget_type)


# --- amounts with symbols or codes (global platforms) -----------------------------------------

# A number is English ("1,000.50") or, when unambiguous, European ("1.500,00", "2.000.000"):
# "1.500" alone stays 1.5. A symbol may also follow the number ("500 €", "500 zł").
_NUMBER = r"\d{1,3}(?:\.\d{3})+,\d{1,2}(?!\d)|\d{1,3}(?:\.\d{3}){2,}(?![\d,])|\d[\d,]*(?:\.\d+)?"
_AMOUNT = (
    rf"(?:(?P<cur>{_SYMBOL}|{_CODE}\s?)\s*)?(?P<num>{_NUMBER})\s*(?P<mult>[kKmM](?![a-zA-Z]))?"
    rf"(?:\s*(?P<code>{_CODE})\b|\s?(?P<after>{_SYMBOL}))?"
)
_AMOUNT_RE = re.compile(_AMOUNT)
# What joins the two ends of a range; any other text between two numbers makes them separate
# figures ("20 hours/week $30" is a rate of $30, not 20 to 30).
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|~|to|and)\s*", re.I)
_UPPER_ONLY = re.compile(r"\b(?:under|less than|up to|below|max(?:imum)?|<)\s*", re.I)
_LOWER_ONLY = re.compile(r"\b(?:over|more than|above|at least|min(?:imum)?|from)\b|\+\s*$|>", re.I)


def parse_money(text: Any, *, default_currency: str | None = None, default_type: str | None = None) -> Budget:
    """A budget string with currency symbols or codes: "Fixed Price | $500-$1k", "$1.5k",
    "Under $250" (None, 250), "Over $5k" (5000, None), "£20/hr", "INR 1,500 - 12,500", "Hourly".

    The currency is the symbol's or code's; with neither, `default_currency`. Won amounts
    ("원", "만원") go to `parse_krw`.
    """
    if text is None:
        return UNKNOWN
    source = str(text).strip()
    if not source:
        return UNKNOWN
    if re.search(r"\d\s*(?:억|천만|백만|만|천)?\s*원|\d\s*(?:억|만)", source):
        return parse_krw(source, default_type=default_type)
    budget_type = detect_budget_type(source, default_type)
    matches = [m for m in _AMOUNT_RE.finditer(source) if m.group("num")]
    if not matches:
        return Budget(None, None, None, budget_type)
    matches = _budget_matches(source, matches)
    currency = default_currency
    values: list[Number | None] = []
    for match in matches:
        symbol = _currency_marker(match)
        if symbol:
            currency = CURRENCY_SYMBOLS.get(symbol, symbol.upper())
        values.append(_scaled(match.group("num"), match.group("mult")))
    # "$1-2k": a multiplier written once at the end applies to both sides, but only where the
    # bare first number is below the second ("$500-$1k" is 500 to 1,000).
    if len(matches) == 2 and not matches[0].group("mult") and matches[1].group("mult"):
        first, second = _scaled(matches[0].group("num"), None), _scaled(matches[1].group("num"), None)
        if first is not None and second is not None and first < second:
            values[0] = _scaled(matches[0].group("num"), matches[1].group("mult"))
    if currency is None:
        return Budget(None, None, None, budget_type)
    if len(values) == 1:
        before = source[: matches[0].start()]
        low = high = values[0]
        if _UPPER_ONLY.search(before):
            low = None
        elif _LOWER_ONLY.search(before) or _LOWER_ONLY.search(source[matches[0].end():][:2]):
            high = None
        return budget_from_amounts(low, high, currency, budget_type)
    return budget_from_amounts(values[0], values[1], currency, budget_type)


def _currency_marker(match: re.Match[str]) -> str | None:
    return (match.group("cur") or "").strip() or match.group("code") or match.group("after") or None


def _budget_matches(source: str, matches: list[re.Match[str]]) -> list[re.Match[str]]:
    """The numbers that make the budget: the first two when a range joins them ("$500-$1k",
    "£10 - £15", "between $100 and $200"); otherwise one figure, the first that carries a
    currency (so a workload or a count next to the amount is not read as a bound)."""
    if len(matches) >= 2 and _RANGE_JOIN.fullmatch(source[matches[0].end(): matches[1].start()]):
        return matches[:2]
    marked = [match for match in matches if _currency_marker(match)]
    return [marked[0] if marked else matches[0]]


def _scaled(digits: str, multiplier: str | None) -> Number | None:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?", digits) and (digits.count(".") > 1 or "," in digits):
        digits = digits.replace(".", "").replace(",", ".")  # European grouping
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None
    if multiplier:
        value *= 1_000 if multiplier.lower() == "k" else 1_000_000
    return number(value)
