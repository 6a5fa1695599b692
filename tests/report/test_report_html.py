"""The HTML report in a real headless Chromium (Debian's, through Playwright): opened from disk
with every network request refused, no console error, every chart of the report drawn with
the marks its figures call for; a screenshot is written."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from outsourcing.report.html import chart_ids
from tests.report.conftest import ReportRun

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the HTML report is tested in Debian's chromium "
                    "(apt-get install chromium); CI installs it", pytrace=False)
    return CHROMIUM


async def _inspect(path: Path, screenshot: Path, ids: list[str]) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    requests: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

            async def refuse(route: Any) -> None:
                requests.append(route.request.url)
                if route.request.url == path.as_uri():
                    await route.continue_()
                else:
                    await route.abort()

            await page.route("**/*", refuse)
            await page.goto(path.as_uri(), wait_until="load")
            charts = {}
            for chart_id in ids:
                locator = page.locator(f'svg.chart[data-chart="{chart_id}"]')
                count = await locator.count()
                box = await locator.first.bounding_box() if count else None
                marks = await locator.first.locator(".mark").count() if count else 0
                values = await locator.first.locator("[data-value]").evaluate_all(
                    "nodes => nodes.map(n => Number(n.getAttribute('data-value')))") if count else []
                charts[chart_id] = {"count": count, "box": box, "marks": marks, "values": values,
                                    "empty": await locator.first.get_attribute("data-empty") if count else None}
            all_charts = await page.locator("svg.chart").count()
            await page.screenshot(path=str(screenshot), full_page=True)
        finally:
            await browser.close()
    return {"problems": problems, "requests": requests, "charts": charts, "all_charts": all_charts}


def test_html_report_in_headless_chromium(reports: dict[str, ReportRun], chromium: str, tmp_path: Path) -> None:
    report = reports["seoul"].json
    html = reports["html"]
    assert html.returncode == 0, html.stderr
    page = tmp_path / "report.html"
    page.write_text(html.stdout, encoding="utf-8")
    screenshot = tmp_path / "report.png"
    ids = chart_ids(report)
    seen = asyncio.run(_inspect(page, screenshot, ids))

    assert seen["problems"] == []
    assert seen["requests"] == [page.as_uri()], "the page asked for something besides itself"
    budget_pairs = {(g["budget_type"], g["currency"]) for g in report["budgets"]["groups"]}
    assert set(ids) >= {"new-daily", "new-weekly", "skills-top", "skills-rising", "lifecycle", "crawls"}
    assert {i for i in ids if i.startswith("budgets-")} == {f"budgets-{t}-{c}" for t, c in budget_pairs}
    assert seen["all_charts"] == len(ids)
    for chart_id, chart in seen["charts"].items():
        assert chart["count"] == 1, chart_id
        assert chart["box"] and chart["box"]["width"] > 300 and chart["box"]["height"] > 40, (chart_id, chart["box"])
        assert chart["empty"] is None, f"{chart_id} drew no data"

    # What the charts show is what the figures say.
    daily = seen["charts"]["new-daily"]
    cells = [n for d in report["new_postings"]["daily"] for n in d["by_platform"].values() if n]
    assert sorted(daily["values"]) == sorted(cells)
    assert sum(seen["charts"]["new-weekly"]["values"]) == report["postings"]["n"]
    for budget_type, currency in budget_pairs:
        medians = [g["median"] for g in report["budgets"]["groups"]
                   if (g["budget_type"], g["currency"]) == (budget_type, currency) and g["level"] != "category"]
        assert sorted(seen["charts"][f"budgets-{budget_type}-{currency}"]["values"]) == sorted(medians)
    assert seen["charts"]["skills-top"]["values"] == [s["n"] for s in report["skills"]["top"]]
    assert seen["charts"]["skills-rising"]["marks"] == 2 * len(report["skills"]["rising"]) > 0
    crawl_values = [r[k] for k in ("ok", "failed", "running") for r in report["crawls"]["platforms"] if r[k]]
    assert sorted(seen["charts"]["crawls"]["values"]) == sorted(crawl_values)

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
