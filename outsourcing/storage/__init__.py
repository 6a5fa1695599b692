"""Storage: which database (database.py), the batch upsert (writer.py), the spill file
(spill.py), and the per-crawl store that ties them together for the pipelines (store.py)."""
