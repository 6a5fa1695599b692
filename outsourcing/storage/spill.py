"""Spill files: batches that could not be written wait here for a run that reaches the database.

A spill file is the only copy of the postings in it, so:

- Format (version 2): JSON Lines, ASCII only (`ensure_ascii`), so no text can fail to encode (a
  lone surrogate is written as its `\\udXXX` escape and read back as the same string). Line 1 is
  a header, `{"outsourcing_spill": 2, "spider": ..., "pid": ..., "host": ..., "created_at": ...}`;
  every further line is one record, `{"kind": "posting" | "rejected", "record": {...}}`. A record
  that JSON cannot represent at all (a cycle, a key that is not text) is written as
  `{"kind": ..., "unserializable": "<its repr>"}` and becomes a rejected item when replayed.
  Version 1 files (no header, record lines only) are still read. A file whose header names a
  newer version is left alone for the crawler that wrote it.
- Writing: each append is flushed and fsynced before its records count as spilled; an append
  that fails (disk full) is cut back to where it started, and its records are counted as lost
  (the run then fails: they are neither stored nor spilled).
- Ownership: the process writing a file holds an exclusive `flock` on it for as long as it may
  append or take it back, and a run replaying a file holds the same lock. A lock dies with its
  process, so a file left by a crashed run (or claimed by a run that died replaying it) is free
  again at once; no pid is ever compared (a pid may belong to another process after a restart).
  A new file is created under a temporary name, locked, and only then renamed to `*.jsonl`, so
  no other run can see it unlocked.
- Unreadable lines (a torn line of a run that died mid-write, a line in no known shape) are never
  dropped: they are copied, byte for byte, into `<file>.unreadable` beside it, with a warning
  naming the file and the count, before the file is deleted.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
HEADER_KEY = "outsourcing_spill"
SUFFIX = ".jsonl"
UNREADABLE_SUFFIX = ".unreadable"
#: Files claimed by renaming (format 1 crawlers): replayed like any other pending file.
LEGACY_CLAIM_GLOB = "*.replaying-*"
_CREATING_SUFFIX = ".creating"
KINDS = ("posting", "rejected")


class NewerSpillFormat(Exception):
    """The file was written by a newer crawler: leave it for that one."""


def encode_line(kind: str, record: Any) -> bytes:
    """One record line. Cannot fail on content: ASCII JSON, and a record JSON cannot represent is
    kept as its repr (ASCII too)."""
    try:
        text = json.dumps({"kind": kind, "record": record}, ensure_ascii=True, default=str)
    except Exception:  # noqa: BLE001 - a cycle, a non-text key, a default=str that raises: keep its repr
        text = json.dumps({"kind": kind, "unserializable": ascii(_safe_repr(record))})
    return text.encode("ascii") + b"\n"


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:1_000_000]
    except Exception as error:  # noqa: BLE001 - a repr that raises is still a record to keep a trace of
        return f"<{type(value).__name__} whose repr raised {type(error).__name__}>"


def _header(spider: str) -> bytes:
    header = {HEADER_KEY: FORMAT_VERSION, "spider": spider, "pid": os.getpid(), "host": socket.gethostname(),
              "created_at": datetime.now(UTC).isoformat()}
    return json.dumps(header, ensure_ascii=True).encode("ascii") + b"\n"


@dataclass
class SpillContents:
    """What a spill file holds: records by kind, and the lines that could not be read."""

    postings: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[bytes] = field(default_factory=list)
    version: int = 1


def parse(data: bytes, name: str) -> SpillContents:
    """The records of a spill file's bytes. Raises NewerSpillFormat for a newer version."""
    contents = SpillContents()
    lines = data.split(b"\n")
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            contents.unreadable.append(raw)
            continue
        if number == 0 and isinstance(entry, dict) and HEADER_KEY in entry:
            version = entry.get(HEADER_KEY)
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise NewerSpillFormat(f"{name} is spill format {version!r}; this crawler reads up to {FORMAT_VERSION}")
            contents.version = version
            continue
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in KINDS:
            contents.unreadable.append(raw)
        elif "unserializable" in entry:
            contents.rejected.append(_unserializable(kind, entry["unserializable"], name))
        elif isinstance(entry.get("record"), dict):
            (contents.postings if kind == "posting" else contents.rejected).append(entry["record"])
        else:
            contents.unreadable.append(raw)
    return contents


def _unserializable(kind: str, text: Any, name: str) -> dict[str, Any]:
    """A rejected item standing for a record JSON could not represent when it was spilled."""
    return {
        "platform": None,
        "external_id": None,
        "reason": "spill:unserializable",
        "detail": f"a {kind} record in spill file {name} could not be written as JSON; its repr is kept",
        "item": {"repr": str(text)},
    }


def set_aside(path: Path, unreadable: list[bytes]) -> Path | None:
    """Copy unreadable lines into `<file>.unreadable` (replacing an earlier copy of the same file's
    lines, so trying a file twice writes them once). None when there are none."""
    if not unreadable:
        return None
    target = path.with_name(path.name + UNREADABLE_SUFFIX)
    with target.open("wb") as handle:
        for line in unreadable:
            handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return target


class SpillFile:
    """This run's own spill file: created on the first append, locked while the run lives."""

    def __init__(self, directory: Path, spider: str) -> None:
        self.directory = directory
        self.spider = spider
        self.path: Path | None = None
        self._handle: Any = None  # the open, flock'ed file

    @property
    def exists(self) -> bool:
        return self.path is not None and self._handle is not None

    def append(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Write and fsync `entries` ((kind, record) pairs). On failure the file is cut back to
        its length before the call (no torn lines left behind) and OSError is raised."""
        data = b"".join(encode_line(kind, record) for kind, record in entries)
        if self._handle is None:
            self._create()
        handle = self._handle
        start = handle.seek(0, os.SEEK_END)
        try:
            _write_all(handle, data)
            os.fsync(handle.fileno())
        except OSError:
            try:
                handle.truncate(start)
                handle.seek(start)
                os.fsync(handle.fileno())
            except OSError as error:  # the torn tail stays; replay sets it aside as unreadable
                logger.error("Could not cut spill file %s back after a failed write: %s", self.path, error)
            raise

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{self.spider}-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        final = self.directory / name
        creating = final.with_name(name + _CREATING_SUFFIX)
        handle = creating.open("xb", buffering=0)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write_all(handle, _header(self.spider))
            os.fsync(handle.fileno())
            os.rename(creating, final)
            _fsync_directory(self.directory)
        except BaseException:
            handle.close()
            creating.unlink(missing_ok=True)
            raise
        self._handle, self.path = handle, final

    def read(self) -> SpillContents:
        """What this run spilled so far (the file is ours: no claim needed)."""
        assert self.path is not None
        return parse(self.path.read_bytes(), self.path.name)

    def discard(self, contents: SpillContents | None = None) -> None:
        """Everything in the file was written to the database: set its unreadable lines aside,
        delete it, release the lock. The next append starts a new file."""
        if self._handle is None or self.path is None:
            return
        if contents is not None:
            set_aside(self.path, contents.unreadable)
        self.path.unlink(missing_ok=True)
        self.close()
        self.path = None

    def close(self) -> None:
        """Release the lock (the file stays for the next run)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def pending_files(directory: Path, own: Path | None = None) -> list[Path]:
    """Spill files waiting to be replayed, oldest first (a file another live run holds is listed
    too; `claim` skips it)."""
    if not directory.is_dir():
        return []
    files = [path for path in directory.glob(f"*{SUFFIX}") if path != own]
    files += [path for path in directory.glob(LEGACY_CLAIM_GLOB) if not path.name.endswith(UNREADABLE_SUFFIX)]
    return sorted(files, key=_age)


def _age(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except FileNotFoundError:
        return 0.0, path.name


class Claim:
    """A spill file this process holds the lock of, for replaying it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    def read(self) -> SpillContents:
        with os.fdopen(os.dup(self._fd), "rb") as handle:
            handle.seek(0)
            return parse(handle.read(), self.path.name)

    def done(self, contents: SpillContents) -> Path | None:
        """The records are written: keep the unreadable lines aside, delete the file (still
        under the lock). Returns where the unreadable lines went, if any."""
        aside = set_aside(self.path, contents.unreadable)
        self.path.unlink(missing_ok=True)
        return aside


@contextmanager
def claim(path: Path) -> Iterator[Claim | None]:
    """The file, locked for this process; None when another live process holds it or it is gone
    (replayed by another run meanwhile). The lock is released on leaving the block: a file not
    marked `done` stays for a later run, whole."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        # Another run may have replayed and deleted it between our open and our lock.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            yield None
            return
        held = os.fstat(fd)
        if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            yield None
            return
        yield Claim(path, fd)
    finally:
        os.close(fd)


def _write_all(handle: Any, data: bytes) -> None:
    """An unbuffered file's write may write part of the data (a disk filling up): go on until
    all is written or the write raises."""
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:
            raise OSError("spill write wrote nothing")
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
