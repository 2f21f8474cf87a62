"""GitHub Classroom: the runner result that `autograding-grading-reporter@v1` reads.

The reporter reads `<RUNNER ID>_RESULTS` from its environment, base64-decodes it and parses it as
`{"version", "status", "max_score", "tests": [...]}`. The grade Classroom records is the notice
`Points X/Y`, with X the sum of `tests[].score` (so scores are numbers that add up exactly to the
report's score) and Y the `max_score`. A missing `tests` array crashes it; `line_no` 0 prints the
test without a line. A top-level `fail` or `error` marks the job failed.

The result is a single base64 line (`result=<base64>` in `$GITHUB_OUTPUT`) and must stay far
below the 128 KiB limit of an environment string, so each test's message is cut, ever shorter,
until it fits. The full feedback goes to the job summary (`$GITHUB_STEP_SUMMARY`), the Markdown
report.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from grader.formats import markdown, text, views
from grader.report import AssignmentResult, CheckResult, Report

OUTPUT_FILENAME = "classroom-output.txt"
SUMMARY_FILENAME = "classroom-summary.md"
OUTPUT_NAME = "result"
RUNNER_ID = "torchgrade"
VERSION = 1
MAX_ENCODED_BYTES = 48 * 1024
MESSAGE_LIMITS = (1000, 500, 200, 80, 0)

_STATUS = {"passed": "pass", "failed": "fail", "timeout": "fail", "skipped": "fail"}
_ASSIGNMENT_STATUS = {"missing": "fail", "error": "error", "graded": "fail"}


def _test(
    name: str, status: str, score: float, message: str, file: str, seconds: float
) -> dict[str, Any]:
    return {
        "name": name,
        "status": status,
        "score": score,
        "message": message,
        "line_no": 0,
        "test_code": "",
        "filename": file,
        "execution_time": f"{seconds:.2f}s",
    }


def _message(report: Report, check: CheckResult, limit: int) -> str:
    full = check.message + (
        f" {views.say(report, 'report_hint')}: {check.hint}" if check.hint else ""
    )
    return text.truncate(text.inert(full), limit, views.template(report, "feedback_cut"))


def _check_test(
    report: Report, assignment: AssignmentResult, check: CheckResult, limit: int
) -> dict[str, Any]:
    name = f"{assignment.name}: {check.name} ({views.points(check.score, check.max_score)})"
    return _test(
        text.inert(name),
        _STATUS.get(check.status, "error"),
        check.score,
        _message(report, check, limit),
        assignment.file,
        check.duration_s,
    )


def _assignment_test(report: Report, assignment: AssignmentResult, limit: int) -> dict[str, Any]:
    """One test standing for an assignment that has no checks (missing file, broken checks)."""
    points = views.points(assignment.score, assignment.max_score)
    return _test(
        text.inert(f"{assignment.name}: {assignment.file} ({points})"),
        _ASSIGNMENT_STATUS[assignment.status],
        assignment.score,
        text.truncate(
            text.inert(assignment.message), limit, views.template(report, "feedback_cut")
        ),
        assignment.file,
        0.0,
    )


def _fold(tests: list[dict[str, Any]]) -> float:
    """The sum as the reporter computes it: left to right, in float, from 0."""
    total = 0.0
    for test in tests:
        total += test["score"]
    return total


def _settle_sum(tests: list[dict[str, Any]], total: float) -> None:
    """Make the reporter's sum of the scores equal `total` exactly, despite float rounding."""
    scored = [index for index, test in enumerate(tests) if test["score"]]
    if not scored or _fold(tests) == total:
        return
    last = scored[-1]
    candidate = total - _fold(tests[:last])
    for _ in range(4):
        tests[last]["score"] = candidate
        reached = _fold(tests)
        if reached == total:
            return
        candidate = math.nextafter(candidate, math.inf if reached < total else -math.inf)


def _status(report: Report, tests: list[dict[str, Any]]) -> str:
    if not report.complete or any(t["status"] == "error" for t in tests):
        return "error"
    if any(t["status"] == "fail" for t in tests):
        return "fail"
    return "pass"


def _build(report: Report, limit: int) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    for assignment in report.assignments:
        if assignment.checks:
            if assignment.message:  # a root cause said once (views.fold_root_causes)
                root = _assignment_test(report, assignment, limit)
                tests.append({**root, "score": 0.0})
            tests.extend(_check_test(report, assignment, c, limit) for c in assignment.checks)
        else:
            tests.append(_assignment_test(report, assignment, limit))
    _settle_sum(tests, report.score)
    return {
        "version": VERSION,
        "status": _status(report, tests),
        "max_score": report.max_score,
        "tests": tests,
    }


def encode(result: dict[str, Any]) -> str:
    """The result as the reporter decodes it: base64 of compact UTF-8 JSON, one line."""
    raw = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


def result(report: Report, student: bool = True) -> dict[str, Any]:
    """The runner result for `report`, with messages cut until it fits `MAX_ENCODED_BYTES`."""
    report = views.for_reader(report, student)
    for limit in MESSAGE_LIMITS:
        built = _build(report, limit)
        if len(encode(built)) <= MAX_ENCODED_BYTES:
            return built
    return built


def render_output(report: Report, student: bool = True) -> str:
    """The line appended to `$GITHUB_OUTPUT`: `result=<base64>` (base64 needs no heredoc)."""
    return f"{OUTPUT_NAME}={encode(result(report, student))}\n"


def render_summary(report: Report, student: bool = True) -> str:
    """The job summary appended to `$GITHUB_STEP_SUMMARY`: the Markdown report."""
    return markdown.render(report, student)
