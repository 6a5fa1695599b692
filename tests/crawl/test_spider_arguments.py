"""Which -a arguments a platform spider takes: the contract's and its own filters; nothing that
would replace one of its attributes (scrapyd passes every extra POST field as -a)."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from outsourcing.platforms.remoteok.spider import RemoteOKSpider
from outsourcing.platforms.wishket.spider import WishketSpider


def test_declared_arguments_are_the_contract_and_the_spiders_filters() -> None:
    assert WishketSpider.declared_arguments() == {"base_url", "max_pages", "max_items", "mode", "category",
                                                  "form_factor", "query", "sort", "filters", "details"}
    assert RemoteOKSpider.refused_arguments(["max_pages", "mode", "_job", "anything_else"]) == []


@pytest.mark.parametrize("argument", ["name", "origin", "start", "custom_settings", "parse_api"])
def test_arguments_that_would_replace_an_attribute_are_refused(argument: str) -> None:
    [reason] = RemoteOKSpider.refused_arguments([argument])
    assert f"-a {argument}=...: {argument!r} is not an argument of the remoteok spider" in reason
    with pytest.raises(ValueError, match=f"'{argument}' is not an argument"):
        RemoteOKSpider.from_crawler(get_crawler(RemoteOKSpider), **{argument: "../../../x"})


def test_a_spider_keeps_its_name() -> None:
    spider = WishketSpider.from_crawler(get_crawler(WishketSpider), category="dev", _job="abc123")
    assert spider.name == "wishket"
