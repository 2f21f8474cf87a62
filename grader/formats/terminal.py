"""The terminal summary: per assignment, failures first, points and a one-line reason.

Colour only when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org). Every
piece of text from a check is made inert first, so student text cannot move the cursor or issue
CI workflow commands in a log.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import IO

from grader.formats import text, views
from grader.report import CheckResult, Report

SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "skipped": "-"}
COLORS = {
    "passed": "green",
    "failed": "red",
    "error": "magenta",
    "timeout": "yellow",
    "skipped": "bright_black",
}
_ANSI = {
    "green": "32",
    "red": "31",
    "magenta": "35",
    "yellow": "33",
    "bright_black": "90",
    "bold": "1",
    "cyan": "36",
}
REASON_WIDTH = 110
FEEDBACK_WIDTH = 92
FEEDBACK_LINES = 6
INDENT = " " * 13


def color_enabled(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Colour for a real terminal, unless the user asked for none with NO_COLOR."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR")


def _paint(value: str, color: str, enabled: bool) -> str:
    return f"\x1b[{_ANSI[color]}m{value}\x1b[0m" if enabled else value


def one_line(value: str, width: int = REASON_WIDTH) -> str:
    flat = " ".join(text.inert(value).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def wrapped(value: str, width: int = FEEDBACK_WIDTH, most: int = FEEDBACK_LINES) -> list[str]:
    """Feedback wrapped to the terminal rather than cut: a student needs the whole sentence.

    Wrapping can start a new line anywhere, so every `::` is broken up after wrapping: no line
    of a CI log can become a workflow command, wherever the wrap falls."""
    lines = textwrap.wrap(" ".join(text.visible_controls(value).split()), width) or [""]
    if len(lines) > most:
        lines = [*lines[: most - 1], lines[most - 1][: width - 1] + "…"]
    return [text.inert(line).replace("::", ":\u200b:") for line in lines]


def _check_lines(
    report: Report, check: CheckResult, color: bool, shown: set[tuple[str, str]]
) -> list[str]:
    """A check's line and its feedback; feedback already shown in this assignment (an import
    error fails every check the same way) is referred to, not repeated."""
    symbol = _paint(SYMBOLS[check.status], COLORS[check.status], color)
    points = views.points(check.score, check.max_score).rjust(7)
    lines = [f"  {symbol} {points}  {one_line(check.name)}"]
    if check.status != "passed" and check.message:
        if (check.message, check.hint) in shown:
            same = views.say(report, "report_same_as_above")
            return [*lines, INDENT + _paint(same, COLORS[check.status], color)]
        shown.add((check.message, check.hint))
        for line in wrapped(check.message):
            lines.append(INDENT + _paint(line, COLORS[check.status], color))
        if check.hint:
            hint = f"{views.say(report, 'report_hint').lower()}: {check.hint}"
            for line in wrapped(hint):
                lines.append(INDENT + _paint(line, "cyan", color))
    return lines


def render(report: Report, color: bool = False, student: bool = False) -> str:
    """The summary of `report`, in the student view when `student`."""
    report = views.for_reader(report, student)
    lines: list[str] = []
    for assignment in report.assignments:
        header = (
            f"{assignment.name} ({assignment.file})  "
            f"{views.points(assignment.score, assignment.max_score)}"
        )
        if assignment.status != "graded":
            header += f"  [{views.say(report, f'status_{assignment.status}')}]"
        lines.append(_paint(header, "bold", color))
        for part in assignment.message.splitlines():
            lines.extend("  " + line for line in wrapped(part, most=2 * FEEDBACK_LINES))
        shown: set[tuple[str, str]] = set()
        for check in sorted(assignment.checks, key=lambda c: c.status == "passed"):
            lines.extend(_check_lines(report, check, color, shown))
        lines.append("")
    for problem in report.submission.problems:
        lines.append("note: " + one_line(problem))
    if report.integrity:
        lines.append(views.say(report, "report_integrity", count=len(report.integrity)))
    checks = [c for a in report.assignments for c in a.checks]
    passed = sum(c.status == "passed" for c in checks)
    total = views.say(report, "report_total", points=views.points(report.score, report.max_score))
    if report.max_score:
        total += f" ({100 * report.score / report.max_score:.0f}%)"
    total += "  " + views.say(report, "terminal_counts", passed=passed, failed=len(checks) - passed)
    if not report.complete:
        total += f"  ({views.say(report, 'report_incomplete')})"
    rule = "─" * min(len(total), 60)
    lines.extend([rule, _paint(total, "bold", color)])
    return "\n".join(lines) + "\n"
