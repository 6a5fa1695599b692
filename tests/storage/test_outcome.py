"""The exit status rules (outsourcing.outcome), one by one: each makes a run that would otherwise
exit 0 fail."""

from __future__ import annotations

import pytest

from outsourcing import stats as keys
from outsourcing.outcome import EXIT_FAILED, EXIT_OK, crawl_outcome, exit_code_of

CLEAN = {keys.LISTING_OK: 1, keys.STORAGE_INSERTED: 10}


def test_a_clean_run_exits_0() -> None:
    assert crawl_outcome(CLEAN, "finished") == (EXIT_OK, [])


@pytest.mark.parametrize(
    ("stats", "reason", "problem"),
    [
        ({}, "shutdown", "the crawl did not finish (finish_reason: shutdown)"),
        ({keys.STORAGE_SPILLED: 3}, "finished", "3 records could not be stored and wait in the spill file"),
        ({keys.STORAGE_SPILLED_REJECTED: 1}, "finished", "1 records could not be stored and wait in the spill file"),
        ({keys.STORAGE_LOST: 2}, "finished", "2 records could be neither stored nor spilled: they are lost"),
        ({keys.STORAGE_WRITER_STOPPED: 1}, "finished", "the storage writer stopped unexpectedly"),
        ({keys.ITEM_ERRORS: 1}, "finished", "1 postings failed in the pipelines (neither stored nor rejected)"),
        ({keys.LISTING_OK: 0}, "finished", "no listing page of the platform could be read or recognised"),
    ],
)
def test_each_rule_fails_the_run(stats: dict, reason: str, problem: str) -> None:
    code, problems = crawl_outcome({**CLEAN, **stats}, reason)
    assert (code, problems) == (EXIT_FAILED, [problem])


def test_the_commands_read_the_decided_status_and_fail_without_one() -> None:
    assert exit_code_of({keys.EXIT_CODE: 0}) == EXIT_OK
    assert exit_code_of({keys.EXIT_CODE: 1}) == EXIT_FAILED
    assert exit_code_of(CLEAN) == EXIT_FAILED  # never decided: the crawl did not get as far as closing
