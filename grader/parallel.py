"""Grading a submission's exercises at the same time, one group of exercises per process.

Each group runs in a grading process forked from the CLI, as a batch worker forks one per
submission: it starts the group's own sandbox zygote and judge, exactly as a serial grading
does, and sends its finished `AssignmentResult`s back as JSON. The CLI validates them and
writes the report. Student code still runs only in the sandboxes' forked children and every
verdict is still decided in a judge; a grading process is as trusted as the CLI it was forked
from, and it keeps the pipes of its own sandbox and judge away from the other groups'.

The report is the same whatever the number of groups: each exercise is graded by the same
checks with the same seeds, and the assignments keep the order of the specs.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import sys
from collections.abc import Callable

from grader.report import AssignmentResult, Report
from grader.sandbox import linux, wire
from grader.spec import AssignmentSpec

GradeGroup = Callable[[list[AssignmentSpec], Report, Callable[[Report], None]], None]
GROUP_DIED = "the grading process for {names} stopped ({detail})"


def split(specs: list[AssignmentSpec], groups: int) -> list[list[AssignmentSpec]]:
    """`groups` groups, round robin, each in spec order; no empty group."""
    groups = max(1, min(groups, len(specs)))
    return [specs[start::groups] for start in range(groups)]


def _send_results(fd: int, report: Report, names: set[str]) -> None:
    results = [a.model_dump(mode="json") for a in report.assignments if a.name in names]
    wire.send_message(fd, {"op": "results"}, json.dumps(results).encode())


def _group_main(
    specs: list[AssignmentSpec], report: Report, grade_group: GradeGroup, result_w: int
) -> None:
    """The grading process of one group. Never returns."""
    code = 0
    try:
        linux.try_prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        names = {s.name for s in specs}
        own = report.model_copy(deep=True)
        own.assignments = [a for a in own.assignments if a.name in names]
        try:
            grade_group(specs, own, lambda current: _send_results(result_w, current, names))
        except KeyboardInterrupt:
            code = 130
        own.recompute()
        _send_results(result_w, own, names)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _merge(report: Report, payload: bytes) -> set[str]:
    names = set()
    for data in json.loads(payload):
        result = AssignmentResult.model_validate(data)
        index = next(i for i, a in enumerate(report.assignments) if a.name == result.name)
        report.assignments[index] = result
        names.add(result.name)
    report.recompute()
    return names


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def run_groups(
    groups: list[list[AssignmentSpec]],
    report: Report,
    grade_group: GradeGroup,
    on_update: Callable[[Report], None],
) -> None:
    """Grade every group in its own process at once; merge results into `report` as they come.

    Ctrl-C reaches every grading process (one process group); each stops its judge and
    sandbox and reports what it had, and this returns only once all of them are reaped.
    """
    running: dict[int, tuple[int, list[AssignmentSpec]]] = {}
    received: set[str] = set()
    selector = selectors.DefaultSelector()
    interrupted = False
    try:
        for specs in groups:
            result_r, result_w = os.pipe()
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            pid = os.fork()
            if pid == 0:
                os.close(result_r)
                for fd, _ in running.values():
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _group_main(specs, report, grade_group, result_w)
            os.close(result_w)
            running[pid] = (result_r, specs)
            selector.register(result_r, selectors.EVENT_READ, pid)
        open_pipes = len(running)
        while open_pipes:
            try:
                ready = selector.select()
            except KeyboardInterrupt:
                interrupted = True
                continue
            for key, _ in ready:
                try:
                    _header, payload = wire.recv_message(key.fd)
                except (EOFError, OSError, wire.WireError):
                    selector.unregister(key.fd)
                    open_pipes -= 1
                    continue
                received |= _merge(report, payload)
                on_update(report)
    finally:
        selector.close()
        for pid, (fd, specs) in running.items():
            status = _reap(pid)
            with contextlib.suppress(OSError):
                os.close(fd)
            lost = [s for s in specs if s.name not in received]
            if lost and not interrupted:
                _mark_lost(report, lost, _describe(status) if status is not None else "lost")
    if interrupted:
        raise KeyboardInterrupt


def _reap(pid: int) -> int | None:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return status
        except ChildProcessError:
            return None
        except KeyboardInterrupt:
            continue


def _mark_lost(report: Report, specs: list[AssignmentSpec], detail: str) -> None:
    """A grading process that died before it sent an exercise's results: that exercise says
    so, with no score."""
    message = GROUP_DIED.format(names=", ".join(s.name for s in specs), detail=detail)
    for spec in specs:
        assignment = report.assignment(spec.name)
        assignment.status = "error"
        assignment.message = message
        assignment.checks = []
    report.recompute()
