"""The report as a terminal summary: plain tables no wider than 100 columns.

Widths are display columns (wcwidth: a Hangul syllable takes two), so Korean categories line
up; a cell too long for its column is cut with "…". Platform columns use short names (legend
under the table) so nine platforms fit beside a date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wcwidth import wcswidth, wcwidth

WIDTH = 100
SHORT = {"wishket": "wishket", "freemoa": "freemoa", "kmong": "kmong", "elancer": "elancer",
         "freelancer": "frlncr", "guru": "guru", "peopleperhour": "pph", "remoteok": "remoteok",
         "weworkremotely": "wwr"}


def display_width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else sum(max(0, wcwidth(ch)) for ch in text)


def cut(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = max(0, wcwidth(ch))
        if used + w > width - 1:
            break
        out += ch
        used += w
    return out + "…"


def pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[bool] | None = None,
          width: int = WIDTH) -> list[str]:
    """Columns sized to their content; if the table is too wide, the widest left-aligned column
    (text, e.g. a category) shrinks first."""
    cells = [[_cell(value) for value in row] for row in rows]
    right = list(right) if right is not None else [False] * len(headers)
    widths = [max([display_width(h) for h in [headers[i]]] + [display_width(r[i]) for r in cells])
              for i in range(len(headers))]

    def total() -> int:
        return sum(widths) + 2 * (len(widths) - 1)

    while total() > width:
        candidates = [i for i in range(len(widths)) if not right[i] and widths[i] > 8] or \
                     [i for i in range(len(widths)) if widths[i] > 4]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= total() - width if widths[widest] - (total() - width) >= 8 else 1
    lines = ["  ".join(pad(cut(headers[i], widths[i]), widths[i], right[i]) for i in range(len(headers))).rstrip(),
             "  ".join("-" * widths[i] for i in range(len(headers)))]
    for row in cells:
        lines.append("  ".join(pad(cut(row[i], widths[i]), widths[i], right[i]) for i in range(len(row))).rstrip())
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def money(value: Any) -> str:
    if value is None:
        return "-"
    number = float(value)
    text = f"{number:,.0f}" if number == int(number) or abs(number) >= 1000 else f"{number:,.2f}"
    return text


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def heading(title: str) -> list[str]:
    return ["", title, "=" * min(WIDTH, display_width(title))]


def render_text(report: dict[str, Any]) -> str:
    period = report["period"]
    lines = [(f"Market report {period['from']} to {period['last_day']} ({period['days']} days, days in "
              f"{period['time_zone']})")]
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items()) or "none"
    lines.append(cut(f"Filters: {filters}", WIDTH))
    postings = report["postings"]
    lines.append(f"Postings posted in the period: {postings['n']:,} (previous {period['days']} days: "
                 f"{postings['previous_n']:,})")
    for note in report["notes"]:
        lines += _wrap(f"Note: {note}")

    lines += _new_postings(report)
    lines += _budgets(report)
    lines += _skills(report)
    lines += _lifecycle(report)
    lines += _crawls(report)
    return "\n".join(lines) + "\n"


def _new_postings(report: dict[str, Any]) -> list[str]:
    section = report["new_postings"]
    platforms = section["platforms"]
    lines = heading(f"New postings per platform (by posted_at, days in {section['time_zone']})")
    if not platforms:
        return lines + ["No postings in the period."]
    headers = ["week of", "days", "total"] + [SHORT.get(p, p) for p in platforms]
    rows = [[w["week"], w["days_in_period"], w["n"]] + [w["by_platform"][p] for p in platforms] for w in section["weekly"]]
    lines += table(headers, rows, [False] + [True] * (len(headers) - 1))
    lines.append("")
    headers = ["day", "total"] + [SHORT.get(p, p) for p in platforms]
    rows = [[d["day"], d["n"]] + [d["by_platform"][p] for p in platforms] for d in section["daily"]]
    lines += table(headers, rows, [False] + [True] * (len(headers) - 1))
    legend = ", ".join(f"{SHORT[p]} = {p}" for p in platforms if SHORT.get(p, p) != p)
    if legend:
        lines.append(cut(f"({legend})", WIDTH))
    return lines


def _budgets(report: dict[str, Any]) -> list[str]:
    section = report["budgets"]
    lines = heading("Budgets: quartiles in each posting's own currency and budget type (never mixed)")
    groups = section["groups"]
    if not groups:
        return lines + ["No posting of the period has an amount."]
    equivalent = section["equivalent_currency"]
    extra = [f"≈{equivalent} median"] if equivalent else []
    for level, title in (("type", "All platforms"), ("platform", "By platform"), ("category", "By category")):
        chosen = [g for g in groups if g["level"] == level]
        if not chosen:
            continue
        lines.append(f"{title}:")
        headers = (["platform"] if level != "type" else []) + (["category"] if level == "category" else []) + \
                  ["type", "cur", "n", "q1", "median", "q3"] + extra
        rows = []
        for g in chosen:
            row: list[Any] = []
            if level != "type":
                row.append(g["platform"])
            if level == "category":
                row.append(g["category"] or "(none)")
            row += [g["budget_type"], g["currency"], g["n"], money(g["q1"]),
                    money(g["median"]), money(g["q3"])]
            if equivalent:
                row.append(money(g["equivalent"]["median"]) if g["equivalent"] else "")
            rows.append(row)
        fixed = (1 if level != "type" else 0) + (1 if level == "category" else 0)
        lines += table(headers, rows, [False] * (fixed + 2) + [True] * (4 + len(extra)))
        lines.append("")
    if equivalent and section["rates_used"]:
        used = "; ".join(f"1 {code} = {rate['krw']:,} KRW ({rate['date']})" for code, rate in section["rates_used"].items())
        lines += _wrap(f"≈{equivalent}: an equivalent for reading only, never a market figure; rates: {used}")
    return lines


def _wrap(text: str) -> list[str]:
    words, lines, line = text.split(" "), [], ""
    for word in words:
        if line and display_width(line + " " + word) > WIDTH:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] if line else lines


def _skills(report: dict[str, Any]) -> list[str]:
    section = report["skills"]
    lines = heading("Skills (share = postings naming it / postings of the period)")
    if not section["top"]:
        return lines + ["No skills named in the period."]
    headers = ["top skill", "n", "share", "previous n", "previous share", "change pp"]
    rows = [[s["label"], s["n"], percent(s["share"]), s["previous_n"], percent(s["previous_share"]),
             s["change_points"]] for s in section["top"]]
    lines += table(headers, rows, [False] + [True] * 5)
    lines.append("")
    if section["rising"]:
        headers = ["rising skill", "n", "share", "previous n", "previous share", "change pp"]
        rows = [[s["label"], s["n"], percent(s["share"]), s["previous_n"], percent(s["previous_share"]),
                 s["change_points"]] for s in section["rising"]]
        lines += table(headers, rows, [False] + [True] * 5)
    else:
        lines.append(f"No rising skill (named by at least {section['min_postings_rising']} postings and more often "
                     "than in the previous period).")
    return lines


def _lifecycle(report: dict[str, Any]) -> list[str]:
    section = report["lifecycle"]
    lines = heading("What happened to the period's postings (until the period's end)")
    headers = ["platform", "postings", "budget chg", "share", "closed", "share", "days to close q1/med/q3"]
    rows = []
    for item in section["by_platform"] + [dict(section["total"], platform="all")]:
        days = item["days_to_close"]
        quartiles = "/".join("-" if days[k] is None else f"{days[k]:.1f}" for k in ("q1", "median", "q3"))
        rows.append([item["platform"], item["n"], item["budget_changed"], percent(item["budget_changed_share"]),
                     item["closed"], percent(item["closed_share"]), f"{quartiles} (n={days['n']})"])
    lines += table(headers, rows, [False] + [True] * 6)
    without = section["total"]["closed_without_time"]
    if without:
        lines.append(f"{without} postings were closed when first stored: no closing time, not in the days to close.")
    return lines


def _crawls(report: dict[str, Any]) -> list[str]:
    section = report["crawls"]
    lines = heading("Crawl health in the period (runs started in it)")
    if not section["platforms"]:
        return lines + ["No crawl runs in the period."]
    headers = ["platform", "runs", "ok", "failed", "running", "postings/run (median)", "inserted", "errors"]
    rows = [[r["platform"], r["runs"], r["ok"], r["failed"], r["running"],
             f"{_cell(r['postings_per_run']['median'])} (n={r['postings_per_run']['n']})", r["inserted"], r["errors"]]
            for r in section["platforms"]]
    lines += table(headers, rows, [False] + [True] * 7)
    if section["failing"]:
        lines.append(f"No successful run in the period: {', '.join(section['failing'])}")
    return lines
