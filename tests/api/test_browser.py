"""The web page in a real headless Chromium (Debian's, through Playwright): search, filter,
open a posting, see its history, crawl health; with JavaScript disabled (the page is
server-rendered) and enabled (no console errors). Screenshots go to the test's tmp dir and
their paths are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(api: Any) -> Any:
    # After `api` (its database fixture uses asyncio.run, which cannot run once Playwright's
    # sync API holds the thread's event loop).
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


def watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400 else None)
    return problems


@pytest.mark.parametrize("javascript", [False, True], ids=["no-javascript", "javascript"])
def test_search_filter_open_a_posting_and_its_history(browser, api, tmp_path: Path, javascript: bool) -> None:
    context = browser.new_context(java_script_enabled=javascript, locale="ko-KR", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems = watch(page)
    try:
        page.goto(api.url + "/")
        assert page.title() == "Search · outsourcing"
        # Search: a 1-syllable Korean word inside longer words.
        page.fill("input[name=q]", "웹")
        page.click("button[type=submit]")
        titles = page.locator(".posting .title a").all_inner_texts()
        assert "쇼핑몰 웹사이트 리뉴얼" in titles and "모바일웹 결제 연동" in titles
        assert "하이브리드앱 유지보수" not in titles
        # Filter: kmong, remote only (form state is kept in the URL and the form).
        page.check("input[name=platform][value=kmong]")
        page.select_option("select[name=remote]", "true")
        page.click("button[type=submit]")
        cards = page.locator(".posting")
        assert cards.count() == 1
        card = cards.first
        assert card.get_attribute("data-platform") == "kmong"
        assert "500만원 – 800만원" in card.locator(".budget").inner_text()
        assert card.locator(".type").inner_text() == "fixed"
        assert "deadline 2026-11-21" in card.locator(".deadline").inner_text()
        assert card.locator("a.external").get_attribute("href") == "https://example.invalid/kmong/g-web-1"
        assert page.is_checked("input[name=platform][value=kmong]")
        shot = tmp_path / f"search-{'js' if javascript else 'nojs'}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")

        # Paging: the next page link carries the cursor and the filter.
        page.goto(api.url + "/?platform=kmong")
        first = page.locator(".posting").first.get_attribute("data-id")
        page.click("a.next")
        assert "cursor=" in page.url and "platform=kmong" in page.url
        assert page.locator(".posting").first.get_attribute("data-id") != first
        assert set(page.locator(".posting").evaluate_all("els => els.map(e => e.dataset.platform)")
                   if javascript else [page.locator(".posting").nth(i).get_attribute("data-platform")
                                       for i in range(page.locator(".posting").count())]) == {"kmong"}

        # Open a posting with history.
        page.goto(api.url + "/?q=" + "Senior Data Engineer")
        page.click(".posting .title a")
        assert "/p/remoteok/2000001" in page.url
        history = page.locator(".history table tbody tr")
        rows = history.all_inner_texts()
        assert any("budget_max" in row and "120000" in row and "140000" in row for row in rows), rows
        assert "Senior Data Engineer" in page.locator("h1").inner_text()
        page.screenshot(path=str(tmp_path / f"posting-{'js' if javascript else 'nojs'}.png"), full_page=True)
        print(f"screenshot: {tmp_path / ('posting-js.png' if javascript else 'posting-nojs.png')}")

        # Crawl health.
        page.goto(api.url + "/crawls")
        assert "guru" in page.locator("main").inner_text()
        assert page.locator("tr.failed").count() >= 1
        page.screenshot(path=str(tmp_path / "crawls.png"), full_page=True)
    finally:
        context.close()
    assert problems == [], problems


def test_bad_filter_shows_a_message_not_an_error_page(browser, api) -> None:
    page = browser.new_page()
    try:
        problems = watch(page)
        response = page.goto(api.url + "/?min_budget=500")
        assert response is not None and response.status == 422
        assert "min_budget needs currency" in page.locator(".errors").inner_text()
        missing = page.goto(api.url + "/p/remoteok/nope")
        assert missing is not None and missing.status == 404
        assert problems == [f"HTTP 422: {api.url}/?min_budget=500", f"HTTP 404: {api.url}/p/remoteok/nope"] or \
            all(p.startswith(("HTTP 4", "console error: Failed to load resource")) for p in problems)
    finally:
        page.close()
