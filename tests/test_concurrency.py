"""Grading a submission's exercises at once changes nothing in the report but the timings.

Each fixture is graded serially (--jobs 1) and with one grading process per exercise
(--jobs 4); both reports must match each other and the fixture's golden report, which was
recorded before grading went concurrent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import capacity, spec
from tests.conftest import SUBMISSIONS
from tests.golden import compare, normalise

REPO = SUBMISSIONS.parent.parent
FIXTURES = [
    SUBMISSIONS / "correct_variant",
    SUBMISSIONS / "my_linear_transposed",
    SUBMISSIONS / "training_loop_no_zero_grad",
    SUBMISSIONS / "only_my_linear",
]


@pytest.mark.parametrize("folder", FIXTURES, ids=lambda p: p.name)
def test_report_is_the_same_whatever_the_concurrency(grade_folder, folder: Path) -> None:
    serial = grade_folder(folder, "--jobs", "1").report
    concurrent = grade_folder(folder, "--jobs", "4").report
    assert normalise(serial) == normalise(concurrent)
    compare(folder.name, concurrent)


def test_reference_scores_full_marks_concurrently(grade_folder) -> None:
    report = grade_folder(REPO / "reference", "--jobs", "3").report
    assert report["complete"] and report["score"] == report["max_score"] > 0
    assert [a["name"] for a in report["assignments"]] == [s.name for s in spec.discover()]


def _cgroup(root: Path, path: str, **files: str) -> Path:
    folder = root / path
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)
    return folder


def test_cpu_quota_is_the_tightest_over_the_cgroup_and_its_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capacity, "CGROUP_ROOT", tmp_path)
    _cgroup(tmp_path, "", cpu_max="max 100000\n")
    _cgroup(tmp_path, "ci", cpu_max="150000 100000\n")
    leaf = _cgroup(tmp_path, "ci/job", cpu_max="max 100000\n")
    assert capacity.cpu_quota(leaf) == 1.5
    _cgroup(tmp_path, "ci/job", cpu_max="50000 100000\n")
    assert capacity.cpu_quota(leaf) == 0.5
    assert capacity.cpu_quota(_cgroup(tmp_path, "free")) is None


def test_jobs_follow_cpus_memory_and_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "usable_cpus", lambda: 8)
    monkeypatch.setattr(capacity, "available_memory", lambda: 6 << 30)
    assert capacity.grading_jobs(4, 2 << 30) == 2  # 6 GiB / (250 MiB + 2 GiB per grading)
    assert capacity.grading_jobs(4, 256 << 20) == 4  # as many as there are exercises
    assert capacity.grading_jobs(2, 256 << 20) == 2
    assert capacity.grading_jobs(4, 2 << 30, requested=1) == 1
    assert capacity.grading_jobs(4, 2 << 30, requested=16) == 4
    monkeypatch.setattr(capacity, "available_memory", lambda: 0)
    assert capacity.grading_jobs(4, 2 << 30) == 1


def test_usable_cpus_honours_the_affinity_mask() -> None:
    assert 1 <= capacity.usable_cpus() <= len(os.sched_getaffinity(0))
