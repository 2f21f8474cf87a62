"""The gradebook, the summary and the progress display, as pure functions of reports."""

from __future__ import annotations

import csv
import io

from grader.batch import gradebook
from grader.batch.gradebook import Entry
from grader.batch.progress import Progress
from grader.report import AssignmentResult, CheckResult, Environment, Report, Submission
from grader.spec import select

ENV = Environment(grader_version="0", python_version="3", torch_version="2", platform="x")


def _report(scores: dict[str, tuple[str, list[str]]], problems: list[str] | None = None) -> Report:
    """A report whose assignments have the given status and check statuses (1 point each)."""
    report = Report(
        submission=Submission(path="p", problems=problems or []), environment=ENV, complete=True
    )
    for spec in select([]):
        status, checks = scores.get(spec.name, ("missing", []))
        report.assignments.append(
            AssignmentResult(
                name=spec.name,
                title=spec.title,
                file=spec.student_file,
                status=status,  # type: ignore[arg-type]
                score=0,
                max_score=spec.points,
                checks=[
                    CheckResult(
                        id=f"{spec.name}::c{i}",
                        name=f"check {i}",
                        category="values",
                        status=s,  # type: ignore[arg-type]
                        score=1.0 if s == "passed" else 0.0,
                        max_score=1.0,
                    )
                    for i, s in enumerate(checks)
                ],
            )
        )
    report.recompute()
    return report


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_status_of_a_report():
    assert gradebook.status(_report({"my_linear": ("graded", ["passed"])})) == "graded"
    assert gradebook.status(_report({})) == "missing"
    assert gradebook.status(_report({}, problems=["the archive was refused"])) == "rejected"
    assert gradebook.status(_report({"my_linear": ("error", [])})) == "error"
    unfinished = _report({"my_linear": ("graded", ["passed"])})
    unfinished.complete = False
    assert gradebook.status(unfinished) == "error"


def test_rows_are_sorted_pending_is_shown_and_formulas_are_defused():
    specs = select([])
    entries = [
        Entry("zed", _report({"my_linear": ("graded", ["passed", "failed"])}), "zed/report.json"),
        Entry("=HYPERLINK(1)", _report({}), "=HYPERLINK(1)/report.json"),
        Entry("amy", None, "amy/report.json"),
    ]
    rows = _rows(gradebook.render_csv(specs, entries))
    assert [r["student"] for r in rows] == ["'=HYPERLINK(1)", "amy", "zed"]
    assert rows[0]["report"].startswith("'=")
    assert rows[1]["status"] == "pending" and rows[1]["total"] == ""
    assert (rows[2]["my_linear"], rows[2]["total"], rows[2]["status"]) == ("1", "1", "graded")


def test_summary_rates_count_only_students_who_handed_the_file_in():
    specs = select([])
    entries = [
        Entry("a", _report({"my_linear": ("graded", ["passed", "failed"])}), ""),
        Entry("b", _report({"my_linear": ("graded", ["timeout", "failed"])}), ""),
        Entry("c", _report({}), ""),
        Entry("d", None, ""),
    ]
    summary = gradebook.summary(specs, entries)
    assert summary["students"] == 4
    assert summary["status"] == {"graded": 2, "missing": 1, "pending": 1}
    assert summary["assignments"]["my_linear"] == {
        "max_score": 10.0,
        "submitted": 2,
        "mean": round((1 + 0 + 0) / 3, 4),
        "median": 0.0,
    }
    rates = {c["id"]: (c["failure_rate"], c["attempted"]) for c in summary["checks"]}
    assert rates == {"my_linear::c1": (1.0, 2), "my_linear::c0": (0.5, 2)}
    assert summary["checks"][0]["id"] == "my_linear::c1"


def test_progress_bar_on_a_terminal_and_lines_elsewhere():
    tty = io.StringIO()
    bar = Progress(4, tty, tty=True, already_done=1)
    bar.advance("alice", "30/30 graded")
    bar.close()
    drawn = tty.getvalue()
    assert "2/4" in drawn and "alice" in drawn and "\x1b[" in drawn
    plain = io.StringIO()
    lines = Progress(2, plain, tty=False)
    lines.advance("bob", "12/30 graded")
    assert plain.getvalue() == "1/2 bob: 12/30 graded\n"


def test_points_lost_per_clause():
    report = _report({"my_linear": ("graded", ["failed", "failed", "passed"])})
    checks = report.assignment("my_linear").checks
    checks[0].clauses = ["forward-values", "forward-shape"]
    checks[1].clauses = []
    checks[2].clauses = ["class-module"]
    missing = _report({})
    assert gradebook.lost_by_clause(report) == {
        "my_linear/(no clause)": 1.0,
        "my_linear/forward-shape": 0.5,
        "my_linear/forward-values": 0.5,
    }
    assert gradebook.lost_by_clause(missing) == {}
    entries = [Entry("a", report, "a/report.json"), Entry("b", missing, "b/report.json")]
    rows = _rows(gradebook.render_csv(select([]), entries))
    assert rows[0]["clauses_lost"] == (
        "my_linear/(no clause)=1; my_linear/forward-shape=0.5; my_linear/forward-values=0.5"
    )
    assert rows[1]["clauses_lost"] == ""
    summary = gradebook.summary(select([]), entries)
    assert summary["clauses"][0] == {
        "assignment": "my_linear",
        "clause": "(no clause)",
        "points_lost": 1.0,
        "students": 1,
    }
