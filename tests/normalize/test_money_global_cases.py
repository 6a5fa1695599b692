"""Money strings of the global platforms (Guru, PeoplePerHour, Freelancer's web cards), table-driven.

Each row is (text, expected Budget). The expectations are written from what the string says, not
from running the parser: open bounds are None, amounts are whole currency units, the currency is
the one written next to the number (never converted), and the type is what the amount pays for.
"""

from __future__ import annotations

import pytest

from outsourcing.normalize.money import Budget, parse_money

# --- Guru's budget line: "<type> | <amount band>" --------------------------------------------
GURU = [
    ("Fixed Price | Under $250", Budget(None, 250, "USD", "fixed")),
    ("Fixed Price | $250-$500", Budget(250, 500, "USD", "fixed")),
    ("Fixed Price | $500-$1k", Budget(500, 1000, "USD", "fixed")),
    ("Fixed Price | $1k-$2.5k", Budget(1000, 2500, "USD", "fixed")),
    ("Fixed Price | $2.5k-$5k", Budget(2500, 5000, "USD", "fixed")),
    ("Fixed Price | $5k-$10k", Budget(5000, 10000, "USD", "fixed")),
    ("Fixed Price | $10k-$25k", Budget(10000, 25000, "USD", "fixed")),
    ("Fixed Price | $25k-$50k", Budget(25000, 50000, "USD", "fixed")),
    ("Fixed Price | Over $50k", Budget(50000, None, "USD", "fixed")),
    ("Fixed Price | Not Sure", Budget(None, None, None, "fixed")),
    ("Fixed Price", Budget(None, None, None, "fixed")),
    ("Hourly", Budget(None, None, None, "hourly")),
    ("Hourly | Not Sure | Ongoing", Budget(None, None, None, "hourly")),
    ("Hourly | $15-$25/hr", Budget(15, 25, "USD", "hourly")),
    # The workload and length after the rate are not amounts.
    ("Hourly | $15-$25/hr | 10-30 hrs/week | 1-3 months", Budget(15, 25, "USD", "hourly")),
    ("Hourly | $10/hr", Budget(10, 10, "USD", "hourly")),
    ("Under $250", Budget(None, 250, "USD", None)),
]

# --- shorthand multipliers ----------------------------------------------------------------------
MULTIPLIERS = [
    ("$1k", Budget(1000, 1000, "USD", None)),
    ("$1.5k", Budget(1500, 1500, "USD", None)),
    ("$2.5K-$5K", Budget(2500, 5000, "USD", None)),
    ("Under $1K", Budget(None, 1000, "USD", None)),
    ("$1k+", Budget(1000, None, "USD", None)),
    ("$500 - 1k", Budget(500, 1000, "USD", None)),
    ("$500 to 1k", Budget(500, 1000, "USD", None)),
    ("£1.2m", Budget(1200000, 1200000, "GBP", None)),
    ("AU$ 2k", Budget(2000, 2000, "AUD", None)),
]

# --- currency symbols and codes, before and after the number ----------------------------------
CURRENCIES = [
    ("£1,250", Budget(1250, 1250, "GBP", None)),
    ("€500/month", Budget(500, 500, "EUR", "monthly")),
    ("₹37,500 - 75,000", Budget(37500, 75000, "INR", None)),
    ("₹1500 - 12500 INR", Budget(1500, 12500, "INR", None)),
    ("¥5000", Budget(5000, 5000, "JPY", None)),
    ("JPY 5000", Budget(5000, 5000, "JPY", None)),
    ("USD500", Budget(500, 500, "USD", None)),
    ("500USD", Budget(500, 500, "USD", None)),
    ("US$500", Budget(500, 500, "USD", None)),
    ("C$ 300", Budget(300, 300, "CAD", None)),
    ("CHF 1000", Budget(1000, 1000, "CHF", None)),
    ("zł 500", Budget(500, 500, "PLN", None)),
    ("$500-$1,000 USD", Budget(500, 1000, "USD", None)),
    ("Budget: 500 - 1000 USD", Budget(500, 1000, "USD", None)),
    # A symbol written after the number (common in Europe) names the currency too.
    ("500 €", Budget(500, 500, "EUR", None)),
    ("500 zł", Budget(500, 500, "PLN", None)),
    ("500 € - 1000 €", Budget(500, 1000, "EUR", None)),
    # European grouping: dots for thousands, comma for decimals.
    ("€ 1.500,00", Budget(1500, 1500, "EUR", None)),
    ("€1.250,50", Budget(1250.5, 1250.5, "EUR", None)),
    ("2.000.000 €", Budget(2000000, 2000000, "EUR", None)),
    ("$1,000.50", Budget(1000.5, 1000.5, "USD", None)),
]

# --- hourly against fixed, and open bounds ------------------------------------------------------
TYPES_AND_BOUNDS = [
    ("£10 - £15 per hour", Budget(10, 15, "GBP", "hourly")),
    ("Hourly: $15.00 - $40.00", Budget(15, 40, "USD", "hourly")),
    ("50 EUR/hour", Budget(50, 50, "EUR", "hourly")),
    ("$10 - 30 USD / hour", Budget(10, 30, "USD", "hourly")),
    ("From $30/hour", Budget(30, None, "USD", "hourly")),
    ("Over $250 per hour", Budget(250, None, "USD", "hourly")),
    ("up to £500", Budget(None, 500, "GBP", None)),
    ("Fixed price: £300", Budget(300, 300, "GBP", "fixed")),
    ("between $100 and $200", Budget(100, 200, "USD", None)),
    ("Budget $500 to $1,000", Budget(500, 1000, "USD", None)),
]

# --- numbers that are not the amount ----------------------------------------------------------
NOT_AMOUNTS = [
    # A workload figure before the rate is not its lower bound.
    ("20 hours/week $30", Budget(30, 30, "USD", None)),
    ("3 months, $500", Budget(500, 500, "USD", None)),
    # Nor is a count after it (this once gave 3..500).
    ("$500 (negotiable) 3 months", Budget(500, 500, "USD", None)),
    ("Price negotiable", Budget()),
    ("1 hour", Budget()),  # a length of time, not a rate
    ("$", Budget()),
    ("1k", Budget()),  # no currency: not an amount we can state
]


@pytest.mark.parametrize(("text", "expected"), GURU + MULTIPLIERS + CURRENCIES + TYPES_AND_BOUNDS + NOT_AMOUNTS)
def test_parse_money_global(text: str, expected: Budget) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        # PeoplePerHour-style: the amount and the currency come apart; the type is the project's.
        ("250", {"default_currency": "GBP", "default_type": "fixed"}, Budget(250, 250, "GBP", "fixed")),
        ("Hourly | $15-$25/hr", {"default_currency": "GBP", "default_type": "fixed"}, Budget(15, 25, "USD", "hourly")),
        ("Under 250", {"default_currency": "USD"}, Budget(None, 250, "USD", None)),
    ],
)
def test_parse_money_defaults(text: str, kwargs: dict, expected: Budget) -> None:
    assert parse_money(text, **kwargs) == expected


def test_amounts_are_integers_when_whole() -> None:
    budget = parse_money("Fixed Price | $1k-$2.5k")
    assert type(budget.minimum) is int and type(budget.maximum) is int
