"""The score history chart: a pure function from points to accessible, well-formed SVG."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from governance.portal.charts import Frame, Point, describe, score_history_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def _svg(points, **kwargs) -> ET.Element:
    return ET.fromstring(str(score_history_svg(points, title="Trust score of red-bot", **kwargs)))


def _texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{{{NS['svg']}}}text")]


def test_accessible_image_with_title_description_and_axis_labels():
    points = [
        Point(T0, 12),
        Point(T0 + dt.timedelta(days=10), 64, "pending"),
        Point(T0 + dt.timedelta(days=20), 40),
    ]
    root = _svg(points, chart_id="c1")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("svg:title", NS).get("id") == "c1-title"
    assert root.find("svg:title", NS).text == "Trust score of red-bot"
    desc = root.find("svg:desc", NS)
    assert desc.get("id") == "c1-desc"
    assert desc.text == (
        "3 computations from 2026-11-01 to 2026-11-21: from 12 to 40; "
        "lowest 12 on 2026-11-01, highest 64 on 2026-11-11."
    )
    texts = _texts(root)
    assert {"0", "25", "50", "75", "100", "Score", "Date (UTC)"} <= set(texts)
    assert {"2026-11-01", "2026-11-11", "2026-11-21"} <= set(texts)
    circles = root.findall("svg:circle", NS)
    assert [c.find("svg:title", NS).text for c in circles] == [
        "2026-11-01 09:00: 12",
        "2026-11-11 09:00: 64 (pending)",
        "2026-11-21 09:00: 40",
    ]


def test_step_line_holds_each_score_until_the_next():
    frame = Frame()
    points = [Point(T0, 100), Point(T0 + dt.timedelta(hours=1), 0)]
    root = _svg(points, frame=frame)
    coords = [
        tuple(map(float, p.split(","))) for p in root.find("svg:polyline", NS).get("points").split()
    ]
    top, bottom = frame.top, frame.top + frame.inner_height
    left, right = frame.left, frame.width - frame.right
    assert coords == [(left, top), (right, top), (right, bottom)]


def test_points_are_sorted_and_scores_clamped():
    root = _svg([Point(T0 + dt.timedelta(days=1), 150), Point(T0, -5)])
    ys = [float(c.get("cy")) for c in root.findall("svg:circle", NS)]
    frame = Frame()
    assert ys == [frame.top + frame.inner_height, frame.top]


def test_thresholds_are_labelled_lines():
    root = _svg([Point(T0, 50)], thresholds=[(70, "trusted from 70"), (40, "pending from 40")])
    lines = [x for x in root.findall("svg:line", NS) if x.get("class") == "chart-threshold"]
    assert len(lines) == 2
    assert {"trusted from 70", "pending from 40"} <= set(_texts(root))


def test_empty_and_single_point():
    root = _svg([])
    assert root.find("svg:polyline", NS) is None
    assert "No score has been computed yet." in _texts(root)
    assert root.find("svg:desc", NS).text == "No score has been computed yet."
    one = _svg([Point(T0, 30)])
    [circle] = one.findall("svg:circle", NS)
    frame = Frame()
    assert float(circle.get("cx")) == frame.left + frame.inner_width / 2
    assert describe([Point(T0, 30)]) == "One computation: 30 on 2026-11-01."


def test_text_is_escaped():
    svg = str(score_history_svg([Point(T0, 1, "<script>")], title='<b>"x"</b>'))
    assert "<script>" not in svg and "<b>" not in svg
    ET.fromstring(svg)  # still well-formed


def test_a_short_history_is_labelled_with_times():
    points = [Point(T0, 10), Point(T0 + dt.timedelta(hours=3), 20)]
    root = _svg(points)
    assert {"2026-11-01 09:00", "2026-11-01 12:00"} <= set(_texts(root))
    assert describe(points).startswith("2 computations from 2026-11-01 09:00 to 2026-11-01 12:00")
