"""The mutant docstring format: parsed in one place, with errors that name the file."""

from __future__ import annotations

import ast

import pytest

from grader import mutants
from grader.mutants import MutantError, load_mutant, mentions_module, parse_docstring
from grader.report import CATEGORIES
from grader.spec import discover
from tests.conftest import REFERENCE

WHERE = "assignments/demo/mutants/demo.py"


def test_a_full_docstring_is_parsed():
    description, catches, hint = parse_docstring(
        "The weights are transposed.\n\nMore prose: it is fine.\n\ncatches: shapes, values\n"
        "hint: are the weights\n",
        WHERE,
    )
    assert description == "The weights are transposed."
    assert catches == ("shapes", "values")
    assert hint == "are the weights"


def test_hint_is_optional():
    assert parse_docstring("A mistake.\n\ncatches: api\n", WHERE) == ("A mistake.", ("api",), "")


@pytest.mark.parametrize(
    ("docstring", "problem"),
    [
        (None, "must start with a one-line description"),
        ("", "must start with a one-line description"),
        ("A mistake.\n", "has no 'catches:' line"),
        ("A mistake.\n\ncatches:\n", "names no category"),
        ("A mistake.\n\ncatches: api, speed\n", "unknown category speed"),
        ("A mistake.\n\ncatches: api, api\n", "names a category twice"),
        ("A mistake.\n\ncatches: api\ncatches: values\n", "'catches:' appears twice"),
        ("A mistake.\n\ncatches: api\nhints: bias\n", "unknown field 'hints:'"),
        ("A mistake.\n\ncatches: api\nhint:\n", "'hint:' is empty"),
    ],
)
def test_malformed_docstrings_name_the_file_and_the_problem(docstring, problem):
    with pytest.raises(MutantError) as error:
        parse_docstring(docstring, WHERE)
    assert str(error.value).startswith(WHERE + ": ")
    assert problem in str(error.value)


def test_a_file_that_is_not_python_names_its_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text('"""A mistake.\n\ncatches: api\n"""\ndef f(:\n')
    with pytest.raises(MutantError, match=rf"{path}: not valid Python \(line 5"):
        load_mutant(path, "demo")


def test_mentions_module_sees_imports_strings_and_nothing_else():
    assert mentions_module("from my_linear import MyLinear\n", "my_linear")
    assert mentions_module("import my_linear as m\n", "my_linear")
    assert mentions_module("importlib.import_module('my_linear')\n", "my_linear")
    assert not mentions_module("import my_linear_helpers\nx = not_my_linear\n", "my_linear")


def test_feedback_match_is_case_insensitive_and_per_check():
    assert mutants.feedback_contains("Gradients accumulate", ["x\ngradients ACCUMULATE: call"])
    assert not mutants.feedback_contains("gradients accumulate", ["gradients", "accumulate"])


def _check_categories(spec) -> set[str]:
    """The categories of an assignment's checks, read from its @check decorators."""
    found = set()
    for path in spec.checks_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check":
                found |= {
                    kw.value.value
                    for kw in node.keywords
                    if kw.arg == "category" and isinstance(kw.value, ast.Constant)
                }
    return found


@pytest.mark.parametrize("spec", discover(), ids=lambda spec: spec.name)
def test_every_assignment_ships_eight_wellformed_mutants(spec):
    shipped = mutants.discover(spec)
    assert len(shipped) >= 8
    categories = _check_categories(spec)
    assert categories <= set(CATEGORIES)
    for mutant in shipped:
        assert mutant.assignment == spec.name
        assert set(mutant.catches) <= categories, mutant.path
        assert mutant.path.read_bytes() != (REFERENCE / spec.student_file).read_bytes()
