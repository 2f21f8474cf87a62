"""The message catalogues: both languages cover every key, with the same placeholders, and a
real `--lang ko` grading gives Korean feedback."""

from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path

import pytest

from grader import messages
from grader.messages import LANGUAGES, LOCALES_DIR, NAMES_TABLE
from grader.spec import discover
from tests.conftest import ROOT, SUBMISSIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HANGUL = re.compile("[\uac00-\ud7a3]")
SPECS = discover()


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _engine(lang: str) -> dict[str, str]:
    return tomllib.loads((LOCALES_DIR / f"{lang}.toml").read_text(encoding="utf-8"))


def _assignment(spec, lang: str) -> dict:
    return tomllib.loads((spec.folder / messages.ASSIGNMENT_CATALOGUE).read_text())[lang]


def _same_keys_and_placeholders(english: dict[str, str], other: dict[str, str]) -> None:
    assert sorted(english) == sorted(other)
    for key, text in english.items():
        assert _placeholders(text) == _placeholders(other[key]), key


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_engine_catalogues_cover_the_same_keys(lang):
    _same_keys_and_placeholders(_engine("en"), _engine(lang))


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_assignment_catalogues_cover_the_same_keys(spec, lang):
    english = {k: v for k, v in _assignment(spec, "en").items() if k != NAMES_TABLE}
    other = {k: v for k, v in _assignment(spec, lang).items() if k != NAMES_TABLE}
    _same_keys_and_placeholders(english, other)


def _checks(spec) -> dict[str, str]:
    """Every @check function of an assignment and the first line of its docstring."""
    found = {}
    for path in sorted(spec.checks_dir.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "check"
                for d in node.decorator_list
            ):
                found[node.name] = (ast.get_docstring(node) or "").splitlines()[0]
    return found


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_check_name_is_translated(spec, lang):
    checks = _checks(spec)
    assert checks and all(checks.values())
    assert sorted(messages.check_names(spec.folder, lang)) == sorted(checks)


def _said_keys(path: Path) -> set[str]:
    """Literal keys passed to say(...) in a source file."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "say"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_key_the_engine_says_exists():
    keys = set().union(*(_said_keys(p) for p in (ROOT / "grader").rglob("*.py")))
    assert keys and keys <= set(_engine("en"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_key_a_check_says_exists(spec):
    keys = set().union(*(_said_keys(p) for p in spec.checks_dir.glob("*.py")))
    assert keys <= set(_engine("en")) | set(_assignment(spec, "en"))


def test_a_missing_translation_falls_back_to_english(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / messages.ASSIGNMENT_CATALOGUE).write_text('[en]\nonly_english = "hello {who}"\n')
    messages.set_assignment(folder)
    messages.set_language("ko")
    try:
        assert messages.say("only_english", who="you") == "hello you"
        assert HANGUL.search(messages.say("never_ran"))
    finally:
        messages.set_assignment(None)
        messages.set_language("en")


def test_a_korean_grading_gives_korean_feedback(grade_folder):
    """The same submission graded in English and in Korean: same verdicts, Korean words."""
    english = grade_folder(SUBMISSIONS / "my_linear_transposed")
    korean = grade_folder(SUBMISSIONS / "my_linear_transposed", "--lang", "ko")
    assert korean.report["lang"] == "ko"
    assert korean.report["score"] == english.report["score"]
    failed = 0
    for assignment in korean.report["assignments"]:
        if assignment["status"] == "missing":
            assert HANGUL.search(assignment["message"])
        for check in assignment["checks"]:
            assert english.check(check["id"])["status"] == check["status"]
            assert HANGUL.search(check["name"]), check["name"]
            if check["status"] != "passed":
                failed += 1
                assert HANGUL.search(check["message"]), check["message"]
                assert not check["hint"] or HANGUL.search(check["hint"])
    assert failed == len(english.not_passed()) > 0
    weights = korean.check("my_linear::test_parameter_shapes")
    assert (
        weights["message"]
        == "MyLinear(3, 2).weights의 shape이 (2, 3)입니다. 기대한 shape은 (3, 2)입니다"
    )
    assert "(in_features, out_features)" in weights["hint"]
    assert "weights의 shape은 (in_features, out_features)" in korean.result.output
