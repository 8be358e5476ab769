"""Server-rendered SVG charts: a pure function from points to markup, no JavaScript library.

The trust score's history is a step chart (a score holds until the next computation changes
it) on a 0–100 axis, with the level thresholds as dashed lines. It is an image to assistive
technology (``role="img"`` named by its ``<title>`` and described by a ``<desc>`` that says
what a sighted reader sees: the range, the extremes, the latest value); each point has its own
``<title>`` for pointer users. Colours come from classes in ``portal.css`` (no inline styles:
the portal's CSP forbids them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

SCORE_MAX = 100
Y_TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Point:
    """One computed score; ``note`` is said in the point's tooltip ("pending", "pinned")."""

    at: dt.datetime
    score: float
    note: str = ""


@dataclass(frozen=True)
class Frame:
    """The plotting area inside the SVG's width and height, leaving room for axis labels."""

    width: int = 640
    height: int = 220
    left: int = 44
    right: int = 16
    top: int = 12
    bottom: int = 40

    @property
    def inner_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> int:
        return self.height - self.top - self.bottom

    def y(self, score: float) -> float:
        clamped = min(max(score, 0), SCORE_MAX)
        return round(self.top + self.inner_height * (1 - clamped / SCORE_MAX), 1)

    def x(self, at: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
        span = (end - start).total_seconds()
        share = 0.5 if span <= 0 else (at - start).total_seconds() / span
        return round(self.left + self.inner_width * share, 1)


def _day(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _number(value: float) -> str:
    return f"{value:g}"


def _labeller(points: Sequence[Point]):
    """Days on a range of days; times too when the whole history fits in two days."""
    short = len(points) > 1 and points[-1].at - points[0].at < dt.timedelta(days=2)
    return _stamp if short else _day


def describe(points: Sequence[Point]) -> str:
    """What the chart shows, in words: for ``<desc>`` and for readers of the page alike."""
    if not points:
        return "No score has been computed yet."
    points = sorted(points, key=lambda p: p.at)
    when = _labeller(points)
    first, last = points[0], points[-1]
    if len(points) == 1:
        return f"One computation: {_number(first.score)} on {when(first.at)}."
    low = min(points, key=lambda p: p.score)
    high = max(points, key=lambda p: p.score)
    return (
        f"{len(points)} computations from {when(first.at)} to {when(last.at)}: "
        f"from {_number(first.score)} to {_number(last.score)}; "
        f"lowest {_number(low.score)} on {when(low.at)}, "
        f"highest {_number(high.score)} on {when(high.at)}."
    )


def _steps(points: Sequence[Point], frame: Frame, start: dt.datetime, end: dt.datetime) -> str:
    """A step line's ``points`` attribute: horizontal until the next score, then vertical."""
    coords: list[str] = []
    for i, point in enumerate(points):
        x, y = frame.x(point.at, start, end), frame.y(point.score)
        if i:
            coords.append(f"{x},{frame.y(points[i - 1].score)}")
        coords.append(f"{x},{y}")
    return " ".join(coords)


def score_history_svg(
    points: Sequence[Point],
    *,
    title: str,
    thresholds: Sequence[tuple[float, str]] = (),
    chart_id: str = "score-history",
    frame: Frame | None = None,
) -> SafeString:
    """The SVG of a score's history (oldest point first). Every text is escaped."""
    frame = frame or Frame()
    points = sorted(points, key=lambda p: p.at)
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {} {}" '
            'role="img" aria-labelledby="{}-title {}-desc" focusable="false">',
            frame.width,
            frame.height,
            chart_id,
            chart_id,
        ),
        format_html('<title id="{}-title">{}</title>', chart_id, title),
        format_html('<desc id="{}-desc">{}</desc>', chart_id, describe(points)),
    ]
    # The y axis: gridlines and their labels, and the axis's name.
    for tick in Y_TICKS:
        y = frame.y(tick)
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
                frame.left,
                frame.width - frame.right,
                y,
                y,
                frame.left - 6,
                y + 4,
                tick,
            )
        )
    parts.append(
        format_html(
            '<text class="chart-axis-name" x="12" y="{}" text-anchor="middle" '
            'transform="rotate(-90 12 {})">Score</text>',
            frame.top + frame.inner_height / 2,
            frame.top + frame.inner_height / 2,
        )
    )
    for value, label in thresholds:
        y = frame.y(value)
        parts.append(
            format_html(
                '<line class="chart-threshold" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-threshold-label" x="{}" y="{}" text-anchor="start">{}</text>',
                frame.left,
                frame.width - frame.right,
                y,
                y,
                frame.left + 4,
                y - 3,
                label,
            )
        )
    axis_y = frame.top + frame.inner_height
    parts.append(
        format_html(
            '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            frame.left,
            frame.width - frame.right,
            axis_y,
            axis_y,
        )
    )
    if not points:
        parts.append(
            format_html(
                '<text class="chart-empty" x="{}" y="{}" text-anchor="middle">{}</text>',
                frame.left + frame.inner_width / 2,
                frame.top + frame.inner_height / 2,
                describe(points),
            )
        )
    else:
        start, end = points[0].at, points[-1].at
        # The x axis's labels: first and last day (and the middle one on a longer range).
        ticks = [start, end] if start != end else [start]
        if (end - start) > dt.timedelta(days=2):
            ticks.insert(1, start + (end - start) / 2)
        anchors = {0: "start", len(ticks) - 1: "end"} if len(ticks) > 1 else {0: "middle"}
        label = _labeller(points)
        for i, at in enumerate(ticks):
            parts.append(
                format_html(
                    '<text class="chart-label" x="{}" y="{}" text-anchor="{}">{}</text>',
                    frame.x(at, start, end),
                    axis_y + 16,
                    anchors.get(i, "middle"),
                    label(at),
                )
            )
        parts.append(
            format_html(
                '<text class="chart-axis-name" x="{}" y="{}" text-anchor="middle">'
                "Date (UTC)</text>",
                frame.left + frame.inner_width / 2,
                frame.height - 4,
            )
        )
        if len(points) > 1:
            parts.append(
                format_html(
                    '<polyline class="chart-line" points="{}"/>', _steps(points, frame, start, end)
                )
            )
        for point in points:
            note = f" ({point.note})" if point.note else ""
            parts.append(
                format_html(
                    '<circle class="chart-point" cx="{}" cy="{}" r="3.5">'
                    "<title>{}: {}{}</title></circle>",
                    frame.x(point.at, start, end),
                    frame.y(point.score),
                    _stamp(point.at),
                    _number(point.score),
                    note,
                )
            )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308  (every piece escaped above)


__all__ = ["Frame", "Point", "describe", "score_history_svg"]
