"""Charts as inline SVG, drawn here on the server: no JavaScript, no library to fetch, so the
HTML report opens offline and prints as it shows.

Why not matplotlib: these are bars and boxes; matplotlib would add six compiled packages to
every scrapyd node for them, and it lays text out with its own font metrics, which have no
Hangul on these machines. Inline SVG leaves text to the browser's fonts (Korean included).

Every chart is an <svg class="chart" data-chart="ID"> with a <title>; each mark has a <title>
(the browser's tooltip) and data-value, so tests can read what a chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 800
PALETTE = {
    "wishket": "#3b6fd8", "freemoa": "#e07b39", "kmong": "#f2c230", "elancer": "#8e5bd0",
    "freelancer": "#2ba0b5", "guru": "#6b8f2a", "peopleperhour": "#d8467a", "remoteok": "#c23b3b",
    "weworkremotely": "#555e6b",
    # crawl outcomes
    "ok": "#3f9c4a", "failed": "#d13b3b", "running": "#a0a0a0",
}
EXTRA_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', 'Noto Sans KR', 'NanumGothic', 'Malgun Gothic', sans-serif\""


def color(name: str, index: int = 0) -> str:
    return PALETTE.get(name, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def nice_scale(maximum: float, ticks: int = 5) -> tuple[float, float]:
    """An axis top at or above `maximum` and a round step (1, 2 or 5 x 10^k)."""
    if maximum <= 0:
        return 1.0, 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(maximum / step), step


def number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.4g}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.4g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _open(chart_id: str, title: str, height: int, extra: str = "") -> list[str]:
    return [(f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" {FONT} '
             f'font-size="12"{extra}>'),
            f"<title>{escape(title)}</title>"]


def _empty(chart_id: str, title: str) -> Markup:
    parts = _open(chart_id, title, 60, ' data-empty="true"')
    parts.append('<text x="10" y="35" fill="#666">No data in the period.</text></svg>')
    return Markup("".join(parts))


def _legend(names: Sequence[str], y: float, left: float = 60) -> tuple[list[str], int]:
    """Swatches and names in rows that wrap at the chart's width; returns the marks and the
    number of rows (the plot starts below them)."""
    parts, x, rows = [], left, 1
    for index, name in enumerate(names):
        width = 28 + 7.5 * len(name)
        if x + width > WIDTH and x > left:
            x, y, rows = left, y + 18, rows + 1
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{color(name, index)}"/>'
                     f'<text x="{x + 16:.1f}" y="{y:.1f}">{escape(name)}</text>')
        x += width
    return parts, rows


def stacked_bars(chart_id: str, title: str, labels: Sequence[str], series: dict[str, Sequence[int]],
                 label_every: int = 1) -> Markup:
    """Columns per label (a day, a week), stacked by series (platforms)."""
    total = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    if not labels or not series:
        return _empty(chart_id, title)
    left = 60
    legend, rows = _legend(list(series), 18, left)
    top = 34 + 18 * (rows - 1)
    bottom = top + 206
    height = bottom + 60
    top_value, step = nice_scale(max(total) if total else 0)
    plot_w = WIDTH - left - 10
    slot = plot_w / len(labels)
    bar = max(1.0, slot * 0.8)
    parts = _open(chart_id, title, height)
    parts += legend
    parts += _y_axis(left, top, bottom, top_value, step)
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = float(bottom)
        for index, (name, values) in enumerate(series.items()):
            value = values[i]
            if value <= 0:
                continue
            h = (bottom - top) * value / top_value
            y -= h
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{color(name, index)}" data-series="{escape(name)}" data-label="{escape(label)}" '
                         f'data-value="{value}"><title>{escape(label)} {escape(name)}: {value:,}</title></rect>')
        if i % label_every == 0:
            cx = left + i * slot + slot / 2
            parts.append(f'<text x="{cx:.1f}" y="{bottom + 14}" text-anchor="end" '
                         f'transform="rotate(-45 {cx:.1f} {bottom + 14})" font-size="10">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _y_axis(left: float, top: float, bottom: float, top_value: float, step: float) -> list[str]:
    parts = []
    value = 0.0
    while value <= top_value + step / 2:
        y = bottom - (bottom - top) * value / top_value
        parts.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{number(value)}</text>')
        value += step
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" stroke="#999"/>')
    return parts


def box_plot(chart_id: str, title: str, boxes: Sequence[tuple[str, float, float, float, int]], unit: str) -> Markup:
    """One horizontal box (q1 to q3, a line at the median) per label; all in one currency and
    budget type (the caller draws one chart per pair)."""
    if not boxes:
        return _empty(chart_id, title)
    row, left, top = 30, 190, 30
    height = top + row * len(boxes) + 34
    high = max(q3 for _, _, _, q3, _ in boxes)
    top_value, step = nice_scale(high)
    plot_w = WIDTH - left - 40
    scale = plot_w / top_value
    parts = _open(chart_id, title, height)
    parts.append(f'<text x="{left}" y="18" fill="#555">{escape(unit)}</text>')
    axis_y = top + row * len(boxes) + 4
    value = 0.0
    while value <= top_value + step / 2:
        x = left + value * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{axis_y}" stroke="#e3e3e3"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{number(value)}</text>')
        value += step
    for i, (label, q1, median, q3, n) in enumerate(boxes):
        y = top + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(label)} (n={n:,})</text>')
        x1, xm, x3 = left + q1 * scale, left + median * scale, left + q3 * scale
        parts.append(f'<g class="mark" data-label="{escape(label)}" data-value="{median}" data-n="{n}">'
                     f'<title>{escape(label)}: median {number(median)}, q1 {number(q1)}, q3 {number(q3)}, '
                     f'n={n:,}</title>'
                     f'<rect x="{x1:.1f}" y="{y + 5}" width="{max(1.0, x3 - x1):.1f}" height="18" fill="#cfe0f7" '
                     f'stroke="#3b6fd8"/>'
                     f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{y + 3}" y2="{y + 25}" stroke="#1a3f8f" stroke-width="3"/>'
                     f'</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(chart_id: str, title: str, items: Sequence[tuple[str, float, str]],
                    fill: str = "#3b6fd8") -> Markup:
    """One bar per (label, value, text shown after the bar)."""
    if not items:
        return _empty(chart_id, title)
    row, left, top = 22, 170, 10
    height = top + row * len(items) + 10
    high = max(value for _, value, _ in items) or 1
    plot_w = WIDTH - left - 150
    parts = _open(chart_id, title, height)
    for i, (label, value, text) in enumerate(items):
        y = top + i * row
        w = plot_w * value / high
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="mark" x="{left}" y="{y + 3}" width="{max(0.5, w):.1f}" height="15" fill="{fill}" '
                     f'data-label="{escape(label)}" data-value="{value}"><title>{escape(label)}: {escape(text)}</title>'
                     f'</rect><text x="{left + w + 6:.1f}" y="{y + 14}" fill="#333">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_bars(chart_id: str, title: str, items: Sequence[tuple[str, float, float, str]],
                names: tuple[str, str] = ("previous period", "this period")) -> Markup:
    """Two bars per label (previous, current), e.g. a skill's share in two periods."""
    if not items:
        return _empty(chart_id, title)
    row, left, top = 34, 170, 30
    height = top + row * len(items) + 10
    high = max(max(a, b) for _, a, b, _ in items) or 1
    plot_w = WIDTH - left - 170
    parts = _open(chart_id, title, height)
    colors = ("#b9c3cf", "#2ba0b5")
    x = left
    for name, fill in zip(names, colors, strict=False):
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{fill}"/>'
                     f'<text x="{x + 16}" y="18">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    for i, (label, previous, current, text) in enumerate(items):
        y = top + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end">{escape(label)}</text>')
        for j, (value, fill, name) in enumerate(((previous, colors[0], names[0]), (current, colors[1], names[1]))):
            w = plot_w * value / high
            parts.append(f'<rect class="mark" x="{left}" y="{y + 3 + j * 14}" width="{max(0.5, w):.1f}" height="12" '
                         f'fill="{fill}" data-label="{escape(label)}" data-series="{escape(name)}" data-value="{value}">'
                         f'<title>{escape(label)}, {escape(name)}: {value:.1%}</title></rect>')
        w = plot_w * max(previous, current) / high
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 19}" fill="#333">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
