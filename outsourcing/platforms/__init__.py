"""One package per platform, each with the same modules:

- `parser.py`: pure functions from a recorded or live response to contract items (no requests);
- `spider.py`: the Scrapy spider (requests, pagination, politeness), a `PlatformSpider`.

`base.py` holds what the spiders share, `pages.py` the checks the parsers share (JSON where a
page may stand, error statuses). Scrapy finds the spiders here (SPIDER_MODULES).
"""
