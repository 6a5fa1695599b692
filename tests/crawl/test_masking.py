"""Passwords never reach a log line: DSNs (URIs and libpq's key=value form) and proxy URLs are
masked the way libpq, asyncpg and Scrapy's proxy parser read them, also when a password holds
an unencoded `#`, `/`, `?` or `@` (where urlsplit sees no user information at all)."""

from __future__ import annotations

import pytest

from outsourcing.proxies import ProxyMisconfigured, proxy_for
from outsourcing.storage.database import mask_dsn, mask_secrets, split_password


@pytest.mark.parametrize(
    ("dsn", "masked", "password"),
    [
        ("postgresql://u:Pa#ss@db.example/postings", "postgresql://u:***@db.example/postings", "Pa#ss"),
        ("postgresql://u:Pa/ss@db.example:5432/postings", "postgresql://u:***@db.example:5432/postings", "Pa/ss"),
        ("postgresql://u:Pa?ss@db.example/postings?sslmode=require",
         "postgresql://u:***@db.example/postings?sslmode=require", "Pa?ss"),
        ("postgresql://u:p@ss#w?rd/x@db.example/postings", "postgresql://u:***@db.example/postings", "p@ss#w?rd/x"),
        ("postgres://u:Pa%23ss@db.example/postings", "postgres://u:***@db.example/postings", "Pa%23ss"),
        ("postgresql://db.example/postings?user=u&password=Pa#ss&sslmode=require",
         "postgresql://db.example/postings?user=u&password=***&sslmode=require", "Pa#ss"),
        ("postgresql://u@db.example/postings?sslpassword=k3y/pass", "postgresql://u@db.example/postings?sslpassword=***",
         "k3y/pass"),
        ("host=db.example user=u password=Pa#ss/w?rd dbname=postings",
         "host=db.example user=u password=*** dbname=postings", "Pa#ss/w?rd"),
        ("host=db.example password='Pa ss \\' #x' dbname=postings", "host=db.example password=*** dbname=postings",
         "Pa ss ' #x"),
        ("http://scraper:s3c#r?t@127.0.0.1:3128", "http://scraper:***@127.0.0.1:3128", "s3c#r?t"),
    ],
)
def test_passwords_with_reserved_characters_are_masked(dsn: str, masked: str, password: str) -> None:
    assert mask_dsn(dsn) == masked
    # An error message may quote the DSN, or the password alone, as written or decoded.
    message = mask_secrets(f"could not connect to {dsn}: password {password!r} rejected", dsn)
    assert password not in message and "***" in message
    assert "db.example" in message or "127.0.0.1" in message or "dbname" in message


def test_urls_without_a_password_are_unchanged() -> None:
    for url in ("postgresql://crawler@db/postings", "postgresql://db:5432/postings?sslmode=require",
                "http://kr-proxy:3128", "host=db dbname=postings"):
        assert mask_dsn(url) == url
        assert mask_secrets(f"error at {url}", url) == f"error at {url}"


def test_psql_gets_the_password_libpq_would_read() -> None:
    # `scrapy sql` hands psql the URI without the password and the password in PGPASSWORD.
    assert split_password("postgresql://u:Pa#ss/x@db:5432/postings") == ("postgresql://u@db:5432/postings", "Pa#ss/x")
    assert split_password("postgresql://u:Pa%40ss@db/postings") == ("postgresql://u@db/postings", "Pa@ss")
    assert split_password("postgresql://u@db/postings") == ("postgresql://u@db/postings", None)


def test_proxy_urls_are_checked_and_named_masked() -> None:
    # Scrapy's proxy parser reads # and ? in a password: accepted, and the host is the real one.
    assert proxy_for("freemoa", {"freemoa": "http://u:Pa#s?s@kr-proxy:3128"}, {}) == "http://u:Pa#s?s@kr-proxy:3128"
    # A / ends the proxy's address for Scrapy: refused, with the password masked in the message.
    with pytest.raises(ProxyMisconfigured) as refused:
        proxy_for("freemoa", {}, {"OUTSOURCING_PROXY_FREEMOA": "http://u:Pa/ss#1@kr-proxy:3128"})
    assert "Pa/ss" not in str(refused.value) and "http://u:***@kr-proxy:3128" in str(refused.value)
    assert "%2F" in str(refused.value)
    with pytest.raises(ProxyMisconfigured) as wrong_scheme:
        proxy_for("freemoa", {"freemoa": "socks5://u:Pa#ss@kr-proxy:1080"}, {})
    assert "Pa#ss" not in str(wrong_scheme.value)
