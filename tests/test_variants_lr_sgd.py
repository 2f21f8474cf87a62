"""Correct variants of scratch_lr and my_sgd, each in a different style, score full marks.

Each folder under tests/submissions/variants/<exercise>/ holds one student file written the way
another student might: other tensor operations, in-place or rebinding updates, an Optimizer
subclass, buffers in a dict, p.data, .to(device), type hints and helpers. Equivalent code is
correct code: every check of that exercise must pass, through the real CLI.
"""

from __future__ import annotations

import pytest

from tests.conftest import SUBMISSIONS

VARIANTS = SUBMISSIONS / "variants"
EXERCISES = ("scratch_lr", "my_sgd")
CASES = sorted(
    (exercise, folder.name)
    for exercise in EXERCISES
    for folder in (VARIANTS / exercise).iterdir()
    if folder.is_dir()
)


def test_each_exercise_has_at_least_eight_variants():
    for exercise in EXERCISES:
        assert sum(1 for e, _ in CASES if e == exercise) >= 8, exercise


@pytest.mark.parametrize(("exercise", "name"), CASES, ids=[f"{e}/{n}" for e, n in CASES])
def test_variant_scores_full_marks(grade_folder, exercise: str, name: str) -> None:
    graded = grade_folder(VARIANTS / exercise / name, "--assignment", exercise)
    assignment = graded.assignment(exercise)
    failing = {
        c["id"]: f"{c['message']} | {c['hint']}"
        for c in assignment["checks"]
        if c["status"] != "passed"
    }
    assert failing == {}
    assert assignment["status"] == "graded"
    assert assignment["score"] == assignment["max_score"] == 10
