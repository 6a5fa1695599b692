"""Alerts (issue 15): saved searches whose new matching postings reach people within seconds of
their commit, exactly once per (search, platform, external_id) as far as a receiver can tell.

- config.py: the TOML file (searches = PostingFilters, channels), secrets from the environment;
- queue.py: the database side: outbox -> matching in SQL -> messages claimed with
  FOR UPDATE SKIP LOCKED and a lease -> the attempt ledger;
- messages.py: payloads (the contract's formats) and Korean/English text;
- channels.py: Apprise, Standard Webhooks, JSON Lines, stdout;
- dispatcher.py: LISTEN/poll loop that matches, claims and sends;
- extension.py: the dispatcher inside every crawl (crawl, crawlall, scrapyd jobs).

Dependencies point one way: alerts -> outsourcing.query -> storage.
"""
