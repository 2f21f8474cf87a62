"""Hidden checks stay unreadable without Landlock (as in some Gradescope containers).

With Landlock forced off, the sandbox's private root (a mount namespace that holds only Python,
the system libraries and the submission) must keep every theft attempt of hostile_tamper from
reading anything; where neither layer exists, the report says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.sandbox import protections
from grader.sandbox.protections import OFF_VARIABLE
from tests.conftest import SUBMISSIONS
from tests.test_hostile import baseline, grade_with_env, lines, output_of  # noqa: F401


def test_without_landlock_the_private_root_hides_the_grader(
    grade_with_env,  # noqa: F811
    grade_folder,
):
    graded = grade_with_env(SUBMISSIONS / "hostile_tamper", env={OFF_VARIABLE: "landlock"})
    status = graded.report["environment"]["protections"]
    assert status["landlock"] == f"off (disabled by {OFF_VARIABLE})"
    if status["private_root"] != "on":
        assert status["hidden_files"].startswith("off (neither landlock nor private_root")
        pytest.skip(f"no mount namespace here: private_root is {status['private_root']}")
    assert status["hidden_files"] == "on"
    attempts = lines(output_of(graded, "training_loop"), "STEAL")
    assert len(attempts) == 7, attempts
    home = attempts.pop("home folder")
    # The private root keeps the folders on the way to Python (/root/.pyenv here), empty but
    # for that path: the home folder may be listed, and then it shows those names only.
    if home.startswith("read"):
        home_dir = os.path.expanduser("~root")
        names = {
            Path(root).relative_to(home_dir).parts[0]
            for root in protections.readable_roots()
            if root.startswith(home_dir + "/")
        }
        assert names and home == f"read {len(str(sorted(names)))} characters", (home, names)
    assert not [what for what, result in attempts.items() if result.startswith("read")], attempts
    assert graded.assignment("training_loop")["score"] == baseline(grade_folder, "training_loop")


def test_with_neither_layer_the_report_states_the_gap(monkeypatch):
    monkeypatch.setenv(OFF_VARIABLE, "landlock,private_root")
    status = protections.plan().status
    assert status["hidden_files"] == protections._off(protections._NOT_HIDDEN)


def test_the_private_root_binds_whole_trees_and_covers_the_protected_paths_inside():
    from grader.sandbox import landlock
    from grader.sandbox.private_root import bind_plan

    rules = [
        ("/py/lib", landlock.READ_DIR),  # an ancestor of a protected path: listing only
        ("/py/lib/os.py", landlock.READ),
        ("/py/lib/site", landlock.READ_DIR),
        ("/py/lib/site/numpy", landlock.READ),
        ("/py/lib/site/torch", landlock.READ),
        ("/usr", landlock.READ),
        ("/usr/lib", landlock.READ),
        ("/opt/linked", landlock.READ),  # the target of a symlink in site-packages
        ("/repo/grader", landlock.READ),  # cannot be a rule, and must never be bound
    ]
    protected = ["/py/lib/site/grader", "/py/lib/site/torchgrade-1.0.dist-info", "/repo"]
    binds, covers = bind_plan(rules, protected)
    assert binds == ["/opt/linked", "/py/lib", "/usr"]
    assert covers == ["/py/lib/site/grader", "/py/lib/site/torchgrade-1.0.dist-info"]
