"""`grade reference`: the reference, the template and every shipped mutant, through the CLI.

The full validation runs once per session (`validation` fixture, about 40 gradings on a pool
of workers); the failure paths run on a scratch assignments folder with a few mutants.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader import mutants
from grader.environment import environment
from grader.report import AssignmentResult, CheckResult, Report, Submission
from grader.spec import ASSIGNMENTS_ENV, MUTANTS_DIR, discover
from grader.validation import ValidationResult, judge_mutant, lost_categories, render
from tests.conftest import ROOT, run_cli


def test_reference_full_marks_and_template_zero_for_every_assignment(validation):
    assert validation["ok"] is True
    rows = {(r["subject"], r["assignment"]): r for r in validation["expectations"]}
    for spec in discover():
        full = f"{spec.points:g}/{spec.points:g}"
        assert rows[("reference", spec.name)]["actual"] == full
        assert rows[("template", spec.name)]["actual"] == f"0/{spec.points:g}"
        assert rows[("reference notebook", spec.name)]["actual"] == full
        assert rows[("template notebook", spec.name)]["actual"] == f"0/{spec.points:g}"


def test_every_shipped_mutant_is_graded_and_caught(validation):
    shipped = {(m.assignment, m.name) for spec in discover() for m in mutants.discover(spec)}
    graded = {(m["assignment"], m["name"]) for m in validation["mutants"]}
    assert graded == shipped
    # the reference, the template, their notebooks, each correct variant, one grading per mutant
    assert validation["gradings"] == 4 + validation["variants"] + len(shipped)
    for mutant in validation["mutants"]:
        assert mutant["ok"], mutant
        assert set(mutant["catches"]) <= set(mutant["lost"])
        assert mutant["score"] < mutant["max_score"]
        assert mutant["errors"] == []


def test_every_shipped_mutant_gets_its_hint(validation):
    """Each shipped mutant is a common mistake, so each declares a hint, and the hint appears."""
    for mutant in validation["mutants"]:
        assert mutant["hint"], mutant["name"]
        assert mutant["hint_found"] is True, (mutant["name"], mutant["problems"])


def test_shipped_declarations_are_exact(validation):
    """Project policy for the shipped mutants: `catches:` lists every category that loses."""
    for mutant in validation["mutants"]:
        assert sorted(mutant["catches"]) == sorted(mutant["lost"]), mutant["name"]


def test_other_assignments_are_vouched_for_by_the_reference(validation):
    names = {spec.name for spec in discover()}
    for mutant in validation["mutants"]:
        assert set(mutant["others"]) == names - {mutant["assignment"]}
        assert set(mutant["others"].values()) == {"identical to the reference"}


def _scratch_assignments(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "assignments"
    for name in names:
        shutil.copytree(
            ROOT / "assignments" / name,
            root / name,
            ignore=shutil.ignore_patterns(MUTANTS_DIR, "__pycache__"),
        )
        (root / name / MUTANTS_DIR).mkdir()
    return root


def test_a_mutant_that_is_not_caught_fails_the_run(tmp_path, monkeypatch):
    """A fake mutant (the reference itself) declaring a category, and a wrong hint, fail; a real
    mutant passes; with --full every other assignment is regraded and keeps full marks."""
    root = _scratch_assignments(tmp_path, ["my_linear", "my_sgd"])
    reference = (ROOT / "reference" / "my_linear.py").read_text()
    (root / "my_linear" / MUTANTS_DIR / "not_a_mistake.py").write_text(
        '"""The reference itself, claiming to be caught.\n\ncatches: gradients\n"""\n' + reference
    )
    real = ROOT / "assignments" / "my_linear" / MUTANTS_DIR / "bias_ignored_in_forward.py"
    (root / "my_linear" / MUTANTS_DIR / "wrong_hint.py").write_text(
        real.read_text().replace("hint: Is the bias added in forward", "hint: no such hint text")
    )
    shutil.copy(
        ROOT / "assignments" / "my_sgd" / MUTANTS_DIR / "ignores_momentum.py",
        root / "my_sgd" / MUTANTS_DIR,
    )
    monkeypatch.setenv(ASSIGNMENTS_ENV, str(root))
    result = run_cli("reference", "--full", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False and report["full"] is True
    by_name = {m["name"]: m for m in report["mutants"]}
    assert by_name["not_a_mistake"]["ok"] is False
    assert by_name["not_a_mistake"]["lost"] == []
    assert "no points lost in gradients" in by_name["not_a_mistake"]["problems"]
    assert by_name["wrong_hint"]["ok"] is False
    assert by_name["wrong_hint"]["hint_found"] is False
    assert by_name["ignores_momentum"]["ok"] is True
    assert by_name["ignores_momentum"]["others"] == {"my_linear": "full marks"}
    assert by_name["wrong_hint"]["others"] == {"my_sgd": "full marks"}

    table = render(ValidationResult.model_validate(report))
    assert "FAIL  mutant not_a_mistake" in table and "ok    mutant ignores_momentum" in table
    assert "no points lost in gradients" in table
    assert table.rstrip().splitlines()[-1].startswith("2 expectation(s) failed")


def test_a_malformed_mutant_is_reported_by_file(tmp_path, monkeypatch):
    root = _scratch_assignments(tmp_path, ["my_sgd"])
    bad = root / "my_sgd" / MUTANTS_DIR / "bad.py"
    bad.write_text('"""A mistake.\n\ncatches: speed\n"""\n')
    monkeypatch.setenv(ASSIGNMENTS_ENV, str(root))
    result = run_cli("reference")
    assert result.exit_code == 1
    assert f"{bad}: unknown category speed" in result.output
    assert "Traceback" not in result.output


def _report(assignment: str, checks: list[tuple[str, str, float, float]], others=()) -> Report:
    """A Report with one graded assignment (and full-marks `others`), for the pure judge."""
    results = [
        AssignmentResult(
            name=assignment,
            title=assignment,
            file=f"{assignment}.py",
            status="graded",
            score=sum(score for _, _, score, _ in checks),
            max_score=sum(points for *_, points in checks),
            checks=[
                CheckResult(
                    id=f"{assignment}::{name}",
                    name=name,
                    category=category,
                    status="passed" if score == points else "failed",
                    score=score,
                    max_score=points,
                    message="" if score == points else f"{name} failed",
                    hint="" if score == points else "Are the Weights (out, in)?",
                )
                for name, category, score, points in checks
            ],
        )
    ]
    for name, score in others:
        results.append(
            AssignmentResult(
                name=name, title=name, file=f"{name}.py", status="graded", score=score, max_score=10
            )
        )
    return Report(submission=Submission(path="x"), environment=environment(), assignments=results)


def test_judging_a_mutant_is_a_pure_function_of_the_reports():
    mutant = mutants.Mutant("a", "m", Path("m.py"), "A mistake.", ("shapes",), "are the weights")
    report = _report("a", [("t1", "api", 1, 1), ("t2", "shapes", 0, 1), ("t3", "values", 0, 2)])
    reference = _report("a", [("t1", "api", 1, 1)], others=[("b", 10), ("c", 7)])
    assert lost_categories(report.assignment("a")) == ["shapes", "values"]
    outcome = judge_mutant(mutant, report, reference, regraded=["a"])
    assert outcome.hint_found is True
    assert outcome.others == {
        "b": "identical to the reference",
        "c": "unverified: the reference fails",
    }
    assert outcome.ok is False and outcome.problems == ["c: unverified: the reference fails"]

    regraded = _report("a", [("t2", "shapes", 0, 1)], others=[("b", 9)])
    outcome = judge_mutant(mutant, regraded, _report("a", [], others=[("b", 10)]), ["a", "b"])
    assert outcome.others == {"b": "9/10 (graded)"} and not outcome.ok
