"""Small dependency-free SVG charts for the audit report (horizontal diverging bars, histogram)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="12"'
COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


def _num(x: float) -> str:
    return f"{x:.1f}"


def _text(
    x: object, y: object, body: str, *, weight: str = "", anchor: str = "", fill: str = ""
) -> str:
    attrs = "".join(
        f' {name}="{value}"'
        for name, value in (("font-weight", weight), ("text-anchor", anchor), ("fill", fill))
        if value
    )
    return f'<text x="{x}" y="{y}"{attrs}>{body}</text>'


def _line(x1: object, y1: object, x2: object, y2: object, style: str) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" {style}/>'


def _start(width: int, height: int, title: str) -> list[str]:
    """The opening ``<svg>`` tag and, when there is one, the chart's title."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT}>'
    ]
    if title:
        parts.append(_text(4, 16, escape(title), weight="bold"))
    return parts


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def hbar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    lo: float | None = None,
    hi: float | None = None,
    errors: Sequence[tuple[float, float] | None] | None = None,
    annotations: Sequence[str] | None = None,
    title: str = "",
    axis_label: str = "",
    percent: bool = False,
    label_width: int = 210,
    width: int = 720,
) -> str:
    """Horizontal bars around zero, one row per label, one bar per series (grouped)."""
    values = [v for _, vs in series for v in vs if v is not None]
    if errors:
        values += [x for e in errors if e is not None for x in e]
    lo = min([0.0, *values]) if lo is None else lo
    hi = max([0.0, *values]) if hi is None else hi
    if hi - lo < 1e-9:
        hi = lo + 1.0
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad
    n_series = max(1, len(series))
    bar_h = 14 if n_series == 1 else 10
    row_h = bar_h * n_series + 8
    top = 28 if title else 10
    legend_h = 18 if n_series > 1 else 0
    annot_w = 110 if annotations else 10
    plot_w = width - label_width - annot_w
    height = top + legend_h + row_h * len(labels) + 36

    def x(v: float) -> float:
        return label_width + (v - lo) / (hi - lo) * plot_w

    parts = _start(width, height, title)
    if n_series > 1:
        lx = label_width
        for i, (name, _) in enumerate(series):
            c = COLOURS[i % len(COLOURS)]
            parts.append(
                f'<rect x="{lx}" y="{top}" width="10" height="10" fill="{c}"/>'
                + _text(lx + 14, top + 9, escape(name))
            )
            lx += 30 + 7 * len(name)
    y0 = top + legend_h
    plot_bottom = y0 + row_h * len(labels)
    for t in _ticks(lo, hi):
        tx = x(t)
        text = f"{t:.0%}" if percent else f"{t:g}"
        parts.append(_line(_num(tx), y0, _num(tx), plot_bottom, 'stroke="#ddd"'))
        parts.append(_text(_num(tx), plot_bottom + 14, text, anchor="middle", fill="#555"))
    parts.append(_line(_num(x(0)), y0, _num(x(0)), plot_bottom, 'stroke="#333"'))
    if axis_label:
        middle = _num(label_width + plot_w / 2)
        parts.append(
            _text(middle, plot_bottom + 30, escape(axis_label), anchor="middle", fill="#333")
        )
    for r, label in enumerate(labels):
        ry = y0 + r * row_h + 4
        parts.append(_text(label_width - 6, ry + row_h / 2 + 1, escape(label), anchor="end"))
        for s, (_name, vals) in enumerate(series):
            v = vals[r]
            if v is None:
                continue
            c = COLOURS[s % len(COLOURS)]
            x1, x2 = sorted((x(0), x(v)))
            parts.append(
                f'<rect x="{_num(x1)}" y="{ry + s * bar_h}" width="{_num(max(x2 - x1, 0.5))}" '
                f'height="{bar_h - 2}" fill="{c}"><title>{escape(label)}: '
                f"{(f'{v:.1%}' if percent else f'{v:.3f}')}</title></rect>"
            )
        if errors and errors[r] is not None:
            e_lo, e_hi = errors[r]  # type: ignore[misc]
            cy = ry + bar_h / 2
            style = 'stroke="#222" stroke-width="1.5"'
            parts.append(_line(_num(x(e_lo)), cy, _num(x(e_hi)), cy, style))
        if annotations:
            note = escape(annotations[r])
            parts.append(_text(width - annot_w + 6, ry + row_h / 2 + 1, note, fill="#333"))
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str = "",
    axis_label: str = "",
    percent: bool = False,
    width: int = 720,
    height: int = 220,
) -> str:
    """Vertical-bar histogram from precomputed bin edges and counts; the zero line is marked."""
    top = 28 if title else 10
    left, right, bottom = 40, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = float(edges[0]), float(edges[-1])
    peak = max(1, max(counts) if counts else 1)

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo if hi > lo else 1.0) * plot_w

    parts = _start(width, height, title)
    base = top + plot_h
    for i, c in enumerate(counts):
        x1, x2 = x(edges[i]), x(edges[i + 1])
        h = c / peak * plot_h
        colour = COLOURS[1] if edges[i + 1] <= 0 else COLOURS[0]
        parts.append(
            f'<rect x="{_num(x1 + 0.5)}" y="{_num(base - h)}" width="{_num(max(x2 - x1 - 1, 0.5))}" '
            f'height="{_num(h)}" fill="{colour}"><title>{edges[i]:+.2f} to {edges[i + 1]:+.2f}: '
            f"{c}</title></rect>"
        )
    for t in _ticks(lo, hi, 8):
        text = f"{t:.0%}" if percent else f"{t:g}"
        parts.append(_text(_num(x(t)), base + 14, text, anchor="middle", fill="#555"))
    for t in _ticks(0, peak, 4):
        y = _num(base - t / peak * plot_h + 4)
        parts.append(_text(left - 4, y, f"{t:g}", anchor="end", fill="#555"))
    parts.append(_line(left, base, width - right, base, 'stroke="#333"'))
    if lo < 0 < hi:
        parts.append(
            _line(_num(x(0)), top, _num(x(0)), base, 'stroke="#333" stroke-dasharray="3,3"')
        )
    if axis_label:
        middle = _num(left + plot_w / 2)
        parts.append(_text(middle, height - 6, escape(axis_label), anchor="middle", fill="#333"))
    parts.append("</svg>")
    return "".join(parts)
