"""The integrity scan: flags for humans, never a crash, and no flags on honest code."""

from __future__ import annotations

import pytest

from grader.integrity import scan, scan_source
from grader.report import IntegrityFinding
from tests.conftest import REFERENCE, SUBMISSIONS, TEMPLATE


def codes(source: str) -> set[str]:
    return {f.code for f in scan_source(source, "x.py")}


@pytest.mark.parametrize("folder", [REFERENCE, TEMPLATE, SUBMISSIONS / "correct_variant"])
def test_honest_code_has_no_findings(folder):
    assert scan(folder) == []


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("import sys\nf = sys._getframe(1)\n", "frame-access"),
        ("def f(frame):\n    return frame.f_back.f_globals\n", "frame-access"),
        ("import gc\n", "memory-search"),
        ("from ctypes import CDLL\n", "native-code"),
        ("import os\nos._exit(0)\n", "process-exit"),
        ("from os import _exit as leave\nleave(0)\n", "process-exit"),
        ("import sys\nsys.exit(1)\n", "process-exit"),
        ("import signal\n", "signal-control"),
        ("import subprocess\n", "process-control"),
        ("import os\nos.fork()\n", "process-control"),
        ("import os\nos.kill(os.getppid(), 9)\n", "process-control"),
        ("import socket\n", "network"),
        ("open('out.txt', 'w')\n", "file-write"),
        ("from pathlib import Path\nPath('x').write_text('y')\n", "file-write"),
        ("import importlib\n", "dynamic-import"),
        ("m = __import__('os')\n", "dynamic-import"),
        ("exec('x = 1')\n", "dynamic-code"),
        ("import torch\ntorch.allclose = lambda *a, **k: True\n", "monkeypatch"),
        ("import torch\nsetattr(torch.testing, 'assert_close', print)\n", "monkeypatch"),
        ("from torch import nn\nnn.Linear.forward = None\n", "monkeypatch"),
        ("import builtins\nbuiltins.abs = max\n", "monkeypatch"),
        ("import sys\nsys.modules['torch'] = None\n", "monkeypatch"),
        ("import torch\nclass T(torch.Tensor):\n    pass\n", "tensor-subclass"),
        ("class A:\n    def __eq__(self, other):\n        return True\n", "comparison-trick"),
        ("x = open('../reference/my_linear.py').read()\n", "outside-path"),
        ("x = open('/etc/passwd').read()\n", "outside-path"),
        ("import os\nhere = os.path.dirname(__file__)\n", "outside-path"),
        ("import inspect\n", "frame-access"),
        ("print('::notice title=Points::30/30')\n", "workflow-command"),
        ("path = 'grade-report/report.json'\n", "grader-files"),
        ("import os\ntoken = os.environ['GITHUB_TOKEN']\n", "environment"),
        ("import reference.my_linear\n", "answer-access"),
        ("import grader.judge\n", "grader-access"),
        ("import pytest\n", "test-framework"),
    ],
)
def test_each_construct_is_flagged_with_its_line(source, code):
    findings = scan_source(source, "my_linear.py")
    flagged = [f for f in findings if f.code == code]
    assert flagged, findings
    last_line = len(source.splitlines())
    assert all(f.file == "my_linear.py" and 1 <= f.line <= last_line for f in flagged)
    assert all(f.reason for f in flagged)


SNOOPING = "import ctypes, gc, sys\n_frame = sys._getframe(0)\n"


def test_a_long_expression_hides_no_flag():
    """A 600-term sum is more than Python's default recursion limit lets a tree walk visit, and
    Python compiles it fine: the flags before it must still be found."""
    source = SNOOPING + "_z = " + "+".join(["1"] * 600) + "\n"
    assert {"native-code", "memory-search", "frame-access"} <= codes(source)
    assert "too-deep" not in codes(source)


def test_an_expression_too_deep_to_walk_is_a_flag_itself():
    """Deeper than even the scan's own limit: what it saw is kept, and the depth is flagged."""
    source = SNOOPING + "_z = " + "+".join(["1"] * 12_000) + "\n"
    found = codes(source)
    assert "too-deep" in found
    assert {"native-code", "memory-search", "frame-access"} <= found


def test_docstrings_and_plain_strings_are_not_paths():
    source = '"""See /etc/passwd and ../reference."""\n\ndef f():\n    """/usr/bin."""\n'
    assert codes(source) == set()


@pytest.mark.parametrize("raw", [b"def broken(:\n", b"(" * 100_000])
def test_unparsable_files_are_skipped(tmp_path, raw):
    (tmp_path / "my_linear.py").write_bytes(raw)
    assert scan(tmp_path) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xff\xfe\x00binary\x00garbage\x9c", [(0, "source-encoding")]),
        ("# caf\xe9\nimport gc\n".encode("latin-1"), [(0, "source-encoding")]),
        (b"x = 1\x00\n", [(1, "invisible-source")]),
    ],
)
def test_unreadable_files_are_flagged_and_not_scanned_further(tmp_path, raw, expected):
    """Source that is not plain UTF-8 is never decoded another way, so its constructs (the
    `import gc` under latin-1) are not looked at: the file itself is the finding."""
    (tmp_path / "my_linear.py").write_bytes(raw)
    assert [(f.line, f.code) for f in scan(tmp_path)] == expected


def test_files_python_or_pytest_would_pick_up_are_flagged(tmp_path):
    for name in ("conftest.py", "sitecustomize.py", "torch.py", "evil.pth", "pytest.ini"):
        (tmp_path / name).write_text("")
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "__init__.py").write_text("")
    findings = scan(tmp_path)
    injected = {f.file for f in findings if f.code == "injection-file"}
    assert injected == {
        "conftest.py",
        "sitecustomize.py",
        "torch.py",
        "evil.pth",
        "pytest.ini",
        "grader/__init__.py",
    }
    assert all(isinstance(f, IntegrityFinding) and f.line == 0 for f in findings)
