"""The clause matrix and the hint matrix of `grade reference`, through the CLI and the real engine.

A scratch exercise (`tests/submissions/clause_matrix`: `tiny.py`, `double(x)` returns 2·x) has
four clauses (one a `permits`), three checks, four mutants and one correct variant. Graded as it
is, every clause is proven; each way of breaking the proof then fails the run with its reason.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.spec import ASSIGNMENTS_ENV
from tests.conftest import SUBMISSIONS, run_cli

FIXTURE = SUBMISSIONS / "clause_matrix"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "fixture"
    shutil.copytree(FIXTURE, root)
    return root


def _validate(root: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, dict]:
    monkeypatch.setenv(ASSIGNMENTS_ENV, str(root / "assignments"))
    result = run_cli(
        "reference",
        "--reference",
        root / "reference",
        "--template",
        root / "template",
        "--variants-dir",
        root / "variants",
        "--jobs",
        "2",
        *extra,
    )
    return result.exit_code, json.loads(result.output) if "--json" in extra else result.output


def _rows(report: dict) -> dict[str, dict]:
    (matrix,) = report["clauses"]
    return {row["id"]: row for row in matrix["clauses"]}


def test_every_clause_proven_passes_and_prints_the_matrix(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    code, report = _validate(root, monkeypatch, "--json")
    assert code == 0, report
    assert report["ok"] is True and report["variants"] == 1 and report["hint_clashes"] == []
    rows = _rows(report)
    assert rows["returns-2x"]["checks"] == ["test_values"]
    mutants = {m["name"]: m for m in rows["returns-2x"]["mutants"]}
    assert mutants["negated"] == {
        "name": "negated",
        "caught": True,
        "hint": "wrong sign",
        "hint_shown": True,
    }
    assert mutants["halved"]["hint_shown"] is True
    # The near miss comes from the sandbox, with no code in the check: "a typo?"
    assert rows["defines-double"]["mutants"][0]["hint_shown"] is True
    assert rows["any-ops"]["kind"] == "permits" and rows["any-ops"]["variants"] == ["add_self"]
    assert all(row["ok"] for row in rows.values())

    code, table = _validate(root, monkeypatch)
    assert code == 0
    assert "clause matrix: tiny" in table
    assert "returns-2x" in table and "test_values  <-  mutants:" in table
    assert "halved (hint)" in table and "negated (hint)" in table
    assert "variants: add_self" in table
    assert "hint matrix: no known-mistake hint fired outside its own mistake" in table


def test_each_gap_in_the_proof_fails_the_run(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    exercise = root / "assignments" / "tiny"
    spec = exercise / "assignment.toml"
    spec.write_text(
        spec.read_text()
        + '\n[[clauses]]\nid = "no-mutant"\ntext = "A clause nobody breaks."\n'
        + '\n[[ambiguous]]\nmutants = ["negated", "negated_copy"]\nreason = "the same code"\n'
    )
    checks = exercise / "checks" / "test_tiny.py"
    checks.write_text(
        checks.read_text().replace('covers=["keeps-dtype"]', 'covers=["keeps-dtype", "nope"]')
    )
    mutants = exercise / "mutants"
    # The same mistake twice: declared ambiguous for negated, not for halved.
    shutil.copy(mutants / "negated.py", mutants / "negated_copy.py")
    shutil.copy(mutants / "halved.py", mutants / "halved_copy.py")
    (mutants / "unknown_clause.py").write_text(
        '"""Triples.\n\ncatches: values\nclauses: returns-3x\n"""\n\n'
        "def double(x):\n    return 3 * x\n"
    )
    # A variant that is not correct loses its 'permits' proof.
    variant = root / "variants" / "tiny" / "add_self" / "tiny.py"
    variant.write_text(variant.read_text().replace("x + x", "x + x + 1"))

    code, report = _validate(root, monkeypatch, "--json")
    assert code == 1
    (matrix,) = report["clauses"]
    assert matrix["ok"] is False
    assert "test_dtype covers unknown clause nope" in matrix["problems"]
    assert "mutant unknown_clause names unknown clause returns-3x" in matrix["problems"]
    rows = _rows(report)
    assert rows["no-mutant"]["problems"] == ["no check covers it", "no mutant declares it"]
    assert rows["any-ops"]["problems"] == ["no correct variant declares 'permits: any-ops'"]
    assert rows["returns-2x"]["ok"] is True
    clashes = {(c["mutant"], c["fired_on"]) for c in report["hint_clashes"]}
    assert clashes == {("halved", "mutant halved_copy"), ("halved_copy", "mutant halved")}
    variant_row = next(r for r in report["expectations"] if r["subject"] == "variant add_self")
    assert variant_row["ok"] is False


def test_an_exercise_without_clauses_fails(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    spec = root / "assignments" / "tiny" / "assignment.toml"
    spec.write_text(spec.read_text().split("[[clauses]]")[0])
    for checks in (root / "assignments" / "tiny" / "checks").glob("*.py"):
        text = checks.read_text()
        for clause in ("defines-double", "returns-2x", "keeps-dtype"):
            text = text.replace(f'covers=["{clause}"]', "covers=[]")
        checks.write_text(text)
    for mutant in (root / "assignments" / "tiny" / "mutants").glob("*.py"):
        mutant.write_text(
            "\n".join(ln for ln in mutant.read_text().splitlines() if "clauses:" not in ln)
        )
    code, report = _validate(root, monkeypatch, "--json", "--no-variants")
    assert code == 1
    (matrix,) = report["clauses"]
    assert "no clauses declared in assignment.toml" in matrix["problems"]
    assert "mutant negated declares no clause ('clauses:' line)" in matrix["problems"]


def test_grade_list_shows_the_clauses_and_their_checks(monkeypatch):
    monkeypatch.setenv(ASSIGNMENTS_ENV, str(FIXTURE / "assignments"))
    result = run_cli("list")
    assert result.exit_code == 0, result.output
    assert "  clauses (4):" in result.output
    assert "    returns-2x: `double(x)` returns `2 · x`." in result.output
    assert "      covered by: test_values" in result.output
    assert "    any-ops (permits): Any tensor operations" in result.output
