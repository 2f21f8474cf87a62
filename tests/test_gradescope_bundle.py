"""`grade gradescope-bundle`: unzip the bundle, install its wheel with pip, run run_autograder.

Only setup.sh's network install is skipped: the wheel is installed by pip itself (the consumer
that matters) into a temporary folder, and run_autograder grades a real submission with it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema

from grader import bundle
from tests.conftest import SUBMISSIONS, run_cli

SCHEMA = Path(__file__).resolve().parent / "schemas" / "gradescope-results.schema.json"
SUBMISSION = SUBMISSIONS / "my_linear_transposed"


def test_bundle_runs_on_gradescope_layout(tmp_path, grade_folder):
    zip_path = tmp_path / "autograder.zip"
    result = run_cli("gradescope-bundle", zip_path)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(["setup.sh", "run_autograder", bundle.wheel_name()])
        for name in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(archive.getinfo(name).external_attr >> 16) == 0o755
        archive.extractall(tmp_path / "source")
    source = tmp_path / "source"
    setup = (source / "setup.sh").read_text()
    marked = [line for line in setup.splitlines() if line.startswith("GRADER=")]
    assert marked == [f'GRADER="./{bundle.wheel_name()}"']
    assert "--torch-backend cpu" in setup
    subprocess.run(["bash", "-n", source / "setup.sh"], check=True)

    with zipfile.ZipFile(source / bundle.wheel_name()) as wheel:
        files = wheel.namelist()
        checks = wheel.read("grader/_assignments/my_linear/checks/test_my_linear.py").decode()
    # Gradescope keeps the full grader: it runs on Gradescope's servers, hidden checks and all.
    assert 'visibility="hidden"' in checks and "def test_output_shape_3d(" in checks
    assert "grader/_assignments/my_linear/checks/test_my_linear.py" in files
    assert "grader/gradescope_files/run_autograder" in files
    assert not any(name.startswith("reference/") or "__pycache__" in name for name in files)

    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip, "--target", str(site), str(source / bundle.wheel_name())],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "TORCHGRADE_SUBMISSION_DIR": str(SUBMISSION),
        "TORCHGRADE_RESULTS_DIR": str(tmp_path / "results"),
        "TORCHGRADE_PYTHON": sys.executable,
    }
    where = subprocess.run(
        [sys.executable, "-c", "import grader.spec as s; print(s.assignments_root())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()) == site / "grader" / "_assignments"

    completed = subprocess.run(
        ["bash", source / "run_autograder"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    jsonschema.validate(results, json.loads(SCHEMA.read_text()))
    expected = grade_folder(SUBMISSION).report
    assert results["score"] == expected["score"] == 23
    # An assignment without checks (its file is missing) still appears, as one test.
    assert len(results["tests"]) == sum(len(a["checks"]) or 1 for a in expected["assignments"])
    assert "Hidden check 8" in completed.stdout
    hidden = next(t for t in results["tests"] if t["number"] == "1.8")
    assert hidden["visibility"] == "hidden" and hidden["name"] == "my_linear: Hidden check 8"


def test_bundle_for_one_assignment_and_bad_names(tmp_path):
    zip_path = tmp_path / "one.zip"
    assert run_cli("gradescope-bundle", zip_path, "-a", "scratch_lr", "--instructor").exit_code == 0
    with zipfile.ZipFile(zip_path) as archive:
        script = archive.read("run_autograder").decode()
    assert "--format gradescope --assignment scratch_lr --instructor\n" in script
    bad = run_cli("gradescope-bundle", tmp_path / "bad.zip", "-a", "nope")
    assert bad.exit_code == 2 and "unknown assignment nope" in bad.output
    assert not (tmp_path / "bad.zip").exists()
