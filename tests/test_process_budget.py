"""Per-sandbox budgets in `grade batch`: processes, and sockets between sandboxes.

RLIMIT_NPROC counts per uid, so it cannot keep one sandbox's flood from starving another's
probes. A pids cgroup per sandbox can: the flood hits its own limit, is killed to the last
process, and the correct submission graded beside it keeps full marks.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from grader.sandbox import cgroups, protections
from grader.sandbox.protections import OFF_VARIABLE
from tests.batch_helpers import copy, marked_processes, report, run_batch
from tests.conftest import REFERENCE, SUBMISSIONS
from tests.test_bounded_time import _flood_processes


def output(graded: dict, assignment: str) -> str:
    checks = next(a for a in graded["assignments"] if a["name"] == assignment)["checks"]
    return "\n".join(c["output"] for c in checks)


def _our_cgroups(hierarchy: cgroups.Hierarchy | None) -> list[str]:
    """Sandbox cgroups whose grader process is gone: nothing may be left of a finished batch."""
    if hierarchy is None:
        return []
    stale = []
    for entry in os.listdir(hierarchy.parent):
        if entry.startswith("sandbox-"):
            owner = int(entry.split("-")[1])
            if not os.path.exists(f"/proc/{owner}"):
                stale.append(entry)
    return stale


def test_a_flood_beside_a_correct_submission_stays_in_its_own_budget(tmp_path: Path):
    plan = protections.plan()
    if not plan.on("pids_cgroup"):
        pytest.skip(f"no per-sandbox process budget here: {plan.status['pids_cgroup']}")
    root = tmp_path / "class"
    copy(SUBMISSIONS / "hostile_flood", root / "flood")
    copy(REFERENCE, root / "alice")
    out = tmp_path / "out"
    marker = uuid.uuid4().hex
    # A short deadline: the flood's checks end in timeouts, whatever their length.
    result = run_batch(
        root, "--out", out, "--jobs", "2", "-a", "my_linear", "--timeout", "4", marker=marker
    )
    assert result.returncode == 0, result.stderr
    alice = report(out, "alice")
    assert alice["score"] == alice["max_score"] > 0
    flood = report(out, "flood")
    stopped = [line for line in output(flood, "my_linear").splitlines() if "FLOOD" in line]
    assert stopped, output(flood, "my_linear")
    for line in stopped:
        count = int(line.split()[2].rstrip(":"))
        assert count < cgroups.PIDS_PER_SANDBOX, line
        assert line.endswith("BlockingIOError errno=11"), line  # EAGAIN: the cgroup's limit
    assert marked_processes(marker) == []
    assert _flood_processes() == []
    assert _our_cgroups(plan.pids_hierarchy) == []


def _binder_and_seeker(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    root = tmp_path / "class"
    copy(SUBMISSIONS / "hostile_socket_binder", root / "binder")
    copy(SUBMISSIONS / "hostile_socket_seeker", root / "seeker")
    out = tmp_path / "out"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = run_batch(
            root, "--out", out, "--jobs", "2", "-a", "my_linear", "--timeout", "6", tmpdir=tmp_path
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.returncode == 0, result.stderr
    return output(report(out, "binder"), "my_linear"), output(report(out, "seeker"), "my_linear")


def test_without_protections_one_sandbox_reaches_a_socket_in_another(tmp_path: Path):
    """The positive control for the test below."""
    binder, seeker = _binder_and_seeker(tmp_path, {OFF_VARIABLE: "all"})
    assert "BINDER bound: SOCK_STREAM" in binder
    assert "SEEKER reached: connect" in seeker
    assert "BINDER reached: 1" in binder


def test_a_socket_bound_in_another_sandbox_is_out_of_reach(tmp_path: Path):
    plan = protections.plan()
    if not plan.on("seccomp") and not plan.on("landlock"):
        pytest.skip("neither seccomp nor landlock confines sockets here")
    binder, seeker = _binder_and_seeker(tmp_path, {})
    assert "BINDER bound: SOCK_DGRAM" in binder or "BINDER bound: SOCK_STREAM" in binder
    assert "SEEKER reached" not in seeker
    assert "BINDER reached" not in binder
