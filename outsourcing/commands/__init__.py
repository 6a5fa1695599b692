"""Project commands: `crawl` (Scrapy's, with the contract's exit status)."""
