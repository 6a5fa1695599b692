"""Run the fault-injection scenarios and write their figures to docs/reliability.md.

    python -m tests.faults.make_report

Every row comes from a scenario that ran in this invocation (tests/faults/test_scenarios.py
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
        "`tests/faults/test_scenarios.py` that just ran against the local mirror and a real PostgreSQL; "
        "the test fails unless `lost` and `duplicates` are 0.",
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
    ]
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)} ({len(rows)} scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
