"""The alerts config file (TOML): channels and saved searches. Secrets come from the environment.

    [channels.telegram]
    type = "apprise"                 # any Apprise URL: tgram://, slack://, discord://, mailto://, ntfy://, json://
    url_env = "ALERT_TELEGRAM_URL"   # the URL (with its token) lives in the environment, never here

    [channels.hooks]
    type = "webhook"                 # JSON POST signed per Standard Webhooks
    url = "https://hooks.example.com/outsourcing"   # or url_env = "..."
    secret_env = "ALERT_WEBHOOK_SECRET"             # whsec_<base64>, as the reference libraries expect

    [[searches]]
    name = "python-kr"
    channels = ["telegram", "hooks"]
    platform = ["wishket", "kmong"]  # every other key is a PostingFilter field (outsourcing/query/filters.py)
    skills = ["Python"]
    currency = "KRW"
    min_budget = 3000000

A search's keys are `name`, `channels`, `changes` (true: also alert changes of postings it
already alerted; or a list of fields, e.g. ["budget_min", "budget_max", "status"]),
`digest_minutes` (one message per search and channel every N minutes) and the fields of the
read API's posting search; the same validated model (`PostingFilter`) turns them into SQL
for both, so a saved search finds exactly what the API finds with the same parameters.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outsourcing.alerts.location import ENV_CONFIG, SETTING_CONFIG, config_path  # noqa: F401 - re-exported
from outsourcing.items import CONTRACT_FIELDS, HASH_EXCLUDED
from outsourcing.query.filters import PostingFilter, describe_errors

SEARCH_KEYS = frozenset({"name", "channels", "changes", "digest_minutes"})
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Language = Literal["ko", "en", "both"]
#: Fields a search's `changes = [...]` may name: those whose change makes a new version.
CHANGE_FIELDS = tuple(name for name in CONTRACT_FIELDS if name not in HASH_EXCLUDED and name not in ("platform", "external_id"))


class ConfigError(ValueError):
    """The config file cannot be used; `problems` names each one (file, table, key)."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"alerts config {path}: " + "; ".join(problems))


class _ChannelTable(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: Literal["apprise", "webhook", "jsonl", "stdout"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    path: str | None = None
    language: Language = "both"


class _SearchTable(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str
    channels: list[str] = Field(min_length=1)
    changes: bool | list[str] = False
    digest_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    type: str
    language: Language = "both"
    url: str | None = field(default=None, repr=False)      # resolved (may hold a token: never logged)
    url_env: str | None = None
    secret: bytes | None = field(default=None, repr=False)  # the webhook signing key, decoded
    secret_env: str | None = None
    path: Path | None = None

    def describe(self) -> str:
        """How logs and `status` name the channel: never its URL or secret."""
        source = f", URL from ${self.url_env}" if self.url_env else ""
        if self.type == "jsonl":
            source = f", {self.path}"
        return f"{self.name} ({self.type}{source})"


@dataclass(frozen=True)
class SearchConfig:
    name: str
    filter: PostingFilter
    channels: tuple[str, ...]
    changes: bool = False
    change_fields: tuple[str, ...] | None = None   # with changes: only changes of these fields
    digest_minutes: int | None = None

    def filter_json(self) -> dict[str, Any]:
        """The filter as stored in alert_searches.filter (and read back with from_mapping)."""
        return self.filter.model_dump(mode="json", exclude_defaults=True)


@dataclass
class AlertsConfig:
    path: Path
    channels: dict[str, ChannelConfig]
    searches: list[SearchConfig]
    masker: SecretMasker

    def search(self, name: str) -> SearchConfig | None:
        return next((search for search in self.searches if search.name == name), None)

    def routes(self) -> list[tuple[str, str]]:
        """(search, channel) pairs this config can deliver."""
        return [(search.name, channel) for search in self.searches for channel in search.channels]


# --- secrets ---------------------------------------------------------------------------------------


class SecretMasker:
    """Replaces every secret (whole values and their token-like parts) with *** in text."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        parts = {secret}
        try:
            split = urlsplit(secret)
            if split.scheme and split.netloc:
                parts |= {split.password or "", split.username or ""}
                parts |= {value for _, value in parse_qsl(split.query)}
                # Apprise URLs carry tokens as host or path parts (tgram://TOKEN/CHAT, discord://ID/TOKEN).
                if split.scheme not in ("http", "https", "json", "form", "xml"):
                    parts |= {piece for piece in re.split(r"[@:]", split.netloc) if len(piece) >= 6}
                parts |= {segment for segment in split.path.split("/") if len(segment) >= 6}
        except ValueError:
            pass
        self._secrets.extend(part for part in parts if len(part) >= 4)
        self._secrets.sort(key=len, reverse=True)  # a whole URL before its parts

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class MaskingFilter(logging.Filter):
    """A logging filter that renders a record's message and masks the secrets in it. Installed on
    the root logger's handlers (and Apprise's logger) while a dispatcher runs."""

    def __init__(self, masker: SecretMasker) -> None:
        super().__init__("outsourcing.alerts.masking")
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        masked = self.masker.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_masking(masker: SecretMasker) -> MaskingFilter:
    """Mask `masker`'s secrets in every log line: a filter on each root handler (records of every
    logger pass them) and on the loggers that could name a secret when no handler is installed yet."""
    masking = MaskingFilter(masker)
    for handler in logging.getLogger().handlers:
        handler.addFilter(masking)
    for name in ("apprise", "outsourcing.alerts", "httpx"):
        logging.getLogger(name).addFilter(masking)
    return masking


def remove_masking(masking: MaskingFilter) -> None:
    for handler in logging.getLogger().handlers:
        handler.removeFilter(masking)
    for name in ("apprise", "outsourcing.alerts", "httpx"):
        logging.getLogger(name).removeFilter(masking)


def decode_webhook_secret(text: str) -> bytes:
    """The signing key of a Standard Webhooks secret, decoded as the reference implementation
    does: an optional `whsec_` prefix, then base64."""
    value = text.strip()
    if value.startswith("whsec_"):
        value = value[len("whsec_"):]
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        raise ValueError("is not a Standard Webhooks secret (whsec_ followed by base64)")
    try:
        key = base64.b64decode(value + "==")  # as the reference: extra padding is ignored
    except (binascii.Error, ValueError) as error:
        raise ValueError("is not a Standard Webhooks secret (whsec_ followed by base64)") from error
    if len(key) < 16:
        raise ValueError("is too short: use at least 16 random bytes (e.g. whsec_$(openssl rand -base64 32))")
    return key


# --- loading ----------------------------------------------------------------------------------------


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> AlertsConfig:
    """Read and validate the file; resolve secrets from `environ`. Raises ConfigError naming every
    problem at once."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror or error}"]) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"not valid TOML: {error}"]) from error
    return parse_config(data, path, environ)


def parse_config(data: Mapping[str, Any], path: Path, environ: Mapping[str, str]) -> AlertsConfig:
    problems: list[str] = []
    unknown = sorted(set(data) - {"channels", "searches"})
    if unknown:
        problems.append(f"unknown top-level keys {unknown}: the file holds [channels.NAME] tables and [[searches]]")
    masker = SecretMasker()
    channels: dict[str, ChannelConfig] = {}
    raw_channels = data.get("channels") or {}
    if not isinstance(raw_channels, dict):
        problems.append("channels: must be tables, [channels.NAME]")
        raw_channels = {}
    for name, table in raw_channels.items():
        channel = _channel(name, table, path, environ, masker, problems)
        if channel is not None:
            channels[name] = channel
    searches: list[SearchConfig] = []
    raw_searches = data.get("searches") or []
    if not isinstance(raw_searches, list):
        problems.append("searches: must be an array of tables, [[searches]]")
        raw_searches = []
    if not raw_searches:
        problems.append("no [[searches]]: nothing to alert")
    names: set[str] = set()
    for number, table in enumerate(raw_searches, start=1):
        search = _search(number, table, raw_channels, problems)
        if search is None:
            continue
        if search.name in names:
            problems.append(f"searches[{number}]: the name {search.name!r} is used twice")
            continue
        names.add(search.name)
        searches.append(search)
    if problems:
        raise ConfigError(path, problems)
    return AlertsConfig(path=path, channels=channels, searches=searches, masker=masker)


def _channel(name: str, table: Any, path: Path, environ: Mapping[str, str], masker: SecretMasker,
             problems: list[str]) -> ChannelConfig | None:
    where = f"channels.{name}"
    if not _NAME.match(name):
        problems.append(f"{where}: a channel name has 1-100 printable characters")
        return None
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return None
    try:
        spec = _ChannelTable.model_validate(table)
    except ValidationError as error:
        problems.extend(f"{where}.{message}" for message in describe_errors(error))
        return None
    before = len(problems)

    def env(variable: str | None, what: str) -> str | None:
        if variable is None:
            return None
        if not _ENV_NAME.match(variable):
            problems.append(f"{where}: {what} names an environment variable, e.g. ALERT_{name.upper()}_URL")
            return None
        value = environ.get(variable, "").strip()
        if not value:
            problems.append(f"{where}: the environment variable {variable} ({what}) is not set")
            return None
        masker.add(value)
        return value

    url = secret_text = None
    if spec.type == "apprise":
        if spec.url is not None:
            problems.append(f"{where}: Apprise URLs carry tokens and passwords; put the URL in an environment "
                            "variable and name it with url_env = \"...\" (secrets never go in the file)")
        elif spec.url_env is None:
            problems.append(f"{where}: url_env is required (the environment variable holding the Apprise URL)")
        url = env(spec.url_env, "url_env")
        if url is not None and not _apprise_understands(url):
            problems.append(f"{where}: ${spec.url_env} does not hold a URL that Apprise supports")
    elif spec.type == "webhook":
        if (spec.url is None) == (spec.url_env is None):
            problems.append(f"{where}: give exactly one of url and url_env")
        url = spec.url if spec.url is not None else env(spec.url_env, "url_env")
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            problems.append(f"{where}: the webhook URL must be http:// or https://")
        if spec.secret_env is None:
            problems.append(f"{where}: secret_env is required: webhooks are signed (Standard Webhooks) with a "
                            "secret from the environment")
        secret_text = env(spec.secret_env, "secret_env")
    elif spec.type == "jsonl":
        if not spec.path:
            problems.append(f"{where}: path is required (the JSON Lines file to append to)")
    extra = {"url": spec.url, "url_env": spec.url_env, "secret_env": spec.secret_env, "path": spec.path}
    allowed = {"apprise": {"url", "url_env"}, "webhook": {"url", "url_env", "secret_env"},
               "jsonl": {"path"}, "stdout": set()}[spec.type]
    for key, value in extra.items():
        if value is not None and key not in allowed:
            problems.append(f"{where}: {key} does not apply to a {spec.type} channel")
    secret = None
    if secret_text is not None:
        try:
            secret = decode_webhook_secret(secret_text)
        except ValueError as error:
            problems.append(f"{where}: ${spec.secret_env} {error}")
    if len(problems) > before:
        return None
    file_path = None
    if spec.path:
        file_path = Path(spec.path).expanduser()
        if not file_path.is_absolute():
            file_path = path.parent / file_path  # relative to the config file, whatever the working directory
    return ChannelConfig(name=name, type=spec.type, language=spec.language, url=url, url_env=spec.url_env,
                         secret=secret, secret_env=spec.secret_env, path=file_path)


def _search(number: int, table: Any, channels: Mapping[str, Any], problems: list[str]) -> SearchConfig | None:
    where = f"searches[{number}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return None
    if isinstance(table.get("name"), str):
        where = f"searches[{number}] ({table['name']})"
    own = {key: value for key, value in table.items() if key in SEARCH_KEYS}
    rest = {key: value for key, value in table.items() if key not in SEARCH_KEYS}
    before = len(problems)
    spec = None
    try:
        spec = _SearchTable.model_validate(own)
    except ValidationError as error:
        problems.extend(f"{where}.{message}" for message in describe_errors(error))
    posting_filter = None
    try:
        posting_filter = PostingFilter.from_mapping(rest)
    except ValidationError as error:
        problems.extend(f"{where}.{message}" for message in describe_errors(error))
    if spec is not None:
        if not _NAME.match(spec.name):
            problems.append(f"{where}.name: 1-100 printable characters")
        for channel in spec.channels:
            if channel not in channels:
                problems.append(f"{where}.channels: no [channels.{channel}] table")
        if len(set(spec.channels)) != len(spec.channels):
            problems.append(f"{where}.channels: a channel is named twice")
        if isinstance(spec.changes, list):
            unknown = [name for name in spec.changes if name not in CHANGE_FIELDS]
            if unknown or not spec.changes:
                problems.append(f"{where}.changes: true, false, or a list of posting fields "
                                f"({', '.join(CHANGE_FIELDS)}); unknown: {unknown}")
    if len(problems) > before or spec is None or posting_filter is None:
        return None
    fields = tuple(spec.changes) if isinstance(spec.changes, list) else None
    return SearchConfig(name=spec.name, filter=posting_filter, channels=tuple(spec.channels),
                        changes=bool(spec.changes), change_fields=fields, digest_minutes=spec.digest_minutes)


def _apprise_understands(url: str) -> bool:
    import apprise

    return apprise.Apprise().add(url)
