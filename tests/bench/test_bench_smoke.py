"""The benchmark suite runs end to end (`python -m bench --quick`) and writes its table.

Behaviour only: every benchmark ran, the table and the RESULTS file have their sections and
rows, and each ratio carries its verdict. Never timing: the figures depend on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def test_quick_bench_prints_and_writes_the_table(tmp_path: Path, server_url: str) -> None:
    output = tmp_path / "RESULTS.md"
    environment = dict(os.environ, BENCH_DATABASE_URL=server_url, PYTHONPATH=str(REPO))
    environment.pop("DATABASE_URL", None)
    # Every benchmark at the smallest sizes that still exercise each path (batches of 500 are
    # filled by the 600-posting runs): this test checks behaviour, the figures do not matter.
    smallest = ["--sizes", "150,600", "--shape-size", "60", "--api-size", "800", "--api-seconds", "0.1",
                "--report-size", "1500"]
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", *smallest, "--output", str(output)], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    text = output.read_text(encoding="utf-8")
    assert text in done.stdout  # the same table is printed and written
    assert text.startswith("# Benchmark results")
    for heading in ("## Figures", "## Ratios against the baselines"):
        assert heading in text
    assert "- machine: " in text and "PostgreSQL" in text and "nproc" in text
    assert "- date: " in text

    figures = text.split("## Figures", 1)[1].split("## Ratios", 1)[0]
    rows = [line for line in figures.splitlines() if line.startswith("| ") and not line.startswith("| benchmark")]
    variants = {tuple(cell.strip() for cell in row.strip("|").split("|")[:2]) for row in rows}
    for expected in [("ingest", "scrapy, no pipelines"), ("ingest", "ours"), ("ingest", "one INSERT+commit per item"),
                     ("recrawl", "ours, unchanged"), ("write", "our batch writer"), ("write", "COPY into a bare table"),
                     ("write", "plain batched upserts"), ("shape", "empty spider"), ("shape", "ours"),
                     ("memory", "ours, listing pages of 100"), ("write", "our batch writer, no alert triggers"),
                     ("write", "our batch writer, a saved search enabled"), ("alerts", "dispatcher -> signed webhooks"),
                     ("alerts", "raw HTTP POSTs, no database (baseline)")]:
        assert expected in variants, f"{expected} missing from the figures"

    ratios = text.split("## Ratios against the baselines", 1)[1].split("## Notes", 1)[0]
    ratio_rows = [line.strip("|").split("|") for line in ratios.splitlines()
                  if line.startswith("| ") and not line.startswith("| benchmark")]
    targeted = [row for row in ratio_rows if row[4].strip()]
    assert {row[0].strip() for row in targeted} >= {"ingest", "recrawl", "write", "memory", "alerts"}
    for row in targeted:  # every target has a verdict, whatever it is
        assert row[5].strip() in ("yes", "**no**"), row
    # WAL of the first ingest and of the re-crawl were measured (a number, not "-").
    recrawl = next(row for row in rows if "| recrawl | ours, unchanged |" in row)
    assert recrawl.split("|")[10].strip() not in ("", "-")

    # The read API benchmark ran too: a row per case with both sides and the ratio's verdict.
    api = text.split("## API benchmark (issue 14)", 1)[1]
    api_rows = [line.strip("|").split("|") for line in api.splitlines()
                if line.startswith("| ") and not line.startswith("| case")]
    cases = {row[0].strip() for row in api_rows}
    assert {"first page", "deep cursor (middle of the table)", "search 웹 (Korean, 1 syllable)",
            "search react (English, common)"} <= cases
    for row in api_rows:
        assert float(row[2].replace(",", "")) > 0 and float(row[5].replace(",", "")) > 0, row  # API and raw req/s
        assert row[9].strip() in ("yes", "**no**"), row


    # The market report benchmark ran too: every period against one sequential scan, with a verdict.
    report = text.split("## Market report benchmark (issue 16)", 1)[1].split("## API benchmark", 1)[0]
    report_rows = [line.strip("|").split("|") for line in report.splitlines()
                   if line.startswith("| ") and not line.startswith("| period")]
    assert {row[0].strip() for row in report_rows} >= {"default: last 28 days", "the whole year (365 days, previous year empty)"}
    for row in report_rows:
        assert float(row[2].replace(",", "")) > 0 and float(row[5].replace(",", "")) > 0, row  # report, scan (ms)
        assert row[7].strip() in ("yes", "**no**"), row
