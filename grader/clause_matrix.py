"""The clause matrix and the hint matrix of `grade reference`: proof that every clause is enforced
and that every known-mistake hint is unambiguous.

Clause matrix. For every exercise, each clause of its contract (`[[clauses]]`) lists

- the checks that cover it (`@check(covers=[...])`, as they travel in the reference's report),
- the mutants that declare it (`clauses:` in the docstring), and for each whether a check that
  covers the clause lost points on it ("caught") and showed the mutant's hint there.

A `requires` clause holds when some check covers it and some mutant declaring it is caught with
its hint. A `permits` clause (a freedom, not a rule) holds when a correct variant declares that
it uses it (`permits: <id>` in its docstring) and gets full marks. An exercise fails when it
declares no clause at all, when `covers=` or a mutant names an unknown clause, or when a mutant
declares no clause.

Hint matrix. A mutant's hint is the feedback for one known mistake. It must not appear in the
feedback of the reference, of a correct variant, or of another mutant of the same exercise,
unless the two mutants are declared indistinguishable (`[[ambiguous]]` in assignment.toml).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from grader import mutants
from grader.report import AssignmentResult, CheckResult, Report
from grader.spec import AssignmentSpec

VARIANTS_FOLDER = Path("tests") / "submissions" / "variants"


class MutantCoverage(BaseModel):
    name: str
    caught: bool = Field(description="A check covering the clause lost points.")
    hint: str = ""
    hint_shown: bool = Field(False, description="The hint appeared in such a check's feedback.")


class ClauseRow(BaseModel):
    id: str
    kind: str
    text: str
    checks: list[str] = Field(default_factory=list, description="Covering checks (function names).")
    mutants: list[MutantCoverage] = Field(default_factory=list)
    variants: list[str] = Field(default_factory=list, description="Variants using a 'permits'.")
    ok: bool
    problems: list[str] = Field(default_factory=list)


class AssignmentMatrix(BaseModel):
    assignment: str
    clauses: list[ClauseRow] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="Problems of the exercise.")
    ok: bool


class HintClash(BaseModel):
    """A known-mistake hint that fired where its mistake is not."""

    assignment: str
    mutant: str = Field(description="The mutant whose hint it is.")
    hint: str
    fired_on: str = Field(description="'reference', 'variant <name>' or 'mutant <name>'.")
    check: str = Field(description="The check whose feedback showed it.")


@dataclass(frozen=True)
class Variant:
    """A correct solution in another style: `variants/<assignment>/<name>/<student file>`."""

    assignment: str
    name: str
    folder: Path
    permits: tuple[str, ...] = ()


def _docstring_field(path: Path, field: str) -> tuple[str, ...]:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ()
    for line in doc.splitlines():
        key, _, value = line.strip().partition(":")
        if key == field and value.strip():
            return tuple(v.strip() for v in value.split(",") if v.strip())
    return ()


def discover_variants(root: Path | None, specs: Iterable[AssignmentSpec]) -> list[Variant]:
    """The variant folders under `root` for these exercises; none when `root` is absent."""
    if root is None or not root.is_dir():
        return []
    found = []
    for spec in specs:
        base = root / spec.name
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            student = folder / spec.student_file
            if student.is_file():
                permits = _docstring_field(student, "permits")
                found.append(Variant(spec.name, folder.name, folder, permits))
    return found


def _short(check_id: str) -> str:
    return check_id.split("::", 1)[-1]


def _lost(check: CheckResult) -> bool:
    return check.score < check.max_score


def _feedback(check: CheckResult) -> str:
    return f"{check.message}\n{check.hint}"


def _coverage(
    mutant: mutants.Mutant, clause: str, result: AssignmentResult | None
) -> MutantCoverage:
    caught = shown = False
    if result is not None:
        covering = [c for c in result.checks if clause in c.clauses and _lost(c)]
        caught = bool(covering)
        shown = bool(mutant.hint) and mutants.feedback_contains(
            mutant.hint, [_feedback(c) for c in covering]
        )
    return MutantCoverage(name=mutant.name, caught=caught, hint=mutant.hint, hint_shown=shown)


def assignment_matrix(
    spec: AssignmentSpec,
    reference: AssignmentResult | None,
    found: list[mutants.Mutant],
    graded: Mapping[str, AssignmentResult],
    variants: list[Variant],
    variant_ok: Mapping[str, bool],
    with_mutants: bool = True,
) -> AssignmentMatrix:
    """One exercise's matrix. `graded` maps a mutant's name to its assignment's result;
    `variant_ok` a variant's name to whether it got full marks."""
    problems: list[str] = []
    ids = {c.id for c in spec.clauses}
    checks = reference.checks if reference is not None else []
    if not spec.clauses:
        problems.append("no clauses declared in assignment.toml")
    for check in checks:
        unknown = [c for c in check.clauses if c not in ids]
        if unknown:
            problems.append(f"{_short(check.id)} covers unknown clause {', '.join(unknown)}")
    mine = [m for m in found if m.assignment == spec.name]
    for mutant in mine:
        if not mutant.clauses:
            problems.append(f"mutant {mutant.name} declares no clause ('clauses:' line)")
        unknown = [c for c in mutant.clauses if c not in ids]
        if unknown:
            problems.append(f"mutant {mutant.name} names unknown clause {', '.join(unknown)}")
    for variant in variants:
        unknown = [c for c in variant.permits if c not in ids]
        if unknown:
            problems.append(f"variant {variant.name} names unknown clause {', '.join(unknown)}")
    rows = []
    for clause in spec.clauses:
        covering = [_short(c.id) for c in checks if clause.id in c.clauses]
        coverage = [
            _coverage(m, clause.id, graded.get(m.name)) for m in mine if clause.id in m.clauses
        ]
        users = [v.name for v in variants if clause.id in v.permits]
        issues = []
        if clause.kind == "permits":
            if not any(variant_ok.get(name) for name in users):
                issues.append("no correct variant declares 'permits: " + clause.id + "'")
        else:
            if not covering:
                issues.append("no check covers it")
            if with_mutants and not any(m.caught and m.hint_shown for m in coverage):
                if not coverage:
                    issues.append("no mutant declares it")
                elif not any(m.caught for m in coverage):
                    issues.append("no mutant declaring it was caught by a check covering it")
                else:
                    issues.append("no mutant declaring it showed its hint in a covering check")
        rows.append(
            ClauseRow(
                id=clause.id,
                kind=clause.kind,
                text=clause.text,
                checks=covering,
                mutants=coverage,
                variants=users,
                ok=not issues,
                problems=issues,
            )
        )
    return AssignmentMatrix(
        assignment=spec.name,
        clauses=rows,
        problems=problems,
        ok=not problems and all(r.ok for r in rows),
    )


def mutant_clause_problems(mutant: mutants.Mutant, result: AssignmentResult) -> list[str]:
    """Each clause a mutant declares must be caught by a failing check that covers it."""
    return [
        f"breaks clause {clause}, but no check covering it lost points"
        for clause in mutant.clauses
        if not any(clause in c.clauses and _lost(c) for c in result.checks)
    ]


def hint_clashes(
    spec: AssignmentSpec,
    found: list[mutants.Mutant],
    subjects: Mapping[str, AssignmentResult],
) -> list[HintClash]:
    """Where a mutant's hint fired outside its own mistake. `subjects` maps 'reference',
    'variant <name>' and 'mutant <name>' to the exercise's result for that submission."""
    clashes = []
    for mutant in (m for m in found if m.assignment == spec.name and m.hint):
        allowed = {f"mutant {mutant.name}"} | {
            f"mutant {other}" for other in spec.ambiguous_with(mutant.name)
        }
        for subject, result in subjects.items():
            if subject in allowed:
                continue
            for check in result.checks:
                if mutants.feedback_contains(mutant.hint, [_feedback(check)]):
                    clashes.append(
                        HintClash(
                            assignment=spec.name,
                            mutant=mutant.name,
                            hint=mutant.hint,
                            fired_on=subject,
                            check=_short(check.id),
                        )
                    )
                    break
    return clashes


def ambiguity_problems(spec: AssignmentSpec, found: list[mutants.Mutant]) -> list[str]:
    names = {m.name for m in found if m.assignment == spec.name}
    return [
        f"[[ambiguous]] names unknown mutant {name}"
        for group in spec.ambiguous
        for name in group.mutants
        if name not in names
    ]


def _state(coverage: MutantCoverage) -> str:
    if coverage.hint_shown:
        return "hint"
    return "caught, no hint" if coverage.caught else "missed"


def render(matrices: list[AssignmentMatrix], clashes: list[HintClash], color: bool) -> str:
    """The matrices as plain text (one block per exercise), then the hint matrix."""

    def mark(ok: bool) -> str:
        text = "ok  " if ok else "FAIL"
        return f"\x1b[{'32' if ok else '31'}m{text}\x1b[0m" if color else text

    lines = []
    for matrix in matrices:
        lines.append("")
        lines.append(f"clause matrix: {matrix.assignment}")
        width = max([len(r.id) for r in matrix.clauses] + [6])
        for row in matrix.clauses:
            checks = ", ".join(row.checks) or "no check"
            if row.kind == "permits":
                proof = "variants: " + (", ".join(row.variants) or "none")
            else:
                shown = [
                    m.name
                    + (" (hint)" if m.hint_shown else " (caught)" if m.caught else " (missed)")
                    for m in row.mutants
                ]
                proof = "mutants: " + (", ".join(shown) or "none")
            lines.append(f"{mark(row.ok)}  {row.id:<{width}}  {checks}  <-  {proof}")
            for problem in row.problems:
                lines.append(f"      {problem}")
        for problem in matrix.problems:
            lines.append(f"{mark(False)}  {problem}")
    lines.append("")
    if clashes:
        lines.append(f"hint matrix: {len(clashes)} hint(s) fired outside their mistake")
        for clash in clashes:
            lines.append(
                f"{mark(False)}  {clash.assignment}: hint of {clash.mutant} ('{clash.hint}') "
                f"fired on {clash.fired_on} in {clash.check}"
            )
    else:
        lines.append("hint matrix: no known-mistake hint fired outside its own mistake")
    return "\n".join(lines) + "\n"


def subjects_for(
    name: str,
    reference: Report,
    mutant_reports: Mapping[str, Report],
    variant_reports: Mapping[str, Report],
) -> dict[str, AssignmentResult]:
    """The exercise `name`'s result in every graded submission, keyed as `hint_clashes` wants."""
    subjects = {"reference": reference.assignment(name)}
    for key, report in variant_reports.items():
        subjects[f"variant {key}"] = report.assignment(name)
    for key, report in mutant_reports.items():
        subjects[f"mutant {key}"] = report.assignment(name)
    return subjects
