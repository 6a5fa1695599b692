"""What an alert says: the JSON payload (webhooks, JSON Lines, stdout) and the text of a chat or
e-mail message (Apprise), in Korean and English.

Payload (Standard Webhooks' recommended envelope: type, timestamp, data):

    {"type": "posting.new",                      # posting.changed, postings.digest
     "timestamp": "2026-10-02T06:00:01+00:00",   # when the posting (version) was committed: stable across retries
     "data": {"search": "python-kr",
              "idempotency_key": "python-kr:wishket:201001",
              "kind": "new",
              "posting": {every contract field, in the contract's formats, + first_seen_at, last_seen_at, changed_at}}}

The idempotency key is (search, platform, external_id) as the contract asks, each part
percent-encoded and joined with ":" so it is ASCII (it travels as the webhook-id header) and can
be split back. A change alert (searches with `changes = true`) appends the change's time, so it
differs from the first alert's key. Never `raw`, never the content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from outsourcing.query.postings import EXPORT_FIELDS, iso_utc, posting_record

KOREAN_PLATFORMS = frozenset({"wishket", "freemoa", "kmong", "elancer"})
KST = ZoneInfo("Asia/Seoul")
PLATFORM_NAMES = {
    "wishket": ("위시켓", "Wishket"),
    "freemoa": ("프리모아", "Freemoa"),
    "kmong": ("크몽", "Kmong"),
    "elancer": ("이랜서", "Elancer"),
    "freelancer": ("프리랜서닷컴", "Freelancer.com"),
    "guru": ("구루", "Guru"),
    "peopleperhour": ("피플퍼아워", "PeoplePerHour"),
    "remoteok": ("리모트OK", "RemoteOK"),
    "weworkremotely": ("위워크리모틀리", "We Work Remotely"),
}
BUDGET_TYPES = {
    "fixed": ("고정 금액", "fixed price"),
    "hourly": ("시급", "per hour"),
    "monthly": ("월 단가", "per month"),
    "yearly": ("연봉", "per year"),
}
_SAFE = "-_.~"


def idempotency_key(search: str, platform: str, external_id: str, version: str = "") -> str:
    parts = [search, platform, external_id] + ([version] if version else [])
    return ":".join(quote(part, safe=_SAFE) for part in parts)


def split_key(key: str) -> list[str]:
    return [unquote(part) for part in key.split(":")]


def change_version(changed_at: datetime) -> str:
    """The version part of a change alert's key: the posting's changed_at, compact UTC."""
    return changed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass
class Alert:
    """One posting (version) of a message."""

    search: str
    key: str
    kind: str                 # new | changed
    event_at: datetime
    posting: dict[str, Any]   # contract fields + extras, contract formats
    change: dict[str, Any] | None = None  # for kind=changed: the change row (fields, old, new values)

    def payload_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"idempotency_key": self.key, "kind": self.kind, "posting": self.posting}
        if self.change is not None:
            item["change"] = self.change
        return item


@dataclass
class Message:
    """What a channel sends: one posting, or a digest of several."""

    message_id: int
    search: str
    channel: str
    key: str
    digest: bool
    alerts: list[Alert] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        if self.digest:
            newest = max((alert.event_at for alert in self.alerts), default=datetime.now(UTC))
            return {"type": "postings.digest", "timestamp": iso_utc(newest),
                    "data": {"search": self.search, "idempotency_key": self.key,
                             "postings": [alert.payload_item() for alert in self.alerts]}}
        alert = self.alerts[0]
        return {"type": f"posting.{alert.kind}", "timestamp": iso_utc(alert.event_at),
                "data": {"search": self.search, **alert.payload_item()}}

    def text(self, language: str = "both") -> tuple[str, str]:
        """(title, body) for people."""
        if not self.digest:
            alert = self.alerts[0]
            prefix = {"ko": "변경", "en": "Changed", "both": "변경 Changed"}[language] + ": " if alert.kind == "changed" else ""
            return f"[{self.search}] {prefix}{alert.posting['title']}", posting_text(alert, language)
        count = len(self.alerts)
        title = {"ko": f"[{self.search}] 새 프로젝트 {count}건",
                 "en": f"[{self.search}] {count} new posting{'s' if count != 1 else ''}",
                 "both": f"[{self.search}] 새 프로젝트 {count}건 / {count} new posting{'s' if count != 1 else ''}"}[language]
        blocks = [f"■ {alert.posting['title']}\n{posting_text(alert, language)}" for alert in self.alerts]
        return title, "\n\n".join(blocks)


def alert_from_row(search: str, row: Any) -> Alert:
    """An Alert from a row of deliveries joined with postings (queue.MESSAGE_POSTINGS)."""
    posting = posting_record(row, EXPORT_FIELDS)
    key = idempotency_key(search, row["platform"], row["external_id"], row["version"])
    change = None
    if row["kind"] == "changed" and row["change_fields"] is not None:
        change = {"changed_at": iso_utc(row["change_at"]), "changed_fields": list(row["change_fields"]),
                  "old_values": row["change_old"], "new_values": row["change_new"]}
    return Alert(search=search, key=key, kind=row["kind"], event_at=row["event_at"], posting=posting, change=change)


# --- text ------------------------------------------------------------------------------------------


def _label(ko: str, en: str, language: str) -> str:
    return {"ko": ko, "en": en, "both": f"{ko} {en}"}[language]


def won(amount: Decimal | int | float) -> str:
    """Korean won as people write it: 3,500,000 -> 350만원, 150,000,000 -> 1억 5,000만원."""
    value = Decimal(str(amount))
    if value != value.to_integral_value() or value % 10_000 or value < 10_000:
        return f"{_grouped(value)}원"
    man = int(value) // 10_000
    eok, man = divmod(man, 10_000)
    parts = ([f"{eok:,}억"] if eok else []) + ([f"{man:,}만"] if man else [])
    return " ".join(parts) + "원"


def _grouped(value: Decimal | int | float) -> str:
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def budget_text(posting: dict[str, Any], language: str) -> str:
    low, high, currency, kind = (posting.get("budget_min"), posting.get("budget_max"), posting.get("currency"),
                                 posting.get("budget_type"))
    if low is None and high is None:
        return _label("협의", "not stated", language)
    korean = language in ("ko", "both") and currency == "KRW"

    def amount(value: Any) -> str:
        return won(value) if korean else f"{_grouped(value)} {currency or ''}".strip()

    if low is not None and high is not None and low != high:
        text = f"{amount(low)} ~ {amount(high)}"
    elif low is not None and high is not None:
        text = amount(low)
    elif low is not None:
        text = {"ko": f"{amount(low)} 이상", "en": f"from {amount(low)}", "both": f"{amount(low)} 이상 (from)"}[language]
    else:
        text = {"ko": f"최대 {amount(high)}", "en": f"up to {amount(high)}", "both": f"최대 (up to) {amount(high)}"}[language]
    if korean and language == "both":
        numbers = "–".join(_grouped(value) for value in dict.fromkeys(v for v in (low, high) if v is not None))
        text += f" ({numbers} KRW)"
    if kind in BUDGET_TYPES:
        ko, en = BUDGET_TYPES[kind]
        text += f", {_label(ko, en, language)}"
    return text


def deadline_text(posting: dict[str, Any], language: str) -> str:
    value = posting.get("deadline_at")
    if not value:
        return _label("없음", "none given", language)
    instant = datetime.fromisoformat(value)
    if posting.get("platform") in KOREAN_PLATFORMS:
        return instant.astimezone(KST).strftime("%Y-%m-%d %H:%M KST")
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def posting_text(alert: Alert, language: str) -> str:
    posting = alert.posting
    ko_name, en_name = PLATFORM_NAMES.get(posting["platform"], (posting["platform"], posting["platform"]))
    lines = [
        f"{_label('예산', 'Budget', language)}: {budget_text(posting, language)}",
        f"{_label('마감', 'Deadline', language)}: {deadline_text(posting, language)}",
        f"{_label('플랫폼', 'Platform', language)}: {_label(ko_name, en_name, language) if ko_name != en_name else en_name}",
    ]
    if posting.get("skills"):
        lines.append(f"{_label('기술', 'Skills', language)}: {', '.join(posting['skills'][:10])}")
    if alert.change is not None:
        lines.append(f"{_label('변경', 'Changed', language)}: {', '.join(alert.change['changed_fields'])}")
    lines.append(f"{_label('링크', 'Link', language)}: {posting['url']}")
    return "\n".join(lines)
