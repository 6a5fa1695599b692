"""Storage: which database (database.py) and the connection to it (connection.py), the batch
upsert (writer.py), batching with retries and spill (batches.py, spill.py), the run's row
(runs.py), the per-crawl store that ties them together for the pipelines (store.py), and the
work that follows a clean run (closing.py)."""
