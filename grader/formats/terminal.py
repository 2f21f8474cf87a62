"""The terminal summary: per assignment, failures first, points and the feedback, laid out by rich.

rich measures East Asian wide characters, so a Korean table lines up. Student text reaches
rich only as `Text` (never markup, never emoji codes), with control characters already shown
as escapes; after rich has laid everything out, CI workflow commands are broken up line by
line, so no wrap can put a `::` at the start of a log line.

Colour follows the conventions: `NO_COLOR` (no-color.org) turns it off, `FORCE_COLOR`
(force-color.org) turns it on for a pipe; otherwise colour only on a real terminal. Output to a
pipe or a CI log is plain text and is not wrapped at 80 columns.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Mapping
from typing import IO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from grader.formats import notebook_notes, text, views
from grader.report import AssignmentResult, CheckResult, Report

SYMBOLS = {
    "passed": "✓",
    "failed": "✗",
    "error": "!",
    "timeout": "⏱",
    "skipped": "-",
    "not_run": "·",
}
STYLES = {
    "passed": "green",
    "failed": "red",
    "error": "magenta",
    "timeout": "yellow",
    "skipped": "bright_black",
    "not_run": "bright_black",
}
HINT_STYLE = "cyan"
REASON_WIDTH = 110
FEEDBACK_LINES = 6
# Wide enough that nothing in a log is wrapped; a real terminal uses its own width.
PIPE_WIDTH = 4000


def color_enabled(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Colour for a real terminal, unless NO_COLOR says none; FORCE_COLOR asks for it anyway."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def console(stream: IO[str] | None, color: bool, width: int | None = None) -> Console:
    """A rich console that treats every string as plain text (no markup, emoji or highlighting).

    `width` None means a pipe: wide enough that rich never wraps a line."""
    return Console(
        file=stream or io.StringIO(),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or PIPE_WIDTH,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=width is None,
        legacy_windows=False,
    )


def terminal_width(stream: IO[str]) -> int | None:
    """The terminal's width when `stream` is one, else None (a pipe: no wrapping)."""
    isatty = getattr(stream, "isatty", None)
    if isatty and isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return None


def one_line(value: str, width: int = REASON_WIDTH) -> str:
    flat = " ".join(text.inert(value).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def wrapped(value: str, width: int = 92) -> list[str]:
    """`value` as the terminal lays it out at `width` columns, made safe after layout."""
    buffer = io.StringIO()
    console(buffer, False, width).print(Text(_plain(value)))
    return finish(buffer.getvalue(), False).splitlines()


def _plain(value: str) -> str:
    """Student text with controls shown as escapes and white space folded, ready for rich."""
    return " ".join(text.visible_controls(value).split())


def _feedback(report: Report, check: CheckResult, shown: set[tuple[str, str]]) -> Text | None:
    """A check's message and hint; a reason already shown in this assignment (an import error
    fails every check the same way) is referred to, not repeated."""
    if check.status == "passed" or not check.message:
        return None
    style = STYLES.get(check.status, "")
    if (check.message, check.hint) in shown:
        return Text(views.say(report, "report_same_as_above"), style=style)
    shown.add((check.message, check.hint))
    feedback = Text(_plain(check.message), style=style)
    if check.hint:
        label = views.say(report, "report_hint")
        feedback.append("\n")
        feedback.append(f"{label}: {_plain(check.hint)}", style=HINT_STYLE)
    return feedback


def _assignment_table(report: Report, assignment: AssignmentResult) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1, no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    shown: set[tuple[str, str]] = set()
    for check in sorted(assignment.checks, key=lambda c: c.status == "passed"):
        style = STYLES.get(check.status, "")
        name = Text(_plain(check.name))
        feedback = _feedback(report, check, shown)
        if feedback is not None:
            name.append("\n")
            name.append_text(feedback)
        table.add_row(
            Text(SYMBOLS.get(check.status, "?"), style=style),
            Text(views.points(check.score, check.max_score)),
            name,
        )
    return table


def _header(report: Report, assignment: AssignmentResult) -> Text:
    header = Text(style="bold")
    header.append(f"{assignment.name} ({_plain(assignment.file)})  ")
    header.append(views.points(assignment.score, assignment.max_score))
    if assignment.title:
        header.append(f"  {_plain(assignment.title)}", style="")
    if assignment.status != "graded":
        header.append(f"  [{views.say(report, f'status_{assignment.status}')}]")
    return header


def _total(report: Report) -> Text:
    checks = [c for a in report.assignments for c in a.checks]
    passed = sum(c.status == "passed" for c in checks)
    total = views.say(report, "report_total", points=views.points(report.score, report.max_score))
    if report.max_score:
        total += f" ({100 * report.score / report.max_score:.0f}%)"
    total += "  " + views.say(report, "terminal_counts", passed=passed, failed=len(checks) - passed)
    if not report.complete:
        total += f"  ({views.say(report, 'report_incomplete')})"
    return Text(total, style="bold")


def print_report(target: Console, report: Report) -> None:
    """Lay the summary of `report` (already in its reader's view) out on `target`."""
    note = views.say(report, "report_note")
    for assignment in report.assignments:
        target.print(_header(report, assignment))
        for part in assignment.message.splitlines():
            if part.strip():
                target.print(Padding(Text(_plain(part)), (0, 0, 0, 2)))
        for item in assignment.notes:
            target.print(Padding(Text(f"{note}: {_plain(item)}"), (0, 0, 0, 2)))
        if assignment.checks:
            target.print(Padding(_assignment_table(report, assignment), (0, 0, 0, 2)))
        target.print()
    for problem in report.submission.problems:
        target.print(Text(f"{note}: {_plain(problem)}"))
    for line in notebook_notes.left_out_lines(report):
        target.print(Text(_plain(line)))
    if report.integrity:
        target.print(Text(views.say(report, "report_integrity", count=len(report.integrity))))
    total = _total(report)
    target.print(Text("─" * min(total.cell_len, 60)))
    target.print(total)
    if withheld := views.withheld_note(report):
        target.print(Text(_plain(withheld)))


def render(
    report: Report, color: bool = False, student: bool = False, width: int | None = None
) -> str:
    """The summary of `report`, in the student view when `student`; `width` None for a pipe."""
    report = views.for_reader(report, student)
    buffer = io.StringIO()
    print_report(console(buffer, color, width), report)
    return finish(buffer.getvalue(), color)


def finish(laid_out: str, color: bool) -> str:
    """What rich laid out, made safe for a terminal or a CI log, line by line, after layout."""
    lines = laid_out.splitlines()
    if color:
        return "".join(text.defuse_workflow_commands(line).rstrip() + "\n" for line in lines)
    return "".join(text.inert(line).rstrip() + "\n" for line in lines)
