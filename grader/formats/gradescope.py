"""results.json for Gradescope's autograder harness.

Top level: `score`, `execution_time`, `output`, `visibility`, `stdout_visibility`, `tests`. Each
test: `name`, `number` ("<assignment>.<check>", so Gradescope keeps the order), `score`,
`max_score`, `status` (`passed` or `failed`), `output`, `tags` (the category) and `visibility`.
Gradescope enforces each test's visibility itself, including the timed ones, so the student view
only redacts `hidden` checks; the run's stdout (the terminal summary) stays hidden from students.
"""

from __future__ import annotations

import json
import math
from typing import Any

from grader.formats import text, views
from grader.report import AssignmentResult, CheckResult, Report

FILENAME = "results.json"
OUTPUT_LIMIT = 8000


def _output(report: Report, check: CheckResult) -> str:
    parts = [check.message] if check.message else []
    if check.hint:
        parts.append(f"{views.say(report, 'report_hint')}: {check.hint}")
    if check.output:
        parts.append(f"{views.say(report, 'report_output')}:\n{check.output}")
    joined = text.inert("\n\n".join(parts))
    return text.truncate(joined, OUTPUT_LIMIT, views.template(report, "text_cut"))


def _check_test(
    report: Report, number: str, assignment: AssignmentResult, check: CheckResult
) -> dict[str, Any]:
    return {
        "name": text.inert(f"{assignment.name}: {check.name}"),
        "number": number,
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.status == "passed" else "failed",
        "output": _output(report, check),
        "tags": [check.category],
        "visibility": check.visibility,
    }


def _assignment_test(number: str, assignment: AssignmentResult) -> dict[str, Any]:
    """One test standing for an assignment that has no checks (missing file, broken checks)."""
    return {
        "name": text.inert(f"{assignment.name}: {assignment.file}"),
        "number": number,
        "score": assignment.score,
        "max_score": assignment.max_score,
        "status": "failed",
        "output": text.inert(assignment.message),
        "tags": [],
        "visibility": "visible",
    }


def _summary(report: Report) -> str:
    lines = [views.say(report, "report_total", points=views.points(report.score, report.max_score))]
    for assignment in report.assignments:
        status = views.say(report, f"status_{assignment.status}")
        lines.append(
            f"  {assignment.name} ({assignment.file}): "
            f"{views.points(assignment.score, assignment.max_score)} [{status}]"
        )
        if assignment.message:
            lines.extend("    " + line for line in assignment.message.splitlines())
    if not report.complete:
        lines.append(views.say(report, "report_incomplete"))
    lines.extend(report.submission.problems)
    return text.inert("\n".join(lines))


def results(report: Report, student: bool = True) -> dict[str, Any]:
    """The results.json object for `report`; the student view redacts `hidden` checks."""
    report = views.for_reader(report, student, platform_reveals=views.TIMED)
    tests: list[dict[str, Any]] = []
    for a_index, assignment in enumerate(report.assignments, start=1):
        if not assignment.checks:
            tests.append(_assignment_test(f"{a_index}.1", assignment))
        for c_index, check in enumerate(assignment.checks, start=1):
            tests.append(_check_test(report, f"{a_index}.{c_index}", assignment, check))
    return {
        "score": report.score,
        "execution_time": math.ceil(report.duration_s),
        "output": _summary(report),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render(report: Report, student: bool = True) -> str:
    return json.dumps(results(report, student), indent=2) + "\n"
