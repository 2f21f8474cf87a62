"""The command line, driven through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import OUT_UNUSABLE, UNKNOWN_ASSIGNMENT
from grader.spec import discover
from tests.conftest import REFERENCE, SUBMISSIONS, run_cli


def test_missing_path_is_a_usage_error(tmp_path):
    result = run_cli("submit", tmp_path / "nope")
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_file_is_not_a_submission_folder(tmp_path):
    file = tmp_path / "my_linear.py"
    file.write_text("x = 1\n")
    result = run_cli("submit", file)
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_unknown_assignment_is_a_usage_error(tmp_path):
    result = run_cli("submit", REFERENCE, "--assignment", "nope", "--out", tmp_path)
    assert result.exit_code == 2
    known = ", ".join(spec.name for spec in discover())
    expected = UNKNOWN_ASSIGNMENT.format(names="nope", known=known)
    assert expected.split(";")[0] in result.output
    assert not (tmp_path / "report.json").exists()


def test_bare_path_means_submit_and_assignment_filter(tmp_path):
    result = run_cli(SUBMISSIONS / "only_my_linear", "-a", "my_linear", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert [a["name"] for a in report["assignments"]] == ["my_linear"]
    assert report["score"] == report["max_score"] == 10
    assert "Total: 10/10" in result.output


def test_empty_folder_scores_zero_with_a_message_per_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("submit", empty, "--out", tmp_path / "out")
    assert result.exit_code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["score"] == 0 and report["complete"]
    assert [a["message"] for a in report["assignments"]] == [
        f"{spec.student_file} not found" for spec in discover()
    ]


def test_console_script_works_from_any_directory(tmp_path):
    """The installed `grade` script, in a real subprocess, from an unrelated directory."""
    env = {**os.environ, "NO_COLOR": "1"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            str(SUBMISSIONS / "only_my_linear"),
            "-a",
            "my_linear",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Total: 10/10" in completed.stdout
    assert "\x1b[" not in completed.stdout
    assert (tmp_path / "out" / "report.json").is_file()


def test_version_and_help():
    assert run_cli("--version").output.startswith("torchgrade, version ")
    help_text = run_cli("--help").output
    for command in ("submit", "reference", "list", "schema"):
        assert command in help_text


def test_list_shows_every_check_and_the_points_add_up():
    output = run_cli("list").output
    assert "my_linear::test_parameters_registered" in output
    specs = discover()
    assert f"total: {sum(spec.points for spec in specs):g} points in" in output
    for spec in specs:
        assert f"{spec.name}: " in output and "spec says" not in output


def test_reference_run_fails_when_reference_is_wrong(tmp_path):
    """A broken reference folder makes `grade reference` exit non-zero and say why."""
    broken = tmp_path / "reference"
    broken.mkdir()
    for file in REFERENCE.glob("*.py"):
        (broken / file.name).write_text(file.read_text())
    (broken / "scratch_lr.py").write_text(
        (SUBMISSIONS / "scratch_lr_sign_error" / "scratch_lr.py").read_text()
    )
    result = run_cli("reference", "-a", "scratch_lr", "--reference", broken, "--no-mutants")
    assert result.exit_code == 1
    assert "FAIL  reference" in result.output
    assert "1 expectation(s) failed" in result.output


def test_reference_run_without_reference_folder_is_a_usage_error(tmp_path):
    result = run_cli("reference", "--reference", tmp_path / "missing")
    assert result.exit_code == 2
    assert "reference folder not found" in result.output


def test_schema_command_prints_the_report_schema():
    schema = json.loads(run_cli("schema").output)
    assert schema["title"] == "Report"
    assert {"schema_version", "score", "max_score", "assignments"} <= set(schema["properties"])


def test_no_report_is_left_half_written(grade_folder):
    graded = grade_folder(REFERENCE)
    leftovers = [p.name for p in Path(graded.out).iterdir() if p.name != "report.json"]
    assert leftovers == []


@pytest.mark.parametrize("command", ["submit", "batch"])
def test_unwritable_out_is_a_usage_error_before_grading(tmp_path, command):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    out = blocker / "reports"
    source = REFERENCE if command == "submit" else tmp_path
    result = run_cli(command, source, "--out", out)
    assert result.exit_code == 2
    assert OUT_UNUSABLE.format(path=out, reason="Not a directory") in result.output
    assert "Traceback" not in result.output
