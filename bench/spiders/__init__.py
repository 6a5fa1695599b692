"""Benchmark-only spiders (loaded by the benchmark through SPIDER_MODULES, never by users)."""
