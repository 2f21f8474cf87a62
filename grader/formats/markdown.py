"""report.md: a student-friendly summary, also used as the GitHub Actions job summary.

The total, one table per assignment, then what to fix for each check that did not pass. Every
piece of text from a check is escaped, and what student code printed sits in a fenced block, so
nothing a submission says can become a link, a heading, HTML or a broken table.
"""

from __future__ import annotations

from grader.formats import notebook_notes, text, views
from grader.report import AssignmentResult, CheckResult, Report

FILENAME = "report.md"
ICONS = {
    "passed": "✅",
    "failed": "❌",
    "error": "⚠️",
    "timeout": "⏱️",
    "skipped": "⏭️",
    "not_run": "⏸️",
}
ASSIGNMENT_ICONS = {"graded": "", "missing": "❌", "error": "⚠️"}
MESSAGE_LIMIT = 4000


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(*cells: str) -> list[str]:
    """A table's header row and the separator row under it."""
    return [_row(*cells), _row(*["---"] * len(cells))]


def _feedback(report: Report, check: CheckResult) -> list[str]:
    heading = (
        f"- {ICONS[check.status]} **{text.md_inline(check.name)}** "
        f"({views.points(check.score, check.max_score)})"
    )
    lines = [heading]
    message = text.truncate(check.message, MESSAGE_LIMIT, views.template(report, "text_cut"))
    lines.extend("  " + line + "  " for line in text.md_lines(message))
    if check.hint:
        label = views.say(report, "report_hint")
        lines.append(f"  *{label}:* {text.md_inline(check.hint, code_spans=True)}")
    if check.output:
        lines.append("")
        lines.append(f"  *{views.say(report, 'report_output')}:*")
        lines.append("")
        block = text.md_code_block(check.output)
        lines.extend("  " + line for line in block.splitlines())
    lines.append("")
    return lines


def _assignment(report: Report, assignment: AssignmentResult) -> list[str]:
    say = views.say
    icon = ASSIGNMENT_ICONS[assignment.status]
    heading = (
        f"## {icon + ' ' if icon else ''}{text.md_inline(assignment.title or assignment.name)} "
        f"(`{assignment.file}`): {views.points(assignment.score, assignment.max_score)}"
    )
    lines = [heading, ""]
    if assignment.message:
        lines.extend(text.md_lines(assignment.message))
        lines.append("")
    for note in assignment.notes:
        lines.extend([*text.md_lines(note), ""])
    if not assignment.checks:
        return lines
    lines.extend(
        _header(
            "",
            say(report, "report_check"),
            say(report, "report_category"),
            say(report, "report_points"),
        )
    )
    for check in assignment.checks:
        lines.append(
            _row(
                ICONS[check.status],
                text.md_inline(check.name),
                check.category,
                views.points(check.score, check.max_score),
            )
        )
    lines.append("")
    missed = [check for check in assignment.checks if check.status != "passed"]
    if missed:
        lines.extend([f"### {say(report, 'report_feedback')}", ""])
        for check in missed:
            lines.extend(_feedback(report, check))
    else:
        lines.extend([say(report, "report_all_passed"), ""])
    return lines


def render(report: Report, student: bool = True) -> str:
    """The Markdown summary of `report`, in the student view when `student`."""
    report = views.for_reader(report, student)
    say = views.say
    total = views.points(report.score, report.max_score)
    lines = [f"# {say(report, 'report_title')}: {total}", ""]
    if note := views.withheld_note(report):
        lines.extend([f"> {text.md_inline(note)}", ""])
    if not report.complete:
        lines.extend([f"> {say(report, 'report_incomplete')}", ""])
    lines.extend(
        _header(
            say(report, "report_assignment"),
            say(report, "report_file"),
            say(report, "report_score"),
            say(report, "report_status"),
        )
    )
    for assignment in report.assignments:
        lines.append(
            _row(
                text.md_inline(assignment.name),
                f"`{assignment.file}`",
                views.points(assignment.score, assignment.max_score),
                say(report, f"status_{assignment.status}"),
            )
        )
    lines.append(_row(f"**{say(report, 'report_total_label')}**", "", f"**{total}**", ""))
    lines.append("")
    for assignment in report.assignments:
        lines.extend(_assignment(report, assignment))
    notes = list(report.submission.problems)
    notes += [line.strip() for line in notebook_notes.left_out_lines(report)]
    if report.integrity:
        notes.append(say(report, "report_integrity", count=len(report.integrity)))
    if notes:
        lines.extend([f"## {say(report, 'report_notes')}", ""])
        lines.extend(f"- {text.md_inline(note)}" for note in notes)
        lines.append("")
    return text.inert("\n".join(lines).rstrip()) + "\n"
