"""Every fixture submission is graded exactly as its golden report says (see tests/golden.py)."""

from __future__ import annotations

import pytest

from tests.conftest import SUBMISSIONS
from tests.golden import UNSTABLE_FIXTURES, compare

# A folder with no file of its own at the top (variants/) groups fixtures, it is not one.
FIXTURES = sorted(
    p.name
    for p in SUBMISSIONS.iterdir()
    if p.is_dir() and p.name not in UNSTABLE_FIXTURES and any(p.glob("*.py"))
)


@pytest.mark.parametrize("name", FIXTURES)
def test_report_matches_golden(grade_folder, name: str) -> None:
    compare(name, grade_folder(SUBMISSIONS / name).report)
