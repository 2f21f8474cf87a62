"""Hostile submissions, graded through the real CLI.

Each fixture in tests/submissions/hostile_* plays its tricks on top of a known wrong solution
(the same code as an existing buggy fixture) and keeps the reference solution for at least one
other assignment. Two things must hold every time: the tricked assignment scores no more than
the same wrong solution without the trick, and the untouched assignment keeps full marks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.judge import MAX_OUTPUT_CHARS
from grader.sandbox.protections import OFF_VARIABLE
from tests.conftest import REFERENCE, SUBMISSIONS, Graded

# The wrong solution each hostile file is built on, graded on its own as the baseline.
BASELINES = {
    "my_linear": "my_linear_no_bias_in_forward",
    "training_loop": "training_loop_no_zero_grad",
    "scratch_lr": "scratch_lr_sign_error",
}


@pytest.fixture(scope="module")
def grade_with_env(tmp_path_factory):
    """grade(folder, *args, env=...): the real CLI with extra environment; cached per call."""
    cache: dict[tuple[Any, ...], Graded] = {}

    def grade(folder: Path, *args: str, env: dict[str, str] | None = None) -> Graded:
        key = (str(folder), *args, *sorted((env or {}).items()))
        if key not in cache:
            out = tmp_path_factory.mktemp("hostile-report")
            runner = CliRunner(env=env)
            result = runner.invoke(
                main, ["submit", str(folder), "--out", str(out), *args], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            cache[key] = Graded(result, out)
        return cache[key]

    return grade


def baseline(grade_folder, assignment: str) -> float:
    graded = grade_folder(SUBMISSIONS / BASELINES[assignment])
    return graded.assignment(assignment)["score"]


def output_of(graded: Graded, assignment: str) -> str:
    return "\n".join(c["output"] for c in graded.assignment(assignment)["checks"])


def lines(text: str, prefix: str) -> dict[str, str]:
    """'PREFIX what: result' lines printed by a hostile fixture, as {what: result}."""
    found = {}
    # A value never starts with ":": in "tcp6 : :1:22: PermissionError" (`::` as inert shows
    # it) the key runs to the last ": " before the value.
    for match in re.finditer(rf"^{prefix}\b ?(.*?): ([^\s:].*)$", text, re.MULTILINE):
        found[match.group(1)] = match.group(2)
    return found


def assert_full_marks(graded: Graded, assignment: str) -> None:
    result = graded.assignment(assignment)
    assert result["score"] == result["max_score"] > 0, result


# ------------------------------------------------------------------------- 1. injection

INJECTION_ENV = {"PYTEST_ADDOPTS": "-p hostile_plugin --collect-only", "PYTEST_PLUGINS": "conftest"}


@pytest.fixture(scope="module")
def injection(grade_with_env):
    return grade_with_env(SUBMISSIONS / "hostile_injection", env=INJECTION_ENV)


def test_pytest_and_interpreter_injection_changes_nothing(injection, grade_folder):
    """conftest.py, pytest.ini, pyproject/setup.cfg addopts, sitecustomize, usercustomize,
    torch/numpy/pytest/grader shadows, a .pth file and PYTEST_ADDOPTS in the environment."""
    for name in ("my_linear", "training_loop"):
        assert injection.assignment(name)["score"] == baseline(grade_folder, name)
    assert_full_marks(injection, "scratch_lr")
    everything = injection.result.output + "".join(
        output_of(injection, a["name"]) for a in injection.report["assignments"]
    )
    assert "INJECTED" not in everything
    flagged = {f["file"] for f in injection.report["integrity"] if f["code"] == "injection-file"}
    assert {
        "conftest.py",
        "pytest.ini",
        "pyproject.toml",
        "setup.cfg",
        "sitecustomize.py",
        "usercustomize.py",
        "torch.py",
        "numpy.py",
        "pytest.py",
        "grader/__init__.py",
        "hostile.pth",
    } <= flagged
    assert f"integrity flags: {len(injection.report['integrity'])}" in injection.result.output


def test_files_planted_for_later_runs_never_land(injection, grade_folder):
    """The submission tries to drop a .pth and a usercustomize into every site-packages folder
    (and the grader's package) so that a later grading would run them."""
    planted = lines(output_of(injection, "training_loop"), "PLANT")
    assert len(planted) >= 4, planted
    landed = [path for path in planted if os.path.exists(path)]
    for path in landed:
        os.remove(path)
    protections = injection.report["environment"]["protections"]
    if protections["landlock"] != "on":
        pytest.skip(
            f"the sandbox cannot confine writes here: landlock is {protections['landlock']}"
        )
    assert landed == []
    # Landlock denies the write; under the private root the folder is read-only or absent, or
    # (as an unprivileged user) a private copy that dies with the sandbox: nothing lands.
    assert set(planted.values()) <= {"PermissionError", "FileNotFoundError", "OSError", "written"}
    later = grade_folder(REFERENCE)
    assert later.report["score"] == later.report["max_score"] > 0


# ------------------------------------------------------------------------- 2, 3. tampering, theft


@pytest.fixture(scope="module")
def tamper(grade_with_env):
    return grade_with_env(SUBMISSIONS / "hostile_tamper")


def test_verdict_tampering_earns_nothing(tamper, grade_folder):
    """Patched torch.allclose/equal/testing and builtins, an always-equal tensor subclass with
    __torch_function__, frame walking and gc.get_objects hunting for expected values."""
    assert tamper.assignment("my_linear")["score"] == baseline(grade_folder, "my_linear")
    assert_full_marks(tamper, "scratch_lr")
    assert "SNOOP expected-names=[] tensors-seen=True" in output_of(tamper, "my_linear")
    codes = {f["code"] for f in tamper.report["integrity"] if f["file"] == "my_linear.py"}
    assert {
        "monkeypatch",
        "frame-access",
        "memory-search",
        "tensor-subclass",
        "comparison-trick",
    } <= codes


def test_the_reference_and_hidden_checks_cannot_be_read(tamper, grade_folder):
    """By import, via the grader's and the probes' __file__, by walking up from the working
    directory and by absolute paths. Stolen code would be exec'ed in place of train()."""
    attempts = lines(output_of(tamper, "training_loop"), "STEAL")
    assert set(attempts) == {
        "import reference",
        "grader __file__",
        "hidden checks",
        "walk up from cwd",
        "absolute paths",
        "/etc/passwd",
        "home folder",
    }
    protections = tamper.report["environment"]["protections"]
    if protections["landlock"] != "on":
        pytest.skip(f"files cannot be hidden here: landlock is {protections['landlock']}")
    assert tamper.assignment("training_loop")["score"] == baseline(grade_folder, "training_loop")
    assert not [what for what, result in attempts.items() if result.startswith("read")]
    for what in ("grader __file__", "hidden checks", "/etc/passwd", "home folder"):
        assert attempts[what] in ("PermissionError", "FileNotFoundError"), (what, attempts[what])


# ------------------------------------------------------------------------- 6. exhaustion

MEMORY_LIMIT_MIB = "256"


@pytest.fixture(scope="module")
def exhaustion(grade_with_env):
    return grade_with_env(SUBMISSIONS / "hostile_exhaustion", "--memory-limit", MEMORY_LIMIT_MIB)


def test_unbounded_memory_fails_that_check_with_a_clear_message(exhaustion, grade_folder):
    my_linear = exhaustion.assignment("my_linear")
    assert my_linear["score"] <= baseline(grade_folder, "my_linear")
    for check_id in (
        "my_linear::test_output_shape_3d",
        "my_linear::test_bias_false_registers_no_bias",
    ):
        check = exhaustion.check(check_id)
        assert check["status"] == "failed"
        assert "memory limit exceeded" in check["message"]
    assert_full_marks(exhaustion, "training_loop")


def test_output_floods_disk_filling_and_open_files_are_bounded(exhaustion, grade_folder):
    assert exhaustion.assignment("scratch_lr")["score"] == baseline(grade_folder, "scratch_lr")
    flooded = exhaustion.check("scratch_lr::test_sigmoid_is_stable")
    assert flooded["status"] == "passed"
    assert flooded["output"].startswith("[...]")
    assert flooded["output"].endswith("FLOOD done\n")
    assert len(flooded["output"]) <= MAX_OUTPUT_CHARS + len("[...]\n")
    report_size = (exhaustion.out / "report.json").stat().st_size
    assert report_size < 1 << 20
    output = exhaustion.check("scratch_lr::test_optimize_is_one_gradient_step")["output"]
    disk, files = lines(output, "DISK"), lines(output, "FILES")
    assert disk["one big file"].startswith("OSError errno=27")  # EFBIG: RLIMIT_FSIZE
    assert files[""].startswith("OSError errno=24")  # EMFILE: RLIMIT_NOFILE
    assert int(files[""].rsplit(" ", 1)[1]) < 512
    if exhaustion.report["environment"]["protections"]["scratch_quota"] == "on":
        assert disk["many files"].startswith("OSError errno=28")  # ENOSPC: the quota


# ------------------------------------------------------------------------- 5. a dead sandbox


@pytest.fixture(scope="module")
def parent_killed(grade_with_env):
    """With every optional layer off, nothing stops the kill: the zygote dies, every time."""
    return grade_with_env(SUBMISSIONS / "hostile_parent_kill", env={OFF_VARIABLE: "all"})


def test_a_killed_sandbox_is_restarted_and_grading_goes_on(parent_killed):
    protections = parent_killed.report["environment"]["protections"]
    assert protections["pid_namespace"] == f"off (disabled by {OFF_VARIABLE})"
    my_linear = parent_killed.assignment("my_linear")
    assert my_linear["score"] == 0
    for check in my_linear["checks"]:
        assert check["status"] == "failed"
        assert check["message"].endswith(
            "crashed and took the sandbox down with it (SIGKILL); "
            "the sandbox was restarted for the checks that follow"
        )
    for check in parent_killed.assignment("training_loop")["checks"]:
        assert check["status"] == "failed"
        assert "crashed: the process exited with code 0" in check["message"]
    assert_full_marks(parent_killed, "scratch_lr")
    assert parent_killed.report["complete"] is True


# ------------------------------------------------------------------------- 7. a forged grader error


def test_a_forged_grader_error_stays_the_student_s_failure(grade_folder):
    """A grader error is believed only from a child that had not reached student code yet:
    an exception class named GraderError, or a grader-error envelope written by hand onto
    the result pipe, is the student's own failure, never an "error" that blames the grader."""
    graded = grade_folder(SUBMISSIONS / "hostile_grader_error")
    my_linear = graded.assignment("my_linear")
    assert my_linear["score"] <= baseline(grade_folder, "my_linear")
    statuses = {check["status"] for check in my_linear["checks"]}
    assert "error" not in statuses, my_linear["checks"]
    messages = [check["message"] for check in my_linear["checks"]]
    assert any("raised GraderError: a sandbox protection failed: forged" in m for m in messages)
    assert any("raised GraderError: a sandbox protection failed: landlock" in m for m in messages)
    assert_full_marks(graded, "scratch_lr")
