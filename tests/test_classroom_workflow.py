"""The student template's GitHub Classroom workflow, checked against GitHub's published schema.

check-jsonschema ships the schema of GitHub workflows (`vendor.github-workflows`), so this runs
offline. A deliberately broken copy must fail, to show the validator really looks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from grader.formats import classroom
from tests.conftest import TEMPLATE, run_cli

WORKFLOW = TEMPLATE / ".github" / "workflows" / "classroom.yml"


def _validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflow_is_valid_and_a_broken_one_is_not(tmp_path):
    valid = _validate(WORKFLOW)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("checks: write", "checks: admin"))
    invalid = _validate(broken)
    assert invalid.returncode == 1 and "checks" in invalid.stdout


def test_workflow_wires_the_grader_to_the_reporter():
    workflow = YAML(typ="safe").load(WORKFLOW)
    assert workflow["name"] == "Autograding Tests"
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    assert set(workflow["jobs"]) == {"run-autograding-tests"}
    job = workflow["jobs"]["run-autograding-tests"]
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    steps = job["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert uses[0].startswith("actions/checkout@") and uses[1].startswith("actions/setup-python@")
    pinned = next(step["run"] for step in steps if "--require-hashes" in step.get("run", ""))
    assert "$TORCHGRADE_WHEEL" in pinned and "$TORCHGRADE_SHA256" in pinned
    assert "--no-deps" in pinned and "token" not in pinned.lower()
    deps = next(step["run"] for step in steps if "--torch-backend cpu" in step.get("run", ""))
    assert "requires('torchgrade')" in deps
    grade = next(step for step in steps if step.get("id") == classroom.RUNNER_ID)
    assert grade["run"].strip() == "grade submit . --format classroom"
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"] == {"runners": classroom.RUNNER_ID}
    variable = f"{classroom.RUNNER_ID.upper()}_RESULTS"
    output = f"${{{{ steps.{classroom.RUNNER_ID}.outputs.{classroom.OUTPUT_NAME} }}}}"
    assert reporter["env"] == {variable: output}
    marked = [line for line in WORKFLOW.read_text().splitlines() if "INSTRUCTOR" in line]
    assert len(marked) == 1
    assert set(workflow["env"]) == {"TORCHGRADE_WHEEL", "TORCHGRADE_SHA256"}


def _pinned_step(workflow: Path) -> tuple[str, dict[str, str]]:
    data = YAML(typ="safe").load(workflow)
    steps = data["jobs"]["run-autograding-tests"]["steps"]
    script = next(step["run"] for step in steps if "--require-hashes" in step.get("run", ""))
    return script, data["env"]


def test_filled_workflow_installs_the_wheel_from_the_template_folder(tmp_path):
    """`grade classroom-workflow --wheel-path`: the filled workflow passes the schema, and its
    hash-pinned install step, run as written, installs the wheel kept in the template; a wheel
    changed after pinning is refused."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template)
    built = run_cli("student-bundle", tmp_path / "dist")
    assert built.exit_code == 0, built.output
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    filled = run_cli("classroom-workflow", "--template", template, "--wheel-path", wheel)
    assert filled.exit_code == 0, filled.output
    workflow = template / ".github" / "workflows" / "classroom.yml"
    valid = _validate(workflow)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    script, env = _pinned_step(workflow)
    assert env["TORCHGRADE_WHEEL"] == f"./.github/torchgrade/{wheel.name}"
    assert env["TORCHGRADE_SHA256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()

    def run_step(site: Path) -> subprocess.CompletedProcess[str]:
        shim = tmp_path / "bin"
        shim.mkdir(exist_ok=True)
        python = shim / "python"
        python.write_text(
            f'#!/bin/sh\nif [ "$2" = pip ]; then shift 2; exec {sys.executable} -m pip "$@" '
            f'--no-index --target {site}; fi\nexec {sys.executable} "$@"\n'
        )
        python.chmod(0o755)
        runner_temp = tmp_path / "runner"
        runner_temp.mkdir(exist_ok=True)
        variables = {**os.environ, **env, "RUNNER_TEMP": str(runner_temp)}
        variables["PATH"] = f"{shim}:{os.environ['PATH']}"
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=template,
            env=variables,
            capture_output=True,
            text=True,
            timeout=300,
        )

    installed = run_step(tmp_path / "site")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (tmp_path / "site" / "grader" / "_assignments" / "my_linear").is_dir()
    kept = template / ".github" / "torchgrade" / wheel.name
    kept.write_bytes(kept.read_bytes() + b"\0")
    refused = run_step(tmp_path / "site2")
    assert refused.returncode != 0 and "hash" in (refused.stdout + refused.stderr).lower()


def test_filled_workflow_pins_a_published_wheel(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template)
    url = "https://course.example.edu/torchgrade-0.1.0+student-py3-none-any.whl"
    digest = "ab" * 32
    filled = run_cli(
        "classroom-workflow", "--template", template, "--wheel-url", url, "--sha256", digest
    )
    assert filled.exit_code == 0, filled.output
    workflow = template / ".github" / "workflows" / "classroom.yml"
    assert _validate(workflow).returncode == 0
    assert _pinned_step(workflow)[1] == {"TORCHGRADE_WHEEL": url, "TORCHGRADE_SHA256": digest}
    bad = run_cli("classroom-workflow", "--template", template, "--wheel-url", url, "--sha256", "x")
    assert bad.exit_code == 2 and "64 hex digits" in bad.output
