"""`grade reference`: prove the checks right, and sharp, before students ever see them.

Three kinds of submission are graded with the same engine as `grade submit`:

- `reference/` must earn full marks, with every check passed;
- `student_template/` must earn zero, every check failing cleanly with "not implemented yet"
  (no check in status `error`, which would be the grader's fault, and no traceback);
- every mutant (`grader.mutants`) is graded as the reference with the mutant in place of its
  assignment's file. It must lose points in each category it declares, show its declared hint,
  and leave the other assignments at full marks.

Speed. Each grading forks a sandbox zygote and a judge, so the run is a few dozen gradings.
Two things keep it short. The gradings run in a small pool of forked workers (`jobs`), after
this process has paid torch's first-use costs once, so every worker and every child inherits
them. And by default a mutant is graded on its own assignment only: the other assignments'
files are byte-identical to the reference, which this same run grades in full, and the engine
grades each assignment from its own file alone. That shortcut is only taken for a file that
never mentions the mutated module's name (`grader.mutants.mentions_module`); a file that does is
regraded. `full=True` (`grade reference --full`) regrades every assignment for every mutant
instead, which costs about twice as long and proves the independence empirically.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from grader import clause_matrix, mutants
from grader.engine import GradeOptions, grade
from grader.formats.terminal import one_line
from grader.messages import say
from grader.preload import prepare_torch
from grader.report import AssignmentResult, Report
from grader.spec import AssignmentSpec

MISSING_FOLDER = "{what} folder not found at {path}; run from the repository root or pass {flag}"


def _cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


DEFAULT_JOBS = max(1, min(_cpus(), 8))


class MissingFolder(Exception):
    """A folder the validation needs is not there."""


class Expectation(BaseModel):
    subject: str = Field(description="What was graded: 'reference', 'template', or a mutant.")
    assignment: str
    expected: str
    actual: str
    ok: bool
    detail: str = ""


class MutantOutcome(BaseModel):
    """What grading one mutant showed, against what its docstring declared."""

    assignment: str
    name: str
    file: str
    description: str
    catches: list[str] = Field(description="Categories that must lose points (declared).")
    lost: list[str] = Field(description="Categories that did lose points.")
    hint: str = Field("", description="Text declared to appear in a failed check's feedback.")
    hint_found: bool | None = Field(None, description="None when no hint is declared.")
    score: float
    max_score: float
    errors: list[str] = Field(default_factory=list, description="Checks in status 'error'.")
    others: dict[str, str] = Field(
        default_factory=dict,
        description="Every other assignment: 'full marks' when regraded with this mutant, "
        "'identical to the reference' when it was not, or what went wrong.",
    )
    ok: bool
    problems: list[str] = Field(default_factory=list)


class ValidationResult(BaseModel):
    ok: bool
    expectations: list[Expectation]
    mutants: list[MutantOutcome] = Field(default_factory=list)
    clauses: list[clause_matrix.AssignmentMatrix] = Field(
        default_factory=list, description="Per exercise: clause -> checks -> caught mutants."
    )
    hint_clashes: list[clause_matrix.HintClash] = Field(
        default_factory=list, description="Known-mistake hints that fired outside their mistake."
    )
    variants: int = Field(0, description="Correct variants graded.")
    full: bool = Field(False, description="Whether every assignment was regraded per mutant.")
    gradings: int = 0
    duration_s: float = 0.0
    reports: dict[str, Report] = Field(default_factory=dict, exclude=True)


@dataclass(frozen=True)
class _Job:
    key: str
    folder: Path
    specs: tuple[AssignmentSpec, ...]
    timeout: float | None


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


def _errors(assignment: AssignmentResult) -> list[str]:
    return [f"{c.id}: {c.message}" for c in assignment.checks if c.status == "error"]


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
    """Zero points, no grader error, and every message says "not implemented yet"."""
    phrase = say("not_implemented", call="", where="").strip()
    rows = []
    for a in report.assignments:
        problems = _errors(a)
        problems += [
            f"{c.id}: {c.message}"
            for c in a.checks
            if c.status != "error" and (phrase not in c.message or "Traceback" in c.message)
        ]
        ok = a.status == "graded" and a.score == 0 and not problems
        rows.append(
            Expectation(
                subject="template",
                assignment=a.name,
                expected=f"0 points, '{phrase}'",
                actual=f"{a.score:g}/{a.max_score:g}",
                ok=ok,
                detail=a.message or "; ".join(problems),
            )
        )
    return rows


def lost_categories(assignment: AssignmentResult) -> list[str]:
    """The categories in which `assignment` scored below the maximum, in check order."""
    lost: dict[str, None] = {}
    for check in assignment.checks:
        if check.score < check.max_score:
            lost[check.category] = None
    return list(lost)


def judge_mutant(
    mutant: mutants.Mutant,
    report: Report,
    reference: Report,
    regraded: Iterable[str],
) -> MutantOutcome:
    """Compare a mutant's grading with its declaration; `reference` vouches for the others."""
    own = report.assignment(mutant.assignment)
    lost = lost_categories(own)
    problems = []
    if own.status != "graded":
        problems.append(f"not graded ({own.status}): {own.message}")
    missed = [c for c in mutant.catches if c not in lost]
    if missed:
        problems.append(f"no points lost in {', '.join(missed)}")
    errors = _errors(own)
    if errors:
        problems.append("check errors: " + "; ".join(errors))
    problems += clause_matrix.mutant_clause_problems(mutant, own)
    hint_found = None
    if mutant.hint:
        feedback = [f"{c.message}\n{c.hint}" for c in own.checks if c.status != "passed"]
        hint_found = mutants.feedback_contains(mutant.hint, feedback)
        if not hint_found:
            shown = "; ".join(one_line(c.hint, 80) for c in own.checks if c.hint) or "none"
            problems.append(f"hint '{mutant.hint}' not in the feedback (hints given: {shown})")
    others: dict[str, str] = {}
    regraded = set(regraded)
    for other in reference.assignments:
        if other.name == mutant.assignment:
            continue
        if other.name in regraded:
            result = report.assignment(other.name)
            full = result.status == "graded" and result.score == result.max_score
            others[other.name] = (
                "full marks" if full else f"{result.score:g}/{result.max_score:g} ({result.status})"
            )
        else:
            full = other.status == "graded" and other.score == other.max_score
            others[other.name] = (
                "identical to the reference" if full else "unverified: the reference fails"
            )
        if not full:
            problems.append(f"{other.name}: {others[other.name]}")
    return MutantOutcome(
        assignment=mutant.assignment,
        name=mutant.name,
        file=str(mutant.path),
        description=mutant.description,
        catches=list(mutant.catches),
        lost=lost,
        hint=mutant.hint,
        hint_found=hint_found,
        score=own.score,
        max_score=own.max_score,
        errors=errors,
        others=others,
        ok=not problems,
        problems=problems,
    )


def _mutant_row(outcome: MutantOutcome) -> Expectation:
    expected = "loses " + ", ".join(outcome.catches) + (" + hint" if outcome.hint else "")
    actual = (", ".join(outcome.lost) or "nothing") + f"; {outcome.score:g}/{outcome.max_score:g}"
    if outcome.hint_found is not None:
        actual += ", hint" if outcome.hint_found else ", no hint"
    return Expectation(
        subject=f"mutant {outcome.name}",
        assignment=outcome.assignment,
        expected=expected,
        actual=actual,
        ok=outcome.ok,
        detail="; ".join(outcome.problems),
    )


def _grade_job(job: _Job) -> Report:
    return grade(job.folder, list(job.specs), GradeOptions(timeout=job.timeout))


def warm_up() -> None:
    """Pay torch's first-use costs here, once, so every forked worker and child inherits them."""
    from grader import preload

    prepare_torch()
    preload.warm()


def run_jobs(jobs: list[_Job], workers: int) -> list[Report]:
    """Grade every job, in order, with up to `workers` forked worker processes."""
    warm_up()
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return [_grade_job(job) for job in jobs]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return pool.map(_grade_job, jobs, chunksize=1)


def _mutant_submission(
    mutant: mutants.Mutant, spec: AssignmentSpec, specs: list[AssignmentSpec], reference: Path
) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"torchgrade-mutant-{mutant.name}-"))
    for other in specs:
        source = reference / other.student_file
        if source.is_file():
            shutil.copyfile(source, folder / other.student_file)
    shutil.copyfile(mutant.path, folder / spec.student_file)
    return folder


def _regraded(
    spec: AssignmentSpec, specs: list[AssignmentSpec], reference: Path, full: bool
) -> tuple[AssignmentSpec, ...]:
    """The assignments to grade with a mutant of `spec`: its own, plus any that could see it."""
    chosen = []
    for other in specs:
        path = reference / other.student_file
        if (
            other.name == spec.name
            or full
            or not path.is_file()
            or mutants.mentions_module(path.read_text(errors="replace"), spec.module_name)
        ):
            chosen.append(other)
    return tuple(chosen)


def default_variants_dir() -> Path | None:
    """tests/submissions/variants in the checkout, or None (a wheel has no tests/ folder)."""
    folder = repository_folder(str(clause_matrix.VARIANTS_FOLDER))
    return folder if folder.is_dir() else None


def check_variant(variant: clause_matrix.Variant, report: Report) -> Expectation:
    """A correct variant: full marks, every check passed, and no hint anywhere."""
    result = report.assignment(variant.assignment)
    failing = [f"{c.id}: {c.message}" for c in result.checks if c.status != "passed"]
    hinted = [f"{c.id}: hint '{c.hint}'" for c in result.checks if c.hint]
    ok = result.status == "graded" and result.score == result.max_score and not failing
    return Expectation(
        subject=f"variant {variant.name}",
        assignment=variant.assignment,
        expected="full marks",
        actual=f"{result.score:g}/{result.max_score:g}",
        ok=ok and not hinted,
        detail=result.message or "; ".join(failing + hinted),
    )


def validate(
    specs: list[AssignmentSpec],
    reference_dir: Path | None = None,
    template_dir: Path | None = None,
    timeout: float | None = None,
    *,
    with_mutants: bool = True,
    full: bool = False,
    jobs: int = DEFAULT_JOBS,
    variants_dir: Path | None = None,
    with_variants: bool = True,
) -> ValidationResult:
    """Grade the reference, the template, every mutant and every correct variant; check the
    expectations, the clause matrix and the hint matrix.

    Variants come from `variants_dir` (default: tests/submissions/variants when it exists).
    Raises `MissingFolder` for a missing reference or template folder and
    `grader.mutants.MutantError` for a malformed mutant, before anything is graded.
    """
    started = time.monotonic()
    reference = _resolve(reference_dir, "reference", "reference", "--reference")
    template = _resolve(template_dir, "student_template", "student template", "--template")
    found = [m for spec in specs for m in mutants.discover(spec)] if with_mutants else []
    variants = (
        clause_matrix.discover_variants(variants_dir or default_variants_dir(), specs)
        if with_variants
        else []
    )
    by_name = {s.name: s for s in specs}
    work = [
        _Job("reference", reference, tuple(specs), timeout),
        _Job("template", template, tuple(specs), timeout),
    ]
    for variant in variants:
        work.append(
            _Job(
                f"variant {variant.assignment}/{variant.name}",
                variant.folder,
                (by_name[variant.assignment],),
                timeout,
            )
        )
    first_mutant = len(work)
    scratch: list[Path] = []
    try:
        for mutant in found:
            spec = by_name[mutant.assignment]
            folder = _mutant_submission(mutant, spec, specs, reference)
            scratch.append(folder)
            work.append(
                _Job(
                    f"{mutant.assignment}/{mutant.name}",
                    folder,
                    _regraded(spec, specs, reference, full),
                    timeout,
                )
            )
        reports = dict(zip((j.key for j in work), run_jobs(work, jobs), strict=True))
    finally:
        for folder in scratch:
            shutil.rmtree(folder, ignore_errors=True)
    rows = check_reference(reports["reference"]) + check_template(reports["template"])
    variant_ok: dict[str, dict[str, bool]] = {s.name: {} for s in specs}
    for variant in variants:
        row = check_variant(variant, reports[f"variant {variant.assignment}/{variant.name}"])
        variant_ok[variant.assignment][variant.name] = row.ok
        rows.append(row)
    outcomes = []
    for mutant, job in zip(found, work[first_mutant:], strict=True):
        outcome = judge_mutant(
            mutant, reports[job.key], reports["reference"], (s.name for s in job.specs)
        )
        outcomes.append(outcome)
        rows.append(_mutant_row(outcome))
    matrices, clashes = _matrices(specs, reports, found, variants, variant_ok, with_mutants)
    return ValidationResult(
        ok=all(r.ok for r in rows) and all(m.ok for m in matrices) and not clashes,
        expectations=rows,
        mutants=outcomes,
        clauses=matrices,
        hint_clashes=clashes,
        variants=len(variants),
        full=full,
        gradings=len(work),
        duration_s=round(time.monotonic() - started, 2),
        reports=reports,
    )


def _matrices(
    specs: list[AssignmentSpec],
    reports: dict[str, Report],
    found: list[mutants.Mutant],
    variants: list[clause_matrix.Variant],
    variant_ok: dict[str, dict[str, bool]],
    with_mutants: bool,
) -> tuple[list[clause_matrix.AssignmentMatrix], list[clause_matrix.HintClash]]:
    """The clause matrix of every exercise, and the hint clashes across all of them."""
    reference = reports["reference"]
    matrices, clashes = [], []
    for spec in specs:
        mine = [m for m in found if m.assignment == spec.name]
        graded = {m.name: reports[f"{spec.name}/{m.name}"] for m in mine}
        own_variants = [v for v in variants if v.assignment == spec.name]
        variant_reports = {v.name: reports[f"variant {spec.name}/{v.name}"] for v in own_variants}
        try:
            own_reference: AssignmentResult | None = reference.assignment(spec.name)
        except KeyError:
            own_reference = None
        matrix = clause_matrix.assignment_matrix(
            spec,
            own_reference,
            mine,
            {name: r.assignment(spec.name) for name, r in graded.items()},
            own_variants,
            variant_ok[spec.name],
            with_mutants,
        )
        extra = clause_matrix.ambiguity_problems(spec, mine) if with_mutants else []
        if extra:
            matrix.problems += extra
            matrix.ok = False
        matrices.append(matrix)
        subjects = clause_matrix.subjects_for(spec.name, reference, graded, variant_reports)
        clashes += clause_matrix.hint_clashes(spec, mine, subjects)
    return matrices, clashes


def render(result: ValidationResult, color: bool = False) -> str:
    def mark(ok: bool) -> str:
        text = "ok  " if ok else "FAIL"
        code = "32" if ok else "31"
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    rows = result.expectations
    subject_w = max([len("subject"), *(len(r.subject) for r in rows)])
    assignment_w = max([len("assignment"), *(len(r.assignment) for r in rows)])
    expected_w = max([len("expected"), *(len(r.expected) for r in rows)])
    lines = [
        f"{'':4}  {'subject':<{subject_w}}  {'assignment':<{assignment_w}}  "
        f"{'expected':<{expected_w}}  actual"
    ]
    for row in rows:
        lines.append(
            f"{mark(row.ok)}  {row.subject:<{subject_w}}  {row.assignment:<{assignment_w}}  "
            f"{row.expected:<{expected_w}}  {row.actual}"
        )
        if not row.ok and row.detail:
            lines.append(f"      {one_line(row.detail, 150)}")
    failed = sum(not r.ok for r in rows)
    failed += sum(not m.ok for m in result.clauses) + len(result.hint_clashes)
    lines.append(clause_matrix.render(result.clauses, result.hint_clashes, color).rstrip("\n"))
    lines.append("")
    summary = f"{result.gradings} gradings"
    if result.mutants:
        mode = "every assignment regraded" if result.full else "each on its own assignment"
        summary += f" ({len(result.mutants)} mutants, {mode})"
    if result.variants:
        summary += f", {result.variants} correct variants"
    lines.append(f"{summary} in {result.duration_s:g} s")
    lines.append("all expectations hold" if result.ok else f"{failed} expectation(s) failed")
    return "\n".join(lines) + "\n"
