"""A batch of hostile submissions graded in a real subprocess, then the machine inspected:
no process the grading started is left, and nothing was written outside the scratch folders
and --out. Also: forged results and workflow commands, and the network."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SUBMISSIONS
from tests.test_hostile import BASELINES, baseline, lines

FOLDERS = ("hostile_escape", "hostile_forgery")
GUESSED_TARGETS = ("/tmp/report.json", "/tmp/results.json", "/autograder/results/results.json")
BATCH = """
import sys
from grader.cli import main

for folder, out in zip(sys.argv[1::2], sys.argv[2::2]):
    main(["submit", folder, "--out", out, "--timeout", "1"], standalone_mode=False)
"""


def _stat(path: str) -> tuple[float, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_mtime, info.st_size


def _ours(token: str, marker: str) -> list[str]:
    """Processes whose command line names our unique --out folder, or whose environment
    carries our marker (everything the batch forked inherits one or the other)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if token.encode() in cmdline or marker.encode() in environ:
            readable = cmdline.replace(b"\0", b" ")[:120]
            found.append(f"{entry}: {readable!r}")
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("containment")
    token = f"torchgrade-containment-{uuid.uuid4().hex}"
    marker = f"TORCHGRADE_TEST_MARK={token}"
    folders = {name: root / token / name for name in ("tmp", "cwd", "out")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    github_output, github_summary = root / "github_output", root / "github_summary"
    github_output.touch()
    github_summary.touch()
    before = {path: _stat(path) for path in GUESSED_TARGETS}
    env = {
        **os.environ,
        "TMPDIR": str(folders["tmp"]),
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_STEP_SUMMARY": str(github_summary),
        "PYTEST_ADDOPTS": "-p hostile_plugin --collect-only",
        "TORCHGRADE_TEST_MARK": token,
        "NO_COLOR": "1",
    }
    arguments = []
    for name in FOLDERS:
        arguments += [str(SUBMISSIONS / name), str(folders["out"] / name)]
    completed = subprocess.run(
        [sys.executable, "-c", BATCH, *arguments],
        cwd=folders["cwd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    after = {path: _stat(path) for path in GUESSED_TARGETS}
    for path in GUESSED_TARGETS:
        if before[path] is None and after[path] is not None:
            os.remove(path)  # where nothing confines writes, do not leave the forgery behind
            with contextlib.suppress(OSError):
                os.removedirs(os.path.dirname(path))
    reports = {
        name: json.loads((folders["out"] / name / "report.json").read_text())
        for name in FOLDERS
        if (folders["out"] / name / "report.json").is_file()
    }
    return {
        "completed": completed,
        "reports": reports,
        "leftover": _ours(token, marker),
        "folders": folders,
        "github": (github_output, github_summary),
        "guessed": {path: (before[path], after[path]) for path in GUESSED_TARGETS},
    }


def assignment(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["assignments"] if a["name"] == name)


def output_of(report: dict[str, Any], name: str) -> str:
    return "\n".join(c["output"] for c in assignment(report, name)["checks"])


def check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    name = check_id.split("::")[0]
    return next(c for c in assignment(report, name)["checks"] if c["id"] == check_id)


def test_the_batch_finishes_with_a_report_for_each_submission(batch):
    completed = batch["completed"]
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert set(batch["reports"]) == set(FOLDERS)
    for report in batch["reports"].values():
        assert report["complete"] is True
        assert report["tool"] == "torchgrade" and "forged" not in report
        assert report["score"] == sum(a["score"] for a in report["assignments"])


def test_no_process_started_by_the_grading_is_left(batch):
    assert batch["leftover"] == []


def test_nothing_is_written_outside_scratch_and_out(batch):
    folders = batch["folders"]
    assert sorted(os.listdir(folders["tmp"])) == []
    assert sorted(os.listdir(folders["cwd"])) == []
    for name in FOLDERS:
        assert sorted(os.listdir(folders["out"] / name)) == ["report.json"]
    for path in batch["github"]:
        assert Path(path).stat().st_size == 0
    protections = batch["reports"]["hostile_forgery"]["environment"]["protections"]
    if protections["landlock"] != "on":
        pytest.skip(f"writes cannot be confined here: landlock is {protections['landlock']}")
    for path, (before, after) in batch["guessed"].items():
        assert before == after, path


def test_escaping_control_gains_nothing(batch, grade_folder):
    """Ignored signals, a non-daemon thread, a child and a double-forked setsid child left
    sleeping, killing the parent; sys.exit and os._exit in a call, sleeping and spinning."""
    report = batch["reports"]["hostile_escape"]
    assert assignment(report, "my_linear")["score"] == baseline(grade_folder, "my_linear")
    protections = report["environment"]["protections"]
    kills = lines(output_of(report, "my_linear"), "KILL parent with")
    assert set(kills) == {"SIGTERM", "SIGKILL"}
    if "on" in (protections["landlock_signals"], protections["seccomp"]):
        assert set(kills.values()) == {"PermissionError"}
    training_loop = assignment(report, "training_loop")
    assert training_loop["score"] <= baseline(grade_folder, "training_loop")
    exits = check(report, "training_loop::test_returns_list_of_floats")["message"]
    assert "stopped the program: the code called exit(0)" in exits
    ended = check(report, "training_loop::test_call_order")["message"]
    assert "crashed: the process exited with code 0" in ended
    for hang in (
        "test_regression_with_mse_converges",
        "test_classification_with_cross_entropy_converges",
    ):
        assert check(report, f"training_loop::{hang}")["status"] == "timeout"
    scratch_lr = assignment(report, "scratch_lr")
    assert scratch_lr["score"] == scratch_lr["max_score"] == 10


def test_forged_results_and_workflow_commands_are_inert(batch, grade_folder):
    report = batch["reports"]["hostile_forgery"]
    assert assignment(report, "scratch_lr")["score"] == baseline(grade_folder, "scratch_lr")
    for name in BASELINES:
        if name != "scratch_lr":
            result = assignment(report, name)
            assert result["score"] == result["max_score"] > 0
    output = output_of(report, "scratch_lr")
    forged = lines(output, "FORGE")
    if report["environment"]["protections"]["landlock"] == "on":
        for target in ("/tmp/report.json", "../../grade-report/report.json"):
            # refused by Landlock, or by the read-only private root where that is on
            assert forged[target] in {"PermissionError", "OSError"}, target
    assert "Points 30/30" in output
    for line in output.splitlines():
        assert not line.lstrip().startswith(("::", "##[")), line
    assert "\x1b" not in output and "\x07" not in output
    assert ": :notice" in output and ": :stop-commands: :" in output
    completed = batch["completed"]
    for stream in (completed.stdout, completed.stderr):
        assert "::stop-commands::" not in stream
        assert "::notice" not in stream


def test_the_network_is_out_of_reach(batch):
    report = batch["reports"]["hostile_forgery"]
    attempts = lines(output_of(report, "scratch_lr"), "NET")
    assert set(attempts) == {
        "tcp 127.0.0.1:22",
        "tcp 1.1.1.1:443",
        "udp 8.8.8.8:53",
        "tcp6 : :1:22",
    }
    assert "connected" not in attempts.values()
    protections = report["environment"]["protections"]
    if protections["seccomp"] == "on":
        assert set(attempts.values()) == {"PermissionError"}
    elif protections["network_namespace"] != "on" and protections["landlock_network"] != "on":
        pytest.skip("no network layer is available on this machine")
