"""Who reads a rendering decides what it shows: the instructor view and the student view.

The instructor view shows every check as it was graded. The student view applies each check's
`visibility`:

- `visible`: shown in full.
- `hidden`: shown under a neutral name ("Hidden check 3", its position in the assignment), with
  its status, category and points, but without its message, hint or output.
- `after_due_date`, `after_published`: a renderer cannot know the due date or whether grades are
  published, so these are treated like `hidden`, except on a platform that enforces the timing
  itself (Gradescope receives the visibility and reveals the check when its condition holds).

Integrity flags are a signal for the instructor and are left out of the student view.
"""

from __future__ import annotations

from grader import messages
from grader.report import CheckResult, Report

TIMED: frozenset[str] = frozenset({"after_due_date", "after_published"})


def say(report: Report, key: str, **params: object) -> str:
    """A catalogue message in the report's own language."""
    return messages.template(key, lang=report.lang).format(**params)


def template(report: Report, key: str) -> str:
    """A catalogue message in the report's language, placeholders left for the caller."""
    return messages.template(key, lang=report.lang)


def redact(check: CheckResult, number: int, assignment: str, lang: str) -> CheckResult:
    """`check` as a student sees it before it is revealed: points and status, nothing else."""
    return check.model_copy(
        update={
            "id": f"{assignment}::hidden_{number}",
            "name": messages.template("hidden_check_name", lang=lang).format(number=number),
            "message": ""
            if check.status == "passed"
            else messages.template("hidden_check_feedback", lang=lang),
            "hint": "",
            "output": "",
        }
    )


def for_reader(
    report: Report, student: bool, platform_reveals: frozenset[str] = frozenset()
) -> Report:
    """The report as its reader may see it; `platform_reveals` are visibilities left intact."""
    if not student:
        return report
    view = report.model_copy(deep=True)
    view.integrity = []
    for assignment in view.assignments:
        assignment.checks = [
            check
            if check.visibility == "visible" or check.visibility in platform_reveals
            else redact(check, number, assignment.name, report.lang)
            for number, check in enumerate(assignment.checks, start=1)
        ]
    return view


def points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


def withheld_note(report: Report) -> str:
    """A student build's honest total: what it graded here and what it left out; else ""."""
    if not report.withheld_points:
        return ""
    return say(
        report,
        "report_withheld",
        points=points(report.score, report.max_score),
        withheld=f"{report.withheld_points:g}",
    )
