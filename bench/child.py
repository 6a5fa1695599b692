"""One benchmark crawl in a process of its own: `python -m bench.child CONFIG.json`.

The parent (bench.run) writes the config: spider name, spider arguments, setting overrides
and where to write the result. This runs the crawl in-process with CrawlerProcess and the
project's settings (the same code path as `scrapy crawl`), then writes a JSON result:

- wall: seconds from spider_opened (pipelines and the database are open by then) to the end
  of the crawl (every batch written, the pool closed);
- cpu: CPU seconds of this process over the same span; parse_cpu: what the spider reports;
- maxrss_mb: peak resident set size of the process (VmHWM);
- stats: Scrapy's stats (JSON-able values only).

A process per crawl keeps the measurements apart: peak RSS is the crawl's own, nothing is
warmed up by an earlier variant, and the reactor starts fresh.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from bench.timing import Timing
from bench.timing import cpu_seconds as _cpu


def peak_rss_mb() -> float:
    """This process's own peak resident set size (VmHWM). Not ru_maxrss: Linux carries that
    over exec from the forked parent, so a crawl started by a large parent would report the
    parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(config_path: str) -> int:
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    settings = get_project_settings()
    overrides = dict(config.get("settings") or {})
    modules = list(settings.getlist("SPIDER_MODULES"))
    if "bench.spiders" not in modules:
        overrides["SPIDER_MODULES"] = modules + ["bench.spiders"]
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["bench.timing.Timing"] = 0
    overrides["EXTENSIONS"] = extensions
    settings.setdict(overrides, priority="cmdline")

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(config["spider"])
    process.crawl(crawler, **(config.get("args") or {}))
    process.start()
    wall_end, cpu_end = time.perf_counter(), _cpu()

    stats = {
        key: value for key, value in (crawler.stats.get_stats() if crawler.stats else {}).items()
        if isinstance(value, (int, float, str, bool)) or value is None
    }
    start = Timing.marks or {"wall": wall_end, "cpu": cpu_end}
    result = {
        "wall": wall_end - start["wall"],
        "cpu": cpu_end - start["cpu"],
        "cpu_total": _cpu(),
        "parse_cpu": float(stats.get("bench/parse_cpu_us", 0)) / 1e6,
        "maxrss_mb": peak_rss_mb(),
        "stats": stats,
        "pid": os.getpid(),
    }
    with open(config["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
