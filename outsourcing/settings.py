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
LOG_LEVEL = "INFO"

SPIDER_MIDDLEWARES = {
    "outsourcing.middlewares.PageErrorsMiddleware": 45,
}
DOWNLOADER_MIDDLEWARES = {
    "outsourcing.middlewares.BackoffMiddleware": 560,
}
EXTENSIONS = {
    "outsourcing.extensions.CrawlReport": 500,
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
SPILL_DIR = None              # default: $OUTSOURCING_HOME/spill

# --- feeds -----------------------------------------------------------------------------------
# Feeds carry exactly the contract's fields (not the raw payload or the content hash).
FEED_EXPORT_FIELDS = list(CONTRACT_FIELDS)
FEED_EXPORT_ENCODING = "utf-8"

# --- progress --------------------------------------------------------------------------------
PROGRESS_INTERVAL = 60.0      # seconds between progress lines
LOGSTATS_INTERVAL = 0         # our progress line replaces Scrapy's
