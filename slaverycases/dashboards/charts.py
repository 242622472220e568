"""Bar charts as inline SVG, drawn on the server from figures already counted in SQL.

No JavaScript and no inline style (the content security policy forbids both): only SVG
presentation attributes. Each chart is an image with an accessible name (role="img",
aria-label and <title>); the page always gives the same numbers in a table after it.

Layout: one horizontal bar per category, its label above it and its value at its end, so that
long labels ("MSA 2015 s1: slavery, servitude, forced or compulsory labour") never collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BLUE = "#1d70b8"  # GOV.UK blue: contrast 5.2:1 on white
GREY = "#505a5f"  # GOV.UK dark grey (text-secondary): 7:1
PURPLE = "#4c2c92"  # GOV.UK purple: 10:1
RED = "#d4351c"  # GOV.UK red: 4.5:1
TEXT = "#0b0c0c"  # GOV.UK text colour

WIDTH = 640
ROW_HEIGHT = 52
LABEL_BASELINE = 18
BAR_TOP = 26
BAR_HEIGHT = 18
VALUE_GAP = 8  # between a bar's end and its value
CHAR_WIDTH = 10  # a generous width of one bold character at FONT_SIZE, to leave room for values
FONT_SIZE = 16
MAX_LABEL = 76
LEGEND_HEIGHT = 34


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str = ""  # the value as shown (e.g. "3 (33%)"); str(value) when empty
    colour: str = BLUE
    # A stacked bar: its parts' values and colours, left to right (they add up to `value`).
    parts: tuple[tuple[float, str], ...] = ()


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:g}"


def _rects(bar: Bar, top: int, scale: float) -> tuple[SafeString, float]:
    """The bar's rectangle (or its parts' rectangles, with a white gap between them) and its
    drawn width."""
    parts = bar.parts or ((bar.value, bar.colour),)
    x = 0.0
    rects = []
    for value, colour in parts:
        width = max(value, 0) * scale
        if 0 < width < 2:
            width = 2  # a small non-zero value stays visible
        if width:
            rects.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>',
                    f"{x:.1f}",
                    top + BAR_TOP,
                    f"{max(width - (1 if len(parts) > 1 else 0), 1):.1f}",
                    BAR_HEIGHT,
                    colour,
                )
            )
        x += width
    return format_html_join("", "{}", ((r,) for r in rects)), x


def _legend(legend: Sequence[tuple[str, str]]) -> tuple[SafeString, int]:
    """A key to a stacked chart's colours, on one line above the bars."""
    items = []
    x = 0
    for label, colour in legend:
        items.append(
            format_html(
                '<rect x="{}" y="4" width="16" height="16" fill="{}"></rect>'
                '<text x="{}" y="18">{}</text>',
                x,
                colour,
                x + 22,
                label,
            )
        )
        x += 22 + CHAR_WIDTH * len(label) + 16
    return format_html_join("", "{}", ((i,) for i in items)), LEGEND_HEIGHT if items else 0


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    legend: Sequence[tuple[str, str]] = (),
) -> SafeString:
    """A horizontal bar chart (stacked where the bars have parts, with a `legend` of the parts'
    labels and colours). `chart_id` must be unique on the page."""
    texts = [bar.text or _number(bar.value) for bar in bars]
    biggest = max((bar.value for bar in bars), default=0) or 1
    value_space = VALUE_GAP + CHAR_WIDTH * max((len(t) for t in texts), default=1) + 12
    scale = (WIDTH - value_space) / biggest
    key, offset = _legend(legend)
    height = offset + len(bars) * ROW_HEIGHT + 4
    summary = "; ".join(f"{bar.label}: {text}" for bar, text in zip(bars, texts, strict=True))
    name = f"{title} (bar chart). The figures are in the table that follows."
    rows = []
    for i, (bar, text) in enumerate(zip(bars, texts, strict=True)):
        top = offset + i * ROW_HEIGHT
        rects, width = _rects(bar, top, scale)
        rows.append(
            format_html(
                '<text x="0" y="{}">{}</text>{}<text x="{}" y="{}" font-weight="bold">{}</text>',
                top + LABEL_BASELINE,
                _short(bar.label),
                rects,
                f"{width + VALUE_GAP if width else 0:.1f}",
                top + BAR_TOP + BAR_HEIGHT - 3,
                text,
            )
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" id="{id}" '
        'viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{name}" '
        'focusable="false">'
        '<title id="{id}-title">{title}: {summary}</title>'
        '<g font-family="arial, sans-serif" font-size="{size}" fill="{text}">{key}{rows}</g>'
        "</svg>",
        id=chart_id,
        w=WIDTH,
        h=height,
        name=name,
        title=title,
        summary=summary,
        size=FONT_SIZE,
        text=TEXT,
        key=key,
        rows=format_html_join("", "{}", ((row,) for row in rows)),
    )
