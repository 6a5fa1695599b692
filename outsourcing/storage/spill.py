"""The spill file: batches that could not be written wait here for the next run.

One JSON Lines file per crawl process (`<spill dir>/<spider>-<utc time>-<pid>.jsonl`), one
line per record: {"kind": "posting" | "rejected", "record": {...}}. Lines are flushed and
fsynced before the batch counts as spilled, so a crash right after loses nothing.

The next run with a reachable database claims every spill file (an atomic rename, so two runs
never replay the same file), writes its records first, and deletes it. Replaying is safe even if
some records had in fact been written: the upsert sees the same content hash and leaves them be.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CLAIM_SUFFIX = ".replaying"


class SpillFile:
    def __init__(self, directory: Path, spider: str) -> None:
        self.directory = directory
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = directory / f"{spider}-{stamp}-{os.getpid()}.jsonl"
        self.records = 0  # posting records written to this run's file

    def append(self, kind: str, records: list[dict[str, Any]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps({"kind": kind, "record": record}, ensure_ascii=False, default=str))
                handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if kind == "posting":
            self.records += len(records)


def pending_files(directory: Path) -> list[Path]:
    """Spill files waiting to be replayed, oldest first. A file left claimed by a run that
    died while replaying it is pending again once that process is gone."""
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.jsonl"))
    for claimed in sorted(directory.glob(f"*{CLAIM_SUFFIX}-*")):
        pid = claimed.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            files.append(claimed)
    return files


def claim(path: Path) -> Path | None:
    """Take a spill file for this process; None if another run got it first."""
    base = path.name.split(CLAIM_SUFFIX)[0]
    target = path.with_name(f"{base}{CLAIM_SUFFIX}-{os.getpid()}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def read_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, record) pairs; a torn last line (the process died mid-write) is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield entry["kind"], entry["record"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
