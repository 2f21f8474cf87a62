"""A report is always written, even when the judge process itself dies mid-run."""

from __future__ import annotations

import json
import textwrap

from click.testing import CliRunner

from grader.cli import main
from grader.messages import say
from grader.spec import ASSIGNMENTS_ENV

CHECKS = '''
"""Checks for a tiny assignment; the second one kills the judge that runs it."""

import os
import signal

from grader.checks import check


@check(points=1, category="api")
def test_first(probe):
    """VALUE is 1."""
    assert probe("value")["value"] == 1


@check(points=1, category="api")
def test_kills_the_judge(probe):
    """Kills the judge process."""
    os.kill(os.getpid(), signal.SIGKILL)


@check(points=1, category="api")
def test_never_runs(probe):
    """Never gets to run."""
    assert probe("value")["value"] == 1
'''

PROBES = '''
"""Probes for the tiny assignment."""

from grader.sandbox.probing import probe


@probe
def value(student):
    return {"value": student.VALUE}
'''


def test_the_report_survives_a_dead_judge(tmp_path):
    root = tmp_path / "assignments" / "boom"
    (root / "checks").mkdir(parents=True)
    (root / "assignment.toml").write_text('title = "Boom"\nstudent_file = "boom.py"\npoints = 3\n')
    (root / "probes.py").write_text(textwrap.dedent(PROBES))
    (root / "checks" / "test_boom.py").write_text(textwrap.dedent(CHECKS))
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "boom.py").write_text("VALUE = 1\n")
    out = tmp_path / "out"
    runner = CliRunner(env={ASSIGNMENTS_ENV: str(root.parent)})
    result = runner.invoke(
        main, ["submit", str(submission), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] is True
    checks = {c["id"]: c for c in report["assignments"][0]["checks"]}
    assert checks["boom::test_first"]["status"] == "passed"
    for never in ("boom::test_kills_the_judge", "boom::test_never_runs"):
        assert checks[never]["status"] == "error"
        assert checks[never]["score"] == 0
        assert checks[never]["message"].startswith(say("judge_died"))
    assert report["score"] == 1 and report["max_score"] == 3
