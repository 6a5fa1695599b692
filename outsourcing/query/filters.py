"""The filter language shared by the API, alerts (saved searches) and the report.

One validated model, `PostingFilter`, built from HTTP query parameters, from a TOML table (a
dict) or from command-line options, and turned into a parameterised SQL WHERE fragment with
$n placeholders. `SqlParams` collects the values, so a caller can combine the fragment with
clauses of its own:

    params = SqlParams()
    keys = params.add(new_keys)
    sql = f"SELECT ... FROM postings p WHERE (p.platform, p.external_id) IN (SELECT * FROM unnest({keys}))" \
          f" AND {posting_filter.where(params, alias='p')}"
    rows = await connection.fetch(sql, *params.values)
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from outsourcing.items import BUDGET_TYPES, PLATFORMS, STATUSES

Platform = Literal[PLATFORMS]  # type: ignore[valid-type]
BudgetType = Literal[BUDGET_TYPES]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]

MAX_TERMS = 8
MAX_TERM_LENGTH = 100
MAX_LIST = 20

_HANGUL = re.compile(r"^[가-힣]+$")
_TERMS = re.compile(r'"([^"]*)"|(\S+)')
_LIST_FIELDS = ("platform", "skills", "budget_type")


class SqlParams:
    """Values for $1, $2 ...: `add` returns the placeholder of a value."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self.values: list[Any] = list(values)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def like_escape(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (backslash is LIKE's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(q: str | None) -> list[str]:
    """Terms of a query: words separated by blanks; "double quotes" keep a phrase together."""
    if not q:
        return []
    terms = []
    for quoted, word in _TERMS.findall(q):
        term = (quoted if quoted else word).strip()
        if term:
            terms.append(" ".join(term.split()))
    return terms


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PostingFilter(BaseModel):
    """Which postings: every given condition must hold (AND); a list field matches any of its
    values (OR) unless said otherwise. Field names follow the data contract."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    platform: list[Platform] = Field(default_factory=list, max_length=len(PLATFORMS),
                                     description="platforms (spider names); any of them")
    q: str | None = Field(None, max_length=400, description=(
        "text in title or description: every term must occur, case-insensitively, as a substring "
        "('웹' finds '웹사이트', 'react' finds 'React.js'); \"double quotes\" keep a phrase together"))
    skills: list[str] = Field(default_factory=list, max_length=MAX_LIST,
                              description="skill names, case-insensitive; any of them (see skills_match)")
    skills_match: Literal["any", "all"] = Field("any", description="any: at least one of `skills`; all: every one")
    currency: str | None = Field(None, description="ISO 4217 code of the posting's own amounts (never converted)")
    min_budget: Decimal | None = Field(None, ge=0, le=Decimal("1e15"), description=(
        "the posting's upper bound (or its only amount) is at least this, in `currency`, which is required"))
    budget_type: list[BudgetType] = Field(default_factory=list, max_length=len(BUDGET_TYPES),
                                          description="fixed, hourly, monthly, yearly; any of them")
    remote: bool | None = Field(None, description="true: remote; false: on-site (postings that do not say match neither)")
    status: Status | None = Field(None, description="open or closed")
    posted_since: datetime | None = Field(None, description="posted at or after this instant (a date means 00:00 UTC)")
    deadline_after: datetime | None = Field(None, description="applications close after this instant")

    # --- validation ---------------------------------------------------------------------------

    @field_validator(*_LIST_FIELDS, mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        """Lists from repeated query parameters, TOML arrays or comma-separated text."""
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            items: list[Any] = []
            for element in value:
                if isinstance(element, str):
                    items += [part.strip() for part in element.split(",") if part.strip()]
                else:
                    items.append(element)
            return list(dict.fromkeys(items))
        return value

    @field_validator("skills")
    @classmethod
    def _skill_names(cls, value: list[str]) -> list[str]:
        for skill in value:
            if len(skill) > MAX_TERM_LENGTH:
                raise ValueError(f"a skill name has at most {MAX_TERM_LENGTH} characters")
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper() or None
            if value is not None and not re.fullmatch(r"[A-Z]{3}", value):
                raise ValueError("currency must be a three-letter ISO 4217 code such as KRW or USD")
        return value

    @field_validator("q")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        terms = search_terms(value)
        if len(terms) > MAX_TERMS:
            raise ValueError(f"at most {MAX_TERMS} search terms")
        if any(len(term) > MAX_TERM_LENGTH for term in terms):
            raise ValueError(f"a search term has at most {MAX_TERM_LENGTH} characters")
        if "\x00" in value:
            raise ValueError("the query contains a NUL character")
        return value

    @field_validator("posted_since", "deadline_after", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(0), tzinfo=UTC)
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
            if not re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
                # Not a number of seconds either: ISO 8601 only, which is what people can read.
                raise ValueError("give an ISO 8601 date or instant, e.g. 2026-10-01 or 2026-10-01T09:00:00+09:00")
        elif isinstance(value, (int, float)):
            raise ValueError("give an ISO 8601 date or instant, e.g. 2026-10-01 or 2026-10-01T09:00:00+09:00")
        return value

    @field_validator("posted_since", "deadline_after")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if not (datetime(1970, 1, 1, tzinfo=UTC) <= _utc(value) <= datetime(9000, 1, 1, tzinfo=UTC)):
            raise ValueError("instant out of range (1970 to 9000)")
        return _utc(value)

    @model_validator(mode="after")
    def _budget_needs_currency(self) -> PostingFilter:
        if self.min_budget is not None and self.currency is None:
            raise ValueError("min_budget needs currency (e.g. currency=KRW): amounts are compared in the "
                             "posting's own currency, never converted")
        return self

    # --- construction from other sources --------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PostingFilter:
        """From a TOML table or any dict (strings, lists, numbers, booleans, dates).
        Raises pydantic.ValidationError, with every problem named; see `describe_errors`."""
        return cls.model_validate(dict(data))

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The filter as command-line options (--platform wishket --platform kmong, --q 웹 ...)."""
        group = parser.add_argument_group("posting filter")
        for name, field in PostingFilter.model_fields.items():
            option = "--" + name.replace("_", "-")
            if name in _LIST_FIELDS:
                group.add_argument(option, dest=f"filter_{name}", action="append", metavar="VALUE[,VALUE]",
                                   help=field.description)
            else:
                group.add_argument(option, dest=f"filter_{name}", metavar="VALUE", help=field.description)

    @classmethod
    def from_arguments(cls, namespace: argparse.Namespace) -> PostingFilter:
        values = {name: getattr(namespace, f"filter_{name}", None) for name in cls.model_fields}
        return cls.from_mapping({name: value for name, value in values.items() if value is not None})

    # --- SQL --------------------------------------------------------------------------------------

    @property
    def terms(self) -> list[str]:
        return search_terms(self.q)

    def where(self, params: SqlParams, alias: str = "p", *, text: Literal["all", "none", "only", "plain"] = "all") -> str:
        """The conditions as a SQL boolean expression over `alias` (a postings row).

        text: "all" (default) every condition, with index conditions for search terms;
        "none" every condition but the search terms; "only" the search terms alone;
        "plain" the search terms without their index conditions.
        """
        a = f"{alias}." if alias else ""
        clauses: list[str] = []
        if text in ("all", "none"):
            clauses += self._field_clauses(params, a)
        if text != "none":
            for term in self.terms:
                clauses += self._term_clauses(params, a, term, index=text in ("all", "only"))
        return " AND ".join(clauses) if clauses else "TRUE"

    def _field_clauses(self, params: SqlParams, a: str) -> list[str]:
        clauses = []
        if self.platform:
            clauses.append(f"{a}platform = ANY({params.add(list(self.platform))}::text[])")
        if self.skills:
            operator = "&&" if self.skills_match == "any" else "@>"
            lowered = sorted({skill.lower() for skill in self.skills})
            # Matches the expression of the index postings_skills_lower (schema.sql, block 5).
            clauses.append(f"outsourcing_lower_skills({a}skills) {operator} {params.add(lowered)}::text[]")
        if self.currency is not None:
            clauses.append(f"{a}currency = {params.add(self.currency)}")
        if self.min_budget is not None:
            # The upper bound, or the only amount given: "500만원 이상" work and "300~600만원" both
            # reach 500만원. Postings without an amount never match a minimum.
            clauses.append(f"coalesce({a}budget_max, {a}budget_min) >= {params.add(self.min_budget)}::numeric")
        if self.budget_type:
            clauses.append(f"{a}budget_type = ANY({params.add(list(self.budget_type))}::text[])")
        if self.remote is not None:
            clauses.append(f"{a}remote = {params.add(self.remote)}")
        if self.status is not None:
            clauses.append(f"{a}status = {params.add(self.status)}")
        if self.posted_since is not None:
            clauses.append(f"{a}posted_at >= {params.add(self.posted_since)}::timestamptz")
        if self.deadline_after is not None:
            clauses.append(f"{a}deadline_at > {params.add(self.deadline_after)}::timestamptz")
        return clauses

    @staticmethod
    def _term_clauses(params: SqlParams, a: str, term: str, *, index: bool) -> list[str]:
        """One search term as SQL; which index serves which term, and why: schema.sql, block 5.

        A term of 1-2 Hangul syllables becomes a match on the Hangul grams (exactly the
        substring test for such a term, answered by postings_search_hangul without a recheck);
        every other term the substring test on the lower-cased text (postings_search_text for
        3+ characters). index=False gives the substring test for every term: cheaper per row
        where rows are tested one by one (the walk over the newest postings).
        Lower-casing happens here, as lower() does it for the scripts that matter (Latin;
        Hangul has no case)."""
        lowered = term.lower()
        if index and len(lowered) <= 2 and _HANGUL.match(lowered):
            query = f"'{lowered}':*" if len(lowered) == 1 else f"'{lowered}'"
            return [f"outsourcing_hangul_grams({a}title, {a}description) @@ {params.add(query)}::tsquery"]
        return [f"outsourcing_search_text({a}title, {a}description) LIKE {params.add('%' + like_escape(lowered) + '%')}"]


def describe_errors(error: ValidationError) -> list[str]:
    """Pydantic's errors as sentences a person can act on: `field: message`."""
    messages = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail.get("loc", ()) if part not in ("query", "body"))
        message = str(detail.get("msg", "invalid value")).removeprefix("Value error, ")
        messages.append(f"{location}: {message}" if location else message)
    return messages
