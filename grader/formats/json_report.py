"""report.json: the instructor's full record, the `Report` model as JSON.

Every string in it is made inert (`text.inert`) after layout, as in every other format, so a
tool that prints a field of report.json prints no bidi, invisible or control character. Check
ids (`assignment::check`) are made by the grader and kept as they are.
"""

from __future__ import annotations

from grader.formats import text
from grader.report import Report

FILENAME = "report.json"
_KEEP = frozenset({"id"})


def render(report: Report) -> str:
    data = text.inert_strings(report.model_dump(mode="json"), _KEEP)
    return Report.model_validate(data).model_dump_json(indent=2) + "\n"
