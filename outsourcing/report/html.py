"""The report as one self-contained HTML file: inline CSS, inline SVG charts (charts.py), no
script and no external resource, so it opens offline from disk and can be mailed as is."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from outsourcing.report import charts

_environment = Environment(loader=PackageLoader("outsourcing.report", "templates"),
                           autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _amount(value: Any) -> str:
    if value is None:
        return "–"
    number = float(value)
    return f"{number:,.0f}" if number == int(number) or abs(number) >= 1000 else f"{number:,.2f}"


_environment.filters["percent"] = _percent
_environment.filters["amount"] = _amount


def chart_ids(report: dict[str, Any]) -> list[str]:
    """Every chart the page holds for this report (tests check each one is drawn)."""
    return [chart_id for chart_id, _ in _charts(report)]


def _budget_pairs(report: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for group in report["budgets"]["groups"]:
        pair = (group["budget_type"], group["currency"])
        if group["level"] == "type" and pair not in pairs:
            pairs.append(pair)
    return pairs


def _charts(report: dict[str, Any]) -> list[tuple[str, Markup]]:
    new = report["new_postings"]
    platforms = new["platforms"]
    days = [d["day"] for d in new["daily"]]
    result = [
        ("new-daily", charts.stacked_bars(
            "new-daily", f"New postings per day ({new['time_zone']})", days,
            {p: [d["by_platform"][p] for d in new["daily"]] for p in platforms},
            label_every=max(1, len(days) // 31 + (1 if len(days) > 31 else 0)))),
        ("new-weekly", charts.stacked_bars(
            "new-weekly", "New postings per week (Monday; * = partial week)",
            [w["week"] + ("*" if w["partial"] else "") for w in new["weekly"]],
            {p: [w["by_platform"][p] for w in new["weekly"]] for p in platforms})),
    ]
    for budget_type, currency in _budget_pairs(report):
        boxes = []
        for group in report["budgets"]["groups"]:
            if (group["budget_type"], group["currency"]) != (budget_type, currency) or group["level"] == "category":
                continue
            label = "all platforms" if group["level"] == "type" else group["platform"]
            boxes.append((label, float(group["q1"]), float(group["median"]), float(group["q3"]), group["n"]))
        chart_id = f"budgets-{budget_type}-{currency}"
        result.append((chart_id, charts.box_plot(chart_id, f"{budget_type} budgets in {currency}: q1, median, q3",
                                                 boxes, f"{currency}, {budget_type}")))
    skills = report["skills"]
    result.append(("skills-top", charts.horizontal_bars(
        "skills-top", "Top skills: postings naming each",
        [(s["label"], s["n"], f"{s['n']:,} ({_percent(s['share'])})") for s in skills["top"]])))
    result.append(("skills-rising", charts.paired_bars(
        "skills-rising", "Rising skills: share of postings, previous period and this one",
        [(s["label"], s["previous_share"] or 0.0, s["share"] or 0.0,
          f"{s['previous_n']:,} → {s['n']:,} (+{s['change_points']:.2f} pp)") for s in skills["rising"]])))
    lifecycle = report["lifecycle"]
    rows = lifecycle["by_platform"] + ([dict(lifecycle["total"], platform="all")] if lifecycle["total"]["n"] else [])
    result.append(("lifecycle", charts.paired_bars(
        "lifecycle", "Share of the period's postings whose budget changed, and that closed",
        [(r["platform"], r["budget_changed_share"] or 0.0, r["closed_share"] or 0.0,
          f"{r['budget_changed']:,} / {r['closed']:,} of {r['n']:,}") for r in rows],
        names=("budget changed", "closed"))))
    crawl_rows = report["crawls"]["platforms"]
    result.append(("crawls", charts.stacked_bars(
        "crawls", "Crawl runs started in the period, by outcome", [r["platform"] for r in crawl_rows],
        {"ok": [r["ok"] for r in crawl_rows], "failed": [r["failed"] for r in crawl_rows],
         "running": [r["running"] for r in crawl_rows]})))
    return result


def render_html(report: dict[str, Any]) -> str:
    drawn = dict(_charts(report))
    template = _environment.get_template("report.html.j2")
    return template.render(report=report, charts=drawn, budget_pairs=_budget_pairs(report))
