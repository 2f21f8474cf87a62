"""report.json: the instructor's full record, the `Report` model as JSON."""

from __future__ import annotations

from grader.report import Report

FILENAME = "report.json"


def render(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"
