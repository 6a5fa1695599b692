"""Item pipelines, in order: validation (300), deduplication (400), PostgreSQL (800)."""
