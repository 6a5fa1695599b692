"""Scrapy settings of the outsourcing project. Every setting is listed in the README.

Settings can be overridden per run (`-s NAME=value`) or from the environment
(`SCRAPY_NAME=value`); secrets (DATABASE_URL, tokens) come from the environment only.
"""

from outsourcing import __version__
from outsourcing.items import CONTRACT_FIELDS

BOT_NAME = "outsourcing"
SPIDER_MODULES = ["outsourcing.platforms"]
NEWSPIDER_MODULE = "outsourcing.platforms"
COMMANDS_MODULE = "outsourcing.commands"

# The asyncio reactor, explicitly: the PostgreSQL pipeline runs asyncpg on its loop.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- manners -------------------------------------------------------------------------------
# Identify the crawler; obey robots.txt; one request at a time per platform with a delay
# (platform spiders raise it where the platform asks for more: Wishket 5 s, RemoteOK 2 s).
USER_AGENT = f"outsourcing-crawler/{__version__} (+https://github.com/outsourcing-crawler/outsourcing; project-postings research crawler)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
DOWNLOAD_TIMEOUT = 60
# A listing page is never this large; a bigger answer is an error, not something to parse.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
# 429/503 first go through BackoffMiddleware (Retry-After, host-wide pause).
BACKOFF_HTTP_CODES = [429, 503]
BACKOFF_DEFAULT_DELAY = 5.0
BACKOFF_MAX_DELAY = 300.0
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote-control server runs Python code sent over HTTP inside the crawl, which
# holds DATABASE_URL; on a shared scrapyd host that is one token away from the secrets. Off.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"

SPIDER_MIDDLEWARES = {
    "outsourcing.middlewares.PageErrorsMiddleware": 45,
}
DOWNLOADER_MIDDLEWARES = {
    "outsourcing.middlewares.BackoffMiddleware": 560,
    # Before Scrapy's HttpProxyMiddleware (750), which turns the proxy URL's credentials into
    # a Proxy-Authorization header (see PLATFORM_PROXIES below).
    "outsourcing.proxies.PlatformProxyMiddleware": 740,
}
EXTENSIONS = {
    # Decides the exit status once, when the crawl closes (after the store's last batches).
    "outsourcing.outcome.CrawlOutcome": 100,
    "outsourcing.extensions.CrawlReport": 500,
    # -a mode=incremental: what is stored, where paging stops, the watermark (incremental.py).
    "outsourcing.incremental.IncrementalCrawl": 510,
    # Noise to DEBUG: embedded PostgreSQL chatter, tracebacks of expected network failures.
    "outsourcing.logs.LogPolicy": 0,
    # NotConfigured unless OUTSOURCING_ALERTS_CONFIG / ALERTS_CONFIG names an alerts file.
    "outsourcing.alerts.extension.AlertsExtension": 520,
    # Work that may only follow a clean run (the store sends outsourcing.signals.run_finishing).
    "outsourcing.storage.closing.UnseenPostingsCloser": 530,
}
ITEM_PIPELINES = {
    "outsourcing.pipelines.validation.ValidationPipeline": 300,
    "outsourcing.pipelines.dedup.DeduplicationPipeline": 400,
    "outsourcing.pipelines.postgres.PostgresPipeline": 800,
}

# --- storage ---------------------------------------------------------------------------------
# DATABASE_URL comes from the environment; without it the embedded PostgreSQL is used.
DB_BATCH_SIZE = 500           # postings per upsert transaction
DB_BATCH_MAX_AGE = 5.0        # seconds a posting may wait in a partial batch
DB_MAX_PENDING_BATCHES = 2    # full batches queued for the writer before process_item waits
DB_POOL_SIZE = 2
DB_CONNECT_TIMEOUT = 10.0
DB_RETRY_TIMEOUT = 60.0       # how long one batch is retried before it is spilled
DB_RETRY_BACKOFF_MAX = 8.0
CLOSE_UNSEEN_AFTER_DAYS = 14.0  # after a clean full run, open postings unseen this long are closed (0: never)
SPILL_DIR = None              # default: $OUTSOURCING_HOME/spill

# --- feeds -----------------------------------------------------------------------------------
# Feeds carry exactly the contract's fields (not the raw payload or the content hash).
FEED_EXPORT_FIELDS = list(CONTRACT_FIELDS)
FEED_EXPORT_ENCODING = "utf-8"
# Per-platform JSON Lines feeds (outsourcing/feeds.py): set FEEDS_DIR (or the environment's
# OUTSOURCING_FEEDS_DIR) and every crawl also writes <FEEDS_DIR>/<FEEDS_FILE_TEMPLATE>, with
# Scrapy's %(name)s (spider) and %(time)s (UTC start) filled in. Off when unset; -O/-o still work.
FEEDS_DIR = None
FEEDS_FILE_TEMPLATE = "%(name)s/%(name)s-%(time)s.jsonl"
# Add-ons change a crawler's settings before they freeze: PlatformFeeds adds the FEEDS entry.
ADDONS = {
    "outsourcing.feeds.PlatformFeeds": 0,
}

# --- proxies ---------------------------------------------------------------------------------
# Per-platform proxy for platforms that refuse data-centre addresses (outsourcing/proxies.py):
# {"freemoa": "http://kr-proxy:3128"}. A proxy with a password belongs in the environment
# (OUTSOURCING_PROXY_FREEMOA=http://user:pass@kr-proxy:3128), which wins over this setting.
PLATFORM_PROXIES: dict[str, str] = {}

# --- platforms whose terms restrict crawling --------------------------------------------------
# `scrapy crawlall` without spider names leaves these out and says why; they run when named
# (`scrapy crawlall wishket`, `scrapy crawl wishket`, a scrapyd job) or when listed in
# RESTRICTED_PLATFORMS_ENABLED (-s RESTRICTED_PLATFORMS_ENABLED=wishket,kmong), once permission
# is granted. The reasons are the README's platform notes (../shared/docs/platforms.md).
RESTRICTED_PLATFORMS = {
    "wishket": "Wishket's terms explicitly forbid crawling",
    "freelancer": "Freelancer.com's User Agreement (section 33) forbids robots, spiders and scrapers "
                  "on the website and the API without express written permission",
    "kmong": "Kmong's terms have a no-scraping clause and its robots.txt disallows crawlers",
}
RESTRICTED_PLATFORMS_ENABLED: list[str] = []

# --- scrapy crawlall -------------------------------------------------------------------------
# A platform whose last N finished runs (crawl_runs.exit_code) all failed is flagged in the
# crawlall summary and logged as an error.
FAILING_RUNS_THRESHOLD = 3

# --- alerts (outsourcing/alerts, issue 15) ---------------------------------------------------
# The TOML file of saved searches and channels; the environment's OUTSOURCING_ALERTS_CONFIG wins.
# Unset: no alerts (the extension is not configured). Secrets never go here: see the README.
ALERTS_CONFIG = None
ALERTS_POLL_INTERVAL = 5.0    # seconds between polls when no NOTIFY arrives (fallback)
ALERTS_SEND_TIMEOUT = 10.0    # seconds one send may take (connect + answer)
ALERTS_LEASE_SECONDS = 60.0   # a claimed message is someone else's to take after this (at least 3 x send timeout)
ALERTS_MAX_ATTEMPTS = 10      # then the message is `failed` (scrapy alerts retry)
ALERTS_BACKOFF_BASE = 5.0     # seconds before the 2nd attempt; doubles each time
ALERTS_BACKOFF_MAX = 3600.0
ALERTS_BATCH = 100            # messages claimed at once
ALERTS_CONCURRENCY = 8        # sends in flight at once per dispatcher
ALERTS_DRAIN_TIMEOUT = 10.0   # at the end of a crawl: seconds to deliver what is due (0: none)

# --- progress and logs -----------------------------------------------------------------------
PROGRESS_INTERVAL = 60.0      # seconds between progress lines
LOGSTATS_INTERVAL = 0         # our progress line replaces Scrapy's
# The last line of a crawl is its outcome: Scrapy's stats dump goes to DEBUG, and to STATS_FILE
# (JSON; %(name)s is the spider) when set (outsourcing/logs.py).
STATS_CLASS = "outsourcing.logs.RunStatsCollector"
STATS_DUMP = False
STATS_FILE = None
