"""The project's own Scrapy signals (sent through `crawler.signals`, like Scrapy's).

`run_finishing`: the store has written or spilled every batch and decided the run's outcome,
and the database is still open. Sent with `send_catch_log_async` and these arguments:

- `run_id` (int): the run's row in crawl_runs;
- `exit_code` (int): the crawl's exit status (outsourcing.outcome);
- `pool` (asyncpg.Pool): the store's connection pool, for the handlers' own statements.

Work that may only follow a clean run (advancing an incremental watermark, closing postings
that stopped appearing) listens to it and does nothing unless `exit_code == 0`. Handlers run
before the run's row is finished, so what they add to the stats is recorded with the run.
"""

from __future__ import annotations

run_finishing = object()
