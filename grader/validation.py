"""`grade reference`: prove the checks right before students ever see them.

The reference must earn full marks and the student template must earn zero, with no check in
status `error` (an error is the grader's fault, so it would mean a broken check).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from grader.engine import GradeOptions, grade
from grader.formats.terminal import one_line
from grader.report import Report
from grader.spec import AssignmentSpec

MISSING_FOLDER = "{what} folder not found at {path}; run from the repository root or pass {flag}"


class MissingFolder(Exception):
    """A folder the validation needs is not there."""


class Expectation(BaseModel):
    subject: str = Field(description="What was graded: 'reference', 'template', or a mutant.")
    assignment: str
    expected: str
    actual: str
    ok: bool
    detail: str = ""


class ValidationResult(BaseModel):
    ok: bool
    expectations: list[Expectation]
    reports: dict[str, Report] = Field(default_factory=dict, exclude=True)


def repository_folder(name: str) -> Path:
    """`name` in the working directory, else next to the grader package in a source checkout."""
    here = Path.cwd() / name
    if here.is_dir():
        return here
    import grader

    return Path(grader.__file__).resolve().parent.parent / name


def _resolve(path: Path | None, default: str, what: str, flag: str) -> Path:
    folder = path or repository_folder(default)
    if not folder.is_dir():
        raise MissingFolder(MISSING_FOLDER.format(what=what, path=folder, flag=flag))
    return folder.resolve()


def _no_errors(report: Report, assignment: str) -> list[str]:
    return [
        f"{c.id}: {c.message}" for c in report.assignment(assignment).checks if c.status == "error"
    ]


def check_reference(report: Report) -> list[Expectation]:
    rows = []
    for a in report.assignments:
        failing = [f"{c.id}: {c.message}" for c in a.checks if c.status != "passed"]
        ok = a.status == "graded" and a.score == a.max_score and not failing
        rows.append(
            Expectation(
                subject="reference",
                assignment=a.name,
                expected="full marks",
                actual=f"{a.score:g}/{a.max_score:g}",
                ok=ok,
                detail=a.message or "; ".join(failing),
            )
        )
    return rows


def check_template(report: Report) -> list[Expectation]:
    rows = []
    for a in report.assignments:
        errors = _no_errors(report, a.name)
        ok = a.status == "graded" and a.score == 0 and not errors
        rows.append(
            Expectation(
                subject="template",
                assignment=a.name,
                expected="0 points, no errors",
                actual=f"{a.score:g}/{a.max_score:g}",
                ok=ok,
                detail=a.message or "; ".join(errors),
            )
        )
    return rows


def validate(
    specs: list[AssignmentSpec],
    reference_dir: Path | None = None,
    template_dir: Path | None = None,
    timeout: float | None = None,
) -> ValidationResult:
    reference = _resolve(reference_dir, "reference", "reference", "--reference")
    template = _resolve(template_dir, "student_template", "student template", "--template")
    options = GradeOptions(timeout=timeout)
    reports = {
        "reference": grade(reference, specs, options),
        "template": grade(template, specs, options),
    }
    rows = check_reference(reports["reference"]) + check_template(reports["template"])
    return ValidationResult(ok=all(r.ok for r in rows), expectations=rows, reports=reports)


def render(result: ValidationResult, color: bool = False) -> str:
    def mark(ok: bool) -> str:
        text = "ok  " if ok else "FAIL"
        code = "32" if ok else "31"
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = [f"{'':4}  {'subject':<28} {'assignment':<16} {'expected':<22} actual"]
    for row in result.expectations:
        lines.append(
            f"{mark(row.ok)}  {row.subject:<28} {row.assignment:<16} "
            f"{row.expected:<22} {row.actual}"
        )
        if not row.ok and row.detail:
            lines.append(f"      {one_line(row.detail, 150)}")
    failed = sum(not r.ok for r in result.expectations)
    lines.append("")
    lines.append("all expectations hold" if result.ok else f"{failed} expectation(s) failed")
    return "\n".join(lines) + "\n"
