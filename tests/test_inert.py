"""Inert everywhere: no bidi, invisible or control character and no workflow command gets
from student text into any format or the terminal (Trojan Source, issue 10).

The checker here is independent of the code under test: it asks `unicodedata` for the
categories a reader cannot see (controls, format characters, surrogates, line and paragraph
separators) rather than reusing the grader's own character class.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.formats import terminal, text
from tests.conftest import SUBMISSIONS, run_cli

TROJAN = SUBMISSIONS / "hostile_trojan"
INVISIBLE_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u034f", "\u17b4", "\u17b5"}
FORMATS = ("classroom", "gradescope", "junit", "markdown")


def raw_unsafe(value: str) -> list[str]:
    """Characters a reader cannot see or that reorder the text around them."""
    found = []
    for char in value:
        category = unicodedata.category(char)
        if char in "\t\n":
            continue
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp") or char in INVISIBLE_LETTERS:
            found.append(char)
    return found


def assert_inert(value: str, where: str, allow_double_colon: bool = False) -> None:
    assert not raw_unsafe(value), (where, raw_unsafe(value)[:5])
    assert "##[" not in value, where
    for line in value.splitlines():
        assert not line.lstrip().startswith("::"), (where, line)
    if not allow_double_colon:
        assert "::" not in value, where


# --- the function -------------------------------------------------------------------------------

hostile_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(
            [":", "::", "#", "##[", "\u200b", "\u202e", "\u2028", "\n", " ", "\\", "\udcff"]
        ),
    ),
    max_size=120,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(hostile_text)
def test_inert_is_idempotent_and_leaves_nothing_raw(value):
    once = text.inert(value)
    assert text.inert(once) == once
    assert_inert(once, "inert")
    name = text.inert_name(value)
    assert text.inert_name(name) == name and "\n" not in name and "\t" not in name


@settings(max_examples=200, deadline=None)
@given(hostile_text, st.integers(min_value=2, max_value=40))
def test_inert_text_survives_rewrapping(value, width):
    """Wrapping after inert can cut a line anywhere; no line may become a command."""
    for line in textwrap.wrap(" ".join(text.inert(value).split()), width):
        assert_inert(line, "wrapped")
    for line in terminal.wrapped(value, width=max(width, 10)):
        assert_inert(line, "terminal.wrapped")


def test_every_invisible_character_python_knows_is_escaped():
    for code in range(0x110000):
        char = chr(code)
        if raw_unsafe(char):
            assert text.visible_controls(char) != char, hex(code)


def test_escapes_are_readable_and_the_old_zero_width_defusing_is_undone():
    assert text.inert("\u202eabc") == "\\u202eabc"
    assert text.inert("\x1b[2J") == "\\x1b[2J"
    assert text.inert("a\udcffb") == "a\\xffb"
    assert text.inert("\U000e0041") == "\\U000e0041"
    assert text.inert("x ::notice::y") == "x : :notice: :y"
    assert text.inert(":\u200b:notice") == ":\\u200b:notice"
    assert text.inert("###[x") == "## #[x"
    assert text.inert("ok\ttab\nline") == "ok\ttab\nline"
    assert text.inert_name("a\nb\tc.py") == "a\\x0ab\\x09c.py"


# --- every format, end to end -------------------------------------------------------------------


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, dict):
        for name, item in value.items():
            yield name, name
            yield from _strings(item, name)


@pytest.fixture(scope="module")
def trojan(tmp_path_factory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("trojan")
    args = ["submit", TROJAN, "--out", out, "-a", "my_linear", "-a", "training_loop"]
    for name in FORMATS:
        args += ["--format", name]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return {"out": out, "terminal": result.output}


def test_the_trojan_fixture_really_prints_trojan_source(trojan):
    report = json.loads((trojan["out"] / "report.json").read_text())
    outputs = [c["output"] for a in report["assignments"] for c in a["checks"]]
    assert any("\\u202e03/03 :erocs\\u202c" in o for o in outputs)
    messages = [c["message"] for a in report["assignments"] for c in a["checks"]]
    assert any("\\u2066Points 30/30\\u2069" in m for m in messages)
    training = next(a for a in report["assignments"] if a["name"] == "training_loop")
    assert training["score"] == training["max_score"] > 0


def test_report_json_is_inert(trojan):
    data = json.loads((trojan["out"] / "report.json").read_text())
    for key, value in _strings(data):
        assert_inert(value, f"report.json {key}", allow_double_colon=key == "id")


def test_gradescope_results_are_inert(trojan):
    raw = (trojan["out"] / "results.json").read_text()
    data = json.loads(raw)
    assert any("\\u202e" in value for _, value in _strings(data))
    for key, value in _strings(data):
        assert_inert(value, f"results.json {key}")


def test_classroom_output_and_summary_are_inert(trojan):
    line = (trojan["out"] / "classroom-output.txt").read_text()
    assert line.startswith("result=") and line.count("\n") == 1
    data = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert any("\\u202e" in value for _, value in _strings(data))
    for key, value in _strings(data):
        assert_inert(value, f"classroom {key}")
    summary = (trojan["out"] / "classroom-summary.md").read_text()
    assert "u202e" in summary
    assert_inert(summary, "classroom-summary.md")


def test_markdown_is_inert(trojan):
    source = (trojan["out"] / "report.md").read_text()
    assert "u202e" in source
    assert_inert(source, "report.md")


def test_junit_is_inert(trojan):
    raw = (trojan["out"] / "junit.xml").read_bytes().decode()
    assert_inert(raw, "junit.xml")
    root = ET.fromstring(raw.encode())
    seen = []
    for element in root.iter():
        for value in [element.text or "", *element.attrib.values()]:
            seen.append(value)
            assert_inert(value, f"junit <{element.tag}>")
    assert any("\\u202e" in value for value in seen)


def test_terminal_is_inert_and_ends_with_the_real_total(trojan):
    output = trojan["terminal"]
    assert "u202e" in output
    assert_inert(output, "terminal")
    report = json.loads((trojan["out"] / "report.json").read_text())
    total = f"Total: {report['score']:g}/{report['max_score']:g}"
    assert [line for line in output.splitlines() if line.startswith("Total: ")] == [
        next(line for line in output.splitlines() if line.startswith(total))
    ]


def test_terminal_output_lines_never_start_a_command_whatever_the_width():
    message = "see ::notice title=x::Points 30/30 " * 5 + "and ##[error]x " * 3
    for width in range(10, 60):
        for line in terminal.wrapped(message, width=width):
            assert not re.match(r"\s*::", line) and "##[" not in line and "::" not in line
