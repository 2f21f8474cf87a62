"""Shared fixtures: grade fixture submissions through the real CLI, once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
REFERENCE = ROOT / "reference"
TEMPLATE = ROOT / "student_template"


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class Graded:
    """One graded submission: the CLI result and the report.json it wrote."""

    def __init__(self, result: Result, out: Path) -> None:
        self.result = result
        self.out = out
        self.report: dict[str, Any] = json.loads((out / "report.json").read_text())

    def check(self, check_id: str) -> dict[str, Any]:
        for assignment in self.report["assignments"]:
            for check in assignment["checks"]:
                if check["id"] == check_id:
                    return check
        raise KeyError(check_id)

    def assignment(self, name: str) -> dict[str, Any]:
        return next(a for a in self.report["assignments"] if a["name"] == name)

    def not_passed(self) -> set[str]:
        return {
            c["id"]
            for a in self.report["assignments"]
            for c in a["checks"]
            if c["status"] != "passed"
        }


@pytest.fixture(scope="session")
def grade_folder(tmp_path_factory: pytest.TempPathFactory):
    """grade_folder(path, *args): grade through the CLI; cached per (path, args)."""
    cache: dict[tuple[str, ...], Graded] = {}

    def grade(folder: Path, *args: str) -> Graded:
        key = (str(folder), *args)
        if key not in cache:
            out = tmp_path_factory.mktemp("report")
            result = run_cli("submit", folder, "--out", out, *args)
            assert result.exit_code == 0, result.output
            cache[key] = Graded(result, out)
        return cache[key]

    return grade


@pytest.fixture(scope="session")
def validation() -> dict:
    """`grade reference --json`, once per session: the reference, the template, their
    notebooks, every correct variant and every shipped mutant, through the real engine."""
    result = run_cli("reference", "--json")
    # Exit 1 means an expectation failed: the tests that read its row say which, one by one.
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def variant_rows(validation: dict, exercise: str) -> dict[str, dict]:
    """The validation's row for each correct variant of `exercise`, by folder name."""
    prefix = "variant "
    return {
        row["subject"][len(prefix) :]: row
        for row in validation["expectations"]
        if row["subject"].startswith(prefix) and row["assignment"] == exercise
    }
