"""Correct variants of scratch_lr and my_sgd, each in a different style, score full marks.

Each folder under tests/submissions/variants/<exercise>/ holds one student file written the way
another student might: other tensor operations, in-place or rebinding updates, an Optimizer
subclass, buffers in a dict, p.data, .to(device), type hints and helpers. Equivalent code is
correct code: every check of that exercise must pass, through the real CLI.
"""

from __future__ import annotations

import pytest

from tests.conftest import SUBMISSIONS, variant_rows

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
def test_variant_scores_full_marks(validation, exercise: str, name: str) -> None:
    """Graded once for the session by `grade reference`, which grades every variant folder
    with the same engine as `grade submit`; its row says which checks failed, if any."""
    row = variant_rows(validation, exercise)[name]
    assert row["actual"] == "10/10", row["detail"]
    assert row["ok"] is True, row
