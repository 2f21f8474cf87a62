"""The terminal summary: per assignment, per check, points and a one-line reason."""

from __future__ import annotations

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


def _paint(text: str, color: str, enabled: bool) -> str:
    return f"\x1b[{_ANSI[color]}m{text}\x1b[0m" if enabled else text


def _points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


def one_line(text: str, width: int = REASON_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _check_line(check: CheckResult, color: bool, name_width: int) -> list[str]:
    symbol = _paint(SYMBOLS[check.status], COLORS[check.status], color)
    points = _points(check.score, check.max_score).rjust(7)
    lines = [f"  {symbol} {points}  {check.name.ljust(name_width)}"]
    if check.status != "passed" and check.message:
        lines.append("             " + _paint(one_line(check.message), COLORS[check.status], color))
        if check.hint:
            lines.append("             " + _paint("hint: " + one_line(check.hint), "cyan", color))
    return lines


def render(report: Report, color: bool = False) -> str:
    lines: list[str] = []
    for assignment in report.assignments:
        header = (
            f"{assignment.name} ({assignment.file})  "
            f"{_points(assignment.score, assignment.max_score)}"
        )
        if assignment.status != "graded":
            header += f"  [{assignment.status}]"
        lines.append(_paint(header, "bold", color))
        if assignment.message:
            lines.append("  " + one_line(assignment.message))
        checks = sorted(assignment.checks, key=lambda c: c.status == "passed")
        width = max((len(c.name) for c in checks), default=0)
        width = min(width, 72)
        for check in checks:
            lines.extend(_check_line(check, color, width))
        lines.append("")
    for problem in report.submission.problems:
        lines.append("note: " + problem)
    if report.integrity:
        lines.append(f"integrity flags: {len(report.integrity)} (see report.json)")
    total = f"Total: {_points(report.score, report.max_score)}"
    if not report.complete:
        total += "  (incomplete)"
    lines.append(_paint(total, "bold", color))
    return "\n".join(lines) + "\n"
