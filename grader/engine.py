"""Grading one submission: stage it, start the sandbox and the judge, build the `Report`.

Runs in the CLI's (trusted) process. It forks the sandbox zygote and the judge, reads the
judge's verdict events, and hands the growing report to `on_update` after every assignment,
so the caller can write it to disk atomically at each step.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader import integrity, messages, parallel, preload
from grader.environment import environment
from grader.formats.text import inert_name
from grader.judge import JudgeOptions, run_judge
from grader.messages import say, set_language
from grader.preload import prepare_torch
from grader.report import (
    AssignmentResult,
    AssignmentStatus,
    CheckResult,
    Report,
    Submission,
)
from grader.sandbox import hugepages, linux, notebook_sources, protections, wire
from grader.sandbox.limits import Limits
from grader.sandbox.source import exercise_problem
from grader.sandbox.staging import Staged, stage
from grader.sandbox.zygote import Sandbox
from grader.spec import AssignmentSpec, assignments_root

JUDGE_GRACE_SECONDS = 60.0

UpdateCallback = Callable[[Report], None]


@dataclass
class GradeOptions:
    timeout: float | None = None
    seed: int = 0
    lang: str = "en"
    limits: Limits = field(default_factory=Limits)
    jobs: int = 1  # exercises graded at once; 1 in batch workers, which are the parallel level

    @classmethod
    def build(
        cls,
        timeout: float | None = None,
        seed: int = 0,
        lang: str = "en",
        memory_limit_mib: int | None = None,
        jobs: int = 1,
    ) -> GradeOptions:
        """Options from plain values, as the CLI flags and batch jobs carry them."""
        options = cls(timeout=timeout, seed=seed, lang=lang, jobs=jobs)
        if memory_limit_mib is not None:
            options.limits = Limits(memory_bytes=memory_limit_mib << 20)
        return options


def _assignment_result(
    spec: AssignmentSpec, status: AssignmentStatus, message: str = ""
) -> AssignmentResult:
    return AssignmentResult(
        name=spec.name,
        title=spec.title_in(messages.current_language()),
        file=spec.student_file,
        status=status,
        score=0.0,
        max_score=spec.points,
        message=message,
        withheld_points=spec.withheld_points,
    )


def _placeholder(meta: dict[str, Any], message: str) -> CheckResult:
    return CheckResult(
        id=meta["id"],
        name=meta["name"],
        category=meta["category"],
        status="error",
        score=0.0,
        max_score=meta["points"],
        message=message,
        visibility=meta["visibility"],
        clauses=list(meta.get("clauses") or ()),
    )


class _Run:
    """The CLI side of one judge run: applies events to the report."""

    def __init__(
        self, report: Report, specs: list[AssignmentSpec], on_update: UpdateCallback
    ) -> None:
        self.report = report
        self.specs = specs
        self.on_update = on_update
        self.pending: dict[str, set[str]] = {s.name: set() for s in specs}
        self.collected = False

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.collected = True
            for meta in event["checks"]:
                result = self.report.assignment(meta["assignment"])
                result.checks.append(_placeholder(meta, say("never_ran")))
                self.pending[meta["assignment"]].add(meta["id"])
            for spec in self.specs:
                if not self.pending[spec.name]:
                    self._fail_assignment(spec.name, say("no_checks"))
        elif kind == "collect_error":
            self._fail_assignment(event["assignment"], event["message"])
        elif kind == "result":
            check = CheckResult(**event["check"])
            assignment_name = check.id.split("::", 1)[0]
            assignment = self.report.assignment(assignment_name)
            assignment.checks = [check if c.id == check.id else c for c in assignment.checks]
            self.pending[assignment_name].discard(check.id)
            if not self.pending[assignment_name]:
                self.report.recompute()
                self.on_update(self.report)

    def _fail_assignment(self, name: str, message: str) -> None:
        with contextlib.suppress(KeyError):
            assignment = self.report.assignment(name)
            assignment.status = "error"
            assignment.message = message

    def finish(self, reason: str) -> None:
        """Checks that never got a verdict keep status `error`, now with the reason."""
        for spec in self.specs:
            assignment = self.report.assignment(spec.name)
            for check in assignment.checks:
                if check.id in self.pending[spec.name]:
                    check.message = reason
            if not self.collected and assignment.status == "graded":
                assignment.status = "error"
                assignment.message = reason


def _fork_judge(
    sandbox: Sandbox,
    specs: list[AssignmentSpec],
    options: GradeOptions,
    event_w: int,
    log_path: Path,
    sources: dict[str, notebook_sources.SourceMap],
) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        linux.try_prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        if sandbox.plan.on("non_dumpable"):
            protections.harden_trusted_process()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 2)
        judge_options = JudgeOptions(
            timeout=options.timeout, seed=options.seed, lang=options.lang, sources=sources
        )
        code = run_judge(sandbox, specs, assignments_root(), judge_options, event_w)
    finally:
        os._exit(code)


def _judge_deadline(specs: list[AssignmentSpec], options: GradeOptions) -> float:
    per_call = options.timeout or max(s.timeout for s in specs)
    return JUDGE_GRACE_SECONDS + 8 * per_call * len(specs) * 4


def _run_judge(
    specs: list[AssignmentSpec],
    staged: Staged,
    options: GradeOptions,
    report: Report,
    on_update: UpdateCallback,
    sources: dict[str, notebook_sources.SourceMap] | None = None,
) -> None:
    run = _Run(report, specs, on_update)
    sandbox = Sandbox(specs, staged.folder, options.limits)
    event_r, event_w = os.pipe()
    with tempfile.NamedTemporaryFile(prefix="torchgrade-judge-", suffix=".log") as log:
        judge_pid = _fork_judge(sandbox, specs, options, event_w, Path(log.name), sources or {})
        os.close(event_w)
        reason = say("judge_died")
        deadline = time.monotonic() + _judge_deadline(specs, options)
        try:
            while True:
                import select

                ready, _, _ = select.select(
                    [event_r], [], [], max(0.0, deadline - time.monotonic())
                )
                if not ready:
                    reason = say("judge_timeout")
                    break
                try:
                    event, _payload = wire.recv_message(event_r)
                except EOFError:
                    break
                run.apply(event)
        except KeyboardInterrupt:
            reason = say("interrupted")
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(judge_pid, signal.SIGKILL)
            _, status = os.waitpid(judge_pid, 0)
            os.close(event_r)
            sandbox.close()
            if any(run.pending.values()) or not run.collected:
                tail = Path(log.name).read_text(errors="replace")[-800:].strip()
                run.finish(reason + (f" ({tail.splitlines()[-1]})" if tail else ""))
            del status


def grade(
    source: Path,
    specs: list[AssignmentSpec],
    options: GradeOptions,
    on_update: UpdateCallback | None = None,
) -> Report:
    """Grade the submission folder `source` against `specs` and return the finished report."""
    set_language(options.lang)
    on_update = on_update or (lambda report: None)
    started = time.monotonic()
    report = Report(
        lang=options.lang,
        seed=options.seed,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        submission=Submission(path=inert_name(str(source))),
        environment=environment(),
    )
    with tempfile.TemporaryDirectory(prefix="torchgrade-stage-") as scratch:
        staged = stage(source, Path(scratch) / "submission")
        report.submission.files = staged.files
        report.submission.content_hash = staged.content_hash
        report.submission.problems = staged.problems
        provided = notebook_sources.provide(staged, specs)
        report.submission.problems += provided.problems
        report.submission.notebooks = provided.notebooks
        report.integrity = [
            *staged.findings,
            *notebook_sources.relocate_findings(integrity.scan(staged.folder), provided),
        ]
        present = []
        for spec in specs:
            if spec.student_file in staged.links:
                report.assignments.append(
                    _assignment_result(
                        spec, "missing", say("student_file_link", file=spec.student_file)
                    )
                )
            elif spec.student_file in staged.skipped:
                report.assignments.append(
                    _assignment_result(spec, "missing", staged.skipped[spec.student_file])
                )
            elif (source / spec.student_file).is_dir():
                report.assignments.append(
                    _assignment_result(
                        spec, "missing", say("student_file_folder", file=spec.student_file)
                    )
                )
            elif spec.name in provided.notebook_of:
                report.assignments.append(_assignment_result(spec, "graded"))
                present.append(spec)
            elif spec.name in provided.unusable:
                report.assignments.append(
                    _assignment_result(spec, "missing", provided.unusable[spec.name])
                )
            elif not staged.has(spec.student_file):
                report.assignments.append(
                    _assignment_result(
                        spec, "missing", say("student_file_missing", file=spec.student_file)
                    )
                )
            elif unreadable := exercise_problem(staged.folder, spec.student_file):
                # Graded, and failed: the file is the student's to fix, not a grader error.
                file, problem = unreadable
                report.assignments.append(_assignment_result(spec, "graded", problem.message(file)))
            else:
                report.assignments.append(_assignment_result(spec, "graded"))
                present.append(spec)
        for result in report.assignments:
            result.notebook = provided.notebook_of.get(result.name, "")
            result.notes = provided.notes.get(result.name, [])
        report.recompute()
        on_update(report)
        if present:
            prepare_torch()
            preload.warm()
            hugepages.collapse()
            gc.freeze()  # what the warm-up made lives on in every fork; no collector walks it
            if options.jobs > 1 and len(present) > 1:

                def grade_group(specs: list[AssignmentSpec], own: Report, update: Any) -> None:
                    _run_judge(specs, staged, options, own, update, provided.maps)

                groups = parallel.split(present, options.jobs)
                parallel.run_groups(groups, report, grade_group, on_update)
            else:
                _run_judge(present, staged, options, report, on_update, provided.maps)
    report.recompute()
    report.complete = True
    report.duration_s = round(time.monotonic() - started, 3)
    on_update(report)
    return report
