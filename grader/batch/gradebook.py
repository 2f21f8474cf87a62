"""The class view of a batch: `gradebook.csv` (one row per student) and `summary.json`.

Both are pure functions of the reports, so a resumed batch rebuilds them exactly from the
reports on disk.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from typing import Any

from grader.report import Report
from grader.spec import AssignmentSpec

GRADEBOOK = "gradebook.csv"
SUMMARY = "summary.json"
PENDING = "pending"
NOT_PASSED = ("failed", "error", "timeout")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Entry:
    """One student in the gradebook: the report, once there is one, and where it is."""

    student: str
    report: Report | None
    report_path: str


def status(report: Report) -> str:
    """graded, missing (nothing to grade), rejected (nothing acceptable), or error."""
    if not report.complete or any(a.status == "error" for a in report.assignments):
        return "error"
    if report.assignments and all(a.status == "missing" for a in report.assignments):
        return "rejected" if report.submission.problems else "missing"
    return "graded"


def _cell(text: str) -> str:
    """Student ids come from folder names: keep a spreadsheet from reading one as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float) -> str:
    return f"{value:g}"


def header(specs: list[AssignmentSpec]) -> list[str]:
    return [
        "student",
        *(s.name for s in specs),
        "total",
        "max_score",
        "status",
        "integrity_flags",
        "report",
        "clauses_lost",
    ]


def render_csv(specs: list[AssignmentSpec], entries: list[Entry]) -> str:
    """The gradebook, sorted by student id; a student still being graded is `pending`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(specs))
    max_total = sum(s.points for s in specs)
    for entry in sorted(entries, key=lambda e: e.student):
        report = entry.report
        if report is None:
            blanks = [""] * len(specs)
            writer.writerow(
                [_cell(entry.student), *blanks, "", _number(max_total), PENDING, "", "", ""]
            )
            continue
        scores = {a.name: a.score for a in report.assignments}
        writer.writerow(
            [
                _cell(entry.student),
                *(_number(scores.get(s.name, 0.0)) for s in specs),
                _number(report.score),
                _number(report.max_score),
                status(report),
                str(len(report.integrity)),
                _cell(entry.report_path),
                "; ".join(f"{k}={_number(v)}" for k, v in lost_by_clause(report).items()),
            ]
        )
    return out.getvalue()


NO_CLAUSE = "(no clause)"


def lost_by_clause(report: Report) -> dict[str, float]:
    """Points lost per contract clause ("<assignment>/<clause id>"), from the checks' clauses.

    A check that covers several clauses splits its lost points equally among them, so the
    values add up to the points lost in checks; a check that declares no clause counts under
    "(no clause)". A missing file is not a broken clause and counts nowhere here.
    """
    lost: dict[str, float] = {}
    for assignment in report.assignments:
        if assignment.status == "missing":
            continue
        for check in assignment.checks:
            missing = check.max_score - check.score
            if missing <= 0:
                continue
            clauses = check.clauses or [NO_CLAUSE]
            for clause in clauses:
                key = f"{assignment.name}/{clause}"
                lost[key] = round(lost.get(key, 0.0) + missing / len(clauses), 6)
    return dict(sorted(lost.items(), key=lambda item: (-item[1], item[0])))


def _stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None}
    return {
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
    }


def summary(specs: list[AssignmentSpec], entries: list[Entry]) -> dict[str, Any]:
    """Class statistics: score distribution per assignment, how often each check fails, and
    the points the class lost per contract clause (`lost_by_clause`, summed; `students` is how
    many lost points there).

    Means and medians are over every graded student, counting a missing file as 0. A check's
    failure rate is over the students who handed in that assignment's file.
    """
    reports = [e.report for e in entries if e.report is not None]
    counts: dict[str, int] = {}
    for report in reports:
        counts[status(report)] = counts.get(status(report), 0) + 1
    counts[PENDING] = len(entries) - len(reports)
    assignments: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    for spec in specs:
        results = [a for r in reports for a in r.assignments if a.name == spec.name]
        submitted = [a for a in results if a.status != "missing"]
        assignments[spec.name] = {
            "max_score": spec.points,
            "submitted": len(submitted),
            **_stats([a.score for a in results]),
        }
        tally: dict[str, dict[str, Any]] = {}
        for assignment in submitted:
            for check in assignment.checks:
                row = tally.setdefault(
                    check.id, {"id": check.id, "name": check.name, "attempted": 0, "not_passed": 0}
                )
                row["attempted"] += 1
                row["not_passed"] += check.status in NOT_PASSED
        for row in tally.values():
            row["failure_rate"] = round(row["not_passed"] / row["attempted"], 4)
            checks.append({"assignment": spec.name, **row})
    checks.sort(key=lambda c: (-c["failure_rate"], c["id"]))
    clauses: dict[str, dict[str, Any]] = {}
    for report in reports:
        for key, points in lost_by_clause(report).items():
            exercise, _, clause = key.partition("/")
            row = clauses.setdefault(
                key, {"assignment": exercise, "clause": clause, "points_lost": 0.0, "students": 0}
            )
            row["points_lost"] = round(row["points_lost"] + points, 6)
            row["students"] += 1
    totals = [r.score for r in reports]
    return {
        "students": len(entries),
        "status": dict(sorted(counts.items())),
        "max_score": sum(s.points for s in specs),
        "total": _stats(totals),
        "assignments": assignments,
        "checks": checks,
        "clauses": sorted(clauses.values(), key=lambda c: (-c["points_lost"], c["clause"])),
    }
