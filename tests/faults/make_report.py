"""Run the fault-injection scenarios and write their figures to docs/reliability.md.

    python -m tests.faults.make_report

Every row comes from a scenario that ran in this invocation (tests/faults/test_*.py
records served / stored / duplicates / lost when RELIABILITY_REPORT is set); a failing
scenario fails the command and leaves the document as it was.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET = REPO / "docs" / "reliability.md"


SPILL_FORMAT = [
    "## The spill file",
    "",
    "Batches that could not be written (the database down longer than `DB_RETRY_TIMEOUT`) wait in",
    "`$SPILL_DIR` (default `$OUTSOURCING_HOME/spill`), one file per run that spilled:",
    "`<spider>-<UTC time>-<pid>-<random>.jsonl`. The file is the only copy of those postings.",
    "",
    "- **Format, version 2**: JSON Lines in pure ASCII (non-ASCII text is `\\uXXXX`-escaped, so no",
    "  text, not even a lone surrogate, can make a write fail). Line 1 is a header,",
    "  `{\"outsourcing_spill\": 2, \"spider\": ..., \"pid\": ..., \"host\": ..., \"created_at\": ...}`;",
    "  every other line is one record, `{\"kind\": \"posting\" | \"rejected\", \"record\": {...}}`. A record",
    "  JSON cannot represent at all is written as `{\"kind\": ..., \"unserializable\": \"<repr>\"}` and",
    "  becomes a rejected item (`spill:unserializable`) when replayed. Version 1 files (no header)",
    "  are still read; a file whose header names a newer version is left alone for that crawler.",
    "- **Writing**: each append is fsynced before its records count as spilled. An append that",
    "  fails (disk full, folder not writable) is cut back to where it started and its records are",
    "  counted in `outsourcing/storage/lost`: the run exits 1 and logs them as LOST.",
    "- **Replaying**: the next run that reaches the database writes every pending file first,",
    "  oldest first. Records PostgreSQL refuses there go to `rejected_items` with the reason, like",
    "  any other; only a connection fault leaves a file for a later run, and a shutdown (SIGTERM)",
    "  stops between batches, leaving the file whole. Writing a record twice is harmless (the",
    "  upsert finds it unchanged).",
    "- **Who replays a file**: the run that writes a file, and a run replaying one, hold an",
    "  exclusive `flock` on it. The lock dies with its process, so a file of a crashed run is free",
    "  at once, and no pid is ever compared (after a restart, pid 1 belongs to someone else).",
    "  Files that format 1 crawlers claimed by renaming (`*.replaying-<pid>`) are replayed too.",
    "- **An unreadable line** (torn by a crash mid-write, or in no known shape) is never dropped:",
    "  it is copied byte for byte into `<file>.unreadable` beside the spill file, a warning names",
    "  the file and the number of lines, `outsourcing/storage/spill_unreadable` counts them, and",
    "  the rest of the file is written. `*.unreadable` files are never replayed: look at them,",
    "  and re-crawl the platform to store those postings again.",
    "",
]


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "figures.jsonl"
        env = dict(os.environ, RELIABILITY_REPORT=str(report))
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "faults", "tests/faults"], cwd=REPO, env=env)
        if done.returncode != 0:
            print("scenarios failed; docs/reliability.md not rewritten", file=sys.stderr)
            return done.returncode
        rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = [
        "# Reliability: what the fault-injection suite measured",
        "",
        f"Written by `python -m tests.faults.make_report` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}). Every row is a scenario of "
        "`tests/faults/` that just ran against the local mirror and a real PostgreSQL; "
        "the test fails unless `lost` and `duplicates` are 0 at the end (a run that lost records must fail, "
        "and its row says how the loss was reported).",
        "",
        "- served: postings the mirror served that the crawl extracted (for signals: that Scrapy counted as scraped)",
        "- stored: distinct postings in the `postings` table afterwards",
        "- duplicates: extra rows for one posting plus history rows written although nothing changed",
        "- rejected: rows in `rejected_items` (with their reason)",
        "- lost: served minus stored minus rejected",
        "",
        "| scenario | served | stored | rejected | duplicates | lost | outcome |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(f"| {row['scenario']} | {row['served']} | {row['stored']} | {row['rejected']} | {row['duplicates']} | {row['lost']} | {row['outcome']} |")
    lines += [
        "",
        "Not covered by a row: Scrapy's JOBDIR is not used (its queue state is written only on a clean",
        "close); a killed run is recovered by crawling again, which the upsert makes safe (row 'SIGKILL').",
        "",
        *SPILL_FORMAT,
    ]
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)} ({len(rows)} scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
