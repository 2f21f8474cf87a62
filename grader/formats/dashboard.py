"""summary.html: the class dashboard that `grade batch` writes beside gradebook.csv.

For the instructor: a score histogram per assignment, each check's failure rate (worst first:
what to re-teach), the students with integrity flags, errors or timeouts, and a table of every
student that sorts by any column. Each student links to their instructor-view report.html.

The one script on the page sorts the table; the Content-Security-Policy allows that script by
its hash and nothing else. Without it the table still reads, in the gradebook's order.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from grader import messages
from grader.formats import charts, html, text
from grader.report import Report
from grader.spec import AssignmentSpec

FILENAME = "summary.html"
MAX_CHECK_ROWS = 200


@cache
def sort_script() -> str:
    return resources.files("grader.formats").joinpath("templates/sort.js").read_text("utf-8")


def csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return html.CSP.replace("script-src 'none'", f"script-src 'sha256-{digest}'")


def _say(lang: str, key: str, **params: object) -> str:
    return messages.template(key, lang=lang).format(**params)


def _flags(report: Report, lang: str) -> list[str]:
    reasons = []
    if report.integrity:
        reasons.append(_say(lang, "dashboard_flag_integrity", count=len(report.integrity)))
    statuses = [c.status for a in report.assignments for c in a.checks]
    if "timeout" in statuses:
        reasons.append(_say(lang, "dashboard_flag_timeout", count=statuses.count("timeout")))
    errors = statuses.count("error") + sum(a.status == "error" for a in report.assignments)
    if errors or not report.complete:
        reasons.append(_say(lang, "dashboard_flag_error", count=max(errors, 1)))
    return reasons


def render(
    specs: Sequence[AssignmentSpec],
    students: Sequence[tuple[str, Report | None, str]],
    summary: dict[str, Any],
    lang: str = "en",
) -> str:
    """The dashboard. `students` is (name, report or None if pending, link to its report)."""
    t = {
        key: _say(lang, f"dashboard_{key}")
        for key in (
            "title",
            "scores",
            "failures",
            "flagged",
            "students",
            "student",
            "why",
            "check",
            "not_passed",
            "rate",
            "mean",
            "submitted",
            "total",
            "status",
        )
    }
    t["counts"] = ", ".join(
        f"{_say(lang, f'dashboard_{name}') if name in ('graded', 'pending') else name}: {count}"
        for name, count in summary["status"].items()
    )
    histograms = []
    for index, spec in enumerate(specs):
        scores = [
            a.score
            for _, report, _ in students
            if report is not None
            for a in report.assignments
            if a.name == spec.name
        ]
        stats = summary["assignments"].get(spec.name, {})
        histograms.append(
            {
                "name": spec.title_in(lang),
                "svg": charts.histogram_svg(scores, spec.points, f"hist-{index}", t["scores"]),
                "mean": stats.get("mean", 0.0) or 0.0,
                "max_score": f"{spec.points:g}",
                "submitted": stats.get("submitted", 0),
            }
        )
    checks = sorted(summary["checks"], key=lambda c: (-c["failure_rate"], c["id"]))
    flagged = [
        {"student": name, "link": link, "reasons": _flags(report, lang)}
        for name, report, link in students
        if report is not None and _flags(report, lang)
    ]
    columns = [
        {"label": t["student"], "numeric": False},
        {"label": t["total"], "numeric": True},
        *({"label": spec.name, "numeric": True} for spec in specs),
        {"label": t["status"], "numeric": False},
    ]
    rows = []
    for name, report, link in students:
        cells: list[dict[str, Any]] = [{"text": name, "sort": text.inert(name).casefold()}]
        if report is None:
            cells += [{"text": "–", "sort": -1} for _ in range(len(specs) + 1)]
            cells.append({"text": _say(lang, "dashboard_pending"), "sort": "pending"})
        else:
            cells.append({"text": f"{report.score:g}/{report.max_score:g}", "sort": report.score})
            by_name = {a.name: a for a in report.assignments}
            for spec in specs:
                result = by_name.get(spec.name)
                score = result.score if result is not None else 0.0
                cells.append({"text": f"{score:g}", "sort": score})
            state = "graded" if not _flags(report, lang) else "flagged_state"
            cells.append({"text": _say(lang, f"dashboard_{state}"), "sort": state})
        rows.append({"cells": cells, "link": link if report is not None else ""})
    script = sort_script()
    return (
        html.environment()
        .get_template("summary.html.j2")
        .render(
            lang=lang,
            t=t,
            histograms=histograms,
            checks=checks[:MAX_CHECK_ROWS],
            flagged=flagged,
            columns=columns,
            rows=rows,
            script=script,
            csp=csp(script),
            css=html.stylesheet(),
        )
    )
