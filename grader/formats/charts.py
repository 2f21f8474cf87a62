"""Charts for the HTML pages, drawn by matplotlib as inline SVG.

Deterministic: the same data and salt give the same bytes (matplotlib's SVG ids come from
`svg.hashsalt`, and the date metadata is left out). Each chart on a page gets its own salt, so
inline SVGs never share an id. Text stays text (`svg.fonttype = none`), so the browser's fonts
draw Korean labels, which matplotlib's own font cannot.

matplotlib is imported here only, and this module only when HTML is asked for.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

from grader.report import Curve

ACTUAL_COLOR = "#c0392b"
EXPECTED_COLOR = "#2c7fb8"
BAR_COLOR = "#5b8def"
# A span of finite values wider than this (max/min of magnitudes) is drawn on a log scale.
LOG_SPAN = 1e3
_XML_HEADER = re.compile(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to get it."""


def _pyplot_free_figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ChartsUnavailable(
            "--format html needs matplotlib: pip install 'torchgrade[html]'"
        ) from None
    figure = Figure(figsize=(width, height), dpi=72)
    figure.subplots_adjust(left=0.13, right=0.98, top=0.95, bottom=0.18)
    return figure


def _svg(figure: Any, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with (
        matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _XML_HEADER.sub("", buffer.getvalue()).strip()


def finite(value: float | str | None) -> float | None:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _scale(values: Sequence[float]) -> str:
    """`log` when the curves span many orders of magnitude (one diverging loop beside a good
    one), `symlog` when they also cross zero, else linear."""
    magnitudes = [abs(v) for v in values if v != 0]
    if not magnitudes or max(magnitudes) / min(magnitudes) < LOG_SPAN:
        return "linear"
    return "log" if all(v > 0 for v in values) else "symlog"


def curve_svg(curve: Curve, salt: str, actual_label: str, expected_label: str) -> str:
    """The student's curve against the expected one, non-finite points marked at the top, the
    first divergence marked by a vertical line."""
    figure = _pyplot_free_figure(6.4, 3.0)
    axes = figure.add_subplot()
    series = [(curve.actual, actual_label, ACTUAL_COLOR, "o", "actual")]
    if curve.expected:
        series.insert(0, (curve.expected, expected_label, EXPECTED_COLOR, "s", "expected"))
    numbers = [v for values, *_ in series for v in map(finite, values) if v is not None]
    scale = _scale(numbers)
    if scale != "linear":
        axes.set_yscale(scale)
    for values, label, color, marker, role in series:
        points = [(x, finite(v)) for x, v in zip(curve.x, values, strict=False)]
        shown = [(x, v) for x, v in points if v is not None]
        line = axes.plot(
            [x for x, _ in shown],
            [v for _, v in shown],
            color=color,
            marker=marker,
            markersize=3.5,
            linewidth=1.4,
            label=label,
        )[0]
        line.set_gid(f"{role}-{salt}")
        broken = [
            x for x, v in zip(curve.x, values, strict=False) if v is not None and finite(v) is None
        ]
        if broken:
            marks = axes.plot(
                broken,
                [1.0] * len(broken),
                linestyle="none",
                marker="x",
                markersize=8,
                color=color,
                transform=axes.get_xaxis_transform(),
                clip_on=False,
            )[0]
            marks.set_gid(f"{role}-nonfinite-{salt}")
    if curve.diverges_at is not None:
        axes.axvline(curve.diverges_at, color="#888888", linestyle="--", linewidth=1)
    axes.set_xlabel(curve.x_label)
    axes.set_ylabel(curve.label)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=9, frameon=False)
    return _svg(figure, salt)


def histogram_svg(scores: Sequence[float], max_score: float, salt: str, x_label: str) -> str:
    """How many students got each score of one assignment."""
    figure = _pyplot_free_figure(4.2, 2.4)
    axes = figure.add_subplot()
    bins = max(1, min(20, math.ceil(max_score) or 1))
    axes.hist(scores, bins=bins, range=(0, max_score or 1), color=BAR_COLOR, edgecolor="white")
    axes.set_xlabel(x_label)
    axes.grid(True, axis="y", alpha=0.3)
    return _svg(figure, salt)
