"""The student template's GitHub Classroom workflow, checked against GitHub's published schema.

check-jsonschema ships the schema of GitHub workflows (`vendor.github-workflows`), so this runs
offline. A deliberately broken copy must fail, to show the validator really looks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from grader.formats import classroom
from tests.conftest import TEMPLATE

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
    install = next(step["run"] for step in steps if "--torch-backend cpu" in step.get("run", ""))
    assert "$TORCHGRADE_SOURCE" in install
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
    assert set(workflow["env"]) == {"TORCHGRADE_SOURCE"}
