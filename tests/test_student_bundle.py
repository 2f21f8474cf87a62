"""`grade student-bundle`: the student wheel holds no trace of a hidden check, and grades.

A copy of the assignments folder gets a hidden check whose name, docstring, inputs, helper,
message, hint, Korean name and comment each carry a unique marker. The wheel built from it is
unzipped and every byte of every member (and the zip itself) is searched for every marker. The
wheel is then installed with pip into a fresh venv (torch from the system) and grades
`reference/` and a buggy fixture there, in a process that cannot see this checkout.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.spec import assignments_root
from tests.conftest import REFERENCE, SUBMISSIONS, run_cli
from tests.golden import GOLDEN

MARKERS = {
    "name": "zqhiddenname4471",
    "docstring": "zqdocstring9012",
    "input": "zqinputvalue5531",
    "helper": "zqhelperfn7720",
    "message": "zqmessagetext3318",
    "message_key": "zqmessagekey6604",
    "hint": "zqhinttext2297",
    "hint_key": "zqhintkey8846",
    "ko_name": "zqkoname1195",
    "comment": "zqcomment4402",
}

HIDDEN_CHECK = f'''

# {MARKERS["comment"]}: the inputs below are secret.
SECRET_SHAPE_{MARKERS["input"]} = (2, 7, IN)


def _{MARKERS["helper"]}(probe):
    x = seeded_randn(*SECRET_SHAPE_{MARKERS["input"]})
    return x, _observe_forward(probe, x)


@check(points=3, category="values", visibility="hidden")
def test_{MARKERS["name"]}(probe):
    """{MARKERS["docstring"]}: forward on a secret input."""
    x, output = _{MARKERS["helper"]}(probe)
    if tuple(output.shape) != (2, 7, OUT):
        raise Failure(say("{MARKERS["message_key"]}"), say("{MARKERS["hint_key"]}"))
'''


def _planted(tmp_path: Path) -> Path:
    """A copy of the assignments with a hidden check that carries every marker."""
    root = tmp_path / "assignments"
    shutil.copytree(assignments_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "my_linear"
    checks = folder / "checks" / "test_my_linear.py"
    checks.write_text(checks.read_text() + HIDDEN_CHECK)
    spec = folder / "assignment.toml"
    spec.write_text(spec.read_text().replace("points = 10", "points = 13"))
    messages = folder / "messages.toml"
    text = messages.read_text()
    for lang in ("en", "ko"):
        entries = (
            f'{MARKERS["message_key"]} = "{MARKERS["message"]} ({lang})"\n'
            f'{MARKERS["hint_key"]} = "{MARKERS["hint"]} ({lang})"\n'
        )
        text = text.replace(f"[{lang}]\n", f"[{lang}]\n{entries}", 1)
    text = text.replace(
        "[ko.names]\n", f'[ko.names]\ntest_{MARKERS["name"]} = "{MARKERS["ko_name"]}"\n', 1
    )
    messages.write_text(text)
    assert all(marker in checks.read_text() + text for marker in MARKERS.values())
    return root


@pytest.fixture(scope="module")
def student_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("student")
    planted = _planted(tmp_path)
    result = run_cli("student-bundle", tmp_path / "dist", "--assignments-dir", planted)
    assert result.exit_code == 0, result.output
    assert re.search(r"my_linear: [1-9]\d* visible checks", result.output), result.output
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    return wheel, planted


def test_no_marker_anywhere_in_the_wheel(student_wheel):
    wheel, planted = student_wheel
    raw = wheel.read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    names = set(members)
    assert not any(n.startswith("reference/") or "/mutants/" in n for n in names)
    assert not any(n.endswith((".pyc", ".pyo")) or "__pycache__" in n for n in names)
    assert any(n.endswith(".dist-info/METADATA") for n in names)
    for marker in MARKERS.values():
        needle = marker.encode()
        assert needle not in raw, marker
        assert not any(needle in n.encode() for n in names), marker
        leaks = [name for name, data in members.items() if needle in data]
        assert leaks == [], f"{marker} in {leaks}"
    # The hidden check's points are accounted for, and the shared helper it used survived.
    spec = members["grader/_assignments/my_linear/assignment.toml"].decode()
    assert "points = 9.5\nwithheld_points = 3.5\n" in spec
    checks = members["grader/_assignments/my_linear/checks/test_my_linear.py"].decode()
    assert "def _observe_forward(" in checks and "def test_output_values(" in checks
    assert "test_output_shape_3d" not in checks
    # The source build really held them: the test would see a leak.
    source = (planted / "my_linear" / "checks" / "test_my_linear.py").read_text()
    assert MARKERS["input"] in source and MARKERS["helper"] in source


def _venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(
        [base, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return venv


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHGRADE_", "PYTHON"))}
    env["NO_COLOR"] = "1"
    return env


def _grade(venv: Path, folder: Path, out: Path) -> tuple[dict, str]:
    formats = ["--format", "classroom", "--format", "markdown", "--format", "gradescope"]
    completed = subprocess.run(
        [venv / "bin" / "grade", "submit", folder, "--out", out, *formats],
        cwd=out.parent,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads((out / "report.json").read_text()), completed.stdout


def _golden_checks(name: str) -> dict[str, dict]:
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    return {c["id"]: c for a in golden["assignments"] for c in a["checks"]}


def test_installed_student_wheel_grades_honestly(student_wheel, tmp_path):
    wheel, _planted_root = student_wheel
    venv = _venv(tmp_path, wheel)
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import grader.spec as s; print(s.assignments_root())"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)

    report, stdout = _grade(venv, REFERENCE, tmp_path / "reference")
    checks = [c for a in report["assignments"] for c in a["checks"]]
    assert checks and all(c["status"] == "passed" for c in checks)
    assert all(c["visibility"] == "visible" for c in checks)
    assert not any(MARKERS["name"] in c["id"] or "test_output_shape_3d" in c["id"] for c in checks)
    assert report["score"] == report["max_score"] == sum(c["max_score"] for c in checks)
    withheld = report["withheld_points"]
    assert withheld == sum(a["withheld_points"] for a in report["assignments"]) > 0
    points = f"{report['score']:g}/{report['max_score']:g}"
    sentence = (
        f"visible checks: {points} points here; {withheld:g} more points in checks that your "
        "instructor runs at final grading"
    )
    out = tmp_path / "reference"
    assert sentence in stdout
    assert sentence in (out / "report.md").read_text()
    assert sentence in json.loads((out / "results.json").read_text())["output"]
    line = (out / "classroom-output.txt").read_text().strip().removeprefix("result=")
    result = json.loads(base64.b64decode(line))
    assert result["max_score"] == report["max_score"]
    assert sum(t["score"] for t in result["tests"]) == report["score"]
    assert any(t["name"] == sentence for t in result["tests"])

    buggy, _ = _grade(venv, SUBMISSIONS / "my_linear_transposed", tmp_path / "buggy")
    golden = _golden_checks("my_linear_transposed")
    graded = [c for a in buggy["assignments"] for c in a["checks"]]
    assert buggy["score"] < buggy["max_score"]
    for check in graded:  # every visible check says what the full grader says
        full = golden[check["id"]]
        assert (check["status"], check["score"], check["hint"]) == (
            full["status"],
            full["score"],
            full["hint"],
        ), check["id"]
    assert any(c["status"] == "failed" and c["hint"] for c in graded)
