"""report.html: one self-contained page per submission, with charts of the compared curves.

No network, no external asset and no script: styles and SVG charts are inline, and the page's
Content-Security-Policy forbids scripts. Jinja2 autoescapes every value; student text is also
made inert (control characters shown as escapes) before it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from grader.formats import charts, text, views
from grader.report import AssignmentResult, CheckResult, Curve, Report

if TYPE_CHECKING:
    import jinja2

FILENAME = "report.html"
INSTRUCTOR_FILENAME = "report.instructor.html"
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "script-src 'none'; base-uri 'none'; form-action 'none'"
)
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱"}
_LABELS = {
    "title": "report_title",
    "incomplete": "report_incomplete",
    "same_as_above": "report_same_as_above",
    "hint": "report_hint",
    "output": "report_output",
    "file": "report_file",
    "numbers": "html_numbers",
    "expected": "html_expected",
    "actual": "html_actual",
    "worst": "html_worst",
    "index": "html_index",
    "integrity": "html_integrity",
    "line": "html_line",
    "code": "html_code",
    "reason": "html_reason",
}


@cache
def environment() -> jinja2.Environment:
    """The template environment: autoescaped, strict about undefined names."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.formats", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["inert"] = text.inert
    env.globals["points"] = views.points
    env.globals["number"] = number
    return env


@cache
def stylesheet() -> str:
    return resources.files("grader.formats").joinpath("templates/base.css").read_text("utf-8")


def number(value: float | str | None) -> str:
    """A value for a table cell: up to 6 significant digits, non-finite values as words."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:.6g}"


def labels(report: Report) -> dict[str, str]:
    found = {key: views.say(report, message) for key, message in _LABELS.items()}
    found["total"] = views.say(
        report, "report_total", points=views.points(report.score, report.max_score)
    )
    return found


def status_label(report: Report, status: str) -> str:
    try:
        return views.say(report, f"status_{status}")
    except KeyError:
        return status


@dataclass
class _Chart:
    curve: Curve
    svg: str
    caption: str
    rows: list[dict[str, Any]]


@dataclass
class _Check:
    result: CheckResult
    anchor: str
    symbol: str
    status_label: str
    same_as_above: bool = False
    charts: list[_Chart] = field(default_factory=list)


def _chart(report: Report, curve: Curve, salt: str) -> _Chart:
    t = labels(report)
    svg = charts.curve_svg(curve, salt, t["actual"], t["expected"])
    caption = curve.label
    if curve.diverges_at is not None:
        caption = views.say(
            report, "html_diverges", label=curve.label, x_label=curve.x_label, x=curve.diverges_at
        )
    rows = [
        {
            "x": x,
            "actual": number(curve.actual[i] if i < len(curve.actual) else None),
            "expected": number(curve.expected[i] if i < len(curve.expected) else None),
            "parted": curve.diverges_at is not None and x >= curve.diverges_at,
        }
        for i, x in enumerate(curve.x)
    ]
    return _Chart(curve, svg, caption, rows)


def _checks(report: Report, assignment: AssignmentResult) -> list[_Check]:
    shown: set[tuple[str, str]] = set()
    built = []
    ordered = sorted(assignment.checks, key=lambda c: c.status == "passed")
    for number_, check in enumerate(ordered, start=1):
        anchor = f"{assignment.name}-{number_}"
        item = _Check(
            check,
            anchor,
            SYMBOLS.get(check.status, "-"),
            status_label(report, check.status),
        )
        if check.status != "passed" and check.message:
            item.same_as_above = (check.message, check.hint) in shown
            shown.add((check.message, check.hint))
        item.charts = [
            _chart(report, curve, f"{anchor}-{index}") for index, curve in enumerate(check.curves)
        ]
        built.append(item)
    return built


def render(report: Report, student: bool = True) -> str:
    """The page for `report`, in the student view unless `student` is False."""
    view = views.for_reader(report, student)
    assignments = [
        {
            "result": a,
            "status_label": status_label(view, a.status),
            "checks": _checks(view, a),
        }
        for a in view.assignments
    ]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=view,
            assignments=assignments,
            notes=[text.inert(p) for p in view.submission.problems],
            t=labels(view),
            csp=CSP,
            css=stylesheet(),
        )
    )
