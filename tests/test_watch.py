"""`grade watch`: a real watch process, a real edit, a real Ctrl-C, and nothing left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.report import Report
from grader.watch import affected, changed_files, compare, snapshot
from tests.conftest import SUBMISSIONS

REPO = SUBMISSIONS.parent.parent
BROKEN_FORWARD = "y = x @ self.weights * 1.5"


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        current = frontier.pop()
        try:
            tids = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as handle:
                    children = {int(p) for p in handle.read().split()}
            except OSError:
                continue
            frontier += children - found
            found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _score(out: Path) -> float | None:
    try:
        return json.loads((out / "report.json").read_text())["score"]
    except (OSError, ValueError, KeyError):
        return None


def test_watch_regrades_a_change_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    # As a student runs it: from the submission folder, so the default --out (grade-report)
    # lies inside the watched folder, and rewriting it must not count as a save.
    submission, temp = tmp_path / "submission", tmp_path / "tmp"
    out = submission / "grade-report"
    shutil.copytree(REPO / "reference", submission)
    temp.mkdir()
    log = (tmp_path / "watch.log").open("w")
    watch = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", ".", "-a", "my_linear"],
        cwd=submission,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TMPDIR": str(temp)},
        start_new_session=True,
    )
    text = lambda: (tmp_path / "watch.log").read_text()  # noqa: E731
    try:
        _wait_for(lambda: "watching" in text(), 240, "the first grading")
        first = _score(out)
        assert first is not None and first > 0, text()

        student_file = submission / "my_linear.py"
        source = student_file.read_text()
        assert "y = x @ self.weights" in source
        student_file.write_text(source.replace("y = x @ self.weights", BROKEN_FORWARD, 1))
        _wait_for(lambda: "now failing" in text(), 240, "the regrade")
        second = _score(out)
        assert second is not None and second < first, text()
        report = Report.model_validate_json((out / "report.json").read_text())
        assert report.complete and [a.name for a in report.assignments] == ["my_linear"]
        assert "my_linear.py changed" in text()
        time.sleep(2)  # several polls: the rewritten report must not start another regrade
        assert text().count(" changed: ") == 1, text()

        below = _descendants(watch.pid)
        assert below, "the warm worker runs below the watch process"
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=60) == 0, text()
    finally:
        if watch.poll() is None:
            os.killpg(watch.pid, signal.SIGKILL)
            watch.wait()
        log.close()
    assert "stopped watching" in text()
    _wait_for(lambda: not any(_alive(p) for p in below), 10, "the worker's processes to end")
    assert list(temp.iterdir()) == [], "temp files left behind"


def _report(statuses: dict[str, str]) -> Report:
    checks = [
        {"id": f"a::{n}", "name": n, "category": "values", "status": s, "score": 0.0}
        | {"max_score": 1.0}
        for n, s in statuses.items()
    ]
    return Report.model_validate(
        {
            "submission": {"path": "x"},
            "environment": {
                "grader_version": "0",
                "python_version": "3",
                "torch_version": "2",
                "platform": "linux",
            },
            "assignments": [
                {"name": "a", "title": "A", "file": "a.py", "status": "graded", "score": 0.0}
                | {"max_score": 1.0, "checks": checks}
            ],
        }
    )


def test_compare_names_newly_passing_and_newly_failing_checks() -> None:
    before = _report({"one": "passed", "two": "failed", "three": "passed"})
    after = _report({"one": "failed", "two": "passed", "three": "passed", "four": "passed"})
    changes = compare(before, after, student=False)
    assert changes.newly_passing == ["two", "four"]
    assert [name for name, _ in changes.newly_failing] == ["one"]


def test_only_real_changes_count_and_pick_the_exercises(tmp_path: Path) -> None:
    (tmp_path / "my_linear.py").write_text("a = 1\n")
    (tmp_path / "my_sgd.py").write_text("b = 1\n")
    before = snapshot(tmp_path)
    os.utime(tmp_path / "my_linear.py", ns=(1, 1))  # touched, same content
    assert changed_files(before, snapshot(tmp_path, before)) == set()
    (tmp_path / "my_linear.py").write_text("a = 2\n")
    changed = changed_files(before, snapshot(tmp_path))
    assert changed == {"my_linear.py"}

    from grader import spec

    specs = spec.select(())
    assert [s.name for s in affected(specs, changed)] == ["my_linear"]
    assert affected(specs, {"helpers.py"}) == specs


def test_file_events_wake_on_a_save_even_in_a_new_folder(tmp_path: Path) -> None:
    from grader.file_events import FileEvents

    (tmp_path / "my_linear.py").write_text("a = 1\n")
    events = FileEvents(tmp_path, frozenset({"__pycache__"}))
    try:
        if not events.active:
            pytest.skip("no inotify here: the watch polls instead")
        assert not events.wait(0.05)
        (tmp_path / "my_linear.py").write_text("a = 2\n")
        assert events.wait(5)
        (tmp_path / "helpers").mkdir()
        assert events.wait(5)
        (tmp_path / "helpers" / "util.py").write_text("b = 1\n")
        assert events.wait(5)
        (tmp_path / "__pycache__").mkdir()
        events.wait(0.05)  # the new folder itself is an event in the root
        (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"")
        assert not events.wait(0.05)
    finally:
        events.close()


def test_the_watch_output_folder_is_neither_snapshotted_nor_watched(tmp_path: Path) -> None:
    from grader.file_events import FileEvents

    (tmp_path / "my_linear.py").write_text("a = 1\n")
    out = tmp_path / "grade-report"
    out.mkdir()
    ignored = frozenset({str(out)})
    before = snapshot(tmp_path, ignored=ignored)
    (out / "report.json").write_text("{}")
    assert changed_files(before, snapshot(tmp_path, before, ignored)) == set()
    events = FileEvents(tmp_path, frozenset(), ignored)
    try:
        if events.active:
            (out / "report.json").write_text("{ }")
            assert not events.wait(0.1)
    finally:
        events.close()
