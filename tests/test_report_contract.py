"""report.json follows its published contract and its own exported JSON Schema."""

from __future__ import annotations

import jsonschema

from grader.report import SCHEMA_VERSION, report_json_schema
from tests.conftest import REFERENCE, SUBMISSIONS

CHECK_FIELDS = {
    "id",
    "name",
    "category",
    "status",
    "score",
    "max_score",
    "message",
    "visibility",
    "duration_s",
}


def test_real_reports_validate_against_the_schema(grade_folder):
    schema = report_json_schema()
    for folder in (REFERENCE, SUBMISSIONS / "only_my_linear", SUBMISSIONS / "syntax_error"):
        jsonschema.validate(grade_folder(folder).report, schema)


def test_contract_fields(grade_folder):
    report = grade_folder(SUBMISSIONS / "my_linear_transposed").report
    assert report["schema_version"] == SCHEMA_VERSION
    assert isinstance(report["score"], float) and isinstance(report["max_score"], float)
    for assignment in report["assignments"]:
        assert {"name", "score", "max_score", "status", "checks"} <= set(assignment)
        for check in assignment["checks"]:
            assert set(check) >= CHECK_FIELDS
            assert check["status"] in {"passed", "failed", "error", "timeout", "skipped"}
    env = report["environment"]
    assert env["grader_version"] and env["torch_version"] and env["python_version"]
    files = {f["path"]: f for f in report["submission"]["files"]}
    assert set(files) == {"my_linear.py", "training_loop.py", "scratch_lr.py"}
    assert all(len(f["sha256"]) == 64 for f in files.values())


def test_scores_add_up(grade_folder):
    report = grade_folder(SUBMISSIONS / "training_loop_no_zero_grad").report
    assert report["score"] == sum(a["score"] for a in report["assignments"])
    for assignment in report["assignments"]:
        assert assignment["score"] == sum(c["score"] for c in assignment["checks"])
        if assignment["status"] == "missing":
            assert assignment["checks"] == [] and assignment["max_score"] > 0
        else:
            assert assignment["max_score"] == sum(c["max_score"] for c in assignment["checks"])
    assert {a["status"] for a in report["assignments"]} == {"graded", "missing"}


def _without_timings(report: dict) -> dict:
    report = {k: v for k, v in report.items() if k not in {"started_at", "duration_s"}}
    report["submission"] = {**report["submission"], "path": ""}
    report["assignments"] = [
        {**a, "checks": [{k: v for k, v in c.items() if k != "duration_s"} for c in a["checks"]]}
        for a in report["assignments"]
    ]
    return report


def test_grading_is_deterministic(grade_folder):
    """Grading the same submission twice gives the same report, timings aside."""
    first = grade_folder(SUBMISSIONS / "scratch_lr_sign_error").report
    second = grade_folder(SUBMISSIONS / "scratch_lr_sign_error", "--seed", "0").report
    assert _without_timings(first) == _without_timings(second)
