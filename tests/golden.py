"""Golden reports: what the engine says about each fixture submission, timings and paths aside.

A golden report pins the verdicts (status, score, message, hint, output) of every check, so a
refactoring that claims to change no behaviour can prove it. When a change means to alter what
students read, regenerate them and review the diff:

    TORCHGRADE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_VARIABLE = "TORCHGRADE_UPDATE_GOLDEN"
# Text that legitimately differs between two runs: durations and scratch or temp paths.
_VOLATILE = (
    (re.compile(r"\d+(\.\d+)? ?s\b"), "<seconds>"),
    (re.compile(r"/tmp/[^\s'\")]+"), "<tmp>"),
    (re.compile(r"pid \d+"), "pid <n>"),
)
# Fixtures whose output depends on the machine's load or the kernel (deadlines, floods).
UNSTABLE_FIXTURES = frozenset(
    {
        "hostile_exhaustion",
        "infinite_loop",
        "hostile_flood",
        "hostile_stop_parent",
        "hostile_threads",
        "hostile_sockets",
        "slow_import",
        "hostile_socket_binder",
        "hostile_socket_seeker",
    }
)
# Folders of fixtures that are not one submission: correct variants per exercise, and the
# scratch exercise of the clause-matrix tests.
NOT_SUBMISSIONS = frozenset({"variants", "clause_matrix"})


# The hostile_injection fixture prints one line per folder it tries to plant into; which folders
# exist depends on how Python and the project were installed, so only the outcomes are kept.
_PLANT_LINE = re.compile(r"^PLANT \S+: (\w+)$", re.MULTILINE)


def _stable(text: str) -> str:
    # Plant lines first: a folder under /tmp must not be half-masked by the patterns below.
    outcomes = sorted(set(_PLANT_LINE.findall(text)))
    if outcomes:
        others = [line for line in text.splitlines() if not _PLANT_LINE.match(line)]
        text = "\n".join(others + [f"PLANT <folder>: {o}" for o in outcomes]) + "\n"
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def normalise(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report that must not change without meaning to."""
    return {
        "score": report["score"],
        "max_score": report["max_score"],
        "complete": report["complete"],
        "assignments": [
            {
                "name": a["name"],
                "status": a["status"],
                "score": a["score"],
                "message": _stable(a["message"]),
                "checks": [
                    {
                        "id": c["id"],
                        "status": c["status"],
                        "score": c["score"],
                        "message": _stable(c["message"]),
                        "hint": _stable(c["hint"]),
                        "output": _stable(c["output"]),
                    }
                    for c in a["checks"]
                ],
            }
            for a in report["assignments"]
        ],
        "files": [(f["path"], f["size"], f["sha256"]) for f in report["submission"]["files"]],
        "problems": [_stable(p) for p in report["submission"]["problems"]],
        "integrity": [(i["file"], i["line"], i["code"]) for i in report["integrity"]],
    }


def compare(name: str, report: dict[str, Any]) -> None:
    """Assert `report` matches the golden copy for fixture `name` (or rewrite it on request)."""
    path = GOLDEN / f"{name}.json"
    actual = normalise(report)
    if os.environ.get(UPDATE_VARIABLE):
        path.write_text(json.dumps(actual, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        return
    expected = json.loads(path.read_text())
    assert json.loads(json.dumps(actual)) == expected, f"{name}: report differs from {path}"
