"""Bounded time for hostile code: an exercise pays at most two deadlines.

Each fixture attacks my_linear at import (a bounded process flood, a child that SIGSTOPs the
probe, 64 spinning threads) and keeps the reference for the other exercises. After two checks
ran out of time, the exercise's other checks are `not_run`, with one reason, and the rest of
the submission is graded as usual.
"""

from __future__ import annotations

import os

import pytest

from grader.judge import MAX_TIMEOUTS
from tests.conftest import SUBMISSIONS, Graded
from tests.test_hostile import assert_full_marks

# The bound for grading a hostile fixture in full, at the default deadlines.
WHOLE_FIXTURE_SECONDS = 60
# The deadline these tests grade with: shorter than the default, so that paying two of them
# costs the suite seconds, not minutes; long enough for the reference's checks on a busy CI.
DEADLINE = "4"


def assert_bounded(graded: Graded, assignment: str) -> None:
    checks = graded.assignment(assignment)["checks"]
    statuses = [c["status"] for c in checks]
    assert statuses.count("timeout") == MAX_TIMEOUTS, statuses
    assert statuses.count("passed") == 0
    last_timeout = max(i for i, s in enumerate(statuses) if s == "timeout")
    assert set(statuses[last_timeout + 1 :]) == {"not_run"}, statuses
    not_run = [c for c in checks if c["status"] == "not_run"]
    assert len({c["message"] for c in not_run}) == 1
    assert "--timeout" in not_run[0]["message"]
    assert all(c["score"] == 0 for c in not_run)
    assert graded.report["duration_s"] < WHOLE_FIXTURE_SECONDS


@pytest.mark.parametrize("name", ["hostile_flood", "hostile_stop_parent", "hostile_threads"])
def test_a_hostile_exercise_costs_at_most_two_deadlines(grade_folder, name):
    graded = grade_folder(SUBMISSIONS / name, "--timeout", DEADLINE)
    assert_bounded(graded, "my_linear")
    for other in ("training_loop", "scratch_lr", "my_sgd"):
        assert_full_marks(graded, other)
    assert graded.report["complete"] is True


def _flood_processes() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == "tg-flood":
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_the_flood_leaves_nothing_behind(grade_folder):
    graded = grade_folder(SUBMISSIONS / "hostile_flood", "--timeout", DEADLINE)
    assert graded.report["complete"] is True
    assert _flood_processes() == []


def test_a_slow_but_correct_solution_gets_its_points_with_a_longer_timeout(grade_folder):
    """The reason `not_run` is not `failed`: the regrade the message suggests gives full marks."""
    short = grade_folder(SUBMISSIONS / "slow_import", "-a", "my_linear", "--timeout", "0.3")
    assert_bounded(short, "my_linear")
    longer = grade_folder(SUBMISSIONS / "slow_import", "-a", "my_linear", "--timeout", "5")
    assert_full_marks(longer, "my_linear")
