"""Every fixture submission is graded exactly as its golden report says (see tests/golden.py)."""

from __future__ import annotations

import pytest

from tests.conftest import SUBMISSIONS
from tests.golden import NOT_SUBMISSIONS, UNSTABLE_FIXTURES, compare

FIXTURES = sorted(
    p.name
    for p in SUBMISSIONS.iterdir()
    if p.is_dir() and p.name not in UNSTABLE_FIXTURES | NOT_SUBMISSIONS
)


# Fixtures whose checks end at their deadline (sleeping or spinning forever): graded with a
# shorter one, which the golden reports do not see (durations are masked).
SHORT_DEADLINE = {"hostile_escape": ("--timeout", "4")}


@pytest.mark.parametrize("name", FIXTURES)
def test_report_matches_golden(grade_folder, name: str) -> None:
    compare(name, grade_folder(SUBMISSIONS / name, *SHORT_DEADLINE.get(name, ())).report)
