"""The terminal summary on rich: columns line up by display width, student text stays text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from wcwidth import wcswidth

from grader.formats import terminal
from grader.report import Report

ANSI = re.compile(r"\x1b\[[0-9;]*m")
AMBIGUOUS = "… → × ·"


def _report(lang: str, names: list[str], message: str = "") -> Report:
    checks: list[dict[str, Any]] = [
        {
            "id": f"my_linear::c{i}",
            "name": name,
            "category": "values",
            "status": "failed" if i % 2 else "passed",
            "score": 0.0 if i % 2 else 1.5,
            "max_score": 1.5 if i % 3 else 10.0,
            "message": message or f"{name} 실패 {AMBIGUOUS}" if i % 2 else "",
        }
        for i, name in enumerate(names)
    ]
    return Report.model_validate(
        {
            "lang": lang,
            "complete": True,
            "assignments": [
                {
                    "name": "my_linear",
                    "title": "MyLinear: nn.Parameter로 만든 선형 층",
                    "file": "my_linear.py",
                    "status": "graded",
                    "score": 0.0,
                    "max_score": 10.0,
                    "checks": checks,
                }
            ],
            "submission": {"path": "s"},
            "environment": {
                "grader_version": "0",
                "python_version": "3",
                "torch_version": "2",
                "platform": "p",
            },
        }
    )


NAMES = [
    "weights의 shape은 (in_features, out_features)입니다.",
    "MyLinear는 torch.nn.Module입니다.",
    f"forward는 앞쪽 차원을 그대로 둡니다 {AMBIGUOUS}",
    "가나다라마바사아자차카타파하 가나다라마바사아자차카타파하 가나다라마바사",
    "ASCII only",
]


@pytest.mark.parametrize("width", [None, 60, 100])
def test_korean_rows_line_up_by_display_width(width):
    output = terminal.render(_report("ko", NAMES), width=width)
    rows = [line for line in output.splitlines() if line[:2] == "  " and line[2:3] in ("✓", "✗")]
    assert len(rows) == len(NAMES)
    starts = set()
    for row in rows:
        name = next(n for n in NAMES if row.endswith(n[:8]) or n[:8] in row)
        starts.add(wcswidth(row[: row.index(name[:8])]))
    assert len(starts) == 1, starts
    if width is not None:
        assert all(wcswidth(line) <= width for line in output.splitlines())


def test_wrapped_feedback_stays_in_its_column():
    long = "학생 코드의 출력이 기대값과 다릅니다 " * 12
    output = terminal.render(_report("ko", ["검사 하나", "검사 둘"], long), width=70)
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if "검사 둘" in line)
    column = wcswidth(lines[first][: lines[first].index("검사 둘")])
    feedback = [line for line in lines[first + 1 :] if "다릅니다" in line]
    assert len(feedback) > 2
    for line in feedback:
        assert wcswidth(line) - wcswidth(line.lstrip()) == column


def test_a_pipe_gets_plain_unwrapped_text():
    long = "x" * 300
    output = terminal.render(_report("en", ["a", "b"], long))
    assert not ANSI.search(output)
    assert any(long in line for line in output.splitlines())


def test_every_label_is_translated_under_korean():
    output = terminal.render(_report("ko", NAMES))
    assert "총점" in output and "Total" not in output
    assert "hint" not in output.lower()


def test_student_text_is_never_markup_or_emoji():
    hostile = "[/x] [bold red]loud[/] :smile: [link=https://e.invalid]x[/link] \x1b[31m ::error::x"
    report = _report("en", ["name [/x]", "n"], hostile)
    plain = terminal.render(report)
    assert "[/x]" in plain and ":smile:" in plain and "[bold red]loud[/]" in plain
    assert "\x1b" not in plain and "\\x1b[31m" in plain
    assert not any("::error" in line for line in plain.splitlines())
    coloured = terminal.render(report, color=True)
    assert ":smile:" in coloured and "😄" not in coloured
    assert not any("::error" in ANSI.sub("", line) for line in coloured.splitlines())


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": ""}, False),
    ],
)
def test_force_color_and_no_color(tty, environ, expected):
    class Stream:
        def isatty(self) -> bool:
            return tty

    assert terminal.color_enabled(Stream(), environ) is expected  # type: ignore[arg-type]
