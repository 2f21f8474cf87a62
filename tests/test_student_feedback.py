"""What a student reads, graded through the CLI: accelerators hidden, common exceptions and near
misses named, and one root cause said once in every format."""

from __future__ import annotations

from grader.formats import classroom, gradescope, markdown, terminal
from grader.report import Report
from tests.conftest import SUBMISSIONS

DEVICE_LINE = "torch.device('cuda' if torch.cuda.is_available() else 'cpu')"


def _failed(graded, assignment: str) -> list[dict]:
    return [c for c in graded.assignment(assignment)["checks"] if c["status"] != "passed"]


def test_the_lectures_device_code_gets_full_marks_on_the_cpu(grade_folder):
    graded = grade_folder(SUBMISSIONS / "lecture_device")
    for name in ("my_linear", "training_loop"):
        result = graded.assignment(name)
        assert result["score"] == result["max_score"], _failed(graded, name)
    hidden = graded.report["environment"]["hidden_accelerators"]
    for variable in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"):
        assert hidden[variable] == ""


def test_a_hard_coded_cuda_call_gets_the_device_hint(grade_folder):
    graded = grade_folder(SUBMISSIONS / "hardcoded_cuda")
    failed = _failed(graded, "my_linear")
    assert failed
    for check in failed:
        assert DEVICE_LINE in check["hint"], check
        assert "runs on the CPU" in check["hint"]
    # The student code itself runs with the accelerators hidden.
    outputs = [c["output"] for c in graded.assignment("my_linear")["checks"] if c["output"]]
    assert outputs and all("CUDA_VISIBLE_DEVICES=''" in output for output in outputs)


def test_a_float64_weight_gets_the_dtype_advice(grade_folder):
    failed = _failed(grade_folder(SUBMISSIONS / "float64_weights"), "my_linear")
    raised = [c for c in failed if "same dtype" in c["message"]]
    assert raised and all("float64" in c["hint"] for c in raised)


def test_a_misspelt_attribute_is_named_from_the_sandboxs_data(grade_folder):
    failed = _failed(grade_folder(SUBMISSIONS / "attribute_typo"), "my_linear")
    raised = [c for c in failed if "has no attribute 'weights'" in c["message"]]
    assert raised
    for check in raised:
        assert check["hint"] == "`MyLinear` has `weight`, not `weights`: singular or plural?"


NEAR_MISS = "my_linear.py defines `MyLiner`, not `MyLinear`: a typo?"


def test_a_misspelt_class_is_one_root_cause_in_every_format(grade_folder):
    graded = grade_folder(SUBMISSIONS / "near_miss_class")
    checks = graded.assignment("my_linear")["checks"]
    # report.json keeps every check's own verdict, with the shared cause marked.
    assert {c["cause"] for c in checks} == {"missing:MyLinear"}
    assert all(c["hint"] == NEAR_MISS for c in checks)
    report = Report.model_validate(graded.report)
    for student in (True, False):
        shown = terminal.render(report, student=student)
        assert shown.count("typo?") == 1, shown
        assert f"This stops all {len(checks)} checks of this assignment." in shown
        assert markdown.render(report, student).count("typo?") == 1
        tests = classroom.result(report, student)["tests"]
        assert sum("typo?" in t["message"] for t in tests) == 1
        results = gradescope.results(report, student)
        assert NEAR_MISS in results["output"]
        assert not any("typo?" in t["output"] for t in results["tests"])
    # Classroom's points still add up: the root-cause entry scores nothing.
    assert sum(t["score"] for t in classroom.result(report)["tests"]) == report.score


def test_an_import_error_is_said_once_and_lists_the_checks(grade_folder):
    graded = grade_folder(SUBMISSIONS / "syntax_error")
    report = Report.model_validate(graded.report)
    message = graded.assignment("my_linear")["checks"][0]["message"]
    assert "could not be imported" in message
    shown = terminal.render(report)
    assert shown.count("could not be imported") == 1
    assert markdown.render(report).count("could not be imported") == 1
    tests = classroom.result(report)["tests"]
    assert sum("could not be imported" in t["message"] for t in tests) == 1


def test_the_near_miss_in_korean(grade_folder):
    graded = grade_folder(SUBMISSIONS / "near_miss_class", "--lang", "ko", "-a", "my_linear")
    hint = graded.assignment("my_linear")["checks"][0]["hint"]
    assert "`MyLiner`" in hint and "오타" in hint


def test_an_import_that_hangs_is_one_root_cause(grade_folder, tmp_path):
    """Written here, not under submissions/: with the default deadline it costs minutes."""
    (tmp_path / "my_linear.py").write_text("import torch\n\nwhile True:\n    pass\n")
    graded = grade_folder(tmp_path, "--timeout", "1", "-a", "my_linear")
    checks = graded.assignment("my_linear")["checks"]
    # Two deadlines at most: after the second timeout the other checks are not run.
    timed_out = [c for c in checks if c["status"] == "timeout"]
    assert len(timed_out) == 2 and {c["status"] for c in checks} == {"timeout", "not_run"}
    assert {c["cause"] for c in timed_out} == {"import-timeout"}
    assert checks[0]["message"] == "my_linear.py did not finish importing within 1 s"
    shown = terminal.render(Report.model_validate(graded.report))
    assert shown.count("did not finish importing") == 1
    assert 'if __name__ == "__main__":' in shown
