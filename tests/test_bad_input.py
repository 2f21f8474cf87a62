"""Bad input: binary, huge and non-UTF-8 files, links out of the folder, names with spaces and
unicode, a read-only folder. Each gets a clear message in the report, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from grader import spec
from grader.sandbox.staging import MAX_FILE_BYTES
from tests.conftest import REFERENCE, run_cli


@pytest.fixture(scope="module")
def bad_input(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    folder = root / "bad input ✓ ü"
    folder.mkdir()
    (folder / "my_linear.py").write_bytes(bytes(range(256)) * 8)
    padding = "# a line that only makes this file larger than the grader accepts\n"
    (folder / "training_loop.py").write_text(padding * (MAX_FILE_BYTES // len(padding) + 10))
    shutil.copy(REFERENCE / "scratch_lr.py", folder / "scratch_lr.py")
    (folder / "helper.py").write_bytes("# caf\xe9\nimport gc\n".encode("latin-1"))
    (folder / "notes é ü.py").write_text("x = 1\n")
    (folder / "my_sgd.py").mkdir()
    checks = spec.select(["scratch_lr"])[0].checks_dir
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "checks").symlink_to(checks, target_is_directory=True)
    (folder / "linked.py").symlink_to(REFERENCE / "my_linear.py")
    folder.chmod(0o555)
    out = root / "out"
    try:
        result = run_cli("submit", folder, "--out", out)
    finally:
        folder.chmod(0o755)
    return result, json.loads((out / "report.json").read_text())


def _assignment(report, name):
    return next(a for a in report["assignments"] if a["name"] == name)


def test_bad_input_is_graded_with_clear_messages(bad_input):
    result, report = bad_input
    assert result.exit_code == 0, result.output
    assert report["complete"] is True
    everything = result.output + json.dumps(report)
    assert "Traceback" not in everything
    my_linear = _assignment(report, "my_linear")
    assert my_linear["status"] == "graded" and not my_linear["checks"]
    assert my_linear["message"].startswith("my_linear.py is not saved as UTF-8 (byte 128 ")
    training_loop = _assignment(report, "training_loop")
    assert training_loop["status"] == "missing"
    assert training_loop["message"] == "training_loop.py is larger than 2 MiB and was not graded"
    scratch_lr = _assignment(report, "scratch_lr")
    assert scratch_lr["score"] == scratch_lr["max_score"] == 10
    my_sgd = _assignment(report, "my_sgd")
    assert my_sgd["status"] == "missing"
    assert my_sgd["message"] == "my_sgd.py is a folder; submit the file itself"


def test_links_out_of_the_folder_are_named_and_not_followed(bad_input):
    result, report = bad_input
    problems = report["submission"]["problems"]
    for name in ("passwd", "checks", "linked.py"):
        assert f"{name} is a symbolic link and was not graded" in problems
        assert f"note: {name} is a symbolic link and was not graded" in result.output
    graded = {f["path"] for f in report["submission"]["files"]}
    assert graded == {"my_linear.py", "scratch_lr.py", "helper.py", "notes é ü.py"}
    assert "root:" not in json.dumps(report)


def test_unusual_names_and_encodings_do_not_break_the_scan(bad_input):
    _result, report = bad_input
    assert report["submission"]["path"].endswith("bad input ✓ ü")
    flagged = [f for f in report["integrity"] if f["file"] in ("helper.py", "my_linear.py")]
    assert {(f["file"], f["code"]) for f in flagged} == {
        ("helper.py", "source-encoding"),
        ("my_linear.py", "source-encoding"),
    }


def test_the_read_only_folder_was_not_written(bad_input):
    _result, report = bad_input
    folder = Path(report["submission"]["path"])
    left = [
        "my_linear.py",
        "training_loop.py",
        "scratch_lr.py",
        "my_sgd.py",
        "helper.py",
        "notes é ü.py",
    ]
    links = ["passwd", "checks", "linked.py"]
    assert sorted(os.listdir(folder)) == sorted([*left, *links])
