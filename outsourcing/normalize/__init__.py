"""Shared normalisers that every platform parser uses: text, money, dates, URLs.

Each module is pure (no Scrapy, no I/O) and table-tested in tests/normalize/.
"""
