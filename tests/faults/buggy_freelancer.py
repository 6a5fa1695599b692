"""Freelancer.com's spider with a bug planted in its listing callback, for the rule that an
error in a spider's own code fails the run (outcome.py, `callback_errors`): the page at offset
`BUG_AT_OFFSET` raises TypeError after nothing of it was yielded. A record the parser cannot
read no longer does that (it is rejected alone, pages.read_records), so the rule needs a bug of
its own. Crawls enable it with `-s SPIDER_MODULES=tests.faults.buggy_freelancer -s BUG_AT_OFFSET=3`;
everything else is the real spider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response

from outsourcing.platforms.freelancer.spider import FreelancerSpider

SETTINGS = {"SPIDER_MODULES": "tests.faults.buggy_freelancer"}


class FreelancerSpiderWithABug(FreelancerSpider):
    async def parse_projects(self, response: Response) -> AsyncIterator[Any]:
        if int(response.meta.get("offset", 0)) == self.settings.getint("BUG_AT_OFFSET", -1):
            raise TypeError("'int' object is not iterable (a bug the test planted)")
        async for result in super().parse_projects(response):
            yield result
