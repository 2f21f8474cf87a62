"""Every report format against its contract, rendered from real grading runs of fixture folders.

Renderers are pure functions of the `Report`, so most tests render reports that the session's
`grade_folder` cache already holds. One run goes through the CLI as GitHub Actions would drive
it, with `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` pointing at temporary files, on a hostile
submission whose error messages and printed output try to break every format.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from click.testing import CliRunner
from markdown_it import MarkdownIt

from grader.cli import main
from grader.formats import classroom, gradescope, junit, markdown, registry, terminal, views
from grader.messages import template
from grader.report import Report
from tests.conftest import REFERENCE, SUBMISSIONS

SCHEMAS = Path(__file__).resolve().parent / "schemas"
HOSTILE = SUBMISSIONS / "hostile_feedback"
TRANSPOSED = SUBMISSIONS / "my_linear_transposed"
HIDDEN_ID = "my_linear::test_output_shape_3d"
HIDDEN_CALL = "with x of shape (2, 5, 3)"
HIDDEN_NAME = "forward keeps any number of leading dimensions"
FORMATS = ("classroom", "gradescope", "junit", "markdown")
ENV_LIMIT = 128 * 1024


def _report(graded: Any) -> Report:
    return Report.model_validate(graded.report)


@pytest.fixture(scope="module")
def actions_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hostile submission graded through the CLI as a GitHub Actions step would run it."""
    root = tmp_path_factory.mktemp("actions")
    github_output = root / "github_output"
    step_summary = root / "step_summary"
    github_output.write_text("earlier=kept\n")
    step_summary.write_text("earlier summary\n")
    out = root / "out"
    env = {
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_STEP_SUMMARY": str(step_summary),
        "NO_COLOR": None,
    }
    args = ["submit", str(HOSTILE), "--out", str(out)]
    for name in FORMATS:
        args += ["--format", name]
    result = CliRunner(env=env).invoke(main, args, catch_exceptions=False)
    report = Report.model_validate_json((out / "report.json").read_text())
    return {
        "result": result,
        "out": out,
        "report": report,
        "github_output": github_output.read_text(),
        "step_summary": step_summary.read_text(),
    }


def _graded_reports(grade_folder: Any) -> dict[str, Report]:
    return {
        "reference": _report(grade_folder(REFERENCE)),
        "transposed": _report(grade_folder(TRANSPOSED)),
        "only_my_linear": _report(grade_folder(SUBMISSIONS / "only_my_linear")),
        "no_zero_grad": _report(grade_folder(SUBMISSIONS / "training_loop_no_zero_grad")),
        "infinite_loop": _report(grade_folder(SUBMISSIONS / "infinite_loop", "--timeout", "1")),
    }


@pytest.fixture(scope="module")
def reports(grade_folder: Any, actions_run: dict[str, Any]) -> dict[str, Report]:
    return {**_graded_reports(grade_folder), "hostile": actions_run["report"]}


def _decode(line: str) -> dict[str, Any]:
    assert line.startswith(f"{classroom.OUTPUT_NAME}=") and "\n" not in line.rstrip("\n")
    return json.loads(base64.b64decode(line.split("=", 1)[1].strip(), validate=True))


def _reporter_sum(result: dict[str, Any]) -> float:
    """What the reporter action computes: a left-to-right float sum of `tests[].score` from 0."""
    total = 0.0
    for test in result["tests"]:
        total += test["score"]
    return total


def _all_checks(report: Report) -> list[Any]:
    return [check for assignment in report.assignments for check in assignment.checks]


# --- GitHub Classroom ---------------------------------------------------------------------------


def test_classroom_step_appends_output_and_summary_and_exits_zero(actions_run):
    assert actions_run["result"].exit_code == 0, actions_run["result"].output
    lines = actions_run["github_output"].splitlines()
    assert lines[0] == "earlier=kept" and len(lines) == 2
    result = _decode(lines[1])
    assert _reporter_sum(result) == actions_run["report"].score
    summary = actions_run["step_summary"]
    assert summary.startswith("earlier summary\n")
    assert summary[len("earlier summary\n") :] == markdown.render(actions_run["report"], True)
    written = {p.name for p in actions_run["out"].iterdir()}
    assert {"report.json", "results.json", "junit.xml", "report.md"} <= written
    assert {classroom.OUTPUT_FILENAME, classroom.SUMMARY_FILENAME} <= written


@pytest.mark.parametrize(
    "name",
    ["reference", "transposed", "only_my_linear", "no_zero_grad", "infinite_loop", "hostile"],
)
def test_classroom_result_invariants(reports, name):
    report = reports[name]
    line = classroom.render_output(report)
    result = _decode(line)
    assert result == classroom.result(report)
    assert set(result) == {"version", "status", "max_score", "tests"}
    assert result["max_score"] == report.max_score
    assert isinstance(result["tests"], list) and result["tests"]
    for test in result["tests"]:
        assert set(test) >= {"name", "status", "score", "message", "line_no", "test_code"}
        assert type(test["score"]) in (int, float)
        assert type(test["line_no"]) is int
        assert test["status"] in {"pass", "fail", "error"}
    assert _reporter_sum(result) == report.score
    assert len(line) < classroom.MAX_ENCODED_BYTES + 16 < ENV_LIMIT
    expected = {"reference": "pass", "infinite_loop": "fail"}.get(name, "fail")
    assert result["status"] == expected


def test_classroom_missing_assignments_still_count(reports):
    result = classroom.result(reports["only_my_linear"])
    missing = [t for t in result["tests"] if t["filename"] in ("training_loop.py", "scratch_lr.py")]
    assert [t["status"] for t in missing] == ["fail", "fail"]
    assert all("not found" in t["message"] for t in missing)
    report = reports["only_my_linear"]
    assert _reporter_sum(result) == 10 and result["max_score"] == report.max_score


def test_classroom_cuts_long_feedback_and_says_so(reports):
    report = reports["hostile"]
    assert sum(len(c.message) for c in _all_checks(report)) > classroom.MAX_ENCODED_BYTES
    result = classroom.result(report)
    assert len(classroom.encode(result)) <= classroom.MAX_ENCODED_BYTES
    note = template("feedback_cut").split("{count}")[1]
    cut = [t for t in result["tests"] if note in t["message"]]
    assert len(cut) >= 20
    assert _reporter_sum(result) == report.score == 0


def test_classroom_result_is_inert(reports):
    result = classroom.result(reports["hostile"])
    for test in result["tests"]:
        assert not re.search(r"^\s*::", test["message"], re.MULTILINE)
        assert not re.search(r"[\x00-\x08\x1b]", test["message"] + test["name"])


def test_classroom_hides_hidden_checks(reports):
    report = reports["transposed"]
    student = json.dumps(classroom.result(report))
    assert HIDDEN_NAME not in student and HIDDEN_CALL not in student
    hidden = [t for t in classroom.result(report)["tests"] if "Hidden check 8" in t["name"]]
    assert len(hidden) == 1 and hidden[0]["score"] == 0 and hidden[0]["status"] == "fail"
    assert hidden[0]["message"] == template("hidden_check_feedback")
    instructor = json.dumps(classroom.result(report, student=False))
    assert HIDDEN_NAME in instructor and HIDDEN_CALL in instructor


def test_classroom_sum_is_exact_with_fractional_points(reports):
    """Points like 0.1 do not add up exactly in floating point; the reporter must still see X."""
    report = reports["reference"].model_copy(deep=True)
    # A point value whose naive sum over these checks is inexact (which depends on how many
    # checks there are), so that the test proves something.
    for points in (0.1, 0.7, 0.3, 0.01):
        for check in _all_checks(report):
            check.max_score = check.score = points
        for assignment in report.assignments:
            assignment.max_score = round(sum(c.max_score for c in assignment.checks), 6)
        report.recompute()
        naive = 0.0
        for check in _all_checks(report):
            naive += check.score
        if naive != report.score:
            break
    assert naive != report.score
    assert _reporter_sum(classroom.result(report)) == report.score


def test_runner_id_matches_the_reporter_rules():
    assert re.fullmatch(r"[a-zA-Z0-9]+", classroom.RUNNER_ID)


# --- Gradescope -------------------------------------------------------------------------------


GRADESCOPE_TOP = {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
GRADESCOPE_TEST = {"name", "number", "score", "max_score", "status", "output", "tags", "visibility"}


@pytest.mark.parametrize("name", ["reference", "transposed", "only_my_linear", "hostile"])
def test_gradescope_results_follow_the_spec(reports, name):
    report = reports[name]
    schema = json.loads((SCHEMAS / "gradescope-results.schema.json").read_text())
    results = json.loads(gradescope.render(report))
    jsonschema.validate(results, schema)
    assert set(results) == GRADESCOPE_TOP
    assert results["score"] == report.score
    assert sum(t["score"] for t in results["tests"]) == report.score
    assert sum(t["max_score"] for t in results["tests"]) == report.max_score
    numbers = [t["number"] for t in results["tests"]]
    assert len(set(numbers)) == len(numbers)
    for test in results["tests"]:
        assert set(test) == GRADESCOPE_TEST
        assert re.fullmatch(r"\d+\.\d+", test["number"])
        assert (test["status"] == "passed") == (test["score"] == test["max_score"] > 0)


def test_gradescope_redacts_hidden_and_leaves_timing_to_gradescope(reports):
    report = reports["transposed"].model_copy(deep=True)
    timed = report.assignment("my_linear").checks[0]
    timed.visibility = "after_due_date"
    tests = {t["number"]: t for t in gradescope.results(report)["tests"]}
    hidden = tests["1.8"]
    assert hidden["name"] == "my_linear: Hidden check 8" and hidden["visibility"] == "hidden"
    (withheld,) = [c for c in report.assignment("my_linear").checks if c.visibility == "hidden"]
    assert HIDDEN_CALL not in hidden["output"] and hidden["max_score"] == withheld.max_score > 0
    assert tests["1.1"]["name"].endswith(timed.name)
    assert tests["1.1"]["visibility"] == "after_due_date"
    full = {t["number"]: t for t in gradescope.results(report, student=False)["tests"]}
    assert HIDDEN_CALL in full["1.8"]["output"] and full["1.8"]["visibility"] == "hidden"
    student_md = markdown.render(report, student=True)
    assert timed.name not in student_md and "Hidden check 1" in student_md


# --- JUnit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["reference", "transposed", "only_my_linear", "infinite_loop", "hostile"]
)
def test_junit_is_valid_and_counts_match(reports, name):
    report = reports[name]
    document = junit.render(report)
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(document.decode())
    root = ET.fromstring(document)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [a.name for a in report.assignments]
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite, assignment in zip(suites, report.assignments, strict=True):
        cases = suite.findall("testcase")
        statuses = [c.status for c in assignment.checks] or ["failed"]
        expected = {
            "tests": len(statuses),
            "failures": statuses.count("failed"),
            "errors": statuses.count("error") + statuses.count("timeout"),
            "skipped": statuses.count("skipped") + statuses.count("not_run"),
        }
        assert {k: int(suite.get(k)) for k in expected} == expected
        assert len(cases) == expected["tests"]
        assert {c.get("classname") for c in cases} == {assignment.name}
        for case, check in zip(cases[: len(assignment.checks)], assignment.checks, strict=True):
            outcome = junit.OUTCOME.get(check.status)
            element = case.find(outcome) if outcome else None
            assert (element is not None) == (outcome is not None)
            if element is not None and check.message:
                assert element.get("message")
        for key in totals:
            totals[key] += expected[key]
    assert {k: int(root.get(k)) for k in totals} == totals


def test_junit_timeouts_are_errors(reports):
    root = ET.fromstring(junit.render(reports["infinite_loop"]))
    errors = root.findall(".//error[@type='timeout']")
    timed_out = [c for c in _all_checks(reports["infinite_loop"]) if c.status == "timeout"]
    assert len(errors) == len(timed_out) >= 2
    assert all("did not finish within 1 s" in e.get("message") for e in errors)


# --- Markdown ---------------------------------------------------------------------------------


def _tokens(source: str) -> list[Any]:
    parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")

    def walk(tokens: list[Any]) -> Any:
        for token in tokens:
            yield token
            yield from walk(token.children or [])

    return list(walk(parser.parse(source)))


@pytest.mark.parametrize("name", ["transposed", "hostile", "only_my_linear"])
def test_markdown_structure_survives_student_text(reports, name):
    report = reports[name]
    source = markdown.render(report)
    tokens = _tokens(source)
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_inline", "html_block", "link_open", "image", "code_block"}
    headings = [t for t in tokens if t.type == "heading_open"]
    with_feedback = [a for a in report.assignments if any(c.status != "passed" for c in a.checks)]
    notes = 1 if report.submission.problems else 0
    assert len(headings) == 1 + len(report.assignments) + len(with_feedback) + notes
    fences = [t for t in tokens if t.type == "fence"]
    shown = views.for_reader(report, student=True)
    assert len(fences) == sum(1 for c in _all_checks(shown) if c.output)
    for row in (line for line in source.splitlines() if line.startswith("| ")):
        unescaped_pipes = len(re.findall(r"(?<!\\)\|", row))
        assert unescaped_pipes == 5, row
    assert f"# Autograder results: {views.points(report.score, report.max_score)}" in source


def test_markdown_keeps_hostile_text_visible_but_inert(reports):
    tokens = _tokens(markdown.render(reports["hostile"]))
    text = "".join(t.content for t in tokens if t.type == "text")
    assert "<script>alert(1)</script>" in text and "[click](https://example.invalid)" in text
    assert "\x1b" not in text and "\x00" not in text
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())


def test_markdown_student_view_redacts_hidden_checks(reports):
    report = reports["no_zero_grad"]
    adam = report.assignment("training_loop").checks[2]
    assert adam.visibility == "hidden" and adam.status == "failed"
    adam_call = "Adam(lr=0.05), 6)"
    assert adam_call in adam.message
    student = markdown.render(report)
    assert adam.name not in student and adam_call not in student
    assert "Hidden check 3" in student and template("hidden_check_feedback") in student
    assert adam_call in markdown.render(report, student=False)


# --- terminal and CLI ---------------------------------------------------------------------------


def test_terminal_lists_failures_first_and_ends_with_the_total(reports):
    output = terminal.render(reports["transposed"], color=False)
    lines = output.splitlines()
    report = reports["transposed"]
    percent = round(100 * report.score / report.max_score)
    assert lines[-1].startswith(f"Total: 23/{report.max_score:g} ({percent}%)")
    assert "\x1b[" not in output
    my_linear = lines[1 : lines.index("")]
    marks = [line.split()[0] for line in my_linear if line.startswith("  ") and line[2] != " "]
    assert marks == sorted(marks, key=lambda mark: mark == "✓") and "✗" in marks
    assert "\x1b[" in terminal.render(reports["transposed"], color=True)


def test_terminal_output_of_hostile_text_is_inert(actions_run):
    output = actions_run["result"].output
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", output)
    assert not any(line.lstrip().startswith("::") for line in output.splitlines())
    assert HIDDEN_CALL not in output and "Hidden check 8" in output


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),
        (False, {}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(tty, environ, expected):
    assert terminal.color_enabled(_Stream(tty), environ) is expected


def test_format_views_and_unknown_format(tmp_path):
    assert [registry.student_view(n, None) for n in FORMATS] == [True, True, False, True]
    assert registry.student_view("junit", True) and not registry.student_view("classroom", False)
    assert registry.terminal_student_view(["classroom"], None)
    assert not registry.terminal_student_view(["markdown", "junit"], None)
    assert not registry.terminal_student_view(["classroom"], False)
    result = CliRunner().invoke(main, ["submit", str(REFERENCE), "--format", "pdf"])
    assert result.exit_code == 2 and "'pdf' is not one of" in result.output


def test_outside_actions_files_go_to_out(reports, tmp_path):
    written = registry.write(reports["reference"], tmp_path, ["classroom", "json"], None, {})
    assert sorted(p.name for p in written) == sorted(
        [classroom.OUTPUT_FILENAME, classroom.SUMMARY_FILENAME, "report.json"]
    )
    result = _decode((tmp_path / classroom.OUTPUT_FILENAME).read_text())
    assert result["status"] == "pass"
    assert _reporter_sum(result) == reports["reference"].score == reports["reference"].max_score


def _colour_decision_on_a_real_terminal(no_color: str | None) -> str:
    """Ask the CLI's own colour decision from a process whose stdout is a pseudo-terminal."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color is not None:
        env["NO_COLOR"] = no_color
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from grader.cli import _color_enabled; print(_color_enabled())",
            ],
            stdout=follower,
            env=env,
            check=True,
            timeout=60,
        )
        return os.read(leader, 100).decode().strip()
    finally:
        os.close(leader)
        os.close(follower)


def test_colour_decision_on_a_real_terminal():
    assert _colour_decision_on_a_real_terminal(None) == "True"
    assert _colour_decision_on_a_real_terminal("1") == "False"


def test_terminal_says_a_repeated_reason_once(grade_folder):
    """An import error fails every check of the assignment the same way; say it once."""
    report = _report(grade_folder(SUBMISSIONS / "syntax_error"))
    output = terminal.render(report, color=False)
    failed = [c for c in report.assignment("my_linear").checks if c.status == "failed"]
    assert len(failed) == len(report.assignment("my_linear").checks) > 1
    assert output.count("my_linear.py could not be imported: SyntaxError") == 1
    assert output.count(template("report_same_as_above")) == len(failed) - 1
