"""Bar charts drawn on the server as SVG geometry (no chart library, no script).

The template (``macros/charts.html``) turns a :class:`BarChart` into an inline ``<svg>``;
colours come from CSS classes, so the page needs no inline style under the CSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from stubcollector.domain.money import format_cents

WIDTH = 640
HEIGHT = 220
LEFT = 64  # room for the value axis labels
BOTTOM = 28  # room for the date labels
TOP = 12
GAP = 0.25  # share of each slot left empty between bars


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    text: str  # the value for people: "$12.50" or "3"


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class XLabel:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    label: str
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    x_labels: tuple[XLabel, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return all(bar.height == 0 for bar in self.bars)


def _nice_ceiling(value: int) -> int:
    """A round top for the axis: the smallest 1, 2 or 5 times a power of ten >= ``value``."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _text(value: int, money: bool) -> str:
    return format_cents(value) if money else f"{value:,}"


def bar_chart(points: Sequence[tuple[date, int]], *, money: bool, label: str) -> BarChart:
    """Bars for (period start, value) points; money values are cents, shown as dollars."""
    top_value = _nice_ceiling(max((max(value, 0) for _, value in points), default=0))
    # An empty or tiny series still gets a readable axis: $10 or 4 items.
    top_value = max(top_value, 1000 if money else 4)
    plot_height = HEIGHT - BOTTOM - TOP
    plot_width = WIDTH - LEFT - 8
    slot = plot_width / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        height = plot_height * max(value, 0) / top_value
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * GAP / 2, 2),
                y=round(HEIGHT - BOTTOM - height, 2),
                width=round(slot * (1 - GAP), 2),
                height=round(height, 2),
                day=day,
                text=_text(value, money),
            )
        )
    ticks = tuple(
        Tick(
            y=round(HEIGHT - BOTTOM - plot_height * share, 2),
            text=_text(int(top_value * share), money),
        )
        for share in (0, 0.5, 1)
    )
    # About six date labels whatever the number of bars, so they never overlap.
    every = max(1, -(-len(points) // 6))
    x_labels = tuple(
        XLabel(x=round(LEFT + index * slot + slot / 2, 2), text=f"{day:%b} {day.day}")
        for index, (day, _) in enumerate(points)
        if index % every == 0
    )
    return BarChart(label=label, bars=tuple(bars), ticks=ticks, x_labels=x_labels)
