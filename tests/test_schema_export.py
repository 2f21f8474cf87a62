"""The exported JSON Schema of report.json (docs/report.schema.json) is the model's own."""

from __future__ import annotations

import json
from pathlib import Path

from grader.report import SCHEMA_VERSION, report_json_schema
from tests.conftest import run_cli

EXPORTED = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


def test_exported_schema_is_current():
    assert json.loads(EXPORTED.read_text()) == report_json_schema(), (
        "regenerate it: grade schema > docs/report.schema.json"
    )


def test_grade_schema_prints_it_and_names_the_version():
    result = run_cli("schema")
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed == report_json_schema()
    assert printed["properties"]["schema_version"]["default"] == SCHEMA_VERSION == 2
