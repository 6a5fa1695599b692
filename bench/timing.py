"""The extension bench.child installs: it marks the start of the measured span."""

from __future__ import annotations

import resource
import time
from typing import Any

from scrapy import signals


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timing:
    """Marks wall-clock and CPU time at spider_opened: the pipelines (and the database
    connection) are open by then, the first request not yet sent."""

    marks: dict[str, float] = {}

    def __init__(self, crawler: Any) -> None:
        crawler.signals.connect(self.opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Timing:
        return cls(crawler)

    def opened(self, spider: Any) -> None:
        Timing.marks.update(wall=time.perf_counter(), cpu=cpu_seconds())
