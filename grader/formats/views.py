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

One root cause, one message: when several checks of an assignment failed for the same
assignment-level reason (the file does not import, or does not define a name every check
needs; the judge sets `CheckResult.cause`), both views say it once, as the assignment's
message with the affected checks listed under it, and each affected check only points there
(`fold_root_causes`). Every format renders through `for_reader`, so every format gets it;
report.json keeps each check's own message.
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


MIN_SHARED = 2


def _cause_text(report: Report, cause: str, file: str, first: CheckResult) -> str:
    if cause.startswith("missing:"):
        return say(report, "report_cause_missing", file=file, name=cause.partition(":")[2])
    return first.message


def fold_root_causes(report: Report) -> Report:
    """`report` with each shared root cause said once per assignment (a copy when it folds)."""
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for assignment in report.assignments:
        for check in assignment.checks:
            if check.cause and check.status != "passed":
                groups.setdefault((assignment.name, check.cause), []).append(check)
    if not any(len(group) >= MIN_SHARED for group in groups.values()):
        return report
    view = report.model_copy(deep=True)
    for assignment in view.assignments:
        causes: dict[str, list[CheckResult]] = {}
        for check in assignment.checks:
            if check.cause and check.status != "passed":
                causes.setdefault(check.cause, []).append(check)
        parts = [assignment.message] if assignment.message else []
        for cause, affected in causes.items():
            if len(affected) < MIN_SHARED:
                continue
            first = affected[0]
            parts.append(_cause_text(report, cause, assignment.file, first))
            if first.hint:
                parts.append(f"{say(report, 'report_hint')}: {first.hint}")
            if len(affected) == len(assignment.checks):
                parts.append(say(report, "report_cause_all", count=len(affected)))
            else:
                parts.append(say(report, "report_cause_affected", count=len(affected)))
                parts.extend(f"• {c.name}" for c in affected)
            for check in affected:
                check.message = say(report, "report_cause_check", file=assignment.file)
                check.hint = ""
        assignment.message = "\n".join(parts)
    return view


def for_reader(
    report: Report, student: bool, platform_reveals: frozenset[str] = frozenset()
) -> Report:
    """The report as its reader may see it; `platform_reveals` are visibilities left intact.
    Shared root causes are folded in both views (after redaction, so a hidden check's name
    never appears in the list of affected checks)."""
    if not student:
        return fold_root_causes(report)
    view = report.model_copy(deep=True)
    view.integrity = []
    for assignment in view.assignments:
        assignment.checks = [
            check
            if check.visibility == "visible" or check.visibility in platform_reveals
            else redact(check, number, assignment.name, report.lang)
            for number, check in enumerate(assignment.checks, start=1)
        ]
    return fold_root_causes(view)


def points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"
